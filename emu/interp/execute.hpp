// The interpreter's entry points: an instruction's handler resolved from its decoded record
// (emu/interp/execute.cpp), and executing it.
#pragma once

#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

// Executes one decoded instruction: updates state, or records a stop in cpu.
bool execute(Cpu& cpu, const Insn& insn);

// What the run loop needs to know about an instruction beyond its Insn record, resolved once
// when it is decoded (and kept in the decode cache with it).
struct Dispatch {
    using Handler = bool (*)(Cpu&, const Insn&);
    Handler handler = nullptr;
    // A failed handler may have changed state before it stopped, so the run loop snapshots
    // the state first. Most handlers read, check and then commit in one step; the ones
    // listed in execute.cpp push several values or commit in stages.
    bool needs_rollback = false;
    // It can change what the kvm VM-entry profile reads: segment registers, TR, LDTR, CR0.
    bool may_change_vmx_state = false;
    // INT n / INT3 / INTO: no single-step trap after them.
    bool software_interrupt = false;
};
Dispatch dispatch_for(const Insn& insn);

} // namespace transit86::emu
