// Decode failures: the 15-byte limit (SDM Vol. 2A 2.3.11), truncated input, #UD encodings and
// valid instructions transit86 does not implement.
#include "decoder_test_support.hpp"

#include <random>
#include <vector>

namespace transit86::decoder::test {
namespace {

// 15 operand-size prefixes then 90: the 16th byte crosses the limit.
TEST(Status, SixteenByteInstructionIsTooLong) {
    std::vector<uint8_t> bytes(15, 0x66);
    bytes.push_back(0x90);
    Insn insn;
    EXPECT_EQ(decode(bytes.data(), bytes.size(), kReal16, insn), DecodeStatus::TooLong);
    EXPECT_EQ(decode(bytes.data(), bytes.size(), kProt32, insn), DecodeStatus::TooLong);
}

// 14 prefixes then 90: exactly 15 bytes is still legal.
TEST(Status, FifteenByteInstructionIsAccepted) {
    std::vector<uint8_t> bytes(14, 0x66);
    bytes.push_back(0x90);
    Insn insn;
    ASSERT_EQ(decode(bytes.data(), bytes.size(), kReal16, insn), DecodeStatus::Ok);
    EXPECT_EQ(insn.op, Op::Nop);
    EXPECT_EQ(insn.length, 15);
}

TEST(Status, InputEndingMidInstructionIsTruncated) {
    EXPECT_EQ(status_of(kReal16, {0xB8, 0x34}), DecodeStatus::Truncated);     // mov ax, iw
    EXPECT_EQ(status_of(kReal16, {0x0F}), DecodeStatus::Truncated);           // escape only
    EXPECT_EQ(status_of(kReal16, {0x66, 0xEA, 0x41, 0x7C, 0x00, 0x00, 0x08}), // 7 of 8 bytes
              DecodeStatus::Truncated);
    EXPECT_EQ(status_of(kProt32, {0x8B, 0x44, 0x8D}), DecodeStatus::Truncated); // no disp8
    Insn insn;
    EXPECT_EQ(decode(nullptr, 0, kReal16, insn), DecodeStatus::Truncated);
}

// Extra bytes after the instruction are not consumed.
TEST(Status, TrailingBytesAreIgnored) {
    const Insn insn = decode_ok(kReal16, {0x90, 0xB8, 0x34, 0x12});
    EXPECT_EQ(insn.op, Op::Nop);
    EXPECT_EQ(insn.length, 1);
}

// 0F 58 /r addps xmm0, xmm1: valid SSE, no Op -- Unsupported with the length filled in.
TEST(Status, ValidSseInstructionIsUnsupported) {
    const std::vector<uint8_t> bytes = {0x0F, 0x58, 0xC1};
    Insn insn;
    ASSERT_EQ(decode(bytes.data(), bytes.size(), kProt32, insn), DecodeStatus::Unsupported);
    EXPECT_EQ(insn.op, Op::Invalid);
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.operand_count, 0);
}

// D8 C1 fadd st0, st1: every ESC instruction lowers to Op::X87 (emu/interp/exec_x87.cpp).
TEST(Status, X87ArithmeticLowersToX87) {
    const Insn insn = decode_ok(kReal16, {0xD8, 0xC1});
    EXPECT_EQ(insn.op, Op::X87);
    EXPECT_EQ(insn.x87, X87Op::Fadd);
    EXPECT_EQ(insn.length, 2);
}

// 0F 04 (unassigned in opcode map Table A-3) and FF /7 (reserved in group 5): #UD
TEST(Status, UndefinedOpcodesAreInvalid) {
    EXPECT_EQ(status_of(kReal16, {0x0F, 0x04}), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kProt32, {0xFF, 0xFF}), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kReal16, {0xFE, 0xD0}), DecodeStatus::Invalid); // FE /2
}

// 0F 0B ud2, 0F B9 /r ud1, 0F FF /r ud0: defined encodings whose operation is #UD
TEST(Status, UdEncodingsDecodeAsUd2) {
    EXPECT_EQ(decode_ok(kReal16, {0x0F, 0x0B}).op, Op::Ud2);
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0xB9, 0xC0}).op, Op::Ud2);
    const Insn ud0 = decode_ok(kProt32, {0x0F, 0xFF, 0xC0});
    EXPECT_EQ(ud0.op, Op::Ud2);
    EXPECT_EQ(ud0.length, 3);
}

// Whatever the bytes, decode() stays within the record's limits and never reads past them.
TEST(Status, ArbitraryBytesStayWithinRecordLimits) {
    std::mt19937 rng(86);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<size_t> size(1, 16);
    for (int i = 0; i < 20000; ++i) {
        std::vector<uint8_t> bytes(size(rng));
        for (uint8_t& b : bytes)
            b = static_cast<uint8_t>(byte(rng));
        for (const FetchMode mode : {kReal16, kProt16, kProt32}) {
            Insn insn;
            const DecodeStatus status = decode(bytes.data(), bytes.size(), mode, insn);
            if (status == DecodeStatus::Ok || status == DecodeStatus::Unsupported) {
                ASSERT_GE(insn.length, 1);
                ASSERT_LE(insn.length, bytes.size());
                ASSERT_LE(insn.length, 15);
            }
            if (status == DecodeStatus::Ok) {
                ASSERT_NE(insn.op, Op::Invalid);
                ASSERT_LE(insn.operand_count, 3);
                ASSERT_TRUE(insn.address_size == 2 || insn.address_size == 4);
            }
        }
    }
}

TEST(Status, NamesForDiagnostics) {
    EXPECT_STREQ(status_name(DecodeStatus::TooLong), "too-long");
    EXPECT_STREQ(op_name(Op::MovToSreg), "mov_to_sreg");
    EXPECT_STREQ(op_name(Op::Add), "add");
}

} // namespace
} // namespace transit86::decoder::test
