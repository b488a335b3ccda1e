// The block engine's lazy EFLAGS (emu/lazy_flags.hpp) against the interpreter's eager
// primitives (emu/alu.hpp, themselves checked against KVM, Unicorn and the 80286 vectors):
// exhaustively for bytes, on samples for words and doublewords.
#include <gtest/gtest.h>

#include <random>

#include "emu/block/lazy_flags.hpp"
#include "emu/cpu/alu.hpp"

namespace transit86::emu {

namespace {

template <class T>
void expect_add_and_sub_match(T a, T b) {
    LazyFlags lf;
    lf.set_add<T>(a, b, static_cast<T>(a + b));
    ASSERT_EQ(lf.status(), alu_add<T>(a, b, 0).flags) << "add " << +a << ", " << +b;
    lf.set_sub<T>(a, b, static_cast<T>(a - b));
    ASSERT_EQ(lf.status(), alu_sub<T>(a, b, 0).flags) << "sub " << +a << ", " << +b;
    lf.set_logic<T>(static_cast<T>(a ^ b));
    ASSERT_EQ(lf.status(), alu_logic<T>(static_cast<T>(a ^ b)).flags);
}

// INC/DEC: the flags of add/sub 1 with CF as it was (SDM INC, DEC).
template <class T>
void expect_inc_dec_match(T a, bool carry_before) {
    const uint32_t cf = carry_before ? flags::CF : 0;
    LazyFlags lf = LazyFlags::from_eflags(cf);
    lf.set_inc<T>(a, static_cast<T>(a + 1));
    ASSERT_EQ(lf.status(), (alu_add<T>(a, 1, 0).flags & ~flags::CF) | cf) << "inc " << +a;
    lf = LazyFlags::from_eflags(cf);
    lf.set_dec<T>(a, static_cast<T>(a - 1));
    ASSERT_EQ(lf.status(), (alu_sub<T>(a, 1, 0).flags & ~flags::CF) | cf) << "dec " << +a;
}

constexpr uint32_t kStatusBits[] = {flags::CF, flags::PF, flags::AF,
                                    flags::ZF, flags::SF, flags::OF};

uint32_t status_combination(unsigned bits) {
    uint32_t eflags = 0;
    for (unsigned i = 0; i < 6; ++i)
        if (bits >> i & 1) eflags |= kStatusBits[i];
    return eflags;
}

} // namespace

TEST(LazyFlags, ByteAddSubLogicMatchEagerFlagsForEveryOperandPair) {
    for (unsigned a = 0; a < 256; ++a)
        for (unsigned b = 0; b < 256; ++b)
            expect_add_and_sub_match<uint8_t>(static_cast<uint8_t>(a), static_cast<uint8_t>(b));
}

TEST(LazyFlags, WordAndDoublewordAddSubMatchEagerFlags) {
    std::mt19937 rng(86);
    const uint32_t edges[] = {0,      1,      0x7F,       0x80,       0xFF,      0x7FFF,
                              0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF};
    for (int i = 0; i < 200000; ++i) {
        const uint32_t a =
            i % 3 == 0 ? edges[rng() % std::size(edges)] : static_cast<uint32_t>(rng());
        const uint32_t b =
            i % 5 == 0 ? edges[rng() % std::size(edges)] : static_cast<uint32_t>(rng());
        expect_add_and_sub_match<uint16_t>(static_cast<uint16_t>(a), static_cast<uint16_t>(b));
        expect_add_and_sub_match<uint32_t>(a, b);
    }
}

TEST(LazyFlags, IncDecKeepCarryAndMatchEagerFlags) {
    for (unsigned a = 0; a < 256; ++a)
        for (bool carry : {false, true})
            expect_inc_dec_match<uint8_t>(static_cast<uint8_t>(a), carry);
    for (uint32_t a : {0u, 1u, 0x7FFFu, 0x8000u, 0xFFFFu, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu})
        for (bool carry : {false, true}) {
            expect_inc_dec_match<uint16_t>(static_cast<uint16_t>(a), carry);
            expect_inc_dec_match<uint32_t>(a, carry);
        }
}

// SAHF and POPF can set any combination, including ZF = SF = 1, which no result has. (Condition
// codes are read through status(), with the interpreter's table: condition.hpp.)
TEST(LazyFlags, EveryStatusCombinationSurvivesTheRoundTrip) {
    for (unsigned bits = 0; bits < 64; ++bits) {
        const uint32_t eflags = status_combination(bits);
        EXPECT_EQ(LazyFlags::from_eflags(eflags | flags::Fixed1 | flags::IF).status(), eflags);
    }
}

TEST(LazyFlags, AdcSbbResultsKeepTheirEagerFlags) {
    for (unsigned a = 0; a < 256; a += 3)
        for (unsigned b = 0; b < 256; b += 5)
            for (uint32_t carry : {0u, 1u}) {
                const AluResult r =
                    alu_add<uint8_t>(static_cast<uint8_t>(a), static_cast<uint8_t>(b), carry);
                EXPECT_EQ(LazyFlags::from_status<uint8_t>(static_cast<uint8_t>(r.value), r.flags)
                              .status(),
                          r.flags);
            }
}

} // namespace transit86::emu
