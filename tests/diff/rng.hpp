// A small deterministic random source (SplitMix64): the same seed gives the same case on every
// host and standard library, which <random>'s distributions do not promise.
#pragma once

#include <cstdint>

namespace transit86::diff {

class Rng {
  public:
    explicit Rng(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint32_t u32() { return static_cast<uint32_t>(next() >> 32); }
    uint8_t byte() { return static_cast<uint8_t>(next() >> 56); }
    // Uniform in [0, n) (n > 0); the modulo bias is irrelevant here.
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
    // Uniform in [lo, hi].
    uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
    // True with probability percent / 100.
    bool chance(uint32_t percent) { return below(100) < percent; }

  private:
    uint64_t state_;
};

// The seed of case `index` of a run started with `seed` (one SplitMix64 step of their mix).
inline uint64_t case_seed(uint64_t seed, uint64_t index) {
    Rng rng(seed * 0x100000001B3ull ^ index);
    return rng.next();
}

} // namespace transit86::diff
