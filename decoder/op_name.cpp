// Names for diagnostics: operations and decode statuses.
#include "decoder/decoder.hpp"

namespace transit86::decoder {

const char* op_name(Op op) noexcept {
    switch (op) {
    case Op::Invalid: return "invalid";
    case Op::Add: return "add";
    case Op::Or: return "or";
    case Op::Adc: return "adc";
    case Op::Sbb: return "sbb";
    case Op::And: return "and";
    case Op::Sub: return "sub";
    case Op::Xor: return "xor";
    case Op::Cmp: return "cmp";
    case Op::Test: return "test";
    case Op::Inc: return "inc";
    case Op::Dec: return "dec";
    case Op::Neg: return "neg";
    case Op::Not: return "not";
    case Op::Mul: return "mul";
    case Op::Imul: return "imul";
    case Op::Div: return "div";
    case Op::Idiv: return "idiv";
    case Op::Daa: return "daa";
    case Op::Das: return "das";
    case Op::Aaa: return "aaa";
    case Op::Aas: return "aas";
    case Op::Aam: return "aam";
    case Op::Aad: return "aad";
    case Op::Rol: return "rol";
    case Op::Ror: return "ror";
    case Op::Rcl: return "rcl";
    case Op::Rcr: return "rcr";
    case Op::Shl: return "shl";
    case Op::Shr: return "shr";
    case Op::Sar: return "sar";
    case Op::Shld: return "shld";
    case Op::Shrd: return "shrd";
    case Op::Bt: return "bt";
    case Op::Bts: return "bts";
    case Op::Btr: return "btr";
    case Op::Btc: return "btc";
    case Op::Bsf: return "bsf";
    case Op::Bsr: return "bsr";
    case Op::Bswap: return "bswap";
    case Op::Mov: return "mov";
    case Op::MovToSreg: return "mov_to_sreg";
    case Op::MovFromSreg: return "mov_from_sreg";
    case Op::MovToCr: return "mov_to_cr";
    case Op::MovFromCr: return "mov_from_cr";
    case Op::MovToDr: return "mov_to_dr";
    case Op::MovFromDr: return "mov_from_dr";
    case Op::Movzx: return "movzx";
    case Op::Movsx: return "movsx";
    case Op::Lea: return "lea";
    case Op::Xchg: return "xchg";
    case Op::Xlat: return "xlat";
    case Op::Cmovcc: return "cmovcc";
    case Op::Setcc: return "setcc";
    case Op::Cmpxchg: return "cmpxchg";
    case Op::Cmpxchg8b: return "cmpxchg8b";
    case Op::Xadd: return "xadd";
    case Op::Cbw: return "cbw";
    case Op::Cwd: return "cwd";
    case Op::Push: return "push";
    case Op::Pop: return "pop";
    case Op::Pusha: return "pusha";
    case Op::Popa: return "popa";
    case Op::Pushf: return "pushf";
    case Op::Popf: return "popf";
    case Op::Lahf: return "lahf";
    case Op::Sahf: return "sahf";
    case Op::Salc: return "salc";
    case Op::Lds: return "lds";
    case Op::Les: return "les";
    case Op::Lfs: return "lfs";
    case Op::Lgs: return "lgs";
    case Op::Lss: return "lss";
    case Op::Enter: return "enter";
    case Op::Leave: return "leave";
    case Op::Bound: return "bound";
    case Op::Arpl: return "arpl";
    case Op::Jmp: return "jmp";
    case Op::JmpFar: return "jmp_far";
    case Op::Jcc: return "jcc";
    case Op::Call: return "call";
    case Op::CallFar: return "call_far";
    case Op::Ret: return "ret";
    case Op::RetFar: return "ret_far";
    case Op::Loop: return "loop";
    case Op::Loope: return "loope";
    case Op::Loopne: return "loopne";
    case Op::Jcxz: return "jcxz";
    case Op::Int: return "int";
    case Op::Int3: return "int3";
    case Op::Into: return "into";
    case Op::Iret: return "iret";
    case Op::Clc: return "clc";
    case Op::Stc: return "stc";
    case Op::Cmc: return "cmc";
    case Op::Cld: return "cld";
    case Op::Std: return "std";
    case Op::Cli: return "cli";
    case Op::Sti: return "sti";
    case Op::Movs: return "movs";
    case Op::Cmps: return "cmps";
    case Op::Stos: return "stos";
    case Op::Lods: return "lods";
    case Op::Scas: return "scas";
    case Op::Ins: return "ins";
    case Op::Outs: return "outs";
    case Op::In: return "in";
    case Op::Out: return "out";
    case Op::Lgdt: return "lgdt";
    case Op::Lidt: return "lidt";
    case Op::Sgdt: return "sgdt";
    case Op::Sidt: return "sidt";
    case Op::Lldt: return "lldt";
    case Op::Sldt: return "sldt";
    case Op::Ltr: return "ltr";
    case Op::Str: return "str";
    case Op::Lmsw: return "lmsw";
    case Op::Smsw: return "smsw";
    case Op::Clts: return "clts";
    case Op::Lar: return "lar";
    case Op::Lsl: return "lsl";
    case Op::Verr: return "verr";
    case Op::Verw: return "verw";
    case Op::Invd: return "invd";
    case Op::Wbinvd: return "wbinvd";
    case Op::Invlpg: return "invlpg";
    case Op::Hlt: return "hlt";
    case Op::Nop: return "nop";
    case Op::Ud2: return "ud2";
    case Op::Cpuid: return "cpuid";
    case Op::Rdtsc: return "rdtsc";
    case Op::Rdmsr: return "rdmsr";
    case Op::Wrmsr: return "wrmsr";
    case Op::Wait: return "wait";
    case Op::Fninit: return "fninit";
    case Op::Fnstsw: return "fnstsw";
    case Op::Fnstcw: return "fnstcw";
    case Op::Fldcw: return "fldcw";
    case Op::Fnclex: return "fnclex";
    case Op::Count: break;
    }
    return "?";
}

const char* status_name(DecodeStatus status) noexcept {
    switch (status) {
    case DecodeStatus::Ok: return "ok";
    case DecodeStatus::Invalid: return "invalid";
    case DecodeStatus::TooLong: return "too-long";
    case DecodeStatus::Truncated: return "truncated";
    case DecodeStatus::Unsupported: return "unsupported";
    }
    return "?";
}

} // namespace transit86::decoder
