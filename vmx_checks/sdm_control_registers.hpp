// SDM profile, 26.3.1.1 "Checks on Guest Control Registers, Debug Registers, and MSRs": the
// checks whose fields CpuState holds (CR0, CR3, CR4, IA32_SYSENTER_ESP/EIP, IA32_PAT,
// IA32_EFER). DR7, IA32_DEBUGCTL, IA32_PERF_GLOBAL_CTRL, IA32_BNDCFGS, IA32_RTIT_CTL, the CET
// and PKRS MSRs are not part of CpuState and have no rows.
//
// CR0 and CR4 are read as the VMCS field a VMM writes: the guest's value with the context's
// cr0_vmm_set / cr4_vmm_set bits added (NE and VMXE by default; see VmxContext).
//
// Only included by sdm.cpp.
#pragma once

#include "sdm_common.hpp"

#include <array>

namespace transit86::vmx::detail::sdm::control {

inline constexpr std::string_view kSection = "26.3.1.1";
inline constexpr Scope kScope = Scope::Always;

// "Bit 29 (CR0.NW) and bit 30 (CD) are never checked because the values of these bits are not
// changed by VM entry"; "Bit 0 (PE) and bit 31 (PG) are not checked if the 'unrestricted
// guest' VM-execution control is 1."
inline uint64_t cr0_unchecked(const VmxContext& ctx) noexcept {
    return cr0::NW | cr0::CD | (ctx.unrestricted_guest ? cr0::PE | cr0::PG : 0);
}

inline std::string field_note(uint64_t vmm_set) {
    return vmm_set == 0 ? std::string() : fmt::format(" (with the VMM's {:#x})", vmm_set);
}

// --- CR0 against IA32_VMX_CR0_FIXED0 / FIXED1
inline uint64_t cr0_missing(const CpuState& s, const VmxContext& ctx) noexcept {
    const uint64_t required = ctx.cr0_fixed0 & ~cr0_unchecked(ctx);
    return required & ~cr0_field(s, ctx);
}
inline bool cr0_fixed0(const CpuState& s, const VmxContext& ctx) noexcept {
    return cr0_missing(s, ctx) == 0;
}
inline std::string cr0_fixed0_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR0 {:#x}{} lacks {}, which IA32_VMX_CR0_FIXED0 {:#x} requires{}",
                       cr0_field(s, ctx), field_note(ctx.cr0_vmm_set),
                       cr0_bit_names(cr0_missing(s, ctx)), ctx.cr0_fixed0,
                       ctx.unrestricted_guest ? "" : " without unrestricted guest");
}

inline uint64_t cr0_disallowed_low(const CpuState& s, const VmxContext& ctx) noexcept {
    return cr0_field(s, ctx) & 0xFFFFFFFF & ~ctx.cr0_fixed1 & ~cr0_unchecked(ctx);
}
inline bool cr0_fixed1(const CpuState& s, const VmxContext& ctx) noexcept {
    return cr0_disallowed_low(s, ctx) == 0;
}
inline std::string cr0_fixed1_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR0 {:#x} sets {}, which IA32_VMX_CR0_FIXED1 {:#x} does not allow",
                       cr0_field(s, ctx), cr0_bit_names(cr0_disallowed_low(s, ctx)),
                       ctx.cr0_fixed1);
}

// Bits 63:32: IA32_VMX_CR0_FIXED1 reads 0 there on every processor, so they must be 0.
inline bool cr0_high(const CpuState& s, const VmxContext& ctx) noexcept {
    return ((cr0_field(s, ctx) >> 32) & ~(ctx.cr0_fixed1 >> 32)) == 0;
}
inline std::string cr0_high_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR0 {:#x}: bits 63:32 ({:#x}) must be 0", cr0_field(s, ctx),
                       cr0_field(s, ctx) >> 32);
}

inline bool cr0_pg_needs_pe(const CpuState& s, const VmxContext& ctx) noexcept {
    const uint64_t v = cr0_field(s, ctx);
    return (v & cr0::PG) == 0 || (v & cr0::PE) != 0;
}
inline std::string cr0_pg_needs_pe_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR0 {:#x}: PG = 1 with PE = 0 (paging without protection)",
                       cr0_field(s, ctx));
}

