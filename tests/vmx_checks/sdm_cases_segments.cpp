// SDM Vol. 3C 26.3.1.2, "Checks on Guest Segment Registers": one case per row, each traced to
// its sentence. Per-register rows are built in loops over the registers the sentence names.
#include "sdm_cases.hpp"

#include <string>

namespace transit86::vmx::test {

namespace {

constexpr uint64_t kNonCanonical = 0x0000'8000'0000'0000; // bit 47 set, bits 63:48 clear
constexpr uint32_t kData32 = 0xC093;
constexpr uint32_t kCode32 = 0xC09B;
constexpr uint32_t kConformingCode32 = 0xC09F;

std::string id_of(std::string_view reg, std::string_view rest) {
    return "sdm." + std::string(reg) + "." + std::string(rest);
}

// paged_protected() with a usable LDT (selector 0x28 in the GDT).
CpuState with_ldt() {
    CpuState s = paged_protected();
    s.ldtr = segment(0x28, 0x1000, 0xFF, 0x82);
    return s;
}

// paged_protected() with a conforming CS, so that SS.DPL can change without CS.DPL rules
// firing ("the DPL cannot be greater than the DPL in the access-rights field for SS").
CpuState conforming_cs() {
    CpuState s = paged_protected();
    s[Seg::CS].access_rights = kConformingCode32;
    return s;
}

void selector_cases(RuleCases& c) {
    // "TR. The TI flag (bit 2) must be 0."
    c.add("sdm.tr.ti", paged_protected(), [](CpuState& s) { s.tr.selector = 0x1C; });
    // "LDTR. If LDTR is usable, the TI flag (bit 2) must be 0."
    c.add("sdm.ldtr.ti", with_ldt(), [](CpuState& s) { s.ldtr.selector = 0x2C; });
    // "SS. If the guest will not be virtual-8086 and the 'unrestricted guest' VM-execution
    // control is 0, the RPL (bits 1:0) must equal the RPL of the selector field for CS."
    c.add("sdm.ss.rpl-eq-cs.rpl", conforming_cs(),
          [](CpuState& s) { s[Seg::SS] = segment(0x11, 0, 0xFFFFFFFF, 0xC0B3); }); // RPL = DPL 1
}

void base_cases(RuleCases& c) {
    // "CS, SS, DS, ES, FS, GS. If the guest will be virtual-8086, the address must be the
    // selector field shifted left 4 bits (multiplied by 16)."
    for (const auto& [seg, name] : kKvmSegOrder)
        c.add(sdm_id(id_of(name, "base.v86")), v86_task(),
              [seg = seg](CpuState& s) { s[seg].base += 0x10; });
    // "TR, FS, GS. The address must be canonical."
    c.add("sdm.tr.base.canonical", paged_protected(),
          [](CpuState& s) { s.tr.base = kNonCanonical; });
    c.add("sdm.fs.base.canonical", paged_protected(),
          [](CpuState& s) { s[Seg::FS].base = kNonCanonical; });
    c.add("sdm.gs.base.canonical", paged_protected(),
          [](CpuState& s) { s[Seg::GS].base = kNonCanonical; });
    // "LDTR. If LDTR is usable, the address must be canonical."
    c.add("sdm.ldtr.base.canonical", with_ldt(), [](CpuState& s) { s.ldtr.base = kNonCanonical; });
    // "CS. Bits 63:32 of the address must be zero." "SS, DS, ES. If the register is usable, bits
    // 63:32 of the address must be zero."
    for (const auto& [seg, name] : {SegName{Seg::CS, "cs"}, SegName{Seg::SS, "ss"},
                                    SegName{Seg::DS, "ds"}, SegName{Seg::ES, "es"}})
        c.add(sdm_id(id_of(name, "base.bits-63-32")), paged_protected(),
              [seg = seg](CpuState& s) { s[seg].base = uint64_t{1} << 32; });
}

void v86_cases(RuleCases& c) {
    // "Limit fields for CS, SS, DS, ES, FS, GS. If the guest will be virtual-8086, the field
    // must be 0000FFFFH."
    for (const auto& [seg, name] : kKvmSegOrder)
        c.add(sdm_id(id_of(name, "limit.v86")), v86_task(),
              [seg = seg](CpuState& s) { s[seg].limit = 0x1FFFF; });
    // "If the guest will be virtual-8086, the field must be 000000F3H."
    for (const auto& [seg, name] : kKvmSegOrder)
        c.add(sdm_id(id_of(name, "ar.v86")), v86_task(),
              [seg = seg](CpuState& s) { s[seg].access_rights = 0x73; }); // P = 0
}

void cs_cases(RuleCases& c) {
    // "CS. [...] If the control is 0, the Type must be 9, 11, 13, or 15 (accessed code
    // segment)."
    c.add("sdm.cs.type", paged_protected(),
          [](CpuState& s) { s[Seg::CS].access_rights = kData32; });
    // "Bit 4 (S). If the register is CS or if the register is usable, S must be 1."
    c.add("sdm.cs.s", paged_protected(), [](CpuState& s) { s[Seg::CS].access_rights = 0xC08B; });
    // "If the Type is 3 (read/write accessed expand-up data segment), the DPL must be 0. The
    // Type can be 3 only if the 'unrestricted guest' VM-execution control is 1."
    c.add(
        "sdm.cs.dpl-type3", paged_protected(),
        [](CpuState& s) { s[Seg::CS].access_rights = 0xC0F3; }, Profile::Unrestricted);
    // "If the Type is 9 or 11 (non-conforming code segment), the DPL must equal the DPL in the
    // access-rights field for SS."
    c.add("sdm.cs.dpl-eq-ss.dpl", paged_protected(),
          [](CpuState& s) { s[Seg::CS].access_rights = 0xC0FB; });
    // "If the Type is 13 or 15 (conforming code segment), the DPL cannot be greater than the DPL
    // in the access-rights field for SS."
    c.add("sdm.cs.dpl-le-ss.dpl", conforming_cs(),
          [](CpuState& s) { s[Seg::CS].access_rights = 0xC0FF; });
    // "Bit 7 (P). If the register is CS or if the register is usable, P must be 1."
    c.add("sdm.cs.p", paged_protected(), [](CpuState& s) { s[Seg::CS].access_rights = 0xC01B; });
    // "Bits 11:8 (reserved). If the register is CS or if the register is usable, these bits
    // must all be 0."
    c.add("sdm.cs.ar.reserved", paged_protected(),
          [](CpuState& s) { s[Seg::CS].access_rights = kCode32 | 0x100; });
    // "Bit 14 (D/B). For CS, D/B must be 0 if the guest will be IA-32e mode and the L bit (bit
    // 13) in the access-rights field is 1."
    {
        CpuState long_mode = paged_protected();
        long_mode.cr4 |= 1u << 5;                // PAE
        long_mode.efer = (1u << 8) | (1u << 10); // LME, LMA
        long_mode[Seg::CS].access_rights = 0xA09B;
        VmxContext ctx;
        ctx.ia32e_mode_guest = true;
        c.add(
            "sdm.cs.db-with-l", long_mode, [](CpuState& s) { s[Seg::CS].access_rights = 0xE09B; },
            Profile::Sdm, ctx);
    }
    // "Bit 15 (G). [...] If any bit in the limit field in the range 11:0 is 0, G must be 0."
    c.add("sdm.cs.g", paged_protected(), [](CpuState& s) { s[Seg::CS].limit = 0xFFFFF000; });
}

void ss_cases(RuleCases& c) {
    // "SS. If SS is usable, the Type must be 3 or 7 (read/write, accessed data segment)."
    c.add("sdm.ss.type", paged_protected(), [](CpuState& s) { s[Seg::SS].access_rights = 0xC091; });
    // "Bit 4 (S). If the register is CS or if the register is usable, S must be 1."
    c.add("sdm.ss.s", paged_protected(), [](CpuState& s) { s[Seg::SS].access_rights = 0xC083; });
    // "SS. If the 'unrestricted guest' VM-execution control is 0, the DPL must equal the RPL
    // from the selector field."
    c.add("sdm.ss.dpl-eq-rpl", conforming_cs(),
          [](CpuState& s) { s[Seg::SS].access_rights = 0xC0F3; });
    // "The DPL of SS must be 0 if the Type in the access-rights field for CS is 3 [...] or if
    // bit 0 in the CR0 field (corresponding to CR0.PE) is 0." Real mode needs unrestricted
    // guest to get this far.
    {
        CpuState real = real_mode();
        real[Seg::CS].access_rights = 0x9F; // conforming, so CS.DPL <= SS.DPL holds
        c.add(
            "sdm.ss.dpl-zero", real, [](CpuState& s) { s[Seg::SS].access_rights = 0xF3; },
            Profile::Unrestricted);
    }
    // "Bit 7 (P)", "Bits 11:8 (reserved)", "Bit 15 (G)", "Bits 31:17 (reserved)": "if the
    // register is usable".
    c.add("sdm.ss.p", paged_protected(), [](CpuState& s) { s[Seg::SS].access_rights = 0xC013; });
    c.add("sdm.ss.ar.reserved", paged_protected(),
          [](CpuState& s) { s[Seg::SS].access_rights = kData32 | 0x40000; });
    c.add("sdm.ss.g", paged_protected(), [](CpuState& s) { s[Seg::SS].limit = 0xFFFFF000; });
}

void data_cases(RuleCases& c) {
    for (const auto& [seg, name] : kDataSegs) {
        const auto set_rights = [seg = seg](uint32_t rights) {
            return [seg, rights](CpuState& s) { s[seg].access_rights = rights; };
        };
        // "DS, ES, FS, GS. The following checks apply if the register is usable: Bit 0 of the
        // Type must be 1 (accessed). If bit 3 of the Type is 1 (code segment), then bit 1 of
        // the Type must be 1 (readable)."
        c.add(sdm_id(id_of(name, "type.accessed")), paged_protected(), set_rights(0xC092));
        c.add(sdm_id(id_of(name, "type.readable")), paged_protected(), set_rights(0xC099));
        // "Bit 4 (S). If the register is CS or if the register is usable, S must be 1."
        c.add(sdm_id(id_of(name, "s")), paged_protected(), set_rights(0xC083));
        // "The DPL cannot be less than the RPL in the selector field if (1) the 'unrestricted
        // guest' VM-execution control is 0; (2) the register is usable; and (3) the Type [...]
        // is in the range 0 - 11."
        c.add(sdm_id(id_of(name, "dpl-ge-rpl")), paged_protected(),
              [seg = seg](CpuState& s) { s[seg].selector = 0x13; });
        // "Bit 7 (P)", "Bits 11:8 (reserved)", "Bit 15 (G)": if the register is usable.
        c.add(sdm_id(id_of(name, "p")), paged_protected(), set_rights(0xC013));
        c.add(sdm_id(id_of(name, "ar.reserved")), paged_protected(), set_rights(kData32 | 0x800));
        c.add(sdm_id(id_of(name, "g")), paged_protected(),
              [seg = seg](CpuState& s) { s[seg].limit = 0xFFFFF000; });
    }
}

void tr_ldtr_cases(RuleCases& c) {
    // "TR. [...] If the guest will not be IA-32e mode, the Type must be 3 (16-bit busy TSS) or
    // 11 (32-bit busy TSS)."
    c.add("sdm.tr.type", paged_protected(), [](CpuState& s) { s.tr.access_rights = 0x89; });
    // "Bit 4 (S). S must be 0." "Bit 7 (P). P must be 1." "Bits 11:8 (reserved). These bits
    // must all be 0." "Bit 15 (G)." "Bit 16 (Unusable). The unusable bit must be 0."
    c.add("sdm.tr.s", paged_protected(), [](CpuState& s) { s.tr.access_rights = 0x9B; });
    c.add("sdm.tr.p", paged_protected(), [](CpuState& s) { s.tr.access_rights = 0x0B; });
    c.add("sdm.tr.ar.reserved", paged_protected(),
          [](CpuState& s) { s.tr.access_rights = 0x8B | 0x100; });
    c.add("sdm.tr.g", paged_protected(), [](CpuState& s) { s.tr.limit = 0x100067; });
    c.add("sdm.tr.usable", paged_protected(),
          [](CpuState& s) { s.tr.access_rights = 0x8B | ar::kUnusable; });
    // "LDTR. The following checks on the different sub-fields apply only if LDTR is usable:
    // Bits 3:0 (Type). The Type must be 2 (LDT). Bit 4 (S). S must be 0. Bit 7 (P). P must be
    // 1. Bits 11:8 (reserved). [...] Bit 15 (G)."
    c.add("sdm.ldtr.type", with_ldt(), [](CpuState& s) { s.ldtr.access_rights = 0x89; });
    c.add("sdm.ldtr.s", with_ldt(), [](CpuState& s) { s.ldtr.access_rights = 0x92; });
    c.add("sdm.ldtr.p", with_ldt(), [](CpuState& s) { s.ldtr.access_rights = 0x02; });
    c.add("sdm.ldtr.ar.reserved", with_ldt(),
          [](CpuState& s) { s.ldtr.access_rights = 0x82 | 0x200; });
    c.add("sdm.ldtr.g", with_ldt(), [](CpuState& s) { s.ldtr.limit = 0x1000FF; });
}

} // namespace

std::vector<RuleCase> segment_register_cases() {
    RuleCases c;
    selector_cases(c);
    base_cases(c);
    v86_cases(c);
    cs_cases(c);
    ss_cases(c);
    data_cases(c);
    tr_ldtr_cases(c);
    return c.take();
}

} // namespace transit86::vmx::test
