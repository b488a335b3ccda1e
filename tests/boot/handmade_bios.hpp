// BIOS images written byte by byte for the boot tests that need no package: 64 KiB of HLT
// with the reset vector (F000:FFF0) jumping to F000:E000, where the test's code goes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace transit86::tools::testing {

inline constexpr uint16_t kHandmadeBiosEntry = 0xE000; // offset in segment F000

inline std::vector<uint8_t> handmade_bios(const std::vector<uint8_t>& code) {
    std::vector<uint8_t> bios(0x10000, 0xF4);
    const std::vector<uint8_t> reset = {0xEA, 0x00, 0xE0, 0x00, 0xF0}; // jmp far 0xf000:0xe000
    std::copy(reset.begin(), reset.end(), bios.begin() + 0xFFF0);
    std::copy(code.begin(), code.end(), bios.begin() + kHandmadeBiosEntry);
    return bios;
}

} // namespace transit86::tools::testing
