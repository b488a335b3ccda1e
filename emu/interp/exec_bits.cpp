// Bit class: BT/BTS/BTR/BTC, BSF/BSR, BSWAP, SHLD/SHRD, CMPXCHG, CMPXCHG8B, XADD.
#include "emu/cpu/alu.hpp"
#include "emu/interp/handlers.hpp"

namespace transit86::emu {

namespace {

// bt r/m, r|imm8 ; bts ; btr ; btc ; lock bts m, r|imm8 ; lock btr ; lock btc — with a
// register offset and a memory operand the offset addresses a bit string beyond the operand
// (SDM BT: "Bit Base, Bit Offset").
template <class T>
bool bit_test(Cpu& cpu, const Insn& insn) {
    constexpr uint32_t bits = sizeof(T) * 8;
    const Operand& dst = insn.operands[0];
    const Operand& src = insn.operands[1];
    T offset_value;
    if (!cpu.read_operand(insn, src, offset_value)) return false;
    uint32_t bit;
    T value;
    Address a{};
    const bool in_memory = dst.kind == OperandKind::Mem;
    if (in_memory) {
        a = cpu.address_of(insn, dst);
        if (src.kind == OperandKind::Reg) {
            using S = std::make_signed_t<T>;
            const int64_t offset = static_cast<S>(offset_value);
            const int64_t chunk = offset >= 0 ? offset / bits : -((-offset + bits - 1) / bits);
            a.offset = static_cast<uint32_t>(a.offset + chunk * static_cast<int64_t>(sizeof(T)));
            if (insn.address_size == 2) a.offset &= 0xFFFF;
            bit = static_cast<uint32_t>(offset - chunk * bits);
        } else {
            bit = offset_value % bits;
        }
    } else {
        bit = offset_value % bits;
    }
    const T mask = static_cast<T>(T{1} << bit);
    const auto modify = [&](T v) {
        switch (insn.op) {
        case Op::Bts: return static_cast<T>(v | mask);
        case Op::Btr: return static_cast<T>(v & ~mask);
        default: return static_cast<T>(v ^ mask); // Btc
        }
    };
    if (insn.op == Op::Bt) {
        if (!in_memory)
            value = cpu.reg<T>(dst.reg);
        else if (!cpu.read<T>(a.seg, a.offset, value))
            return false;
    } else if (in_memory) {
        if (!update_memory<T>(cpu, a, is_locked(insn), modify, value)) return false;
    } else {
        value = cpu.reg<T>(dst.reg);
        cpu.set_reg<T>(dst.reg, modify(value));
    }
    cpu.set_flag(flags::CF, (value & mask) != 0); // ZF unaffected; OF/SF/AF/PF undefined, kept
    return true;
}

// bsf r, r/m ; bsr r, r/m — a zero source sets ZF and leaves the destination unchanged (the
// SDM says undefined; Intel silicon keeps it).
template <class T>
bool bit_scan(Cpu& cpu, const Insn& insn) {
    T src;
    if (!cpu.read_operand(insn, insn.operands[1], src)) return false;
    if (src == 0) {
        cpu.set_flag(flags::ZF, true);
        return true;
    }
    const int index = insn.op == Op::Bsf
                          ? std::countr_zero(src)
                          : static_cast<int>(sizeof(T) * 8 - 1) - std::countl_zero(src);
    cpu.set_reg<T>(insn.operands[0].reg, static_cast<T>(index));
    cpu.set_flag(flags::ZF, false);
    return true;
}

// shld r/m, r, imm8|cl ; shrd r/m, r, imm8|cl — count masked to 5 bits (alu_double_shift)
template <class T>
bool double_shift(Cpu& cpu, const Insn& insn) {
    T dst, src;
    uint8_t count8;
    if (!cpu.read_operand(insn, insn.operands[0], dst) ||
        !cpu.read_operand(insn, insn.operands[1], src) ||
        !cpu.read_operand(insn, insn.operands[2], count8))
        return false;
    const unsigned count = count8 & 0x1F;
    if (count == 0) return check_writable(cpu, insn, insn.operands[0]); // as for the shifts
    const AluResult r =
        alu_double_shift<T>(insn.op == Op::Shld, dst, src, count, cpu.s.eflags & flags::Status);
    if (!cpu.write_operand(insn, insn.operands[0], static_cast<T>(r.value))) return false;
    cpu.set_status(r.flags);
    return true;
}

// cmpxchg r/m, r ; lock cmpxchg m, r — the destination is written back even when the
// comparison fails (SDM CMPXCHG); locked, that write-back is part of the atomic operation.
template <class T>
bool compare_exchange(Cpu& cpu, const Insn& insn) {
    const T src = cpu.reg<T>(insn.operands[1].reg);
    const T acc = cpu.reg<T>(0);
    T dst;
    if (!update_operand<T>(
            cpu, insn, insn.operands[0], [&](T value) { return value == acc ? src : value; }, dst))
        return false;
    if (acc != dst) cpu.set_reg<T>(0, dst);
    cpu.set_status(alu_sub<T>(acc, dst, 0).flags);
    return true;
}

// xadd r/m, r ; lock xadd m, r
template <class T>
bool exchange_add(Cpu& cpu, const Insn& insn) {
    const Operand& dst = insn.operands[0];
    const uint8_t src_reg = insn.operands[1].reg;
    const T src = cpu.reg<T>(src_reg);
    AluResult r{};
    const auto add = [&](T value) {
        r = alu_add<T>(value, src, 0);
        return static_cast<T>(r.value);
    };
    T old;
    if (dst.kind == OperandKind::Mem) {
        if (!update_memory<T>(cpu, cpu.address_of(insn, dst), is_locked(insn), add, old))
            return false;
        cpu.set_reg<T>(src_reg, old);
    } else {
        // The source register receives the old destination first, so `xadd ax, ax` ends with
        // the sum (SDM XADD: TEMP := SRC + DEST; SRC := DEST; DEST := TEMP).
        old = cpu.reg<T>(dst.reg);
        const T sum = add(old);
        cpu.set_reg<T>(src_reg, old);
        cpu.set_reg<T>(dst.reg, sum);
    }
    cpu.set_status(r.flags);
    return true;
}

} // namespace

bool exec_bits(Cpu& cpu, const Insn& insn) {
    switch (insn.op) {
    case Op::Bt:
    case Op::Bts:
    case Op::Btr:
    case Op::Btc:
        return by_width(insn.operand_size, [&]<class T>(T) { return bit_test<T>(cpu, insn); });
    case Op::Bsf:
    case Op::Bsr:
        return by_width(insn.operand_size, [&]<class T>(T) { return bit_scan<T>(cpu, insn); });
    case Op::Shld:
    case Op::Shrd:
        return by_width(insn.operand_size, [&]<class T>(T) { return double_shift<T>(cpu, insn); });
    case Op::Cmpxchg:
        return by_width(insn.operand_size,
                        [&]<class T>(T) { return compare_exchange<T>(cpu, insn); });
    case Op::Xadd:
        return by_width(insn.operand_size, [&]<class T>(T) { return exchange_add<T>(cpu, insn); });
    case Op::Bswap: { // bswap r32 — with a 16-bit operand the result is undefined; silicon
                      // clears the register, and so do we
        const uint8_t reg = insn.operands[0].reg;
        if (insn.operand_size == 2)
            cpu.set_reg<uint16_t>(reg, 0);
        else
            cpu.set_reg<uint32_t>(reg, __builtin_bswap32(cpu.reg<uint32_t>(reg)));
        return true;
    }
    case Op::Cmpxchg8b: { // cmpxchg8b m64 ; lock cmpxchg8b m64
        const Operand& op = insn.operands[0];
        if (op.kind != OperandKind::Mem) return cpu.raise(vec::UD);
        const uint64_t edx_eax = (uint64_t{cpu.s[Gpr::EDX]} << 32) | cpu.s[Gpr::EAX];
        const uint64_t ecx_ebx = (uint64_t{cpu.s[Gpr::ECX]} << 32) | cpu.s[Gpr::EBX];
        uint64_t m;
        if (!update_memory<uint64_t>(
                cpu, cpu.address_of(insn, op), is_locked(insn),
                [&](uint64_t value) { return value == edx_eax ? ecx_ebx : value; }, m))
            return false;
        const bool equal = m == edx_eax;
        if (!equal) {
            cpu.s[Gpr::EAX] = static_cast<uint32_t>(m);
            cpu.s[Gpr::EDX] = static_cast<uint32_t>(m >> 32);
        }
        cpu.set_flag(flags::ZF, equal);
        return true;
    }
    default: return cpu.unsupported("bit operation");
    }
}

} // namespace transit86::emu
