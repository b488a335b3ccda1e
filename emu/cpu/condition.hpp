// Condition codes tttn (SDM Vol. 1 B.1), shared by the interpreter (Jcc, SETcc, CMOVcc, on
// EFLAGS) and the block engine (on its lazy flags, emu/lazy_flags.hpp).
#pragma once

#include <cstdint>

#include "transit86/cpu_state.hpp"

namespace transit86::emu {

inline bool condition_holds(uint32_t eflags, uint8_t cc) {
    const bool cf = eflags & flags::CF, zf = eflags & flags::ZF, sf = eflags & flags::SF,
               of = eflags & flags::OF, pf = eflags & flags::PF;
    bool r = false;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    case 7: r = zf || (sf != of); break;
    }
    return (cc & 1) ? !r : r;
}

} // namespace transit86::emu
