// MUL/IMUL/DIV/IDIV (incl. #DE delivery) and the shifts and rotates. SDM Vol. 2A DIV, IDIV,
// IMUL; Vol. 2B MUL, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR. Flags the SDM leaves undefined (SF,
// ZF, AF, PF after MUL/IMUL; AF after a shift; OF after a multi-bit shift or rotate) are
// masked out of the comparisons.
#include "machine.hpp"

namespace transit86::test {

namespace {

constexpr uint32_t CF = flags::CF, PF = flags::PF, AF = flags::AF, ZF = flags::ZF, SF = flags::SF,
                   OF = flags::OF;
constexpr uint32_t kCarryOverflow = CF | OF;
constexpr uint32_t kShiftMask = flags::Status & ~AF;       // 1-bit shifts
constexpr uint32_t kMultiBitShiftMask = CF | ZF | SF | PF; // OF and AF undefined

struct Outcome {
    Exit exit;
    uint32_t eax, ebx, ecx, edx, eflags;
};

struct Regs {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0, status = 0;
};

// Runs one instruction in 32-bit protected mode with the given registers.
Outcome run_op(std::initializer_list<uint8_t> code, const Regs& in) {
    Machine m(Mode::Protected32);
    m.load(kCode, code);
    m.gpr(Gpr::EAX) = in.eax;
    m.gpr(Gpr::EBX) = in.ebx;
    m.gpr(Gpr::ECX) = in.ecx;
    m.gpr(Gpr::EDX) = in.edx;
    m.state().eflags = flags::Fixed1 | in.status;
    const Exit e = m.run(1);
    return {
        e, m.gpr(Gpr::EAX), m.gpr(Gpr::EBX), m.gpr(Gpr::ECX), m.gpr(Gpr::EDX), m.state().eflags};
}

} // namespace

// ---- MUL: CF = OF = (upper half != 0)

TEST(Mul, ByteUpperHalfSetsCarryAndOverflow) {
    const Outcome r = run_op({0xF6, 0xE3}, {.eax = 0x80, .ebx = 0x02}); // mul bl
    EXPECT_EQ(r.eax, 0x0100u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow));
}

TEST(Mul, ByteFitClearsCarryAndOverflow) {
    const Outcome r = run_op({0xF6, 0xE3}, {.eax = 0x10, .ebx = 0x0F, .status = CF | OF});
    EXPECT_EQ(r.eax, 0x00F0u); // mul bl: AH = 0
    EXPECT_TRUE(status_flags_are(r.eflags, 0, kCarryOverflow));
}

TEST(Mul, WordProductInDxAx) {
    const Outcome r = run_op({0x66, 0xF7, 0xE3}, // mul bx
                             {.eax = 0xAAAA1234, .ebx = 0x0100, .edx = 0xBBBB0000});
    EXPECT_EQ(r.eax, 0xAAAA3400u);
    EXPECT_EQ(r.edx, 0xBBBB0012u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow));
}

TEST(Mul, DwordProductInEdxEax) {
    const Outcome r = run_op({0xF7, 0xE3}, {.eax = 0xFFFFFFFF, .ebx = 0xFFFFFFFF}); // mul ebx
    EXPECT_EQ(r.eax, 0x00000001u);
    EXPECT_EQ(r.edx, 0xFFFFFFFEu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow));
}

// ---- IMUL: CF = OF = (the product does not fit the destination as a signed value)

TEST(Imul, OneOperandByteNegativeProductFits) {
    const Outcome r = run_op({0xF6, 0xEB}, {.eax = 0xFF, .ebx = 0x02}); // imul bl
    EXPECT_EQ(r.eax, 0xFFFEu);
    EXPECT_TRUE(status_flags_are(r.eflags, 0, kCarryOverflow));
}

TEST(Imul, OneOperandByteOverflows) {
    const Outcome r = run_op({0xF6, 0xEB}, {.eax = 0x40, .ebx = 0x02}); // imul bl
    EXPECT_EQ(r.eax, 0x0080u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow));
}

TEST(Imul, OneOperandDwordSignExtendsIntoEdx) {
    const Outcome r = run_op({0xF7, 0xEB}, {.eax = 0xFFFFFFFE, .ebx = 3}); // imul ebx
    EXPECT_EQ(r.eax, 0xFFFFFFFAu);
    EXPECT_EQ(r.edx, 0xFFFFFFFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, 0, kCarryOverflow));
}

