// QEMU's `info registers` text for an i386 CPU (the HMP monitor command, here reached through
// the gdbstub's qRcmd), read into a CpuState. The dump's lines are tools/explain's QEMU
// parser's (explain_qemu_dump.cpp: segments as selector, base, limit and descriptor flags,
// AR = (flags >> 8) & F0FFH, no P = unusable); this adds what the corpus engine needs and
// `explain` does not keep: DR0-DR3, DR6, DR7, the interrupt shadow (II) and A20, and it
// insists on every field.
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
