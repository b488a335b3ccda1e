// undefined_flags / modified_flags against the "Flags Affected" sections of SDM Vol. 2.
#include "decoder_test_support.hpp"

namespace transit86::decoder::test {
namespace {

constexpr uint16_t kStatus = flags::Status; // CF PF AF ZF SF OF

// 37 aaa: "The OF, SF, ZF, and PF flags are undefined."
TEST(Flags, AaaLeavesOfSfZfPfUndefined) {
    const Insn insn = decode_ok(kReal16, {0x37});
    EXPECT_EQ(insn.op, Op::Aaa);
    EXPECT_EQ(insn.undefined_flags, flags::OF | flags::SF | flags::ZF | flags::PF);
    EXPECT_EQ(insn.modified_flags, kStatus);
}

// F6 /4 mul bl: OF/CF from the upper half; "The SF, ZF, AF, and PF flags are undefined."
TEST(Flags, MulLeavesSfZfAfPfUndefined) {
    const Insn insn = decode_ok(kReal16, {0xF6, 0xE3});
    EXPECT_EQ(insn.op, Op::Mul);
    EXPECT_EQ(insn.undefined_flags, flags::SF | flags::ZF | flags::AF | flags::PF);
    EXPECT_EQ(insn.modified_flags, kStatus);
}

// F6 /6 div bl: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
TEST(Flags, DivLeavesAllStatusFlagsUndefined) {
    EXPECT_EQ(decode_ok(kReal16, {0xF6, 0xF3}).undefined_flags, kStatus);
}

// 00 /r add: every status flag defined.
TEST(Flags, AddDefinesAllStatusFlags) {
    const Insn insn = decode_ok(kReal16, {0x00, 0xC0});
    EXPECT_EQ(insn.undefined_flags, 0);
    EXPECT_EQ(insn.modified_flags, kStatus);
}

// 20 /r and: "The OF and CF flags are cleared ... The state of the AF flag is undefined."
TEST(Flags, AndLeavesAfUndefinedAndCountsClearedFlagsAsModified) {
    const Insn insn = decode_ok(kReal16, {0x20, 0xC0});
    EXPECT_EQ(insn.undefined_flags, flags::AF);
    EXPECT_EQ(insn.modified_flags, kStatus);
}

// 88 /r mov: no flags.
TEST(Flags, MovAffectsNoFlags) {
    const Insn insn = decode_ok(kReal16, {0x88, 0xC0});
    EXPECT_EQ(insn.undefined_flags, 0);
    EXPECT_EQ(insn.modified_flags, 0);
}

// D1 /4 shl ax, 1: the count is 1, so OF is defined; AF is undefined for any non-zero count.
TEST(Flags, ShlByOneDefinesOverflow) {
    const Insn insn = decode_ok(kReal16, {0xD1, 0xE0});
    EXPECT_EQ(insn.op, Op::Shl);
    ASSERT_EQ(insn.operand_count, 2);
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Imm); // the implicit 1 is lowered
    EXPECT_EQ(insn.operands[1].value, 1u);
    EXPECT_EQ(insn.undefined_flags, flags::AF);
    EXPECT_EQ(insn.modified_flags, kStatus);
}

// C1 /4 ib shl ax, 5: "The OF flag is affected only for 1-bit shifts ... otherwise undefined"
TEST(Flags, ShlByImmediateLeavesOverflowUndefined) {
    EXPECT_EQ(decode_ok(kReal16, {0xC1, 0xE0, 0x05}).undefined_flags, flags::OF | flags::AF);
}

// D3 /4 shl ax, cl: the count is only known at run time; the worst case is reported.
TEST(Flags, ShlByClReportsWorstCase) {
    const Insn insn = decode_ok(kReal16, {0xD3, 0xE0});
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Reg);
    EXPECT_EQ(insn.operands[1].reg, gpr(Gpr::ECX));
    EXPECT_EQ(insn.operands[1].size, 1);
    EXPECT_EQ(insn.undefined_flags, flags::OF | flags::AF);
}

// C1 /4 ib with a masked count of 0: "If the count is 0, the flags are not affected."
TEST(Flags, ShiftByZeroAffectsNoFlags) {
    for (const uint8_t count : {uint8_t{0x00}, uint8_t{0x20}}) {
        const Insn insn = decode_ok(kProt32, {0xC1, 0xE0, count});
        EXPECT_EQ(insn.undefined_flags, 0);
        EXPECT_EQ(insn.modified_flags, 0);
    }
}

// C1 /4 ib shl ax, 16: "CF ... is undefined for SHL and SHR instructions where the count is
// greater than or equal to the size (in bits) of the destination operand."
TEST(Flags, ShlByOperandWidthLeavesCarryUndefined) {
    EXPECT_EQ(decode_ok(kReal16, {0xC1, 0xE0, 0x10}).undefined_flags,
              flags::CF | flags::OF | flags::AF);
    EXPECT_EQ(decode_ok(kReal16, {0xC0, 0xE8, 0x08}).undefined_flags, // shr al, 8
              flags::CF | flags::OF | flags::AF);
}

// D1 /7 sar ax, 1: "the OF flag is cleared for all 1-bit shifts"
TEST(Flags, SarByOneDefinesOverflow) {
    EXPECT_EQ(decode_ok(kReal16, {0xD1, 0xF8}).undefined_flags, flags::AF);
}

// D1 /0 rol ax, 1 (OF defined) vs C1 /0 ib rol ax, 3 (OF undefined); rotates write CF and OF only
TEST(Flags, RotateOverflowIsDefinedForOneBitOnly) {
    const Insn by_one = decode_ok(kReal16, {0xD1, 0xC0});
    EXPECT_EQ(by_one.undefined_flags, 0);
    EXPECT_EQ(by_one.modified_flags, flags::CF | flags::OF);
    EXPECT_EQ(decode_ok(kReal16, {0xC1, 0xC0, 0x03}).undefined_flags, flags::OF);
    EXPECT_EQ(decode_ok(kReal16, {0xD1, 0xD0}).undefined_flags, 0); // rcl ax, 1
}

// 0F A4 /r ib shld ax, ax, 17: "If the count is greater than the operand size, the flags are
// undefined."
TEST(Flags, ShldCountAboveOperandWidthLeavesAllUndefined) {
    EXPECT_EQ(decode_ok(kReal16, {0x0F, 0xA4, 0xC0, 0x11}).undefined_flags, kStatus);
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0xA4, 0xC0, 0x11}).undefined_flags, flags::OF | flags::AF);
}

// 0F BC bsf: ZF defined; "The CF, OF, SF, AF, and PF flags are undefined."
TEST(Flags, BsfLeavesAllButZeroUndefined) {
    EXPECT_EQ(decode_ok(kReal16, {0x0F, 0xBC, 0xC1}).undefined_flags,
              flags::CF | flags::OF | flags::SF | flags::AF | flags::PF);
}

// 27 daa: "The OF flag is undefined."
TEST(Flags, DaaLeavesOverflowUndefined) {
    EXPECT_EQ(decode_ok(kReal16, {0x27}).undefined_flags, flags::OF);
}

// FA cli / FC cld: system and control flags are reported as modified.
TEST(Flags, ClearFlagInstructionsModifyTheirFlag) {
    EXPECT_TRUE(decode_ok(kReal16, {0xFA}).modified_flags & flags::IF);
    EXPECT_TRUE(decode_ok(kReal16, {0xFC}).modified_flags & flags::DF);
    EXPECT_EQ(decode_ok(kReal16, {0xFC}).undefined_flags, 0);
}

} // namespace
} // namespace transit86::decoder::test
