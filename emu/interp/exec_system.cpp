// System class: descriptor-table registers, LDTR/TR, control and debug registers, HLT, port
// I/O.
#include "emu/cpu/debug.hpp"
#include "emu/interp/handlers.hpp"
#include "emu/system/paging.hpp"
#include "emu/system/segment_load.hpp"
#include "emu/system/task_switch.hpp"

namespace transit86::emu {

namespace {

bool in_protected_mode(const Cpu& cpu) {
    return cpu.s.protected_mode() && !cpu.s.v86();
}

// Privileged instructions need CPL 0 (SDM Vol. 3A 5.9); in virtual-8086 mode CPL is 3.
bool require_cpl0(Cpu& cpu) {
    return cpu.s.cpl() == 0 || cpu.raise(vec::GP, 0);
}

// lgdt m16&32 ; lidt m16&32 — with a 16-bit operand only 24 bits of base load (SDM LGDT).
bool load_descriptor_table(Cpu& cpu, const Insn& insn, DescriptorTableRegister& reg) {
    if (!require_cpl0(cpu)) return false;
    const Operand& op = insn.operands[0];
    if (op.kind != OperandKind::Mem) return cpu.raise(vec::UD);
    const Address a = cpu.address_of(insn, op);
    uint16_t limit;
    uint32_t base;
    if (!cpu.read<uint16_t>(a.seg, a.offset, limit) ||
        !cpu.read<uint32_t>(a.seg, a.offset + 2, base))
        return false;
    if (insn.operand_size != 4) base &= 0x00FFFFFF;
    reg = {.base = base, .limit = limit};
    return true;
}

// sgdt m ; sidt m — a 16-bit operand stores the high base byte as 0 on the 386 and later
// (SDM SGDT, "IA-32 Architecture Compatibility").
bool store_descriptor_table(Cpu& cpu, const Insn& insn, const DescriptorTableRegister& reg) {
    const Operand& op = insn.operands[0];
    if (op.kind != OperandKind::Mem) return cpu.raise(vec::UD);
    const Address a = cpu.address_of(insn, op);
    auto base = static_cast<uint32_t>(reg.base);
    if (insn.operand_size != 4) base &= 0x00FFFFFF;
    uint8_t image[6];
    const auto limit = static_cast<uint16_t>(reg.limit);
    std::memcpy(image, &limit, 2);
    std::memcpy(image + 2, &base, 4);
    uint32_t linear;
    return cpu.linearize(a.seg, a.offset, 6, true, linear) && cpu.write_linear(linear, image, 6);
}

// mov cr0..cr4, r32 (SDM MOV to control registers; Vol. 3A 2.5): CR0, CR3 and CR4 carry
// paging's rules (emu/system/paging.cpp).
bool write_control_register(Cpu& cpu, uint8_t number, uint32_t value) {
    switch (number) {
    case 0: return write_cr0(cpu, value);
    case 2: cpu.s.cr2 = value; return true;
    case 3: return write_cr3(cpu, value);
    case 4: return write_cr4(cpu, value);
    default: return cpu.raise(vec::UD);
    }
}

bool read_control_register(Cpu& cpu, uint8_t number, uint32_t& value) {
    switch (number) {
    case 0: value = static_cast<uint32_t>(cpu.s.cr0); return true;
    case 2: value = static_cast<uint32_t>(cpu.s.cr2); return true;
    case 3: value = static_cast<uint32_t>(cpu.s.cr3); return true;
    case 4: value = static_cast<uint32_t>(cpu.s.cr4); return true;
    default: return cpu.raise(vec::UD);
    }
}

// The checks of MOV to or from DRn, in KVM's and QEMU's order (SDM MOV—Move to/from Debug
// Registers, "Protected Mode Exceptions"): CPL > 0 -> #GP(0) (virtual-8086 mode is CPL 3);
// DR4/DR5 -> #UD with CR4.DE, else they name DR6/DR7 (Vol. 3B 18.2.2); DR7.GD -> a debug
// fault before the access, with DR6.BD (18.2.4), its frame's RF set as for every fault
// (18.3.1.1). `number` becomes the register accessed.
bool check_debug_register_access(Cpu& cpu, uint8_t& number) {
    if (!require_cpl0(cpu)) return false;
    if (number == 4 || number == 5) {
        if (cpu.s.cr4 & cr4::DE) return cpu.raise(vec::UD);
        number += 2;
    }
    if (cpu.s.dr7 & dr7::GD) {
        record_debug_exception(cpu.s, dr6::BD);
        cpu.raise(vec::DB);
        cpu.fault.fault_class = true;
        return false;
    }
    return true;
}

// mov dr0..dr7, r32 — DR6 and DR7 keep their fixed bits whatever is written (18.2.3, 18.2.4).
bool write_debug_register(Cpu& cpu, uint8_t number, uint32_t value) {
    if (!check_debug_register_access(cpu, number)) return false;
    CpuState& s = cpu.s;
    if (number < 4)
        s.dr[number] = value;
    else if (number == 6)
        s.dr6 = dr6::with_fixed_bits(value);
    else if (number == 7)
        s.dr7 = dr7::with_fixed_bits(value);
    else
        return cpu.raise(vec::UD); // DR8-DR15 exist only in 64-bit mode
    return true;
}

// mov r32, dr0..dr7
bool read_debug_register(Cpu& cpu, uint8_t number, uint32_t& value) {
    if (!check_debug_register_access(cpu, number)) return false;
    const CpuState& s = cpu.s;
    if (number < 4)
        value = s.dr[number];
    else if (number == 6)
        value = s.dr6;
    else if (number == 7)
        value = s.dr7;
    else
        return cpu.raise(vec::UD);
    return true;
}

// Instructions valid only in protected mode raise #UD in real and virtual-8086 mode
// (SDM LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW: "Real-Address Mode Exceptions").
bool require_protected_mode(Cpu& cpu) {
    return in_protected_mode(cpu) || cpu.raise(vec::UD);
}

} // namespace

bool exec_system(Cpu& cpu, const Insn& insn) {
    CpuState& s = cpu.s;
    const Operand& op0 = insn.operands[0];
    switch (insn.op) {
    case Op::Lgdt: return load_descriptor_table(cpu, insn, s.gdtr);  // lgdt m16&32
    case Op::Lidt: return load_descriptor_table(cpu, insn, s.idtr);  // lidt m16&32
    case Op::Sgdt: return store_descriptor_table(cpu, insn, s.gdtr); // sgdt m
    case Op::Sidt: return store_descriptor_table(cpu, insn, s.idtr); // sidt m
    case Op::Lldt:                                                   // lldt r/m16
    case Op::Ltr: {                                                  // ltr r/m16
        if (!require_protected_mode(cpu) || !require_cpl0(cpu)) return false;
        uint16_t sel;
        if (!cpu.read_operand<uint16_t>(insn, op0, sel)) return false;
        return insn.op == Op::Lldt ? load_ldtr(cpu, sel) : load_tr(cpu, sel);
    }
    case Op::Sldt:  // sldt r/m16
    case Op::Str: { // str r/m16 — to a 32-bit register, zero-extended
        if (!require_protected_mode(cpu)) return false;
        const uint16_t sel = insn.op == Op::Sldt ? s.ldtr.selector : s.tr.selector;
        if (op0.kind == OperandKind::Reg && insn.operand_size == 4)
            return cpu.write_operand<uint32_t>(insn, op0, sel);
        return cpu.write_operand<uint16_t>(insn, op0, sel);
    }
    case Op::MovToCr: { // mov cr0..4, r32
        if (!require_cpl0(cpu)) return false;
        return write_control_register(cpu, op0.reg, cpu.reg<uint32_t>(insn.operands[1].reg));
    }
    case Op::MovFromCr: { // mov r32, cr0..4
        if (!require_cpl0(cpu)) return false;
        uint32_t value;
        if (!read_control_register(cpu, insn.operands[1].reg, value)) return false;
        cpu.set_reg<uint32_t>(op0.reg, value);
        return true;
    }
    // The ModRM mod field is ignored: the operand is always a register (SDM MOV DRn).
    case Op::MovToDr: // mov dr0..dr7, r32
        return write_debug_register(cpu, op0.reg, cpu.reg<uint32_t>(insn.operands[1].reg));
    case Op::MovFromDr: { // mov r32, dr0..dr7
        uint32_t value;
        if (!read_debug_register(cpu, insn.operands[1].reg, value)) return false;
        cpu.set_reg<uint32_t>(op0.reg, value);
        return true;
    }
    case Op::Lmsw: { // lmsw r/m16 — PE can be set but not cleared (SDM LMSW)
        if (!require_cpl0(cpu)) return false;
        uint16_t msw;
        if (!cpu.read_operand<uint16_t>(insn, op0, msw)) return false;
        const uint64_t pe_kept = s.cr0 & cr0::PE;
        s.cr0 = (s.cr0 & ~uint64_t{0xE}) | (msw & 0xF) | pe_kept;
        return true;
    }
    case Op::Smsw: // smsw r/m16 ; smsw r32 (the whole CR0 low dword to a 32-bit register)
        if (op0.kind == OperandKind::Reg && insn.operand_size == 4)
            return cpu.write_operand<uint32_t>(insn, op0, static_cast<uint32_t>(s.cr0));
        return cpu.write_operand<uint16_t>(insn, op0, static_cast<uint16_t>(s.cr0));
    case Op::Clts: // clts
        if (!require_cpl0(cpu)) return false;
        s.cr0 &= ~uint64_t{cr0::TS};
        return true;
    case Op::Hlt: // hlt
        if (!require_cpl0(cpu)) return false;
        cpu.stop = Stop::Halt;
        return true;
    case Op::Nop:    // nop ; nop r/m ; pause
    case Op::Invd:   // invd — no caches are modelled
    case Op::Wbinvd: // wbinvd
        if (insn.op != Op::Nop && !require_cpl0(cpu)) return false;
        return true;
    case Op::Invlpg: { // invlpg m — the operand's linear address; no access, no limit check
        if (!require_cpl0(cpu)) return false;
        if (op0.kind != OperandKind::Mem) return cpu.raise(vec::UD);
        const Address a = cpu.address_of(insn, op0);
        invalidate_page(cpu, static_cast<uint32_t>(s[a.seg].base + a.offset));
        return true;
    }
    case Op::Ud2: return cpu.raise(vec::UD); // ud2
    default: return cpu.unsupported("system instruction");
    }
}

bool io_permitted(Cpu& cpu, uint16_t port, uint8_t size) {
    // SDM Vol. 1 19.5 "I/O Protection": in protected mode, CPL <= IOPL allows any port; above
    // it (and always in virtual-8086 mode, 20.2.8.1) the I/O permission bit map of the current
    // TSS decides. Only a 32-bit TSS has one: its base is the word at offset 66H, the bits for
    // port..port+size-1 must all be clear, and the processor reads the two bytes holding them,
    // both of which must be within the TSS limit; anything else is #GP(0).
    const CpuState& s = cpu.s;
    const uint32_t iopl = (s.eflags & flags::IOPL) >> 12;
    if (!s.protected_mode() || (!s.v86() && s.cpl() <= iopl)) return true;
    uint16_t map_base = 0;
    if (!read_io_map_base(cpu, map_base)) return false;
    const uint32_t offset = uint32_t{map_base} + port / 8u;
    if (offset + 1 > s.tr.limit) return cpu.raise(vec::GP, 0);
    uint16_t bits = 0;
    if (!cpu.read_system(static_cast<uint32_t>(s.tr.base + offset), &bits, 2)) return false;
    const uint32_t mask = ((1u << size) - 1) << (port & 7);
    if (bits & mask) return cpu.raise(vec::GP, 0);
    return true;
}

bool port_in(Cpu& cpu, uint16_t port, uint8_t size, uint32_t& value) {
    if (cpu.watch_accesses) [[unlikely]] // I/O breakpoints (SDM Vol. 3B 18.2.4, R/W = 10)
        cpu.debug_traps |= io_breakpoints_hit(cpu.s, port, size);
    PortAccess access{.port = port, .size = size, .is_in = true, .data = 0};
    if (cpu.io_data_pending && cpu.io.is_in && cpu.io.port == port && cpu.io.size == size) {
        // The host completed this IN after an Io exit: use its data (KVM's
        // complete_emulated_pio model).
        cpu.io_data_pending = false;
        value = cpu.io.data;
        return true;
    }
    if (cpu.ports && cpu.ports->access(access) == PortHandler::Result::Handled) {
        cpu.device_may_have_written |= !access.guest_memory_untouched;
        const uint32_t mask = size == 4 ? ~0u : (1u << (size * 8)) - 1;
        value = access.data & mask;
        return true;
    }
    cpu.io = access;
    cpu.stop = Stop::Io;
    return false;
}

bool port_out(Cpu& cpu, uint16_t port, uint8_t size, uint32_t value) {
    if (cpu.watch_accesses) [[unlikely]]
        cpu.debug_traps |= io_breakpoints_hit(cpu.s, port, size);
    PortAccess access{.port = port, .size = size, .is_in = false, .data = value};
    if (cpu.io_data_pending && !cpu.io.is_in && cpu.io.port == port && cpu.io.size == size) {
        cpu.io_data_pending = false; // the host already performed this OUT
        return true;
    }
    if (cpu.ports && cpu.ports->access(access) == PortHandler::Result::Handled) {
        cpu.device_may_have_written |= !access.guest_memory_untouched;
        return true;
    }
    cpu.io = access;
    cpu.stop = Stop::Io;
    return false;
}

// in al/ax/eax, imm8|dx ; out imm8|dx, al/ax/eax
bool exec_io(Cpu& cpu, const Insn& insn) {
    const bool is_in = insn.op == Op::In;
    const Operand& port_op = is_in ? insn.operands[1] : insn.operands[0];
    const Operand& data_op = is_in ? insn.operands[0] : insn.operands[1];
    const auto port = static_cast<uint16_t>(
        port_op.kind == OperandKind::Imm ? port_op.value : cpu.reg<uint16_t>(port_op.reg));
    const uint8_t size = data_op.size;
    if (!io_permitted(cpu, port, size)) return false;
    if (is_in) {
        uint32_t value;
        if (!port_in(cpu, port, size, value)) return false;
        return by_width(size, [&]<class T>(T) {
            cpu.set_reg<T>(0, static_cast<T>(value));
            return true;
        });
    }
    const uint32_t value = cpu.s.gpr[0] & (size == 4 ? ~0u : (1u << (size * 8)) - 1);
    return port_out(cpu, port, size, value);
}

} // namespace transit86::emu
