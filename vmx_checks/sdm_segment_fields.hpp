// SDM profile, 26.3.1.2 "Checks on Guest Segment Registers", first half: the selector fields,
// the base-address fields, the limit fields, and the access-rights fields of a guest that
// "will be virtual-8086" (RFLAGS.VM = 1). The access rights of any other guest are in
// sdm_access_rights.hpp.
//
// Only included by sdm.cpp.
#pragma once

#include "sdm_common.hpp"

#include <array>

namespace transit86::vmx::detail::sdm::fields {

inline constexpr std::string_view kSection = "26.3.1.2";

// --- Selector fields
// "TR. The TI flag (bit 2) must be 0."
inline bool tr_ti(const CpuState& s, const VmxContext&) noexcept {
    return !s.tr.ti();
}
inline std::string tr_ti_text(const CpuState& s, const VmxContext&) {
    return fmt::format("TR selector {:#06x} has TI = 1; the TSS descriptor must be in the GDT",
                       s.tr.selector);
}
// "LDTR. If LDTR is usable, the TI flag (bit 2) must be 0."
inline bool ldtr_ti(const CpuState& s, const VmxContext&) noexcept {
    return !usable<Reg::LDTR>(s) || !s.ldtr.ti();
}
inline std::string ldtr_ti_text(const CpuState& s, const VmxContext&) {
    return fmt::format("LDTR selector {:#06x} has TI = 1; the LDT descriptor must be in the GDT",
                       s.ldtr.selector);
}
// "SS. If the guest will not be virtual-8086 and the 'unrestricted guest' VM-execution control
// is 0, the RPL (bits 1:0) must equal the RPL of the selector field for CS."
inline bool ss_rpl_eq_cs_rpl(const CpuState& s, const VmxContext& ctx) noexcept {
    return ctx.unrestricted_guest || s[Seg::SS].rpl() == s[Seg::CS].rpl();
}
inline std::string ss_rpl_eq_cs_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("SS.RPL {} != CS.RPL {} (SS selector {:#06x}, CS selector {:#06x})",
                       s[Seg::SS].rpl(), s[Seg::CS].rpl(), s[Seg::SS].selector,
                       s[Seg::CS].selector);
}

// --- Base-address fields
// "CS, SS, DS, ES, FS, GS. If the guest will be virtual-8086, the address must be the selector
// field shifted left 4 bits (multiplied by 16)."
template <Reg R>
bool base_v86(const CpuState& s, const VmxContext&) noexcept {
    const SegmentCache& g = reg(s, R);
    return g.base == uint64_t{g.selector} << 4;
}
template <Reg R>
std::string base_v86_text(const CpuState& s, const VmxContext&) {
    const SegmentCache& g = reg(s, R);
    return fmt::format("{} base {:#x} != selector {:#06x} << 4 = {:#x} in virtual-8086 mode",
                       reg_name(R), g.base, g.selector, uint32_t{g.selector} << 4);
}

// "TR, FS, GS. The address must be canonical." "LDTR. If LDTR is usable, the address must be
// canonical."
template <Reg R>
bool base_canonical(const CpuState& s, const VmxContext& ctx) noexcept {
    if (R == Reg::LDTR && !usable<R>(s)) return true;
    return canonical(reg(s, R).base, ctx.linear_address_width);
}
template <Reg R>
std::string base_canonical_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("{} base {:#x} is not canonical for {}-bit linear addresses", reg_name(R),
                       reg(s, R).base, ctx.linear_address_width);
}

// "CS. Bits 63:32 of the address must be zero." "SS, DS, ES. If the register is usable, bits
// 63:32 of the address must be zero."
template <Reg R>
bool base_high(const CpuState& s, const VmxContext&) noexcept {
    if (R != Reg::CS && !usable<R>(s)) return true;
    return (reg(s, R).base >> 32) == 0;
}
template <Reg R>
std::string base_high_text(const CpuState& s, const VmxContext&) {
    return fmt::format("{} base {:#x}: bits 63:32 must be 0", reg_name(R), reg(s, R).base);
}

// --- Limit fields
// "CS, SS, DS, ES, FS, GS. If the guest will be virtual-8086, the field must be 0000FFFFH."
template <Reg R>
bool limit_v86(const CpuState& s, const VmxContext&) noexcept {
    return reg(s, R).limit == 0xFFFF;
}
template <Reg R>
std::string limit_v86_text(const CpuState& s, const VmxContext&) {
    return fmt::format("{} limit {:#x} != 0xffff in virtual-8086 mode", reg_name(R),
                       reg(s, R).limit);
}

