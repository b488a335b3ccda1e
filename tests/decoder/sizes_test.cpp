// Default operand/address sizes per fetch mode and the 66/67 prefixes that flip them
// (SDM Vol. 1 3.6, Vol. 2A 2.1.1 and Table 3-3 "Effective Operand- and Address-Size Attributes").
#include "decoder_test_support.hpp"

namespace transit86::decoder::test {
namespace {

// B8+rw iw: mov ax, 0x1234
TEST(Sizes, Real16DefaultsTo16BitOperands) {
    const Insn insn = decode_ok(kReal16, {0xB8, 0x34, 0x12});
    EXPECT_EQ(insn.op, Op::Mov);
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.operand_size, 2);
    EXPECT_EQ(insn.address_size, 2);
    EXPECT_EQ(insn.prefixes, 0);
    ASSERT_EQ(insn.operand_count, 2);
    EXPECT_EQ(insn.operands[0].kind, OperandKind::Reg);
    EXPECT_EQ(insn.operands[0].reg, gpr(Gpr::EAX));
    EXPECT_EQ(insn.operands[0].size, 2);
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Imm);
    EXPECT_EQ(insn.operands[1].value, 0x1234u);
    EXPECT_EQ(insn.operands[1].size, 2);
}

// 66 B8+rd id: mov eax, 0x12345678 in 16-bit code
TEST(Sizes, Real16OperandSizePrefixSelects32BitOperands) {
    const Insn insn = decode_ok(kReal16, {0x66, 0xB8, 0x78, 0x56, 0x34, 0x12});
    EXPECT_EQ(insn.op, Op::Mov);
    EXPECT_EQ(insn.length, 6);
    EXPECT_EQ(insn.operand_size, 4);
    EXPECT_EQ(insn.address_size, 2);
    EXPECT_EQ(insn.prefixes, prefix::OperandSize);
    EXPECT_EQ(insn.operands[0].size, 4);
    EXPECT_EQ(insn.operands[1].value, 0x12345678u);
    EXPECT_EQ(insn.operands[1].size, 4);
}

// 67 8B /r with SIB 24: mov ax, [esp] (32-bit addressing from 16-bit code)
TEST(Sizes, Real16AddressSizePrefixSelects32BitAddressing) {
    const Insn insn = decode_ok(kReal16, {0x67, 0x8B, 0x04, 0x24});
    EXPECT_EQ(insn.length, 4);
    EXPECT_EQ(insn.operand_size, 2);
    EXPECT_EQ(insn.address_size, 4);
    EXPECT_EQ(insn.prefixes, prefix::AddressSize);
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Mem);
    EXPECT_EQ(insn.operands[1].base, gpr(Gpr::ESP));
    EXPECT_EQ(insn.operands[1].index, kNoReg);
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::SS));
}

TEST(Sizes, Protected16DefaultsTo16BitAndFlipsWith66) {
    EXPECT_EQ(decode_ok(kProt16, {0xB8, 0x34, 0x12}).operand_size, 2);
    const Insn insn = decode_ok(kProt16, {0x66, 0xB8, 0x78, 0x56, 0x34, 0x12});
    EXPECT_EQ(insn.length, 6);
    EXPECT_EQ(insn.operand_size, 4);
    EXPECT_EQ(insn.operands[1].value, 0x12345678u);
}

// B8+rd id: mov eax, 0x12345678
TEST(Sizes, Protected32DefaultsTo32Bit) {
    const Insn insn = decode_ok(kProt32, {0xB8, 0x78, 0x56, 0x34, 0x12});
    EXPECT_EQ(insn.length, 5);
    EXPECT_EQ(insn.operand_size, 4);
    EXPECT_EQ(insn.address_size, 4);
    EXPECT_EQ(insn.operands[1].value, 0x12345678u);
}

// 66 B8+rw iw: mov ax, 0x1234 in 32-bit code
TEST(Sizes, Protected32OperandSizePrefixSelects16Bit) {
    const Insn insn = decode_ok(kProt32, {0x66, 0xB8, 0x34, 0x12});
    EXPECT_EQ(insn.length, 4);
    EXPECT_EQ(insn.operand_size, 2);
    EXPECT_EQ(insn.operands[0].size, 2);
    EXPECT_EQ(insn.operands[1].value, 0x1234u);
}

// 67 8B /r, ModRM 07: mov eax, [bx] (16-bit addressing from 32-bit code)
TEST(Sizes, Protected32AddressSizePrefixSelects16BitAddressing) {
    const Insn insn = decode_ok(kProt32, {0x67, 0x8B, 0x07});
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.operand_size, 4);
    EXPECT_EQ(insn.address_size, 2);
    EXPECT_EQ(insn.operands[1].base, gpr(Gpr::EBX));
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::DS));
}

// "Big real": real mode with a 32-bit CS cache uses 32-bit defaults; ModRM 07 is [edi].
TEST(Sizes, BigRealDecodesWith32BitDefaults) {
    const Insn mov_imm = decode_ok(kBigReal, {0xB8, 0x78, 0x56, 0x34, 0x12});
    EXPECT_EQ(mov_imm.length, 5);
    EXPECT_EQ(mov_imm.operand_size, 4);
    const Insn mov_mem = decode_ok(kBigReal, {0x8B, 0x07});
    EXPECT_EQ(mov_mem.address_size, 4);
    EXPECT_EQ(mov_mem.operands[1].base, gpr(Gpr::EDI));
    EXPECT_EQ(decode_ok(kBigReal, {0x66, 0xB8, 0x34, 0x12}).operand_size, 2);
}

