// Protected-mode transfers through gates and across privilege levels.
#include "emu/system/privilege.hpp"

#include "emu/cpu/debug.hpp"
#include "emu/system/task_switch.hpp"
#include "emu/system/v86_extensions.hpp"

namespace transit86::emu {

namespace {

// POPF/IRET: which EFLAGS bits a pop may change at this privilege (SDM POPF, Table 4-16 of
// Vol. 2B "Effect of POPF/POPFD on the EFLAGS Register"; IRET "Operation"). VM never changes
// here; VIF and VIP only by a 32-bit IRET in protected mode at CPL 0.
uint32_t poppable_flags(const Cpu& cpu, uint8_t size, FlagsSource source) {
    uint32_t mask = flags::Status | flags::TF | flags::DF | flags::NT | flags::AC | flags::ID;
    const uint32_t cpl = cpu.s.cpl();
    const uint32_t iopl = iopl_of(cpu.s);
    if (cpl == 0) mask |= flags::IOPL;
    if (cpl <= iopl) mask |= flags::IF;
    if (source == FlagsSource::Iret && cpl == 0 && cpu.s.protected_mode())
        mask |= flags::VIF | flags::VIP;
    return size == 2 ? (mask & 0xFFFF) : mask;
}

// POPF and IRET (16-bit) in virtual-8086 mode with CR4.VME and IOPL < 3: "IF and IOPL
// unaffected", the popped IF goes to VIF; a popped TF, or a popped IF while VIP is set, is
// #GP(0) for the monitor (SDM POPF "Operation"; Vol. 3A 20.3.2).
bool load_virtual_flags(Cpu& cpu, uint32_t value) {
    CpuState& s = cpu.s;
    if ((value & flags::TF) || ((value & flags::IF) && (s.eflags & flags::VIP)))
        return cpu.raise(vec::GP, 0);
    constexpr uint32_t mask = flags::Status | flags::TF | flags::DF | flags::NT;
    const uint32_t vif = (value & flags::IF) ? flags::VIF : 0;
    s.eflags = ((s.eflags & ~(mask | flags::VIF)) | (value & mask) | vif) & ~flags::RF;
    return true;
}

} // namespace

bool load_popped_flags(Cpu& cpu, uint32_t value, uint8_t size, FlagsSource source) {
    if (vme_virtualizes_if(cpu.s)) return load_virtual_flags(cpu, value);
    const uint32_t mask = poppable_flags(cpu, size, source);
    cpu.s.eflags = ((cpu.s.eflags & ~mask) | (value & mask) | flags::Fixed1) & ~flags::RF;
    return true;
}

namespace {

constexpr uint32_t kTypeConforming = 1u << 2;

bool is_code(uint32_t access) {
    return ar::s(access) && (ar::type(access) & ar::kTypeCode);
}
bool is_writable_data(uint32_t access) {
    return ar::s(access) && !(ar::type(access) & ar::kTypeCode) && (ar::type(access) & 2);
}
bool is_conforming_code(uint32_t access) {
    return is_code(access) && (ar::type(access) & kTypeConforming);
}

// read_descriptor with the EXT bit folded into the error code it raises.
bool read_descriptor_ext(Cpu& cpu, uint16_t selector, Descriptor& desc, uint8_t vector,
                         uint32_t ext) {
    if (read_descriptor(cpu, selector, desc, vector)) return true;
    if (cpu.stop == Stop::Fault) cpu.fault.error_code |= ext;
    return false;
}

// The target code segment of a gate (SDM CALL and 6.12.1): null -> #GP(EXT); not code or
// DPL > CPL -> #GP(selector + EXT); not present -> #NP(selector + EXT).
bool check_gate_target(Cpu& cpu, uint16_t selector, uint32_t ext, Descriptor& desc) {
    if (is_null_selector(selector)) return cpu.raise(vec::GP, ext);
    if (!read_descriptor_ext(cpu, selector, desc, vec::GP, ext)) return false;
    const uint32_t access = desc.access_rights();
    const uint32_t error = (selector & 0xFFFCu) | ext;
    if (!is_code(access) || ar::dpl(access) > cpu.s.cpl()) return cpu.raise(vec::GP, error);
    if (!ar::present(access)) return cpu.raise(vec::NP, error);
    return true;
}

// The inner stack for privilege level `dpl` from the current TSS (SDM Vol. 3A 7.2.1: ESPn at
// 4 + 8n and SSn at 8 + 8n in a 32-bit TSS; SPn at 2 + 4n and SSn at 4 + 4n in a 16-bit one),
// with the #TS/#SS checks of SDM 6.12.1 on the new SS.
struct InnerStack {
    SegmentCache ss;
    uint32_t esp;
};
bool inner_stack(Cpu& cpu, uint32_t dpl, uint32_t ext, InnerStack& out) {
    const SegmentCache& tr = cpu.s.tr;
    const bool tss32 = (ar::type(tr.access_rights) & 8) != 0;
    const uint32_t offset = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
    const uint32_t last = offset + (tss32 ? 5 : 3);
    const uint32_t tr_error = (tr.selector & 0xFFFCu) | ext;
    if (last > tr.limit) return cpu.raise(vec::TS, tr_error);
    uint16_t ss_selector;
    uint32_t esp = 0;
    const auto base = static_cast<uint32_t>(tr.base);
    if (tss32) {
        if (!cpu.read_system(base + offset, &esp, 4)) return false;
    } else {
        uint16_t sp;
        if (!cpu.read_system(base + offset, &sp, 2)) return false;
        esp = sp;
    }
    if (!cpu.read_system(base + offset + (tss32 ? 4 : 2), &ss_selector, 2)) return false;
    if (is_null_selector(ss_selector)) return cpu.raise(vec::TS, ext);
    const uint32_t ss_error = (ss_selector & 0xFFFCu) | ext;
    Descriptor desc;
    if (!read_descriptor_ext(cpu, ss_selector, desc, vec::TS, ext)) return false;
    const uint32_t access = desc.access_rights();
    if ((ss_selector & 3u) != dpl || ar::dpl(access) != dpl || !is_writable_data(access))
        return cpu.raise(vec::TS, ss_error);
    if (!ar::present(access)) return cpu.raise(vec::SS, ss_error);
    if (!mark_accessed(cpu, desc)) return false;
    out.ss = desc.cache(ss_selector);
    out.esp = ar::db(access) ? esp : (esp & 0xFFFF);
    return true;
}

// The SDM checks that the whole frame fits before it pushes any of it ("IF current stack does
// not have room for 16 bytes (error code pushed) or 12 bytes (no error code) THEN #SS(EXT)",
// Vol. 2A INT n "Operation", and the same for 16-bit gates and the inner stack), so a frame
// that does not fit leaves memory untouched. Each slot is checked as the push would address
// it: a 16-bit stack pointer wraps within 64 KiB, a 32-bit one must not wrap.
bool frame_fits(Cpu& cpu, uint32_t slots, uint8_t size, uint32_t ext) {
    const uint32_t sp = cpu.stack_pointer();
    if (cpu.stack32() && sp < slots * size) return cpu.raise(vec::SS, ext);
    const uint32_t mask = cpu.stack32() ? ~0u : 0xFFFFu;
    uint32_t linear;
    for (uint32_t i = 1; i <= slots; ++i)
        if (!cpu.linearize(Seg::SS, (sp - i * size) & mask, size, true, linear)) {
            cpu.fault.error_code = ext;
            return false;
        }
    return true;
}

void switch_stack(Cpu& cpu, const InnerStack& stack) {
    cpu.s[Seg::SS] = stack.ss;
    cpu.s[Gpr::ESP] = ar::db(stack.ss.access_rights)
                          ? stack.esp
                          : (cpu.s[Gpr::ESP] & 0xFFFF0000u) | (stack.esp & 0xFFFF);
}

bool push_sized(Cpu& cpu, uint8_t size, uint32_t value) {
    return size == 4 ? cpu.push<uint32_t>(value) : cpu.push<uint16_t>(static_cast<uint16_t>(value));
}

// Loads CS from a checked descriptor with RPL = the new CPL, accessed bit set.
bool commit_code_segment(Cpu& cpu, Descriptor& desc, uint16_t selector, uint32_t new_cpl) {
    if (!mark_accessed(cpu, desc)) return false;
    cpu.s[Seg::CS] = desc.cache(static_cast<uint16_t>((selector & 0xFFFC) | new_cpl));
    return true;
}

// After a return to an outer level, data segments the new CPL may not use are nulled
// (SDM RET/IRET: "FOR each of segment register (ES, FS, GS, and DS)").
void null_inaccessible_data_segments(CpuState& s) {
    const uint32_t cpl = s.cpl();
    for (Seg seg : {Seg::ES, Seg::FS, Seg::GS, Seg::DS}) {
        const uint32_t access = s[seg].access_rights;
        if (ar::unusable(access) || is_conforming_code(access)) continue;
        if (ar::dpl(access) < cpl)
            s[seg] =
                SegmentCache{.base = 0, .limit = 0, .access_rights = ar::kUnusable, .selector = 0};
    }
}

// The outer stack a return pops (SDM RET): null -> #GP(0); RPL != return CS RPL, not writable
// data, DPL != RPL -> #GP(selector); not present -> #SS(selector).
bool check_outer_stack(Cpu& cpu, uint16_t ss_selector, uint32_t rpl, Descriptor& desc) {
    if (is_null_selector(ss_selector)) return cpu.raise(vec::GP, 0);
    if (!read_descriptor(cpu, ss_selector, desc)) return false;
    const uint32_t access = desc.access_rights();
    const uint16_t error = ss_selector & 0xFFFC;
    if ((ss_selector & 3u) != rpl || !is_writable_data(access) || ar::dpl(access) != rpl)
        return cpu.raise(vec::GP, error);
    if (!ar::present(access)) return cpu.raise(vec::SS, error);
    return true;
}

// INTERRUPT-FROM-VIRTUAL-8086-MODE (SDM INT n): the ring-0 stack from the TSS, room for the
// whole frame (`slots` entries: 9, or 10 with an error code), then GS, FS, DS, ES, SS, ESP
// pushed and the four data segment registers nulled. EFLAGS, CS, EIP (and the error code)
// follow as for any inner-privilege delivery.
bool push_v86_frame(Cpu& cpu, uint8_t size, uint32_t slots, uint32_t ext) {
    CpuState& s = cpu.s;
    InnerStack stack;
    if (!inner_stack(cpu, 0, ext, stack)) return false;
    const uint16_t old_ss = s[Seg::SS].selector;
    const uint32_t old_esp = s[Gpr::ESP];
    switch_stack(cpu, stack);
    s.eflags &= ~flags::VM; // the pushes address the new stack as protected mode does
    if (!frame_fits(cpu, slots, size, ext)) return false;
    for (Seg seg : {Seg::GS, Seg::FS, Seg::DS, Seg::ES})
        if (!push_sized(cpu, size, s[seg].selector)) return false;
    if (!push_sized(cpu, size, old_ss) || !push_sized(cpu, size, old_esp)) return false;
    for (Seg seg : {Seg::GS, Seg::FS, Seg::DS, Seg::ES})
        s[seg] = SegmentCache{.base = 0, .limit = 0, .access_rights = ar::kUnusable, .selector = 0};
    return true;
}

// RETURN-TO-VIRTUAL-8086-MODE (SDM IRET): from CPL 0 with VM = 1 in the popped EFLAGS image
// (32-bit operand size). EIP, CS, EFLAGS are already read; ESP, SS, ES, DS, FS, GS follow on
// the stack, and every segment register gets its virtual-8086 cache (CPL 3).
bool return_to_v86(Cpu& cpu, uint32_t eip, uint16_t cs, uint32_t eflags) {
    CpuState& s = cpu.s;
    uint32_t values[6]; // ESP, SS, ES, DS, FS, GS
    for (uint32_t i = 0; i < 6; ++i)
        if (!cpu.peek<uint32_t>(12 + 4 * i, values[i])) return false;
    if (eip > 0xFFFF) return cpu.raise(vec::GP, 0);       // "IF EIP not within CS limit"
    s.eflags = (eflags & kLoadableFlags) | flags::Fixed1; // "EFLAGS := tempEFLAGS"
    s[Gpr::ESP] = values[0];
    constexpr Seg kPopped[] = {Seg::SS, Seg::ES, Seg::DS, Seg::FS, Seg::GS};
    for (int i = 0; i < 5; ++i)
        s[kPopped[i]] = v86_segment(static_cast<uint16_t>(values[i + 1]));
    s[Seg::CS] = v86_segment(cs);
    cpu.next_eip = eip;
    return true;
}

} // namespace

// The code segment a RET/IRET returns to (SDM RET): RPL < CPL, conforming with DPL > RPL,
// non-conforming with DPL != RPL -> #GP(selector); not present -> #NP(selector).
bool check_return_code_segment(Cpu& cpu, uint16_t selector, Descriptor& desc) {
    if (is_null_selector(selector)) return cpu.raise(vec::GP, 0);
    if (!read_descriptor(cpu, selector, desc)) return false;
    const uint32_t access = desc.access_rights();
    const uint32_t rpl = selector & 3u;
    const uint32_t dpl = ar::dpl(access);
    const uint16_t error = selector & 0xFFFC;
    if (!is_code(access) || rpl < cpu.s.cpl()) return cpu.raise(vec::GP, error);
    if (is_conforming_code(access) ? dpl > rpl : dpl != rpl) return cpu.raise(vec::GP, error);
    if (!ar::present(access)) return cpu.raise(vec::NP, error);
    return true;
}

bool deliver_protected_mode(Cpu& cpu, const Event& event) {
    CpuState& s = cpu.s;
    const uint32_t ext = event.software ? 0 : 1;
    const uint32_t idt_error = uint32_t{event.vector} * 8 + 2 + ext;
    if (uint32_t{event.vector} * 8 + 7 > s.idtr.limit) return cpu.raise(vec::GP, idt_error);
    uint64_t gate;
    if (!cpu.read_system(static_cast<uint32_t>(s.idtr.base + event.vector * 8u), &gate, 8))
        return false;
    const auto gate_access = static_cast<uint32_t>((gate >> 40) & 0xFF);
    const uint32_t type = ar::type(gate_access);
    if (ar::s(gate_access)) return cpu.raise(vec::GP, idt_error);
    if (type != 5 && type != 6 && type != 7 && type != 14 && type != 15)
        return cpu.raise(vec::GP, idt_error);
    if (event.software && ar::dpl(gate_access) < s.cpl()) return cpu.raise(vec::GP, idt_error);
    if (!ar::present(gate_access)) return cpu.raise(vec::NP, idt_error);
    if (type == 5) return deliver_through_task_gate(cpu, gate, event);

    const bool gate32 = (type & 8) != 0;
    const auto selector = static_cast<uint16_t>(gate >> 16);
    uint32_t offset = static_cast<uint32_t>(gate & 0xFFFF);
    if (gate32) offset |= static_cast<uint32_t>(gate >> 48) << 16;
    Descriptor target;
    if (!check_gate_target(cpu, selector, ext, target)) return false;
    const uint32_t access = target.access_rights();
    const uint32_t dpl = ar::dpl(access);
    const uint32_t cpl = s.cpl();
    if (offset > target.limit()) return cpu.raise(vec::GP, ext);

    const uint32_t pushed_flags = event.fault_class ? (s.eflags | flags::RF) : s.eflags;
    const uint8_t size = gate32 ? 4 : 2;
    const uint16_t old_cs = s[Seg::CS].selector;
    uint32_t new_cpl = cpl;
    if (s.v86()) {
        // SDM INT n: from virtual-8086 mode only to a non-conforming DPL 0 code segment,
        // else #GP(selector + EXT); then INTERRUPT-FROM-VIRTUAL-8086-MODE.
        if (is_conforming_code(access) || dpl != 0)
            return cpu.raise(vec::GP, (selector & 0xFFFCu) | ext);
        if (!push_v86_frame(cpu, size, event.has_error_code ? 10 : 9, ext)) return false;
        new_cpl = 0;
    } else if (!is_conforming_code(access) && dpl < cpl) { // inner privilege: new stack
        InnerStack stack;
        if (!inner_stack(cpu, dpl, ext, stack)) return false;
        const uint16_t old_ss = s[Seg::SS].selector;
        const uint32_t old_esp = s[Gpr::ESP];
        switch_stack(cpu, stack);
        if (!frame_fits(cpu, event.has_error_code ? 6 : 5, size, ext)) return false;
        if (!push_sized(cpu, size, old_ss) || !push_sized(cpu, size, old_esp)) return false;
        new_cpl = dpl;
    } else if (!is_conforming_code(access) && dpl != cpl) {
        return cpu.raise(vec::GP, (selector & 0xFFFCu) | ext);
    } else if (!frame_fits(cpu, event.has_error_code ? 4 : 3, size, ext)) {
        return false;
    }
    if (!push_sized(cpu, size, pushed_flags) || !push_sized(cpu, size, old_cs) ||
        !push_sized(cpu, size, event.return_eip))
        return false;
    if (event.has_error_code && !push_sized(cpu, size, event.error_code)) return false;
    if (!commit_code_segment(cpu, target, selector, new_cpl)) return false;
    s.eflags &= ~(flags::TF | flags::NT | flags::RF | flags::VM);
    if (!(type & 1)) s.eflags &= ~flags::IF; // interrupt gate (type 6/14), not trap gate
    cpu.next_eip = offset;
    return true;
}

bool transfer_through_call_gate(Cpu& cpu, uint16_t gate_selector, const Descriptor& gate,
                                FarKind kind) {
    CpuState& s = cpu.s;
    const uint32_t gate_access = gate.access_rights();
    const uint16_t gate_error = gate_selector & 0xFFFC;
    const uint32_t cpl = s.cpl();
    // SDM CALL: gate DPL < CPL or < RPL -> #GP(gate); not present -> #NP(gate).
    if (ar::dpl(gate_access) < cpl || ar::dpl(gate_access) < (gate_selector & 3u))
        return cpu.raise(vec::GP, gate_error);
    if (!ar::present(gate_access)) return cpu.raise(vec::NP, gate_error);
    const bool gate32 = (ar::type(gate_access) & 8) != 0;
    const auto selector = static_cast<uint16_t>(gate.raw >> 16);
    uint32_t offset = static_cast<uint32_t>(gate.raw & 0xFFFF);
    if (gate32) offset |= static_cast<uint32_t>(gate.raw >> 48) << 16;
    Descriptor target;
    if (!check_gate_target(cpu, selector, 0, target)) return false;
    const uint32_t access = target.access_rights();
    const uint32_t dpl = ar::dpl(access);
    const bool conforming = is_conforming_code(access);
    if (offset > target.limit()) return cpu.raise(vec::GP, 0);

    if (kind == FarKind::Jump) { // JMP through a call gate never changes privilege
        if (!conforming && dpl != cpl) return cpu.raise(vec::GP, selector & 0xFFFC);
        if (!commit_code_segment(cpu, target, selector, cpl)) return false;
        cpu.next_eip = offset;
        return true;
    }
    const uint8_t size = gate32 ? 4 : 2;
    const uint16_t old_cs = s[Seg::CS].selector;
    uint32_t new_cpl = cpl;
    if (!conforming && dpl < cpl) {
        // More privilege: copy the gate's parameter count of stack entries (SDM CALL,
        // "CallGateParameterCount").
        const uint32_t count = static_cast<uint32_t>(gate.raw >> 32) & 0x1F;
        uint32_t params[31];
        for (uint32_t i = 0; i < count; ++i) {
            if (size == 4) {
                if (!cpu.peek<uint32_t>(i * 4, params[i])) return false;
            } else {
                uint16_t p;
                if (!cpu.peek<uint16_t>(i * 2, p)) return false;
                params[i] = p;
            }
        }
        InnerStack stack;
        if (!inner_stack(cpu, dpl, 0, stack)) return false;
        const uint16_t old_ss = s[Seg::SS].selector;
        const uint32_t old_esp = s[Gpr::ESP];
        switch_stack(cpu, stack);
        if (!push_sized(cpu, size, old_ss) || !push_sized(cpu, size, old_esp)) return false;
        for (uint32_t i = count; i-- > 0;)
            if (!push_sized(cpu, size, params[i])) return false;
        new_cpl = dpl;
    }
    if (!push_sized(cpu, size, old_cs) || !push_sized(cpu, size, cpu.next_eip)) return false;
    if (!commit_code_segment(cpu, target, selector, new_cpl)) return false;
    cpu.next_eip = offset;
    return true;
}

bool far_return_to_outer_level(Cpu& cpu, uint16_t selector, uint32_t offset, uint8_t operand_size,
                               uint32_t outer_stack_at, uint32_t release) {
    CpuState& s = cpu.s;
    Descriptor code;
    if (!check_return_code_segment(cpu, selector, code)) return false;
    const uint32_t rpl = selector & 3u;
    const uint32_t outer = outer_stack_at;
    uint32_t new_esp;
    uint16_t ss_selector;
    if (operand_size == 4) {
        uint32_t ss32;
        if (!cpu.peek<uint32_t>(outer, new_esp) || !cpu.peek<uint32_t>(outer + 4, ss32))
            return false;
        ss_selector = static_cast<uint16_t>(ss32);
    } else {
        uint16_t sp16;
        if (!cpu.peek<uint16_t>(outer, sp16) || !cpu.peek<uint16_t>(outer + 2, ss_selector))
            return false;
        new_esp = sp16;
    }
    Descriptor stack;
    if (!check_outer_stack(cpu, ss_selector, rpl, stack)) return false;
    if (operand_size == 2) offset &= 0xFFFF;
    if (offset > code.limit()) return cpu.raise(vec::GP, 0);
    if (!mark_accessed(cpu, code) || !mark_accessed(cpu, stack)) return false;
    s[Seg::CS] = code.cache(selector);
    s[Seg::SS] = stack.cache(ss_selector);
    const uint32_t esp = new_esp + release; // RET imm16 also releases the outer stack
    s[Gpr::ESP] =
        ar::db(stack.access_rights()) ? esp : (s[Gpr::ESP] & 0xFFFF0000u) | (esp & 0xFFFF);
    null_inaccessible_data_segments(s);
    cpu.next_eip = offset;
    return true;
}

bool iret_protected_mode(Cpu& cpu, uint8_t operand_size) {
    CpuState& s = cpu.s;
    if (s.eflags & flags::NT) return return_from_nested_task(cpu);
    uint32_t eip = 0, cs = 0, eflags = 0;
    if (operand_size == 4) {
        if (!cpu.peek<uint32_t>(0, eip) || !cpu.peek<uint32_t>(4, cs) ||
            !cpu.peek<uint32_t>(8, eflags))
            return false;
    } else {
        uint16_t ip16, cs16, fl16;
        if (!cpu.peek<uint16_t>(0, ip16) || !cpu.peek<uint16_t>(2, cs16) ||
            !cpu.peek<uint16_t>(4, fl16))
            return false;
        eip = ip16;
        cs = cs16;
        eflags = fl16;
    }
    if (operand_size == 4 && (eflags & flags::VM) && s.cpl() == 0)
        return return_to_v86(cpu, eip, static_cast<uint16_t>(cs), eflags);
    const auto selector = static_cast<uint16_t>(cs);
    const uint32_t rpl = selector & 3u;
    if (rpl > s.cpl()) {
        // The flags load under the rules of the CPL the IRET runs at, so before CS and SS
        // change (a fault afterwards rolls the whole instruction back).
        load_popped_flags(cpu, eflags, operand_size, FlagsSource::Iret);
        load_resume_flag(s, eflags, operand_size);
        return far_return_to_outer_level(cpu, selector, eip, operand_size, 3u * operand_size, 0);
    }
    Descriptor code;
    if (!check_return_code_segment(cpu, selector, code)) return false;
    if (operand_size == 2) eip &= 0xFFFF;
    if (eip > code.limit()) return cpu.raise(vec::GP, 0);
    if (!commit_code_segment(cpu, code, selector, rpl)) return false;
    cpu.release_stack(3u * operand_size);
    load_popped_flags(cpu, eflags, operand_size, FlagsSource::Iret);
    load_resume_flag(s, eflags, operand_size);
    cpu.next_eip = eip;
    return true;
}

} // namespace transit86::emu
