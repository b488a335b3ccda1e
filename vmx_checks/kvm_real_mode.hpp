// KVM profile, real-mode branch: rmode_segment_valid() for CS, SS, DS, ES, FS, GS in turn.
//
// Without unrestricted guest KVM runs real mode as virtual-8086 mode, so each segment must be
// what vm86 would load: base = selector << 4, limit 0xFFFF, access rights 0xF3 (SDM Vol. 3C
// 26.3.1.2, "if the guest will be virtual-8086"). KVM first forces DPL to 3 (and for CS the
// type to 3), then rebuilds the access rights from its kvm_segment fields with P := !unusable
// (vmx_get_segment, vmx_segment_access_rights), which drops reserved bits 11:8 and 31:17. The
// single comparison with 0xF3 therefore comes down to: usable, type 3 (not for CS), S = 1,
// AVL = L = D/B = G = 0. Each of those is its own row, after KVM's base and limit tests.
//
// Only included by kvm.cpp, which builds the profile table from these rows.
#pragma once

#include "describe.hpp"
#include "transit86/vmx_checks.hpp"

#include <fmt/format.h>

#include <array>
#include <string>
#include <utility>

namespace transit86::vmx::detail::kvm_real {

inline constexpr std::string_view kSection = "26.3.1.2";
inline constexpr std::string_view kOrigin = "KVM rmode_segment_valid";
inline constexpr uint32_t kSizeBits = ar::kAvl | ar::kL | ar::kDb | ar::kG;

// Real-mode base: selector << 4.
template <Seg S>
bool base_is_selector_x16(const CpuState& s, const VmxContext&) noexcept {
    return s[S].base == (uint64_t{s[S].selector} << 4);
}
template <Seg S>
std::string base_is_selector_x16_text(const CpuState& s, const VmxContext&) {
    const SegmentCache& g = s[S];
    return fmt::format("{} base {:#x} != selector {:#06x} << 4 = {:#x}", seg_name(S), g.base,
                       g.selector, uint32_t{g.selector} << 4);
}

// Real-mode limit: 64 KiB.
template <Seg S>
bool limit_is_ffff(const CpuState& s, const VmxContext&) noexcept {
    return s[S].limit == 0xFFFF;
}
template <Seg S>
std::string limit_is_ffff_text(const CpuState& s, const VmxContext&) {
    const uint32_t limit = s[S].limit;
    return fmt::format("{} limit {:#x} != 0xffff{}", seg_name(S), limit,
                       limit > 0xFFFF ? " (a protected-mode limit kept in real mode: unreal mode)"
                                      : "");
}

// The unusable bit ends up as bit 16 of the rebuilt access rights.
template <Seg S>
bool usable(const CpuState& s, const VmxContext&) noexcept {
    return !ar::unusable(s[S].access_rights);
}
template <Seg S>
std::string usable_text(const CpuState& s, const VmxContext&) {
    return fmt::format("{} is unusable (access rights {:#x}); real-mode segments must be usable",
                       seg_name(S), s[S].access_rights);
}

// Type 3, read/write accessed data (CS's type is forced to 3 by KVM, so CS has no such row).
template <Seg S>
bool type_is_3(const CpuState& s, const VmxContext&) noexcept {
    return ar::type(s[S].access_rights) == 3;
}
template <Seg S>
std::string type_is_3_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = s[S].access_rights;
    return fmt::format("{} type {} ({}) is not 3 (data, read/write, accessed)", seg_name(S),
                       ar::type(a), type_name(a));
}

template <Seg S>
bool s_is_1(const CpuState& s, const VmxContext&) noexcept {
    return ar::s(s[S].access_rights);
}
template <Seg S>
std::string s_is_1_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = s[S].access_rights;
    return fmt::format("{} access rights {:#x}: S = 0 ({}); real-mode segments are code/data",
                       seg_name(S), a, type_name(a));
}

// AVL, L, D/B and G clear: a 16-bit, byte-granular segment.
template <Seg S>
bool avl_l_db_g_clear(const CpuState& s, const VmxContext&) noexcept {
    return (s[S].access_rights & kSizeBits) == 0;
}
template <Seg S>
std::string avl_l_db_g_clear_text(const CpuState& s, const VmxContext&) {
    const uint32_t a = s[S].access_rights;
    std::string set;
    for (const auto& [bit, name] : {std::pair{ar::kAvl, "AVL"}, std::pair{ar::kL, "L"},
                                    std::pair{ar::kDb, "D/B"}, std::pair{ar::kG, "G"}}) {
        if ((a & bit) == 0) continue;
        if (!set.empty()) set += ", ";
        set += name;
    }
    return fmt::format("{} access rights {:#x} have {} set; real-mode segments need AVL, L, D/B "
                       "and G clear (16-bit, byte granular)",
                       seg_name(S), a, set);
}

