// Protection class: ARPL, LAR, LSL, VERR, VERW (SDM Vol. 3A 5.10.3 "Checking Caller Access
// Privileges", and each instruction's "Operation"). None of them faults on a bad selector:
// they report through ZF.
#include "emu/interp/handlers.hpp"
#include "emu/system/segment_load.hpp"

namespace transit86::emu {

namespace {

enum class Probe : uint8_t { Found, NotFound, Stopped };

// Reads the descriptor without faulting: a null selector or one beyond the table is NotFound.
Probe probe_descriptor(Cpu& cpu, uint16_t selector, Descriptor& desc) {
    if (is_null_selector(selector)) return Probe::NotFound;
    const bool ldt = selector & 4;
    if (ldt && ar::unusable(cpu.s.ldtr.access_rights)) return Probe::NotFound;
    const uint64_t base = ldt ? cpu.s.ldtr.base : cpu.s.gdtr.base;
    const uint32_t limit = ldt ? cpu.s.ldtr.limit : cpu.s.gdtr.limit;
    const uint32_t offset = selector & 0xFFF8;
    if (offset + 7u > limit) return Probe::NotFound;
    desc.linear = static_cast<uint32_t>(base + offset);
    return cpu.read_system(desc.linear, &desc.raw, 8) ? Probe::Found : Probe::Stopped;
}

bool conforming_code(uint32_t access) {
    return ar::s(access) && (ar::type(access) & 0xC) == 0xC;
}

// The privilege test the four instructions share: conforming code segments pass; everything
// else needs DPL >= CPL and DPL >= RPL.
bool privilege_allows(const Cpu& cpu, uint16_t selector, uint32_t access) {
    if (conforming_code(access)) return true;
    const uint32_t dpl = ar::dpl(access);
    return dpl >= cpu.s.cpl() && dpl >= (selector & 3u);
}

// System descriptor types LAR accepts (SDM LAR, Table 3-58); LSL accepts the same minus gates.
bool lar_system_type(uint32_t type, bool for_lsl) {
    switch (type) {
    case 1:
    case 2:
    case 3:
    case 9:
    case 11: return true;
    case 4:
    case 5:
    case 12: return !for_lsl;
    default: return false;
    }
}

} // namespace

bool exec_protection(Cpu& cpu, const Insn& insn) {
    if (!cpu.s.protected_mode() || cpu.s.v86()) return cpu.raise(vec::UD);
    const Operand& dst = insn.operands[0];
    if (insn.op == Op::Arpl) { // arpl r/m16, r16
        uint16_t dest, src;
        if (!cpu.read_operand(insn, dst, dest) || !cpu.read_operand(insn, insn.operands[1], src))
            return false;
        if ((dest & 3) < (src & 3)) {
            if (!cpu.write_operand<uint16_t>(insn, dst,
                                             static_cast<uint16_t>((dest & ~3) | (src & 3))))
                return false;
            cpu.set_flag(flags::ZF, true);
        } else {
            cpu.set_flag(flags::ZF, false);
        }
        return true;
    }
    uint16_t selector;
    const Operand& source = insn.op == Op::Verr || insn.op == Op::Verw ? dst : insn.operands[1];
    if (!cpu.read_operand<uint16_t>(insn, source, selector)) return false;
    Descriptor desc;
    const Probe probe = probe_descriptor(cpu, selector, desc);
    if (probe == Probe::Stopped) return false;
    const uint32_t access = desc.access_rights();
    const uint32_t type = ar::type(access);
    bool ok = probe == Probe::Found && privilege_allows(cpu, selector, access);
    switch (insn.op) {
    case Op::Lar: // lar r, r/m16
    case Op::Lsl: // lsl r, r/m16
        ok = ok && (ar::s(access) || lar_system_type(type, insn.op == Op::Lsl));
        if (ok) {
            // LAR: descriptor bits 8..23 of the high dword (SDM: AND 00FxFF00H); LSL: the
            // limit scaled by G.
            const uint32_t value = insn.op == Op::Lar
                                       ? static_cast<uint32_t>(desc.raw >> 32) & 0x00F0FF00
                                       : desc.limit();
            if (insn.operand_size == 4)
                cpu.set_reg<uint32_t>(dst.reg, value);
            else
                cpu.set_reg<uint16_t>(dst.reg, static_cast<uint16_t>(value));
        }
        break;
    case Op::Verr: // verr r/m16 — readable data or readable code
        ok = ok && ar::s(access) && (!(type & ar::kTypeCode) || (type & 2));
        break;
    case Op::Verw: // verw r/m16 — writable data
        ok = ok && ar::s(access) && !(type & ar::kTypeCode) && (type & 2);
        break;
    default: return cpu.unsupported("protection operation");
    }
    cpu.set_flag(flags::ZF, ok);
    return true;
}

} // namespace transit86::emu
