// System instructions: descriptor-table loads, control/debug/segment register moves and the
// instructions that real-address mode does not recognise (SDM Vol. 2 and Vol. 3A 2.8).
#include "decoder_test_support.hpp"

namespace transit86::decoder::test {
namespace {

// 0F 01 /2, ModRM 16 disp16: lgdt [0x1000] -- operand size 16 (loads a 24-bit base)
TEST(System, Lgdt16BitOperandSizeReadsSixBytePseudoDescriptor) {
    const Insn insn = decode_ok(kReal16, {0x0F, 0x01, 0x16, 0x00, 0x10});
    EXPECT_EQ(insn.op, Op::Lgdt);
    EXPECT_EQ(insn.length, 5);
    EXPECT_EQ(insn.operand_size, 2);
    ASSERT_EQ(insn.operand_count, 1);
    EXPECT_EQ(insn.operands[0].kind, OperandKind::Mem);
    EXPECT_EQ(insn.operands[0].size, 6);
    EXPECT_EQ(insn.operands[0].value, 0x1000u);
    EXPECT_EQ(insn.operands[0].segment, seg(Seg::DS));
}

// 66 0F 01 /2 in 16-bit code: lgdt with a 32-bit operand size (full 32-bit base)
TEST(System, Lgdt32BitOperandSizeFrom16BitCode) {
    const Insn insn = decode_ok(kReal16, {0x66, 0x0F, 0x01, 0x16, 0x00, 0x10});
    EXPECT_EQ(insn.op, Op::Lgdt);
    EXPECT_EQ(insn.length, 6);
    EXPECT_EQ(insn.operand_size, 4);
    EXPECT_EQ(insn.operands[0].size, 6);
}

// 0F 01 /2, ModRM 15 disp32 in 32-bit code: lgdt [0x1000]
TEST(System, Lgdt32BitCode) {
    const Insn insn = decode_ok(kProt32, {0x0F, 0x01, 0x15, 0x00, 0x10, 0x00, 0x00});
    EXPECT_EQ(insn.op, Op::Lgdt);
    EXPECT_EQ(insn.length, 7);
    EXPECT_EQ(insn.operand_size, 4);
    EXPECT_EQ(insn.operands[0].size, 6);
    EXPECT_EQ(insn.operands[0].value, 0x1000u);
}

// 0F 01 /3 lidt, /0 sgdt, /1 sidt
TEST(System, DescriptorTableGroupMembers) {
    const Insn lidt = decode_ok(kReal16, {0x0F, 0x01, 0x1E, 0x00, 0x10});
    EXPECT_EQ(lidt.op, Op::Lidt);
    EXPECT_EQ(lidt.operands[0].size, 6);
    const Insn sgdt = decode_ok(kProt32, {0x0F, 0x01, 0x00});
    EXPECT_EQ(sgdt.op, Op::Sgdt);
    EXPECT_EQ(sgdt.operands[0].size, 6);
    EXPECT_EQ(sgdt.operands[0].base, gpr(Gpr::EAX));
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0x01, 0x08}).op, Op::Sidt);
}

// 0F 22 /r, ModRM C0: mov cr0, eax -- always 32-bit outside 64-bit mode
TEST(System, MovToCr0) {
    for (const FetchMode mode : {kReal16, kProt32}) {
        const Insn insn = decode_ok(mode, {0x0F, 0x22, 0xC0});
        EXPECT_EQ(insn.op, Op::MovToCr);
        EXPECT_EQ(insn.length, 3);
        EXPECT_EQ(insn.operand_size, 4);
        ASSERT_EQ(insn.operand_count, 2);
        EXPECT_EQ(insn.operands[0].kind, OperandKind::Creg);
        EXPECT_EQ(insn.operands[0].reg, 0);
        EXPECT_EQ(insn.operands[1].kind, OperandKind::Reg);
        EXPECT_EQ(insn.operands[1].reg, gpr(Gpr::EAX));
        EXPECT_EQ(insn.operands[1].size, 4);
    }
}

// 0F 20 /r, ModRM D8: mov eax, cr3
TEST(System, MovFromCr3) {
    const Insn insn = decode_ok(kProt32, {0x0F, 0x20, 0xD8});
    EXPECT_EQ(insn.op, Op::MovFromCr);
    EXPECT_EQ(insn.operands[0].kind, OperandKind::Reg);
    EXPECT_EQ(insn.operands[0].reg, gpr(Gpr::EAX));
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Creg);
    EXPECT_EQ(insn.operands[1].reg, 3);
}

