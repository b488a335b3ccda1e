// QEMU's `info registers` text for an i386 CPU (the HMP monitor command, here reached through
// the gdbstub's qRcmd), read into a CpuState. QEMU 7.2 prints, for a 32-bit target:
//   EAX=... EBX=... ECX=... EDX=...   /  ESI= EDI= EBP= ESP=
//   EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
//   ES =0000 00000000 0000ffff 00009300 [...]   (selector, base, limit, descriptor flags)
//   ... CS SS DS FS GS, LDT=, TR =, then GDT= and IDT= (base, limit)
//   CR0= CR2= CR3= CR4=, DR0..DR3, DR6 DR7, EFER=
// The flags are the descriptor's second dword as QEMU keeps it (SegmentCache.flags): bits
// 8-23 hold type, S, DPL, P, AVL, L, D/B, G, so the VMX access rights are (flags >> 8) &
// F0FFH. QEMU loads a null selector with flags 0: the cache is then "unusable" (SDM Vol. 3C
// 24.4.1), as KVM reports it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "transit86/cpu_state.hpp"

namespace transit86::tools {

struct QemuRegisters {
    CpuState state{};
    bool halted = false;      // HLT=1
    bool inhibit_irq = false; // II=1: the STI / MOV SS shadow (QEMU does not say which)
    bool a20 = true;          // A20=1
};

// The registers, or nullopt with `error` naming the first field that is missing or malformed.
// Fields the text does not carry (x87, MSRs, PDPTEs) keep CpuState's defaults.
std::optional<QemuRegisters> parse_info_registers(std::string_view text, std::string& error);

} // namespace transit86::tools
