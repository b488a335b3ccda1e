// SDM profile, 26.3.1.2 "Checks on Guest Segment Registers", second half: the access-rights
// fields of a guest that "will not be virtual-8086" (RFLAGS.VM = 0) for CS, SS, DS, ES, FS,
// GS, and the access rights of TR and LDTR (checked in every mode). Grouped by register; the
// SDM lists them by sub-field and allows any order.
//
// "Usable" is AR bit 16 clear. The CS checks apply whatever CS's unusable bit says ("if the
// register is CS or if the register is usable"), and so do the SS.DPL rules, which the SDM
// does not qualify with "usable" (SS.DPL is the CPL).
//
// Only included by sdm.cpp.
#pragma once

#include "sdm_common.hpp"

#include <array>

namespace transit86::vmx::detail::sdm::rights {

inline constexpr std::string_view kSection = "26.3.1.2";

inline uint32_t ar_of(const CpuState& s, Reg r) noexcept {
    return reg(s, r).access_rights;
}
inline uint32_t type_of(const CpuState& s, Reg r) noexcept {
    return ar::type(ar_of(s, r));
}
inline uint32_t dpl_of(const CpuState& s, Reg r) noexcept {
    return ar::dpl(ar_of(s, r));
}

// "If the register is CS or if the register is usable" (TR: always; LDTR: only if usable).
template <Reg R>
bool checked(const CpuState& s) noexcept {
    return R == Reg::CS || R == Reg::TR || usable<R>(s);
}

// --- Sub-fields shared by every register
// Bit 4 (S): 1 for CS..GS, 0 for TR and LDTR.
template <Reg R>
bool s_bit(const CpuState& s, const VmxContext&) noexcept {
    constexpr bool want = R != Reg::TR && R != Reg::LDTR;
    return !checked<R>(s) || ar::s(ar_of(s, R)) == want;
}
template <Reg R>
std::string s_bit_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, R);
    return fmt::format("{} access rights {:#x}: S = {} ({}); {} must be {}", reg_name(R), a,
                       ar::s(a) ? 1 : 0, type_name(a), reg_name(R),
                       ar::s(a) ? "a system segment (S = 0)" : "a code or data segment (S = 1)");
}

// Bit 7 (P) must be 1.
template <Reg R>
bool p_bit(const CpuState& s, const VmxContext&) noexcept {
    return !checked<R>(s) || ar::present(ar_of(s, R));
}
template <Reg R>
std::string p_bit_text(const CpuState& s, const VmxContext&) {
    return fmt::format("{} access rights {:#x}: P = 0 (not present)", reg_name(R), ar_of(s, R));
}

// Bits 11:8 and 31:17 (reserved) must be 0.
template <Reg R>
bool reserved_clear(const CpuState& s, const VmxContext&) noexcept {
    return !checked<R>(s) || (ar_of(s, R) & ar::kReservedMask) == 0;
}
template <Reg R>
std::string reserved_clear_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, R);
    return fmt::format("{} access rights {:#x}: reserved bits {:#x} set (bits 11:8 and 31:17 must "
                       "be 0)",
                       reg_name(R), a, a & ar::kReservedMask);
}

// Bit 15 (G) consistent with the limit.
template <Reg R>
bool g_bit(const CpuState& s, const VmxContext&) noexcept {
    return !checked<R>(s) || limit_fits_granularity(reg(s, R).limit, ar_of(s, R));
}
template <Reg R>
std::string g_bit_text(const CpuState& s, const VmxContext&) {
    return granularity_text(reg_name(R), reg(s, R).limit, ar_of(s, R));
}

// --- CS
inline constexpr uint32_t kAccessedCode = 0x9; // type bits 3 (code) and 0 (accessed)

