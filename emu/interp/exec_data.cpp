// Data-transfer class: MOV, segment-register moves, XCHG, MOVZX/MOVSX, LEA, the stack,
// flag transfers, far-pointer loads, SETcc/CMOVcc.
#include "emu/cpu/alu.hpp"
#include "emu/interp/handlers.hpp"
#include "emu/system/privilege.hpp"
#include "emu/system/segment_load.hpp"
#include "emu/system/v86_extensions.hpp"

namespace transit86::emu {

namespace {

// mov r/m, r ; mov r, r/m ; mov r/m, imm ; mov al/ax/eax, moffs ; mov moffs, al/ax/eax
template <class T>
bool mov(Cpu& cpu, const Insn& insn) {
    T value;
    return cpu.read_operand(insn, insn.operands[1], value) &&
           cpu.write_operand(insn, insn.operands[0], value);
}

// xchg r/m, r ; xchg r, r/m — with a memory operand always locked, prefix or not (SDM XCHG:
// "the processor's locking protocol is automatically implemented"). The register is written
// only after the exchange, so a fault leaves everything as it was.
template <class T>
bool xchg(Cpu& cpu, const Insn& insn) {
    const Operand& a = insn.operands[0];
    const Operand& b = insn.operands[1];
    if (a.kind != OperandKind::Mem && b.kind != OperandKind::Mem) {
        const T va = cpu.reg<T>(a.reg), vb = cpu.reg<T>(b.reg);
        cpu.set_reg<T>(a.reg, vb);
        cpu.set_reg<T>(b.reg, va);
        return true;
    }
    const Operand& memory = a.kind == OperandKind::Mem ? a : b;
    const Operand& reg = a.kind == OperandKind::Mem ? b : a;
    const T value = cpu.reg<T>(reg.reg);
    T old;
    if (!update_memory<T>(
            cpu, cpu.address_of(insn, memory), true, [value](T) { return value; }, old))
        return false;
    cpu.set_reg<T>(reg.reg, old);
    return true;
}

// movzx r, r/m8|r/m16 ; movsx r, r/m8|r/m16
template <class T>
bool extend(Cpu& cpu, const Insn& insn) {
    const Operand& src = insn.operands[1];
    uint32_t value;
    if (src.size == 1) {
        uint8_t v;
        if (!cpu.read_operand(insn, src, v)) return false;
        value = insn.op == Op::Movsx ? static_cast<uint32_t>(static_cast<int8_t>(v)) : v;
    } else {
        uint16_t v;
        if (!cpu.read_operand(insn, src, v)) return false;
        value = insn.op == Op::Movsx ? static_cast<uint32_t>(static_cast<int16_t>(v)) : v;
    }
    cpu.set_reg<T>(insn.operands[0].reg, static_cast<T>(value));
    return true;
}

// lea r, m — the offset only, truncated to the operand size (SDM LEA, Table 3-54)
template <class T>
bool lea(Cpu& cpu, const Insn& insn) {
    const Operand& src = insn.operands[1];
    if (src.kind != OperandKind::Mem) return cpu.raise(vec::UD);
    cpu.set_reg<T>(insn.operands[0].reg, static_cast<T>(cpu.address_of(insn, src).offset));
    return true;
}

// The pushed EFLAGS image: VM and RF read as 0; under CR4.VME in virtual-8086 mode with
// IOPL < 3, IF reads as VIF and IOPL as 3 (SDM PUSHF).
uint32_t pushed_flags(const Cpu& cpu) {
    if (vme_virtualizes_if(cpu.s)) return virtual_flags_image(cpu.s);
    return cpu.s.eflags & ~(flags::VM | flags::RF);
}

// push r/m ; push imm ; push r ; pop r/m ; pop r ; push sreg ; pop sreg
template <class T>
bool push_pop(Cpu& cpu, const Insn& insn) {
    const Operand& op = insn.operands[0];
    if (insn.op == Op::Push) {
        if (op.kind == OperandKind::Sreg) {
            // A 32-bit push of a segment register moves ESP by 4 but writes only the low
            // 16 bits on P6 and later (SDM PUSH, "IA-32 Architecture Compatibility").
            const uint16_t sel = cpu.s.seg[op.reg].selector;
            if constexpr (sizeof(T) == 4) {
                const uint32_t mask = cpu.stack32() ? ~0u : 0xFFFFu;
                const uint32_t sp = (cpu.stack_pointer() - 4) & mask;
                if (!cpu.write<uint16_t>(Seg::SS, sp, sel)) return false;
                cpu.set_stack_pointer(sp);
                return true;
            }
            return cpu.push<T>(static_cast<T>(sel));
        }
        T value; // PUSH ESP pushes the value before the push (SDM PUSH)
        return cpu.read_operand(insn, op, value) && cpu.push<T>(value);
    }
    T value;
    if (!cpu.peek<T>(0, value)) return false;
    if (op.kind == OperandKind::Sreg) {
        // The pop moves the stack pointer by the size of the stack it read from: POP SS of a
        // 32-bit segment off a 16-bit stack changes only SP (SDM POP, Operation: the
        // stack-address size is that of the current stack).
        const uint32_t old_esp = cpu.s[Gpr::ESP];
        cpu.release_stack(sizeof(T));
        const uint32_t new_esp = cpu.s[Gpr::ESP];
        cpu.s[Gpr::ESP] = old_esp;
        if (!load_data_or_stack_segment(cpu, static_cast<Seg>(op.reg),
                                        static_cast<uint16_t>(value)))
            return false;
        cpu.s[Gpr::ESP] = new_esp;
        if (op.reg == static_cast<uint8_t>(Seg::SS))
            cpu.shadow_next = interruptibility::BlockingByMovSs; // SDM POP
        return true;
    }
    // SDM POP: a memory destination addressed through ESP uses the incremented ESP.
    const uint32_t old_sp = cpu.s[Gpr::ESP];
    cpu.release_stack(sizeof(T));
    if (!cpu.write_operand(insn, op, value)) {
        cpu.s[Gpr::ESP] = old_sp;
        return false;
    }
    return true;
}

// pusha/pushad ; popa/popad
template <class T>
bool push_pop_all(Cpu& cpu, const Insn& insn) {
    if (insn.op == Op::Pusha) {
        const T original_sp = cpu.reg<T>(4);
        for (uint8_t r = 0; r < 8; ++r)
            if (!cpu.push<T>(r == 4 ? original_sp : cpu.reg<T>(r))) return false;
        return true;
    }
    T values[8];
    for (int r = 7; r >= 0; --r)
        if (!cpu.peek<T>(static_cast<uint32_t>(7 - r) * sizeof(T), values[r])) return false;
    for (uint8_t r = 0; r < 8; ++r)
        if (r != 4) cpu.set_reg<T>(r, values[r]); // the saved SP is discarded (SDM POPA)
    cpu.release_stack(8 * sizeof(T));
    return true;
}

// pushf/pushfd ; popf/popfd
template <class T>
bool push_pop_flags(Cpu& cpu, const Insn& insn) {
    if (v86_flags_access_traps(cpu.s, sizeof(T))) return cpu.raise(vec::GP, 0);
    if (insn.op == Op::Pushf) return cpu.push<T>(static_cast<T>(pushed_flags(cpu)));
    T value; // popped only once the flags load, which may fault under CR4.VME
    if (!cpu.peek<T>(0, value) || !load_popped_flags(cpu, value, sizeof(T), FlagsSource::Popf))
        return false;
    cpu.release_stack(sizeof(T));
    return true;
}

// lds/les/lfs/lgs/lss r, m16:16|m16:32
template <class T>
bool load_far_pointer(Cpu& cpu, const Insn& insn) {
    const Operand& src = insn.operands[1];
    if (src.kind != OperandKind::Mem) return cpu.raise(vec::UD);
    const Address a = cpu.address_of(insn, src);
    T offset;
    uint16_t selector;
    if (!cpu.read<T>(a.seg, a.offset, offset) ||
        !cpu.read<uint16_t>(a.seg, a.offset + sizeof(T), selector))
        return false;
    Seg seg = Seg::DS;
    switch (insn.op) {
    case Op::Les: seg = Seg::ES; break;
    case Op::Lfs: seg = Seg::FS; break;
    case Op::Lgs: seg = Seg::GS; break;
    case Op::Lss: seg = Seg::SS; break;
    default: break;
    }
    if (!load_data_or_stack_segment(cpu, seg, selector)) return false;
    cpu.set_reg<T>(insn.operands[0].reg, offset);
    return true;
}

// setcc r/m8 ; cmovcc r, r/m
template <class T>
bool setcc_cmov(Cpu& cpu, const Insn& insn) {
    const bool holds = condition_holds(cpu.s.eflags, insn.cc);
    if (insn.op == Op::Setcc)
        return cpu.write_operand<uint8_t>(insn, insn.operands[0], holds ? 1 : 0);
    T value; // the source is read (and may fault) whatever the condition (SDM CMOVcc)
    if (!cpu.read_operand(insn, insn.operands[1], value)) return false;
    if (holds) cpu.set_reg<T>(insn.operands[0].reg, value);
    return true;
}

} // namespace

bool exec_mov(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return mov<T>(cpu, insn); });
}

