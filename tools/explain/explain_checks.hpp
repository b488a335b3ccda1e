// Judging a parsed dump: every check of the `sdm` profile, KVM's view of the same state, and
// the checks that cannot be judged because the dump lacks a field they read.
//
// A check is judged only when every field it reads is known. What a row of the vmx_checks
// tables reads is derived from its id here (reads_of), not stored in vmx_checks/: the register
// names in the id ("ss.rpl-eq-cs.rpl" reads SS and CS), plus CR0 and RFLAGS for any row whose
// outcome depends on the mode. A row whose id names no register is taken to read the whole
// guest state, so it is judged only on a complete dump.
//
// The sdm rows get the controls and the injected event through a VmxContext (context_for).
// The pending-debug-exceptions rules of 26.3.1.5 read fields neither CpuState nor VmxContext
// carries (pending debug exceptions, IA32_DEBUGCTL); they are rows of explain's own table
// (entry_checks), judged from the dump.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tools/explain/explain_dump.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86::tools::explain {

// What explain assumes about VMCS controls the dump may not show.
struct Assumptions {
    bool unrestricted_guest = false;
    std::string unrestricted_reason; // why: "SecondaryExec bit 7", "VMCS CR0.PE = 0", ...
    bool ia32e_mode_guest = false;
    std::string ia32e_reason;
};

// What the command line adds to a dump.
struct Settings {
    std::optional<bool> unrestricted;   // overrides the unrestricted-guest assumption
    std::optional<uint64_t> cr4_fixed1; // the host's IA32_VMX_CR4_FIXED1
    std::optional<unsigned> maxphyaddr; // the host's MAXPHYADDR
};

// Decides the assumptions from the dump; `force_unrestricted` (command line) overrides.
Assumptions assume(const Dump& dump, std::optional<bool> force_unrestricted);

// The VmxContext the sdm rows are judged under: the controls and the injected event as the
// dump shows them, the assumptions, and VmxContext's defaults for the host capability MSRs.
// kvm_intel and Xen dumps print the literal VMCS CR0/CR4, so nothing is added to them
// (cr0_vmm_set = cr4_vmm_set = 0); QEMU dumps print the guest's own CR0/CR4, to which KVM adds
// NE and VMXE (the defaults).
vmx::VmxContext context_for(const Dump& dump, const Assumptions& assumptions,
                            const Settings& settings = {});

// The fields the judging treats as known: what the dump showed, plus the VMCS CR0/CR4 of a
// QEMU dump when unrestricted guest is on (then KVM's VMCS value is the guest's value plus NE
// and VMXE, which context_for() adds; without it KVM rewrites CR0 and, in real mode, the
// segments for virtual-8086 mode, so the VMCS is not what QEMU printed).
FieldSet judged_fields(const Dump& dump, const Assumptions& assumptions,
                       const Settings& settings = {});

// A check of explain's own table: a VM-entry rule on fields CpuState and VmxContext lack.
struct EntryCheck {
    std::string_view id;
    std::string_view section;
    std::string_view rule;
    FieldSet reads;
    bool (*passes)(const Dump&) noexcept;
    std::string (*describe)(const Dump&);
};
std::span<const EntryCheck> entry_checks() noexcept;

// The fields a vmx_checks row reads (see the header comment).
FieldSet reads_of(const vmx::Check& row);

// How KVM's own guest_state_valid() treats the state.
enum class KvmVerdict : uint8_t {
    Invalid, // a KVM check the dump lets us judge fails: KVM emulates instead of entering
    Valid,   // every KVM check judged and passed (or unrestricted guest: KVM checks nothing):
             // KVM enters and leaves the rest to the CPU
    Unknown, // no judged KVM check fails, but some could not be judged
};

// For one failing SDM rule: would KVM have stopped the state first?
enum class KvmCatch : uint8_t {
    Catches,          // a KVM check on the same register fails too
    CatchesElsewhere, // KVM rejects the state, but has no check for this rule
    Misses,           // KVM accepts the state: VM entry fails in the CPU (0x80000021)
    Unknown,          // KVM's verdict depends on fields the dump lacks
};
std::string_view to_string(KvmCatch c) noexcept;

struct Finding {
    std::string id;
    std::string section;
    std::string message;
    std::string source; // "sdm" (the vmx_checks profile) or "entry" (explain's own table)
    KvmCatch kvm = KvmCatch::Unknown;
    std::vector<std::string> kvm_checks; // the failing KVM rows that test the same rule
    std::string kvm_note;                // what KVM does about this rule (Check::kvm_note)
};

struct Unjudged {
    std::string id;
    std::string section;
    std::string source;
    FieldSet missing;
};

struct Explanation {
    Dump dump;
    Assumptions assumptions;
    vmx::VmxContext context; // what the sdm rows were judged under
    FieldSet judged_fields;  // dump.known plus what the assumptions make known
    KvmVerdict kvm = KvmVerdict::Unknown;
    std::vector<std::string> kvm_failing; // judged KVM rows that fail, in KVM's order
    std::vector<Finding> failing;         // judged SDM and entry rows that fail
    std::vector<Unjudged> unjudged;
    std::size_t judged = 0; // rows judged (passing or failing)
    bool valid() const noexcept { return failing.empty(); }
};

Explanation explain_dump(Dump dump, const Settings& settings = {});

} // namespace transit86::tools::explain