// "If the control is 0, the Type must be 9, 11, 13, or 15 (accessed code segment). If the
// control is 1, the Type must be either 3 (read/write accessed expand-up data segment) or one
// of 9, 11, 13, and 15."
inline bool cs_type(const CpuState& s, const VmxContext& ctx) noexcept {
    const uint32_t type = type_of(s, Reg::CS);
    return (type & kAccessedCode) == kAccessedCode || (ctx.unrestricted_guest && type == 3);
}
inline std::string cs_type_text(const CpuState& s, const VmxContext& ctx) {
    const uint32_t a = ar_of(s, Reg::CS);
    return fmt::format("CS type {} ({}) is not an accessed code segment 9/11/13/15{}", ar::type(a),
                       type_name(a), ctx.unrestricted_guest ? " or data type 3" : "");
}

// "If the Type is 3 (read/write accessed expand-up data segment), the DPL must be 0."
inline bool cs_dpl_type3(const CpuState& s, const VmxContext&) noexcept {
    return type_of(s, Reg::CS) != 3 || dpl_of(s, Reg::CS) == 0;
}
inline std::string cs_dpl_type3_text(const CpuState& s, const VmxContext&) {
    return fmt::format("CS of data type 3 has DPL {}; it must be 0", dpl_of(s, Reg::CS));
}

// "If the Type is 9 or 11 (non-conforming code segment), the DPL must equal the DPL in the
// access-rights field for SS."
inline bool cs_dpl_eq_ss(const CpuState& s, const VmxContext&) noexcept {
    const uint32_t type = type_of(s, Reg::CS);
    return (type != 9 && type != 11) || dpl_of(s, Reg::CS) == dpl_of(s, Reg::SS);
}
inline std::string cs_dpl_eq_ss_text(const CpuState& s, const VmxContext&) {
    return fmt::format("non-conforming CS (type {}) DPL {} != SS.DPL {}", type_of(s, Reg::CS),
                       dpl_of(s, Reg::CS), dpl_of(s, Reg::SS));
}

// "If the Type is 13 or 15 (conforming code segment), the DPL cannot be greater than the DPL
// in the access-rights field for SS."
inline bool cs_dpl_le_ss(const CpuState& s, const VmxContext&) noexcept {
    const uint32_t type = type_of(s, Reg::CS);
    return (type != 13 && type != 15) || dpl_of(s, Reg::CS) <= dpl_of(s, Reg::SS);
}
inline std::string cs_dpl_le_ss_text(const CpuState& s, const VmxContext&) {
    return fmt::format("conforming CS (type {}) DPL {} > SS.DPL {}", type_of(s, Reg::CS),
                       dpl_of(s, Reg::CS), dpl_of(s, Reg::SS));
}

// "Bit 14 (D/B). For CS, D/B must be 0 if the guest will be IA-32e mode and the L bit (bit 13)
// in the access-rights field is 1."
inline bool cs_db_with_l(const CpuState& s, const VmxContext& ctx) noexcept {
    const uint32_t a = ar_of(s, Reg::CS);
    return !ctx.ia32e_mode_guest || (a & ar::kL) == 0 || !ar::db(a);
}
inline std::string cs_db_with_l_text(const CpuState& s, const VmxContext&) {
    return fmt::format("CS access rights {:#x}: L = 1 and D/B = 1 in an IA-32e mode guest",
                       ar_of(s, Reg::CS));
}

// --- SS
// "SS. If SS is usable, the Type must be 3 or 7 (read/write, accessed data segment)."
inline bool ss_type(const CpuState& s, const VmxContext&) noexcept {
    const uint32_t type = type_of(s, Reg::SS);
    return !usable<Reg::SS>(s) || type == 3 || type == 7;
}
inline std::string ss_type_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, Reg::SS);
    return fmt::format("SS type {} ({}) is not a read/write accessed data segment 3/7", ar::type(a),
                       type_name(a));
}

