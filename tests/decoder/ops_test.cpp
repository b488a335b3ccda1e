// Every Op has an encoding that decodes to it (encodings from the SDM Vol. 2 opcode map,
// Appendix A). Protected-mode-only instructions are decoded in 16-bit protected mode.
#include "decoder_test_support.hpp"

#include <set>
#include <vector>

namespace transit86::decoder::test {
namespace {

struct Encoding {
    Op op;
    std::vector<uint8_t> bytes;
};

const std::vector<Encoding>& encodings() {
    static const std::vector<Encoding> table = {
        {Op::Add, {0x00, 0xC0}},  // add al, al
        {Op::Or, {0x08, 0xC0}},   // or al, al
        {Op::Adc, {0x10, 0xC0}},  // adc al, al
        {Op::Sbb, {0x18, 0xC0}},  // sbb al, al
        {Op::And, {0x20, 0xC0}},  // and al, al
        {Op::Sub, {0x28, 0xC0}},  // sub al, al
        {Op::Xor, {0x30, 0xC0}},  // xor al, al
        {Op::Cmp, {0x38, 0xC0}},  // cmp al, al
        {Op::Test, {0x84, 0xC0}}, // test al, al
        {Op::Inc, {0x40}},        // inc ax
        {Op::Dec, {0x48}},        // dec ax
        {Op::Neg, {0xF6, 0xD8}},  // F6 /3
        {Op::Not, {0xF6, 0xD0}},  // F6 /2
        {Op::Mul, {0xF6, 0xE0}},  // F6 /4
        {Op::Imul, {0xF6, 0xE8}}, // F6 /5
        {Op::Div, {0xF6, 0xF0}},  // F6 /6
        {Op::Idiv, {0xF6, 0xF8}}, // F6 /7
        {Op::Daa, {0x27}},
        {Op::Das, {0x2F}},
        {Op::Aaa, {0x37}},
        {Op::Aas, {0x3F}},
        {Op::Aam, {0xD4, 0x0A}},
        {Op::Aad, {0xD5, 0x0A}},
        {Op::Rol, {0xD0, 0xC0}}, // D0 /0
        {Op::Ror, {0xD0, 0xC8}}, // D0 /1
        {Op::Rcl, {0xD0, 0xD0}}, // D0 /2
        {Op::Rcr, {0xD0, 0xD8}}, // D0 /3
        {Op::Shl, {0xD0, 0xE0}}, // D0 /4
        {Op::Shr, {0xD0, 0xE8}}, // D0 /5
        {Op::Sar, {0xD0, 0xF8}}, // D0 /7
        {Op::Shld, {0x0F, 0xA4, 0xC0, 0x01}},
        {Op::Shrd, {0x0F, 0xAC, 0xC0, 0x01}},
        {Op::Bt, {0x0F, 0xA3, 0xC0}},
        {Op::Bts, {0x0F, 0xAB, 0xC0}},
        {Op::Btr, {0x0F, 0xB3, 0xC0}},
        {Op::Btc, {0x0F, 0xBB, 0xC0}},
        {Op::Bsf, {0x0F, 0xBC, 0xC0}},
        {Op::Bsr, {0x0F, 0xBD, 0xC0}},
        {Op::Bswap, {0x66, 0x0F, 0xC8}},   // bswap eax
        {Op::Mov, {0x88, 0xC0}},           // mov al, al
        {Op::MovToSreg, {0x8E, 0xD8}},     // mov ds, ax
        {Op::MovFromSreg, {0x8C, 0xD8}},   // mov ax, ds
        {Op::MovToCr, {0x0F, 0x22, 0xC0}}, // mov cr0, eax
        {Op::MovFromCr, {0x0F, 0x20, 0xC0}},
        {Op::MovToDr, {0x0F, 0x23, 0xC0}},
        {Op::MovFromDr, {0x0F, 0x21, 0xC0}},
        {Op::Movzx, {0x0F, 0xB6, 0xC0}},
        {Op::Movsx, {0x0F, 0xBE, 0xC0}},
        {Op::Lea, {0x8D, 0x00}}, // lea ax, [bx+si]
        {Op::Xchg, {0x86, 0xC0}},
        {Op::Xlat, {0xD7}},
        {Op::Cmovcc, {0x0F, 0x40, 0xC0}},
        {Op::Setcc, {0x0F, 0x90, 0xC0}},
        {Op::Cmpxchg, {0x0F, 0xB1, 0xC0}},
        {Op::Cmpxchg8b, {0x0F, 0xC7, 0x08}}, // 0F C7 /1 m64
        {Op::Xadd, {0x0F, 0xC0, 0xC0}},
        {Op::Cbw, {0x98}},
        {Op::Cwd, {0x99}},
        {Op::Push, {0x50}},
        {Op::Pop, {0x58}},
        {Op::Pusha, {0x60}},
        {Op::Popa, {0x61}},
        {Op::Pushf, {0x9C}},
        {Op::Popf, {0x9D}},
        {Op::Lahf, {0x9F}},
        {Op::Sahf, {0x9E}},
        {Op::Salc, {0xD6}},
        {Op::Lds, {0xC5, 0x00}},
        {Op::Les, {0xC4, 0x00}},
        {Op::Lfs, {0x0F, 0xB4, 0x00}},
        {Op::Lgs, {0x0F, 0xB5, 0x00}},
        {Op::Lss, {0x0F, 0xB2, 0x00}},
        {Op::Enter, {0xC8, 0x04, 0x00, 0x00}},
        {Op::Leave, {0xC9}},
        {Op::Bound, {0x62, 0x00}},
        {Op::Arpl, {0x63, 0xC0}},
        {Op::Jmp, {0xEB, 0x00}},
        {Op::JmpFar, {0xEA, 0x00, 0x00, 0x00, 0x00}},
        {Op::Jcc, {0x70, 0x00}},
        {Op::Call, {0xE8, 0x00, 0x00}},
        {Op::CallFar, {0x9A, 0x00, 0x00, 0x00, 0x00}},
        {Op::Ret, {0xC3}},
        {Op::RetFar, {0xCB}},
        {Op::Loop, {0xE2, 0x00}},
        {Op::Loope, {0xE1, 0x00}},
        {Op::Loopne, {0xE0, 0x00}},
        {Op::Jcxz, {0xE3, 0x00}},
        {Op::Int, {0xCD, 0x10}},
        {Op::Int1, {0xF1}}, // int1 (ICEBP)
        {Op::Int3, {0xCC}},
        {Op::Into, {0xCE}},
        {Op::Iret, {0xCF}},
        {Op::Clc, {0xF8}},
        {Op::Stc, {0xF9}},
        {Op::Cmc, {0xF5}},
        {Op::Cld, {0xFC}},
        {Op::Std, {0xFD}},
        {Op::Cli, {0xFA}},
        {Op::Sti, {0xFB}},
        {Op::Movs, {0xA4}},
        {Op::Cmps, {0xA6}},
        {Op::Stos, {0xAA}},
        {Op::Lods, {0xAC}},
        {Op::Scas, {0xAE}},
        {Op::Ins, {0x6C}},
        {Op::Outs, {0x6E}},
        {Op::In, {0xE4, 0x60}},
        {Op::Out, {0xE6, 0x60}},
        {Op::Lgdt, {0x0F, 0x01, 0x10}}, // 0F 01 /2
        {Op::Lidt, {0x0F, 0x01, 0x18}}, // 0F 01 /3
        {Op::Sgdt, {0x0F, 0x01, 0x00}}, // 0F 01 /0
        {Op::Sidt, {0x0F, 0x01, 0x08}}, // 0F 01 /1
        {Op::Lldt, {0x0F, 0x00, 0xD0}}, // 0F 00 /2
        {Op::Sldt, {0x0F, 0x00, 0xC0}}, // 0F 00 /0
        {Op::Ltr, {0x0F, 0x00, 0xD8}},  // 0F 00 /3
        {Op::Str, {0x0F, 0x00, 0xC8}},  // 0F 00 /1
        {Op::Lmsw, {0x0F, 0x01, 0xF0}}, // 0F 01 /6
        {Op::Smsw, {0x0F, 0x01, 0xE0}}, // 0F 01 /4
        {Op::Clts, {0x0F, 0x06}},
        {Op::Lar, {0x0F, 0x02, 0xC0}},
        {Op::Lsl, {0x0F, 0x03, 0xC0}},
        {Op::Verr, {0x0F, 0x00, 0xE0}}, // 0F 00 /4
        {Op::Verw, {0x0F, 0x00, 0xE8}}, // 0F 00 /5
        {Op::Invd, {0x0F, 0x08}},
        {Op::Wbinvd, {0x0F, 0x09}},
        {Op::Invlpg, {0x0F, 0x01, 0x38}}, // 0F 01 /7 m
        {Op::Hlt, {0xF4}},
        {Op::Nop, {0x90}},
        {Op::Ud2, {0x0F, 0x0B}},
        {Op::Cpuid, {0x0F, 0xA2}},
        {Op::Rdtsc, {0x0F, 0x31}},
        {Op::Rdmsr, {0x0F, 0x32}},
        {Op::Wrmsr, {0x0F, 0x30}},
        {Op::Lfence, {0x0F, 0xAE, 0xE8}}, // 0F AE /5, register form
        {Op::Mfence, {0x0F, 0xAE, 0xF0}}, // 0F AE /6
        {Op::Sfence, {0x0F, 0xAE, 0xF8}}, // 0F AE /7
        {Op::Wait, {0x9B}},
        {Op::X87, {0xDB, 0xE3}}, // fninit
    };
    return table;
}

TEST(Ops, EveryEncodingDecodesToItsOp) {
    for (const Encoding& encoding : encodings()) {
        SCOPED_TRACE(op_name(encoding.op));
        Insn insn;
        ASSERT_EQ(decode(encoding.bytes.data(), encoding.bytes.size(), kProt16, insn),
                  DecodeStatus::Ok);
        EXPECT_EQ(insn.op, encoding.op);
        EXPECT_EQ(insn.length, encoding.bytes.size());
    }
}

TEST(Ops, EveryOpIsCovered) {
    std::set<Op> covered;
    for (const Encoding& encoding : encodings())
        covered.insert(encoding.op);
    for (int i = static_cast<int>(Op::Invalid) + 1; i < static_cast<int>(Op::Count); ++i) {
        EXPECT_TRUE(covered.count(static_cast<Op>(i)) == 1) << op_name(static_cast<Op>(i));
    }
}

// Multi-byte NOP 0F 1F /0 and PAUSE (F3 90) are NOPs; so are the other hint NOPs 0F 19..1F.
TEST(Ops, NopFamily) {
    EXPECT_EQ(decode_ok(kReal16, {0x0F, 0x1F, 0x00}).op, Op::Nop);
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0x1F, 0x44, 0x00, 0x00}).op, Op::Nop);
    const Insn pause = decode_ok(kProt32, {0xF3, 0x90});
    EXPECT_EQ(pause.op, Op::Nop);
    EXPECT_EQ(pause.length, 2);
    EXPECT_EQ(decode_ok(kProt32, {0xF3, 0x0F, 0x1E, 0xFB}).op, Op::Nop); // endbr32 without CET
}

