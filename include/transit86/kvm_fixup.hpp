// transit86 — what KVM writes into the VMCS when it does not emulate invalid guest state.
//
// With the kvm_intel module parameter emulate_invalid_guest_state=0 (and without unrestricted
// guest) KVM never emulates: when the guest changes CR0.PE it patches the segment registers
// into something VT-x accepts and enters the guest with them (arch/x86/kvm/vmx/vmx.c):
//   - clearing PE, enter_rmode() runs real mode as virtual-8086 mode: fix_rmode_seg() gives
//     CS, SS, DS, ES, FS, GS selector := base >> 4, base := base & 0xFFFF0, limit 0xFFFF,
//     access rights 0xF3 (warning once when a base is not paragraph aligned), loads KVM's own
//     TSS into TR and sets RFLAGS.IOPL = 3, RFLAGS.VM = 1;
//   - setting PE, enter_pmode() restores the saved segments through fix_pmode_seg(): CS and SS
//     lose their RPL bits, every DPL := RPL, S := 1.
// In both modes the hardware CR0 gets PE, PG and NE (and loses NW, CD) and CR4 gets VMXE (and
// PAE or PSE, VME for vm86) behind the read shadows.
//
// kvm_fixup() models that path: given the state at the CR0 write that changed PE (for a state
// with PE = 1 that is the moment PE was set, before any segment reload), it returns the VMCS
// image KVM enters with and every field KVM changed on the way, saying which changes the guest
// can notice. It then judges the image with the sdm profile: if that fails, VM entry fails and
// KVM reports KVM_EXIT_FAIL_ENTRY to userspace.
#pragma once

#include "transit86/cpu_state.hpp"
#include "transit86/vmx_checks.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace transit86::vmx {

// KVM's configuration and the addresses userspace gave it.
struct KvmFixupOptions {
    bool ept = true;                         // kvm_intel.ept (identity map when paging is off)
    uint64_t tss_addr = 0xFEFFD000;          // KVM_SET_TSS_ADDR (QEMU's choice)
    uint64_t identity_map_addr = 0xFEFFC000; // KVM_SET_IDENTITY_MAP_ADDR (QEMU's choice)
};

// Which of KVM's paths applies.
enum class FixupPath : uint8_t {
    RealMode,      // CR0.PE = 0: enter_rmode / fix_rmode_seg, the guest runs in vm86
    ProtectedMode, // CR0.PE = 1, RFLAGS.VM = 0: enter_pmode / fix_pmode_seg
    GuestV86,      // CR0.PE = 1, RFLAGS.VM = 1: the guest's own vm86; segments untouched
};

// One field KVM changed.
struct FixupChange {
    std::string_view reg;   // "CS", "SS", "DS", "ES", "FS", "GS", "TR", "RFLAGS", "CR0", "CR3",
                            // "CR4"
    std::string_view field; // "selector", "base", "limit", "access rights", "value"
    uint64_t before;
    uint64_t after;
    // True when guest software can observe the change (memory accesses, PUSHF, MOV from a
    // segment register, CPL); false when KVM hides it (read shadows, its saved copies).
    bool guest_visible;
    std::string why; // e.g. "DS limit 0xffffffff -> 0xffff: unreal mode lost, ..."
};

struct FixupReport {
    FixupPath path;
    CpuState vmcs;                    // the guest-state area KVM enters with
    std::vector<FixupChange> changes; // in KVM's order (segments, then TR, RFLAGS, CR0..CR4)
    std::vector<Seg> unaligned_bases; // KVM's "segment base is not paragraph aligned" warning
    // The sdm rows the VMCS image fails (judged with kvm_vmcs_context()): non-empty means the
    // VM entry fails and KVM exits to userspace with KVM_EXIT_FAIL_ENTRY.
    std::vector<Violation> entry_failures;

    // The changes the guest can notice.
    std::vector<const FixupChange*> guest_visible_changes() const;
};

// The model. Allocates (it builds a report); not for the fast path.
FixupReport kvm_fixup(const CpuState& state, const KvmFixupOptions& options = {});

// The context the VMCS image is judged with: no unrestricted guest, and no VMM-owned CR0/CR4
// bits to add because the image already holds them.
VmxContext kvm_vmcs_context() noexcept;

// "real-mode", "protected-mode", "guest-v86".
std::string_view to_string(FixupPath path) noexcept;

} // namespace transit86::vmx
