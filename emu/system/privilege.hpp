// Protected-mode transfers that can change privilege: IDT delivery, call gates, IRET, far
// RET to an outer level (SDM Vol. 3A 5.8, 6.12; Vol. 2 CALL, IRET, RET "Operation").
#pragma once

#include <cstdint>

#include "emu/cpu/cpu.hpp"
#include "emu/system/segment_load.hpp"

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

// The EFLAGS bits a task switch or an IRET to virtual-8086 mode loads from their image as
// they are (SDM Vol. 3A 7.3 step 11; IRET "EFLAGS := tempEFLAGS"); the reserved bits read as
// the SDM fixes them (bit 1 set, 3, 5, 15 and 22-31 clear).
inline constexpr uint32_t kLoadableFlags = flags::Status | flags::TF | flags::IF | flags::DF |
                                           flags::IOPL | flags::NT | flags::RF | flags::VM |
                                           flags::AC | flags::VIF | flags::VIP | flags::ID;

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

// Which instruction popped an EFLAGS image: IRET at CPL 0 also loads VIF and VIP (SDM IRET,
// "RETURN-TO-SAME-PRIVILEGE-LEVEL" / "RETURN-TO-OUTER-PRIVILEGE-LEVEL"); POPF never does.
enum class FlagsSource : uint8_t { Popf, Iret };

// POPF/IRET outside the return to virtual-8086 mode: loads a popped EFLAGS image under the
// privilege rules of SDM POPF and IRET. In virtual-8086 mode with CR4.VME and IOPL < 3 (the
// 16-bit forms only; the callers trap the others) the popped IF goes to VIF, and a popped TF,
// or IF with VIP set, raises #GP(0) with nothing changed: false then.
bool load_popped_flags(Cpu& cpu, uint32_t value, uint8_t size, FlagsSource source);

// Delivers through a 16- or 32-bit interrupt or trap gate (SDM Vol. 3A 6.12.1), switching to
// the inner stack from the TSS when the handler is more privileged — from virtual-8086 mode
// to ring 0 with the data segment registers saved (SDM Vol. 3A 20.3.1.1) — or through a task
// gate with a task switch (emu/task_switch.hpp).
bool deliver_protected_mode(Cpu& cpu, const Event& event);

// Far CALL/JMP through a call gate (SDM CALL/JMP, "call gate" paths). `gate_selector` is the
// selector of the far pointer; the pointer's offset is ignored, as the SDM says.
bool transfer_through_call_gate(Cpu& cpu, uint16_t gate_selector, const Descriptor& gate,
                                FarKind kind);

// IRET/IRETD in protected mode: a task return when NT = 1 (emu/task_switch.hpp), a return
// to virtual-8086 mode when the popped EFLAGS has VM = 1 at CPL 0, else a return to the same
// or an outer level.
bool iret_protected_mode(Cpu& cpu, uint8_t operand_size);

// The code segment a RET/IRET returns to, or a task switch loads (SDM RET; Vol. 3A Table
// 7-1): null -> #GP(0); not code, RPL < CPL, conforming with DPL > RPL, non-conforming with
// DPL != RPL -> #GP(selector); not present -> #NP(selector).
bool check_return_code_segment(Cpu& cpu, uint16_t selector, Descriptor& desc);

// Return to a less privileged level (far RET, IRET): checks and loads CS:EIP, then the outer
// SS:ESP found `outer_stack_at` bytes above the stack pointer; `release` bytes (RET imm16)
// are also released from the outer stack.
bool far_return_to_outer_level(Cpu& cpu, uint16_t selector, uint32_t offset, uint8_t operand_size,
                               uint32_t outer_stack_at, uint32_t release);

} // namespace transit86::emu
