// What Cpu::linearize() lets an access through a segment reach without a fault, in a form the
// block engine checks with one comparison (emu/block/).
#pragma once

#include <cstdint>

namespace transit86::emu {

// What a segment allows the fast path: its base, and the last offset an access may reach for
// a read and for a write (-1: decline every access, the interpreter decides). Expand-down,
// null and unusable segments and wrong types decline; the interpreter raises their faults.
struct SegmentWindow {
    uint32_t base = 0;
    int64_t read_last = -1;
    int64_t write_last = -1;
};

} // namespace transit86::emu
