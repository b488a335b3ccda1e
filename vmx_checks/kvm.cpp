// The KVM profile: KVM's __vmx_guest_state_valid() (arch/x86/kvm/vmx/vmx.c) without
// unrestricted guest. The real-mode branch rows come first, then the protected-mode branch;
// each row's scope selects the branch, exactly as KVM's if/else does.
#include "kvm_protected_mode.hpp"
#include "kvm_real_mode.hpp"
#include "table.hpp"

namespace transit86::vmx::detail {
namespace {

constexpr auto kKvmChecks = concat(kvm_real::kRows, kvm_protected::kRows);

constexpr bool ids_unique() {
    for (std::size_t i = 0; i < kKvmChecks.size(); ++i)
        for (std::size_t j = i + 1; j < kKvmChecks.size(); ++j)
            if (kKvmChecks[i].id == kKvmChecks[j].id) return false;
    return true;
}
static_assert(ids_unique(), "every check id names one row");

} // namespace

std::span<const Check> kvm_checks() noexcept {
    return kKvmChecks;
}

std::size_t kvm_first_failing(const CpuState& s) noexcept {
    return first_failing_row<kKvmChecks>(s);
}

} // namespace transit86::vmx::detail
