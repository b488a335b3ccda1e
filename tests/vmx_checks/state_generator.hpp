// A deterministic source of guest states for the randomised agreement tests: boot-code states
// with a few random edits to segments, CR0, RFLAGS and the non-register state.
#pragma once

#include "states.hpp"

#include <cstddef>
#include <random>

namespace transit86::vmx::test {

inline constexpr std::size_t kStates = 200'000;
inline constexpr uint64_t kSeed = 0x7261'6e73'6974'3836; // "transit86"

// Access-rights values boot code actually leaves in caches, plus odd ones.
inline constexpr uint32_t kRights[] = {
    0x93,   0x9B,   0xF3, 0x82, 0x8B, 0x83,  0x89,    0xC093,  0xC09B, 0xC09F,
    0x4093, 0x8093, 0x97, 0xB3, 0xD3, 0x13,  0x10000, 0x10093, 0x92,   0x9A,
    0x2093, 0x1093, 0xFB, 0x9F, 0x91, 0x193, 0x20093, 0xC0FF,  0xBF};

// Deterministic for a given seed.
class StateGenerator {
  public:
    explicit StateGenerator(uint64_t seed) : rng_(seed) {}

    // A valid real-mode, protected-mode or virtual-8086 state with a few random edits, so that
    // both valid and invalid states are common in every profile and every row gets its turn.
    CpuState next() {
        CpuState s = below(8) == 0 ? v86_task() : coin() ? real_mode() : flat_protected();
        const int edits = static_cast<int>(below(4));
        for (int i = 0; i < edits; ++i)
            edit(s);
        return s;
    }

  private:
    uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
    bool coin() { return below(2) == 0; }

    SegmentCache& any_register(CpuState& s) {
        const uint64_t which = below(8);
        if (which == 6) return s.tr;
        if (which == 7) return s.ldtr;
        return s.seg[which];
    }

    void edit(CpuState& s) {
        SegmentCache& g = any_register(s);
        switch (below(14)) {
        case 0: g.selector = static_cast<uint16_t>(below(0x10000)); break;
        case 1: g.selector ^= static_cast<uint16_t>(below(8)); break; // RPL and TI bits
        case 2: g.access_rights = kRights[below(std::size(kRights))]; break;
        case 3: g.access_rights ^= 1u << below(17); break;
        case 4: g.base = coin() ? uint64_t{g.selector} << 4 : below(0x1'0000'0000); break;
        case 5: g.limit = coin() ? 0xFFFF : static_cast<uint32_t>(below(0x1'0000'0000)); break;
        case 6: s.cr0 ^= cr0::PE; break;
        case 7: s.eflags ^= flags::VM; break;
        case 8: g = real_segment(g.selector, g.access_rights); break;
        case 9: s.cr0 ^= cr0::PG; break;
        // Fields only the sdm rows read.
        case 10: s.eflags ^= 1u << below(22); break; // IF, reserved bits 1, 3, 5, 15, ...
        case 11: s.interruptibility = static_cast<uint32_t>(below(8)); break;
        case 12: s.activity = static_cast<ActivityState>(below(4)); break;
        case 13: g.limit = coin() ? 0xFFFFF000 : 0x00100000; break; // at odds with one G setting
        }
    }

    std::mt19937_64 rng_;
};

} // namespace transit86::vmx::test