// "SS. If the 'unrestricted guest' VM-execution control is 0, the DPL must equal the RPL from
// the selector field."
inline bool ss_dpl_eq_rpl(const CpuState& s, const VmxContext& ctx) noexcept {
    return ctx.unrestricted_guest || dpl_of(s, Reg::SS) == s[Seg::SS].rpl();
}
inline std::string ss_dpl_eq_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("SS.DPL {} != RPL {} (selector {:#06x}{})", dpl_of(s, Reg::SS),
                       s[Seg::SS].rpl(), s[Seg::SS].selector,
                       usable<Reg::SS>(s) ? "" : ", unusable");
}

// "The DPL of SS must be 0 if the Type in the access-rights field for CS is 3 (read/write
// accessed expand-up data segment) or if bit 0 in the CR0 field (corresponding to CR0.PE) is 0."
inline bool ss_dpl_zero(const CpuState& s, const VmxContext& ctx) noexcept {
    const bool required = type_of(s, Reg::CS) == 3 || (cr0_field(s, ctx) & cr0::PE) == 0;
    return !required || dpl_of(s, Reg::SS) == 0;
}
inline std::string ss_dpl_zero_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("SS.DPL {} must be 0 when {}", dpl_of(s, Reg::SS),
                       (cr0_field(s, ctx) & cr0::PE) == 0 ? "CR0.PE = 0" : "CS is of data type 3");
}

// --- DS, ES, FS, GS: "The following checks apply if the register is usable"
template <Reg R>
bool data_accessed(const CpuState& s, const VmxContext&) noexcept {
    return !usable<R>(s) || (type_of(s, R) & ar::kAccessed) != 0;
}
template <Reg R>
std::string data_accessed_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, R);
    return fmt::format("{} type {} ({}) has the accessed bit (type bit 0) clear", reg_name(R),
                       ar::type(a), type_name(a));
}

template <Reg R>
bool data_readable(const CpuState& s, const VmxContext&) noexcept {
    const uint32_t type = type_of(s, R);
    return !usable<R>(s) || (type & ar::kTypeCode) == 0 || (type & 2) != 0;
}
template <Reg R>
std::string data_readable_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = ar_of(s, R);
    return fmt::format("{} type {} ({}) is an execute-only code segment; it must be readable",
                       reg_name(R), ar::type(a), type_name(a));
}

// "The DPL cannot be less than the RPL in the selector field if (1) the 'unrestricted guest'
// VM-execution control is 0; (2) the register is usable; and (3) the Type in the access-rights
// field is in the range 0 - 11 (data segment or non-conforming code segment)."
template <Reg R>
bool data_dpl_ge_rpl(const CpuState& s, const VmxContext& ctx) noexcept {
    return ctx.unrestricted_guest || !usable<R>(s) || type_of(s, R) > 11 ||
           dpl_of(s, R) >= reg(s, R).rpl();
}
template <Reg R>
std::string data_dpl_ge_rpl_text(const CpuState& s, const VmxContext&) {
    return fmt::format("{}.DPL {} < RPL {} (selector {:#06x}, type {})", reg_name(R), dpl_of(s, R),
                       reg(s, R).rpl(), reg(s, R).selector, type_of(s, R));
}

// --- TR
// "If the guest will not be IA-32e mode, the Type must be 3 (16-bit busy TSS) or 11 (32-bit
// busy TSS). If the guest will be IA-32e mode, the Type must be 11 (64-bit busy TSS)."
inline bool tr_type(const CpuState& s, const VmxContext& ctx) noexcept {
    const uint32_t type = type_of(s, Reg::TR);
    return type == 11 || (type == 3 && !ctx.ia32e_mode_guest);
}
inline std::string tr_type_text(const CpuState& s, const VmxContext& ctx) {
    const uint32_t a = s.tr.access_rights;
    return fmt::format("TR access rights {:#x}: type {} ({}) is not a busy {}TSS{}", a, ar::type(a),
                       type_name(a), ctx.ia32e_mode_guest ? "64-bit " : "",
                       ctx.ia32e_mode_guest ? " 11" : " 3/11");
}