inline bool cr0_pg_for_ia32e(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.ia32e_mode_guest || (cr0_field(s, ctx) & cr0::PG) != 0;
}
inline std::string cr0_pg_for_ia32e_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR0 {:#x}: PG = 0 with the \"IA-32e mode guest\" VM-entry control set",
                       cr0_field(s, ctx));
}

// --- CR4 against IA32_VMX_CR4_FIXED0 / FIXED1
inline uint64_t cr4_missing(const CpuState& s, const VmxContext& ctx) noexcept {
    return ctx.cr4_fixed0 & ~cr4_field(s, ctx);
}
inline bool cr4_fixed0(const CpuState& s, const VmxContext& ctx) noexcept {
    return cr4_missing(s, ctx) == 0;
}
inline std::string cr4_fixed0_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR4 {:#x}{} lacks {}, which IA32_VMX_CR4_FIXED0 {:#x} requires",
                       cr4_field(s, ctx), field_note(ctx.cr4_vmm_set),
                       cr4_bit_names(cr4_missing(s, ctx)), ctx.cr4_fixed0);
}

inline uint64_t cr4_disallowed_low(const CpuState& s, const VmxContext& ctx) noexcept {
    return cr4_field(s, ctx) & 0xFFFFFFFF & ~ctx.cr4_fixed1;
}
inline bool cr4_fixed1(const CpuState& s, const VmxContext& ctx) noexcept {
    return cr4_disallowed_low(s, ctx) == 0;
}
inline std::string cr4_fixed1_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR4 {:#x} sets {}, which IA32_VMX_CR4_FIXED1 {:#x} does not allow",
                       cr4_field(s, ctx), cr4_bit_names(cr4_disallowed_low(s, ctx)),
                       ctx.cr4_fixed1);
}

inline bool cr4_high(const CpuState& s, const VmxContext& ctx) noexcept {
    return ((cr4_field(s, ctx) >> 32) & ~(ctx.cr4_fixed1 >> 32)) == 0;
}
inline std::string cr4_high_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR4 {:#x}: bits 63:32 ({:#x}) must be 0", cr4_field(s, ctx),
                       cr4_field(s, ctx) >> 32);
}

inline bool cr4_pae_for_ia32e(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.ia32e_mode_guest || (cr4_field(s, ctx) & cr4::PAE) != 0;
}
inline std::string cr4_pae_for_ia32e_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR4 {:#x}: PAE = 0 with the \"IA-32e mode guest\" VM-entry control set",
                       cr4_field(s, ctx));
}

inline bool cr4_pcide_needs_ia32e(const CpuState& s, const VmxContext& ctx) noexcept {
    return ctx.ia32e_mode_guest || (cr4_field(s, ctx) & cr4::PCIDE) == 0;
}
inline std::string cr4_pcide_needs_ia32e_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR4 {:#x}: PCIDE = 1 without the \"IA-32e mode guest\" VM-entry control",
                       cr4_field(s, ctx));
}

// --- CR3: "bits 63:52 and bits in the range 51:32 beyond the processor's physical-address
// width are 0".
inline uint64_t cr3_reserved_mask(const VmxContext& ctx) noexcept {
    const unsigned width = ctx.physical_address_width < 52 ? ctx.physical_address_width : 52;
    return width >= 64 ? 0 : ~uint64_t{0} << width;
}
inline bool cr3_reserved(const CpuState& s, const VmxContext& ctx) noexcept {
    return (s.cr3 & cr3_reserved_mask(ctx)) == 0;
}
inline std::string cr3_reserved_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("CR3 {:#x} sets bits above the {}-bit physical-address width ({:#x})", s.cr3,
                       ctx.physical_address_width, s.cr3 & cr3_reserved_mask(ctx));
}

