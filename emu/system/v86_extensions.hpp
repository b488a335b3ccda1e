// The virtual-8086 mode extensions (CR4.VME) and protected-mode virtual interrupts (CR4.PVI):
// SDM Vol. 3A 20.3.2 (the VIF and VIP flags), 20.3.3 (software interrupts in virtual-8086
// mode, Table 20-2), 20.4 (PVI); Vol. 2 CLI, STI, PUSHF, POPF, INT n "Operation".
//
// Where each instruction lives: CLI/STI and PUSHF/POPF in emu/interp/exec_data.cpp, IRET in
// emu/interp/exec_control.cpp, the popped-flags rules in emu/system/privilege.cpp
// (load_popped_flags), INT n in emu/system/interrupts.cpp, and the check at the start of an
// instruction in emu/emulator.cpp.
#pragma once

#include <cstdint>

#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

constexpr uint32_t iopl_of(const CpuState& s) {
    return (s.eflags & flags::IOPL) >> 12;
}

// Virtual-8086 mode with CR4.VME = 1 and IOPL < 3: CLI, STI, the 16-bit PUSHF, POPF and IRET,
// and INT n with its redirection bit clear run without trapping to the monitor, and IF as
// the 8086 program sees it is VIF (SDM Vol. 3A 20.3.2).
inline bool vme_virtualizes_if(const CpuState& s) {
    return s.v86() && (s.cr4 & cr4::VME) && iopl_of(s) < 3;
}

// CLI and STI above IOPL: "VME mode" (VM = 1, CR4.VME = 1) or "PVI mode" (VM = 0, CPL 3,
// CR4.PVI = 1) act on VIF; otherwise #GP(0) (SDM CLI/STI "Operation"). Only asked when IOPL is
// below CPL (in virtual-8086 mode, below 3).
inline bool cli_sti_act_on_vif(const CpuState& s) {
    return s.v86() ? (s.cr4 & cr4::VME) != 0 : s.cpl() == 3 && (s.cr4 & cr4::PVI) != 0;
}

// PUSHF, POPF and IRET in virtual-8086 mode with IOPL < 3 trap to the monitor (#GP(0)) unless
// CR4.VME = 1 and the operand size is 16 (SDM PUSHF/POPF "Operation"; Vol. 3A 20.3.2).
// CR4.PVI does not change them (SDM POPF: "POPF, however, is not affected by CR4.PVI").
inline bool v86_flags_access_traps(const CpuState& s, uint8_t operand_size) {
    return s.v86() && iopl_of(s) < 3 && (operand_size == 4 || !(s.cr4 & cr4::VME));
}

// The FLAGS image the 8086 program sees under vme_virtualizes_if: IF replaced by VIF and IOPL
// read as 3 (SDM Vol. 3A Table 20-2, method 6: "Pushes EFLAGS with IOPL set to 3 and VIF
// copied to IF"; PUSHF likewise).
inline uint16_t virtual_flags_image(const CpuState& s) {
    const uint32_t virtual_if = (s.eflags & flags::VIF) ? flags::IF : 0;
    return static_cast<uint16_t>((s.eflags & ~flags::IF) | flags::IOPL | virtual_if);
}

// VIF and VIP both set at the beginning of an instruction under vme_virtualizes_if raise
// #GP(0), so the monitor can deliver the pending interrupt (SDM Vol. 3A 20.3.2: "this
// situation can only occur immediately following execution of a POPF or IRET instruction or
// upon entering a virtual-8086 mode task through a task switch").
inline bool virtual_interrupt_pending(const CpuState& s) {
    constexpr uint32_t both = flags::VIF | flags::VIP;
    return (s.eflags & both) == both && vme_virtualizes_if(s);
}

// INT n (opcode CD) in virtual-8086 mode with CR4.VME = 1: bit `vector` of the software
// interrupt redirection bit map, the 32 bytes below the I/O map base of the current TSS (SDM
// Vol. 3A 20.3.3, Figure 20-5). Set: the interrupt goes to the protected-mode IDT (IOPL 3,
// method 4) or #GP(0) (IOPL < 3, method 3). #GP(0) when TR does not hold a 32-bit TSS or the
// byte lies beyond the TSS limit (transit86's reading; docs/known-differences.md).
bool read_redirection_bit(Cpu& cpu, uint8_t vector, bool& set);

// Methods 5 and 6 (SDM Vol. 3A 20.3.3.4, 20.3.3.5; Vol. 2 INT n): INT n as in real mode,
// through the 8086 program's interrupt vector table at linear address 0, staying in
// virtual-8086 mode: push FLAGS (virtual_flags_image when IOPL < 3), CS, IP on the current
// stack; clear IF (IOPL 3) or VIF (IOPL < 3) and TF; CS:IP from the vector's entry.
bool redirect_to_v86_handler(Cpu& cpu, uint8_t vector);

} // namespace transit86::emu
