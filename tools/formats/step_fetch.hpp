// What the stepping trace shows of the next instruction: its bytes and its disassembly.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86::tools {

struct FetchedInstruction {
    uint64_t linear = 0;
    uint32_t eip = 0;
    uint8_t mode = 0; // PE | CS.D << 1 | VM << 2
    uint8_t count = 0;
    uint8_t bytes[15] = {};
    std::string text; // Intel syntax, "(bad)" when the bytes do not decode
};

// Loops run the same instructions over and over, and Zydis's decoder and formatter are most
// of a trace line's cost: the text is kept by fetch address and reused while the bytes there,
// the EIP (branch targets are printed absolute) and the mode are unchanged.
class FetchCache {
  public:
    const FetchedInstruction& fetch(const Emulator& emu, const CpuState& s);

  private:
    static constexpr size_t kSlots = 1024; // direct-mapped by linear address
    std::array<FetchedInstruction, kSlots> slots_{};
    std::array<bool, kSlots> used_{};
};

} // namespace transit86::tools
