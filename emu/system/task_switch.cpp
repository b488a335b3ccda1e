// Task switches: the checks on the target, the save of the old task, the load of the new one
// (SDM Vol. 3A 7.3, Tables 7-1 and 7-2).
#include "emu/system/task_switch.hpp"

#include "emu/system/paging.hpp"

namespace transit86::emu {

namespace {

// What started the switch; it decides the busy bits, NT and the link (SDM Vol. 3A Table 7-2).
enum class Source : uint8_t { Jump, Call, Iret, Event };

// Where the dynamic fields live (SDM Vol. 3A Figure 7-2, 32-bit TSS; Figure 7-10, 16-bit
// TSS). Registers follow in ModRM order and segment selectors in Seg order (ES, CS, SS, DS,
// FS, GS), one slot of `width` bytes each; a 16-bit TSS has no FS, GS or CR3.
struct TssLayout {
    uint32_t eip, eflags, gpr, seg, ldt;
    uint8_t width;
    int segments;
    uint32_t minimum_limit; // SDM Table 7-1: "TSS segment limit greater than or equal to 67H"
};
constexpr TssLayout kTss32{0x20, 0x24, 0x28, 0x48, 0x60, 4, 6, 0x67};
constexpr TssLayout kTss16{0x0E, 0x10, 0x12, 0x22, 0x2A, 2, 4, 0x2B};
constexpr uint32_t kTss32Cr3 = 0x1C;
// The T (debug trap) flag: bit 0 of the word at 64H of a 32-bit TSS (SDM Vol. 3A 7.2.1,
// Figure 7-2); a 16-bit TSS has none.
constexpr uint32_t kTss32Trap = 0x64;

const TssLayout& layout_of(uint32_t tss_access) {
    return (ar::type(tss_access) & 8) ? kTss32 : kTss16;
}

// The new task's state, all read before anything is written (SDM Vol. 3A 7.3 steps 1-4
// fault without changing any state).
struct TaskImage {
    uint32_t eip = 0, eflags = 0, cr3 = 0;
    uint32_t gpr[8]{};
    uint16_t seg[kNumSegs]{};
    uint16_t ldt = 0;
    uint16_t trap = 0; // 32-bit TSS: bit 0 is the T flag
};

bool read_field(Cpu& cpu, uint32_t linear, uint8_t width, uint32_t& value) {
    value = 0;
    return cpu.read_system(linear, &value, width);
}

bool read_image(Cpu& cpu, uint32_t base, const TssLayout& tss, TaskImage& image) {
    if (!read_field(cpu, base + tss.eip, tss.width, image.eip) ||
        !read_field(cpu, base + tss.eflags, tss.width, image.eflags))
        return false;
    for (uint32_t i = 0; i < 8; ++i)
        if (!read_field(cpu, base + tss.gpr + i * tss.width, tss.width, image.gpr[i])) return false;
    for (int i = 0; i < tss.segments; ++i)
        if (!cpu.read_system(base + tss.seg + i * tss.width, &image.seg[i], 2)) return false;
    if (!cpu.read_system(base + tss.ldt, &image.ldt, 2)) return false;
    return &tss != &kTss32 || (read_field(cpu, base + kTss32Cr3, 4, image.cr3) &&
                               cpu.read_system(base + kTss32Trap, &image.trap, 2));
}

// SDM Vol. 3A 7.3 step 7: EIP, EFLAGS, the general registers and the segment selectors of the
// current task go to its TSS (a 16-bit TSS keeps only the low halves, SDM Vol. 3A 7.6).
bool save_state(Cpu& cpu, const TssLayout& tss, uint32_t eip, uint32_t eflags) {
    const CpuState& s = cpu.s;
    const auto base = static_cast<uint32_t>(s.tr.base);
    if (!cpu.write_system(base + tss.eip, &eip, tss.width) ||
        !cpu.write_system(base + tss.eflags, &eflags, tss.width))
        return false;
    for (uint32_t i = 0; i < 8; ++i)
        if (!cpu.write_system(base + tss.gpr + i * tss.width, &s.gpr[i], tss.width)) return false;
    for (int i = 0; i < tss.segments; ++i)
        if (!cpu.write_system(base + tss.seg + i * tss.width, &s.seg[i].selector, 2)) return false;
    return true;
}

// Segment loads after the commit point report what they find as #TS, not #GP (SDM Vol. 3A
// Table 7-1; an LDT that is not present is #TS too), with EXT for an external event.
bool as_task_fault(Cpu& cpu, bool loaded, uint32_t ext, bool not_present_too = false) {
    if (loaded) return true;
    if (cpu.stop != Stop::Fault) return false;
    if (cpu.fault.vector == vec::GP || (not_present_too && cpu.fault.vector == vec::NP))
        cpu.fault.vector = vec::TS;
    if (cpu.fault.has_error_code) cpu.fault.error_code |= ext;
    return false;
}

// SDM Vol. 3A 7.3 steps 11-12: LDTR, then the segment registers of the new task, each
// descriptor qualified in the new task's context.
bool load_segments(Cpu& cpu, const TaskImage& image, uint32_t ext) {
    CpuState& s = cpu.s;
    for (int i = 0; i < kNumSegs; ++i)
        s.seg[i].selector = image.seg[i];
    if (!as_task_fault(cpu, load_ldtr(cpu, image.ldt), ext, true)) return false;
    if (s.v86()) { // a virtual-8086 task: no descriptors (SDM Vol. 3A 20.2.1)
        for (int i = 0; i < kNumSegs; ++i)
            s.seg[i] = v86_segment(image.seg[i]);
        return true;
    }
    // The new CPL is the RPL of the new CS. CPL is read from SS.DPL (cpu_state.hpp), so until
    // SS is qualified its cache carries the new CPL and the checks run at that privilege.
    const uint16_t cs = image.seg[static_cast<int>(Seg::CS)];
    SegmentCache& ss = s[Seg::SS];
    ss.access_rights = (ss.access_rights & ~ar::kDplMask) | ((cs & 3u) << ar::kDplShift);
    Descriptor code;
    if (!as_task_fault(cpu, check_return_code_segment(cpu, cs, code), ext) ||
        !mark_accessed(cpu, code))
        return false;
    s[Seg::CS] = code.cache(cs);
    for (Seg seg : {Seg::SS, Seg::ES, Seg::DS, Seg::FS, Seg::GS}) {
        const uint16_t selector = image.seg[static_cast<int>(seg)];
        if (!as_task_fault(cpu, load_data_or_stack_segment(cpu, seg, selector), ext)) return false;
    }
    return true;
}

// SDM Vol. 3A 7.3 steps 3-12 for the TSS `selector` names. `saved_eip` and `saved_eflags`
// are what the old task's TSS receives.
bool switch_tasks(Cpu& cpu, uint16_t selector, Descriptor& tss, Source source, uint32_t saved_eip,
                  uint32_t saved_eflags, uint32_t ext) {
    CpuState& s = cpu.s;
    const TssLayout& to = layout_of(tss.access_rights());
    if (tss.limit() < to.minimum_limit) return cpu.raise(vec::TS, (selector & 0xFFFCu) | ext);
    const auto new_base = static_cast<uint32_t>(tss.base());
    TaskImage image;
    if (!read_image(cpu, new_base, to, image)) return false;

    // Step 5: JMP and IRET leave the old task not busy; CALL and events keep it busy.
    if (source == Source::Jump || source == Source::Iret) {
        Descriptor old_tss;
        if (!read_descriptor(cpu, s.tr.selector, old_tss) || !set_tss_busy(cpu, old_tss, false))
            return false;
    }
    // Steps 6-7: IRET clears NT in the image it saves.
    if (source == Source::Iret) saved_eflags &= ~flags::NT;
    if (!save_state(cpu, layout_of(s.tr.access_rights), saved_eip, saved_eflags)) return false;
    // Steps 8-9 (Table 7-2): a nested switch links the new task to the old one and sets NT;
    // the new task becomes busy (an IRET returns to a task that already is).
    const bool nested = source == Source::Call || source == Source::Event;
    if (nested && !cpu.write_system(new_base, &s.tr.selector, 2)) return false;
    if (source != Source::Iret && !set_tss_busy(cpu, tss, true)) return false;

    // The commit point: from here a fault belongs to the new task.
    cpu.task_committed = true;
    s.tr = tss.cache(selector);
    s.cr0 |= cr0::TS; // SDM Vol. 3A 2.5: "set on every task switch"
    // SDM Vol. 3B 18.2.4: L0-L3 are cleared "on every task switch to avoid unwanted
    // breakpoint conditions in the new task"; G0-G3 stay.
    s.dr7 &= ~dr7::LocalEnables;
    // Step 11. CR3 only with paging on ("if paging is not enabled, a PDBR value is read from
    // the new task's TSS, but it is not loaded into CR3"); a 16-bit TSS has none.
    if (&to == &kTss32 && (s.cr0 & cr0::PG) && !write_cr3(cpu, image.cr3)) return false;
    s.eflags = ((image.eflags | (nested ? flags::NT : 0)) & kLoadableFlags) | flags::Fixed1;
    for (int i = 0; i < 8; ++i) // a 16-bit TSS loads the low halves (SDM Vol. 3A 7.6)
        s.gpr[i] =
            to.width == 4 ? image.gpr[i] : (s.gpr[i] & 0xFFFF0000u) | (image.gpr[i] & 0xFFFF);
    s.eip = image.eip;
    cpu.next_eip = image.eip;
    if (!load_segments(cpu, image, ext)) return false;
    // The T flag: a debug trap once the switch completes, before the new task's first
    // instruction, with DR6.BT (SDM Vol. 3A 7.2.1; Vol. 3B 18.3.1.5). The run loop delivers it.
    if (image.trap & 1) cpu.debug_traps |= dr6::BT;
    return true;
}

// The TSS a task gate or a previous-task link names (SDM INT n / JMP "TASK-GATE", IRET
// "TASK-RETURN"): TI = 1, beyond the GDT limit, not a TSS, or busy when it must be available
// (available when it must be busy) -> `vector`(selector + EXT); not present -> #NP.
bool read_task_descriptor(Cpu& cpu, uint16_t selector, bool busy, uint8_t vector, uint32_t ext,
                          Descriptor& out) {
    const uint32_t error = (selector & 0xFFFCu) | ext;
    if (selector & 4) return cpu.raise(vector, error);
    if (!read_descriptor(cpu, selector, out, vector)) {
        if (cpu.stop == Stop::Fault) cpu.fault.error_code |= ext;
        return false;
    }
    const uint32_t access = out.access_rights();
    const uint32_t type = ar::type(access);
    const bool is_tss = !ar::s(access) && (type & ~(8u | 2u)) == 1;
    if (!is_tss || ((type & 2) != 0) != busy) return cpu.raise(vector, error);
    if (!ar::present(access)) return cpu.raise(vec::NP, error);
    return true;
}

// SDM JMP/CALL/IRET after SWITCH-TASKS: "IF EIP not within code segment limit THEN #GP(0)"
// (INT n: #GP(EXT)) — in the new task.
bool eip_within_code_limit(Cpu& cpu, uint32_t ext) {
    return cpu.s.eip <= cpu.s[Seg::CS].limit || cpu.raise(vec::GP, ext);
}

} // namespace

bool far_transfer_to_task(Cpu& cpu, uint16_t selector, const Descriptor& desc, FarKind kind) {
    CpuState& s = cpu.s;
    const uint32_t access = desc.access_rights();
    const uint16_t error = selector & 0xFFFC;
    // SDM JMP/CALL: DPL < CPL or DPL < RPL -> #GP(selector); not present -> #NP(selector).
    // A TSS must also be in the GDT ("TI flag in TSS segment selector indicates LDT").
    if (ar::dpl(access) < s.cpl() || ar::dpl(access) < (selector & 3u))
        return cpu.raise(vec::GP, error);
    const bool gate = ar::type(access) == 5;
    if (!gate && (selector & 4)) return cpu.raise(vec::GP, error);
    if (!ar::present(access)) return cpu.raise(vec::NP, error);
    uint16_t tss_selector = selector;
    Descriptor tss = desc;
    if (gate) { // the gate's TSS: in the GDT, available, present
        tss_selector = static_cast<uint16_t>(desc.raw >> 16);
        if (!read_task_descriptor(cpu, tss_selector, false, vec::GP, 0, tss)) return false;
    }
    const Source source = kind == FarKind::Call ? Source::Call : Source::Jump;
    return switch_tasks(cpu, tss_selector, tss, source, cpu.next_eip, s.eflags, 0) &&
           eip_within_code_limit(cpu, 0);
}

bool deliver_through_task_gate(Cpu& cpu, uint64_t gate, const Event& event) {
    const uint32_t ext = event.software ? 0 : 1;
    const auto tss_selector = static_cast<uint16_t>(gate >> 16);
    Descriptor tss;
    if (!read_task_descriptor(cpu, tss_selector, false, vec::GP, ext, tss)) return false;
    // A fault saves its EFLAGS image with RF set, as it would push it (SDM Vol. 3B 18.3.1.1).
    const uint32_t eflags = event.fault_class ? (cpu.s.eflags | flags::RF) : cpu.s.eflags;
    if (!switch_tasks(cpu, tss_selector, tss, Source::Event, event.return_eip, eflags, ext))
        return false;
    if (event.has_error_code) { // a word or a doubleword by the new TSS's size (SDM 6.13)
        const bool pushed = (ar::type(tss.access_rights()) & 8)
                                ? cpu.push<uint32_t>(event.error_code)
                                : cpu.push<uint16_t>(static_cast<uint16_t>(event.error_code));
        if (!pushed) {
            if (cpu.stop == Stop::Fault) cpu.fault.error_code = ext; // #SS(EXT)
            return false;
        }
    }
    return eip_within_code_limit(cpu, ext);
}

bool return_from_nested_task(Cpu& cpu) {
    CpuState& s = cpu.s;
    uint16_t link;
    if (!cpu.read_system(static_cast<uint32_t>(s.tr.base), &link, 2)) return false;
    Descriptor tss;
    if (!read_task_descriptor(cpu, link, true, vec::TS, 0, tss)) return false;
    return switch_tasks(cpu, link, tss, Source::Iret, cpu.next_eip, s.eflags, 0) &&
           eip_within_code_limit(cpu, 0);
}

bool read_io_map_base(Cpu& cpu, uint16_t& map_base) {
    constexpr uint32_t kIoMapBaseOffset = 0x66;
    const SegmentCache& tr = cpu.s.tr;
    const bool tss32 = (ar::type(tr.access_rights) & ~2u) == 9; // available or busy
    if (!tss32 || tr.limit < kIoMapBaseOffset + 1) return cpu.raise(vec::GP, 0);
    return cpu.read_system(static_cast<uint32_t>(tr.base + kIoMapBaseOffset), &map_base, 2);
}

} // namespace transit86::emu
