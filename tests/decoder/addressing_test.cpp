// Memory operands: ModRM/SIB forms, default segments and overrides (SDM Vol. 2A 2.1.5,
// Tables 2-1 and 2-2; Vol. 1 3.7.4 "Specifying a Segment Selector").
#include "decoder_test_support.hpp"

namespace transit86::decoder::test {
namespace {

// 26 8A /r, ModRM 07: mov al, es:[bx]
TEST(Addressing, SegmentOverridePrefixReplacesDefaultSegment) {
    const Insn insn = decode_ok(kReal16, {0x26, 0x8A, 0x07});
    EXPECT_EQ(insn.op, Op::Mov);
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.operand_size, 1);
    EXPECT_EQ(insn.prefixes, prefix::SegOverride);
    EXPECT_EQ(insn.segment, seg(Seg::ES));
    ASSERT_EQ(insn.operand_count, 2);
    EXPECT_EQ(insn.operands[0].kind, OperandKind::Reg);
    EXPECT_EQ(insn.operands[0].reg, 0); // AL
    const Operand& mem = insn.operands[1];
    EXPECT_EQ(mem.kind, OperandKind::Mem);
    EXPECT_EQ(mem.size, 1);
    EXPECT_EQ(mem.base, gpr(Gpr::EBX));
    EXPECT_EQ(mem.index, kNoReg);
    EXPECT_EQ(mem.scale, 0);
    EXPECT_EQ(mem.segment, seg(Seg::ES));
    EXPECT_EQ(mem.value, 0u);
}

// 8A /r, ModRM 02: mov al, [bp+si] -- BP-based 16-bit forms default to SS
TEST(Addressing, BpSiDefaultsToStackSegment) {
    const Insn insn = decode_ok(kReal16, {0x8A, 0x02});
    const Operand& mem = insn.operands[1];
    EXPECT_EQ(mem.base, gpr(Gpr::EBP));
    EXPECT_EQ(mem.index, gpr(Gpr::ESI));
    EXPECT_EQ(mem.scale, 1);
    EXPECT_EQ(mem.segment, seg(Seg::SS));
    EXPECT_EQ(insn.segment, seg(Seg::DS)); // no override: string/XLAT source stays DS
}

// 8A /r, ModRM 46 02: mov al, [bp+2]
TEST(Addressing, BpDisp8DefaultsToStackSegment) {
    const Insn insn = decode_ok(kReal16, {0x8A, 0x46, 0x02});
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.operands[1].base, gpr(Gpr::EBP));
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::SS));
    EXPECT_EQ(insn.operands[1].value, 2u);
}

// 3E 8B /r, ModRM 46 00: mov ax, ds:[bp+0]
TEST(Addressing, DsOverrideOnBpBaseUsesDataSegment) {
    const Insn insn = decode_ok(kReal16, {0x3E, 0x8B, 0x46, 0x00});
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::DS));
    EXPECT_EQ(insn.prefixes, prefix::SegOverride);
}

// 8A /r, ModRM 06 34 12: mod 00 r/m 110 is disp16, not [bp]
TEST(Addressing, Mod00Rm110IsDirectDisp16) {
    const Insn insn = decode_ok(kReal16, {0x8A, 0x06, 0x34, 0x12});
    EXPECT_EQ(insn.length, 4);
    EXPECT_EQ(insn.operands[1].base, kNoReg);
    EXPECT_EQ(insn.operands[1].index, kNoReg);
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::DS));
    EXPECT_EQ(insn.operands[1].value, 0x1234u);
}

// 8B /r, ModRM 47 FF: mov ax, [bx-1] -- disp8 sign-extended, wrapped to 16 bits
TEST(Addressing, Disp8IsSignExtendedAndWrappedToAddressSize) {
    const Insn insn = decode_ok(kReal16, {0x8B, 0x47, 0xFF});
    EXPECT_EQ(insn.operands[1].base, gpr(Gpr::EBX));
    EXPECT_EQ(insn.operands[1].value, 0xFFFFu);
}