inline constexpr Scope kScope = Scope::RealOrV86;

// What compare_profiles() says when one of these rows fails and the processor's rules hold.
// The processor asks these things only of a guest in virtual-8086 mode (RFLAGS.VM = 1); KVM
// asks them of real mode because it runs real mode as virtual-8086 mode.
inline constexpr std::string_view kBaseNote =
    "KVM runs real mode as virtual-8086 mode, where a base is always selector x 16; the "
    "processor asks that only when RFLAGS.VM = 1 (unrestricted guest runs any base natively)";
inline constexpr std::string_view kLimitNote =
    "virtual-8086 mode fixes every limit at 0xFFFF, so KVM cannot run unreal mode in hardware; "
    "the processor asks 0xFFFF only when RFLAGS.VM = 1 (unrestricted guest runs unreal mode)";
inline constexpr std::string_view kUsableNote =
    "a virtual-8086 segment is always usable; outside virtual-8086 mode the processor accepts an "
    "unusable data segment";
inline constexpr std::string_view kTypeNote =
    "virtual-8086 segments are read/write data (S = 1, type 3); outside virtual-8086 mode the "
    "processor accepts other data types in DS..GS and a code segment in CS";
inline constexpr std::string_view kSizeNote =
    "virtual-8086 segments are 16-bit and byte granular; outside virtual-8086 mode the processor "
    "accepts D/B = 1 and G = 1 (big real mode)";

