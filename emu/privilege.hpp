// Protected-mode transfers that can change privilege: IDT delivery, call gates, IRET, far
// RET to an outer level (SDM Vol. 3A 5.8, 6.12; Vol. 2 CALL, IRET, RET "Operation").
#pragma once

#include <cstdint>

#include "emu/cpu.hpp"
#include "emu/segment_load.hpp"

namespace transit86::emu {

// What is being delivered through the IDT.
struct Event {
    uint8_t vector = 0;
    bool software = false; // INT n / INT3 / INTO: gate DPL is checked against CPL, EXT = 0
    bool has_error_code = false;
    uint32_t error_code = 0;
    uint32_t return_eip = 0;
    // A fault-class exception: the EFLAGS image pushed has RF set (SDM Vol. 3B 18.3.1.1:
    // "for all fault-class exceptions except an instruction breakpoint").
    bool fault_class = false;
};

// Whether `vector` is a fault-class exception (SDM Vol. 3A Table 6-1, "Type": Fault).
constexpr bool is_fault_class(uint8_t vector) {
    switch (vector) {
    case 0:
    case 5:
    case 6:
    case 7:
    case 10:
    case 11:
    case 12:
    case 13:
    case 14:
    case 16:
    case 17:
    case 19:
    case 20: return true;
    default: return false;
    }
}

// Delivers through a 16- or 32-bit interrupt or trap gate (SDM Vol. 3A 6.12.1), switching to
// the inner stack from the TSS when the handler is more privileged.
bool deliver_protected_mode(Cpu& cpu, const Event& event);

// Far CALL/JMP through a call gate (SDM CALL/JMP, "call gate" paths). `gate_selector` is the
// selector of the far pointer; the pointer's offset is ignored, as the SDM says.
bool transfer_through_call_gate(Cpu& cpu, uint16_t gate_selector, const Descriptor& gate,
                                FarKind kind);

// IRET/IRETD in protected mode (not NT: task returns are not modelled).
bool iret_protected_mode(Cpu& cpu, uint8_t operand_size);

// Return to a less privileged level (far RET, IRET): checks and loads CS:EIP, then the outer
// SS:ESP found `outer_stack_at` bytes above the stack pointer; `release` bytes (RET imm16)
// are also released from the outer stack.
bool far_return_to_outer_level(Cpu& cpu, uint16_t selector, uint32_t offset, uint8_t operand_size,
                               uint32_t outer_stack_at, uint32_t release);

} // namespace transit86::emu