// mov Sreg, r/m16 ; mov r/m, Sreg
bool exec_sreg(Cpu& cpu, const Insn& insn) {
    if (insn.op == Op::MovFromSreg) {
        const uint16_t sel = cpu.s.seg[insn.operands[1].reg].selector;
        const Operand& dst = insn.operands[0];
        // To a 32-bit register the selector is zero-extended (P6 and later); to memory
        // only 16 bits are written whatever the operand size (SDM MOV, notes).
        if (dst.kind == OperandKind::Reg && insn.operand_size == 4)
            return cpu.write_operand<uint32_t>(insn, dst, sel);
        return cpu.write_operand<uint16_t>(insn, dst, sel);
    }
    const Operand& dst = insn.operands[0];
    const auto seg = static_cast<Seg>(dst.reg);
    if (seg == Seg::CS) return cpu.raise(vec::UD); // SDM MOV: loading CS raises #UD
    uint16_t sel;
    if (!cpu.read_operand<uint16_t>(insn, insn.operands[1], sel)) return false;
    if (!load_data_or_stack_segment(cpu, seg, sel)) return false;
    if (seg == Seg::SS)
        cpu.shadow_next =
            interruptibility::BlockingByMovSs; // SDM MOV: blocks interrupts for one insn
    return true;
}

