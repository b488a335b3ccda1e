// Legacy prefixes: REP/REPE/REPNE and LOCK (SDM Vol. 2A 2.1.1; Vol. 2B LOCK, REP).
#include "decoder_test_support.hpp"

namespace transit86::decoder::test {
namespace {

// F3 A4: rep movsb
TEST(Prefixes, RepOnMovs) {
    const Insn insn = decode_ok(kReal16, {0xF3, 0xA4});
    EXPECT_EQ(insn.op, Op::Movs);
    EXPECT_EQ(insn.length, 2);
    EXPECT_EQ(insn.prefixes, prefix::Rep);
}

// F3 A6: repe cmpsb
TEST(Prefixes, RepeOnCmpsIsRep) {
    const Insn insn = decode_ok(kReal16, {0xF3, 0xA6});
    EXPECT_EQ(insn.op, Op::Cmps);
    EXPECT_EQ(insn.prefixes, prefix::Rep);
}

// F2 AE: repne scasb
TEST(Prefixes, RepneOnScas) {
    const Insn insn = decode_ok(kReal16, {0xF2, 0xAE});
    EXPECT_EQ(insn.op, Op::Scas);
    EXPECT_EQ(insn.prefixes, prefix::Repne);
}

// 66 67 F3 A5 in 16-bit code: rep movsd with 32-bit addressing (ECX/ESI/EDI)
TEST(Prefixes, RepWithOperandAndAddressSizePrefixes) {
    const Insn insn = decode_ok(kReal16, {0x66, 0x67, 0xF3, 0xA5});
    EXPECT_EQ(insn.op, Op::Movs);
    EXPECT_EQ(insn.length, 4);
    EXPECT_EQ(insn.operand_size, 4);
    EXPECT_EQ(insn.address_size, 4);
    EXPECT_EQ(insn.prefixes, prefix::Rep | prefix::OperandSize | prefix::AddressSize);
}

// F0 00 /r, ModRM 07: lock add [bx], al
TEST(Prefixes, LockOnMemoryDestinationArithmeticIsValid) {
    const Insn insn = decode_ok(kReal16, {0xF0, 0x00, 0x07});
    EXPECT_EQ(insn.op, Op::Add);
    EXPECT_EQ(insn.length, 3);
    EXPECT_EQ(insn.prefixes, prefix::Lock);
    EXPECT_EQ(insn.operands[0].kind, OperandKind::Mem);
    EXPECT_EQ(insn.operands[0].base, gpr(Gpr::EBX));
    EXPECT_EQ(insn.operands[1].reg, 0); // AL
}

// F0 0F B1 /r: lock cmpxchg [bx], ax
TEST(Prefixes, LockOnCmpxchgIsValid) {
    const Insn insn = decode_ok(kReal16, {0xF0, 0x0F, 0xB1, 0x07});
    EXPECT_EQ(insn.op, Op::Cmpxchg);
    EXPECT_EQ(insn.prefixes, prefix::Lock);
}

// F0 88 /r: lock mov -- MOV is not on the LOCK list: #UD
TEST(Prefixes, LockOnMovIsInvalid) {
    EXPECT_EQ(status_of(kReal16, {0xF0, 0x88, 0x07}), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kProt32, {0xF0, 0x88, 0x07}), DecodeStatus::Invalid);
}

// F0 01 C0: lock add ax, ax -- LOCK with a register destination: #UD
TEST(Prefixes, LockWithRegisterDestinationIsInvalid) {
    EXPECT_EQ(status_of(kReal16, {0xF0, 0x01, 0xC0}), DecodeStatus::Invalid);
}

// 3E FF /4, ModRM 66 00: jmp ds:[bp+0]. The DS override applies (transit86 decodes without
// CET, where 3E would be NOTRACK).
TEST(Prefixes, DsPrefixOnIndirectJumpIsASegmentOverride) {
    const Insn insn = decode_ok(kReal16, {0x3E, 0xFF, 0x66, 0x00});
    EXPECT_EQ(insn.op, Op::Jmp);
    EXPECT_EQ(insn.operands[0].kind, OperandKind::Mem);
    EXPECT_EQ(insn.operands[0].segment, seg(Seg::DS));
}

// 66 90 in 32-bit code still decodes as NOP and records the prefix.
TEST(Prefixes, OperandSizePrefixIsRecorded) {
    const Insn insn = decode_ok(kProt32, {0x66, 0x90});
    EXPECT_EQ(insn.op, Op::Nop);
    EXPECT_EQ(insn.prefixes, prefix::OperandSize);
    EXPECT_EQ(insn.operand_size, 2);
}

} // namespace
} // namespace transit86::decoder::test
