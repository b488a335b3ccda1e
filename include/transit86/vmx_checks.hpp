// transit86 — VM-entry guest-state checks: would VT-x (or KVM in front of it) run this state?
//
// VT-x without the "unrestricted guest" control refuses VM entry for the states a CPU passes
// through between real and protected mode, and KVM then emulates instruction by instruction
// until its guest_state_valid() (arch/x86/kvm/vmx/vmx.c) holds again. This module judges a
// CpuState the same way, as pure functions with no emulator dependency.
//
// Every check is one row of a table (Check): a stable id, the SDM section, the rule in words,
// the mode in which it applies, the predicate, and the message for the report. Two paths read
// the same rows:
//   - is_valid()      the fast path: no allocation, no formatting, stops at the first failure;
//   - evaluate()      the report: every failing row in table order, each with a message
//                     naming the offending values.
// Both call the same predicates, so they agree by construction: is_valid(s, p) ==
// evaluate(s, p).empty(), and first_failure(s, p) is evaluate(s, p).front().check.
//
// Inputs that are not CPU state (VMX controls, the event being injected, the host's VMX
// capability MSRs) come in a VmxContext; the overloads without one use VmxContext{}.
//
// The kvm table is in KVM's order, so its first failing row is where KVM's guest_state_valid()
// stops (KVM itself never says which check failed); the sdm table is in SDM order. See
// docs/checks.md for the tables, and compare_profiles() for where the two disagree.
#pragma once

#include "transit86/cpu_state.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace transit86::vmx {

// Which VM-entry rules to apply.
enum class Profile : uint8_t {
    // KVM's guest_state_valid() without unrestricted guest: the real-mode branch (each of
    // CS..GS must look like a vm86 segment) or the protected-mode branch (RPL, CS, SS, DS..GS,
    // TR, LDTR), in KVM's order, with KVM's approximations (AR bit 7 ignored, P taken as
    // "usable"; no RIP, RFLAGS, reserved-bit, limit-versus-G or CR0 checks). Ignores the
    // VmxContext.
    Kvm,
    // What the processor itself checks on VM entry (SDM Vol. 3C 26.3.1, plus the event-
    // injection checks of 26.2.1.3), with the controls and capability values of the VmxContext
    // as given (by default: no unrestricted guest, not IA-32e mode, nothing injected).
    Sdm,
    // The sdm rows with the "unrestricted guest" control forced to 1 whatever the context says:
    // what hardware checks when KVM runs with unrestricted guest and hands it the state as is
    // (CR0.PE/PG exempt from FIXED0, CS type 3 allowed, SS.RPL/DPL and data DPL rules relaxed).
    // KVM's own check in that configuration accepts every state, so it needs no profile.
    Unrestricted,
};

// When a row applies; outside its scope a row passes without being tested.
enum class Scope : uint8_t {
    Always,
    // CR0.PE = 0 or RFLAGS.VM = 1: KVM's real-mode branch (KVM runs real mode in vm86).
    RealOrV86,
    // CR0.PE = 1 and RFLAGS.VM = 0: KVM's protected-mode branch.
    Protected,
    // RFLAGS.VM = 1: the SDM's "the guest will be virtual-8086".
    V86,
    // RFLAGS.VM = 0: the SDM's "the guest will not be virtual-8086".
    NotV86,
};