// --- Access-rights fields, virtual-8086 guest
// "CS, SS, DS, ES, FS, GS. If the guest will be virtual-8086, the field must be 000000F3H."
template <Reg R>
bool ar_v86(const CpuState& s, const VmxContext&) noexcept {
    return reg(s, R).access_rights == 0xF3;
}
template <Reg R>
std::string ar_v86_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = reg(s, R).access_rights;
    std::string wrong;
    const auto add = [&wrong](bool bad, std::string_view what) {
        if (!bad) return;
        wrong += wrong.empty() ? "" : ", ";
        wrong += what;
    };
    add(ar::type(a) != 3, fmt::format("type {} ({})", ar::type(a), type_name(a)));
    add(!ar::s(a), "S = 0");
    add(ar::dpl(a) != 3, fmt::format("DPL {}", ar::dpl(a)));
    add(!ar::present(a), "P = 0");
    add((a & 0xFFFFFF00) != 0, fmt::format("bits 31:8 = {:#x}", a >> 8));
    return fmt::format("{} access rights {:#x} != 0xf3 in virtual-8086 mode: {}", reg_name(R), a,
                       wrong);
}

// What KVM does instead (compare_profiles()).
inline constexpr std::string_view kSelectorNote =
    "KVM checks this selector only in its protected-mode branch; in real mode it loads its own "
    "virtual-8086 TSS into TR and enters with the guest's LDTR unchecked";
inline constexpr std::string_view kRplNote =
    "KVM checks SS.RPL = CS.RPL only in protected mode; in real mode it runs the guest in "
    "virtual-8086 mode, where the rule does not apply";
inline constexpr std::string_view kV86Note =
    "KVM checks a guest with RFLAGS.VM = 1 in its real-mode branch, with the same base and limit "
    "rules";
inline constexpr std::string_view kV86RightsNote =
    "KVM forces DPL to 3 and rebuilds the access rights without P (taken from the unusable bit) "
    "or reserved bits before comparing with 0xF3, so other DPLs, P = 0 and reserved bits pass";
inline constexpr std::string_view kBaseNote = "KVM never checks base-address widths";

