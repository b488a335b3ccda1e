// Random differential cases: a starting state and a short instruction stream, both a pure
// function of the case seed (docs/differential.md, "Generation").
#pragma once

#include <cstdint>
#include <vector>

#include "diff/layout.hpp"
#include "transit86/cpu_state.hpp"

namespace transit86::diff {

struct Case {
    uint64_t seed = 0;
    Mode mode = Mode::Real;
    CpuState start;
    uint32_t code_linear = 0;  // where `code` goes (CS.base + EIP of the first instruction)
    std::vector<uint8_t> code; // the instructions, then a HLT that ends the case
    uint32_t instructions = 0; // how many were generated
};

// `instructions` random instructions from the allowed set (semantics.hpp: allowed()), each
// decoded by transit86's decoder; relative branches retargeted to instruction boundaries of
// the buffer (or its end) where the displacement fits.
Case generate_case(uint64_t seed, Mode mode, uint32_t instructions);

} // namespace transit86::diff