// VM-entry interruption-information field (SDM Vol. 3C 24.8.3, Table 24-14).
namespace injection {
inline constexpr uint32_t kVectorMask = 0xFF;
inline constexpr uint32_t kTypeShift = 8;
inline constexpr uint32_t kTypeMask = 7u << kTypeShift;
inline constexpr uint32_t kDeliverErrorCode = 1u << 11;
inline constexpr uint32_t kReservedMask = 0x7FFFF000; // bits 30:12
inline constexpr uint32_t kValid = 1u << 31;

enum class Type : uint32_t {
    ExternalInterrupt = 0,
    Reserved = 1,
    Nmi = 2,
    HardwareException = 3,
    SoftwareInterrupt = 4,
    PrivilegedSoftwareException = 5,
    SoftwareException = 6,
    OtherEvent = 7, // vector 0: pending MTF VM exit
};

// A valid interruption-information value.
constexpr uint32_t make(Type type, uint32_t vector, bool deliver_error_code = false) {
    return kValid | (static_cast<uint32_t>(type) << kTypeShift) | (vector & kVectorMask) |
           (deliver_error_code ? kDeliverErrorCode : 0);
}
constexpr bool valid(uint32_t info) {
    return (info & kValid) != 0;
}
constexpr Type type(uint32_t info) {
    return static_cast<Type>((info & kTypeMask) >> kTypeShift);
}
constexpr uint32_t vector(uint32_t info) {
    return info & kVectorMask;
}
constexpr bool deliver_error_code(uint32_t info) {
    return (info & kDeliverErrorCode) != 0;
}
} // namespace injection

// The VM-entry inputs a CpuState does not hold. The defaults describe KVM on a typical Intel
// host entering a 32-bit guest with nothing to inject; docs/checks.md lists where each comes
// from. The kvm profile ignores the context.
struct VmxContext {
    // --- VM-execution and VM-entry controls (SDM Vol. 3C 24.6, 24.8.1)
    bool unrestricted_guest = false; // secondary processor-based control bit 7
    bool ia32e_mode_guest = false;   // VM-entry control bit 9
    bool load_efer = true;           // VM-entry control bit 15 ("load IA32_EFER")
    bool load_pat = true;            // VM-entry control bit 14 ("load IA32_PAT")
    bool virtual_nmis = true;        // pin-based control bit 5 (KVM's enable_vnmi)

    // --- VM-entry event injection (SDM Vol. 3C 24.8.3); see namespace injection
    uint32_t entry_interruption_info = 0; // bit 31 clear: nothing injected
    uint32_t entry_exception_error_code = 0;
    uint32_t entry_instruction_length = 0;

    // --- the host's VMX capabilities (SDM Vol. 3D Appendix A)
    // IA32_VMX_CR0_FIXED0/FIXED1: bits that must be 1 / may be 1 in VMX operation. FIXED0 is
    // PE | NE | PG on every Intel CPU so far; FIXED1 allows all of bits 31:0.
    uint64_t cr0_fixed0 = 0x80000021;
    uint64_t cr0_fixed1 = 0xFFFFFFFF;
    // IA32_VMX_CR4_FIXED0/FIXED1: VMXE must be 1; FIXED1 as a Skylake-era part reports it:
    // bits 10:0 (VME..OSXMMEXCPT), VMXE, SMXE, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP. Set both
    // from the host's MSRs when judging for a particular machine.
    uint64_t cr4_fixed0 = 0x2000;
    uint64_t cr4_fixed1 = 0x3767FF;
    // IA32_VMX_MISC bits 8:6 shifted down: bit 0 HLT, bit 1 shutdown, bit 2 wait-for-SIPI.
    uint32_t supported_activity_states = 0x7;
    bool monitor_trap_flag = true;      // the "monitor trap flag" control can be 1
    bool zero_length_injection = false; // IA32_VMX_MISC bit 30: instruction length 0 allowed
    // The SDM lets a processor require STI blocking = 0 when an NMI is injected (26.3.1.5);
    // true applies that check, as Bochs does.
    bool nmi_injection_requires_no_sti_blocking = true;
    bool sgx = false;                    // CPUID.(EAX=7,ECX=0):EBX.SGX[bit 2]
    uint8_t linear_address_width = 48;   // canonical-address checks
    uint8_t physical_address_width = 39; // MAXPHYADDR, for the CR3 check

    // --- what the VMM writes into the VMCS behind the guest's back. VMMs own these bits
    // through the CR0/CR4 guest/host masks and show the guest its own values through the read
    // shadows, so the VMCS fields always have them set (KVM: KVM_VM_CR0_ALWAYS_ON_UNRESTRICTED_
    // GUEST = NE, KVM_VM_CR4_ALWAYS_ON_UNRESTRICTED_GUEST = VMXE). The CR0/CR4 checks read
    // (cr0 | cr0_vmm_set) and (cr4 | cr4_vmm_set). Set both to 0 to judge CpuState::cr0/cr4 as
    // the literal VMCS field values.
    uint64_t cr0_vmm_set = cr0::NE;
    uint64_t cr4_vmm_set = 0x2000; // CR4.VMXE

