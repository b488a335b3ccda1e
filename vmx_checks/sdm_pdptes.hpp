// SDM profile, 26.3.1.6 "Checks on Guest Page-Directory-Pointer-Table Entries": a VM entry to a
// guest that uses PAE paging (CR0.PG = 1, CR4.PAE = 1, "IA-32e mode guest" = 0) checks the
// PDPTEs with the checks MOV to CR3 makes (Vol. 3A 4.4.1, Table 4-8): a present PDPTE sets no
// reserved bit (2:1, 8:5, 63:MAXPHYADDR). CpuState::pdpte holds the PDPTE registers — the
// VMCS guest PDPTE fields VM entry checks with "enable EPT"; without EPT it loads them from
// CR3 first, which gives the same values unless the table changed since the last CR3 load.
//
// Only included by sdm.cpp.
#pragma once

#include "sdm_common.hpp"

#include <array>

namespace transit86::vmx::detail::sdm::pdptes {

inline constexpr std::string_view kSection = "26.3.1.6";
inline constexpr std::string_view kOrigin6 = "SDM 26.3.1.6";

inline bool pae_guest(const CpuState& s, const VmxContext& ctx) noexcept {
    return (cr0_field(s, ctx) & cr0::PG) != 0 && (cr4_field(s, ctx) & cr4::PAE) != 0 &&
           !ctx.ia32e_mode_guest;
}

inline uint64_t reserved_mask(const VmxContext& ctx) noexcept {
    const unsigned width = ctx.physical_address_width < 52 ? ctx.physical_address_width : 52;
    return 0x1E6 | (~uint64_t{0} << width);
}

// The first present PDPTE that sets a reserved bit, or -1.
inline int bad_pdpte(const CpuState& s, const VmxContext& ctx) noexcept {
    for (int i = 0; i < 4; ++i)
        if ((s.pdpte[i] & 1) && (s.pdpte[i] & reserved_mask(ctx))) return i;
    return -1;
}

inline bool pdptes_valid(const CpuState& s, const VmxContext& ctx) noexcept {
    return !pae_guest(s, ctx) || bad_pdpte(s, ctx) < 0;
}
inline std::string pdptes_valid_text(const CpuState& s, const VmxContext& ctx) {
    const int i = bad_pdpte(s, ctx);
    return fmt::format("PAE paging: PDPTE{} {:#018x} is present and sets reserved bits {:#x} "
                       "(2:1, 8:5 and 63:{})",
                       i, s.pdpte[i], s.pdpte[i] & reserved_mask(ctx), ctx.physical_address_width);
}

inline constexpr std::string_view kPdpteNote =
    "KVM checks the PDPTEs when the guest or userspace loads CR3, CR0 or CR4 (load_pdptrs), "
    "refusing the MOV or KVM_SET_SREGS, not at VM entry";

// clang-format off
inline constexpr std::array<Check, 1> kRows = {{
    {"sdm.pdpte.reserved", kSection, kOrigin6,
     "with PAE paging (CR0.PG = 1, CR4.PAE = 1, not IA-32e mode), no present PDPTE sets a "
     "reserved bit (2:1, 8:5, 63:MAXPHYADDR)", Scope::Always,
     pdptes_valid, pdptes_valid_text, kPdpteNote},
}};
// clang-format on

} // namespace transit86::vmx::detail::sdm::pdptes
