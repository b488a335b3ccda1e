// Debug-register conditions (SDM Vol. 3B 18.2, 18.3): which breakpoints an instruction
// address, a data access or a port access meets, and what a debug exception leaves in DR6.
//
// The run loop (emu/emulator.cpp) checks instruction breakpoints before each instruction and
// delivers the traps an instruction collected (Cpu::debug_traps) after it; the memory access
// path (Cpu::read_linear / write_linear) and the port path note data and I/O breakpoints, but
// only while Cpu::watch_accesses says DR7 enables one, so they cost one test otherwise.
#pragma once

#include <cstdint>

#include "transit86/cpu_state.hpp"

namespace transit86::emu {

// B0-B3 of the enabled instruction breakpoints (R/W = 00) at `linear`, the address CS.base +
// EIP of the next instruction (SDM Vol. 3B 18.2.5, "instruction breakpoint addresses must have
// a length specification of 1 byte"): matched on the address alone, whatever LEN says.
uint32_t instruction_breakpoints_at(const CpuState& s, uint32_t linear);

// B0-B3 of the enabled data breakpoints a `size`-byte access at `linear` meets: R/W = 01 for
// writes, 11 for reads or writes, any of the accessed bytes within the LEN bytes the
// breakpoint covers, its address aligned down to LEN (Vol. 3B 18.2.5).
uint32_t data_breakpoints_hit(const CpuState& s, uint32_t linear, uint32_t size, bool write);

// B0-B3 of the enabled I/O breakpoints (R/W = 10, only with CR4.DE) an access of `size` bytes
// to `port` meets, by the same range rule.
uint32_t io_breakpoints_hit(const CpuState& s, uint16_t port, uint32_t size);

// DR7 enables a data or I/O breakpoint: accesses must be checked.
bool watches_accesses(const CpuState& s);

// What recognising a debug exception does to the debug registers (SDM Vol. 3B 18.2.3,
// 18.2.4): B0-B3 report exactly the breakpoints of `conditions` ("certain debug exceptions may
// clear bits 0-3", as KVM's kvm_deliver_exception_payload does for every #DB); BD, BS and BT
// are set when named and never cleared ("the remaining contents ... are never cleared by the
// processor"); GD is cleared "upon entering the debug exception handler".
void record_debug_exception(CpuState& s, uint32_t conditions);

// IRETD loads RF from the popped image (SDM Vol. 3B 18.3.1.1: "IRETD/IRETQ instructions
// transfer the RF image from ... the stack"; IRET "Operation"); a 16-bit IRET pops no RF and
// leaves it clear, as the instruction cleared it when it started. Call after the flags load.
void load_resume_flag(CpuState& s, uint32_t popped_eflags, uint8_t operand_size);

} // namespace transit86::emu
