// Control-transfer class: JMP, Jcc, CALL, RET, LOOP/JCXZ, INT/INTO/IRET.
#include "emu/cpu/alu.hpp"
#include "emu/cpu/debug.hpp"
#include "emu/interp/handlers.hpp"
#include "emu/system/interrupts.hpp"
#include "emu/system/privilege.hpp"
#include "emu/system/segment_load.hpp"
#include "emu/system/v86_extensions.hpp"

namespace transit86::emu {

namespace {

// A near target outside the CS limit raises #GP(0) before EIP changes (SDM JMP, CALL, Jcc).
bool branch_near(Cpu& cpu, uint32_t target, uint8_t operand_size) {
    target &= cpu.ip_mask(operand_size);
    if (target > cpu.s[Seg::CS].limit) return cpu.raise(vec::GP, 0);
    cpu.next_eip = target;
    return true;
}

uint32_t relative_target(const Cpu& cpu, const Operand& op) {
    return cpu.next_eip + op.value;
}

// Reads the target of jmp/call r/m (near) into `target`.
bool near_target(Cpu& cpu, const Insn& insn, uint32_t& target) {
    const Operand& op = insn.operands[0];
    if (op.kind == OperandKind::Rel) {
        target = relative_target(cpu, op);
        return true;
    }
    if (insn.operand_size == 4) return cpu.read_operand<uint32_t>(insn, op, target);
    uint16_t t;
    if (!cpu.read_operand<uint16_t>(insn, op, t)) return false;
    target = t;
    return true;
}

// Reads the selector:offset of jmp/call ptr16:16|ptr16:32 or m16:16|m16:32.
bool far_target(Cpu& cpu, const Insn& insn, uint16_t& selector, uint32_t& offset) {
    const Operand& op = insn.operands[0];
    if (op.kind == OperandKind::FarPtr) {
        selector = op.selector;
        offset = op.value;
        return true;
    }
    if (op.kind != OperandKind::Mem) return cpu.raise(vec::UD);
    const Address a = cpu.address_of(insn, op);
    if (insn.operand_size == 4) {
        return cpu.read<uint32_t>(a.seg, a.offset, offset) &&
               cpu.read<uint16_t>(a.seg, a.offset + 4, selector);
    }
    uint16_t off16;
    if (!cpu.read<uint16_t>(a.seg, a.offset, off16) ||
        !cpu.read<uint16_t>(a.seg, a.offset + 2, selector))
        return false;
    offset = off16;
    return true;
}

template <class T>
bool push_return_address(Cpu& cpu) {
    return cpu.push<T>(static_cast<T>(cpu.next_eip));
}

// ret ; ret imm16 ; retf ; retf imm16
template <class T>
bool ret(Cpu& cpu, const Insn& insn) {
    const uint32_t release = insn.operand_count ? insn.operands[0].value & 0xFFFF : 0;
    T offset;
    if (!cpu.peek<T>(0, offset)) return false;
    if (insn.op == Op::Ret) {
        if (!branch_near(cpu, offset, sizeof(T))) return false;
        cpu.release_stack(sizeof(T) + release);
        return true;
    }
    T selector;
    if (!cpu.peek<T>(sizeof(T), selector)) return false;
    const bool walks_gdt = cpu.s.protected_mode() && !cpu.s.v86();
    if (walks_gdt && (selector & 3u) > cpu.s.cpl()) // SDM RET: return to an outer level
        return far_return_to_outer_level(cpu, static_cast<uint16_t>(selector), offset, sizeof(T),
                                         2 * uint32_t{sizeof(T)} + release, release);
    if (!load_code_segment(cpu, static_cast<uint16_t>(selector), offset, sizeof(T),
                           FarKind::Return))
        return false;
    cpu.release_stack(2 * sizeof(T) + release);
    return true;
}

// iret ; iretd
template <class T>
bool iret(Cpu& cpu) {
    if (cpu.s.protected_mode() && !cpu.s.v86()) return iret_protected_mode(cpu, sizeof(T));
    // SDM IRET "RETURN-FROM-VIRTUAL-8086-MODE": IOPL < 3 traps to the monitor, except the
    // 16-bit form under CR4.VME, which loads VIF from the popped IF (load_popped_flags).
    if (v86_flags_access_traps(cpu.s, sizeof(T))) return cpu.raise(vec::GP, 0);
    T offset, selector, eflags;
    if (!cpu.peek<T>(0, offset) || !cpu.peek<T>(sizeof(T), selector) ||
        !cpu.peek<T>(2 * sizeof(T), eflags))
        return false;
    if (!load_code_segment(cpu, static_cast<uint16_t>(selector), offset, sizeof(T), FarKind::Jump))
        return false;
    cpu.release_stack(3 * sizeof(T));
    if (!load_popped_flags(cpu, eflags, sizeof(T), FlagsSource::Iret)) return false; // #GP
    load_resume_flag(cpu.s, eflags, sizeof(T));
    return true;
}

} // namespace

bool exec_branch(Cpu& cpu, const Insn& insn) {
    const uint8_t osz = insn.operand_size == 4 ? 4 : 2;
    switch (insn.op) {
    case Op::Jmp: { // jmp rel8/rel16/rel32 ; jmp r/m16/r/m32
        uint32_t target;
        return near_target(cpu, insn, target) && branch_near(cpu, target, osz);
    }
    case Op::Jcc: // jcc rel
        if (!condition_holds(cpu.s.eflags, insn.cc)) return true;
        return branch_near(cpu, relative_target(cpu, insn.operands[0]), osz);
    case Op::Call: { // call rel16/rel32 ; call r/m16/r/m32
        uint32_t target;
        if (!near_target(cpu, insn, target)) return false;
        target &= cpu.ip_mask(osz);
        if (target > cpu.s[Seg::CS].limit) return cpu.raise(vec::GP, 0);
        const bool pushed =
            osz == 4 ? push_return_address<uint32_t>(cpu) : push_return_address<uint16_t>(cpu);
        if (!pushed) return false;
        cpu.next_eip = target;
        return true;
    }
    case Op::JmpFar:    // jmp ptr16:16|ptr16:32 ; jmp m16:16|m16:32
    case Op::CallFar: { // call ptr16:16|ptr16:32 ; call m16:16|m16:32
        uint16_t selector;
        uint32_t offset;
        if (!far_target(cpu, insn, selector, offset)) return false;
        return load_code_segment(cpu, selector, offset, osz,
                                 insn.op == Op::JmpFar ? FarKind::Jump : FarKind::Call);
    }
    case Op::Ret:
    case Op::RetFar: return by_width(osz, [&]<class T>(T) { return ret<T>(cpu, insn); });
    case Op::Loop:
    case Op::Loope:
    case Op::Loopne: { // loop rel8 ; loope rel8 ; loopne rel8 — counter size = address size
        const uint32_t count = cpu.count_reg(insn.address_size) - 1;
        cpu.set_count_reg(insn.address_size, count);
        bool taken = (count & (insn.address_size == 2 ? 0xFFFF : ~0u)) != 0;
        if (insn.op == Op::Loope) taken = taken && cpu.flag(flags::ZF);
        if (insn.op == Op::Loopne) taken = taken && !cpu.flag(flags::ZF);
        return !taken || branch_near(cpu, relative_target(cpu, insn.operands[0]), osz);
    }
    case Op::Jcxz: // jcxz rel8 ; jecxz rel8
        if (cpu.count_reg(insn.address_size) != 0) return true;
        return branch_near(cpu, relative_target(cpu, insn.operands[0]), osz);
    case Op::Int: // int imm8
        return software_interrupt(cpu, static_cast<uint8_t>(insn.operands[0].value),
                                  SoftwareInterrupt::IntN);
    case Op::Int1: // int1
        return software_interrupt(cpu, vec::DB, SoftwareInterrupt::Int1);
    case Op::Int3: // int3
        return software_interrupt(cpu, vec::BP, SoftwareInterrupt::Int3);
    case Op::Into: // into
        return !cpu.flag(flags::OF) || software_interrupt(cpu, vec::OF, SoftwareInterrupt::Into);
    case Op::Iret: return by_width(osz, [&]<class T>(T) { return iret<T>(cpu); });
    default: return cpu.unsupported("control transfer");
    }
}

} // namespace transit86::emu