// clang-format off
inline constexpr std::array<Check, 35> kRows = {{
    {"rmode.cs.base", kSection, kOrigin, "CS base equals CS selector << 4", kScope,
     base_is_selector_x16<Seg::CS>, base_is_selector_x16_text<Seg::CS>, kBaseNote},
    {"rmode.cs.limit", kSection, kOrigin, "CS limit is 0xFFFF", kScope,
     limit_is_ffff<Seg::CS>, limit_is_ffff_text<Seg::CS>, kLimitNote},
    {"rmode.cs.usable", kSection, kOrigin, "CS is usable (AR bit 16 clear)", kScope,
     usable<Seg::CS>, usable_text<Seg::CS>, kUsableNote},
    {"rmode.cs.s", kSection, kOrigin, "CS S bit is 1 (code/data; KVM forces CS type to 3)",
     kScope, s_is_1<Seg::CS>, s_is_1_text<Seg::CS>, kTypeNote},
    {"rmode.cs.avl-l-db-g", kSection, kOrigin, "CS AVL, L, D/B and G are 0", kScope,
     avl_l_db_g_clear<Seg::CS>, avl_l_db_g_clear_text<Seg::CS>, kSizeNote},

    {"rmode.ss.base", kSection, kOrigin, "SS base equals SS selector << 4", kScope,
     base_is_selector_x16<Seg::SS>, base_is_selector_x16_text<Seg::SS>, kBaseNote},
    {"rmode.ss.limit", kSection, kOrigin, "SS limit is 0xFFFF", kScope,
     limit_is_ffff<Seg::SS>, limit_is_ffff_text<Seg::SS>, kLimitNote},
    {"rmode.ss.usable", kSection, kOrigin, "SS is usable (AR bit 16 clear)", kScope,
     usable<Seg::SS>, usable_text<Seg::SS>, kUsableNote},
    {"rmode.ss.type", kSection, kOrigin, "SS type is 3 (read/write accessed data)", kScope,
     type_is_3<Seg::SS>, type_is_3_text<Seg::SS>, kTypeNote},
    {"rmode.ss.s", kSection, kOrigin, "SS S bit is 1 (code/data)", kScope,
     s_is_1<Seg::SS>, s_is_1_text<Seg::SS>, kTypeNote},
    {"rmode.ss.avl-l-db-g", kSection, kOrigin, "SS AVL, L, D/B and G are 0", kScope,
     avl_l_db_g_clear<Seg::SS>, avl_l_db_g_clear_text<Seg::SS>, kSizeNote},

    {"rmode.ds.base", kSection, kOrigin, "DS base equals DS selector << 4", kScope,
     base_is_selector_x16<Seg::DS>, base_is_selector_x16_text<Seg::DS>, kBaseNote},
    {"rmode.ds.limit", kSection, kOrigin, "DS limit is 0xFFFF", kScope,
     limit_is_ffff<Seg::DS>, limit_is_ffff_text<Seg::DS>, kLimitNote},
    {"rmode.ds.usable", kSection, kOrigin, "DS is usable (AR bit 16 clear)", kScope,
     usable<Seg::DS>, usable_text<Seg::DS>, kUsableNote},
    {"rmode.ds.type", kSection, kOrigin, "DS type is 3 (read/write accessed data)", kScope,
     type_is_3<Seg::DS>, type_is_3_text<Seg::DS>, kTypeNote},
    {"rmode.ds.s", kSection, kOrigin, "DS S bit is 1 (code/data)", kScope,
     s_is_1<Seg::DS>, s_is_1_text<Seg::DS>, kTypeNote},
    {"rmode.ds.avl-l-db-g", kSection, kOrigin, "DS AVL, L, D/B and G are 0", kScope,
     avl_l_db_g_clear<Seg::DS>, avl_l_db_g_clear_text<Seg::DS>, kSizeNote},

    {"rmode.es.base", kSection, kOrigin, "ES base equals ES selector << 4", kScope,
     base_is_selector_x16<Seg::ES>, base_is_selector_x16_text<Seg::ES>, kBaseNote},
    {"rmode.es.limit", kSection, kOrigin, "ES limit is 0xFFFF", kScope,
     limit_is_ffff<Seg::ES>, limit_is_ffff_text<Seg::ES>, kLimitNote},
    {"rmode.es.usable", kSection, kOrigin, "ES is usable (AR bit 16 clear)", kScope,
     usable<Seg::ES>, usable_text<Seg::ES>, kUsableNote},
    {"rmode.es.type", kSection, kOrigin, "ES type is 3 (read/write accessed data)", kScope,
     type_is_3<Seg::ES>, type_is_3_text<Seg::ES>, kTypeNote},
    {"rmode.es.s", kSection, kOrigin, "ES S bit is 1 (code/data)", kScope,
     s_is_1<Seg::ES>, s_is_1_text<Seg::ES>, kTypeNote},
    {"rmode.es.avl-l-db-g", kSection, kOrigin, "ES AVL, L, D/B and G are 0", kScope,
     avl_l_db_g_clear<Seg::ES>, avl_l_db_g_clear_text<Seg::ES>, kSizeNote},

    {"rmode.fs.base", kSection, kOrigin, "FS base equals FS selector << 4", kScope,
     base_is_selector_x16<Seg::FS>, base_is_selector_x16_text<Seg::FS>, kBaseNote},
    {"rmode.fs.limit", kSection, kOrigin, "FS limit is 0xFFFF", kScope,
     limit_is_ffff<Seg::FS>, limit_is_ffff_text<Seg::FS>, kLimitNote},
    {"rmode.fs.usable", kSection, kOrigin, "FS is usable (AR bit 16 clear)", kScope,
     usable<Seg::FS>, usable_text<Seg::FS>, kUsableNote},
    {"rmode.fs.type", kSection, kOrigin, "FS type is 3 (read/write accessed data)", kScope,
     type_is_3<Seg::FS>, type_is_3_text<Seg::FS>, kTypeNote},
    {"rmode.fs.s", kSection, kOrigin, "FS S bit is 1 (code/data)", kScope,
     s_is_1<Seg::FS>, s_is_1_text<Seg::FS>, kTypeNote},
    {"rmode.fs.avl-l-db-g", kSection, kOrigin, "FS AVL, L, D/B and G are 0", kScope,
     avl_l_db_g_clear<Seg::FS>, avl_l_db_g_clear_text<Seg::FS>, kSizeNote},

    {"rmode.gs.base", kSection, kOrigin, "GS base equals GS selector << 4", kScope,
     base_is_selector_x16<Seg::GS>, base_is_selector_x16_text<Seg::GS>, kBaseNote},
    {"rmode.gs.limit", kSection, kOrigin, "GS limit is 0xFFFF", kScope,
     limit_is_ffff<Seg::GS>, limit_is_ffff_text<Seg::GS>, kLimitNote},
    {"rmode.gs.usable", kSection, kOrigin, "GS is usable (AR bit 16 clear)", kScope,
     usable<Seg::GS>, usable_text<Seg::GS>, kUsableNote},
    {"rmode.gs.type", kSection, kOrigin, "GS type is 3 (read/write accessed data)", kScope,
     type_is_3<Seg::GS>, type_is_3_text<Seg::GS>, kTypeNote},
    {"rmode.gs.s", kSection, kOrigin, "GS S bit is 1 (code/data)", kScope,
     s_is_1<Seg::GS>, s_is_1_text<Seg::GS>, kTypeNote},
    {"rmode.gs.avl-l-db-g", kSection, kOrigin, "GS AVL, L, D/B and G are 0", kScope,
     avl_l_db_g_clear<Seg::GS>, avl_l_db_g_clear_text<Seg::GS>, kSizeNote},
}};
// clang-format on

} // namespace transit86::vmx::detail::kvm_real
