// Vocabulary shared by the sdm rows (SDM Vol. 3C 26.3.1 and 26.2.1.3): the eight segment
// registers as one enum, canonical addresses, limit/granularity consistency, the injected
// event, and bit names for messages.
//
// Only included by the sdm_*.hpp row files and by sdm.cpp.
#pragma once

#include "describe.hpp"
#include "transit86/vmx_checks.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace transit86::vmx::detail::sdm {

inline constexpr std::string_view kOrigin1 = "SDM 26.3.1.1";
inline constexpr std::string_view kOrigin2 = "SDM 26.3.1.2";
inline constexpr std::string_view kOrigin3 = "SDM 26.3.1.3";
inline constexpr std::string_view kOrigin4 = "SDM 26.3.1.4";
inline constexpr std::string_view kOrigin5 = "SDM 26.3.1.5";
inline constexpr std::string_view kOriginEntry = "SDM 26.2.1.3";

// CR4 and IA32_EFER bits the checks name (SDM Vol. 3A 2.5, 2.2.1); cpu_state.hpp has CR0's.
namespace cr4 {
inline constexpr uint64_t VME = 1u << 0;
inline constexpr uint64_t PSE = 1u << 4;
inline constexpr uint64_t PAE = 1u << 5;
inline constexpr uint64_t VMXE = 1u << 13;
inline constexpr uint64_t PCIDE = 1u << 17;
inline constexpr uint64_t SMEP = 1u << 20;
inline constexpr uint64_t SMAP = 1u << 21;
inline constexpr uint64_t PKE = 1u << 22;
} // namespace cr4
namespace efer {
inline constexpr uint64_t SCE = 1u << 0;
inline constexpr uint64_t LME = 1u << 8;
inline constexpr uint64_t LMA = 1u << 10;
inline constexpr uint64_t NXE = 1u << 11;
inline constexpr uint64_t kDefined = SCE | LME | LMA | NXE; // the rest is reserved on Intel
} // namespace efer

// The eight registers 26.3.1.2 checks, so one template covers TR and LDTR as well.
enum class Reg : uint8_t { ES, CS, SS, DS, FS, GS, TR, LDTR };

constexpr const SegmentCache& reg(const CpuState& s, Reg r) noexcept {
    switch (r) {
    case Reg::TR: return s.tr;
    case Reg::LDTR: return s.ldtr;
    default: return s.seg[static_cast<std::size_t>(r)];
    }
}

constexpr std::string_view reg_name(Reg r) noexcept {
    switch (r) {
    case Reg::ES: return "ES";
    case Reg::CS: return "CS";
    case Reg::SS: return "SS";
    case Reg::DS: return "DS";
    case Reg::FS: return "FS";
    case Reg::GS: return "GS";
    case Reg::TR: return "TR";
    case Reg::LDTR: return "LDTR";
    }
    return "?";
}

// The CR0 and CR4 fields as a VMM writes them: the guest's value plus the bits the VMM owns
// (VmxContext::cr0_vmm_set, cr4_vmm_set).
constexpr uint64_t cr0_field(const CpuState& s, const VmxContext& ctx) noexcept {
    return s.cr0 | ctx.cr0_vmm_set;
}
constexpr uint64_t cr4_field(const CpuState& s, const VmxContext& ctx) noexcept {
    return s.cr4 | ctx.cr4_vmm_set;
}

template <Reg R>
constexpr bool usable(const CpuState& s) noexcept {
    return !ar::unusable(reg(s, R).access_rights);
}

// Bits 63:N all equal bit N-1, N being the linear-address width (SDM Vol. 1 3.3.7.1).
constexpr bool canonical(uint64_t address, unsigned width) noexcept {
    if (width == 0 || width >= 64) return true;
    const uint64_t top = address >> (width - 1);
    return top == 0 || top == (~uint64_t{0} >> (width - 1));
}

// 26.3.1.2, bit 15 (G): "If any bit in the limit field in the range 11:0 is 0, G must be 0.
// If any bit in the limit field in the range 31:20 is 1, G must be 1."
constexpr bool limit_fits_granularity(uint32_t limit, uint32_t rights) noexcept {
    if (ar::g(rights)) return (limit & 0xFFF) == 0xFFF;
    return (limit & 0xFFF00000) == 0;
}

inline std::string granularity_text(std::string_view name, uint32_t limit, uint32_t rights) {
    if (ar::g(rights))
        return fmt::format("{} limit {:#x} with G = 1 (access rights {:#x}): limit bits 11:0 "
                           "must all be 1 for a page-granular segment",
                           name, limit, rights);
    return fmt::format("{} limit {:#x} with G = 0 (access rights {:#x}): limit bits 31:20 must "
                       "be 0 for a byte-granular segment",
                       name, limit, rights);
}

// --- The event the VM entry injects (VmxContext::entry_interruption_info).
constexpr bool injecting(const VmxContext& ctx, injection::Type type) noexcept {
    return injection::valid(ctx.entry_interruption_info) &&
           injection::type(ctx.entry_interruption_info) == type;
}

std::string_view event_type_name(injection::Type type) noexcept;
std::string_view activity_name(ActivityState state) noexcept;

// "PE (bit 0), PG (bit 31)" for the set bits of a CR0 or CR4 value.
std::string cr0_bit_names(uint64_t bits);
std::string cr4_bit_names(uint64_t bits);

} // namespace transit86::vmx::detail::sdm