// --- IA32_SYSENTER_ESP / IA32_SYSENTER_EIP: canonical.
inline bool sysenter_esp(const CpuState& s, const VmxContext& ctx) noexcept {
    return canonical(s.msrs.sysenter_esp, ctx.linear_address_width);
}
inline std::string sysenter_esp_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("IA32_SYSENTER_ESP {:#x} is not canonical for {}-bit linear addresses",
                       s.msrs.sysenter_esp, ctx.linear_address_width);
}
inline bool sysenter_eip(const CpuState& s, const VmxContext& ctx) noexcept {
    return canonical(s.msrs.sysenter_eip, ctx.linear_address_width);
}
inline std::string sysenter_eip_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("IA32_SYSENTER_EIP {:#x} is not canonical for {}-bit linear addresses",
                       s.msrs.sysenter_eip, ctx.linear_address_width);
}

// --- IA32_PAT (with "load IA32_PAT"): each byte 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB) or
// 7 (UC-).
inline int bad_pat_entry(uint64_t pat) noexcept {
    for (int i = 0; i < 8; ++i) {
        const uint64_t type = (pat >> (8 * i)) & 0xFF;
        if (type == 2 || type == 3 || type > 7) return i;
    }
    return -1;
}
inline bool pat_types(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.load_pat || bad_pat_entry(s.msrs.pat) < 0;
}
inline std::string pat_types_text(const CpuState& s, const VmxContext&) {
    const int i = bad_pat_entry(s.msrs.pat);
    return fmt::format("IA32_PAT {:#018x}: PA{} is {:#x}, not a memory type (0, 1, 4, 5, 6, 7)",
                       s.msrs.pat, i, (s.msrs.pat >> (8 * i)) & 0xFF);
}

// --- IA32_EFER (with "load IA32_EFER")
inline bool efer_reserved(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.load_efer || (s.efer & ~efer::kDefined) == 0;
}
inline std::string efer_reserved_text(const CpuState& s, const VmxContext&) {
    return fmt::format("IA32_EFER {:#x} sets reserved bits {:#x} (only SCE, LME, LMA, NXE exist)",
                       s.efer, s.efer & ~efer::kDefined);
}

inline bool efer_lma(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.load_efer || ((s.efer & efer::LMA) != 0) == ctx.ia32e_mode_guest;
}
inline std::string efer_lma_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("IA32_EFER.LMA = {} but the \"IA-32e mode guest\" control is {}",
                       (s.efer & efer::LMA) != 0 ? 1 : 0, ctx.ia32e_mode_guest ? 1 : 0);
}

inline bool efer_lme(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.load_efer || (cr0_field(s, ctx) & cr0::PG) == 0 ||
           ((s.efer & efer::LMA) != 0) == ((s.efer & efer::LME) != 0);
}
inline std::string efer_lme_text(const CpuState& s, const VmxContext&) {
    return fmt::format("IA32_EFER {:#x}: LMA = {} differs from LME = {} while CR0.PG = 1", s.efer,
                       (s.efer & efer::LMA) != 0 ? 1 : 0, (s.efer & efer::LME) != 0 ? 1 : 0);
}

// What KVM does instead (compare_profiles()).
inline constexpr std::string_view kCr0Note =
    "KVM keeps PE, PG and NE set in the hardware CR0 and shows the guest its own value through "
    "the CR0 read shadow; without unrestricted guest it runs real mode as virtual-8086 mode and "
    "paging-off code on an identity-mapped page table, so it never lets this rule fail";
inline constexpr std::string_view kCr4Note =
    "KVM sets VMXE (and PAE, VME as needed) in the hardware CR4 behind the guest's back and "
    "rejects unsupported bits when the guest writes CR4, not at VM entry";
inline constexpr std::string_view kWriteTimeNote =
    "KVM validates this when the guest or userspace writes the register, not at VM entry";
inline constexpr std::string_view kLongModeNote =
    "KVM derives the \"IA-32e mode guest\" control from EFER.LMA itself (vmx_set_efer) and does "
    "not check it against CR0, CR4 or EFER";

