// FXSAVE and FXRSTOR on transit86 and on Unicorn 2.0.1 (QEMU 5.0's helpers), the same random
// real-mode cases on both, the memory they wrote compared byte for byte.
//
// A case: CR4.OSFXSR = 1 (QEMU stores MXCSR and XMM only then), FRSTOR of a random x87 state,
// FXSAVE (the image of a state both loaded through FRSTOR, which x87_vs_unicorn_test compares),
// FXRSTOR of a random 512-byte image, FNSAVE + FRSTOR (the x87 state FXRSTOR loaded, in a
// format both write), FXSAVE again (its SSE part: XMM and MXCSR as FXRSTOR loaded them), HLT.
// Compared: both FXSAVE images but the opcode and the four pointer fields (bytes 6..23: QEMU 5.0
// writes the pointers as 0 and leaves the opcode), the FNSAVE image but its pointers, the
// general registers. Every x87 exception is masked so that no case ends in #MF.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "oracle/unicorn_runner.hpp"
#include "transit86/emulator.hpp"

namespace transit86::oracle {
namespace {

constexpr uint64_t kRam = 1u << 20;
constexpr uint32_t kCode = 0x1000;
constexpr uint32_t kStartImage = 0x3000; // FRSTOR's, 94 bytes (16-bit real-mode layout)
constexpr uint32_t kFirstSave = 0x4000;  // FXSAVE of the FRSTOR state
constexpr uint32_t kLoadImage = 0x5000;  // FXRSTOR's, 512 bytes
constexpr uint32_t kFnsave = 0x6000;     // FNSAVE of the FXRSTOR state, 94 bytes
constexpr uint32_t kSecondSave = 0x7000; // FXSAVE after FRSTOR of that
constexpr uint32_t kFxImage = 512, kFnImage = 94;
constexpr uint32_t kCaseBytes = 0x8000; // code, images and stack

// clang-format off
const uint8_t kProgram[] = {
    0x0F, 0x20, 0xE0,                   // mov eax, cr4
    0x66, 0x0D, 0x00, 0x02, 0x00, 0x00, // or eax, 0x200 (OSFXSR)
    0x0F, 0x22, 0xE0,                   // mov cr4, eax
    0xDD, 0x26, 0x00, 0x30,             // frstor [0x3000]
    0x0F, 0xAE, 0x06, 0x00, 0x40,       // fxsave [0x4000]
    0x0F, 0xAE, 0x0E, 0x00, 0x50,       // fxrstor [0x5000]
    0xDD, 0x36, 0x00, 0x60,             // fnsave [0x6000]
    0xDD, 0x26, 0x00, 0x60,             // frstor [0x6000]
    0x0F, 0xAE, 0x06, 0x00, 0x70,       // fxsave [0x7000]
    0xF4,                               // hlt
};
// clang-format on

class Generator {
  public:
    explicit Generator(uint64_t seed) : rng_(seed) {}

    std::vector<uint8_t> case_memory() {
        std::vector<uint8_t> m(kCaseBytes, 0);
        std::memcpy(&m[kCode], kProgram, sizeof kProgram);
        // FRSTOR, 16-bit real-mode image (SDM Vol. 1 Figure 8-12): control, status, tags, then
        // ST(0)..ST(7) from byte 14.
        put16(&m[kStartImage + 0], control_word());
        put16(&m[kStartImage + 2], status_word());
        put16(&m[kStartImage + 4], static_cast<uint16_t>(bits()));
        for (uint32_t i = 0; i < 8; ++i)
            extended(&m[kStartImage + 14 + 10 * i]);
        // FXRSTOR (SDM Vol. 2A Table 3-43).
        uint8_t* image = &m[kLoadImage];
        put16(image + 0, control_word());
        put16(image + 2, status_word());
        image[4] = static_cast<uint8_t>(bits());
        put16(image + 6, static_cast<uint16_t>(bits() & 0x7FF));
        for (uint32_t at = 8; at < 24; at += 2) // FIP, FCS, FDP, FDS and their reserved bytes
            put16(image + at, static_cast<uint16_t>(bits()));
        put16(image + 14, 0);
        put16(image + 22, 0);
        const auto mxcsr = static_cast<uint32_t>(bits() & 0xFFFF); // MXCSR_MASK FFFFH
        std::memcpy(image + 24, &mxcsr, 4);
        for (uint32_t i = 0; i < 8; ++i)
            extended(image + 32 + 16 * i);
        for (uint32_t at = 160; at < 288; ++at)
            image[at] = static_cast<uint8_t>(bits());
        return m;
    }

  private:
    uint64_t bits() { return rng_(); }

    static void put16(uint8_t* at, uint16_t v) { std::memcpy(at, &v, 2); }

    // Every exception masked; random precision and rounding control.
    uint16_t control_word() { return static_cast<uint16_t>(0x003F | 0x0040 | (bits() & 0x0F00)); }
    // Random flags, condition codes and TOP; ES and B clear (nothing is unmasked).
    uint16_t status_word() {
        return static_cast<uint16_t>(bits() & (0x3F | 0x40 | 0x4700 | 0x3800));
    }