TEST(Imul, TwoOperandTruncatesAndFlagsOverflow) {
    const Outcome r = run_op({0x0F, 0xAF, 0xC3}, // imul eax, ebx
                             {.eax = 0x10000, .ebx = 0x10000, .edx = 0x5555});
    EXPECT_EQ(r.eax, 0u);
    EXPECT_EQ(r.edx, 0x5555u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow));
}

TEST(Imul, ThreeOperandImm8SignExtended) {
    const Outcome r = run_op({0x66, 0x6B, 0xC3, 0xFD}, // imul ax, bx, -3
                             {.eax = 0xAAAA0000, .ebx = 0x1000});
    EXPECT_EQ(r.eax, 0xAAAAD000u); // -0x3000
    EXPECT_TRUE(status_flags_are(r.eflags, 0, kCarryOverflow));
}

TEST(Imul, ThreeOperandImm32Overflows) {
    const Outcome r = run_op({0x69, 0xC3, 0x00, 0x00, 0x01, 0x00}, // imul eax, ebx, 0x10000
                             {.ebx = 0x10000});
    EXPECT_EQ(r.eax, 0u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow));
}

// ---- DIV

TEST(Div, ByteQuotientInAlRemainderInAh) {
    const Outcome r = run_op({0xF6, 0xF3}, {.eax = 0x0103, .ebx = 0x10}); // div bl
    EXPECT_EQ(r.eax, 0x0310u);
}

TEST(Div, WordDividendDxAx) {
    const Outcome r = run_op({0x66, 0xF7, 0xF3}, // div bx
                             {.eax = 0x0000, .ebx = 0x0100, .edx = 0x0001});
    EXPECT_EQ(r.eax, 0x0100u);
    EXPECT_EQ(r.edx, 0x0000u);
}

TEST(Div, DwordDividendEdxEax) {
    const Outcome r = run_op({0xF7, 0xF3}, {.eax = 5, .ebx = 0x10, .edx = 1}); // div ebx
    EXPECT_EQ(r.eax, 0x10000000u);
    EXPECT_EQ(r.edx, 5u);
}

TEST(Div, QuotientTooLargeRaisesDE) {
    // SDM DIV: "#DE If the quotient is too large for the designated register."
    const Outcome r = run_op({0xF6, 0xF3}, {.eax = 0x1000, .ebx = 0x10}); // div bl
    EXPECT_TRUE(is_exception(r.exit, vec::kDE));
    EXPECT_EQ(r.eax, 0x1000u);
}

TEST(Div, ByZeroRaisesDE) {
    const Outcome r = run_op({0xF7, 0xF3}, {.eax = 1, .ebx = 0}); // div ebx
    EXPECT_TRUE(is_exception(r.exit, vec::kDE));
}

// ---- IDIV: quotient truncated toward zero, remainder has the dividend's sign

TEST(Idiv, ByteNegativeDividendInAx) {
    const Outcome r = run_op({0xF6, 0xFB}, {.eax = 0xFFF6, .ebx = 3}); // idiv bl: -10 / 3
    EXPECT_EQ(r.exit.reason, ExitReason::Budget);
    EXPECT_EQ(r.eax, 0xFFFDu); // AL = -3, AH = -1
}

TEST(Idiv, WordNegativeDividendInDxAx) {
    const Outcome r = run_op({0x66, 0xF7, 0xFB}, // idiv bx: -10 / 3
                             {.eax = 0xFFF6, .ebx = 3, .edx = 0xFFFF});
    EXPECT_EQ(r.eax, 0xFFFDu);
    EXPECT_EQ(r.edx, 0xFFFFu);
}

TEST(Idiv, DwordTruncatesTowardZero) {
    const Outcome r = run_op({0xF7, 0xFB}, // idiv ebx: -7 / 2
                             {.eax = 0xFFFFFFF9, .ebx = 2, .edx = 0xFFFFFFFF});
    EXPECT_EQ(r.eax, 0xFFFFFFFDu);
    EXPECT_EQ(r.edx, 0xFFFFFFFFu);
}

