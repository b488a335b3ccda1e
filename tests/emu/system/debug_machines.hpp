// The machines of the debug-register tests (debug_registers_test.cpp, debug_traps_test.cpp).
//
// Real-mode tests run at 0000:1000 with SS:SP = 0000:8000 and the #DB handler at 0000:2000
// (IVT entry 1): a delivery pushes FLAGS, CS, IP, so the frame's IP is at 7FFA and its FLAGS
// at 7FFE. Protected-mode tests that look at the frame deliver through a 32-bit interrupt gate
// at IDT entry 1 (IDT at 0x900) to 08:2000; the frame's EIP is at 7FF4, EFLAGS at 7FFC.
#pragma once

#include "machine.hpp"
#include "system_tables.hpp"

namespace transit86::test::debug {

constexpr uint32_t kHandler = 0x2000;
constexpr uint32_t kIdt = 0x900;
constexpr uint32_t kData = 0x3000;

// DR7 values: breakpoint n enabled by Gn with the given R/W and LEN fields.
constexpr uint32_t global_breakpoint(int n, uint32_t rw, uint32_t len) {
    return dr7::Reset | (2u << (2 * n)) | (rw << (16 + 4 * n)) | (len << (18 + 4 * n));
}
constexpr uint32_t kLen1 = 0, kLen2 = 1, kLen4 = 3;

class DebugReal : public ::testing::Test {
  protected:
    DebugReal() {
        m.set_ivt(vec::kDB, 0, kHandler);
        m.load(kHandler, {0x90}); // nop
    }
    uint16_t frame_ip() { return m.read16(0x7FFA); }
    uint16_t frame_flags() { return m.read16(0x7FFE); }

    Machine m{Mode::Real};
};

class DebugProtected : public ::testing::Test {
  protected:
    DebugProtected() {
        m.exceptions_to_host = false;
        m.state().idtr = {.base = kIdt, .limit = 0x7FF};
        write_gate(m, kIdt + vec::kDB * 8, kCode32, kHandler, kIntGate32);
        m.load(kHandler, {0x90}); // nop
    }
    uint32_t frame_eip() { return m.read32(0x7FF4); }
    uint32_t frame_eflags() { return m.read32(0x7FFC); }

    Machine m{Mode::Protected32};
};

} // namespace transit86::test::debug
