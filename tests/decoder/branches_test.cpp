// Control transfers: relative displacements, condition codes (SDM Vol. 1 B.1, Table B-1),
// near/far forms, RET imm16, LOOP/JCXZ and the counter register width.
#include "decoder_test_support.hpp"

namespace transit86::decoder::test {
namespace {

// Condition code = low nibble of 70+cc / 0F 80+cc / 0F 90+cc / 0F 40+cc (SDM Vol. 1 Table B-1):
// O NO B AE E NE BE A S NS P NP L GE LE G.
TEST(Branches, ShortJccConditionCodes) {
    for (uint8_t cc = 0; cc < 16; ++cc) {
        SCOPED_TRACE(cc);
        const Insn insn = decode_ok(kReal16, {static_cast<uint8_t>(0x70 + cc), 0x05});
        EXPECT_EQ(insn.op, Op::Jcc);
        EXPECT_EQ(insn.cc, cc);
        EXPECT_EQ(insn.length, 2);
    }
}

TEST(Branches, NearJccSetccCmovccConditionCodes) {
    for (uint8_t cc = 0; cc < 16; ++cc) {
        SCOPED_TRACE(cc);
        const Insn jcc = decode_ok(kProt32, {0x0F, static_cast<uint8_t>(0x80 + cc), 0, 1, 0, 0});
        EXPECT_EQ(jcc.op, Op::Jcc);
        EXPECT_EQ(jcc.cc, cc);
        const Insn setcc = decode_ok(kProt32, {0x0F, static_cast<uint8_t>(0x90 + cc), 0xC0});
        EXPECT_EQ(setcc.op, Op::Setcc);
        EXPECT_EQ(setcc.cc, cc);
        const Insn cmovcc = decode_ok(kProt32, {0x0F, static_cast<uint8_t>(0x40 + cc), 0xC1});
        EXPECT_EQ(cmovcc.op, Op::Cmovcc);
        EXPECT_EQ(cmovcc.cc, cc);
    }
}

// Spot checks against the mnemonics: 74 = JE/JZ (4), 7F = JG/JNLE (15), 0F 4C = CMOVL (12)
TEST(Branches, ConditionCodeSpotChecks) {
    EXPECT_EQ(decode_ok(kReal16, {0x74, 0x00}).cc, 4);
    EXPECT_EQ(decode_ok(kReal16, {0x7F, 0x00}).cc, 15);
    EXPECT_EQ(decode_ok(kReal16, {0x72, 0x00}).cc, 2);
    EXPECT_EQ(decode_ok(kReal16, {0x0F, 0x4C, 0xC1}).cc, 12);
    const Insn sete = decode_ok(kReal16, {0x0F, 0x94, 0xC0}); // sete al
    EXPECT_EQ(sete.cc, 4);
    EXPECT_EQ(sete.operand_size, 1);
    EXPECT_EQ(sete.operands[0].reg, 0);
}

// 74 05: jz +5; 75 FE: jnz -2 (displacement as a 32-bit two's complement value)
TEST(Branches, ShortDisplacementIsSigned) {
    const Insn forward = decode_ok(kReal16, {0x74, 0x05});
    EXPECT_EQ(forward.operand_size, 2);
    ASSERT_EQ(forward.operand_count, 1);
    EXPECT_EQ(forward.operands[0].kind, OperandKind::Rel);
    EXPECT_EQ(forward.operands[0].value, 5u);
    EXPECT_EQ(forward.operands[0].size, 1);
    const Insn backward = decode_ok(kReal16, {0x75, 0xFE});
    EXPECT_EQ(backward.operands[0].value, 0xFFFFFFFEu);
}

// 0F 84 cw in 16-bit code; 66 0F 84 cd switches to rel32 and a 32-bit EIP
TEST(Branches, NearJccDisplacementWidthFollowsOperandSize) {
    const Insn rel16 = decode_ok(kReal16, {0x0F, 0x84, 0x00, 0x01});
    EXPECT_EQ(rel16.length, 4);
    EXPECT_EQ(rel16.operand_size, 2);
    EXPECT_EQ(rel16.operands[0].value, 0x100u);
    EXPECT_EQ(rel16.operands[0].size, 2);
    const Insn rel32 = decode_ok(kReal16, {0x66, 0x0F, 0x84, 0x00, 0x01, 0x00, 0x00});
    EXPECT_EQ(rel32.length, 7);
    EXPECT_EQ(rel32.operand_size, 4);
    EXPECT_EQ(rel32.operands[0].size, 4);
}

// E8 cw: call rel16; FF /2 ModRM D0: call ax; E9 cd: jmp rel32; EB: jmp rel8
TEST(Branches, NearCallAndJumpForms) {
    const Insn call_rel = decode_ok(kReal16, {0xE8, 0x00, 0x01});
    EXPECT_EQ(call_rel.op, Op::Call);
    EXPECT_EQ(call_rel.length, 3);
    EXPECT_EQ(call_rel.operands[0].kind, OperandKind::Rel);
    EXPECT_EQ(call_rel.operands[0].value, 0x100u);
    const Insn call_reg = decode_ok(kReal16, {0xFF, 0xD0});
    EXPECT_EQ(call_reg.op, Op::Call);
    EXPECT_EQ(call_reg.operands[0].kind, OperandKind::Reg);
    EXPECT_EQ(call_reg.operands[0].reg, gpr(Gpr::EAX));
    const Insn jmp_rel = decode_ok(kProt32, {0xE9, 0xFB, 0xFF, 0xFF, 0xFF});
    EXPECT_EQ(jmp_rel.op, Op::Jmp);
    EXPECT_EQ(jmp_rel.operand_size, 4);
    EXPECT_EQ(jmp_rel.operands[0].value, 0xFFFFFFFBu);
    EXPECT_EQ(decode_ok(kReal16, {0xEB, 0xFE}).op, Op::Jmp);
}

// FF /3 call far m16:16 (m16:32 with 66); FF /5 jmp far m16:32 in 32-bit code
TEST(Branches, FarIndirectFormsReadFourOrSixBytes) {
    const Insn call16 = decode_ok(kReal16, {0xFF, 0x1E, 0x00, 0x10});
    EXPECT_EQ(call16.op, Op::CallFar);
    EXPECT_EQ(call16.operands[0].kind, OperandKind::Mem);
    EXPECT_EQ(call16.operands[0].size, 4);
    const Insn call32 = decode_ok(kReal16, {0x66, 0xFF, 0x1E, 0x00, 0x10});
    EXPECT_EQ(call32.operand_size, 4);
    EXPECT_EQ(call32.operands[0].size, 6);
    const Insn jmp = decode_ok(kProt32, {0xFF, 0x2D, 0x00, 0x10, 0x00, 0x00});
    EXPECT_EQ(jmp.op, Op::JmpFar);
    EXPECT_EQ(jmp.operands[0].size, 6);
}

// C3 ret; C2 iw ret imm16; CB retf; CA iw retf imm16
TEST(Branches, ReturnForms) {
    const Insn ret = decode_ok(kReal16, {0xC3});
    EXPECT_EQ(ret.op, Op::Ret);
    EXPECT_EQ(ret.operand_count, 0);
    const Insn ret_imm = decode_ok(kReal16, {0xC2, 0x04, 0x00});
    EXPECT_EQ(ret_imm.op, Op::Ret);
    ASSERT_EQ(ret_imm.operand_count, 1);
    EXPECT_EQ(ret_imm.operands[0].kind, OperandKind::Imm);
    EXPECT_EQ(ret_imm.operands[0].value, 4u);
    EXPECT_EQ(ret_imm.operands[0].size, 2);
    const Insn retf = decode_ok(kReal16, {0xCB});
    EXPECT_EQ(retf.op, Op::RetFar);
    EXPECT_EQ(retf.operand_size, 2);
    const Insn retf_imm = decode_ok(kProt32, {0xCA, 0x08, 0x00});
    EXPECT_EQ(retf_imm.op, Op::RetFar);
    EXPECT_EQ(retf_imm.operand_size, 4);
    EXPECT_EQ(retf_imm.operands[0].value, 8u);
}

// E2 loop / E1 loope / E0 loopne / E3 jcxz: CX or ECX by address size
TEST(Branches, LoopAndJcxzCounterFollowsAddressSize) {
    const Insn loop = decode_ok(kReal16, {0xE2, 0xFE});
    EXPECT_EQ(loop.op, Op::Loop);
    EXPECT_EQ(loop.address_size, 2);
    EXPECT_EQ(loop.operands[0].value, 0xFFFFFFFEu);
    EXPECT_EQ(decode_ok(kReal16, {0x67, 0xE2, 0xFE}).address_size, 4);
    EXPECT_EQ(decode_ok(kProt32, {0xE1, 0x00}).op, Op::Loope);
    EXPECT_EQ(decode_ok(kProt32, {0xE0, 0x00}).op, Op::Loopne);
    const Insn jcxz = decode_ok(kReal16, {0xE3, 0x02});
    EXPECT_EQ(jcxz.op, Op::Jcxz);
    EXPECT_EQ(jcxz.address_size, 2);
    const Insn jecxz = decode_ok(kReal16, {0x67, 0xE3, 0x02});
    EXPECT_EQ(jecxz.op, Op::Jcxz);
    EXPECT_EQ(jecxz.address_size, 4);
}

// CF iret / 66 CF iretd; CD ib int; CC int3; CE into
TEST(Branches, InterruptForms) {
    const Insn iret = decode_ok(kReal16, {0xCF});
    EXPECT_EQ(iret.op, Op::Iret);
    EXPECT_EQ(iret.operand_size, 2);
    EXPECT_EQ(decode_ok(kReal16, {0x66, 0xCF}).operand_size, 4);
    EXPECT_EQ(decode_ok(kProt32, {0xCF}).operand_size, 4);
    const Insn int21 = decode_ok(kReal16, {0xCD, 0x21});
    EXPECT_EQ(int21.op, Op::Int);
    EXPECT_EQ(int21.operands[0].value, 0x21u);
    // CD 03 is INT with vector 3, not INT3: the two differ in virtual-8086 mode.
    EXPECT_EQ(decode_ok(kReal16, {0xCD, 0x03}).op, Op::Int);
    EXPECT_EQ(decode_ok(kReal16, {0xCC}).op, Op::Int3);
    EXPECT_EQ(decode_ok(kReal16, {0xCE}).op, Op::Into);
}

// 50+rw push ax; C8 iw ib enter: the stack width is the operand size
TEST(Branches, StackOperationsUseOperandSize) {
    EXPECT_EQ(decode_ok(kReal16, {0x50}).operand_size, 2);
    EXPECT_EQ(decode_ok(kReal16, {0x66, 0x50}).operand_size, 4);
    const Insn enter = decode_ok(kProt32, {0xC8, 0x10, 0x00, 0x01});
    EXPECT_EQ(enter.op, Op::Enter);
    EXPECT_EQ(enter.operand_size, 4);
    ASSERT_EQ(enter.operand_count, 2);
    EXPECT_EQ(enter.operands[0].value, 0x10u);
    EXPECT_EQ(enter.operands[0].size, 2);
    EXPECT_EQ(enter.operands[1].value, 1u);
    EXPECT_EQ(enter.operands[1].size, 1);
}

} // namespace
} // namespace transit86::decoder::test