TEST(Idiv, ByteMostNegativeQuotientFits) {
    const Outcome r = run_op({0xF6, 0xFB}, {.eax = 0xFF80, .ebx = 1}); // idiv bl: -128 / 1
    EXPECT_EQ(r.exit.reason, ExitReason::Budget);
    EXPECT_EQ(r.eax, 0x0080u);
}

TEST(Idiv, BytePositiveQuotientOverflowRaisesDE) {
    // SDM IDIV: a byte quotient above 7FH raises #DE.
    const Outcome r = run_op({0xF6, 0xFB}, {.eax = 0x0080, .ebx = 1}); // idiv bl: 128 / 1
    EXPECT_TRUE(is_exception(r.exit, vec::kDE));
}

TEST(Idiv, MostNegativeByMinusOneRaisesDE) {
    const Outcome r = run_op({0xF7, 0xFB}, // idiv ebx: -2^31 / -1
                             {.eax = 0x80000000, .ebx = 0xFFFFFFFF, .edx = 0xFFFFFFFF});
    EXPECT_TRUE(is_exception(r.exit, vec::kDE));
}

// ---- #DE delivery in real mode (SDM Vol. 3A 20.1.4: push FLAGS, CS, IP; clear IF, TF,
// AC; CS:IP from the IVT. Vol. 3A 6.5: a fault returns to the faulting instruction.)

TEST(DivideError, RealModeVectorsThroughIvtEntryZero) {
    Machine m;
    m.set_ivt(vec::kDE, 0x0200, 0x0010);
    m.load_code({0xF6, 0xF3}); // div bl
    m.gpr(Gpr::EBX) = 0;
    m.state().eflags = flags::Fixed1 | flags::IF | flags::CF;
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0200);
    EXPECT_EQ(m.seg(Seg::CS).base, 0x2000u);
    EXPECT_EQ(m.eip(), 0x0010u);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 6);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x0203); // FLAGS: IF | bit 1 | CF
    EXPECT_EQ(m.read16(kStackTop - 4), 0x0000); // CS
    EXPECT_EQ(m.read16(kStackTop - 6), kCode);  // IP of the DIV itself
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::CF);
}

TEST(DivideError, ProtectedModeExitsWithVectorZero) {
    Machine m(Mode::Protected32);
    m.load_code({0xF6, 0xF3}); // div bl
    const Exit e = m.run(1);
    EXPECT_TRUE(is_exception(e, vec::kDE));
    EXPECT_EQ(m.eip(), kCode);
    EXPECT_EQ(e.instructions, 0u);
}

// ---- SHL / SHR / SAR: count masked to 5 bits; CF = last bit out; OF (1-bit only): SHL
// MSB(result) XOR CF, SHR MSB(original), SAR 0. A zero count changes no flags.

TEST(Shl, ByOneSetsCarryAndOverflow) {
    const Outcome r = run_op({0xD0, 0xE0}, {.eax = 0x81}); // shl al, 1
    EXPECT_EQ(r.eax, 0x02u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kShiftMask));
}

TEST(Shl, CountZeroChangesNothing) {
    const Outcome r = run_op({0xD3, 0xE0}, // shl eax, cl
                             {.eax = 0x12345678, .ecx = 0, .status = flags::Status});
    EXPECT_EQ(r.eax, 0x12345678u);
    EXPECT_TRUE(status_flags_are(r.eflags, flags::Status));
}

TEST(Shl, CountMaskedToFiveBits) {
    const Outcome r = run_op({0xD3, 0xE0}, {.eax = 1, .ecx = 33}); // shl eax, cl: 33 & 1F = 1
    EXPECT_EQ(r.eax, 2u);
    EXPECT_TRUE(status_flags_are(r.eflags, 0, kShiftMask));
}

TEST(Shl, WordByImmLastBitOutGoesToCarry) {
    const Outcome r = run_op({0x66, 0xC1, 0xE0, 0x04}, {.eax = 0x1234}); // shl ax, 4
    EXPECT_EQ(r.eax, 0x2340u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF, kMultiBitShiftMask)); // bit 12 of 0x1234
}

TEST(Shl, ByteCountBeyondWidthGivesZero) {
    const Outcome r = run_op({0xD2, 0xE0}, {.eax = 0xFF, .ecx = 9}); // shl al, cl
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, ZF | PF, ZF | SF | PF));
}

