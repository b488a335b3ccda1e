// format_intel / disassemble: Intel syntax, lower-case, branch targets from the IP.
#include "decoder_test_support.hpp"

#include <cstring>

namespace transit86::decoder::test {
namespace {

TEST(Format, MemoryOperandWithSegmentOverride) {
    EXPECT_EQ(text_of(kReal16, {0x26, 0x8A, 0x07}), "mov al, es:[bx]");
}

TEST(Format, OperandSizePrefixedImmediate) {
    EXPECT_EQ(text_of(kReal16, {0x66, 0xB8, 0x78, 0x56, 0x34, 0x12}), "mov eax, 0x12345678");
}

TEST(Format, FarJumpPointer) {
    EXPECT_EQ(text_of(kReal16, {0x66, 0xEA, 0x41, 0x7C, 0x00, 0x00, 0x08, 0x00}),
              "jmp far 0x0008:0x00007c41");
    EXPECT_EQ(text_of(kReal16, {0xEA, 0x41, 0x7C, 0x08, 0x00}), "jmp far 0x0008:0x7c41");
}

// 74 05 at IP 0x100: target = 0x100 + 2 + 5
TEST(Format, RelativeBranchTargetIsResolvedFromIp) {
    EXPECT_EQ(text_of(kReal16, {0x74, 0x05}, 0x100), "jz 0x107");
    EXPECT_EQ(text_of(kProt32, {0xE8, 0x10, 0x00, 0x00, 0x00}, 0x1000), "call 0x1015");
}

// EB 10 at IP 0xFFFE with a 16-bit operand size: IP wraps to 0x0010 (SDM Vol. 2A JMP).
TEST(Format, SixteenBitBranchTargetWraps) {
    EXPECT_EQ(text_of(kReal16, {0xEB, 0x10}, 0xFFFE), "jmp 0x10");
}

TEST(Format, StringInstructionWithRep) {
    EXPECT_EQ(text_of(kReal16, {0xF3, 0xA4}), "rep movsb");
}

TEST(Format, UndecodableBytesGiveBad) {
    const uint8_t bytes[] = {0xF0, 0x88, 0x07}; // lock mov
    char buffer[32];
    EXPECT_EQ(format_intel(bytes, sizeof(bytes), kReal16, 0, buffer, sizeof(buffer)), 0u);
    EXPECT_STREQ(buffer, "(bad)");
    EXPECT_EQ(text_of(kReal16, {0xB8}), "(bad)"); // truncated
}

TEST(Format, ReturnsLengthAndHonoursSmallBuffers) {
    const uint8_t bytes[] = {0x90};
    char buffer[32];
    EXPECT_EQ(format_intel(bytes, sizeof(bytes), kReal16, 0, buffer, sizeof(buffer)), 3u);
    EXPECT_STREQ(buffer, "nop");
    char tiny[4];
    EXPECT_EQ(format_intel(bytes, sizeof(bytes), kReal16, 0, tiny, sizeof(tiny)), 3u);
    const uint8_t mov[] = {0xB8, 0x34, 0x12};
    EXPECT_EQ(format_intel(mov, sizeof(mov), kReal16, 0, tiny, sizeof(tiny)), 0u);
    EXPECT_STREQ(tiny, "(ba");
}

// Text is produced for valid instructions transit86 cannot execute, too.
TEST(Format, UnsupportedInstructionsStillFormat) {
    EXPECT_EQ(text_of(kProt32, {0x0F, 0x58, 0xC1}), "addps xmm0, xmm1");
}

} // namespace
} // namespace transit86::decoder::test