TEST(Sizes, Virtual8086DecodesLikeReal16) {
    EXPECT_EQ(decode_ok(kV86, {0xB8, 0x34, 0x12}).operand_size, 2);
    const Insn insn = decode_ok(kV86, {0x66, 0xB8, 0x78, 0x56, 0x34, 0x12});
    EXPECT_EQ(insn.length, 6);
    EXPECT_EQ(insn.operand_size, 4);
}

// 66 EA cd cw: jmp far ptr16:32 from 16-bit code
TEST(Sizes, Real16FarJumpWithOperandSizePrefixHas32BitOffset) {
    const Insn insn = decode_ok(kReal16, {0x66, 0xEA, 0x41, 0x7C, 0x00, 0x00, 0x08, 0x00});
    EXPECT_EQ(insn.op, Op::JmpFar);
    EXPECT_EQ(insn.length, 8);
    EXPECT_EQ(insn.operand_size, 4);
    ASSERT_EQ(insn.operand_count, 1);
    EXPECT_EQ(insn.operands[0].kind, OperandKind::FarPtr);
    EXPECT_EQ(insn.operands[0].value, 0x7C41u);
    EXPECT_EQ(insn.operands[0].selector, 0x0008);
    EXPECT_EQ(insn.operands[0].size, 6);
}

// EA cw cw: jmp far ptr16:16
TEST(Sizes, Real16FarJumpIsPtr16_16) {
    const Insn insn = decode_ok(kReal16, {0xEA, 0x41, 0x7C, 0x08, 0x00});
    EXPECT_EQ(insn.op, Op::JmpFar);
    EXPECT_EQ(insn.length, 5);
    EXPECT_EQ(insn.operand_size, 2);
    EXPECT_EQ(insn.operands[0].value, 0x7C41u);
    EXPECT_EQ(insn.operands[0].selector, 0x0008);
    EXPECT_EQ(insn.operands[0].size, 4);
}

// 9A cd cw: call far ptr16:32 in 32-bit code; 66 EA cw cw: jmp far ptr16:16
TEST(Sizes, Protected32FarPointerWidthFollowsOperandSize) {
    const Insn call = decode_ok(kProt32, {0x9A, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00});
    EXPECT_EQ(call.op, Op::CallFar);
    EXPECT_EQ(call.length, 7);
    EXPECT_EQ(call.operands[0].value, 0x1000u);
    EXPECT_EQ(call.operands[0].size, 6);
    const Insn jmp = decode_ok(kProt32, {0x66, 0xEA, 0x00, 0x10, 0x08, 0x00});
    EXPECT_EQ(jmp.length, 6);
    EXPECT_EQ(jmp.operand_size, 2);
    EXPECT_EQ(jmp.operands[0].size, 4);
}

// 6A ib: push imm8, sign-extended to the operand size (SDM Vol. 2B PUSH)
TEST(Sizes, SignedImmediateIsExtendedToOperandSize) {
    const Insn push16 = decode_ok(kReal16, {0x6A, 0xFF});
    EXPECT_EQ(push16.operand_size, 2);
    EXPECT_EQ(push16.operands[0].value, 0xFFFFu);
    EXPECT_EQ(push16.operands[0].size, 2);
    const Insn push32 = decode_ok(kProt32, {0x6A, 0x80});
    EXPECT_EQ(push32.operands[0].value, 0xFFFFFF80u);
    EXPECT_EQ(push32.operands[0].size, 4);
    const Insn push32_66 = decode_ok(kProt32, {0x66, 0x6A, 0x80});
    EXPECT_EQ(push32_66.operand_size, 2);
    EXPECT_EQ(push32_66.operands[0].value, 0xFF80u);
    // 83 /0 ib: add ax, -1
    const Insn add = decode_ok(kReal16, {0x83, 0xC0, 0xFF});
    EXPECT_EQ(add.operands[1].value, 0xFFFFu);
}

// CD ib: the vector is an unsigned imm8 and stays 8 bits wide.
TEST(Sizes, UnsignedImmediateKeepsEncodedWidth) {
    const Insn insn = decode_ok(kProt32, {0xCD, 0x80});
    EXPECT_EQ(insn.op, Op::Int);
    EXPECT_EQ(insn.operands[0].value, 0x80u);
    EXPECT_EQ(insn.operands[0].size, 1);
}

// 0F B6 /r: movzx ax, al -- operand_size is the destination width
TEST(Sizes, MovzxOperandSizeIsDestinationWidth) {
    const Insn insn = decode_ok(kReal16, {0x0F, 0xB6, 0xC0});
    EXPECT_EQ(insn.op, Op::Movzx);
    EXPECT_EQ(insn.operand_size, 2);
    EXPECT_EQ(insn.operands[0].size, 2);
    EXPECT_EQ(insn.operands[1].size, 1);
    const Insn movsx = decode_ok(kProt32, {0x0F, 0xBF, 0xC0}); // movsx eax, ax
    EXPECT_EQ(movsx.op, Op::Movsx);
    EXPECT_EQ(movsx.operand_size, 4);
    EXPECT_EQ(movsx.operands[1].size, 2);
}

// 86 /r: xchg al, ah -- byte registers use the ModRM order AL CL DL BL AH CH DH BH
TEST(Sizes, ByteRegistersUseModRmNumbering) {
    const Insn insn = decode_ok(kReal16, {0x86, 0xE0});
    EXPECT_EQ(insn.operand_size, 1);
    EXPECT_EQ(insn.operands[0].reg, 0); // AL (rm = 000)
    EXPECT_EQ(insn.operands[1].reg, 4); // AH (reg = 100)
    EXPECT_EQ(insn.operands[1].size, 1);
}

} // namespace
} // namespace transit86::decoder::test
