// The KVM profile: KVM's __vmx_guest_state_valid() (arch/x86/kvm/vmx/vmx.c) without
// unrestricted guest. The real-mode branch rows come first, then the protected-mode branch;
// each row's scope selects the branch, exactly as KVM's if/else does. KVM reads no VMX
// control or capability, so the rows ignore the VmxContext.
#include "kvm_protected_mode.hpp"
#include "kvm_real_mode.hpp"
#include "table.hpp"

namespace transit86::vmx::detail {
namespace {

constexpr auto kKvmChecks = concat(kvm_real::kRows, kvm_protected::kRows);
static_assert(ids_unique(kKvmChecks), "every check id names one row");

constexpr VmxContext kUnusedContext{};

} // namespace

std::span<const Check> kvm_checks() noexcept {
    return kKvmChecks;
}

std::size_t kvm_first_failing(const CpuState& s) noexcept {
    return first_failing_row<kKvmChecks>(s, kUnusedContext);
}

} // namespace transit86::vmx::detail
