// A small guest for the embedding-API tests: 64 KiB of RAM at guest-physical 0 (so every
// address from 0x10000 up is MMIO), real-mode code at kCode, and the state in KVM's layout.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transit86/emulator.hpp"
#include "transit86/vcpu.hpp"

namespace transit86::test {

inline constexpr uint32_t kGuestRam = 0x10000;
inline constexpr uint16_t kCode = 0x1000;
inline constexpr uint16_t kStack = 0x8000;
inline constexpr uint16_t kMmioSegment = 0x1000; // base 0x10000: just past RAM
inline constexpr uint16_t kMmioSegment2 = 0x2000;
inline constexpr uint32_t kSampleLoad = 0x7C00; // boot samples, like a BIOS boot sector

// No instruction budget, no stop for validity: run until something else stops it.
inline constexpr RunLimits kUntilExit{.budget = 0, .stop_when_valid = std::nullopt};

class Guest {
  public:
    explicit Guest(uint64_t ram_size = kGuestRam)
        : ram_(ram_size), slot_{.guest_phys = 0, .size = ram_size, .host = ram_.data()} {}

    std::span<const RamSlot> slots() const { return {&slot_, 1}; }
    uint8_t* ram() { return ram_.data(); }

    void load(uint32_t address, std::initializer_list<uint8_t> bytes) {
        std::copy(bytes.begin(), bytes.end(), ram_.begin() + address);
    }
    void load(uint32_t address, const std::vector<uint8_t>& bytes) {
        std::copy(bytes.begin(), bytes.end(), ram_.begin() + address);
    }
    // Real-mode IVT entry: offset in the low word, segment in the high one.
    void set_ivt(uint8_t vector, uint16_t segment, uint16_t offset) {
        const uint32_t entry = (uint32_t{segment} << 16) | offset;
        std::memcpy(&ram_[vector * 4u], &entry, 4);
    }
    uint16_t read16(uint32_t address) const {
        uint16_t v;
        std::memcpy(&v, &ram_[address], 2);
        return v;
    }

  private:
    std::vector<uint8_t> ram_;
    RamSlot slot_;
};

// KVM's reset state with CS:IP = 0000:ip and SS:SP = 0000:kStack, as a VMM sets it before
// entering a boot sector.
inline VcpuState real_mode_state(uint16_t ip = kCode) {
    VcpuState s = reset_vcpu_state(ResetPreset::Kvm);
    s.sregs.cs.selector = 0;
    s.sregs.cs.base = 0;
    s.sregs.idt.limit = 0x3FF;
    s.regs.rip = ip;
    s.regs.rsp = kStack;
    return s;
}

// Points a real-mode data segment register at `selector` (base = selector << 4).
inline void set_real_segment(KvmSegment& seg, uint16_t selector) {
    seg.selector = selector;
    seg.base = uint64_t{selector} << 4;
}

// Real mode with SS = 0x0003 (RPL 3 once CR0.PE = 1): with kEnterAndLeaveWindow, PE on, then
// off again, the state is valid under the kvm profile, turns invalid after the first
// `mov cr0, eax` (SS.RPL 3 != CS.RPL 0; the window begins with the AND at kCode + 8) and valid
// again after the second (real mode: SS base = selector * 16).
inline VcpuState stale_ss_state() {
    VcpuState s = real_mode_state();
    set_real_segment(s.sregs.ss, 0x0003);
    return s;
}
inline const std::initializer_list<uint8_t> kEnterAndLeaveWindow = {
    0x0F, 0x20, 0xC0, // mov eax, cr0
    0x0C, 0x01,       // or al, 1
    0x0F, 0x22, 0xC0, // mov cr0, eax
    0x24, 0xFE,       // and al, 0xfe
    0x0F, 0x22, 0xC0, // mov cr0, eax
    0xF4};            // hlt

inline std::vector<uint8_t> read_boot_sample(const std::string& name) {
    std::ifstream in(std::string(TRANSIT86_CORPUS_DIR) + "/boot/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Handles every port without allocating: the debug console and COM1 THR go to a fixed buffer,
// isa-debug-exit is recorded, every IN reads all ones except the COM1 line status (ready).
class QuietPorts final : public PortHandler {
  public:
    Result access(PortAccess& a) override {
        ++accesses;
        if (a.is_in) {
            a.data = a.port == 0x3FD ? 0x60u : (a.size == 4 ? ~0u : (1u << (a.size * 8)) - 1);
            return Result::Handled;
        }
        if ((a.port == 0xE9 || a.port == 0x3F8) && console_size < console.size())
            console[console_size++] = static_cast<char>(a.data);
        if (a.port == 0xF4) debug_exit = a.data;
        return Result::Handled;
    }
    std::string_view text() const { return {console.data(), console_size}; }

    std::array<char, 256> console{};
    size_t console_size = 0;
    uint32_t debug_exit = ~0u;
    uint64_t accesses = 0;
};

} // namespace transit86::test
