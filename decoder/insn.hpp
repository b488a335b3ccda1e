// The compact decoded-instruction record the interpreter executes.
//
// decoder/ lowers Zydis's full decode into this POD so that nothing outside decoder/
// sees Zydis. Only the operands that appear in Intel syntax are lowered (Zydis's
// explicit and implicit-visible operands); hidden operands (string-instruction pointers,
// the accumulator of MUL, the stack) are implied by the operation.
#pragma once

#include <cstdint>

namespace transit86::decoder {

// Operations. Condition-code families (Jcc, SETcc, CMOVcc) carry the condition in Insn::cc.
enum class Op : uint8_t {
    Invalid,
    // arithmetic / logic
    Add,
    Or,
    Adc,
    Sbb,
    And,
    Sub,
    Xor,
    Cmp,
    Test,
    Inc,
    Dec,
    Neg,
    Not,
    Mul,
    Imul,
    Div,
    Idiv,
    Daa,
    Das,
    Aaa,
    Aas,
    Aam,
    Aad,
    // shifts and rotates
    Rol,
    Ror,
    Rcl,
    Rcr,
    Shl,
    Shr,
    Sar,
    Shld,
    Shrd,
    // bits
    Bt,
    Bts,
    Btr,
    Btc,
    Bsf,
    Bsr,
    Bswap,
    // data movement
    Mov,
    MovToSreg,
    MovFromSreg,
    MovToCr,
    MovFromCr,
    MovToDr,
    MovFromDr,
    Movzx,
    Movsx,
    Lea,
    Xchg,
    Xlat,
    Cmovcc,
    Setcc,
    Cmpxchg,
    Cmpxchg8b,
    Xadd,
    Cbw,
    Cwd, // width-dependent: CBW/CWDE, CWD/CDQ
    Push,
    Pop,
    Pusha,
    Popa,
    Pushf,
    Popf,
    Lahf,
    Sahf,
    Salc,
    Lds,
    Les,
    Lfs,
    Lgs,
    Lss,
    Enter,
    Leave,
    Bound,
    Arpl,
    // control transfer
    Jmp,
    JmpFar,
    Jcc,
    Call,
    CallFar,
    Ret,
    RetFar,
    Loop,
    Loope,
    Loopne,
    Jcxz,
    Int,
    Int1,
    Int3,
    Into,
    Iret,
    // flags
    Clc,
    Stc,
    Cmc,
    Cld,
    Std,
    Cli,
    Sti,
    // strings (operand width in Insn::operand_size)
    Movs,
    Cmps,
    Stos,
    Lods,
    Scas,
    Ins,
    Outs,
    // I/O
    In,
    Out,
    // system
    Lgdt,
    Lidt,
    Sgdt,
    Sidt,
    Lldt,
    Sldt,
    Ltr,
    Str,
    Lmsw,
    Smsw,
    Clts,
    Lar,
    Lsl,
    Verr,
    Verw,
    Invd,
    Wbinvd,
    Invlpg,
    Hlt,
    Nop,
    Ud2,
    Cpuid,
    Rdtsc,
    Rdmsr,
    Wrmsr,
    Lfence, // LFENCE and MFENCE (SSE2), SFENCE (SSE): #UD without them in CPUID
    Mfence,
    Sfence,
    // x87: WAIT/FWAIT (9B), and every ESC instruction (D8..DF) as one Op whose operation is
    // Insn::x87 (emu/interp/exec_x87*.cpp)
    Wait,
    X87,
    Count
};

// The x87 operations (SDM Vol. 1 8.3, Vol. 2 "F..." pages), one per mnemonic; the operand
// form (memory format, ST(i)) is in the encoding, which Insn::x87_opcode keeps.
enum class X87Op : uint8_t {
    None,
    // data transfer
    Fld,
    Fst,
    Fstp,
    Fild,
    Fist,
    Fistp,
    Fisttp,
    Fbld,
    Fbstp,
    Fxch,
    Fcmovcc,
    // constants
    Fld1,
    Fldl2t,
    Fldl2e,
    Fldpi,
    Fldlg2,
    Fldln2,
    Fldz,
    // arithmetic
    Fadd,
    Faddp,
    Fiadd,
    Fsub,
    Fsubp,
    Fisub,
    Fsubr,
    Fsubrp,
    Fisubr,
    Fmul,
    Fmulp,
    Fimul,
    Fdiv,
    Fdivp,
    Fidiv,
    Fdivr,
    Fdivrp,
    Fidivr,
    Fprem,
    Fprem1,
    Fabs,
    Fchs,
    Frndint,
    Fscale,
    Fsqrt,
    Fxtract,
    // comparison and classification
    Fcom,
    Fcomp,
    Fcompp,
    Fucom,
    Fucomp,
    Fucompp,
    Ficom,
    Ficomp,
    Fcomi,
    Fcomip,
    Fucomi,
    Fucomip,
    Ftst,
    Fxam,
    // transcendental
    Fsin,
    Fcos,
    Fsincos,
    Fptan,
    Fpatan,
    F2xm1,
    Fyl2x,
    Fyl2xp1,
    // control
    Fincstp,
    Fdecstp,
    Ffree,
    Ffreep,
    Fnop,
    Fninit,
    Fnclex,
    Fldcw,
    Fnstcw,
    Fnstsw,
    Fldenv,
    Fnstenv,
    Frstor,
    Fnsave,
    Fneni,
    Fndisi,
    Fnsetpm, // 8087/80287 control forms: no-ops from the 80387 on
    Fxsave,
    Fxrstor, // 0F AE /0, /1: #UD without CPUID.FXSR
    Count
};

enum class OperandKind : uint8_t {
    None,
    Reg,    // general-purpose register; reg = encoding index, size 1 uses AL..BH order
    Sreg,   // segment register; reg = transit86::Seg
    Creg,   // control register; reg = number
    Dreg,   // debug register; reg = number
    St,     // x87 register ST(i); reg = i
    Mem,    // memory: segment:[base + index*scale + disp]
    Imm,    // immediate, already sign- or zero-extended to the operand size as encoded
    Rel,    // branch target relative to the next instruction (value = signed displacement)
    FarPtr, // ptr16:16 / ptr16:32: value = offset, selector = selector
};

inline constexpr uint8_t kNoReg = 0xFF;

struct Operand {
    OperandKind kind = OperandKind::None;
    uint8_t size = 0;      // in bytes (1, 2, 4, 6 for m16:32 / pseudo-descriptors, 8 for m64)
    uint8_t reg = kNoReg;  // Reg/Sreg/Creg/Dreg
    uint8_t base = kNoReg; // Mem: Gpr or kNoReg
    uint8_t index = kNoReg;
    uint8_t scale = 0;   // Mem: 1, 2, 4, 8 (0 when no index)
    uint8_t segment = 0; // Mem: effective segment (transit86::Seg), defaults applied
    uint8_t reserved = 0;
    uint16_t selector = 0; // FarPtr
    uint32_t value = 0;    // Mem: displacement (address-size wrapped); Imm/Rel/FarPtr value
};

namespace prefix {
inline constexpr uint8_t Rep = 1u << 0;   // F3 (REP / REPE)
inline constexpr uint8_t Repne = 1u << 1; // F2
inline constexpr uint8_t Lock = 1u << 2;
inline constexpr uint8_t OperandSize = 1u << 3; // 66 present
inline constexpr uint8_t AddressSize = 1u << 4; // 67 present
inline constexpr uint8_t SegOverride = 1u << 5; // a segment override prefix is present
} // namespace prefix

struct Insn {
    Op op = Op::Invalid;
    uint8_t length = 0;
    uint8_t operand_size = 0; // effective operand size in bytes (1, 2, 4)
    uint8_t address_size = 0; // effective address size in bytes (2, 4)
    uint8_t prefixes = 0;     // see namespace prefix
    uint8_t cc = 0;           // condition code 0..15 for Jcc/SETcc/CMOVcc/FCMOVcc (Vol. 1 B.1)
    uint8_t segment = 3;      // segment for the string source / XLAT (DS unless overridden)
    uint8_t operand_count = 0;
    uint16_t undefined_flags = 0; // EFLAGS bits the SDM leaves undefined after this insn
    uint16_t modified_flags = 0;  // EFLAGS bits this insn may write (for traces)
    X87Op x87 = X87Op::None;      // Op::X87: the operation
    // Op::X87: the x87 opcode register's value for this instruction (SDM Vol. 1 8.1.9,
    // Figure 8-8): bits 10:8 = the ESC byte's low three bits, 7:0 = the ModRM byte.
    uint16_t x87_opcode = 0;
    Operand operands[3]{};
};

static_assert(sizeof(Insn) <= 64, "Insn must stay compact");

} // namespace transit86::decoder
