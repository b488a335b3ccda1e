// What the VMM says about a vCPU state, for both of its modes: where the guest is, in which
// mode, whether VM entry would take the state (transit86's checks, profile kvm: KVM without
// unrestricted guest), and whether the next instruction is a HLT.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kvm_vm.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vcpu.hpp"
#include "transit86/vmx_checks.hpp"

namespace kvm_vmm {

// The profile both modes hand over by: what KVM's guest_state_valid() accepts.
inline constexpr transit86::vmx::Profile kProfile = transit86::vmx::Profile::Kvm;
// kvm_run.fail_entry.hardware_entry_failure_reason for a VM entry that failed its guest-state
// checks: exit reason 33 with bit 31, "VM-entry failure" (SDM Vol. 3C 27.8, Appendix C).
inline constexpr uint64_t kEntryFailureInvalidGuestState = 0x80000021;

bool real_mode(const transit86::VcpuState& state);
// "0000:7c25" (16-bit code) or "0008:00007c42" (32-bit code).
std::string position(const transit86::VcpuState& state);
// "real mode", "virtual-8086 mode", "16-bit protected mode" or "32-bit protected mode".
std::string mode_name(const transit86::VcpuState& state);
bool valid_for_entry(const transit86::VcpuState& state);
// The first check VM entry fails, with its message ("valid" if none).
std::string first_failure(const transit86::VcpuState& state);
// The opcode byte after the legacy prefixes at CS:EIP, read through `vcpu` (its paging, if
// on); nullopt where a byte is not mapped.
std::optional<uint8_t> opcode_at(const transit86::VcpuState& state, const KvmVcpu& vcpu);
inline constexpr uint8_t kHltOpcode = 0xF4;
// A HLT at CS:EIP. KVM reports HLT only when it is not single-stepping, so a VMM that steps
// must not step over one.
bool hlt_at(const transit86::VcpuState& state, const KvmVcpu& vcpu);
// An opcode that stores an image of FLAGS: PUSHF, or a software interrupt (INT n, INT3, INTO,
// INT1), which pushes FLAGS in real and virtual-8086 mode and on every gate. Single-stepped by
// KVM it would store TF = 1, KVM's stepping flag, in guest memory.
bool stores_flags(std::optional<uint8_t> opcode);

// One line per register group, for logs and failure messages.
std::string describe_state(const transit86::VcpuState& state);

} // namespace kvm_vmm
