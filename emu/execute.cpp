// Dispatch: one switch from the decoded operation to its class handler.
#include "emu/handlers.hpp"

namespace transit86::emu {

bool execute(Cpu& cpu, const Insn& insn) {
    // SDM Vol. 2 2.1.1: LOCK is allowed only on read-modify-write forms with a memory
    // destination; the decoder rejects it elsewhere, a register destination gets #UD here.
    if ((insn.prefixes & decoder::prefix::Lock) && insn.operands[0].kind != OperandKind::Mem)
        return cpu.raise(vec::UD);

    switch (insn.op) {
    case Op::Add:
    case Op::Or:
    case Op::Adc:
    case Op::Sbb:
    case Op::And:
    case Op::Sub:
    case Op::Xor:
    case Op::Cmp:
    case Op::Test: return exec_alu(cpu, insn);
    case Op::Inc:
    case Op::Dec: return exec_incdec(cpu, insn);
    case Op::Neg:
    case Op::Not: return exec_neg_not(cpu, insn);
    case Op::Mul:
    case Op::Imul:
    case Op::Div:
    case Op::Idiv: return exec_muldiv(cpu, insn);
    case Op::Cbw:
    case Op::Cwd: return exec_convert(cpu, insn);
    case Op::Rol:
    case Op::Ror:
    case Op::Rcl:
    case Op::Rcr:
    case Op::Shl:
    case Op::Shr:
    case Op::Sar: return exec_shift(cpu, insn);

    case Op::Mov: return exec_mov(cpu, insn);
    case Op::MovToSreg:
    case Op::MovFromSreg: return exec_sreg(cpu, insn);
    case Op::Xchg: return exec_xchg(cpu, insn);
    case Op::Movzx:
    case Op::Movsx: return exec_extend(cpu, insn);
    case Op::Lea: return exec_lea(cpu, insn);
    case Op::Push:
    case Op::Pop:
    case Op::Pusha:
    case Op::Popa:
    case Op::Pushf:
    case Op::Popf: return exec_stack(cpu, insn);
    case Op::Clc:
    case Op::Stc:
    case Op::Cmc:
    case Op::Cld:
    case Op::Std:
    case Op::Cli:
    case Op::Sti:
    case Op::Lahf:
    case Op::Sahf:
    case Op::Salc: return exec_flags(cpu, insn);
    case Op::Lds:
    case Op::Les:
    case Op::Lfs:
    case Op::Lgs:
    case Op::Lss: return exec_load_far_pointer(cpu, insn);
    case Op::Setcc:
    case Op::Cmovcc: return exec_setcc_cmov(cpu, insn);

    case Op::Jmp:
    case Op::JmpFar:
    case Op::Jcc:
    case Op::Call:
    case Op::CallFar:
    case Op::Ret:
    case Op::RetFar:
    case Op::Loop:
    case Op::Loope:
    case Op::Loopne:
    case Op::Jcxz:
    case Op::Int:
    case Op::Int3:
    case Op::Into:
    case Op::Iret: return exec_branch(cpu, insn);

    case Op::Movs:
    case Op::Cmps:
    case Op::Stos:
    case Op::Lods:
    case Op::Scas:
    case Op::Ins:
    case Op::Outs: return exec_string(cpu, insn);

    case Op::In:
    case Op::Out: return exec_io(cpu, insn);

    case Op::Lgdt:
    case Op::Lidt:
    case Op::Sgdt:
    case Op::Sidt:
    case Op::Lldt:
    case Op::Sldt:
    case Op::Ltr:
    case Op::Str:
    case Op::MovToCr:
    case Op::MovFromCr:
    case Op::Lmsw:
    case Op::Smsw:
    case Op::Clts:
    case Op::Hlt:
    case Op::Nop:
    case Op::Invd:
    case Op::Wbinvd:
    case Op::Ud2: return exec_system(cpu, insn);

    case Op::Bt:
    case Op::Bts:
    case Op::Btr:
    case Op::Btc:
    case Op::Bsf:
    case Op::Bsr:
    case Op::Bswap:
    case Op::Shld:
    case Op::Shrd:
    case Op::Cmpxchg:
    case Op::Cmpxchg8b:
    case Op::Xadd: return exec_bits(cpu, insn);
    case Op::Daa:
    case Op::Das:
    case Op::Aaa:
    case Op::Aas:
    case Op::Aam:
    case Op::Aad: return exec_bcd(cpu, insn);
    case Op::Enter:
    case Op::Leave:
    case Op::Bound:
    case Op::Xlat: return exec_frame(cpu, insn);
    case Op::Arpl:
    case Op::Lar:
    case Op::Lsl:
    case Op::Verr:
    case Op::Verw: return exec_protection(cpu, insn);
    case Op::Cpuid:
    case Op::Rdtsc:
    case Op::Rdmsr:
    case Op::Wrmsr:
    case Op::Fninit:
    case Op::Fnclex:
    case Op::Fnstsw:
    case Op::Fnstcw:
    case Op::Fldcw:
    case Op::Wait: return exec_processor(cpu, insn);

    default: return cpu.unsupported("instruction not implemented");
    }
}

} // namespace transit86::emu
