// Shared by the x87 tests: register values worked out by hand from the formats of SDM Vol. 1
// 4.2.2 (double extended precision: sign << 15 | biased exponent, 64-bit significand with the
// integer bit J at bit 63; bias 3FFFH) and a real-mode machine that starts with FNINIT done.
#pragma once

#include "machine.hpp"

namespace transit86::test {

inline constexpr uint64_t kJ = 0x8000000000000000; // the explicit integer bit
inline constexpr X87Register kOne{kJ, 0x3FFF};
inline constexpr X87Register kTwo{kJ, 0x4000};
inline constexpr X87Register kThree{0xC000000000000000, 0x4000};
inline constexpr X87Register kEight{kJ, 0x4002};
inline constexpr X87Register kMinusOne{kJ, 0xBFFF};
inline constexpr X87Register kPlusZero{0, 0x0000};
// QNaN floating-point indefinite (SDM Vol. 1 Table 4-3): sign 1, exponent all ones, 1.1000...
inline constexpr X87Register kIndefinite{0xC000000000000000, 0xFFFF};

// Status-word images: TOP in bits 13:11 (SDM Vol. 1 Figure 8-4).
constexpr uint16_t top_bits(unsigned top) {
    return static_cast<uint16_t>(top << 11);
}

inline constexpr uint32_t kData = 0x2000; // where the tests keep memory operands

// A real-mode machine (CS = DS = 0, code at 1000H) with exceptions handed to the host, and
// CR0.NE set so that x87 errors are #MF (SDM Vol. 3A 2.5).
inline void prepare_x87(Machine& m) {
    m.exceptions_to_host = true;
    m.state().cr0 |= cr0::NE;
}

} // namespace transit86::test

namespace transit86 {
inline void PrintTo(const X87Register& r, std::ostream* os) {
    char text[48];
    std::snprintf(text, sizeof text, "{%016llx, %04x}",
                  static_cast<unsigned long long>(r.significand), r.sign_exponent);
    *os << text;
}
} // namespace transit86
