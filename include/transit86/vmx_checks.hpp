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
// The table order is KVM's order, so the first failing row is where KVM's guest_state_valid()
// stops (KVM itself never says which check failed). See docs/checks.md for the table.
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
    // "usable"; no RIP, RFLAGS, reserved-bit, limit-versus-G or CR0 checks).
    Kvm,
    // Every check of SDM Vol. 3C 26.3.1.2 plus the guest CR0/RFLAGS/GDTR/IDTR checks that apply.
    // Not implemented yet: its table holds a single "sdm.not-implemented" row that fails for
    // every state, so nothing is ever claimed valid under a profile that does not check.
    Sdm,
    // KVM with the unrestricted-guest control: vmx_guest_state_valid() returns true without
    // looking at the state, so this profile has no rows and every state is valid.
    Unrestricted,
};

// When a row applies; outside its scope a row passes without being tested.
enum class Scope : uint8_t {
    Always,
    // CR0.PE = 0 or RFLAGS.VM = 1: KVM's real-mode branch (KVM runs real mode in vm86).
    RealOrV86,
    // CR0.PE = 1 and RFLAGS.VM = 0: KVM's protected-mode branch.
    Protected,
};

// One VM-entry check.
struct Check {
    std::string_view id;      // stable and specific, e.g. "cs.type", "ss.rpl-eq-cs.rpl"
    std::string_view section; // SDM Vol. 3C section the rule comes from, e.g. "26.3.1.2"
    std::string_view origin;  // the code mirrored, e.g. "KVM code_segment_valid"
    std::string_view rule;    // the rule in words
    Scope scope;
    // True when the state satisfies the rule. Consulted only when the scope applies.
    bool (*passes)(const CpuState&) noexcept;
    // The failure in words with the offending values. Called only when passes() is false.
    std::string (*describe)(const CpuState&);
};

// One failing check and its message.
struct Violation {
    const Check* check;
    std::string message;
};

// Fast path: true when no row of the profile fails. No allocation, no formatting.
bool is_valid(const CpuState& state, Profile profile) noexcept;

// The first failing row in table order (where KVM stops), or nullptr when the state is valid.
// No allocation, no formatting.
const Check* first_failure(const CpuState& state, Profile profile) noexcept;

// Report path: every failing row in table order, each with its message. Empty when valid.
std::vector<Violation> evaluate(const CpuState& state, Profile profile);

// The rows of a profile in evaluation order (for listings and documentation).
std::span<const Check> checks(Profile profile) noexcept;

// The row with this id in the profile's table, or nullptr.
const Check* find_check(Profile profile, std::string_view id) noexcept;

// True when the row's scope covers this state.
bool in_scope(Scope scope, const CpuState& state) noexcept;

// "kvm", "sdm", "unrestricted".
std::string_view to_string(Profile profile) noexcept;
// Accepts the names to_string() returns, in any letter case.
std::optional<Profile> parse_profile(std::string_view name) noexcept;

// "always", "real-or-v86", "protected".
std::string_view to_string(Scope scope) noexcept;

} // namespace transit86::vmx
