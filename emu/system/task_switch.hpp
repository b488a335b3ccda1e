// Task switches (SDM Vol. 3A 7.3 "Task Switching"; Vol. 2 JMP, CALL, INT n and IRET,
// "Operation": TASK-GATE, TASK-STATE-SEGMENT, TASK-RETURN).
//
// A switch has a commit point (SDM Vol. 3A 7.3, after step 7, and Table 7-1): until the old
// task's state is saved a fault aborts it with the state unchanged, as any other instruction
// fault; from then on the new task's state is in the processor and a fault is delivered in
// its context. The switch marks that point with Cpu::task_committed, which tells the run loop
// not to roll the state back.
#pragma once

#include <cstdint>

#include "emu/cpu/cpu.hpp"
#include "emu/system/privilege.hpp"
#include "emu/system/segment_load.hpp"

namespace transit86::emu {

// Far JMP/CALL whose selector names an available TSS (type 1 or 9) or a task gate (type 5)
// in the GDT or LDT (SDM JMP/CALL, "TASK-GATE" and "TASK-STATE-SEGMENT").
bool far_transfer_to_task(Cpu& cpu, uint16_t selector, const Descriptor& desc, FarKind kind);

// An event through a task gate in the IDT (SDM INT n, "TASK-GATE"; Vol. 3A 6.11 and 6.12.2):
// a nested switch (the new task's link names the old one), then the error code, if the
// event has one, pushed on the new task's stack. `gate` is the raw IDT entry, already checked
// for DPL (software events) and presence.
bool deliver_through_task_gate(Cpu& cpu, uint64_t gate, const Event& event);

// IRET with EFLAGS.NT = 1: back to the task named by the current TSS's previous-task link
// (SDM IRET, "TASK-RETURN").
bool return_from_nested_task(Cpu& cpu);

// The I/O map base of the current TSS, the word at offset 66H of a 32-bit TSS (SDM Vol. 3A
// Figure 7-2); the I/O permission bit map starts there and the software interrupt redirection
// bit map ends there. #GP(0) when TR does not hold a 32-bit TSS or its limit does not cover
// the field (SDM Vol. 1 19.5.2).
bool read_io_map_base(Cpu& cpu, uint16_t& map_base);

} // namespace transit86::emu
