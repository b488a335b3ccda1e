// A small test machine for the interpreter tests: 2 MiB of RAM at guest-physical 0, code
// loaded at 0x1000, and a starting state in one of two modes:
//
//   real mode         CS = DS = ES = SS = FS = GS = 0000 (base 0, limit FFFF), IP = 1000,
//                     SP = 8000, IVT at 0 (IDTR 0:3FF).
//   32-bit protected  a flat GDT built in memory at 0x600 (see the selectors below), CR0.PE,
//                     CS = 08 (32-bit code), DS..GS = SS = 10 (32-bit data), EIP = 1000,
//                     ESP = 8000, IDTR limit 0; exceptions exit to the host.
//
// Tests write machine code as byte arrays with the Intel syntax beside them, run a given
// number of instructions (no stop-when-valid) and inspect the state and memory.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86::test {

inline constexpr uint32_t kRamSize = 2u << 20;
inline constexpr uint32_t kCode = 0x1000;     // where load_code() puts the code
inline constexpr uint32_t kStackTop = 0x8000; // initial SP/ESP
inline constexpr uint32_t kGdtBase = 0x600;   // protected mode: the GDT
inline constexpr uint16_t kGdtLimit = 0xFF;   // 32 descriptors

// Selectors of the flat GDT the protected-mode machine starts with.
inline constexpr uint16_t kCode32 = 0x08; // base 0, limit 4G, execute/read, D = 1
inline constexpr uint16_t kData32 = 0x10; // base 0, limit 4G, read/write, B = 1
inline constexpr uint16_t kCode16 = 0x18; // base 0, limit FFFF, execute/read, D = 0
inline constexpr uint16_t kData16 = 0x20; // base 0, limit FFFF, read/write, B = 0
// GDT indices from 5 on are free for a test's own descriptors.

// Descriptor access bytes (SDM Vol. 3A 3.4.5, Table 3-1) and flag nibbles (G, D/B, L, AVL).
namespace access {
inline constexpr uint8_t kCodeER = 0x9A;     // present, DPL 0, execute/read, not accessed
inline constexpr uint8_t kDataRW = 0x92;     // present, DPL 0, read/write, not accessed
inline constexpr uint8_t kDataRO = 0x90;     // present, DPL 0, read-only
inline constexpr uint8_t kDataRWDown = 0x96; // present, DPL 0, read/write, expand-down
inline constexpr uint8_t kTss32 = 0x89;      // present, DPL 0, available 32-bit TSS
inline constexpr uint8_t kLdt = 0x82;        // present, DPL 0, LDT
} // namespace access
inline constexpr uint8_t kFlat32Flags = 0xC; // G = 1, D/B = 1
inline constexpr uint8_t kByte16Flags = 0x0; // G = 0, D/B = 0

enum class Mode : uint8_t { Real, Protected32 };

class Machine {
  public:
    explicit Machine(Mode mode = Mode::Real, PortHandler* ports = nullptr);

    CpuState& state() { return emulator_.state(); }
    Emulator& emulator() { return emulator_; }

    // Runs exactly `instructions` instructions unless another exit comes first.
    Exit run(uint64_t instructions);

    // Whether run() hands exceptions to the host (RunLimits::exceptions_to_host). The
    // protected-mode machine does, so a test sees the vector and error code in the Exit; the
    // real-mode machine delivers them through the IVT.
    bool exceptions_to_host = false;

    // Loads bytes at a guest-physical address / at kCode.
    void load(uint32_t address, std::initializer_list<uint8_t> bytes);
    void load_code(std::initializer_list<uint8_t> bytes) { load(kCode, bytes); }

    void write8(uint32_t address, uint8_t value) { std::memcpy(&ram_[address], &value, 1); }
    void write16(uint32_t address, uint16_t value) { std::memcpy(&ram_[address], &value, 2); }
    void write32(uint32_t address, uint32_t value) { std::memcpy(&ram_[address], &value, 4); }
    void write64(uint32_t address, uint64_t value) { std::memcpy(&ram_[address], &value, 8); }
    uint8_t read8(uint32_t address) const { return ram_[address]; }
    uint16_t read16(uint32_t address) const;
    uint32_t read32(uint32_t address) const;
    uint64_t read64(uint32_t address) const;

