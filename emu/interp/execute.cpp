// Dispatch: one switch from the decoded operation to its class handler.
#include "emu/interp/execute.hpp"

#include "emu/interp/handlers.hpp"

namespace transit86::emu {

namespace {

bool not_implemented(Cpu& cpu, const Insn&) {
    return cpu.unsupported("instruction not implemented");
}

// The class handler of each operation.
Dispatch::Handler handler_for(Op op) {
    switch (op) {
    case Op::Add:
    case Op::Or:
    case Op::Adc:
    case Op::Sbb:
    case Op::And:
    case Op::Sub:
    case Op::Xor:
    case Op::Cmp:
    case Op::Test: return &exec_alu;
    case Op::Inc:
    case Op::Dec: return &exec_incdec;
    case Op::Neg:
    case Op::Not: return &exec_neg_not;
    case Op::Mul:
    case Op::Imul:
    case Op::Div:
    case Op::Idiv: return &exec_muldiv;
    case Op::Cbw:
    case Op::Cwd: return &exec_convert;
    case Op::Rol:
    case Op::Ror:
    case Op::Rcl:
    case Op::Rcr:
    case Op::Shl:
    case Op::Shr:
    case Op::Sar: return &exec_shift;

    case Op::Mov: return &exec_mov;
    case Op::MovToSreg:
    case Op::MovFromSreg: return &exec_sreg;
    case Op::Xchg: return &exec_xchg;
    case Op::Movzx:
    case Op::Movsx: return &exec_extend;
    case Op::Lea: return &exec_lea;
    case Op::Push:
    case Op::Pop:
    case Op::Pusha:
    case Op::Popa:
    case Op::Pushf:
    case Op::Popf: return &exec_stack;
    case Op::Clc:
    case Op::Stc:
    case Op::Cmc:
    case Op::Cld:
    case Op::Std:
    case Op::Cli:
    case Op::Sti:
    case Op::Lahf:
    case Op::Sahf:
    case Op::Salc: return &exec_flags;
    case Op::Lds:
    case Op::Les:
    case Op::Lfs:
    case Op::Lgs:
    case Op::Lss: return &exec_load_far_pointer;
    case Op::Setcc:
    case Op::Cmovcc: return &exec_setcc_cmov;

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
    case Op::Int1:
    case Op::Int3:
    case Op::Into:
    case Op::Iret: return &exec_branch;

    case Op::Movs:
    case Op::Cmps:
    case Op::Stos:
    case Op::Lods:
    case Op::Scas:
    case Op::Ins:
    case Op::Outs: return &exec_string;

    case Op::In:
    case Op::Out: return &exec_io;

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
    case Op::MovToDr:
    case Op::MovFromDr:
    case Op::Lmsw:
    case Op::Smsw:
    case Op::Clts:
    case Op::Hlt:
    case Op::Nop:
    case Op::Invd:
    case Op::Wbinvd:
    case Op::Invlpg:
    case Op::Ud2: return &exec_system;

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
    case Op::Xadd: return &exec_bits;
    case Op::Daa:
    case Op::Das:
    case Op::Aaa:
    case Op::Aas:
    case Op::Aam:
    case Op::Aad: return &exec_bcd;
    case Op::Enter:
    case Op::Leave:
    case Op::Bound:
    case Op::Xlat: return &exec_frame;
    case Op::Arpl:
    case Op::Lar:
    case Op::Lsl:
    case Op::Verr:
    case Op::Verw: return &exec_protection;
    case Op::Cpuid:
    case Op::Rdtsc:
    case Op::Rdmsr:
    case Op::Wrmsr:
    case Op::Lfence:
    case Op::Mfence:
    case Op::Sfence: return &exec_processor;
    case Op::Wait:
    case Op::X87: return &exec_x87;

    default: return &not_implemented;
    }
}

} // namespace

bool execute(Cpu& cpu, const Insn& insn) {
    return dispatch_for(insn).handler(cpu, insn);
}

namespace {

bool needs_rollback(Op op) {
    switch (op) {
    case Op::Pusha:   // eight pushes
    case Op::CallFar: // pushes before CS loads; gates switch stacks
    case Op::JmpFar:
    case Op::RetFar:
    case Op::Iret:
    case Op::Int:
    case Op::Int1:
    case Op::Int3:
    case Op::Into:
    case Op::Enter:
    case Op::Leave: // ESP := EBP, then the pop may fault
    case Op::Loop:
    case Op::Loope:
    case Op::Loopne: // the counter changes before the branch target is checked
    case Op::Movs:
    case Op::Cmps:
    case Op::Stos:
    case Op::Lods:
    case Op::Scas:
    case Op::Ins:
    case Op::Outs: return true;
    default: return false;
    }
}

bool may_change_vmx_state(const Insn& insn) {
    switch (insn.op) {
    case Op::MovToSreg:
    case Op::Lds:
    case Op::Les:
    case Op::Lfs:
    case Op::Lgs:
    case Op::Lss:
    case Op::JmpFar:
    case Op::CallFar:
    case Op::RetFar:
    case Op::Iret:
    case Op::Int:
    case Op::Int1:
    case Op::Int3:
    case Op::Into:
    case Op::MovToCr:
    case Op::Lmsw:
    case Op::Ltr:
    case Op::Lldt:
    case Op::Popf: return true;
    case Op::Pop: return insn.operands[0].kind == OperandKind::Sreg;
    default: return false;
    }
}

bool raise_ud(Cpu& cpu, const Insn&) {
    return cpu.raise(vec::UD);
}

} // namespace

Dispatch dispatch_for(const Insn& insn) {
    Dispatch d;
    d.handler = handler_for(insn.op);
    // LOCK with a register destination: #UD, decided once (SDM Vol. 2 2.1.1).
    if ((insn.prefixes & decoder::prefix::Lock) && insn.operands[0].kind != OperandKind::Mem)
        d.handler = &raise_ud;
    d.needs_rollback = needs_rollback(insn.op);
    d.may_change_vmx_state = may_change_vmx_state(insn);
    // INT1 too: its delivery clears TF like INT n, so no single-step trap follows it.
    d.software_interrupt =
        insn.op == Op::Int || insn.op == Op::Int1 || insn.op == Op::Int3 || insn.op == Op::Into;
    return d;
}

} // namespace transit86::emu