// Without BMI1 and LZCNT in CPUID, F3 0F BC / F3 0F BD are BSF / BSR, the F3 ignored (SDM Vol.
// 2B TZCNT, LZCNT); without CLDEMOTE, 0F 1C /0 is a hint NOP.
TEST(Ops, TzcntLzcntAndCldemoteAreTheirOlderForms) {
    const Insn tzcnt = decode_ok(kProt32, {0xF3, 0x0F, 0xBC, 0xC9}); // rep bsf ecx, ecx
    EXPECT_EQ(tzcnt.op, Op::Bsf);
    EXPECT_EQ(tzcnt.length, 4);
    EXPECT_EQ(decode_ok(kReal16, {0xF3, 0x0F, 0xBD, 0xC1}).op, Op::Bsr); // rep bsr ax, cx
    EXPECT_EQ(decode_ok(kProt32, {0x0F, 0x1C, 0x00}).op, Op::Nop);       // cldemote [eax]
}

// 98/99 with 66: CWDE and CDQ share Cbw/Cwd; operand_size tells them apart.
TEST(Ops, WidthDependentConversions) {
    const Insn cwde = decode_ok(kReal16, {0x66, 0x98});
    EXPECT_EQ(cwde.op, Op::Cbw);
    EXPECT_EQ(cwde.operand_size, 4);
    const Insn cdq = decode_ok(kProt32, {0x99});
    EXPECT_EQ(cdq.op, Op::Cwd);
    EXPECT_EQ(cdq.operand_size, 4);
    EXPECT_EQ(decode_ok(kProt32, {0x60}).op, Op::Pusha); // pushad
    EXPECT_EQ(decode_ok(kProt32, {0x9D}).op, Op::Popf);  // popfd
}

