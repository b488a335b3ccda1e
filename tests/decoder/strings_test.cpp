// String instructions: element width in operand_size, no lowered operands (their memory
// operands are implied: DS:[E]SI overridable, ES:[E]DI fixed), source segment in Insn::segment
// (SDM Vol. 1 7.3.9; Vol. 2B MOVS/CMPS/STOS/LODS/SCAS/INS/OUTS).
#include "decoder_test_support.hpp"

namespace transit86::decoder::test {
namespace {

TEST(Strings, ByteFormsHaveElementWidthOne) {
    const Insn movsb = decode_ok(kReal16, {0xA4});
    EXPECT_EQ(movsb.op, Op::Movs);
    EXPECT_EQ(movsb.operand_size, 1);
    EXPECT_EQ(movsb.operand_count, 0);
    EXPECT_EQ(movsb.segment, seg(Seg::DS));
    EXPECT_EQ(decode_ok(kReal16, {0xA6}).operand_size, 1); // cmpsb
    EXPECT_EQ(decode_ok(kReal16, {0xAA}).operand_size, 1); // stosb
    EXPECT_EQ(decode_ok(kReal16, {0xAC}).operand_size, 1); // lodsb
    EXPECT_EQ(decode_ok(kReal16, {0xAE}).operand_size, 1); // scasb
    EXPECT_EQ(decode_ok(kReal16, {0x6C}).operand_size, 1); // insb
    EXPECT_EQ(decode_ok(kReal16, {0x6E}).operand_size, 1); // outsb
}

TEST(Strings, WordFormsFollowOperandSize) {
    const Insn movsw = decode_ok(kReal16, {0xA5});
    EXPECT_EQ(movsw.op, Op::Movs);
    EXPECT_EQ(movsw.operand_size, 2);
    EXPECT_EQ(decode_ok(kReal16, {0x66, 0xA5}).operand_size, 4); // movsd
    EXPECT_EQ(decode_ok(kProt32, {0xA5}).operand_size, 4);       // movsd
    EXPECT_EQ(decode_ok(kProt32, {0x66, 0xA5}).operand_size, 2); // movsw
    const Insn stosd = decode_ok(kProt32, {0xAB});
    EXPECT_EQ(stosd.op, Op::Stos);
    EXPECT_EQ(stosd.operand_size, 4);
    const Insn insd = decode_ok(kProt32, {0x6D});
    EXPECT_EQ(insd.op, Op::Ins);
    EXPECT_EQ(insd.operand_size, 4);
    const Insn outsw = decode_ok(kReal16, {0x6F});
    EXPECT_EQ(outsw.op, Op::Outs);
    EXPECT_EQ(outsw.operand_size, 2);
}

// The string form of MOVSD/CMPSD is A5/A7; F2 0F 10 (SSE2 movsd) is not a string op.
TEST(Strings, DwordStringFormsAreNotConfusedWithSse2) {
    const Insn cmpsd = decode_ok(kProt32, {0xA7});
    EXPECT_EQ(cmpsd.op, Op::Cmps);
    EXPECT_EQ(cmpsd.operand_size, 4);
    EXPECT_EQ(status_of(kProt32, {0xF2, 0x0F, 0x10, 0xC1}), DecodeStatus::Unsupported);
}

TEST(Strings, AddressSizeSelectsSiDiOrEsiEdi) {
    EXPECT_EQ(decode_ok(kReal16, {0xA4}).address_size, 2);
    EXPECT_EQ(decode_ok(kReal16, {0x67, 0xA4}).address_size, 4);
    EXPECT_EQ(decode_ok(kProt32, {0xA4}).address_size, 4);
    EXPECT_EQ(decode_ok(kProt32, {0x67, 0xA4}).address_size, 2);
}

// 26 A4: movsb with ES as the source segment (the destination ES:[DI] cannot be overridden)
TEST(Strings, SegmentOverrideChangesSourceSegment) {
    const Insn insn = decode_ok(kReal16, {0x26, 0xA4});
    EXPECT_EQ(insn.segment, seg(Seg::ES));
    EXPECT_EQ(insn.prefixes, prefix::SegOverride);
    EXPECT_EQ(decode_ok(kReal16, {0x2E, 0x6E}).segment, seg(Seg::CS)); // outsb cs:[si]
    EXPECT_EQ(decode_ok(kProt32, {0x36, 0xAC}).segment, seg(Seg::SS)); // lodsb ss:[esi]
}

// D7: xlat -- AL <- seg:[BX + AL], DS unless overridden
TEST(Strings, XlatUsesInsnSegment) {
    const Insn insn = decode_ok(kReal16, {0xD7});
    EXPECT_EQ(insn.op, Op::Xlat);
    EXPECT_EQ(insn.operand_count, 0);
    EXPECT_EQ(insn.segment, seg(Seg::DS));
    EXPECT_EQ(decode_ok(kReal16, {0x26, 0xD7}).segment, seg(Seg::ES));
}

} // namespace
} // namespace transit86::decoder::test