TEST(Shr, ByOneOverflowIsOriginalSign) {
    const Outcome r = run_op({0xD0, 0xE8}, {.eax = 0x81}); // shr al, 1
    EXPECT_EQ(r.eax, 0x40u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kShiftMask));
}

TEST(Shr, DwordBy31) {
    const Outcome r = run_op({0xC1, 0xE8, 0x1F}, {.eax = 0x80000000}); // shr eax, 31
    EXPECT_EQ(r.eax, 1u);
    EXPECT_TRUE(status_flags_are(r.eflags, 0, kMultiBitShiftMask)); // bit 30 out: CF = 0
}

TEST(Sar, ByOneKeepsSignAndClearsOverflow) {
    const Outcome r = run_op({0xD0, 0xF8}, {.eax = 0x81, .status = OF}); // sar al, 1
    EXPECT_EQ(r.eax, 0xC0u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | SF, kShiftMask));
}

TEST(Sar, ByteBySevenFillsWithSign) {
    const Outcome r = run_op({0xC0, 0xF8, 0x07}, {.eax = 0x80}); // sar al, 7
    EXPECT_EQ(r.eax, 0xFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | SF, kMultiBitShiftMask)); // bit 6 out: CF = 0
}

TEST(Sar, WordCountBeyondWidthFillsWithSign) {
    const Outcome r = run_op({0x66, 0xD3, 0xF8}, {.eax = 0x8000, .ecx = 20}); // sar ax, cl
    EXPECT_EQ(r.eax, 0xFFFFu);
}

// ---- ROL / ROR / RCL / RCR: SF, ZF, AF, PF unaffected; OF defined for 1-bit rotates

TEST(Rol, ByOneLeavesArithmeticFlags) {
    const Outcome r = run_op({0xD0, 0xC0}, {.eax = 0x81, .status = ZF | AF}); // rol al, 1
    EXPECT_EQ(r.eax, 0x03u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF | ZF | AF)); // OF = MSB 0 XOR CF 1
}

TEST(Rol, ByteByEightKeepsValueAndSetsCarryFromLsb) {
    // SDM ROL: the count is taken modulo 8 for the rotation, but a nonzero masked count
    // still sets CF from the LSB of the result.
    const Outcome r = run_op({0xC0, 0xC0, 0x08}, {.eax = 0x81}); // rol al, 8
    EXPECT_EQ(r.eax, 0x81u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF, CF));
}

TEST(Ror, WordByOne) {
    const Outcome r = run_op({0x66, 0xD1, 0xC8}, {.eax = 0x0001}); // ror ax, 1
    EXPECT_EQ(r.eax, 0x8000u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow)); // OF = bit 15 XOR 14
}

TEST(Ror, DwordByFour) {
    const Outcome r = run_op({0xC1, 0xC8, 0x04}, {.eax = 0x12345678}); // ror eax, 4
    EXPECT_EQ(r.eax, 0x81234567u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF, CF));
}

TEST(Rcl, ByteByOneThroughCarry) {
    const Outcome r = run_op({0xD0, 0xD0}, {.eax = 0x80, .status = CF}); // rcl al, 1
    EXPECT_EQ(r.eax, 0x01u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow));
}

TEST(Rcl, ByteByNineIsANineBitIdentity) {
    // SDM RCL: for bytes the count is (COUNT & 1FH) MOD 9.
    const Outcome r = run_op({0xD2, 0xD0}, {.eax = 0x5A, .ecx = 9, .status = CF}); // rcl al, cl
    EXPECT_EQ(r.eax, 0x5Au);
    EXPECT_TRUE(status_flags_are(r.eflags, CF, CF));
}

TEST(Rcr, ByteByOneOverflowFromTheOperandBefore) {
    const Outcome r = run_op({0xD0, 0xD8}, {.eax = 0x01, .status = CF}); // rcr al, 1
    EXPECT_EQ(r.eax, 0x80u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | OF, kCarryOverflow)); // OF = MSB 0 XOR CF 1
}

TEST(Rcr, WordByTwo) {
    const Outcome r = run_op({0x66, 0xC1, 0xD8, 0x02}, {.eax = 0x0003}); // rcr ax, 2
    EXPECT_EQ(r.eax, 0x8000u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF, CF));
}

} // namespace transit86::test