inline bool tr_usable(const CpuState& s, const VmxContext&) noexcept {
    return usable<Reg::TR>(s);
}
inline std::string tr_usable_text(const CpuState& s, const VmxContext&) {
    return fmt::format("TR is unusable (access rights {:#x}); VM entry needs a loaded TSS",
                       s.tr.access_rights);
}

// --- LDTR: "The following checks on the different sub-fields apply only if LDTR is usable"
inline bool ldtr_type(const CpuState& s, const VmxContext&) noexcept {
    return !usable<Reg::LDTR>(s) || type_of(s, Reg::LDTR) == 2;
}
inline std::string ldtr_type_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = s.ldtr.access_rights;
    return fmt::format("LDTR access rights {:#x}: type {} ({}) is not an LDT (2)", a, ar::type(a),
                       type_name(a));
}

// What KVM does instead (compare_profiles()).
inline constexpr std::string_view kBranchNote =
    "KVM checks this only in its protected-mode branch; in real mode it forces the vm86 access "
    "rights 0xF3 instead";
inline constexpr std::string_view kPresentNote =
    "KVM never reads the P bit: vmx_get_segment() sets present = !unusable";
inline constexpr std::string_view kReservedNote =
    "KVM never checks reserved access-rights bits (its kvm_segment has no field for them)";
inline constexpr std::string_view kGranularityNote = "KVM never checks the limit against G";
inline constexpr std::string_view kCsDplNote =
    "KVM compares CS.DPL with CS.RPL instead of SS.DPL, and only in protected mode";
inline constexpr std::string_view kDbNote = "KVM never checks D/B or L";
inline constexpr std::string_view kSsDplNote =
    "KVM returns early for an unusable SS and checks only in protected mode; the processor "
    "checks SS.DPL = RPL whatever the unusable bit says";
inline constexpr std::string_view kSsDplZeroNote =
    "KVM has no rule for SS.DPL in real mode: it forces DPL 3 for virtual-8086 mode";
inline constexpr std::string_view kDataTypeNote =
    "KVM does not check the type of DS..GS in protected mode (a TODO in data_segment_valid); in "
    "real mode it requires type 3";
inline constexpr std::string_view kSystemNote =
    "KVM checks TR and LDTR only in protected mode, and never their S, P, reserved or G bits; in "
    "real mode it loads its own virtual-8086 TSS into TR";

