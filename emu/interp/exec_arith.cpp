// Arithmetic class: ALU operations, INC/DEC/NEG/NOT, MUL/IMUL/DIV/IDIV, CBW/CWD, shifts.
#include <type_traits>
#include <utility>

#include "emu/cpu/alu.hpp"
#include "emu/interp/handlers.hpp"

namespace transit86::emu {

namespace {

AluOp alu_op_of(Op op) {
    switch (op) {
    case Op::Add: return AluOp::Add;
    case Op::Or: return AluOp::Or;
    case Op::Adc: return AluOp::Adc;
    case Op::Sbb: return AluOp::Sbb;
    case Op::And:
    case Op::Test: return AluOp::And;
    case Op::Sub: return AluOp::Sub;
    case Op::Xor: return AluOp::Xor;
    default: return AluOp::Cmp;
    }
}

// add r/m, r/imm (and or/adc/sbb/and/sub/xor/cmp/test) ; lock add m, r/imm (and adc ... xor)
template <class T>
bool alu_binary(Cpu& cpu, const Insn& insn) {
    const Operand& dst = insn.operands[0];
    T a, b;
    if (!cpu.read_operand(insn, insn.operands[1], b)) return false;
    const AluOp op = alu_op_of(insn.op);
    const uint32_t carry = cpu.flag(flags::CF) ? 1 : 0;
    AluResult r{};
    if (insn.op == Op::Cmp || insn.op == Op::Test) {
        if (!cpu.read_operand(insn, dst, a)) return false;
        r = alu<T>(op, a, b, carry);
    } else if (!update_operand<T>(
                   cpu, insn, dst,
                   [&](T value) {
                       r = alu<T>(op, value, b, carry);
                       return static_cast<T>(r.value);
                   },
                   a)) {
        return false;
    }
    cpu.set_status(r.flags);
    return true;
}

// inc r/m ; dec r/m ; lock inc m ; lock dec m — CF is preserved (SDM INC/DEC).
template <class T>
bool inc_dec(Cpu& cpu, const Insn& insn) {
    AluResult r{};
    T old;
    const bool inc = insn.op == Op::Inc;
    if (!update_operand<T>(
            cpu, insn, insn.operands[0],
            [&](T value) {
                r = inc ? alu_add<T>(value, 1, 0) : alu_sub<T>(value, 1, 0);
                return static_cast<T>(r.value);
            },
            old))
        return false;
    cpu.set_status(r.flags, flags::Status & ~flags::CF);
    return true;
}

// neg r/m ; not r/m ; lock neg m ; lock not m
template <class T>
bool neg_not(Cpu& cpu, const Insn& insn) {
    T old;
    if (insn.op == Op::Not)
        return update_operand<T>(
            cpu, insn, insn.operands[0], [](T value) { return static_cast<T>(~value); }, old);
    AluResult r{};
    if (!update_operand<T>(
            cpu, insn, insn.operands[0],
            [&](T value) {
                r = alu_sub<T>(0, value, 0); // SDM NEG: CF = (source != 0), as 0 - source
                return static_cast<T>(r.value);
            },
            old))
        return false;
    cpu.set_status(r.flags);
    return true;
}

template <class T>
using Signed = std::make_signed_t<T>;

// Accumulator halves: AL/AH for bytes, AX/DX and EAX/EDX otherwise.
template <class T>
void set_accumulator_pair(Cpu& cpu, T low, T high) {
    if constexpr (sizeof(T) == 1) {
        cpu.set_reg<uint16_t>(0, static_cast<uint16_t>(low | (uint32_t{high} << 8)));
    } else {
        cpu.set_reg<T>(0, low);
        cpu.set_reg<T>(2, high);
    }
}
// The dividend's halves: AH:AL, DX:AX or EDX:EAX.
template <class T>
std::pair<T, T> accumulator_halves(const Cpu& cpu) {
    if constexpr (sizeof(T) == 1) {
        const uint16_t ax = cpu.reg<uint16_t>(0);
        return {static_cast<T>(ax >> 8), static_cast<T>(ax)};
    } else {
        return {cpu.reg<T>(2), cpu.reg<T>(0)};
    }
}

// mul r/m ; imul r/m ; imul r, r/m ; imul r, r/m, imm ; div r/m ; idiv r/m
template <class T>
bool mul_div(Cpu& cpu, const Insn& insn) {
    if (insn.op == Op::Imul && insn.operand_count >= 2) {
        const Operand& src = insn.operands[insn.operand_count == 3 ? 1 : 1];
        T a, b;
        if (!cpu.read_operand(insn, src, a)) return false;
        if (insn.operand_count == 3) {
            if (!cpu.read_operand(insn, insn.operands[2], b)) return false;
        } else {
            b = cpu.reg<T>(insn.operands[0].reg);
        }
        const Product<T> p = alu_multiply<T, true>(a, b);
        cpu.set_reg<T>(insn.operands[0].reg, p.low);
        cpu.set_status(multiply_flags<T>(p.low, p.overflow));
        return true;
    }
    T src;
    if (!cpu.read_operand(insn, insn.operands[0], src)) return false;
    const T acc = cpu.reg<T>(0);
    switch (insn.op) {
    case Op::Mul:
    case Op::Imul: {
        const Product<T> p =
            insn.op == Op::Mul ? alu_multiply<T, false>(acc, src) : alu_multiply<T, true>(acc, src);
        set_accumulator_pair<T>(cpu, p.low, p.high);
        cpu.set_status(multiply_flags<T>(p.low, p.overflow));
        return true;
    }
    default: { // Div, Idiv
        const auto [high, low] = accumulator_halves<T>(cpu);
        Quotient<T> q;
        if (!(insn.op == Op::Div ? alu_divide<T, false>(high, low, src, q)
                                 : alu_divide<T, true>(high, low, src, q)))
            return cpu.raise(vec::DE);
        set_accumulator_pair<T>(cpu, q.quotient, q.remainder);
        return true;
    }
    }
}

// cbw/cwde ; cwd/cdq
template <class T>
bool convert(Cpu& cpu, const Insn& insn) {
    if constexpr (sizeof(T) == 1) {
        return cpu.unsupported("byte-sized convert");
    } else if (insn.op == Op::Cbw) { // AL -> AX, AX -> EAX
        using Half = std::conditional_t<sizeof(T) == 2, int8_t, int16_t>;
        const auto half = static_cast<Half>(cpu.reg<T>(0));
        cpu.set_reg<T>(0, static_cast<T>(static_cast<Signed<T>>(half)));
        return true;
    } else { // AX -> DX:AX, EAX -> EDX:EAX
        cpu.set_reg<T>(2, msb(cpu.reg<T>(0)) ? static_cast<T>(~T{0}) : T{0});
        return true;
    }
}

ShiftOp shift_op_of(Op op) {
    switch (op) {
    case Op::Rol: return ShiftOp::Rol;
    case Op::Ror: return ShiftOp::Ror;
    case Op::Rcl: return ShiftOp::Rcl;
    case Op::Rcr: return ShiftOp::Rcr;
    case Op::Shl: return ShiftOp::Shl;
    case Op::Shr: return ShiftOp::Shr;
    default: return ShiftOp::Sar;
    }
}

// rol/ror/rcl/rcr/shl/shr/sar r/m, 1|cl|imm8 — count masked to 5 bits (SDM SAL/SHL);
// emu/cpu/alu.hpp alu_shift computes the result and flags.
template <class T>
bool shift(Cpu& cpu, const Insn& insn) {
    T value;
    uint8_t count8;
    if (!cpu.read_operand(insn, insn.operands[0], value) ||
        !cpu.read_operand(insn, insn.operands[1], count8))
        return false;
    const ShiftOp op = shift_op_of(insn.op);
    const unsigned count = shift_count<T>(op, count8);
    // A masked count of 0 changes nothing, but the destination is still checked for a write
    // (SDM SAL/SAR/SHL/SHR, ROL/ROR/RCL/RCR: #GP(0) for a non-writable segment, no count
    // exception); KVM's emulator agrees.
    if (count == 0) return check_writable(cpu, insn, insn.operands[0]);
    const AluResult r = alu_shift<T>(op, value, count, cpu.s.eflags & flags::Status);
    if (!cpu.write_operand(insn, insn.operands[0], static_cast<T>(r.value))) return false;
    cpu.set_status(r.flags);
    return true;
}

} // namespace

bool exec_alu(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return alu_binary<T>(cpu, insn); });
}
bool exec_incdec(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return inc_dec<T>(cpu, insn); });
}
bool exec_neg_not(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return neg_not<T>(cpu, insn); });
}
bool exec_muldiv(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return mul_div<T>(cpu, insn); });
}
bool exec_convert(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return convert<T>(cpu, insn); });
}
bool exec_shift(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return shift<T>(cpu, insn); });
}

} // namespace transit86::emu
