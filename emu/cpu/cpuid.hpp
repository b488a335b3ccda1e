// What CPUID answers for a CPU model: one function for the interpreter (exec_processor.cpp)
// and the block engine (block_io.cpp), so both tiers give the same leaves.
#pragma once

#include <cstdint>

#include "transit86/cpu_model.hpp"

namespace transit86::emu {

struct CpuidLeaf {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// Leaves 0, 1 and 80000000H..80000004H of `model` (SDM Vol. 2A CPUID). Beyond the maximum,
// Intel processors answer with the highest basic leaf.
CpuidLeaf cpuid_leaf(const CpuModel& model, uint32_t leaf);

} // namespace transit86::emu