// clang-format off
inline constexpr std::array<Check, 29> kRows = {{
    {"sdm.tr.ti", kSection, kOrigin2, "TR selector TI bit (bit 2) is 0", Scope::Always,
     tr_ti, tr_ti_text, kSelectorNote},
    {"sdm.ldtr.ti", kSection, kOrigin2, "usable LDTR: selector TI bit (bit 2) is 0",
     Scope::Always, ldtr_ti, ldtr_ti_text, kSelectorNote},
    {"sdm.ss.rpl-eq-cs.rpl", kSection, kOrigin2,
     "without unrestricted guest: SS.RPL equals CS.RPL, even when SS is unusable",
     Scope::NotV86, ss_rpl_eq_cs_rpl, ss_rpl_eq_cs_rpl_text, kRplNote},

    {"sdm.cs.base.v86", kSection, kOrigin2,
     "virtual-8086 guest: CS base equals CS selector << 4", Scope::V86,
     base_v86<Reg::CS>, base_v86_text<Reg::CS>, kV86Note},
    {"sdm.ss.base.v86", kSection, kOrigin2,
     "virtual-8086 guest: SS base equals SS selector << 4", Scope::V86,
     base_v86<Reg::SS>, base_v86_text<Reg::SS>, kV86Note},
    {"sdm.ds.base.v86", kSection, kOrigin2,
     "virtual-8086 guest: DS base equals DS selector << 4", Scope::V86,
     base_v86<Reg::DS>, base_v86_text<Reg::DS>, kV86Note},
    {"sdm.es.base.v86", kSection, kOrigin2,
     "virtual-8086 guest: ES base equals ES selector << 4", Scope::V86,
     base_v86<Reg::ES>, base_v86_text<Reg::ES>, kV86Note},
    {"sdm.fs.base.v86", kSection, kOrigin2,
     "virtual-8086 guest: FS base equals FS selector << 4", Scope::V86,
     base_v86<Reg::FS>, base_v86_text<Reg::FS>, kV86Note},
    {"sdm.gs.base.v86", kSection, kOrigin2,
     "virtual-8086 guest: GS base equals GS selector << 4", Scope::V86,
     base_v86<Reg::GS>, base_v86_text<Reg::GS>, kV86Note},
    {"sdm.tr.base.canonical", kSection, kOrigin2, "TR base is canonical", Scope::Always,
     base_canonical<Reg::TR>, base_canonical_text<Reg::TR>, kBaseNote},
    {"sdm.fs.base.canonical", kSection, kOrigin2, "FS base is canonical", Scope::Always,
     base_canonical<Reg::FS>, base_canonical_text<Reg::FS>, kBaseNote},
    {"sdm.gs.base.canonical", kSection, kOrigin2, "GS base is canonical", Scope::Always,
     base_canonical<Reg::GS>, base_canonical_text<Reg::GS>, kBaseNote},
    {"sdm.ldtr.base.canonical", kSection, kOrigin2, "usable LDTR: base is canonical",
     Scope::Always, base_canonical<Reg::LDTR>, base_canonical_text<Reg::LDTR>, kBaseNote},
    {"sdm.cs.base.bits-63-32", kSection, kOrigin2, "CS base bits 63:32 are 0", Scope::Always,
     base_high<Reg::CS>, base_high_text<Reg::CS>, kBaseNote},
    {"sdm.ss.base.bits-63-32", kSection, kOrigin2, "usable SS: base bits 63:32 are 0",
     Scope::Always, base_high<Reg::SS>, base_high_text<Reg::SS>, kBaseNote},
    {"sdm.ds.base.bits-63-32", kSection, kOrigin2, "usable DS: base bits 63:32 are 0",
     Scope::Always, base_high<Reg::DS>, base_high_text<Reg::DS>, kBaseNote},
    {"sdm.es.base.bits-63-32", kSection, kOrigin2, "usable ES: base bits 63:32 are 0",
     Scope::Always, base_high<Reg::ES>, base_high_text<Reg::ES>, kBaseNote},

    {"sdm.cs.limit.v86", kSection, kOrigin2, "virtual-8086 guest: CS limit is 0xFFFF",
     Scope::V86, limit_v86<Reg::CS>, limit_v86_text<Reg::CS>, kV86Note},
    {"sdm.ss.limit.v86", kSection, kOrigin2, "virtual-8086 guest: SS limit is 0xFFFF",
     Scope::V86, limit_v86<Reg::SS>, limit_v86_text<Reg::SS>, kV86Note},
    {"sdm.ds.limit.v86", kSection, kOrigin2, "virtual-8086 guest: DS limit is 0xFFFF",
     Scope::V86, limit_v86<Reg::DS>, limit_v86_text<Reg::DS>, kV86Note},
    {"sdm.es.limit.v86", kSection, kOrigin2, "virtual-8086 guest: ES limit is 0xFFFF",
     Scope::V86, limit_v86<Reg::ES>, limit_v86_text<Reg::ES>, kV86Note},
    {"sdm.fs.limit.v86", kSection, kOrigin2, "virtual-8086 guest: FS limit is 0xFFFF",
     Scope::V86, limit_v86<Reg::FS>, limit_v86_text<Reg::FS>, kV86Note},
    {"sdm.gs.limit.v86", kSection, kOrigin2, "virtual-8086 guest: GS limit is 0xFFFF",
     Scope::V86, limit_v86<Reg::GS>, limit_v86_text<Reg::GS>, kV86Note},

    {"sdm.cs.ar.v86", kSection, kOrigin2,
     "virtual-8086 guest: CS access rights are exactly 0xF3", Scope::V86,
     ar_v86<Reg::CS>, ar_v86_text<Reg::CS>, kV86RightsNote},
    {"sdm.ss.ar.v86", kSection, kOrigin2,
     "virtual-8086 guest: SS access rights are exactly 0xF3", Scope::V86,
     ar_v86<Reg::SS>, ar_v86_text<Reg::SS>, kV86RightsNote},
    {"sdm.ds.ar.v86", kSection, kOrigin2,
     "virtual-8086 guest: DS access rights are exactly 0xF3", Scope::V86,
     ar_v86<Reg::DS>, ar_v86_text<Reg::DS>, kV86RightsNote},
    {"sdm.es.ar.v86", kSection, kOrigin2,
     "virtual-8086 guest: ES access rights are exactly 0xF3", Scope::V86,
     ar_v86<Reg::ES>, ar_v86_text<Reg::ES>, kV86RightsNote},
    {"sdm.fs.ar.v86", kSection, kOrigin2,
     "virtual-8086 guest: FS access rights are exactly 0xF3", Scope::V86,
     ar_v86<Reg::FS>, ar_v86_text<Reg::FS>, kV86RightsNote},
    {"sdm.gs.ar.v86", kSection, kOrigin2,
     "virtual-8086 guest: GS access rights are exactly 0xF3", Scope::V86,
     ar_v86<Reg::GS>, ar_v86_text<Reg::GS>, kV86RightsNote},
}};
// clang-format on

} // namespace transit86::vmx::detail::sdm::fields
