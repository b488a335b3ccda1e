// Condition codes: Jcc (all sixteen conditions, short and near forms), SETcc, CMOVcc.
// Conditions: SDM Vol. 1 Appendix B, Table B-1 (tttn encoding); Vol. 2A Jcc, CMOVcc;
// Vol. 2B SETcc.
#include "machine.hpp"

namespace transit86::test {

namespace {

constexpr uint32_t CF = flags::CF, PF = flags::PF, ZF = flags::ZF, SF = flags::SF, OF = flags::OF;

// Runs `j<cc> short $+0x12` (opcode 70+cc) in real mode with the given status flags and
// reports whether it was taken.
bool taken(uint8_t cc, uint32_t status) {
    Machine m;
    m.load_code({static_cast<uint8_t>(0x70 + cc), 0x10});
    m.state().eflags = flags::Fixed1 | status;
    m.run(1);
    EXPECT_TRUE(m.eip() == kCode + 0x12 || m.eip() == kCode + 2) << m.eip();
    return m.eip() == kCode + 0x12;
}

} // namespace

TEST(Jcc, JoTakenWhenOverflow) {
    EXPECT_TRUE(taken(0x0, OF));
    EXPECT_FALSE(taken(0x0, CF | ZF | SF | PF));
}

TEST(Jcc, JnoTakenWhenNoOverflow) {
    EXPECT_TRUE(taken(0x1, CF | ZF | SF | PF));
    EXPECT_FALSE(taken(0x1, OF));
}

TEST(Jcc, JbTakenWhenCarry) {
    EXPECT_TRUE(taken(0x2, CF));
    EXPECT_FALSE(taken(0x2, ZF | SF | OF | PF));
}

TEST(Jcc, JaeTakenWhenNoCarry) {
    EXPECT_TRUE(taken(0x3, ZF | SF | OF | PF));
    EXPECT_FALSE(taken(0x3, CF));
}

TEST(Jcc, JeTakenWhenZero) {
    EXPECT_TRUE(taken(0x4, ZF));
    EXPECT_FALSE(taken(0x4, CF | SF | OF | PF));
}

TEST(Jcc, JneTakenWhenNotZero) {
    EXPECT_TRUE(taken(0x5, CF | SF | OF | PF));
    EXPECT_FALSE(taken(0x5, ZF));
}

TEST(Jcc, JbeTakenWhenCarryOrZero) {
    EXPECT_TRUE(taken(0x6, CF));
    EXPECT_TRUE(taken(0x6, ZF));
    EXPECT_FALSE(taken(0x6, SF | OF | PF));
}

TEST(Jcc, JaTakenWhenNeitherCarryNorZero) {
    EXPECT_TRUE(taken(0x7, SF | OF | PF));
    EXPECT_FALSE(taken(0x7, CF));
    EXPECT_FALSE(taken(0x7, ZF));
}

TEST(Jcc, JsTakenWhenSign) {
    EXPECT_TRUE(taken(0x8, SF));
    EXPECT_FALSE(taken(0x8, CF | ZF | OF | PF));
}

TEST(Jcc, JnsTakenWhenNoSign) {
    EXPECT_TRUE(taken(0x9, CF | ZF | OF | PF));
    EXPECT_FALSE(taken(0x9, SF));
}

TEST(Jcc, JpTakenWhenParity) {
    EXPECT_TRUE(taken(0xA, PF));
    EXPECT_FALSE(taken(0xA, CF | ZF | SF | OF));
}

TEST(Jcc, JnpTakenWhenNoParity) {
    EXPECT_TRUE(taken(0xB, CF | ZF | SF | OF));
    EXPECT_FALSE(taken(0xB, PF));
}

TEST(Jcc, JlTakenWhenSignDiffersFromOverflow) {
    EXPECT_TRUE(taken(0xC, SF));
    EXPECT_TRUE(taken(0xC, OF));
    EXPECT_FALSE(taken(0xC, SF | OF));
    EXPECT_FALSE(taken(0xC, ZF));
}

TEST(Jcc, JgeTakenWhenSignEqualsOverflow) {
    EXPECT_TRUE(taken(0xD, 0));
    EXPECT_TRUE(taken(0xD, SF | OF));
    EXPECT_FALSE(taken(0xD, SF));
    EXPECT_FALSE(taken(0xD, OF));
}

TEST(Jcc, JleTakenWhenZeroOrSignDiffersFromOverflow) {
    EXPECT_TRUE(taken(0xE, ZF));
    EXPECT_TRUE(taken(0xE, SF));
    EXPECT_TRUE(taken(0xE, OF));
    EXPECT_TRUE(taken(0xE, ZF | SF | OF));
    EXPECT_FALSE(taken(0xE, 0));
    EXPECT_FALSE(taken(0xE, SF | OF));
}

TEST(Jcc, JgTakenWhenNotZeroAndSignEqualsOverflow) {
    EXPECT_TRUE(taken(0xF, 0));
    EXPECT_TRUE(taken(0xF, SF | OF));
    EXPECT_FALSE(taken(0xF, ZF));
    EXPECT_FALSE(taken(0xF, SF));
    EXPECT_FALSE(taken(0xF, ZF | SF | OF));
}

TEST(Jcc, NearRel16) {
    Machine m;
    m.load_code({0x0F, 0x84, 0x00, 0x01}); // jz near $+0x104
    m.state().eflags |= ZF;
    m.run(1);
    EXPECT_EQ(m.eip(), 0x1104u);
}

TEST(Jcc, NearRel32) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x85, 0x00, 0x01, 0x00, 0x00}); // jnz near $+0x106
    m.run(1);
    EXPECT_EQ(m.eip(), 0x1106u);
}