// clang-format off
inline constexpr std::array<Check, 55> kRows = {{
    {"sdm.cs.type", kSection, kOrigin2,
     "CS type is 9, 11, 13 or 15 (accessed code); also 3 with unrestricted guest",
     Scope::NotV86, cs_type, cs_type_text, kBranchNote},
    {"sdm.cs.s", kSection, kOrigin2, "CS S bit is 1, whatever its unusable bit",
     Scope::NotV86, s_bit<Reg::CS>, s_bit_text<Reg::CS>, kBranchNote},
    {"sdm.cs.dpl-type3", kSection, kOrigin2, "CS of type 3: DPL is 0",
     Scope::NotV86, cs_dpl_type3, cs_dpl_type3_text, kCsDplNote},
    {"sdm.cs.dpl-eq-ss.dpl", kSection, kOrigin2,
     "CS of type 9 or 11 (non-conforming): DPL equals SS.DPL",
     Scope::NotV86, cs_dpl_eq_ss, cs_dpl_eq_ss_text, kCsDplNote},
    {"sdm.cs.dpl-le-ss.dpl", kSection, kOrigin2,
     "CS of type 13 or 15 (conforming): DPL is at most SS.DPL",
     Scope::NotV86, cs_dpl_le_ss, cs_dpl_le_ss_text, kCsDplNote},
    {"sdm.cs.p", kSection, kOrigin2, "CS P bit is 1",
     Scope::NotV86, p_bit<Reg::CS>, p_bit_text<Reg::CS>, kPresentNote},
    {"sdm.cs.ar.reserved", kSection, kOrigin2, "CS access-rights bits 11:8 and 31:17 are 0",
     Scope::NotV86, reserved_clear<Reg::CS>, reserved_clear_text<Reg::CS>, kReservedNote},
    {"sdm.cs.db-with-l", kSection, kOrigin2, "IA-32e mode guest with CS.L = 1: CS.D/B is 0",
     Scope::NotV86, cs_db_with_l, cs_db_with_l_text, kDbNote},
    {"sdm.cs.g", kSection, kOrigin2,
     "CS G bit fits the limit (G = 0 if limit bits 11:0 are not all 1, G = 1 if bits 31:20 "
     "are not all 0)",
     Scope::NotV86, g_bit<Reg::CS>, g_bit_text<Reg::CS>, kGranularityNote},

    {"sdm.ss.type", kSection, kOrigin2, "usable SS: type 3 or 7 (read/write accessed data)",
     Scope::NotV86, ss_type, ss_type_text, kBranchNote},
    {"sdm.ss.s", kSection, kOrigin2, "usable SS: S bit is 1",
     Scope::NotV86, s_bit<Reg::SS>, s_bit_text<Reg::SS>, kBranchNote},
    {"sdm.ss.dpl-eq-rpl", kSection, kOrigin2,
     "without unrestricted guest: SS.DPL equals SS.RPL, even when SS is unusable",
     Scope::NotV86, ss_dpl_eq_rpl, ss_dpl_eq_rpl_text, kSsDplNote},
    {"sdm.ss.dpl-zero", kSection, kOrigin2, "SS.DPL is 0 when CS is of type 3 or CR0.PE = 0",
     Scope::NotV86, ss_dpl_zero, ss_dpl_zero_text, kSsDplZeroNote},
    {"sdm.ss.p", kSection, kOrigin2, "usable SS: P bit is 1",
     Scope::NotV86, p_bit<Reg::SS>, p_bit_text<Reg::SS>, kPresentNote},
    {"sdm.ss.ar.reserved", kSection, kOrigin2, "usable SS: access-rights bits 11:8 and 31:17 are 0",
     Scope::NotV86, reserved_clear<Reg::SS>, reserved_clear_text<Reg::SS>, kReservedNote},
    {"sdm.ss.g", kSection, kOrigin2, "usable SS: G bit fits the limit",
     Scope::NotV86, g_bit<Reg::SS>, g_bit_text<Reg::SS>, kGranularityNote},

    {"sdm.ds.type.accessed", kSection, kOrigin2, "usable DS: type bit 0 (accessed) is 1",
     Scope::NotV86, data_accessed<Reg::DS>, data_accessed_text<Reg::DS>, kDataTypeNote},
    {"sdm.ds.type.readable", kSection, kOrigin2,
     "usable DS holding code: type bit 1 (readable) is 1",
     Scope::NotV86, data_readable<Reg::DS>, data_readable_text<Reg::DS>, kDataTypeNote},
    {"sdm.ds.s", kSection, kOrigin2, "usable DS: S bit is 1",
     Scope::NotV86, s_bit<Reg::DS>, s_bit_text<Reg::DS>, kBranchNote},
    {"sdm.ds.dpl-ge-rpl", kSection, kOrigin2,
     "without unrestricted guest, usable DS of type 0-11: DPL is at least RPL",
     Scope::NotV86, data_dpl_ge_rpl<Reg::DS>, data_dpl_ge_rpl_text<Reg::DS>, kBranchNote},
    {"sdm.ds.p", kSection, kOrigin2, "usable DS: P bit is 1",
     Scope::NotV86, p_bit<Reg::DS>, p_bit_text<Reg::DS>, kPresentNote},
    {"sdm.ds.ar.reserved", kSection, kOrigin2, "usable DS: access-rights bits 11:8 and 31:17 are 0",
     Scope::NotV86, reserved_clear<Reg::DS>, reserved_clear_text<Reg::DS>, kReservedNote},
    {"sdm.ds.g", kSection, kOrigin2, "usable DS: G bit fits the limit",
     Scope::NotV86, g_bit<Reg::DS>, g_bit_text<Reg::DS>, kGranularityNote},

    {"sdm.es.type.accessed", kSection, kOrigin2, "usable ES: type bit 0 (accessed) is 1",
     Scope::NotV86, data_accessed<Reg::ES>, data_accessed_text<Reg::ES>, kDataTypeNote},
    {"sdm.es.type.readable", kSection, kOrigin2,
     "usable ES holding code: type bit 1 (readable) is 1",
     Scope::NotV86, data_readable<Reg::ES>, data_readable_text<Reg::ES>, kDataTypeNote},
    {"sdm.es.s", kSection, kOrigin2, "usable ES: S bit is 1",
     Scope::NotV86, s_bit<Reg::ES>, s_bit_text<Reg::ES>, kBranchNote},
    {"sdm.es.dpl-ge-rpl", kSection, kOrigin2,
     "without unrestricted guest, usable ES of type 0-11: DPL is at least RPL",
     Scope::NotV86, data_dpl_ge_rpl<Reg::ES>, data_dpl_ge_rpl_text<Reg::ES>, kBranchNote},
    {"sdm.es.p", kSection, kOrigin2, "usable ES: P bit is 1",
     Scope::NotV86, p_bit<Reg::ES>, p_bit_text<Reg::ES>, kPresentNote},
    {"sdm.es.ar.reserved", kSection, kOrigin2, "usable ES: access-rights bits 11:8 and 31:17 are 0",
     Scope::NotV86, reserved_clear<Reg::ES>, reserved_clear_text<Reg::ES>, kReservedNote},
    {"sdm.es.g", kSection, kOrigin2, "usable ES: G bit fits the limit",
     Scope::NotV86, g_bit<Reg::ES>, g_bit_text<Reg::ES>, kGranularityNote},

    {"sdm.fs.type.accessed", kSection, kOrigin2, "usable FS: type bit 0 (accessed) is 1",
     Scope::NotV86, data_accessed<Reg::FS>, data_accessed_text<Reg::FS>, kDataTypeNote},
    {"sdm.fs.type.readable", kSection, kOrigin2,
     "usable FS holding code: type bit 1 (readable) is 1",
     Scope::NotV86, data_readable<Reg::FS>, data_readable_text<Reg::FS>, kDataTypeNote},
    {"sdm.fs.s", kSection, kOrigin2, "usable FS: S bit is 1",
     Scope::NotV86, s_bit<Reg::FS>, s_bit_text<Reg::FS>, kBranchNote},
    {"sdm.fs.dpl-ge-rpl", kSection, kOrigin2,
     "without unrestricted guest, usable FS of type 0-11: DPL is at least RPL",
     Scope::NotV86, data_dpl_ge_rpl<Reg::FS>, data_dpl_ge_rpl_text<Reg::FS>, kBranchNote},
    {"sdm.fs.p", kSection, kOrigin2, "usable FS: P bit is 1",
     Scope::NotV86, p_bit<Reg::FS>, p_bit_text<Reg::FS>, kPresentNote},
    {"sdm.fs.ar.reserved", kSection, kOrigin2, "usable FS: access-rights bits 11:8 and 31:17 are 0",
     Scope::NotV86, reserved_clear<Reg::FS>, reserved_clear_text<Reg::FS>, kReservedNote},
    {"sdm.fs.g", kSection, kOrigin2, "usable FS: G bit fits the limit",
     Scope::NotV86, g_bit<Reg::FS>, g_bit_text<Reg::FS>, kGranularityNote},

    {"sdm.gs.type.accessed", kSection, kOrigin2, "usable GS: type bit 0 (accessed) is 1",
     Scope::NotV86, data_accessed<Reg::GS>, data_accessed_text<Reg::GS>, kDataTypeNote},
    {"sdm.gs.type.readable", kSection, kOrigin2,
     "usable GS holding code: type bit 1 (readable) is 1",
     Scope::NotV86, data_readable<Reg::GS>, data_readable_text<Reg::GS>, kDataTypeNote},
    {"sdm.gs.s", kSection, kOrigin2, "usable GS: S bit is 1",
     Scope::NotV86, s_bit<Reg::GS>, s_bit_text<Reg::GS>, kBranchNote},
    {"sdm.gs.dpl-ge-rpl", kSection, kOrigin2,
     "without unrestricted guest, usable GS of type 0-11: DPL is at least RPL",
     Scope::NotV86, data_dpl_ge_rpl<Reg::GS>, data_dpl_ge_rpl_text<Reg::GS>, kBranchNote},
    {"sdm.gs.p", kSection, kOrigin2, "usable GS: P bit is 1",
     Scope::NotV86, p_bit<Reg::GS>, p_bit_text<Reg::GS>, kPresentNote},
    {"sdm.gs.ar.reserved", kSection, kOrigin2, "usable GS: access-rights bits 11:8 and 31:17 are 0",
     Scope::NotV86, reserved_clear<Reg::GS>, reserved_clear_text<Reg::GS>, kReservedNote},
    {"sdm.gs.g", kSection, kOrigin2, "usable GS: G bit fits the limit",
     Scope::NotV86, g_bit<Reg::GS>, g_bit_text<Reg::GS>, kGranularityNote},

    {"sdm.tr.type", kSection, kOrigin2,
     "TR type is 3 or 11 (busy 16- or 32-bit TSS); only 11 in an IA-32e mode guest",
     Scope::Always, tr_type, tr_type_text, kSystemNote},
    {"sdm.tr.s", kSection, kOrigin2, "TR S bit is 0 (system segment)",
     Scope::Always, s_bit<Reg::TR>, s_bit_text<Reg::TR>, kSystemNote},
    {"sdm.tr.p", kSection, kOrigin2, "TR P bit is 1",
     Scope::Always, p_bit<Reg::TR>, p_bit_text<Reg::TR>, kSystemNote},
    {"sdm.tr.ar.reserved", kSection, kOrigin2, "TR access-rights bits 11:8 and 31:17 are 0",
     Scope::Always, reserved_clear<Reg::TR>, reserved_clear_text<Reg::TR>, kSystemNote},
    {"sdm.tr.g", kSection, kOrigin2, "TR G bit fits the limit",
     Scope::Always, g_bit<Reg::TR>, g_bit_text<Reg::TR>, kSystemNote},
    {"sdm.tr.usable", kSection, kOrigin2, "TR is usable (AR bit 16 clear)",
     Scope::Always, tr_usable, tr_usable_text, kSystemNote},

    {"sdm.ldtr.type", kSection, kOrigin2, "usable LDTR: type is 2 (LDT)",
     Scope::Always, ldtr_type, ldtr_type_text, kSystemNote},
    {"sdm.ldtr.s", kSection, kOrigin2, "usable LDTR: S bit is 0 (system segment)",
     Scope::Always, s_bit<Reg::LDTR>, s_bit_text<Reg::LDTR>, kSystemNote},
    {"sdm.ldtr.p", kSection, kOrigin2, "usable LDTR: P bit is 1",
     Scope::Always, p_bit<Reg::LDTR>, p_bit_text<Reg::LDTR>, kSystemNote},
    {"sdm.ldtr.ar.reserved", kSection, kOrigin2,
     "usable LDTR: access-rights bits 11:8 and 31:17 are 0",
     Scope::Always, reserved_clear<Reg::LDTR>, reserved_clear_text<Reg::LDTR>, kSystemNote},
    {"sdm.ldtr.g", kSection, kOrigin2, "usable LDTR: G bit fits the limit",
     Scope::Always, g_bit<Reg::LDTR>, g_bit_text<Reg::LDTR>, kSystemNote},
}};
// clang-format on

} // namespace transit86::vmx::detail::sdm::rights
