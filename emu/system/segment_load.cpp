// Segment register loads in real, virtual-8086 and protected mode.
#include "emu/system/segment_load.hpp"

#include "emu/system/privilege.hpp"
#include "emu/system/task_switch.hpp"

namespace transit86::emu {

namespace {

constexpr uint32_t kTypeConforming = 1u << 2; // code segments, type bit 2
constexpr uint32_t kTypeReadWrite = 1u << 1;  // readable code / writable data, type bit 1

bool is_code(uint32_t access_rights) {
    return ar::s(access_rights) && (ar::type(access_rights) & ar::kTypeCode);
}
bool is_data(uint32_t access_rights) {
    return ar::s(access_rights) && !(ar::type(access_rights) & ar::kTypeCode);
}

SegmentCache unusable_segment(uint16_t selector) {
    return SegmentCache{
        .base = 0, .limit = 0, .access_rights = ar::kUnusable, .selector = selector};
}

} // namespace

bool read_descriptor(Cpu& cpu, uint16_t selector, Descriptor& out, uint8_t vector) {
    const uint32_t error = selector & 0xFFFC;
    uint64_t table_base;
    uint32_t table_limit;
    if (selector & 4) {
        if (ar::unusable(cpu.s.ldtr.access_rights)) return cpu.raise(vector, error);
        table_base = cpu.s.ldtr.base;
        table_limit = cpu.s.ldtr.limit;
    } else {
        table_base = cpu.s.gdtr.base;
        table_limit = cpu.s.gdtr.limit;
    }
    const uint32_t offset = selector & 0xFFF8;
    if (offset + 7u > table_limit) return cpu.raise(vector, error);
    out.linear = static_cast<uint32_t>(table_base + offset);
    return cpu.read_system(out.linear, &out.raw, 8);
}

bool mark_accessed(Cpu& cpu, Descriptor& desc) {
    constexpr uint64_t kAccessedBit = 1ull << 40;
    if (desc.raw & kAccessedBit) return true;
    desc.raw |= kAccessedBit;
    const auto byte5 = static_cast<uint8_t>(desc.raw >> 40);
    return cpu.write_system(desc.linear + 5, &byte5, 1);
}

bool set_tss_busy(Cpu& cpu, Descriptor& desc, bool busy) {
    constexpr uint64_t kBusyBit = 1ull << 41;
    desc.raw = busy ? (desc.raw | kBusyBit) : (desc.raw & ~kBusyBit);
    const auto byte5 = static_cast<uint8_t>(desc.raw >> 40);
    return cpu.write_system(desc.linear + 5, &byte5, 1);
}

bool load_data_or_stack_segment(Cpu& cpu, Seg seg, uint16_t selector) {
    CpuState& s = cpu.s;
    if (!s.protected_mode()) {
        s[seg].selector = selector;
        s[seg].base = uint32_t{selector} << 4;
        return true;
    }
    if (s.v86()) { // SDM Vol. 3A 20.2.1: the whole cache is set, DPL 3 read/write data
        s[seg] = v86_segment(selector);
        return true;
    }

    const uint32_t cpl = s.cpl();
    const uint32_t rpl = selector & 3;
    const uint16_t error = selector & 0xFFFC;
    if (is_null_selector(selector)) {
        if (seg == Seg::SS) return cpu.raise(vec::GP, 0);
        s[seg] = unusable_segment(selector);
        return true;
    }
    Descriptor desc;
    if (!read_descriptor(cpu, selector, desc)) return false;
    const uint32_t access = desc.access_rights();
    const uint32_t dpl = ar::dpl(access);
    const uint32_t type = ar::type(access);

    if (seg == Seg::SS) {
        // SDM MOV: RPL != CPL, not a writable data segment, or DPL != CPL -> #GP(selector);
        // not present -> #SS(selector).
        if (rpl != cpl || !is_data(access) || !(type & kTypeReadWrite) || dpl != cpl)
            return cpu.raise(vec::GP, error);
        if (!ar::present(access)) return cpu.raise(vec::SS, error);
    } else {
        // SDM MOV: not data or readable code -> #GP; data or non-conforming code with
        // RPL > DPL or CPL > DPL -> #GP; not present -> #NP.
        const bool readable_code = is_code(access) && (type & kTypeReadWrite);
        if (!is_data(access) && !readable_code) return cpu.raise(vec::GP, error);
        const bool conforming_code = is_code(access) && (type & kTypeConforming);
        if (!conforming_code && (rpl > dpl || cpl > dpl)) return cpu.raise(vec::GP, error);
        if (!ar::present(access)) return cpu.raise(vec::NP, error);
    }
    if (!mark_accessed(cpu, desc)) return false;
    s[seg] = desc.cache(selector);
    return true;
}

bool load_code_segment(Cpu& cpu, uint16_t selector, uint32_t offset, uint8_t operand_size,
                       FarKind kind) {
    CpuState& s = cpu.s;
    if (operand_size == 2) offset &= 0xFFFF;
    SegmentCache target = s[Seg::CS];
    Descriptor desc{};
    const bool walk_gdt = s.protected_mode() && !s.v86();
    if (!walk_gdt) {
        // Real and virtual-8086 mode: selector and base only (SDM JMP: the hidden limit stays).
        target.selector = selector;
        target.base = uint32_t{selector} << 4;
    } else {
        const uint32_t cpl = s.cpl();
        const uint32_t rpl = selector & 3;
        const uint16_t error = selector & 0xFFFC;
        if (is_null_selector(selector)) return cpu.raise(vec::GP, 0);
        if (!read_descriptor(cpu, selector, desc)) return false;
        const uint32_t access = desc.access_rights();
        const uint32_t dpl = ar::dpl(access);
        if (!is_code(access)) {
            const uint32_t type = ar::type(access);
            if (!ar::s(access) && kind != FarKind::Return && (type == 4 || type == 12))
                return transfer_through_call_gate(cpu, selector, desc, kind);
            if (!ar::s(access) && kind != FarKind::Return && (type == 5 || type == 1 || type == 9))
                return far_transfer_to_task(cpu, selector, desc, kind);
            return cpu.raise(vec::GP, error);
        }
        const bool conforming = (ar::type(access) & kTypeConforming) != 0;
        if (kind == FarKind::Return) {
            // SDM RET: RPL < CPL, conforming DPL > RPL, non-conforming DPL != RPL -> #GP.
            if (rpl < cpl || (conforming ? dpl > rpl : dpl != rpl))
                return cpu.raise(vec::GP, error);
            if (rpl > cpl) return cpu.unsupported("far return to an outer privilege level");
        } else if (conforming ? dpl > cpl : (rpl > cpl || dpl != cpl)) {
            return cpu.raise(vec::GP, error); // SDM JMP/CALL to a code segment
        }
        if (!ar::present(access)) return cpu.raise(vec::NP, error);
        target = desc.cache(
            static_cast<uint16_t>((selector & 0xFFFC) | (kind == FarKind::Return ? rpl : cpl)));
    }
    // SDM JMP/CALL/RET: the new EIP must lie within the new CS limit.
    if (offset > target.limit) return cpu.raise(vec::GP, 0);
    if (kind == FarKind::Call) {
        const uint16_t old_cs = s[Seg::CS].selector;
        const bool pushed = operand_size == 4
                                ? cpu.push<uint32_t>(old_cs) && cpu.push<uint32_t>(cpu.next_eip)
                                : cpu.push<uint16_t>(old_cs) &&
                                      cpu.push<uint16_t>(static_cast<uint16_t>(cpu.next_eip));
        if (!pushed) return false;
    }
    if (walk_gdt && !mark_accessed(cpu, desc)) return false;
    if (walk_gdt) target.access_rights |= ar::kAccessed;
    s[Seg::CS] = target;
    cpu.next_eip = offset;
    return true;
}

bool load_ldtr(Cpu& cpu, uint16_t selector) {
    // SDM LLDT: a null selector marks LDTR unusable; TI must be 0; the descriptor must be
    // an LDT (type 2); not present -> #NP.
    const uint16_t error = selector & 0xFFFC;
    if (is_null_selector(selector)) {
        cpu.s.ldtr = unusable_segment(selector);
        return true;
    }
    if (selector & 4) return cpu.raise(vec::GP, error);
    Descriptor desc;
    if (!read_descriptor(cpu, selector, desc)) return false;
    const uint32_t access = desc.access_rights();
    if (ar::s(access) || ar::type(access) != 2) return cpu.raise(vec::GP, error);
    if (!ar::present(access)) return cpu.raise(vec::NP, error);
    cpu.s.ldtr = desc.cache(selector);
    return true;
}

bool load_tr(Cpu& cpu, uint16_t selector) {
    // SDM LTR: null -> #GP(0); TI = 1 or not an available TSS (type 1 or 9) -> #GP(sel);
    // not present -> #NP(sel). The descriptor is then marked busy in memory.
    const uint16_t error = selector & 0xFFFC;
    if (is_null_selector(selector)) return cpu.raise(vec::GP, 0);
    if (selector & 4) return cpu.raise(vec::GP, error);
    Descriptor desc;
    if (!read_descriptor(cpu, selector, desc)) return false;
    const uint32_t access = desc.access_rights();
    const uint32_t type = ar::type(access);
    if (ar::s(access) || (type != 1 && type != 9)) return cpu.raise(vec::GP, error);
    if (!ar::present(access)) return cpu.raise(vec::NP, error);
    if (!set_tss_busy(cpu, desc, true)) return false;
    cpu.s.tr = desc.cache(selector);
    return true;
}

} // namespace transit86::emu