TEST(Jcc, ShortBackwardWrapsIpBelowZero) {
    // SDM Jcc: with a 16-bit operand size the upper EIP bits are cleared: 0x0002 - 0x10 wraps.
    Machine m;
    m.state().eip = 0;
    m.load(0, {0x74, 0xEE}); // jz $-0x10 at IP 0 -> 0x0002 - 0x12 = 0xFFF0
    m.state().eflags |= ZF;
    m.run(1);
    EXPECT_EQ(m.eip(), 0xFFF0u);
}

// ---- SETcc (SDM Vol. 2B SETcc)

TEST(Setcc, Reg8GetsOneOrZero) {
    Machine m;
    m.load_code({0x0F, 0x94, 0xC0, 0x0F, 0x94, 0xC0}); // setz al ; setz al
    m.gpr(Gpr::EAX) = 0xAAAAAA00;
    m.state().eflags |= ZF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xAAAAAA01u);
    m.state().eflags &= ~ZF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xAAAAAA00u);
}

TEST(Setcc, Mem8SignedLess) {
    Machine m;
    m.load_code({0x0F, 0x9C, 0x06, 0x00, 0x20}); // setl [0x2000]
    m.write16(0x2000, 0xFFFF);
    m.state().eflags |= SF;
    m.run(1);
    EXPECT_EQ(m.read16(0x2000), 0xFF01); // one byte written
}

// ---- CMOVcc (SDM Vol. 2A CMOVcc)

TEST(Cmovcc, MovesWhenConditionHolds) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x45, 0xC3}); // cmovne eax, ebx
    m.gpr(Gpr::EAX) = 1;
    m.gpr(Gpr::EBX) = 2;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 2u);
}

TEST(Cmovcc, KeepsDestinationWhenConditionFails) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x45, 0xC3}); // cmovne eax, ebx
    m.gpr(Gpr::EAX) = 1;
    m.gpr(Gpr::EBX) = 2;
    m.state().eflags |= ZF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 1u);
}

TEST(Cmovcc, SourceIsReadAndFaultsEvenWhenConditionFails) {
    // SDM CMOVcc: "the source operand is read [...] even if the condition is false"; a memory
    // source beyond the DS limit raises #GP(0).
    Machine m(Mode::Protected32);
    m.seg(Seg::DS) = segment_cache(kData16, 0, 0xFFFF, 0x0093);
    m.load_code({0x0F, 0x44, 0x05, 0xFE, 0xFF, 0x00, 0x00}); // cmovz eax, [0xFFFE]
    const Exit e = m.run(1);
    EXPECT_TRUE(is_exception(e, vec::kGP, 0));
}

} // namespace transit86::test
