// The SDM profile (every check of SDM Vol. 3C 26.3.1.2 and the guest CR0/RFLAGS/GDTR/IDTR
// checks that apply) is not implemented yet. Until it is, its table is one row that fails for
// every state, so a caller asking for it is told so instead of being told "valid".
//
// To implement it: replace kSdmChecks with the SDM rows (Scope::Always rows test RFLAGS.VM or
// CR0.PE themselves where the SDM makes a rule depend on virtual-8086 mode), in SDM order.
#include "table.hpp"

namespace transit86::vmx::detail {
namespace {

bool never(const CpuState&) noexcept {
    return false;
}
std::string not_implemented_text(const CpuState&) {
    return "the sdm profile is not implemented yet; use the kvm profile";
}

constexpr std::array<Check, 1> kSdmChecks = {{
    {"sdm.not-implemented", "26.3.1", "none",
     "placeholder: the SDM profile is not implemented, so no state is reported valid under it",
     Scope::Always, never, not_implemented_text},
}};

} // namespace

std::span<const Check> sdm_checks() noexcept {
    return kSdmChecks;
}

std::size_t sdm_first_failing(const CpuState& s) noexcept {
    return first_failing_row<kSdmChecks>(s);
}

} // namespace transit86::vmx::detail