// 0F 23 /r, ModRM F8: mov dr7, eax; 0F 21 /r, ModRM F1: mov ecx, dr6
TEST(System, MovToAndFromDebugRegisters) {
    const Insn to = decode_ok(kProt32, {0x0F, 0x23, 0xF8});
    EXPECT_EQ(to.op, Op::MovToDr);
    EXPECT_EQ(to.operands[0].kind, OperandKind::Dreg);
    EXPECT_EQ(to.operands[0].reg, 7);
    const Insn from = decode_ok(kProt32, {0x0F, 0x21, 0xF1});
    EXPECT_EQ(from.op, Op::MovFromDr);
    EXPECT_EQ(from.operands[0].reg, gpr(Gpr::ECX));
    EXPECT_EQ(from.operands[1].kind, OperandKind::Dreg);
    EXPECT_EQ(from.operands[1].reg, 6);
}

// 0F 22 /r with reg = 001 (CR1) or 101 (CR5): "#UD If an attempt is made to access CR1, CR5,
// CR6, or CR7." DR4/DR5 decode (they alias DR6/DR7 unless CR4.DE = 1, a run-time check).
TEST(System, ReservedControlRegistersAreInvalid) {
    EXPECT_EQ(status_of(kProt32, {0x0F, 0x22, 0xC8}), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kProt32, {0x0F, 0x20, 0xE8}), DecodeStatus::Invalid);
    const Insn dr4 = decode_ok(kProt32, {0x0F, 0x21, 0xE0}); // mov eax, dr4
    EXPECT_EQ(dr4.op, Op::MovFromDr);
    EXPECT_EQ(dr4.operands[1].reg, 4);
}

// 0F 22 /r ignores the mod field: ModRM 00 is still mov cr0, eax.
TEST(System, ControlRegisterMoveIgnoresMod) {
    const Insn insn = decode_ok(kProt32, {0x0F, 0x22, 0x00});
    EXPECT_EQ(insn.op, Op::MovToCr);
    EXPECT_EQ(insn.operands[1].kind, OperandKind::Reg);
    EXPECT_EQ(insn.operands[1].reg, gpr(Gpr::EAX));
}

// 8E /r, ModRM D8: mov ds, ax -- a 16-bit move in every mode
TEST(System, MovToSregIsSixteenBit) {
    for (const FetchMode mode : {kReal16, kProt32}) {
        const Insn insn = decode_ok(mode, {0x8E, 0xD8});
        EXPECT_EQ(insn.op, Op::MovToSreg);
        EXPECT_EQ(insn.length, 2);
        EXPECT_EQ(insn.operand_size, 2);
        EXPECT_EQ(insn.operands[0].kind, OperandKind::Sreg);
        EXPECT_EQ(insn.operands[0].reg, seg(Seg::DS));
        EXPECT_EQ(insn.operands[1].kind, OperandKind::Reg);
        EXPECT_EQ(insn.operands[1].reg, gpr(Gpr::EAX));
        EXPECT_EQ(insn.operands[1].size, 2);
    }
    // 8E /r, ModRM 1E disp16: mov ds, [0x1000]
    const Insn mem = decode_ok(kReal16, {0x8E, 0x1E, 0x00, 0x10});
    EXPECT_EQ(mem.operands[1].kind, OperandKind::Mem);
    EXPECT_EQ(mem.operands[1].size, 2);
}

// 8C /r: mov r32, sreg zero-extends (operand_size 4); a memory destination is 16 bits.
TEST(System, MovFromSregWidthIsTheGprOrMemorySide) {
    const Insn reg32 = decode_ok(kProt32, {0x8C, 0xD8}); // mov eax, ds
    EXPECT_EQ(reg32.op, Op::MovFromSreg);
    EXPECT_EQ(reg32.operand_size, 4);
    EXPECT_EQ(reg32.operands[1].reg, seg(Seg::DS));
    const Insn mem = decode_ok(kProt32, {0x8C, 0x18}); // mov [eax], ds
    EXPECT_EQ(mem.operand_size, 2);
    EXPECT_EQ(mem.operands[0].size, 2);
    EXPECT_EQ(decode_ok(kReal16, {0x8C, 0xD8}).operand_size, 2); // mov ax, ds
}

// 8E /r with reg = 001 (CS) or 110/111 (no such sreg): #UD
TEST(System, MovToCsAndUndefinedSregsAreInvalid) {
    EXPECT_EQ(status_of(kReal16, {0x8E, 0xC8}), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kReal16, {0x8E, 0xF0}), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kProt32, {0x8C, 0xF8}), DecodeStatus::Invalid);
}

