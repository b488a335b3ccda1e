// The SDM profile: what the processor checks on VM entry (SDM Vol. 3C 26.3.1, in its order:
// control registers and MSRs, segment registers, descriptor-table registers, RFLAGS,
// non-register state, PDPTEs), then the event-injection control checks of 26.2.1.3. Profile::Sdm
// and Profile::Unrestricted share this table; the context (unrestricted_guest) decides which rules
// bite.
#include "sdm_access_rights.hpp"
#include "sdm_common.hpp"
#include "sdm_control_registers.hpp"
#include "sdm_event_injection.hpp"
#include "sdm_non_register.hpp"
#include "sdm_pdptes.hpp"
#include "sdm_segment_fields.hpp"
#include "table.hpp"

#include <array>

namespace transit86::vmx::detail {
namespace {

constexpr auto kSdmChecks = concat(sdm::control::kRows, sdm::fields::kRows, sdm::rights::kRows,
                                   sdm::state::kRows, sdm::pdptes::kRows, sdm::entry::kRows);
static_assert(ids_unique(kSdmChecks), "every check id names one row");

constexpr bool ids_prefixed() {
    for (const Check& row : kSdmChecks)
        if (row.id.substr(0, 4) != "sdm.") return false;
    return true;
}
static_assert(ids_prefixed(), "sdm ids start with \"sdm.\" so they never clash with kvm ids");

} // namespace

std::span<const Check> sdm_checks() noexcept {
    return kSdmChecks;
}

std::size_t sdm_first_failing(const CpuState& s, const VmxContext& ctx) noexcept {
    return first_failing_row<kSdmChecks>(s, ctx);
}

namespace sdm {

std::string_view event_type_name(injection::Type type) noexcept {
    switch (type) {
    case injection::Type::ExternalInterrupt: return "external interrupt";
    case injection::Type::Reserved: return "reserved type";
    case injection::Type::Nmi: return "NMI";
    case injection::Type::HardwareException: return "hardware exception";
    case injection::Type::SoftwareInterrupt: return "software interrupt";
    case injection::Type::PrivilegedSoftwareException: return "privileged software exception";
    case injection::Type::SoftwareException: return "software exception";
    case injection::Type::OtherEvent: return "other event";
    }
    return "?";
}

std::string_view activity_name(ActivityState state) noexcept {
    switch (state) {
    case ActivityState::Active: return "active";
    case ActivityState::Hlt: return "HLT";
    case ActivityState::Shutdown: return "shutdown";
    case ActivityState::WaitForSipi: return "wait-for-SIPI";
    }
    return "reserved";
}

namespace {

// Names of the architectural bits of CR0 and CR4 (SDM Vol. 3A 2.5); others print as "bit N".
constexpr std::array<std::string_view, 32> kCr0Names = {
    "PE", "MP", "EM", "TS", "ET", "NE", "", "", "", "", "", "", "", "",   "",   "",
    "WP", "",   "AM", "",   "",   "",   "", "", "", "", "", "", "", "NW", "CD", "PG"};
constexpr std::array<std::string_view, 32> kCr4Names = {
    "VME",      "PVI",    "TSD",        "DE",   "PSE",  "PAE",  "MCE",  "PGE",
    "PCE",      "OSFXSR", "OSXMMEXCPT", "UMIP", "LA57", "VMXE", "SMXE", "",
    "FSGSBASE", "PCIDE",  "OSXSAVE",    "KL",   "SMEP", "SMAP", "PKE",  "CET",
    "PKS",      "UINTR",  "",           "",     "",     "",     "",     ""};

std::string bit_names(uint64_t bits, const std::array<std::string_view, 32>& names) {
    std::string out;
    for (unsigned bit = 0; bit < 64; ++bit) {
        if ((bits >> bit & 1) == 0) continue;
        if (!out.empty()) out += ", ";
        if (bit < 32 && !names[bit].empty())
            out += fmt::format("{} (bit {})", names[bit], bit);
        else
            out += fmt::format("bit {}", bit);
    }
    return out;
}

} // namespace

std::string cr0_bit_names(uint64_t bits) {
    return bit_names(bits, kCr0Names);
}

std::string cr4_bit_names(uint64_t bits) {
    return bit_names(bits, kCr4Names);
}

} // namespace sdm
} // namespace transit86::vmx::detail
