// KVM profile, protected-mode branch of __vmx_guest_state_valid(), in KVM's order:
// cs_ss_rpl_check, code_segment_valid, stack_segment_valid, data_segment_valid for DS, ES,
// FS, GS, tr_valid, ldtr_valid. Within each function the rows keep KVM's order of tests.
//
// KVM reads each segment through vmx_get_segment(), which sets present := !unusable and
// ignores AR bit 7; its "!present" tests can therefore never fail on their own (the unusable
// test before them already decided) and have no rows. KVM does not test S for TR or LDTR,
// reserved AR bits, limits, granularity, D/B, or the type of DS..GS.
//
// Rows for CS and TR apply whether or not the register is usable (KVM rejects an unusable CS
// or TR anyway), so a report lists everything that has to change. Rows for SS, DS..GS and
// LDTR pass when the register is unusable, as KVM's functions return early for them.
//
// Only included by kvm.cpp, which builds the profile table from these rows.
#pragma once

#include "describe.hpp"
#include "transit86/vmx_checks.hpp"

#include <fmt/format.h>

#include <array>
#include <string>

namespace transit86::vmx::detail::kvm_protected {

inline constexpr std::string_view kSection = "26.3.1.2";
inline constexpr Scope kScope = Scope::Protected;

// Type bit 2: conforming for code, expand-down for data. KVM tests it under the name
// VMX_AR_TYPE_WRITEABLE_MASK, for CS whatever bit 3 says.
inline constexpr uint32_t kTypeBit2 = 1u << 2;
inline constexpr uint32_t kAccessedCode = ar::kTypeCode | ar::kAccessed;
inline constexpr uint32_t kConformingCode = ar::kTypeCode | kTypeBit2;

inline uint32_t ar_of(const CpuState& s, Seg seg) noexcept {
    return s[seg].access_rights;
}
inline uint32_t dpl_of(const CpuState& s, Seg seg) noexcept {
    return ar::dpl(ar_of(s, seg));
}
inline bool unusable(const CpuState& s, Seg seg) noexcept {
    return ar::unusable(ar_of(s, seg));
}

// --- cs_ss_rpl_check: SS.RPL == CS.RPL, read from the selectors even when SS is unusable.
inline bool ss_rpl_eq_cs_rpl(const CpuState& s, const VmxContext&) noexcept {
    return s[Seg::SS].rpl() == s[Seg::CS].rpl();
}
inline std::string ss_rpl_eq_cs_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("SS.RPL {} != CS.RPL {} (SS selector {:#06x}, CS selector {:#06x})",
                       s[Seg::SS].rpl(), s[Seg::CS].rpl(), s[Seg::SS].selector,
                       s[Seg::CS].selector);
}

// --- code_segment_valid
inline bool cs_usable(const CpuState& s, const VmxContext&) noexcept {
    return !unusable(s, Seg::CS);
}
inline std::string cs_usable_text(const CpuState& s, const VmxContext&) {
    return fmt::format("CS is unusable (access rights {:#x})", ar_of(s, Seg::CS));
}

inline bool cs_type(const CpuState& s, const VmxContext&) noexcept {
    return (ar::type(ar_of(s, Seg::CS)) & kAccessedCode) == kAccessedCode;
}
inline std::string cs_type_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, Seg::CS);
    return fmt::format("CS type {} ({}) is not an accessed code segment 9/11/13/15", ar::type(a),
                       type_name(a));
}

inline bool cs_s(const CpuState& s, const VmxContext&) noexcept {
    return ar::s(ar_of(s, Seg::CS));
}
inline std::string cs_s_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, Seg::CS);
    return fmt::format("CS access rights {:#x}: S = 0 ({}); CS must be a code segment", a,
                       type_name(a));
}

inline bool cs_conforming(const CpuState& s) noexcept {
    return (ar::type(ar_of(s, Seg::CS)) & kTypeBit2) != 0;
}
inline bool cs_dpl_eq_rpl(const CpuState& s, const VmxContext&) noexcept {
    return cs_conforming(s) || dpl_of(s, Seg::CS) == s[Seg::CS].rpl();
}
inline std::string cs_dpl_eq_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("CS.DPL {} != RPL {} for a non-conforming CS (selector {:#06x})",
                       dpl_of(s, Seg::CS), s[Seg::CS].rpl(), s[Seg::CS].selector);
}
inline bool cs_dpl_le_rpl(const CpuState& s, const VmxContext&) noexcept {
    return !cs_conforming(s) || dpl_of(s, Seg::CS) <= s[Seg::CS].rpl();
}
inline std::string cs_dpl_le_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("CS.DPL {} > RPL {} for a conforming CS (selector {:#06x})",
                       dpl_of(s, Seg::CS), s[Seg::CS].rpl(), s[Seg::CS].selector);
}

// --- stack_segment_valid: an unusable SS passes.
inline bool ss_type(const CpuState& s, const VmxContext&) noexcept {
    const uint32_t type = ar::type(ar_of(s, Seg::SS));
    return unusable(s, Seg::SS) || type == 3 || type == 7;
}
inline std::string ss_type_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, Seg::SS);
    return fmt::format("SS type {} ({}) is not a read/write accessed data segment 3/7", ar::type(a),
                       type_name(a));
}