// DD /7 fnstsw m2byte; 9B alone is WAIT (FSTSW is 9B + FNSTSW, two instructions)
TEST(Ops, X87ControlForms) {
    const Insn fnstsw = decode_ok(kReal16, {0xDD, 0x3E, 0x00, 0x10});
    EXPECT_EQ(fnstsw.op, Op::X87);
    EXPECT_EQ(fnstsw.x87, X87Op::Fnstsw);
    EXPECT_EQ(fnstsw.x87_opcode, 0x53E); // DD, ModRM 3E
    EXPECT_EQ(fnstsw.operands[0].kind, OperandKind::Mem);
    EXPECT_EQ(fnstsw.operands[0].size, 2);
    const Insn wait = decode_ok(kReal16, {0x9B, 0xDF, 0xE0});
    EXPECT_EQ(wait.op, Op::Wait);
    EXPECT_EQ(wait.length, 1);
    const Insn fnstsw_ax = decode_ok(kReal16, {0xDF, 0xE0});
    EXPECT_EQ(fnstsw_ax.operands[0].kind, OperandKind::Reg);
    EXPECT_EQ(fnstsw_ax.operands[0].reg, gpr(Gpr::EAX));
}

// Each ESC mnemonic lowers to Op::X87 with its X87Op; the x87 opcode register's value is the
// ESC byte's low bits and the ModRM byte (SDM Vol. 1 Figure 8-8).
TEST(Ops, X87OperationsAndOpcode) {
    struct Case {
        std::vector<uint8_t> bytes;
        X87Op op;
        uint16_t opcode;
    };
    const Case cases[] = {
        {{0xD8, 0xC1}, X87Op::Fadd, 0x0C1},             // fadd st0, st1
        {{0xDC, 0xE9}, X87Op::Fsub, 0x4E9},             // fsub st1, st0 (DC E8+i)
        {{0xDE, 0xF9}, X87Op::Fdivp, 0x6F9},            // fdivp st1, st0
        {{0xD9, 0x06, 0x00, 0x10}, X87Op::Fld, 0x106},  // fld dword [0x1000]
        {{0xDB, 0x2E, 0x00, 0x10}, X87Op::Fld, 0x32E},  // fld tword [0x1000]
        {{0xDF, 0x2E, 0x00, 0x10}, X87Op::Fild, 0x72E}, // fild qword [0x1000]
        {{0xDA, 0xE9}, X87Op::Fucompp, 0x2E9},          // fucompp
        {{0xDB, 0xE2}, X87Op::Fnclex, 0x3E2},           // fnclex
        {{0xD9, 0xD8}, X87Op::Fstp, 0x1D8},             // fstp1 alias of fstp st0 (D9 D8+i)
        {{0xDF, 0xC1}, X87Op::Ffreep, 0x7C1},           // ffreep st1
        {{0xDB, 0xF1}, X87Op::Fcomi, 0x3F1},            // fcomi st0, st1
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(x87_op_name(c.op));
        Insn insn;
        ASSERT_EQ(decode(c.bytes.data(), c.bytes.size(), kReal16, insn), DecodeStatus::Ok);
        EXPECT_EQ(insn.op, Op::X87);
        EXPECT_EQ(insn.x87, c.op);
        EXPECT_EQ(insn.x87_opcode, c.opcode);
    }
    const Insn fcmovbe = decode_ok(kReal16, {0xDA, 0xD3}); // fcmovbe st0, st3
    EXPECT_EQ(fcmovbe.x87, X87Op::Fcmovcc);
    EXPECT_EQ(fcmovbe.cc, 6); // BE
    const Insn fstenv16 = decode_ok(kReal16, {0xD9, 0x36, 0x00, 0x10});
    EXPECT_EQ(fstenv16.x87, X87Op::Fnstenv);
    EXPECT_EQ(fstenv16.operands[0].size, 14);
    const Insn fsave32 = decode_ok(kProt32, {0xDD, 0x35, 0x00, 0x10, 0x00, 0x00});
    EXPECT_EQ(fsave32.x87, X87Op::Fnsave);
    EXPECT_EQ(fsave32.operands[0].size, 108);
    const Insn fsave16 = decode_ok(kProt32, {0x66, 0xDD, 0x35, 0x00, 0x10, 0x00, 0x00});
    EXPECT_EQ(fsave16.operands[0].size, 94);
    const Insn fld80 = decode_ok(kReal16, {0xDB, 0x2E, 0x00, 0x10});
    EXPECT_EQ(fld80.operands[0].kind, OperandKind::Mem); // the pushed ST(0) is not shown
    EXPECT_EQ(fld80.operands[0].size, 10);
}

// E4 ib in al, imm8; EC in al, dx; EF out dx, eax: the port register and accumulator are
// lowered (they are implicit but shown in Intel syntax).
TEST(Ops, PortIoOperands) {
    const Insn in_imm = decode_ok(kReal16, {0xE4, 0x60});
    ASSERT_EQ(in_imm.operand_count, 2);
    EXPECT_EQ(in_imm.operand_size, 1);
    EXPECT_EQ(in_imm.operands[1].kind, OperandKind::Imm);
    EXPECT_EQ(in_imm.operands[1].value, 0x60u);
    const Insn in_dx = decode_ok(kReal16, {0xEC});
    EXPECT_EQ(in_dx.operands[1].kind, OperandKind::Reg);
    EXPECT_EQ(in_dx.operands[1].reg, gpr(Gpr::EDX));
    EXPECT_EQ(in_dx.operands[1].size, 2);
    const Insn out = decode_ok(kProt32, {0xEF});
    EXPECT_EQ(out.op, Op::Out);
    EXPECT_EQ(out.operand_size, 4);
    EXPECT_EQ(out.operands[0].reg, gpr(Gpr::EDX));
    EXPECT_EQ(out.operands[1].size, 4);
}

} // namespace
} // namespace transit86::decoder::test