// clang-format off
inline constexpr std::array<Check, 17> kRows = {{
    {"sdm.cr0.fixed0", kSection, kOrigin1,
     "CR0 has every bit IA32_VMX_CR0_FIXED0 requires (PE, NE, PG); PE and PG are exempt with "
     "unrestricted guest, NW and CD are never checked", kScope,
     cr0_fixed0, cr0_fixed0_text, kCr0Note},
    {"sdm.cr0.fixed1", kSection, kOrigin1,
     "CR0 bits 31:0 are 1 only where IA32_VMX_CR0_FIXED1 allows (NW and CD never checked)",
     kScope, cr0_fixed1, cr0_fixed1_text, kWriteTimeNote},
    {"sdm.cr0.bits-63-32", kSection, kOrigin1,
     "CR0 bits 63:32 are 0 (IA32_VMX_CR0_FIXED1 reads 0 there)", kScope,
     cr0_high, cr0_high_text, kWriteTimeNote},
    {"sdm.cr0.pg-needs-pe", kSection, kOrigin1, "CR0.PG = 1 only with CR0.PE = 1", kScope,
     cr0_pg_needs_pe, cr0_pg_needs_pe_text, kWriteTimeNote},
    {"sdm.cr0.pg-for-ia32e", kSection, kOrigin1,
     "with the \"IA-32e mode guest\" control, CR0.PG = 1", kScope,
     cr0_pg_for_ia32e, cr0_pg_for_ia32e_text, kLongModeNote},
    {"sdm.cr4.fixed0", kSection, kOrigin1,
     "CR4 has every bit IA32_VMX_CR4_FIXED0 requires (VMXE)", kScope,
     cr4_fixed0, cr4_fixed0_text, kCr4Note},
    {"sdm.cr4.fixed1", kSection, kOrigin1,
     "CR4 bits 31:0 are 1 only where IA32_VMX_CR4_FIXED1 allows", kScope,
     cr4_fixed1, cr4_fixed1_text, kCr4Note},
    {"sdm.cr4.bits-63-32", kSection, kOrigin1,
     "CR4 bits 63:32 are 0 (IA32_VMX_CR4_FIXED1 reads 0 there)", kScope,
     cr4_high, cr4_high_text, kWriteTimeNote},
    {"sdm.cr4.pae-for-ia32e", kSection, kOrigin1,
     "with the \"IA-32e mode guest\" control, CR4.PAE = 1", kScope,
     cr4_pae_for_ia32e, cr4_pae_for_ia32e_text, kLongModeNote},
    {"sdm.cr4.pcide-needs-ia32e", kSection, kOrigin1,
     "without the \"IA-32e mode guest\" control, CR4.PCIDE = 0", kScope,
     cr4_pcide_needs_ia32e, cr4_pcide_needs_ia32e_text, kLongModeNote},
    {"sdm.cr3.reserved", kSection, kOrigin1,
     "CR3 bits 63:52 and bits 51:32 beyond the physical-address width are 0", kScope,
     cr3_reserved, cr3_reserved_text, kWriteTimeNote},
    {"sdm.sysenter-esp.canonical", kSection, kOrigin1, "IA32_SYSENTER_ESP is canonical", kScope,
     sysenter_esp, sysenter_esp_text, kWriteTimeNote},
    {"sdm.sysenter-eip.canonical", kSection, kOrigin1, "IA32_SYSENTER_EIP is canonical", kScope,
     sysenter_eip, sysenter_eip_text, kWriteTimeNote},
    {"sdm.pat.memory-types", kSection, kOrigin1,
     "with \"load IA32_PAT\", each IA32_PAT byte is 0, 1, 4, 5, 6 or 7", kScope,
     pat_types, pat_types_text, kWriteTimeNote},
    {"sdm.efer.reserved", kSection, kOrigin1,
     "with \"load IA32_EFER\", IA32_EFER reserved bits are 0", kScope,
     efer_reserved, efer_reserved_text, kWriteTimeNote},
    {"sdm.efer.lma-eq-ia32e", kSection, kOrigin1,
     "with \"load IA32_EFER\", EFER.LMA equals the \"IA-32e mode guest\" control", kScope,
     efer_lma, efer_lma_text, kLongModeNote},
    {"sdm.efer.lme-eq-lma", kSection, kOrigin1,
     "with \"load IA32_EFER\" and CR0.PG = 1, EFER.LME equals EFER.LMA", kScope,
     efer_lme, efer_lme_text, kLongModeNote},
}};
// clang-format on

} // namespace transit86::vmx::detail::sdm::control