inline bool ss_s(const CpuState& s, const VmxContext&) noexcept {
    return unusable(s, Seg::SS) || ar::s(ar_of(s, Seg::SS));
}
inline std::string ss_s_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, Seg::SS);
    return fmt::format("SS access rights {:#x}: S = 0 ({}); a usable SS must be a data segment", a,
                       type_name(a));
}

inline bool ss_dpl_eq_rpl(const CpuState& s, const VmxContext&) noexcept {
    return unusable(s, Seg::SS) || dpl_of(s, Seg::SS) == s[Seg::SS].rpl();
}
inline std::string ss_dpl_eq_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("SS.DPL {} != RPL {} (selector {:#06x})", dpl_of(s, Seg::SS),
                       s[Seg::SS].rpl(), s[Seg::SS].selector);
}

// --- data_segment_valid for DS, ES, FS, GS: an unusable register passes.
template <Seg S>
bool data_s(const CpuState& s, const VmxContext&) noexcept {
    return unusable(s, S) || ar::s(ar_of(s, S));
}
template <Seg S>
std::string data_s_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, S);
    return fmt::format("{} access rights {:#x}: S = 0 ({}); a usable {} must be code or data",
                       seg_name(S), a, type_name(a), seg_name(S));
}

// DPL >= RPL unless a conforming code segment (types 12-15).
template <Seg S>
bool data_dpl_ge_rpl(const CpuState& s, const VmxContext&) noexcept {
    const bool conforming_code = (ar::type(ar_of(s, S)) & kConformingCode) == kConformingCode;
    return unusable(s, S) || conforming_code || dpl_of(s, S) >= s[S].rpl();
}
template <Seg S>
std::string data_dpl_ge_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("{}.DPL {} < RPL {} (selector {:#06x})", seg_name(S), dpl_of(s, S),
                       s[S].rpl(), s[S].selector);
}

// --- tr_valid: TR must be usable.
inline bool tr_usable(const CpuState& s, const VmxContext&) noexcept {
    return !ar::unusable(s.tr.access_rights);
}
inline std::string tr_usable_text(const CpuState& s, const VmxContext&) {
    return fmt::format("TR is unusable (access rights {:#x}); KVM needs a loaded TSS (LTR)",
                       s.tr.access_rights);
}

inline bool tr_ti(const CpuState& s, const VmxContext&) noexcept {
    return !s.tr.ti();
}
inline std::string tr_ti_text(const CpuState& s, const VmxContext&) {
    return fmt::format("TR selector {:#06x} has TI = 1; TR must come from the GDT", s.tr.selector);
}

inline bool tr_type(const CpuState& s, const VmxContext&) noexcept {
    const uint32_t type = ar::type(s.tr.access_rights);
    return type == 3 || type == 11;
}
inline std::string tr_type_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = s.tr.access_rights;
    return fmt::format("TR access rights {:#x}: type {} ({}) is not a busy TSS 3/11", a,
                       ar::type(a), type_name(a));
}

// --- ldtr_valid: an unusable LDTR passes.
inline bool ldtr_ti(const CpuState& s, const VmxContext&) noexcept {
    return ar::unusable(s.ldtr.access_rights) || !s.ldtr.ti();
}
inline std::string ldtr_ti_text(const CpuState& s, const VmxContext&) {
    return fmt::format("LDTR selector {:#06x} has TI = 1; a usable LDTR must come from the GDT",
                       s.ldtr.selector);
}

inline bool ldtr_type(const CpuState& s, const VmxContext&) noexcept {
    return ar::unusable(s.ldtr.access_rights) || ar::type(s.ldtr.access_rights) == 2;
}
inline std::string ldtr_type_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = s.ldtr.access_rights;
    return fmt::format("LDTR access rights {:#x}: type {} ({}) is not an LDT (2)", a, ar::type(a),
                       type_name(a));
}

// What compare_profiles() says when one of these rows fails and the processor's rule holds.
inline constexpr std::string_view kSameRule =
    "the processor checks the same rule, so the verdicts cannot part here";
inline constexpr std::string_view kSameWithoutUg =
    "the processor's own rule without unrestricted guest; with unrestricted guest it is waived";
inline constexpr std::string_view kCsUsableNote =
    "KVM refuses an unusable CS; the processor ignores CS's unusable bit and applies the CS "
    "checks to its other fields";
inline constexpr std::string_view kCsTypeNote =
    "the processor's rule without unrestricted guest; with it, CS may also be type 3 (the "
    "real-mode data-segment cache left after CR0.PE is set) with DPL 0";
inline constexpr std::string_view kCsDplNote =
    "KVM compares CS.DPL with CS.RPL, the processor with SS.DPL; the two agree once SS.RPL = "
    "CS.RPL and SS.DPL = SS.RPL, which unrestricted guest no longer requires";
inline constexpr std::string_view kTrTypeNote =
    "the processor's rule outside IA-32e mode (KVM's TODO: in IA-32e mode only type 11 is "
    "allowed)";

