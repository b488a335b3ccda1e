// String class: MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS, with REP/REPE/REPNE.
//
// Each iteration commits its register updates before the next one starts, so a fault or a
// host exit in the middle of a REP leaves ESI/EDI/ECX at the interrupted iteration and EIP at
// the instruction: re-executing it resumes (SDM Vol. 2 REP, "interrupted string operations").
// A long REP also stops by itself every 1024 iterations, as KVM's does (Cpu::rep_restart).
#include "emu/cpu/alu.hpp"
#include "emu/interp/handlers.hpp"

namespace transit86::emu {

namespace {

// ESI/EDI under the address size: 16-bit forms use and update only SI/DI.
uint32_t index_reg(const Cpu& cpu, Gpr r, uint8_t address_size) {
    return address_size == 2 ? (cpu.s[r] & 0xFFFF) : cpu.s[r];
}
void advance_index(Cpu& cpu, Gpr r, uint8_t address_size, uint32_t step) {
    const uint32_t delta = cpu.flag(flags::DF) ? 0u - step : step;
    if (address_size == 2)
        cpu.set_reg<uint16_t>(static_cast<uint8_t>(r), static_cast<uint16_t>(cpu.s[r] + delta));
    else
        cpu.s[r] += delta;
}

// One iteration of the string operation; false when it stopped. For CMPS/SCAS, `equal`
// receives ZF for the REPE/REPNE termination test.
template <class T>
bool string_iteration(Cpu& cpu, const Insn& insn, bool& equal) {
    const uint8_t asz = insn.address_size;
    const auto src_seg = static_cast<Seg>(insn.segment);
    const uint32_t si = index_reg(cpu, Gpr::ESI, asz);
    const uint32_t di = index_reg(cpu, Gpr::EDI, asz);
    switch (insn.op) {
    case Op::Movs: { // movs m, m
        T v;
        if (!cpu.read<T>(src_seg, si, v) || !cpu.write<T>(Seg::ES, di, v)) return false;
        advance_index(cpu, Gpr::ESI, asz, sizeof(T));
        advance_index(cpu, Gpr::EDI, asz, sizeof(T));
        return true;
    }
    case Op::Stos: // stos m
        if (!cpu.write<T>(Seg::ES, di, cpu.reg<T>(0))) return false;
        advance_index(cpu, Gpr::EDI, asz, sizeof(T));
        return true;
    case Op::Lods: { // lods m
        T v;
        if (!cpu.read<T>(src_seg, si, v)) return false;
        cpu.set_reg<T>(0, v);
        advance_index(cpu, Gpr::ESI, asz, sizeof(T));
        return true;
    }
    case Op::Cmps:   // cmps m, m
    case Op::Scas: { // scas m
        T a, b;
        if (insn.op == Op::Cmps) {
            if (!cpu.read<T>(src_seg, si, a) || !cpu.read<T>(Seg::ES, di, b)) return false;
            advance_index(cpu, Gpr::ESI, asz, sizeof(T));
        } else {
            a = cpu.reg<T>(0);
            if (!cpu.read<T>(Seg::ES, di, b)) return false;
        }
        advance_index(cpu, Gpr::EDI, asz, sizeof(T));
        const AluResult r = alu_sub<T>(a, b, 0);
        cpu.set_status(r.flags);
        equal = (r.flags & flags::ZF) != 0;
        return true;
    }
    case Op::Ins: { // ins m, dx — the port is read before the write is checked
        uint32_t v;
        uint32_t linear;
        if (!cpu.linearize(Seg::ES, di, sizeof(T), true, linear)) return false;
        if (!port_in(cpu, cpu.reg<uint16_t>(2), sizeof(T), v)) return false;
        const T value = static_cast<T>(v);
        if (!cpu.write_linear(linear, &value, sizeof(T))) return false;
        advance_index(cpu, Gpr::EDI, asz, sizeof(T));
        return true;
    }
    case Op::Outs: { // outs dx, m
        T v;
        if (!cpu.read<T>(src_seg, si, v)) return false;
        if (!port_out(cpu, cpu.reg<uint16_t>(2), sizeof(T), v)) return false;
        advance_index(cpu, Gpr::ESI, asz, sizeof(T));
        return true;
    }
    default: return cpu.unsupported("string operation");
    }
}

template <class T>
bool string_op(Cpu& cpu, const Insn& insn) {
    bool equal = false;
    const bool rep = insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne);
    // SDM INS/OUTS: the I/O permission check comes first, even with a REP count of 0 (as
    // KVM's check_perm_in/out and QEMU's gen_check_io run before the count is looked at).
    if ((insn.op == Op::Ins || insn.op == Op::Outs) &&
        !io_permitted(cpu, cpu.reg<uint16_t>(2), sizeof(T)))
        return false;
    if (!rep) return string_iteration<T>(cpu, insn, equal);
    // CMPS/SCAS end on ZF: REPE (F3) while equal, REPNE (F2) while different.
    const bool compares = insn.op == Op::Cmps || insn.op == Op::Scas;
    const bool repne = insn.prefixes & decoder::prefix::Repne;
    while (cpu.count_reg(insn.address_size) != 0) {
        if (!string_iteration<T>(cpu, insn, equal)) return false;
        const uint32_t count = cpu.count_reg(insn.address_size) - 1;
        cpu.set_count_reg(insn.address_size, count);
        if (compares && equal == repne) break;
        // KVM's emulator re-enters the guest "after each 1024 iteration" (x86_emulate_insn:
        // when the count's low 10 bits reach zero with iterations left), and the instruction
        // runs again from the same EIP. Stopping at the same points bounds the work of one
        // step; the run loop counts each chunk against the budget, not as an instruction.
        if (count != 0 && (count & 0x3FF) == 0) {
            cpu.rep_restart = true;
            return true;
        }
    }
    return true;
}

} // namespace

bool exec_string(Cpu& cpu, const Insn& insn) {
    cpu.keep_progress = true; // see the file comment
    return by_width(insn.operand_size, [&]<class T>(T) { return string_op<T>(cpu, insn); });
}

} // namespace transit86::emu