    // Writes a segment descriptor at a guest-physical address (raw limit: 20 bits, scaled
    // by G in `flags`); set_descriptor writes GDT entry `index` at kGdtBase.
    void write_descriptor(uint32_t address, uint32_t base, uint32_t limit, uint8_t access_byte,
                          uint8_t flags);
    void set_descriptor(unsigned index, uint32_t base, uint32_t limit, uint8_t access_byte,
                        uint8_t flags) {
        write_descriptor(kGdtBase + index * 8, base, limit, access_byte, flags);
    }
    // Writes the four flat descriptors (kCode32..kData16) at kGdtBase; the protected-mode
    // machine starts with them, a real-mode test can install them before switching.
    void install_flat_gdt();
    // Protected mode: makes CPL 3 by giving the CS and SS caches DPL 3 (CPL is SS.DPL,
    // SDM Vol. 3C 24.4.1); the GDT is not consulted.
    void drop_to_cpl3();
    // Real-mode IVT entry (SDM Vol. 3A 20.1.4): offset in the low word, segment in the high.
    void set_ivt(uint8_t vector, uint16_t segment, uint16_t offset);

    // Register shorthands.
    uint32_t& gpr(Gpr r) { return state()[r]; }
    uint32_t eip() { return state().eip; }
    uint32_t status() { return state().eflags & flags::Status; }
    SegmentCache& seg(Seg s) { return state()[s]; }

  private:
    void enter_real_mode();
    void enter_protected_mode32();

    // calloc'd: zero pages on demand. Hundreds of tests build a Machine each, and a 2 MiB
    // vector cleared by memset faulted in every page of it (under ASan, whose quarantine keeps
    // handing out fresh mappings, most of the emulator tests' time).
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint8_t[], Free> ram_;
    RamSlot slot_;
    Emulator emulator_;
};

// The classic switch to protected mode, loaded at kCode of a real-mode machine, with the
// flat GDT installed and its 32-bit code descriptor left not-accessed (access byte 9A):
//   1000  0F 01 16 00 11            lgdt [0x1100]         ; GDTR = kGdtBase:kGdtLimit
//   1005  0F 20 C0                  mov eax, cr0
//   1008  0C 01                     or al, 1
//   100A  0F 22 C0                  mov cr0, eax
//   100D  66 EA 20 10 00 00 08 00   jmp dword 0x08:0x1020
//   1020  B8 78 56 34 12            mov eax, 0x12345678   ; (16-bit: mov ax, 0x5678)
inline constexpr uint32_t kPeSwitchJumpTarget = 0x1020;
void load_protected_mode_entry(Machine& m);

// A cache as the tests set one up directly.
inline SegmentCache segment_cache(uint16_t selector, uint64_t base, uint32_t limit,
                                  uint32_t access_rights) {
    return SegmentCache{
        .base = base, .limit = limit, .access_rights = access_rights, .selector = selector};
}

// "CF|ZF|..." — status flags by name, for readable failure messages.
std::string flag_names(uint32_t eflags);

// Compares the status flags selected by `mask` with `expected`, naming them on failure.
::testing::AssertionResult status_flags_are(uint32_t eflags, uint32_t expected,
                                            uint32_t mask = flags::Status);

// Exception vectors (SDM Vol. 3A, Table 6-1).
namespace vec {
inline constexpr uint8_t kDE = 0, kDB = 1, kUD = 6, kDF = 8, kNP = 11, kSS = 12, kGP = 13;
} // namespace vec

// An Exception exit for `vector` without / with an error code.
::testing::AssertionResult is_exception(const Exit& exit, uint8_t vector);
::testing::AssertionResult is_exception(const Exit& exit, uint8_t vector, uint32_t error_code);

// A port device for IN/OUT tests: records every access, answers IN with `in_value`, and
// exits to the host for ports listed in `host_ports`.
class RecordingPorts : public PortHandler {
  public:
    Result access(PortAccess& a) override;

    std::vector<PortAccess> log;
    uint32_t in_value = 0;
    std::vector<uint16_t> host_ports;
};

} // namespace transit86::test

// Lets EXPECT_EQ print exit reasons by name.
namespace transit86 {
inline void PrintTo(ExitReason reason, std::ostream* os) {
    *os << to_string(reason);
}
} // namespace transit86
