// Block-engine handlers for the rest of the arithmetic class: shifts and rotates, SHLD/SHRD,
// MUL/IMUL, DIV/IDIV, NEG/NOT, SETcc, CMOVcc, CBW/CWD. Each is written once per operation and
// form, templated over the width; the results and flags come from the interpreter's primitives
// (emu/cpu/alu.hpp: alu_shift, alu_double_shift, alu_multiply, multiply_flags, alu_divide), so
// both tiers compute them the same way.
// tests/emu/block/block_engine_test.cpp runs every form both ways.
#include <array>
#include <utility>

#include "emu/block/block_operands.hpp"
#include "emu/cpu/alu.hpp"

namespace transit86::emu::block {

namespace {

using Handler = BlockOp::Handler;
using decoder::Op;
using decoder::OperandKind;

constexpr uint8_t kEcx = 1 * 4; // byte offset of ECX (CL)
constexpr uint8_t kEdx = 2 * 4; // of EDX

// A T-sized destination (register or memory) read, then written back.
template <class T, bool Memory>
struct Destination {
    uint8_t* p = nullptr;
    bool reach(BlockContext& c, const BlockOp& op) {
        if constexpr (Memory) p = host_address<T, true>(c, op);
        return !Memory || p != nullptr;
    }
    T get(const BlockContext& c, const BlockOp& op) const {
        if constexpr (Memory) return load<T>(p);
        return get_reg<T>(c, op.dst);
    }
    void set(BlockContext& c, const BlockOp& op, T v) const {
        if constexpr (Memory)
            store<T>(p, v);
        else
            set_reg<T>(c, op.dst, v);
    }
};

// ---- shifts and rotates

// rol r/m, 1|cl|imm8 ; ror ; rcl ; rcr ; shl ; shr ; sar — a memory destination is checked
// for writing even when the masked count is 0 (the interpreter raises that #GP)
template <ShiftOp K, class T, bool Memory, bool CountInCl>
bool shift(BlockContext& c, const BlockOp& op) {
    Destination<T, Memory> d;
    if (!d.reach(c, op)) return false;
    const unsigned count = shift_count<T>(K, CountInCl ? get_reg<uint8_t>(c, kEcx) : op.imm);
    if (count == 0) return true;
    // Only rotates keep flags they do not compute; shifts set all six.
    const uint32_t before = is_rotate(K) ? c.flags.status() : 0;
    const AluResult r = alu_shift<T>(K, d.get(c, op), count, before);
    d.set(c, op, static_cast<T>(r.value));
    c.flags = is_rotate(K) ? LazyFlags::from_eflags(r.flags)
                           : LazyFlags::from_status<T>(static_cast<T>(r.value), r.flags);
    return true;
}

// shld r/m, r, imm8|cl ; shrd r/m, r, imm8|cl — `src` is the register shifted in; a memory
// destination is checked for writing even when the masked count is 0, as for the shifts
template <class T, bool Left, bool Memory, bool CountInCl>
bool double_shift(BlockContext& c, const BlockOp& op) {
    Destination<T, Memory> d;
    if (!d.reach(c, op)) return false;
    const unsigned count = (CountInCl ? get_reg<uint8_t>(c, kEcx) : op.imm) & 0x1F;
    if (count == 0) return true;
    const T dst = d.get(c, op);
    const AluResult r =
        alu_double_shift<T>(Left, dst, get_reg<T>(c, op.src), count, c.flags.status());
    d.set(c, op, static_cast<T>(r.value));
    c.flags = LazyFlags::from_status<T>(static_cast<T>(r.value), r.flags);
    return true;
}

// ---- multiplication

// AH:AL, DX:AX or EDX:EAX := high:low
template <class T>
void set_accumulator_pair(BlockContext& c, T low, T high) {
    if constexpr (sizeof(T) == 1) {
        set_reg<uint16_t>(c, 0, static_cast<uint16_t>(low | (uint32_t{high} << 8)));
    } else {
        set_reg<T>(c, 0, low);
        set_reg<T>(c, kEdx, high);
    }
}

// mul r/m ; imul r/m — AX = AL * src, DX:AX = AX * src, EDX:EAX = EAX * src
template <class T, bool Signed, bool Memory>
bool multiply_accumulator(BlockContext& c, const BlockOp& op) {
    T src;
    if (!read_source<T, Memory>(c, op, src)) return false;
    const Product<T> p = alu_multiply<T, Signed>(get_reg<T>(c, 0), src);
    set_accumulator_pair<T>(c, p.low, p.high);
    c.flags = LazyFlags::from_status<T>(p.low, multiply_flags<T>(p.low, p.overflow));
    return true;
}

// div r/m ; idiv r/m — AH:AL, DX:AX or EDX:EAX divided by src into quotient (AL, AX, EAX) and
// remainder (AH, DX, EDX); #DE (a zero divisor, a quotient too large) declines, and the
// interpreter raises it. The flags are left as they were (undefined, SDM DIV, IDIV).
template <class T, bool Signed, bool Memory>
bool divide_accumulator(BlockContext& c, const BlockOp& op) {
    T src;
    if (!read_source<T, Memory>(c, op, src)) return false;
    T high;
    if constexpr (sizeof(T) == 1)
        high = get_reg<uint8_t>(c, 1); // AH
    else
        high = get_reg<T>(c, kEdx);
    Quotient<T> q;
    if (!alu_divide<T, Signed>(high, get_reg<T>(c, 0), src, q)) return false;
    set_accumulator_pair<T>(c, q.quotient, q.remainder);
    return true;
}

// imul r, r/m ; imul r, r/m, imm
template <class T, bool Memory, bool Immediate>
bool multiply_register(BlockContext& c, const BlockOp& op) {
    T a;
    if (!read_source<T, Memory>(c, op, a)) return false;
    const T b = Immediate ? static_cast<T>(op.imm) : get_reg<T>(c, op.dst);
    const Product<T> p = alu_multiply<T, true>(a, b);
    set_reg<T>(c, op.dst, p.low);
    c.flags = LazyFlags::from_status<T>(p.low, multiply_flags<T>(p.low, p.overflow));
    return true;
}

// ---- NEG, NOT

// neg r/m — CF = (source != 0), as 0 - source (SDM NEG)
template <class T, bool Memory>
bool neg(BlockContext& c, const BlockOp& op) {
    Destination<T, Memory> d;
    if (!d.reach(c, op)) return false;
    const T a = d.get(c, op);
    const T r = static_cast<T>(0 - a);
    d.set(c, op, r);
    c.flags.set_sub<T>(0, a, r);
    return true;
}

// not r/m — no flags
template <class T, bool Memory>
bool bitwise_not(BlockContext& c, const BlockOp& op) {
    Destination<T, Memory> d;
    if (!d.reach(c, op)) return false;
    d.set(c, op, static_cast<T>(~d.get(c, op)));
    return true;
}

// ---- SETcc, CMOVcc

// setcc r/m8
template <uint8_t Cc, bool Memory>
bool setcc(BlockContext& c, const BlockOp& op) {
    Destination<uint8_t, Memory> d;
    if (!d.reach(c, op)) return false;
    d.set(c, op, c.flags.condition(Cc) ? 1 : 0);
    return true;
}

// cmovcc r, r/m — the source is read whatever the condition (SDM CMOVcc)
template <uint8_t Cc, class T, bool Memory>
bool cmovcc(BlockContext& c, const BlockOp& op) {
    T value;
    if (!read_source<T, Memory>(c, op, value)) return false;
    if (c.flags.condition(Cc)) set_reg<T>(c, op.dst, value);
    return true;
}

// ---- CBW, CWD

// cbw ; cwde — AL into AX, AX into EAX
template <class T>
bool widen_accumulator(BlockContext& c, const BlockOp&) {
    using Half = std::conditional_t<sizeof(T) == 2, int8_t, int16_t>;
    const auto half = static_cast<Half>(get_reg<T>(c, 0));
    set_reg<T>(c, 0, static_cast<T>(static_cast<std::make_signed_t<T>>(half)));
    return true;
}

// cwd ; cdq — the sign of AX into DX, of EAX into EDX
template <class T>
bool sign_into_edx(BlockContext& c, const BlockOp&) {
    set_reg<T>(c, kEdx, msb(get_reg<T>(c, 0)) ? static_cast<T>(~T{0}) : T{0});
    return true;
}

// ---- lowering

template <bool Memory, size_t... Cc>
constexpr auto make_setcc_table(std::index_sequence<Cc...>) {
    return std::array<Handler, sizeof...(Cc)>{chain<&setcc<static_cast<uint8_t>(Cc), Memory>>...};
}
template <class T, bool Memory, size_t... Cc>
constexpr auto make_cmov_table(std::index_sequence<Cc...>) {
    return std::array<Handler, sizeof...(Cc)>{
        chain<&cmovcc<static_cast<uint8_t>(Cc), T, Memory>>...};
}

template <ShiftOp K>
Handler shift_handler(uint8_t size, bool memory, bool count_in_cl) {
    return by_width(size, [=]<class T>(T) -> Handler {
        if (memory)
            return count_in_cl ? chain<&shift<K, T, true, true>> : chain<&shift<K, T, true, false>>;
        return count_in_cl ? chain<&shift<K, T, false, true>> : chain<&shift<K, T, false, false>>;
    });
}

Handler shift_handler_for(Op op, uint8_t size, bool memory, bool count_in_cl) {
    switch (op) {
    case Op::Rol: return shift_handler<ShiftOp::Rol>(size, memory, count_in_cl);
    case Op::Ror: return shift_handler<ShiftOp::Ror>(size, memory, count_in_cl);
    case Op::Rcl: return shift_handler<ShiftOp::Rcl>(size, memory, count_in_cl);
    case Op::Rcr: return shift_handler<ShiftOp::Rcr>(size, memory, count_in_cl);
    case Op::Shl: return shift_handler<ShiftOp::Shl>(size, memory, count_in_cl);
    case Op::Shr: return shift_handler<ShiftOp::Shr>(size, memory, count_in_cl);
    case Op::Sar: return shift_handler<ShiftOp::Sar>(size, memory, count_in_cl);
    default: return nullptr;
    }
}

template <bool Left>
Handler double_shift_handler(uint8_t size, bool memory, bool count_in_cl) {
    return by_width(size, [=]<class T>(T) -> Handler {
        if constexpr (sizeof(T) == 1) {
            return nullptr; // no byte form
        } else {
            if (memory)
                return count_in_cl ? chain<&double_shift<T, Left, true, true>>
                                   : chain<&double_shift<T, Left, true, false>>;
            return count_in_cl ? chain<&double_shift<T, Left, false, true>>
                               : chain<&double_shift<T, Left, false, false>>;
        }
    });
}

// The r/m operand `m` into `out`: a register as dst/src (both), memory as its address.
bool lower_rm(const decoder::Insn& insn, const decoder::Operand& m, uint8_t size, BlockOp& out) {
    if (m.kind == OperandKind::Reg) {
        out.dst = out.src = register_byte_offset(m.reg, size);
        return true;
    }
    if (m.kind != OperandKind::Mem) return false;
    lower_memory(insn, m, out);
    return true;
}

Handler multiply_handler(const decoder::Insn& insn, bool memory) {
    const uint8_t size = insn.operand_size;
    if (insn.operand_count == 1) {
        const bool is_signed = insn.op == Op::Imul;
        return by_width(size, [=]<class T>(T) -> Handler {
            if (is_signed)
                return memory ? chain<&multiply_accumulator<T, true, true>>
                              : chain<&multiply_accumulator<T, true, false>>;
            return memory ? chain<&multiply_accumulator<T, false, true>>
                          : chain<&multiply_accumulator<T, false, false>>;
        });
    }
    const bool immediate = insn.operand_count == 3;
    return by_width(size, [=]<class T>(T) -> Handler {
        if constexpr (sizeof(T) == 1) return nullptr; // no byte form
        if (immediate)
            return memory ? chain<&multiply_register<T, true, true>>
                          : chain<&multiply_register<T, false, true>>;
        return memory ? chain<&multiply_register<T, true, false>>
                      : chain<&multiply_register<T, false, false>>;
    });
}

} // namespace

bool lower_arith_op(const decoder::Insn& insn, BlockOp& out) {
    const uint8_t size = insn.operand_size;
    const decoder::Operand& a = insn.operands[0];
    const decoder::Operand& b = insn.operands[1];
    switch (insn.op) {
    case Op::Rol:
    case Op::Ror:
    case Op::Rcl:
    case Op::Rcr:
    case Op::Shl:
    case Op::Shr:
    case Op::Sar: {
        if (insn.operand_count != 2) return false;
        const bool count_in_cl = b.kind == OperandKind::Reg;
        if (count_in_cl ? (b.reg != 1 || b.size != 1) : b.kind != OperandKind::Imm) return false;
        if (!lower_rm(insn, a, size, out)) return false;
        out.imm = b.value & 0xFF;
        out.handler = shift_handler_for(insn.op, size, a.kind == OperandKind::Mem, count_in_cl);
        out.registers_only = a.kind == OperandKind::Reg;
        return out.handler != nullptr;
    }
    case Op::Shld:
    case Op::Shrd: {
        if (insn.operand_count != 3 || b.kind != OperandKind::Reg) return false;
        const decoder::Operand& n = insn.operands[2];
        const bool count_in_cl = n.kind == OperandKind::Reg;
        if (count_in_cl ? (n.reg != 1 || n.size != 1) : n.kind != OperandKind::Imm) return false;
        if (!lower_rm(insn, a, size, out)) return false;
        out.src = register_byte_offset(b.reg, size);
        out.imm = n.value & 0xFF;
        const bool memory = a.kind == OperandKind::Mem;
        out.handler = insn.op == Op::Shld ? double_shift_handler<true>(size, memory, count_in_cl)
                                          : double_shift_handler<false>(size, memory, count_in_cl);
        out.registers_only = !memory;
        return out.handler != nullptr;
    }
    case Op::Mul:
    case Op::Imul: {
        if (insn.operand_count == 1) {
            if (!lower_rm(insn, a, size, out)) return false;
        } else {
            // imul r, r/m [, imm]: the product goes to `a`, r/m is the source.
            if (a.kind != OperandKind::Reg ||
                (insn.operand_count == 3) != (insn.operands[2].kind == OperandKind::Imm))
                return false;
            if (!lower_rm(insn, b, size, out)) return false;
            out.dst = register_byte_offset(a.reg, size);
            if (insn.operand_count == 3) out.imm = insn.operands[2].value;
        }
        const bool memory = (insn.operand_count == 1 ? a : b).kind == OperandKind::Mem;
        out.handler = multiply_handler(insn, memory);
        out.registers_only = !memory;
        return out.handler != nullptr;
    }
    case Op::Div:
    case Op::Idiv: {
        if (insn.operand_count != 1 || !lower_rm(insn, a, size, out)) return false;
        const bool memory = a.kind == OperandKind::Mem;
        const bool is_signed = insn.op == Op::Idiv;
        out.handler = by_width(size, [=]<class T>(T) -> Handler {
            if (is_signed)
                return memory ? chain<&divide_accumulator<T, true, true>>
                              : chain<&divide_accumulator<T, true, false>>;
            return memory ? chain<&divide_accumulator<T, false, true>>
                          : chain<&divide_accumulator<T, false, false>>;
        });
        out.registers_only = !memory;
        return out.handler != nullptr;
    }
    case Op::Neg:
    case Op::Not: {
        if (insn.operand_count != 1 || !lower_rm(insn, a, size, out)) return false;
        const bool memory = a.kind == OperandKind::Mem;
        out.handler = by_width(size, [=, &insn]<class T>(T) -> Handler {
            if (insn.op == Op::Neg) return memory ? chain<&neg<T, true>> : chain<&neg<T, false>>;
            return memory ? chain<&bitwise_not<T, true>> : chain<&bitwise_not<T, false>>;
        });
        out.registers_only = !memory;
        return out.handler != nullptr;
    }
    case Op::Setcc: {
        static constexpr auto kRegister = make_setcc_table<false>(std::make_index_sequence<16>{});
        static constexpr auto kMemory = make_setcc_table<true>(std::make_index_sequence<16>{});
        if (insn.operand_count != 1 || !lower_rm(insn, a, 1, out)) return false;
        const bool memory = a.kind == OperandKind::Mem;
        out.handler = (memory ? kMemory : kRegister)[insn.cc & 15];
        out.registers_only = !memory;
        return true;
    }
    case Op::Cmovcc: {
        if (insn.operand_count != 2 || a.kind != OperandKind::Reg || !lower_rm(insn, b, size, out))
            return false;
        out.dst = register_byte_offset(a.reg, size);
        const bool memory = b.kind == OperandKind::Mem;
        const uint8_t cc = insn.cc & 15;
        out.handler = by_width(size, [=]<class T>(T) -> Handler {
            if constexpr (sizeof(T) == 1) {
                return nullptr;
            } else {
                static constexpr auto kRegister =
                    make_cmov_table<T, false>(std::make_index_sequence<16>{});
                static constexpr auto kMemory =
                    make_cmov_table<T, true>(std::make_index_sequence<16>{});
                return (memory ? kMemory : kRegister)[cc];
            }
        });
        out.registers_only = !memory;
        return out.handler != nullptr;
    }
    case Op::Cbw:
    case Op::Cwd:
        out.handler = by_width(size, [&insn]<class T>(T) -> Handler {
            if constexpr (sizeof(T) == 1) {
                return nullptr;
            } else {
                return insn.op == Op::Cbw ? chain<&widen_accumulator<T>> : chain<&sign_into_edx<T>>;
            }
        });
        out.registers_only = true;
        return out.handler != nullptr;
    default: return false;
    }
}

} // namespace transit86::emu::block