    // A zero, normal, denormal, infinity or NaN in double extended precision, J set exactly
    // when the exponent is not 0 (SDM Vol. 1 8.2.2: no unnormals or pseudo-denormals).
    void extended(uint8_t* out) {
        uint64_t significand = bits() | uint64_t{1} << 63;
        uint16_t exponent = static_cast<uint16_t>(1 + bits() % 0x7FFE);
        switch (bits() % 6) {
        case 0: significand = 0, exponent = 0; break;
        case 1: significand &= ~(uint64_t{1} << 63), significand |= 1, exponent = 0; break;
        case 2: significand = uint64_t{1} << 63, exponent = 0x7FFF; break;
        case 3: significand |= uint64_t{1} << 62, exponent = 0x7FFF; break;
        default: break;
        }
        if (bits() & 1) exponent |= 0x8000;
        std::memcpy(out, &significand, 8);
        std::memcpy(out + 8, &exponent, 2);
    }

    std::mt19937_64 rng_;
};

// The first byte in [from, to) where the two differ, outside [skip_from, skip_to); -1 if none.
int first_difference(const uint8_t* a, const uint8_t* b, int from, int to, int skip_from,
                     int skip_to) {
    for (int i = from; i < to; ++i)
        if ((i < skip_from || i >= skip_to) && a[i] != b[i]) return i;
    return -1;
}

TEST(FxsaveVsUnicorn, RandomImagesAgree) {
    std::string error;
    auto uc = UnicornRunner::create({.memory_size = kRam}, &error);
    if (!uc) GTEST_SKIP() << "Unicorn: " << error;
    uint64_t cases = 300;
    if (const char* scale = std::getenv("TRANSIT86_ORACLE_SCALE")) cases *= std::atoi(scale);

    std::vector<uint8_t> ram(kRam);
    const RamSlot slot{.guest_phys = 0, .size = kRam, .host = ram.data()};
    Generator generator(0xF45A7E);
    uint64_t compared = 0;
    for (uint64_t n = 0; n < cases; ++n) {
        const std::vector<uint8_t> memory = generator.case_memory();
        // A case writes only below kCaseBytes (its images and stack): loading its memory there
        // on both sides clears what the case before wrote.
        std::memcpy(ram.data(), memory.data(), memory.size());
        uc->load(0, memory);
        Emulator emu({&slot, 1});
        CpuState start = real_mode_at_zero(kCode, 0x7F00);
        // Unicorn 2.0.1 starts with MXCSR = 0, not 1F80H (SDM Vol. 3A Table 10-1), and
        // set_state() cannot write it: transit86 starts from the same value.
        start.sse.mxcsr = 0;
        emu.state() = start;
        ASSERT_TRUE(uc->set_state(start, &error)) << error;

        const Exit ours =
            emu.run({.budget = 64, .stop_when_valid = std::nullopt, .exceptions_to_host = true});
        ASSERT_EQ(ours.reason, ExitReason::Halt) << "case " << n << ": " << to_string(ours.reason);
        UnicornStepResult theirs;
        for (int i = 0; i < 16; ++i) {
            theirs = uc->step();
            if (theirs.reason != UnicornStepReason::Step) break;
        }
        ASSERT_EQ(theirs.reason, UnicornStepReason::Hlt)
            << "case " << n << ": " << to_string(theirs.reason) << " " << theirs.error_text;
        EXPECT_EQ(emu.state().gpr, theirs.state.gpr) << "case " << n;

        std::vector<uint8_t> other(kCaseBytes);
        uc->read(0, other);
        for (const uint32_t save : {kFirstSave, kSecondSave}) {
            const int at = first_difference(&ram[save], &other[save], 0, kFxImage, 6, 24);
            EXPECT_EQ(at, -1) << "case " << n << ", FXSAVE at " << std::hex << save << ", byte "
                              << std::dec << at << "\n  ours    " << hex_bytes(&ram[save], 288)
                              << "\n  unicorn " << hex_bytes(&other[save], 288);
        }
        // Figure 8-12: pointers at 6..13.
        const int at = first_difference(&ram[kFnsave], &other[kFnsave], 0, kFnImage, 6, 14);
        EXPECT_EQ(at, -1) << "case " << n << ", FNSAVE byte " << at << "\n  ours    "
                          << hex_bytes(&ram[kFnsave], kFnImage) << "\n  unicorn "
                          << hex_bytes(&other[kFnsave], kFnImage);
        if (::testing::Test::HasFailure()) break;
        ++compared;
    }
    std::printf("FXSAVE/FXRSTOR vs Unicorn: %llu of %llu cases identical\n",
                static_cast<unsigned long long>(compared), static_cast<unsigned long long>(cases));
}

} // namespace
} // namespace transit86::oracle