inline constexpr std::string_view kRpl = "KVM cs_ss_rpl_check";
inline constexpr std::string_view kCode = "KVM code_segment_valid";
inline constexpr std::string_view kStack = "KVM stack_segment_valid";
inline constexpr std::string_view kData = "KVM data_segment_valid";
inline constexpr std::string_view kTr = "KVM tr_valid";
inline constexpr std::string_view kLdtr = "KVM ldtr_valid";

// clang-format off
inline constexpr std::array<Check, 22> kRows = {{
    {"ss.rpl-eq-cs.rpl", kSection, kRpl,
     "SS.RPL equals CS.RPL (selector bits 1:0), even when SS is unusable", kScope,
     ss_rpl_eq_cs_rpl, ss_rpl_eq_cs_rpl_text, kSameWithoutUg},

    {"cs.usable", kSection, kCode, "CS is usable (AR bit 16 clear)", kScope,
     cs_usable, cs_usable_text, kCsUsableNote},
    {"cs.type", kSection, kCode, "CS type has bits 3 and 0 set: accessed code 9, 11, 13 or 15",
     kScope, cs_type, cs_type_text, kCsTypeNote},
    {"cs.s", kSection, kCode, "CS S bit is 1 (code/data segment)", kScope, cs_s, cs_s_text,
     kSameRule},
    {"cs.dpl-eq-rpl", kSection, kCode, "non-conforming CS (type bit 2 clear): DPL equals RPL",
     kScope, cs_dpl_eq_rpl, cs_dpl_eq_rpl_text, kCsDplNote},
    {"cs.dpl-le-rpl", kSection, kCode, "conforming CS (type bit 2 set): DPL is at most RPL",
     kScope, cs_dpl_le_rpl, cs_dpl_le_rpl_text, kCsDplNote},

    {"ss.type", kSection, kStack, "usable SS: type 3 or 7 (read/write accessed data)", kScope,
     ss_type, ss_type_text, kSameRule},
    {"ss.s", kSection, kStack, "usable SS: S bit is 1", kScope, ss_s, ss_s_text, kSameRule},
    {"ss.dpl-eq-rpl", kSection, kStack, "usable SS: DPL equals RPL", kScope,
     ss_dpl_eq_rpl, ss_dpl_eq_rpl_text, kSameWithoutUg},

    {"ds.s", kSection, kData, "usable DS: S bit is 1", kScope,
     data_s<Seg::DS>, data_s_text<Seg::DS>, kSameRule},
    {"ds.dpl-ge-rpl", kSection, kData,
     "usable DS other than conforming code (types 12-15): DPL is at least RPL", kScope,
     data_dpl_ge_rpl<Seg::DS>, data_dpl_ge_rpl_text<Seg::DS>, kSameWithoutUg},
    {"es.s", kSection, kData, "usable ES: S bit is 1", kScope,
     data_s<Seg::ES>, data_s_text<Seg::ES>, kSameRule},
    {"es.dpl-ge-rpl", kSection, kData,
     "usable ES other than conforming code (types 12-15): DPL is at least RPL", kScope,
     data_dpl_ge_rpl<Seg::ES>, data_dpl_ge_rpl_text<Seg::ES>, kSameWithoutUg},
    {"fs.s", kSection, kData, "usable FS: S bit is 1", kScope,
     data_s<Seg::FS>, data_s_text<Seg::FS>, kSameRule},
    {"fs.dpl-ge-rpl", kSection, kData,
     "usable FS other than conforming code (types 12-15): DPL is at least RPL", kScope,
     data_dpl_ge_rpl<Seg::FS>, data_dpl_ge_rpl_text<Seg::FS>, kSameWithoutUg},
    {"gs.s", kSection, kData, "usable GS: S bit is 1", kScope,
     data_s<Seg::GS>, data_s_text<Seg::GS>, kSameRule},
    {"gs.dpl-ge-rpl", kSection, kData,
     "usable GS other than conforming code (types 12-15): DPL is at least RPL", kScope,
     data_dpl_ge_rpl<Seg::GS>, data_dpl_ge_rpl_text<Seg::GS>, kSameWithoutUg},

    {"tr.usable", kSection, kTr, "TR is usable (AR bit 16 clear)", kScope,
     tr_usable, tr_usable_text, kSameRule},
    {"tr.ti", kSection, kTr, "TR selector TI bit (bit 2) is 0", kScope, tr_ti, tr_ti_text,
     kSameRule},
    {"tr.type", kSection, kTr, "TR type is 3 or 11 (busy 16- or 32-bit TSS); S is not checked",
     kScope, tr_type, tr_type_text, kTrTypeNote},

    {"ldtr.ti", kSection, kLdtr, "usable LDTR: selector TI bit (bit 2) is 0", kScope,
     ldtr_ti, ldtr_ti_text, kSameRule},
    {"ldtr.type", kSection, kLdtr, "usable LDTR: type is 2 (LDT); S is not checked", kScope,
     ldtr_type, ldtr_type_text, kSameRule},
}};
// clang-format on

} // namespace transit86::vmx::detail::kvm_protected
