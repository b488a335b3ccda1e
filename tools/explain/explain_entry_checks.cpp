// explain's own rows: the VM-entry checks on guest state that neither CpuState nor VmxContext
// carries, read from the dump instead. The sdm profile covers the rest of SDM Vol. 3C 26.3.1.5
// (activity and interruptibility state, with the injected event); what it cannot see is the
// pending-debug-exceptions field and IA32_DEBUGCTL, which kvm_intel and Xen dumps print
// ("DebugCtl = ...  DebugExceptions = ..."). The BS rule below is the one Xen's single-stepping
// (MTF, altp2m) users trip over. KVM's guest_state_valid() checks neither.
#include "tools/explain/explain_checks.hpp"

#include <array>
#include <fmt/format.h>

namespace transit86::tools::explain {
namespace {

using namespace vmcs_bits;

constexpr uint32_t kSti = interruptibility::BlockingBySti;
constexpr uint32_t kMovSs = interruptibility::BlockingByMovSs;

uint32_t blocking(const Dump& d) noexcept {
    return d.state.interruptibility;
}
ActivityState activity(const Dump& d) noexcept {
    return d.state.activity;
}

// --- 26.3.1.5: pending debug exceptions.
constexpr uint64_t kPendingReserved = ~uint64_t{0x1FFFF} | 0xFF0 | (1u << 13) | (1u << 15);

bool pending_debug_reserved(const Dump& d) noexcept {
    return (d.controls.pending_debug & kPendingReserved) == 0;
}
std::string pending_debug_reserved_text(const Dump& d) {
    return fmt::format("pending debug exceptions {:#x} set reserved bits (11:4, 13, 15, 63:17)",
                       d.controls.pending_debug);
}

// With STI/MOV-SS blocking or in HLT, BS must say whether a single-step trap is pending:
// 1 exactly when RFLAGS.TF = 1 and IA32_DEBUGCTL.BTF = 0.
bool pending_debug_bs(const Dump& d) noexcept {
    const bool applies = (blocking(d) & (kSti | kMovSs)) != 0 || activity(d) == ActivityState::Hlt;
    if (!applies) return true;
    const bool single_step =
        (d.state.eflags & flags::TF) != 0 && (d.controls.debugctl & kDebugCtlBtf) == 0;
    const bool bs = (d.controls.pending_debug & kPendingDebugBs) != 0;
    return bs == single_step;
}
std::string pending_debug_bs_text(const Dump& d) {
    const bool bs = (d.controls.pending_debug & kPendingDebugBs) != 0;
    return fmt::format("pending debug exceptions {:#x} has BS = {} with RFLAGS.TF = {}, "
                       "DEBUGCTL.BTF = {}, interruptibility {:#x}, activity {}",
                       d.controls.pending_debug, bs ? 1 : 0,
                       (d.state.eflags & flags::TF) != 0 ? 1 : 0,
                       (d.controls.debugctl & kDebugCtlBtf) != 0 ? 1 : 0, blocking(d),
                       static_cast<uint32_t>(activity(d)));
}

constexpr std::string_view kNonRegister = "26.3.1.5";

// clang-format off
const std::array<EntryCheck, 2> kEntryChecks = {{
    {"pending-debug.reserved", kNonRegister,
     "pending debug exceptions bits 11:4, 13, 15 and 63:17 are 0",
     {Field::PendingDebug}, pending_debug_reserved, pending_debug_reserved_text},
    {"pending-debug.bs", kNonRegister,
     "with STI/MOV-SS blocking or HLT, BS is 1 exactly when TF = 1 and DEBUGCTL.BTF = 0",
     {Field::PendingDebug, Field::Rflags, Field::DebugCtl, Field::Interruptibility,
      Field::Activity},
     pending_debug_bs, pending_debug_bs_text},
}};
// clang-format on

} // namespace

std::span<const EntryCheck> entry_checks() noexcept {
    return kEntryChecks;
}

} // namespace transit86::tools::explain
