// Field-by-field comparison of two CPU states, for oracle tests and differential tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transit86/cpu_state.hpp"

namespace transit86::oracle {

struct CompareOptions {
    // EFLAGS bits to ignore (e.g. the instruction's undefined flags, or RF/TF that the
    // single-step machinery owns).
    uint32_t eflags_ignore = flags::RF | flags::TF;
    bool compare_interruptibility = true;
};

// One line per differing field: "ds.ar ours=0x93 oracle=0xc093". Empty when equal. For an
// unusable segment only the selector and the unusable bit are compared: the rest of the cache
// is undefined (SDM Vol. 3C 24.4.1).
std::vector<std::string> diff_states(const CpuState& ours, const CpuState& oracle,
                                     const CompareOptions& options = {});

} // namespace transit86::oracle
