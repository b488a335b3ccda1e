// String class: MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS, with REP/REPE/REPNE.
//
// Each iteration commits its register updates before the next one starts, so a fault or a
// host exit in the middle of a REP leaves ESI/EDI/ECX at the interrupted iteration and EIP at
// the instruction: re-executing it resumes (SDM Vol. 2 REP, "interrupted string operations").
// A long REP also stops by itself every 1024 iterations, as KVM's does (Cpu::rep_restart).
#include <cstring>

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

// Host bytes for [lo, lo + bytes) through `seg` when every access of that range would pass
// Cpu::linearize() and reach one RAM slot with linear = physical; nullptr otherwise (the
// caller then takes the iterations one at a time, with their faults, MMIO and breakpoints).
uint8_t* range_in_ram(Cpu& cpu, Seg seg, uint32_t lo, uint32_t bytes, bool write) {
    const SegmentWindow w = segment_window(cpu.s, seg);
    if (int64_t{lo} + bytes - 1 > (write ? w.write_last : w.read_last)) return nullptr;
    const uint64_t linear = uint64_t{w.base} + lo;
    if (linear + bytes > (uint64_t{1} << 32)) return nullptr;
    return cpu.mem.host_range(linear, bytes, write);
}

// rep movs m, m ; rep stos m — the iterations up to the next stop point (the count's low 10 bits
// at zero, as in string_op) at once, when all of them stay in RAM: the same elements in the
// same order (DF), so overlapping MOVS ranges repeat as they do one by one, then the same
// ESI/EDI/ECX and restart. False, with nothing changed, when they do not qualify.
template <class T>
bool repeat_in_ram(Cpu& cpu, const Insn& insn) {
    // Paging or A20 masking, data breakpoints, or a trap already due after one iteration
    // (single step: string_op stops after each): one at a time.
    if (cpu.translated || cpu.watch_accesses || cpu.debug_traps != 0 || cpu.flag(flags::TF))
        return false;
    const uint8_t asz = insn.address_size;
    const uint32_t count = cpu.count_reg(asz);
    if (count == 0) return false;
    const uint32_t chunk = (count & 0x3FF) != 0 ? count & 0x3FF : 0x400;
    const uint32_t bytes = chunk * uint32_t{sizeof(T)};
    const bool down = cpu.flag(flags::DF);
    const uint32_t mask = asz == 2 ? 0xFFFFu : ~0u;
    // The lowest offset of the range whose first element is at `first`; false if it wraps.
    const auto lowest = [&](uint32_t first, uint32_t& lo) {
        const int64_t low = down ? int64_t{first} - (bytes - sizeof(T)) : int64_t{first};
        lo = static_cast<uint32_t>(low);
        return low >= 0 && uint64_t(low) + bytes - 1 <= mask;
    };
    const bool movs = insn.op == Op::Movs;
    uint32_t source_lo = 0, destination_lo = 0;
    if (!lowest(index_reg(cpu, Gpr::EDI, asz), destination_lo)) return false;
    if (movs && !lowest(index_reg(cpu, Gpr::ESI, asz), source_lo)) return false;
    const uint8_t* source =
        movs ? range_in_ram(cpu, static_cast<Seg>(insn.segment), source_lo, bytes, false) : nullptr;
    if (movs && !source) return false;
    uint8_t* destination = range_in_ram(cpu, Seg::ES, destination_lo, bytes, true);
    if (!destination) return false;
    const T value = cpu.reg<T>(0);
    for (uint32_t i = 0; i < chunk; ++i) {
        const uint32_t at = (down ? chunk - 1 - i : i) * uint32_t{sizeof(T)};
        T element = value;
        if (movs) std::memcpy(&element, source + at, sizeof(T));
        std::memcpy(destination + at, &element, sizeof(T));
    }
    if (movs) advance_index(cpu, Gpr::ESI, asz, bytes);
    advance_index(cpu, Gpr::EDI, asz, bytes);
    cpu.set_count_reg(asz, count - chunk);
    if (count != chunk) cpu.rep_restart = true;
    return true;
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
    if ((insn.op == Op::Movs || insn.op == Op::Stos) && repeat_in_ram<T>(cpu, insn)) return true;
    const bool compares = insn.op == Op::Cmps || insn.op == Op::Scas;
    const bool repne = insn.prefixes & decoder::prefix::Repne;
    // Debug traps (single step, data breakpoints: Cpu::debug_traps) are taken after the
    // iteration that raised them, with EIP still at the REP when iterations are left (SDM Vol.
    // 3B 18.3.1.1, RF "for any trap-class exception generated by any iteration of a repeated
    // string instruction but the last").
    while (cpu.count_reg(insn.address_size) != 0) {
        if (!string_iteration<T>(cpu, insn, equal)) return false;
        const uint32_t count = cpu.count_reg(insn.address_size) - 1;
        cpu.set_count_reg(insn.address_size, count);
        if (compares && equal == repne) break;
        // KVM's emulator re-enters the guest "after each 1024 iteration" (x86_emulate_insn:
        // when the count's low 10 bits reach zero with iterations left), and the instruction
        // runs again from the same EIP. Stopping at the same points bounds the work of one
        // step; the run loop counts each chunk against the budget, not as an instruction.
        if (count != 0 && ((count & 0x3FF) == 0 || cpu.debug_traps != 0)) {
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
