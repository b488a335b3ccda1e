// The block engine's differential harness (block_engine_test.cpp, block_engine_poll_test.cpp):
// two emulators over their own copies of guest memory, one with the block engine and one
// interpreting every instruction, driven by the same calls and compared after each.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86::block_test {

constexpr uint32_t kRam = 1u << 20;    // RAM at 0; above it, MMIO
constexpr uint32_t kRomBase = 0xF0000; // a read-only slot inside: stores there exit as MMIO
constexpr uint32_t kCode = 0x1000;

enum class Mode { Real16, RealCode32, Protected32, Protected16, Virtual8086 };

// The read-only slot's host bytes start kRomGap bytes after the RAM slot's end: an access
// that strays across a slot's start lands in the gap, not silently in the neighbour.
constexpr uint32_t kRomGap = 64;
inline uint32_t host_offset(uint32_t address) {
    return address < kRomBase ? address : address + kRomGap;
}

// One emulator over its own copy of guest memory.
struct Machine {
    explicit Machine(bool block_engine, PortHandler* ports = nullptr)
        : ram(kRam + kRomGap), slots{make_slots(ram)}, emu(slots, ports) {
        emu.set_decode_cache(block_engine);
    }
    static std::vector<RamSlot> make_slots(std::vector<uint8_t>& ram) {
        return {RamSlot{.guest_phys = 0, .size = kRomBase, .host = ram.data()},
                RamSlot{.guest_phys = kRomBase,
                        .size = kRam - kRomBase,
                        .host = ram.data() + host_offset(kRomBase),
                        .read_only = true}};
    }
    std::vector<uint8_t> ram;
    std::vector<RamSlot> slots;
    Emulator emu;
};

// Runs both machines; fails the test at the first difference. Returns the common exit.
inline Exit run_both(Machine& blocks, Machine& interpreter, const RunLimits& limits) {
    const Exit a = blocks.emu.run(limits);
    const Exit b = interpreter.emu.run(limits);
    EXPECT_EQ(a.reason, b.reason) << to_string(a.reason) << " vs " << to_string(b.reason);
    EXPECT_EQ(a.instructions, b.instructions);
    EXPECT_EQ(a.vector, b.vector);
    EXPECT_EQ(a.error_code, b.error_code);
    EXPECT_EQ(a.mmio_address, b.mmio_address);
    EXPECT_EQ(a.mmio_size, b.mmio_size);
    EXPECT_EQ(a.mmio_write, b.mmio_write);
    EXPECT_EQ(a.mmio_data, b.mmio_data);
    EXPECT_EQ(a.linear_address, b.linear_address);
    EXPECT_TRUE(blocks.emu.state() == interpreter.emu.state())
        << "EIP " << std::hex << blocks.emu.state().eip << " vs " << interpreter.emu.state().eip
        << ", EFLAGS " << blocks.emu.state().eflags << " vs " << interpreter.emu.state().eflags;
    EXPECT_TRUE(blocks.ram == interpreter.ram) << "RAM differs";
    return a;
}

// Both machines, driven in lockstep by the same calls.
struct Pair {
    Machine blocks{true};
    Machine interpreter{false};

    void load(uint32_t address, const std::vector<uint8_t>& bytes) {
        for (Machine* m : {&blocks, &interpreter})
            std::memcpy(m->ram.data() + host_offset(address), bytes.data(), bytes.size());
    }
    void set_state(const CpuState& s) {
        blocks.emu.state() = s;
        interpreter.emu.state() = s;
    }
    // Runs both; fails the test at the first difference. Returns the common exit.
    Exit run(const RunLimits& limits) { return run_both(blocks, interpreter, limits); }
    void complete_mmio(uint64_t data) {
        blocks.emu.complete_mmio(data);
        interpreter.emu.complete_mmio(data);
    }
};

inline SegmentCache cache(uint16_t selector, uint32_t base, uint32_t limit,
                          uint32_t access_rights) {
    return {.base = base, .limit = limit, .access_rights = access_rights, .selector = selector};
}

inline CpuState start_state(Mode mode) {
    CpuState s{};
    s.eflags = flags::Fixed1;
    s.cr0 = cr0::ET;
    s.eip = kCode;
    s[Gpr::ESP] = 0x8000;
    for (auto& sc : s.seg)
        sc = cache(0, 0, 0xFFFF, 0x93);
    s[Seg::CS] = cache(0, 0, 0xFFFF, 0x9B);
    s.idtr = {.base = 0, .limit = 0x3FF};
    s.ldtr = cache(0, 0, 0, ar::kUnusable);
    s.tr = cache(0, 0, 0xFFFF, 0x8B);
    switch (mode) {
    case Mode::Real16: break;
    case Mode::RealCode32: s[Seg::CS].access_rights |= 0x4000; break;
    case Mode::Protected32:
    case Mode::Protected16:
        s.cr0 |= cr0::PE;
        s[Seg::CS] = mode == Mode::Protected32 ? cache(0x08, 0, 0xFFFFFFFF, 0xC09B)
                                               : cache(0x18, 0, 0xFFFF, 0x9B);
        for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
            s[seg] = cache(0x10, 0, 0xFFFFFFFF, 0xC093);
        break;
    case Mode::Virtual8086:
        s.cr0 |= cr0::PE;
        s.eflags |= flags::VM | flags::IOPL;
        for (auto& sc : s.seg)
            sc = cache(0, 0, 0xFFFF, 0xF3);
        s.tr = cache(0x18, 0x9000, 0x67, 0x8B);
        break;
    }
    return s;
}

inline const RunLimits kRunToHost{
    .budget = 5000000, .stop_when_valid = std::nullopt, .exceptions_to_host = true};

} // namespace transit86::block_test
