// Interrupt and exception delivery.
#pragma once

#include <cstdint>

#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

// The instruction behind a software interrupt. In virtual-8086 mode only INT n (opcode CD) is
// IOPL-sensitive and subject to the redirection bit map; INT3 and INTO always go through the
// IDT, with the gate's DPL checked (SDM INT n "Operation"; Vol. 3A 20.3.3). INT1 (ICEBP, F1) is
// a privileged software exception: #DB delivered as a trap, like a hardware event — no
// IOPL check in virtual-8086 mode, no gate DPL check, EXT set in an error code, DR6 unchanged
// (SDM Vol. 2B INT n/INTO/INT3/INT1; Vol. 3A 6.13, 17.3.1).
enum class SoftwareInterrupt : uint8_t { IntN, Int1, Int3, Into };

// INT n / INT3 / INTO: delivered with the following instruction as the return address.
bool software_interrupt(Cpu& cpu, uint8_t vector, SoftwareInterrupt kind);

// Delivers an exception raised by the instruction at the current EIP (faults return to the
// faulting instruction). Returns false when delivery itself faults; `cpu.fault` then holds
// the second fault and the caller escalates (#DF, triple fault: SDM Vol. 3A 6.15, Table 6-5).
bool deliver_exception(Cpu& cpu, const Fault& fault);

// Contributory exceptions (SDM Vol. 3A Table 6-4): two in a row make a double fault.
constexpr bool is_contributory(uint8_t vector) {
    return vector == vec::DE || (vector >= vec::TS && vector <= vec::GP);
}

// SDM Vol. 3A Table 6-5: a second exception while delivering the first makes a double fault
// when both are contributory, or the first is a page fault and the second a page fault or
// contributory; otherwise the second is handled on its own.
constexpr bool makes_double_fault(uint8_t first, uint8_t second) {
    if (first == vec::PF) return second == vec::PF || is_contributory(second);
    return is_contributory(first) && is_contributory(second);
}

} // namespace transit86::emu