// 06 push es / 0E push cs: the stack slot follows the operand size, the sreg is 16 bits.
TEST(System, PushSregOperandSizeIsTheStackWidth) {
    const Insn push16 = decode_ok(kReal16, {0x06});
    EXPECT_EQ(push16.op, Op::Push);
    EXPECT_EQ(push16.operand_size, 2);
    ASSERT_EQ(push16.operand_count, 1);
    EXPECT_EQ(push16.operands[0].kind, OperandKind::Sreg);
    EXPECT_EQ(push16.operands[0].reg, seg(Seg::ES));
    const Insn push32 = decode_ok(kProt32, {0x0E});
    EXPECT_EQ(push32.operand_size, 4);
    EXPECT_EQ(push32.operands[0].reg, seg(Seg::CS));
    EXPECT_EQ(push32.operands[0].size, 2);
    const Insn pop_gs = decode_ok(kProt32, {0x66, 0x0F, 0xA9}); // pop gs, 16-bit slot
    EXPECT_EQ(pop_gs.op, Op::Pop);
    EXPECT_EQ(pop_gs.operand_size, 2);
    EXPECT_EQ(pop_gs.operands[0].reg, seg(Seg::GS));
}

// LLDT/SLDT/LTR/STR/LAR/LSL/VERR/VERW/ARPL: "not recognized in real-address mode" (#UD),
// also in virtual-8086 mode and in big-real code.
TEST(System, ProtectedModeOnlyInstructionsAreInvalidOutsideProtectedMode) {
    const std::initializer_list<uint8_t> lldt_ax = {0x0F, 0x00, 0xD0};
    EXPECT_EQ(status_of(kReal16, lldt_ax), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kV86, lldt_ax), DecodeStatus::Invalid);
    EXPECT_EQ(status_of(kBigReal, lldt_ax), DecodeStatus::Invalid);
    EXPECT_EQ(decode_ok(kProt16, lldt_ax).op, Op::Lldt);
    EXPECT_EQ(status_of(kBigReal, {0x0F, 0x02, 0xC1}), DecodeStatus::Invalid); // lar
    EXPECT_EQ(status_of(kReal16, {0x63, 0xC8}), DecodeStatus::Invalid);        // arpl
    EXPECT_EQ(status_of(kBigReal, {0x63, 0xC8}), DecodeStatus::Invalid);
}

// 63 /r, ModRM C8: arpl ax, cx -- always 16-bit, whatever CS.D says
TEST(System, ArplIsSixteenBit) {
    const Insn insn = decode_ok(kProt32, {0x63, 0xC8});
    EXPECT_EQ(insn.op, Op::Arpl);
    EXPECT_EQ(insn.operand_size, 2);
    EXPECT_EQ(insn.operands[0].reg, gpr(Gpr::EAX));
    EXPECT_EQ(insn.operands[1].reg, gpr(Gpr::ECX));
}

// 0F 00 /0: sldt -- a register destination takes the operand size, memory is 16 bits
TEST(System, SldtWidthIsTheDestinationWidth) {
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0x00, 0xC0}).operand_size, 4); // sldt eax
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0x00, 0x00}).operand_size, 2); // sldt [eax]
    const Insn ltr = decode_ok(kProt32, {0x0F, 0x00, 0xD8});           // ltr ax
    EXPECT_EQ(ltr.op, Op::Ltr);
    EXPECT_EQ(ltr.operand_size, 2);
}

// 0F C7 /1: cmpxchg8b m64
TEST(System, Cmpxchg8bHasEightByteMemoryOperand) {
    const Insn insn = decode_ok(kProt32, {0x0F, 0xC7, 0x0E});
    EXPECT_EQ(insn.op, Op::Cmpxchg8b);
    ASSERT_EQ(insn.operand_count, 1);
    EXPECT_EQ(insn.operands[0].size, 8);
    EXPECT_EQ(insn.operands[0].base, gpr(Gpr::ESI));
}

// C5 /r lds r16, m16:16 (4 bytes); 66 C4 /r les r32, m16:32 (6 bytes)
TEST(System, FarPointerLoadsHaveMemoryOperandOfFourOrSixBytes) {
    const Insn lds = decode_ok(kReal16, {0xC5, 0x1E, 0x00, 0x10});
    EXPECT_EQ(lds.op, Op::Lds);
    EXPECT_EQ(lds.operands[0].reg, gpr(Gpr::EBX));
    EXPECT_EQ(lds.operands[1].size, 4);
    const Insn les = decode_ok(kReal16, {0x66, 0xC4, 0x1E, 0x00, 0x10});
    EXPECT_EQ(les.op, Op::Les);
    EXPECT_EQ(les.operand_size, 4);
    EXPECT_EQ(les.operands[1].size, 6);
    EXPECT_EQ(decode_ok(kReal16, {0x0F, 0xB2, 0x07}).op, Op::Lss);
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0xB4, 0x07}).operands[1].size, 6); // lfs eax, [edi]
}

} // namespace
} // namespace transit86::decoder::test