bool exec_xchg(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return xchg<T>(cpu, insn); });
}
bool exec_extend(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return extend<T>(cpu, insn); });
}
bool exec_lea(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return lea<T>(cpu, insn); });
}

bool exec_stack(Cpu& cpu, const Insn& insn) {
    const uint8_t size = insn.operand_size == 4 ? 4 : 2;
    if (insn.op == Op::Pusha || insn.op == Op::Popa)
        return by_width(size, [&]<class T>(T) { return push_pop_all<T>(cpu, insn); });
    if (insn.op == Op::Pushf || insn.op == Op::Popf)
        return by_width(size, [&]<class T>(T) { return push_pop_flags<T>(cpu, insn); });
    return by_width(size, [&]<class T>(T) { return push_pop<T>(cpu, insn); });
}

// clc ; stc ; cmc ; cld ; std ; cli ; sti ; lahf ; sahf ; salc
bool exec_flags(Cpu& cpu, const Insn& insn) {
    CpuState& s = cpu.s;
    const uint32_t iopl = (s.eflags & flags::IOPL) >> 12;
    switch (insn.op) {
    case Op::Clc: cpu.set_flag(flags::CF, false); return true;
    case Op::Stc: cpu.set_flag(flags::CF, true); return true;
    case Op::Cmc: cpu.set_flag(flags::CF, !cpu.flag(flags::CF)); return true;
    case Op::Cld: cpu.set_flag(flags::DF, false); return true;
    case Op::Std: cpu.set_flag(flags::DF, true); return true;
    case Op::Cli:
    case Op::Sti: {
        const bool sti = insn.op == Op::Sti;
        if (s.protected_mode() && (s.v86() ? iopl < 3 : iopl < s.cpl())) {
            // SDM CLI/STI "Operation": above IOPL, VME mode and PVI mode act on VIF, and STI
            // with VIP set traps so the monitor can deliver the pending interrupt (Vol. 3A
            // 20.3.2, 20.4). IF does not change, so there is no STI shadow.
            if (!cli_sti_act_on_vif(s) || (sti && (s.eflags & flags::VIP)))
                return cpu.raise(vec::GP, 0);
            cpu.set_flag(flags::VIF, sti);
            return true;
        }
        if (sti && !cpu.flag(flags::IF))
            cpu.shadow_next = interruptibility::BlockingBySti; // SDM STI
        cpu.set_flag(flags::IF, sti);
        return true;
    }
    case Op::Lahf: cpu.set_reg<uint8_t>(4, static_cast<uint8_t>(s.eflags)); return true;
    case Op::Sahf: {
        constexpr uint32_t mask = flags::SF | flags::ZF | flags::AF | flags::PF | flags::CF;
        cpu.set_status(cpu.reg<uint8_t>(4), mask);
        return true;
    }
    case Op::Salc: cpu.set_reg<uint8_t>(0, cpu.flag(flags::CF) ? 0xFF : 0); return true;
    default: return cpu.unsupported("flag operation");
    }
}

bool exec_load_far_pointer(Cpu& cpu, const Insn& insn) {
    const uint8_t size = insn.operand_size == 4 ? 4 : 2;
    return by_width(size, [&]<class T>(T) { return load_far_pointer<T>(cpu, insn); });
}
bool exec_setcc_cmov(Cpu& cpu, const Insn& insn) {
    return by_width(insn.operand_size, [&]<class T>(T) { return setcc_cmov<T>(cpu, insn); });
}

} // namespace transit86::emu
