// Block-engine handlers: MOV, the ALU class, INC/DEC, LEA, NOP, Jcc and JMP rel, each written
// once per operation and form and templated over the width. Semantics are the interpreter's
// (exec_data.cpp, exec_arith.cpp, exec_control.cpp); the differential tests in
// tests/emu/block_engine_test.cpp run every form both ways.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "emu/block/block_operands.hpp"
#include "emu/block/block_ops.hpp"
#include "emu/cpu/alu.hpp"

namespace transit86::emu {

// block_operands.hpp
void block::load_segment_real(BlockContext& c, const BlockOp& op, uint8_t sreg, uint16_t selector) {
    if (sreg == static_cast<uint8_t>(Seg::SS)) c.after_mov_ss = c.retired + op.position + 1;
    SegmentCache& segment = (*c.state)[static_cast<Seg>(sreg)];
    segment.selector = selector;
    segment.base = uint32_t{selector} << 4;
    c.seg_loaded &= static_cast<uint8_t>(~(1u << sreg)); // computed again at its next access
    c.close_direct_windows(sreg);
    c.loaded_segment = true;
}

namespace {

using Handler = BlockOp::Handler;
using namespace block;

// ---- MOV

// mov r, r
template <class T>
bool mov_rr(BlockContext& c, const BlockOp& op) {
    set_reg<T>(c, op.dst, get_reg<T>(c, op.src));
    return true;
}
// mov r16, sreg ; mov r32, sreg — the selector, zero-extended to 32 bits (P6 and later, SDM
// MOV). No translated instruction loads a segment register, so it is the run's own.
template <class T>
bool mov_from_sreg(BlockContext& c, const BlockOp& op) {
    set_reg<T>(c, op.dst, static_cast<T>((*c.state)[static_cast<Seg>(op.seg)].selector));
    return true;
}
// mov Sreg, r16 (DS, ES, FS, GS, SS) in real mode: the selector, and the base selector << 4,
// the limit and access rights kept (segment_load.cpp, SDM Vol. 3A 20.1.1). The kvm profile asks
// of a real-mode segment only base = selector << 4 of these (kvm_real_mode.hpp), so a valid
// state stays valid; where the run loop watches for the state to become valid, it declines.
// MOV SS also blocks interrupts until the next instruction has run (SDM Vol. 3A 6.8.3): no
// interrupt is taken inside a block, and a run that stops right after it leaves the shadow
// in the state (BlockEngine::run).
bool mov_to_sreg_real(BlockContext& c, const BlockOp& op) {
    if (!real_mode_loads(c)) return false;
    load_segment_real(c, op, op.seg, get_reg<uint16_t>(c, op.src));
    return true;
}
// mov Sreg, m16 in real mode: as from a register; the Sreg is in op.dst (op.seg is the
// operand's segment)
bool mov_to_sreg_real_memory(BlockContext& c, const BlockOp& op) {
    if (!real_mode_loads(c)) return false;
    const uint8_t* p = host_address<uint16_t, false>(c, op);
    if (!p) return false;
    load_segment_real(c, op, op.dst, load<uint16_t>(p));
    return true;
}
// mov m16, Sreg — 16 bits written whatever the operand size (SDM MOV); the Sreg in op.src
bool mov_sreg_to_memory(BlockContext& c, const BlockOp& op) {
    uint8_t* p = host_address<uint16_t, true>(c, op);
    if (!p) return false;
    store<uint16_t>(p, (*c.state)[static_cast<Seg>(op.src)].selector);
    return true;
}
// mov r, imm
template <class T>
bool mov_ri(BlockContext& c, const BlockOp& op) {
    set_reg<T>(c, op.dst, static_cast<T>(op.imm));
    return true;
}
// mov r, m
template <class T>
bool mov_rm(BlockContext& c, const BlockOp& op) {
    const uint8_t* p = host_address<T, false>(c, op);
    if (!p) return false;
    set_reg<T>(c, op.dst, load<T>(p));
    return true;
}
// mov m, r
template <class T>
bool mov_mr(BlockContext& c, const BlockOp& op) {
    uint8_t* p = host_address<T, true>(c, op);
    if (!p) return false;
    store<T>(p, get_reg<T>(c, op.src));
    return true;
}
// mov m, imm
template <class T>
bool mov_mi(BlockContext& c, const BlockOp& op) {
    uint8_t* p = host_address<T, true>(c, op);
    if (!p) return false;
    store<T>(p, static_cast<T>(op.imm));
    return true;
}

// ---- ALU: add, or, adc, sbb, and, sub, xor, cmp, test

enum class AluKind : uint8_t { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp, Test };

template <AluKind K>
constexpr bool writes_destination = K != AluKind::Cmp&& K != AluKind::Test;

// The result of `a K b`, with the flags left in lazy form.
template <AluKind K, class T>
T alu_apply(BlockContext& c, T a, T b) {
    if constexpr (K == AluKind::Add) {
        const T r = static_cast<T>(a + b);
        c.flags.set_add<T>(a, b, r);
        return r;
    } else if constexpr (K == AluKind::Sub || K == AluKind::Cmp) {
        const T r = static_cast<T>(a - b);
        c.flags.set_sub<T>(a, b, r);
        return r;
    } else if constexpr (K == AluKind::Adc || K == AluKind::Sbb) {
        // Rare in hot loops: the interpreter's eager primitive, then stored lazily.
        const uint32_t carry = c.flags.cf() ? 1 : 0;
        const AluResult r = K == AluKind::Adc ? alu_add<T>(a, b, carry) : alu_sub<T>(a, b, carry);
        c.flags = LazyFlags::from_status<T>(static_cast<T>(r.value), r.flags);
        return static_cast<T>(r.value);
    } else {
        T r;
        if constexpr (K == AluKind::Or) r = static_cast<T>(a | b);
        if constexpr (K == AluKind::And || K == AluKind::Test) r = static_cast<T>(a & b);
        if constexpr (K == AluKind::Xor) r = static_cast<T>(a ^ b);
        c.flags.set_logic<T>(r);
        return r;
    }
}

// add r, r
template <AluKind K, class T>
bool alu_rr(BlockContext& c, const BlockOp& op) {
    const T r = alu_apply<K, T>(c, get_reg<T>(c, op.dst), get_reg<T>(c, op.src));
    if constexpr (writes_destination<K>) set_reg<T>(c, op.dst, r);
    return true;
}
// add r, imm
template <AluKind K, class T>
bool alu_ri(BlockContext& c, const BlockOp& op) {
    const T r = alu_apply<K, T>(c, get_reg<T>(c, op.dst), static_cast<T>(op.imm));
    if constexpr (writes_destination<K>) set_reg<T>(c, op.dst, r);
    return true;
}
// add r, m
template <AluKind K, class T>
bool alu_rm(BlockContext& c, const BlockOp& op) {
    const uint8_t* p = host_address<T, false>(c, op);
    if (!p) return false;
    const T r = alu_apply<K, T>(c, get_reg<T>(c, op.dst), load<T>(p));
    if constexpr (writes_destination<K>) set_reg<T>(c, op.dst, r);
    return true;
}
// add m, r / add m, imm: a destination that is written is checked for writing first.
template <AluKind K, class T, bool Immediate>
bool alu_m(BlockContext& c, const BlockOp& op) {
    uint8_t* p = host_address<T, writes_destination<K>>(c, op);
    if (!p) return false;
    const T b = Immediate ? static_cast<T>(op.imm) : get_reg<T>(c, op.src);
    const T r = alu_apply<K, T>(c, load<T>(p), b);
    if constexpr (writes_destination<K>) store<T>(p, r);
    return true;
}

// ---- INC / DEC (CF kept), LEA, NOP

// inc r ; dec r
template <bool Inc, class T>
bool incdec_r(BlockContext& c, const BlockOp& op) {
    const T a = get_reg<T>(c, op.dst);
    const T r = static_cast<T>(Inc ? a + 1 : a - 1);
    if constexpr (Inc)
        c.flags.set_inc<T>(a, r);
    else
        c.flags.set_dec<T>(a, r);
    set_reg<T>(c, op.dst, r);
    return true;
}
// inc m ; dec m
template <bool Inc, class T>
bool incdec_m(BlockContext& c, const BlockOp& op) {
    uint8_t* p = host_address<T, true>(c, op);
    if (!p) return false;
    const T a = load<T>(p);
    const T r = static_cast<T>(Inc ? a + 1 : a - 1);
    store<T>(p, r);
    if constexpr (Inc)
        c.flags.set_inc<T>(a, r);
    else
        c.flags.set_dec<T>(a, r);
    return true;
}

// lea r, m — the offset truncated to the operand size (SDM LEA)
template <class T>
bool lea(BlockContext& c, const BlockOp& op) {
    set_reg<T>(c, op.dst, static_cast<T>(offset_of(c, op)));
    return true;
}

// movzx r, r/m8 ; movzx r, r/m16 ; movsx r, r/m8 ; movsx r, r/m16
template <class T, class Source, bool Signed, bool Memory>
bool extend(BlockContext& c, const BlockOp& op) {
    Source v;
    if (!read_source<Source, Memory>(c, op, v)) return false;
    using Wide = std::conditional_t<Signed, std::make_signed_t<Source>, Source>;
    set_reg<T>(c, op.dst, static_cast<T>(static_cast<uint32_t>(static_cast<int32_t>(Wide(v)))));
    return true;
}

// xchg r, r
template <class T>
bool xchg_rr(BlockContext& c, const BlockOp& op) {
    const T a = get_reg<T>(c, op.dst), b = get_reg<T>(c, op.src);
    set_reg<T>(c, op.dst, b);
    set_reg<T>(c, op.src, a);
    return true;
}

// xchg m, r ; xchg r, m — with a memory operand the lock is implicit (SDM XCHG): one host
// atomic exchange, so that other vCPUs over the same RAM see it whole, as the interpreter's
// locked access does (emu/cpu/locked_access.hpp); a misaligned operand declines to it.
template <class T>
bool xchg_m(BlockContext& c, const BlockOp& op) {
    uint8_t* p = host_address<T, true>(c, op);
    if (!p || reinterpret_cast<uintptr_t>(p) % sizeof(T) != 0) return false;
    const T old = std::atomic_ref<T>(*reinterpret_cast<T*>(p)).exchange(get_reg<T>(c, op.src));
    set_reg<T>(c, op.src, old);
    return true;
}

// nop ; nop r/m (the operand is not accessed)
bool nop(BlockContext&, const BlockOp&) {
    return true;
}

// ---- lowering

enum class Form : uint8_t { RegReg, RegImm, RegMem, MemReg, MemImm, None };

Form form_of(const decoder::Insn& insn) {
    using decoder::OperandKind;
    if (insn.operand_count != 2) return Form::None;
    const OperandKind a = insn.operands[0].kind, b = insn.operands[1].kind;
    if (a == OperandKind::Reg && b == OperandKind::Reg) return Form::RegReg;
    if (a == OperandKind::Reg && b == OperandKind::Imm) return Form::RegImm;
    if (a == OperandKind::Reg && b == OperandKind::Mem) return Form::RegMem;
    if (a == OperandKind::Mem && b == OperandKind::Reg) return Form::MemReg;
    if (a == OperandKind::Mem && b == OperandKind::Imm) return Form::MemImm;
    return Form::None;
}

template <AluKind K>
Handler alu_handler(Form form, uint8_t size) {
    return by_width(size, [form]<class T>(T) -> Handler {
        switch (form) {
        case Form::RegReg: return chain<&alu_rr<K, T>>;
        case Form::RegImm: return chain<&alu_ri<K, T>>;
        case Form::RegMem: return chain<&alu_rm<K, T>>;
        case Form::MemReg: return chain<&alu_m<K, T, false>>;
        case Form::MemImm: return chain<&alu_m<K, T, true>>;
        default: return nullptr;
        }
    });
}

Handler mov_handler(Form form, uint8_t size) {
    return by_width(size, [form]<class T>(T) -> Handler {
        switch (form) {
        case Form::RegReg: return chain<&mov_rr<T>>;
        case Form::RegImm: return chain<&mov_ri<T>>;
        case Form::RegMem: return chain<&mov_rm<T>>;
        case Form::MemReg: return chain<&mov_mr<T>>;
        case Form::MemImm: return chain<&mov_mi<T>>;
        default: return nullptr;
        }
    });
}

template <class Source, bool Memory>
Handler extend_handler_of(bool sign, uint8_t size) {
    return by_width(size, [sign]<class T>(T) -> Handler {
        return sign ? chain<&extend<T, Source, true, Memory>>
                    : chain<&extend<T, Source, false, Memory>>;
    });
}
Handler extend_handler(bool sign, bool memory, uint8_t source_size, uint8_t size) {
    if (size == 1) return nullptr;
    if (source_size == 1)
        return memory ? extend_handler_of<uint8_t, true>(sign, size)
                      : extend_handler_of<uint8_t, false>(sign, size);
    return memory ? extend_handler_of<uint16_t, true>(sign, size)
                  : extend_handler_of<uint16_t, false>(sign, size);
}

template <bool Inc>
Handler incdec_handler(bool memory, uint8_t size) {
    return by_width(size, [memory]<class T>(T) -> Handler {
        return memory ? chain<&incdec_m<Inc, T>> : chain<&incdec_r<Inc, T>>;
    });
}

Handler alu_handler_for(decoder::Op op, Form form, uint8_t size) {
    using decoder::Op;
    switch (op) {
    case Op::Add: return alu_handler<AluKind::Add>(form, size);
    case Op::Or: return alu_handler<AluKind::Or>(form, size);
    case Op::Adc: return alu_handler<AluKind::Adc>(form, size);
    case Op::Sbb: return alu_handler<AluKind::Sbb>(form, size);
    case Op::And: return alu_handler<AluKind::And>(form, size);
    case Op::Sub: return alu_handler<AluKind::Sub>(form, size);
    case Op::Xor: return alu_handler<AluKind::Xor>(form, size);
    case Op::Cmp: return alu_handler<AluKind::Cmp>(form, size);
    case Op::Test: return alu_handler<AluKind::Test>(form, size);
    default: return nullptr;
    }
}

} // namespace

bool lower_to_block_op(const decoder::Insn& insn, uint32_t eip, BlockOp& out, bool& ends_block) {
    using decoder::Op;
    using decoder::OperandKind;
    // LOCK is #UD with a register destination and meaningless to a single vCPU otherwise:
    // the interpreter keeps it.
    if (insn.prefixes & decoder::prefix::Lock) return false;
    out = BlockOp{};
    out.eip = eip;
    ends_block = false;
    const uint8_t size = insn.operand_size;
    const decoder::Operand& a = insn.operands[0];
    const decoder::Operand& b = insn.operands[1];
    switch (insn.op) {
    case Op::Nop:
        out.handler = chain<&nop>;
        out.registers_only = true;
        return true;
    case Op::Movzx:
    case Op::Movsx: {
        if (insn.operand_count != 2 || a.kind != OperandKind::Reg ||
            (b.kind != OperandKind::Reg && b.kind != OperandKind::Mem) ||
            (b.size != 1 && b.size != 2))
            return false;
        out.dst = register_byte_offset(a.reg, size);
        if (b.kind == OperandKind::Reg)
            out.src = register_byte_offset(b.reg, b.size);
        else
            lower_memory(insn, b, out);
        out.handler =
            extend_handler(insn.op == Op::Movsx, b.kind == OperandKind::Mem, b.size, size);
        out.registers_only = b.kind == OperandKind::Reg;
        return out.handler != nullptr;
    }
    case Op::MovFromSreg:
        if (insn.operand_count != 2 || b.kind != OperandKind::Sreg || b.reg > 5) return false;
        if (a.kind == OperandKind::Mem) {
            lower_memory(insn, a, out);
            out.src = b.reg;
            out.handler = chain<&mov_sreg_to_memory>;
            return true;
        }
        if (a.kind != OperandKind::Reg || (size != 2 && size != 4)) return false;
        out.dst = register_byte_offset(a.reg, size);
        out.seg = b.reg;
        out.handler = size == 4 ? chain<&mov_from_sreg<uint32_t>> : chain<&mov_from_sreg<uint16_t>>;
        out.registers_only = true;
        return true;
    case Op::MovToSreg: // not CS (MOV CS is #UD)
        if (insn.operand_count != 2 || a.kind != OperandKind::Sreg ||
            a.reg == static_cast<uint8_t>(Seg::CS) || a.reg > static_cast<uint8_t>(Seg::GS))
            return false;
        if (b.kind == OperandKind::Mem) {
            lower_memory(insn, b, out);
            out.dst = a.reg;
            out.handler = chain<&mov_to_sreg_real_memory>;
            return true;
        }
        if (b.kind != OperandKind::Reg) return false;
        out.src = register_byte_offset(b.reg, 2);
        out.seg = a.reg;
        out.handler = chain<&mov_to_sreg_real>;
        return true;
    case Op::Xchg:
        if (const Form form = form_of(insn); form == Form::MemReg || form == Form::RegMem) {
            const bool memory_first = form == Form::MemReg;
            lower_memory(insn, memory_first ? a : b, out);
            out.src = register_byte_offset(memory_first ? b.reg : a.reg, size);
            out.handler = by_width(size, []<class T>(T) -> Handler { return chain<&xchg_m<T>>; });
            return out.handler != nullptr;
        }
        if (form_of(insn) != Form::RegReg) return false;
        out.dst = register_byte_offset(a.reg, size);
        out.src = register_byte_offset(b.reg, size);
        out.handler = by_width(size, []<class T>(T) -> Handler { return chain<&xchg_rr<T>>; });
        out.registers_only = true;
        return out.handler != nullptr;
    case Op::Inc:
    case Op::Dec: {
        if (insn.operand_count != 1 || (a.kind != OperandKind::Reg && a.kind != OperandKind::Mem))
            return false;
        const bool memory = a.kind == OperandKind::Mem;
        if (memory)
            lower_memory(insn, a, out);
        else
            out.dst = register_byte_offset(a.reg, size);
        out.handler = insn.op == Op::Inc ? incdec_handler<true>(memory, size)
                                         : incdec_handler<false>(memory, size);
        out.registers_only = !memory;
        return out.handler != nullptr;
    }
    case Op::Lea:
        if (insn.operand_count != 2 || a.kind != OperandKind::Reg || b.kind != OperandKind::Mem)
            return false;
        lower_memory(insn, b, out);
        out.dst = register_byte_offset(a.reg, size);
        out.handler = by_width(size, []<class T>(T) -> Handler { return chain<&lea<T>>; });
        out.registers_only = true; // the address is computed, not accessed
        return out.handler != nullptr;
    default:
        if (lower_flow_op(insn, eip, out, ends_block) || lower_string_op(insn, out) ||
            lower_io_op(insn, out) || lower_arith_op(insn, out))
            return true;
        break;
    }
    const Form form = form_of(insn);
    if (form == Form::None) return false;
    out.handler =
        insn.op == Op::Mov ? mov_handler(form, size) : alu_handler_for(insn.op, form, size);
    if (!out.handler) return false;
    if (a.kind == OperandKind::Reg) out.dst = register_byte_offset(a.reg, size);
    if (a.kind == OperandKind::Mem) lower_memory(insn, a, out);
    if (b.kind == OperandKind::Reg) out.src = register_byte_offset(b.reg, size);
    if (b.kind == OperandKind::Mem) lower_memory(insn, b, out);
    if (b.kind == OperandKind::Imm) out.imm = b.value;
    out.registers_only = form == Form::RegReg || form == Form::RegImm;
    return true;
}

} // namespace transit86::emu