// 8B /r, ModRM 45 FC: mov eax, [ebp-4]
TEST(Addressing, EbpBaseDefaultsToStackSegment) {
    const Insn insn = decode_ok(kProt32, {0x8B, 0x45, 0xFC});
    EXPECT_EQ(insn.operands[1].base, gpr(Gpr::EBP));
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::SS));
    EXPECT_EQ(insn.operands[1].value, 0xFFFFFFFCu);
}

// 8B /r, ModRM 04 SIB 24: mov eax, [esp]
TEST(Addressing, EspBaseDefaultsToStackSegment) {
    const Insn insn = decode_ok(kProt32, {0x8B, 0x04, 0x24});
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.operands[1].base, gpr(Gpr::ESP));
    EXPECT_EQ(insn.operands[1].index, kNoReg);
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::SS));
}

// 8B /r, ModRM 44 SIB 8D 10: mov eax, [ebp+ecx*4+0x10]
TEST(Addressing, SibScaledIndexWithDisp8) {
    const Insn insn = decode_ok(kProt32, {0x8B, 0x44, 0x8D, 0x10});
    EXPECT_EQ(insn.length, 4);
    const Operand& mem = insn.operands[1];
    EXPECT_EQ(mem.base, gpr(Gpr::EBP));
    EXPECT_EQ(mem.index, gpr(Gpr::ECX));
    EXPECT_EQ(mem.scale, 4);
    EXPECT_EQ(mem.value, 0x10u);
    EXPECT_EQ(mem.segment, seg(Seg::SS));
}

// 8B /r, ModRM 05 disp32: mov eax, [0x80000000] (mod 00 r/m 101 is disp32)
TEST(Addressing, Mod00Rm101IsDirectDisp32) {
    const Insn insn = decode_ok(kProt32, {0x8B, 0x05, 0x00, 0x00, 0x00, 0x80});
    EXPECT_EQ(insn.length, 6);
    EXPECT_EQ(insn.operands[1].base, kNoReg);
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::DS));
    EXPECT_EQ(insn.operands[1].value, 0x80000000u);
}

// A1 moffs: mov ax, [0x1234]; with 67 the offset is 32 bits.
TEST(Addressing, MoffsOffsetWidthFollowsAddressSize) {
    const Insn insn = decode_ok(kReal16, {0xA1, 0x34, 0x12});
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.operands[0].reg, gpr(Gpr::EAX));
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Mem);
    EXPECT_EQ(insn.operands[1].base, kNoReg);
    EXPECT_EQ(insn.operands[1].value, 0x1234u);
    const Insn wide = decode_ok(kReal16, {0x67, 0xA1, 0x78, 0x56, 0x34, 0x12});
    EXPECT_EQ(wide.length, 6);
    EXPECT_EQ(wide.address_size, 4);
    EXPECT_EQ(wide.operands[1].value, 0x12345678u);
}

// 8D /r, ModRM 00: lea ax, [bx+si]
TEST(Addressing, LeaLowersItsAddressOperand) {
    const Insn insn = decode_ok(kReal16, {0x8D, 0x00});
    EXPECT_EQ(insn.op, Op::Lea);
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Mem);
    EXPECT_EQ(insn.operands[1].base, gpr(Gpr::EBX));
    EXPECT_EQ(insn.operands[1].index, gpr(Gpr::ESI));
}

// 64 8B /r, ModRM 00 (32-bit): mov eax, fs:[eax]
TEST(Addressing, FsOverrideIn32BitCode) {
    const Insn insn = decode_ok(kProt32, {0x64, 0x8B, 0x00});
    EXPECT_EQ(insn.operands[1].segment, seg(Seg::FS));
    EXPECT_EQ(insn.segment, seg(Seg::FS));
}

} // namespace
} // namespace transit86::decoder::test