    friend constexpr bool operator==(const VmxContext&, const VmxContext&) = default;
};

// One VM-entry check.
struct Check {
    std::string_view id;      // stable and specific, e.g. "cs.type", "sdm.tr.type"
    std::string_view section; // SDM Vol. 3C section the rule comes from, e.g. "26.3.1.2"
    std::string_view origin;  // the code or text mirrored, e.g. "KVM code_segment_valid"
    std::string_view rule;    // the rule in words
    Scope scope;
    // True when the state satisfies the rule. Consulted only when the scope applies.
    bool (*passes)(const CpuState&, const VmxContext&) noexcept;
    // The failure in words with the offending values. Called only when passes() is false.
    std::string (*describe)(const CpuState&, const VmxContext&);
    // What KVM does about this rule, for compare_profiles(): on a kvm row, how KVM's test
    // differs from the processor's; on an sdm row, what KVM checks instead (or that it does not).
    std::string_view kvm_note;
};

// One failing check and its message.
struct Violation {
    const Check* check;
    std::string message;
};

// The context a profile really uses: the given one, with unrestricted_guest forced to true for
// Profile::Unrestricted.
VmxContext effective_context(Profile profile, const VmxContext& context) noexcept;

// Fast path: true when no row of the profile fails. No allocation, no formatting.
bool is_valid(const CpuState& state, Profile profile) noexcept;
bool is_valid(const CpuState& state, Profile profile, const VmxContext& context) noexcept;

// The first failing row in table order (for kvm: where KVM stops), or nullptr when the state is
// valid. No allocation, no formatting.
const Check* first_failure(const CpuState& state, Profile profile) noexcept;
const Check* first_failure(const CpuState& state, Profile profile,
                           const VmxContext& context) noexcept;

// Report path: every failing row in table order, each with its message. Empty when valid.
std::vector<Violation> evaluate(const CpuState& state, Profile profile);
std::vector<Violation> evaluate(const CpuState& state, Profile profile, const VmxContext& context);

// The rows of a profile in evaluation order (for listings and documentation). Sdm and
// Unrestricted share one table; the context decides what each row asks.
std::span<const Check> checks(Profile profile) noexcept;

// The row with this id in the profile's table, or nullptr.
const Check* find_check(Profile profile, std::string_view id) noexcept;

// True when the row's scope covers this state.
bool in_scope(Scope scope, const CpuState& state) noexcept;

// Where KVM's verdict and the processor's part ways: a row that fails in one profile while
// none of its counterparts in the other fails.
struct Divergence {
    // Profile::Kvm: KVM refuses (and emulates) while the processor would enter the guest;
    // Profile::Sdm: the processor refuses while KVM would hand it the state.
    Profile failing_in;
    const Check* check;    // the failing row, from checks(failing_in)
    std::string message;   // its message
    std::string_view note; // what KVM approximates here (the row's kvm_note)
};

// Compares the kvm profile with the sdm profile under `context` (pass a context with
// unrestricted_guest = true to compare with what unrestricted-guest hardware checks). Kvm rows
// come first, then sdm rows, each in table order. Empty when the rows agree; both verdicts may
// still be "invalid" then, for the same reasons.
std::vector<Divergence> compare_profiles(const CpuState& state, const VmxContext& context = {});

// The rows of the other profile that test the same rule as `row` (by id), for listings.
std::vector<std::string_view> counterparts(const Check& row);

// "kvm", "sdm", "unrestricted".
std::string_view to_string(Profile profile) noexcept;
// Accepts the names to_string() returns, in any letter case.
std::optional<Profile> parse_profile(std::string_view name) noexcept;

// "always", "real-or-v86", "protected", "v86", "not-v86".
std::string_view to_string(Scope scope) noexcept;

} // namespace transit86::vmx
