// Zydis mnemonic -> transit86 Op, as data: one row per mnemonic.
#include "decoder/zydis_lowering.hpp"

#include <array>
#include <cstddef>

namespace transit86::decoder::detail {
namespace {

struct MnemonicRow {
    ZydisMnemonic mnemonic;
    Op op;
    uint8_t cc = 0; // condition code for Jcc / SETcc / CMOVcc / FCMOVcc
    X87Op x87 = X87Op::None;
};

// Condition codes, SDM Vol. 1 Appendix B.1 (Table B-1, the "tttn" field).
namespace cc {
inline constexpr uint8_t O = 0, NO = 1, B = 2, AE = 3, E = 4, NE = 5, BE = 6, A = 7;
inline constexpr uint8_t S = 8, NS = 9, P = 10, NP = 11, L = 12, GE = 13, LE = 14, G = 15;
} // namespace cc

constexpr MnemonicRow kRows[] = {
    // arithmetic / logic
    {ZYDIS_MNEMONIC_ADD, Op::Add},
    {ZYDIS_MNEMONIC_OR, Op::Or},
    {ZYDIS_MNEMONIC_ADC, Op::Adc},
    {ZYDIS_MNEMONIC_SBB, Op::Sbb},
    {ZYDIS_MNEMONIC_AND, Op::And},
    {ZYDIS_MNEMONIC_SUB, Op::Sub},
    {ZYDIS_MNEMONIC_XOR, Op::Xor},
    {ZYDIS_MNEMONIC_CMP, Op::Cmp},
    {ZYDIS_MNEMONIC_TEST, Op::Test},
    {ZYDIS_MNEMONIC_INC, Op::Inc},
    {ZYDIS_MNEMONIC_DEC, Op::Dec},
    {ZYDIS_MNEMONIC_NEG, Op::Neg},
    {ZYDIS_MNEMONIC_NOT, Op::Not},
    {ZYDIS_MNEMONIC_MUL, Op::Mul},
    {ZYDIS_MNEMONIC_IMUL, Op::Imul},
    {ZYDIS_MNEMONIC_DIV, Op::Div},
    {ZYDIS_MNEMONIC_IDIV, Op::Idiv},
    {ZYDIS_MNEMONIC_DAA, Op::Daa},
    {ZYDIS_MNEMONIC_DAS, Op::Das},
    {ZYDIS_MNEMONIC_AAA, Op::Aaa},
    {ZYDIS_MNEMONIC_AAS, Op::Aas},
    {ZYDIS_MNEMONIC_AAM, Op::Aam},
    {ZYDIS_MNEMONIC_AAD, Op::Aad},
    // shifts and rotates (Zydis names the /6 SAL alias SHL too)
    {ZYDIS_MNEMONIC_ROL, Op::Rol},
    {ZYDIS_MNEMONIC_ROR, Op::Ror},
    {ZYDIS_MNEMONIC_RCL, Op::Rcl},
    {ZYDIS_MNEMONIC_RCR, Op::Rcr},
    {ZYDIS_MNEMONIC_SHL, Op::Shl},
    {ZYDIS_MNEMONIC_SHR, Op::Shr},
    {ZYDIS_MNEMONIC_SAR, Op::Sar},
    {ZYDIS_MNEMONIC_SHLD, Op::Shld},
    {ZYDIS_MNEMONIC_SHRD, Op::Shrd},
    // bits
    {ZYDIS_MNEMONIC_BT, Op::Bt},
    {ZYDIS_MNEMONIC_BTS, Op::Bts},
    {ZYDIS_MNEMONIC_BTR, Op::Btr},
    {ZYDIS_MNEMONIC_BTC, Op::Btc},
    {ZYDIS_MNEMONIC_BSF, Op::Bsf},
    {ZYDIS_MNEMONIC_BSR, Op::Bsr},
    {ZYDIS_MNEMONIC_BSWAP, Op::Bswap},
    // data movement
    {ZYDIS_MNEMONIC_MOV, Op::Mov},
    {ZYDIS_MNEMONIC_MOVZX, Op::Movzx},
    {ZYDIS_MNEMONIC_MOVSX, Op::Movsx},
    {ZYDIS_MNEMONIC_LEA, Op::Lea},
    {ZYDIS_MNEMONIC_XCHG, Op::Xchg},
    {ZYDIS_MNEMONIC_XLAT, Op::Xlat},
    {ZYDIS_MNEMONIC_CMPXCHG, Op::Cmpxchg},
    {ZYDIS_MNEMONIC_CMPXCHG8B, Op::Cmpxchg8b},
    {ZYDIS_MNEMONIC_XADD, Op::Xadd},
    {ZYDIS_MNEMONIC_CBW, Op::Cbw},
    {ZYDIS_MNEMONIC_CWDE, Op::Cbw},
    {ZYDIS_MNEMONIC_CWD, Op::Cwd},
    {ZYDIS_MNEMONIC_CDQ, Op::Cwd},
    {ZYDIS_MNEMONIC_PUSH, Op::Push},
    {ZYDIS_MNEMONIC_POP, Op::Pop},
    {ZYDIS_MNEMONIC_PUSHA, Op::Pusha},
    {ZYDIS_MNEMONIC_PUSHAD, Op::Pusha},
    {ZYDIS_MNEMONIC_POPA, Op::Popa},
    {ZYDIS_MNEMONIC_POPAD, Op::Popa},
    {ZYDIS_MNEMONIC_PUSHF, Op::Pushf},
    {ZYDIS_MNEMONIC_PUSHFD, Op::Pushf},
    {ZYDIS_MNEMONIC_POPF, Op::Popf},
    {ZYDIS_MNEMONIC_POPFD, Op::Popf},
    {ZYDIS_MNEMONIC_LAHF, Op::Lahf},
    {ZYDIS_MNEMONIC_SAHF, Op::Sahf},
    {ZYDIS_MNEMONIC_SALC, Op::Salc},
    {ZYDIS_MNEMONIC_LDS, Op::Lds},
    {ZYDIS_MNEMONIC_LES, Op::Les},
    {ZYDIS_MNEMONIC_LFS, Op::Lfs},
    {ZYDIS_MNEMONIC_LGS, Op::Lgs},
    {ZYDIS_MNEMONIC_LSS, Op::Lss},
    {ZYDIS_MNEMONIC_ENTER, Op::Enter},
    {ZYDIS_MNEMONIC_LEAVE, Op::Leave},
    {ZYDIS_MNEMONIC_BOUND, Op::Bound},
    {ZYDIS_MNEMONIC_ARPL, Op::Arpl},
    // control transfer (near/far split by branch type in lower_mnemonic)
    {ZYDIS_MNEMONIC_JMP, Op::Jmp},
    {ZYDIS_MNEMONIC_CALL, Op::Call},
    {ZYDIS_MNEMONIC_RET, Op::Ret},
    {ZYDIS_MNEMONIC_LOOP, Op::Loop},
    {ZYDIS_MNEMONIC_LOOPE, Op::Loope},
    {ZYDIS_MNEMONIC_LOOPNE, Op::Loopne},
    {ZYDIS_MNEMONIC_JCXZ, Op::Jcxz},
    {ZYDIS_MNEMONIC_JECXZ, Op::Jcxz},
    {ZYDIS_MNEMONIC_INT, Op::Int},
    {ZYDIS_MNEMONIC_INT1, Op::Int1},
    {ZYDIS_MNEMONIC_INT3, Op::Int3},
    {ZYDIS_MNEMONIC_INTO, Op::Into},
    {ZYDIS_MNEMONIC_IRET, Op::Iret},
    {ZYDIS_MNEMONIC_IRETD, Op::Iret},
    // flags
    {ZYDIS_MNEMONIC_CLC, Op::Clc},
    {ZYDIS_MNEMONIC_STC, Op::Stc},
    {ZYDIS_MNEMONIC_CMC, Op::Cmc},
    {ZYDIS_MNEMONIC_CLD, Op::Cld},
    {ZYDIS_MNEMONIC_STD, Op::Std},
    {ZYDIS_MNEMONIC_CLI, Op::Cli},
    {ZYDIS_MNEMONIC_STI, Op::Sti},
    // strings (MOVSD/CMPSD are also SSE2 mnemonics: lower_mnemonic checks the opcode map)
    {ZYDIS_MNEMONIC_MOVSB, Op::Movs},
    {ZYDIS_MNEMONIC_MOVSW, Op::Movs},
    {ZYDIS_MNEMONIC_MOVSD, Op::Movs},
    {ZYDIS_MNEMONIC_CMPSB, Op::Cmps},
    {ZYDIS_MNEMONIC_CMPSW, Op::Cmps},
    {ZYDIS_MNEMONIC_CMPSD, Op::Cmps},
    {ZYDIS_MNEMONIC_STOSB, Op::Stos},
    {ZYDIS_MNEMONIC_STOSW, Op::Stos},
    {ZYDIS_MNEMONIC_STOSD, Op::Stos},
    {ZYDIS_MNEMONIC_LODSB, Op::Lods},
    {ZYDIS_MNEMONIC_LODSW, Op::Lods},
    {ZYDIS_MNEMONIC_LODSD, Op::Lods},
    {ZYDIS_MNEMONIC_SCASB, Op::Scas},
    {ZYDIS_MNEMONIC_SCASW, Op::Scas},
    {ZYDIS_MNEMONIC_SCASD, Op::Scas},
    {ZYDIS_MNEMONIC_INSB, Op::Ins},
    {ZYDIS_MNEMONIC_INSW, Op::Ins},
    {ZYDIS_MNEMONIC_INSD, Op::Ins},
    {ZYDIS_MNEMONIC_OUTSB, Op::Outs},
    {ZYDIS_MNEMONIC_OUTSW, Op::Outs},
    {ZYDIS_MNEMONIC_OUTSD, Op::Outs},
    // I/O
    {ZYDIS_MNEMONIC_IN, Op::In},
    {ZYDIS_MNEMONIC_OUT, Op::Out},
    // system
    {ZYDIS_MNEMONIC_LGDT, Op::Lgdt},
    {ZYDIS_MNEMONIC_LIDT, Op::Lidt},
    {ZYDIS_MNEMONIC_SGDT, Op::Sgdt},
    {ZYDIS_MNEMONIC_SIDT, Op::Sidt},
    {ZYDIS_MNEMONIC_LLDT, Op::Lldt},
    {ZYDIS_MNEMONIC_SLDT, Op::Sldt},
    {ZYDIS_MNEMONIC_LTR, Op::Ltr},
    {ZYDIS_MNEMONIC_STR, Op::Str},
    {ZYDIS_MNEMONIC_LMSW, Op::Lmsw},
    {ZYDIS_MNEMONIC_SMSW, Op::Smsw},
    {ZYDIS_MNEMONIC_CLTS, Op::Clts},
    {ZYDIS_MNEMONIC_LAR, Op::Lar},
    {ZYDIS_MNEMONIC_LSL, Op::Lsl},
    {ZYDIS_MNEMONIC_VERR, Op::Verr},
    {ZYDIS_MNEMONIC_VERW, Op::Verw},
    {ZYDIS_MNEMONIC_INVD, Op::Invd},
    {ZYDIS_MNEMONIC_WBINVD, Op::Wbinvd},
    {ZYDIS_MNEMONIC_INVLPG, Op::Invlpg},
    {ZYDIS_MNEMONIC_HLT, Op::Hlt},
    // 90, the hint NOPs 0F 18..1F /r, and PAUSE (F3 90, a NOP with a spin-loop hint)
    {ZYDIS_MNEMONIC_NOP, Op::Nop},
    {ZYDIS_MNEMONIC_PAUSE, Op::Nop},
    // UD0 (0F FF) and UD1 (0F B9) are, like UD2, defined to raise #UD (SDM Vol. 2B UD)
    {ZYDIS_MNEMONIC_UD0, Op::Ud2},
    {ZYDIS_MNEMONIC_UD1, Op::Ud2},
    {ZYDIS_MNEMONIC_UD2, Op::Ud2},
    {ZYDIS_MNEMONIC_CPUID, Op::Cpuid},
    {ZYDIS_MNEMONIC_RDTSC, Op::Rdtsc},
    {ZYDIS_MNEMONIC_RDMSR, Op::Rdmsr},
    {ZYDIS_MNEMONIC_WRMSR, Op::Wrmsr},
    {ZYDIS_MNEMONIC_LFENCE, Op::Lfence},
    {ZYDIS_MNEMONIC_MFENCE, Op::Mfence},
    {ZYDIS_MNEMONIC_SFENCE, Op::Sfence},
    {ZYDIS_MNEMONIC_FWAIT, Op::Wait},
    // x87 (ESC D8..DF); FSTPNCE is Zydis's name for the D9 D8+i alias of FSTP ST(i)
    {ZYDIS_MNEMONIC_FLD, Op::X87, 0, X87Op::Fld},
    {ZYDIS_MNEMONIC_FST, Op::X87, 0, X87Op::Fst},
    {ZYDIS_MNEMONIC_FSTP, Op::X87, 0, X87Op::Fstp},
    {ZYDIS_MNEMONIC_FSTPNCE, Op::X87, 0, X87Op::Fstp},
    {ZYDIS_MNEMONIC_FILD, Op::X87, 0, X87Op::Fild},
    {ZYDIS_MNEMONIC_FIST, Op::X87, 0, X87Op::Fist},
    {ZYDIS_MNEMONIC_FISTP, Op::X87, 0, X87Op::Fistp},
    {ZYDIS_MNEMONIC_FISTTP, Op::X87, 0, X87Op::Fisttp},
    {ZYDIS_MNEMONIC_FBLD, Op::X87, 0, X87Op::Fbld},
    {ZYDIS_MNEMONIC_FBSTP, Op::X87, 0, X87Op::Fbstp},
    {ZYDIS_MNEMONIC_FXCH, Op::X87, 0, X87Op::Fxch},
    {ZYDIS_MNEMONIC_FLD1, Op::X87, 0, X87Op::Fld1},
    {ZYDIS_MNEMONIC_FLDL2T, Op::X87, 0, X87Op::Fldl2t},
    {ZYDIS_MNEMONIC_FLDL2E, Op::X87, 0, X87Op::Fldl2e},
    {ZYDIS_MNEMONIC_FLDPI, Op::X87, 0, X87Op::Fldpi},
    {ZYDIS_MNEMONIC_FLDLG2, Op::X87, 0, X87Op::Fldlg2},
    {ZYDIS_MNEMONIC_FLDLN2, Op::X87, 0, X87Op::Fldln2},
    {ZYDIS_MNEMONIC_FLDZ, Op::X87, 0, X87Op::Fldz},
    {ZYDIS_MNEMONIC_FADD, Op::X87, 0, X87Op::Fadd},
    {ZYDIS_MNEMONIC_FADDP, Op::X87, 0, X87Op::Faddp},
    {ZYDIS_MNEMONIC_FIADD, Op::X87, 0, X87Op::Fiadd},
    {ZYDIS_MNEMONIC_FSUB, Op::X87, 0, X87Op::Fsub},
    {ZYDIS_MNEMONIC_FSUBP, Op::X87, 0, X87Op::Fsubp},
    {ZYDIS_MNEMONIC_FISUB, Op::X87, 0, X87Op::Fisub},
    {ZYDIS_MNEMONIC_FSUBR, Op::X87, 0, X87Op::Fsubr},
    {ZYDIS_MNEMONIC_FSUBRP, Op::X87, 0, X87Op::Fsubrp},
    {ZYDIS_MNEMONIC_FISUBR, Op::X87, 0, X87Op::Fisubr},
    {ZYDIS_MNEMONIC_FMUL, Op::X87, 0, X87Op::Fmul},
    {ZYDIS_MNEMONIC_FMULP, Op::X87, 0, X87Op::Fmulp},
    {ZYDIS_MNEMONIC_FIMUL, Op::X87, 0, X87Op::Fimul},
    {ZYDIS_MNEMONIC_FDIV, Op::X87, 0, X87Op::Fdiv},
    {ZYDIS_MNEMONIC_FDIVP, Op::X87, 0, X87Op::Fdivp},
    {ZYDIS_MNEMONIC_FIDIV, Op::X87, 0, X87Op::Fidiv},
    {ZYDIS_MNEMONIC_FDIVR, Op::X87, 0, X87Op::Fdivr},
    {ZYDIS_MNEMONIC_FDIVRP, Op::X87, 0, X87Op::Fdivrp},
    {ZYDIS_MNEMONIC_FIDIVR, Op::X87, 0, X87Op::Fidivr},
    {ZYDIS_MNEMONIC_FPREM, Op::X87, 0, X87Op::Fprem},
    {ZYDIS_MNEMONIC_FPREM1, Op::X87, 0, X87Op::Fprem1},
    {ZYDIS_MNEMONIC_FABS, Op::X87, 0, X87Op::Fabs},
    {ZYDIS_MNEMONIC_FCHS, Op::X87, 0, X87Op::Fchs},
    {ZYDIS_MNEMONIC_FRNDINT, Op::X87, 0, X87Op::Frndint},
    {ZYDIS_MNEMONIC_FSCALE, Op::X87, 0, X87Op::Fscale},
    {ZYDIS_MNEMONIC_FSQRT, Op::X87, 0, X87Op::Fsqrt},
    {ZYDIS_MNEMONIC_FXTRACT, Op::X87, 0, X87Op::Fxtract},
    {ZYDIS_MNEMONIC_FCOM, Op::X87, 0, X87Op::Fcom},
    {ZYDIS_MNEMONIC_FCOMP, Op::X87, 0, X87Op::Fcomp},
    {ZYDIS_MNEMONIC_FCOMPP, Op::X87, 0, X87Op::Fcompp},
    {ZYDIS_MNEMONIC_FUCOM, Op::X87, 0, X87Op::Fucom},
    {ZYDIS_MNEMONIC_FUCOMP, Op::X87, 0, X87Op::Fucomp},
    {ZYDIS_MNEMONIC_FUCOMPP, Op::X87, 0, X87Op::Fucompp},
    {ZYDIS_MNEMONIC_FICOM, Op::X87, 0, X87Op::Ficom},
    {ZYDIS_MNEMONIC_FICOMP, Op::X87, 0, X87Op::Ficomp},
    {ZYDIS_MNEMONIC_FCOMI, Op::X87, 0, X87Op::Fcomi},
    {ZYDIS_MNEMONIC_FCOMIP, Op::X87, 0, X87Op::Fcomip},
    {ZYDIS_MNEMONIC_FUCOMI, Op::X87, 0, X87Op::Fucomi},
    {ZYDIS_MNEMONIC_FUCOMIP, Op::X87, 0, X87Op::Fucomip},
    {ZYDIS_MNEMONIC_FTST, Op::X87, 0, X87Op::Ftst},
    {ZYDIS_MNEMONIC_FXAM, Op::X87, 0, X87Op::Fxam},
    {ZYDIS_MNEMONIC_FSIN, Op::X87, 0, X87Op::Fsin},
    {ZYDIS_MNEMONIC_FCOS, Op::X87, 0, X87Op::Fcos},
    {ZYDIS_MNEMONIC_FSINCOS, Op::X87, 0, X87Op::Fsincos},
    {ZYDIS_MNEMONIC_FPTAN, Op::X87, 0, X87Op::Fptan},
    {ZYDIS_MNEMONIC_FPATAN, Op::X87, 0, X87Op::Fpatan},
    {ZYDIS_MNEMONIC_F2XM1, Op::X87, 0, X87Op::F2xm1},
    {ZYDIS_MNEMONIC_FYL2X, Op::X87, 0, X87Op::Fyl2x},
    {ZYDIS_MNEMONIC_FYL2XP1, Op::X87, 0, X87Op::Fyl2xp1},
    {ZYDIS_MNEMONIC_FINCSTP, Op::X87, 0, X87Op::Fincstp},
    {ZYDIS_MNEMONIC_FDECSTP, Op::X87, 0, X87Op::Fdecstp},
    {ZYDIS_MNEMONIC_FFREE, Op::X87, 0, X87Op::Ffree},
    {ZYDIS_MNEMONIC_FFREEP, Op::X87, 0, X87Op::Ffreep},
    {ZYDIS_MNEMONIC_FNOP, Op::X87, 0, X87Op::Fnop},
    {ZYDIS_MNEMONIC_FNINIT, Op::X87, 0, X87Op::Fninit},
    {ZYDIS_MNEMONIC_FNCLEX, Op::X87, 0, X87Op::Fnclex},
    {ZYDIS_MNEMONIC_FLDCW, Op::X87, 0, X87Op::Fldcw},
    {ZYDIS_MNEMONIC_FNSTCW, Op::X87, 0, X87Op::Fnstcw},
    {ZYDIS_MNEMONIC_FNSTSW, Op::X87, 0, X87Op::Fnstsw},
    {ZYDIS_MNEMONIC_FLDENV, Op::X87, 0, X87Op::Fldenv},
    {ZYDIS_MNEMONIC_FNSTENV, Op::X87, 0, X87Op::Fnstenv},
    {ZYDIS_MNEMONIC_FRSTOR, Op::X87, 0, X87Op::Frstor},
    {ZYDIS_MNEMONIC_FNSAVE, Op::X87, 0, X87Op::Fnsave},
    {ZYDIS_MNEMONIC_FENI8087_NOP, Op::X87, 0, X87Op::Fneni},
    {ZYDIS_MNEMONIC_FDISI8087_NOP, Op::X87, 0, X87Op::Fndisi},
    {ZYDIS_MNEMONIC_FSETPM287_NOP, Op::X87, 0, X87Op::Fnsetpm},
    {ZYDIS_MNEMONIC_FXSAVE, Op::X87, 0, X87Op::Fxsave},
    {ZYDIS_MNEMONIC_FXRSTOR, Op::X87, 0, X87Op::Fxrstor},
    // FCMOVcc (DA/DB C0..DF): the condition as an EFLAGS condition code
    {ZYDIS_MNEMONIC_FCMOVB, Op::X87, cc::B, X87Op::Fcmovcc},
    {ZYDIS_MNEMONIC_FCMOVNB, Op::X87, cc::AE, X87Op::Fcmovcc},
    {ZYDIS_MNEMONIC_FCMOVE, Op::X87, cc::E, X87Op::Fcmovcc},
    {ZYDIS_MNEMONIC_FCMOVNE, Op::X87, cc::NE, X87Op::Fcmovcc},
    {ZYDIS_MNEMONIC_FCMOVBE, Op::X87, cc::BE, X87Op::Fcmovcc},
    {ZYDIS_MNEMONIC_FCMOVNBE, Op::X87, cc::A, X87Op::Fcmovcc},
    {ZYDIS_MNEMONIC_FCMOVU, Op::X87, cc::P, X87Op::Fcmovcc},
    {ZYDIS_MNEMONIC_FCMOVNU, Op::X87, cc::NP, X87Op::Fcmovcc},
    // Jcc (70+cc rel8, 0F 80+cc rel16/32)
    {ZYDIS_MNEMONIC_JO, Op::Jcc, cc::O},
    {ZYDIS_MNEMONIC_JNO, Op::Jcc, cc::NO},
    {ZYDIS_MNEMONIC_JB, Op::Jcc, cc::B},
    {ZYDIS_MNEMONIC_JNB, Op::Jcc, cc::AE},
    {ZYDIS_MNEMONIC_JZ, Op::Jcc, cc::E},
    {ZYDIS_MNEMONIC_JNZ, Op::Jcc, cc::NE},
    {ZYDIS_MNEMONIC_JBE, Op::Jcc, cc::BE},
    {ZYDIS_MNEMONIC_JNBE, Op::Jcc, cc::A},
    {ZYDIS_MNEMONIC_JS, Op::Jcc, cc::S},
    {ZYDIS_MNEMONIC_JNS, Op::Jcc, cc::NS},
    {ZYDIS_MNEMONIC_JP, Op::Jcc, cc::P},
    {ZYDIS_MNEMONIC_JNP, Op::Jcc, cc::NP},
    {ZYDIS_MNEMONIC_JL, Op::Jcc, cc::L},
    {ZYDIS_MNEMONIC_JNL, Op::Jcc, cc::GE},
    {ZYDIS_MNEMONIC_JLE, Op::Jcc, cc::LE},
    {ZYDIS_MNEMONIC_JNLE, Op::Jcc, cc::G},
    // SETcc (0F 90+cc)
    {ZYDIS_MNEMONIC_SETO, Op::Setcc, cc::O},
    {ZYDIS_MNEMONIC_SETNO, Op::Setcc, cc::NO},
    {ZYDIS_MNEMONIC_SETB, Op::Setcc, cc::B},
    {ZYDIS_MNEMONIC_SETNB, Op::Setcc, cc::AE},
    {ZYDIS_MNEMONIC_SETZ, Op::Setcc, cc::E},
    {ZYDIS_MNEMONIC_SETNZ, Op::Setcc, cc::NE},
    {ZYDIS_MNEMONIC_SETBE, Op::Setcc, cc::BE},
    {ZYDIS_MNEMONIC_SETNBE, Op::Setcc, cc::A},
    {ZYDIS_MNEMONIC_SETS, Op::Setcc, cc::S},
    {ZYDIS_MNEMONIC_SETNS, Op::Setcc, cc::NS},
    {ZYDIS_MNEMONIC_SETP, Op::Setcc, cc::P},
    {ZYDIS_MNEMONIC_SETNP, Op::Setcc, cc::NP},
    {ZYDIS_MNEMONIC_SETL, Op::Setcc, cc::L},
    {ZYDIS_MNEMONIC_SETNL, Op::Setcc, cc::GE},
    {ZYDIS_MNEMONIC_SETLE, Op::Setcc, cc::LE},
    {ZYDIS_MNEMONIC_SETNLE, Op::Setcc, cc::G},
    // CMOVcc (0F 40+cc)
    {ZYDIS_MNEMONIC_CMOVO, Op::Cmovcc, cc::O},
    {ZYDIS_MNEMONIC_CMOVNO, Op::Cmovcc, cc::NO},
    {ZYDIS_MNEMONIC_CMOVB, Op::Cmovcc, cc::B},
    {ZYDIS_MNEMONIC_CMOVNB, Op::Cmovcc, cc::AE},
    {ZYDIS_MNEMONIC_CMOVZ, Op::Cmovcc, cc::E},
    {ZYDIS_MNEMONIC_CMOVNZ, Op::Cmovcc, cc::NE},
    {ZYDIS_MNEMONIC_CMOVBE, Op::Cmovcc, cc::BE},
    {ZYDIS_MNEMONIC_CMOVNBE, Op::Cmovcc, cc::A},
    {ZYDIS_MNEMONIC_CMOVS, Op::Cmovcc, cc::S},
    {ZYDIS_MNEMONIC_CMOVNS, Op::Cmovcc, cc::NS},
    {ZYDIS_MNEMONIC_CMOVP, Op::Cmovcc, cc::P},
    {ZYDIS_MNEMONIC_CMOVNP, Op::Cmovcc, cc::NP},
    {ZYDIS_MNEMONIC_CMOVL, Op::Cmovcc, cc::L},
    {ZYDIS_MNEMONIC_CMOVNL, Op::Cmovcc, cc::GE},
    {ZYDIS_MNEMONIC_CMOVLE, Op::Cmovcc, cc::LE},
    {ZYDIS_MNEMONIC_CMOVNLE, Op::Cmovcc, cc::G},
};

constexpr size_t kMnemonicCount = static_cast<size_t>(ZYDIS_MNEMONIC_MAX_VALUE) + 1;

// kRows scattered into a table indexed by ZydisMnemonic, so decode() does one load.
constexpr std::array<LoweredMnemonic, kMnemonicCount> make_table() {
    std::array<LoweredMnemonic, kMnemonicCount> table{};
    for (const MnemonicRow& row : kRows) {
        table[static_cast<size_t>(row.mnemonic)] = LoweredMnemonic{row.op, row.cc, row.x87};
    }
    return table;
}

constexpr std::array<LoweredMnemonic, kMnemonicCount> kTable = make_table();

} // namespace

LoweredMnemonic lower_mnemonic(const ZydisDecodedInstruction& instruction) noexcept {
    const auto index = static_cast<size_t>(instruction.mnemonic);
    if (index >= kTable.size()) return {};
    LoweredMnemonic lowered = kTable[index];
    const bool far = instruction.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
    switch (lowered.op) {
    // Zydis has one mnemonic for near and far forms (EA/9A/FF /5/FF /3, CB/CA).
    case Op::Jmp: lowered.op = far ? Op::JmpFar : Op::Jmp; break;
    case Op::Call: lowered.op = far ? Op::CallFar : Op::Call; break;
    case Op::Ret: lowered.op = far ? Op::RetFar : Op::Ret; break;
    // MOVSD/CMPSD: the string forms are the one-byte opcodes A5/A7; F2 0F 10/11/C2 are SSE2.
    case Op::Movs:
    case Op::Cmps:
        if (instruction.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT) return {};
        break;
    default: break;
    }
    return lowered;
}

bool protected_mode_only(Op op) noexcept {
    // SDM Vol. 2: "not recognized in real-address mode" / "not recognized in virtual-8086 mode"
    // (#UD) for each of these. Zydis's REAL_16 mode already rejects them; this catches "big
    // real" code, which is decoded with Zydis's LEGACY_32 mode.
    switch (op) {
    case Op::Arpl:
    case Op::Lar:
    case Op::Lsl:
    case Op::Lldt:
    case Op::Sldt:
    case Op::Ltr:
    case Op::Str:
    case Op::Verr:
    case Op::Verw: return true;
    default: return false;
    }
}

} // namespace transit86::decoder::detail
