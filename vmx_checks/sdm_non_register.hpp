// SDM profile, the rest of 26.3.1: 26.3.1.3 (GDTR, IDTR), 26.3.1.4 (RIP, RFLAGS) and 26.3.1.5
// (activity state, interruptibility state). RIP has no rows: CpuState keeps a 32-bit EIP, so
// "bits 63:32 must be 0" cannot fail. The pending-debug-exceptions field and the VMCS link
// pointer are not part of CpuState.
//
// Only included by sdm.cpp.
#pragma once

#include "sdm_common.hpp"

#include <array>

namespace transit86::vmx::detail::sdm::state {

// --- 26.3.1.3: "the base-address fields must contain canonical addresses"; "Bits 31:16 of
// each limit field must be 0."
inline bool gdtr_base(const CpuState& s, const VmxContext& ctx) noexcept {
    return canonical(s.gdtr.base, ctx.linear_address_width);
}
inline std::string gdtr_base_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("GDTR base {:#x} is not canonical for {}-bit linear addresses", s.gdtr.base,
                       ctx.linear_address_width);
}
inline bool idtr_base(const CpuState& s, const VmxContext& ctx) noexcept {
    return canonical(s.idtr.base, ctx.linear_address_width);
}
inline std::string idtr_base_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("IDTR base {:#x} is not canonical for {}-bit linear addresses", s.idtr.base,
                       ctx.linear_address_width);
}
inline bool gdtr_limit(const CpuState& s, const VmxContext&) noexcept {
    return (s.gdtr.limit >> 16) == 0;
}
inline std::string gdtr_limit_text(const CpuState& s, const VmxContext&) {
    return fmt::format("GDTR limit {:#x}: bits 31:16 must be 0", s.gdtr.limit);
}
inline bool idtr_limit(const CpuState& s, const VmxContext&) noexcept {
    return (s.idtr.limit >> 16) == 0;
}
inline std::string idtr_limit_text(const CpuState& s, const VmxContext&) {
    return fmt::format("IDTR limit {:#x}: bits 31:16 must be 0", s.idtr.limit);
}

// --- 26.3.1.4: "Reserved bits 63:22 [...], bit 15, bit 5 and bit 3 must be 0 in the field,
// and reserved bit 1 must be 1."
inline constexpr uint32_t kRflagsReserved = 0xFFC08028;
inline bool rflags_reserved(const CpuState& s, const VmxContext&) noexcept {
    return (s.eflags & kRflagsReserved) == 0;
}
inline std::string rflags_reserved_text(const CpuState& s, const VmxContext&) {
    return fmt::format("RFLAGS {:#x} sets reserved bits {:#x} (bits 63:22, 15, 5 and 3 must be 0)",
                       s.eflags, s.eflags & kRflagsReserved);
}
inline bool rflags_bit1(const CpuState& s, const VmxContext&) noexcept {
    return (s.eflags & flags::Fixed1) != 0;
}
inline std::string rflags_bit1_text(const CpuState& s, const VmxContext&) {
    return fmt::format("RFLAGS {:#x}: reserved bit 1 must be 1", s.eflags);
}

// "The VM flag (bit 17) must be 0 either if the 'IA-32e mode guest' VM-entry control is 1 or
// if bit 0 in the CR0 field (corresponding to CR0.PE) is 0."
inline bool rflags_vm(const CpuState& s, const VmxContext& ctx) noexcept {
    const bool forbidden = ctx.ia32e_mode_guest || (cr0_field(s, ctx) & cr0::PE) == 0;
    return !forbidden || (s.eflags & flags::VM) == 0;
}
inline std::string rflags_vm_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("RFLAGS {:#x}: VM = 1 {}", s.eflags,
                       ctx.ia32e_mode_guest
                           ? "in an IA-32e mode guest"
                           : "with CR0.PE = 0 (virtual-8086 needs protected mode)");
}

// "The IF flag (RFLAGS[bit 9]) must be 1 if the valid bit (bit 31) in the VM-entry
// interruption-information field is 1 and the interruption type (bits 10:8) is external
// interrupt."
inline bool rflags_if(const CpuState& s, const VmxContext& ctx) noexcept {
    return !injecting(ctx, injection::Type::ExternalInterrupt) || (s.eflags & flags::IF) != 0;
}
inline std::string rflags_if_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("RFLAGS {:#x}: IF = 0 while injecting external interrupt vector {:#x}",
                       s.eflags, injection::vector(ctx.entry_interruption_info));
}

// --- 26.3.1.5, activity state
inline uint32_t activity_value(const CpuState& s) noexcept {
    return static_cast<uint32_t>(s.activity);
}
// "The activity-state field must contain a value in the range 0 - 3, indicating an activity
// state supported by the implementation" (IA32_VMX_MISC bits 8:6).
inline bool activity_supported(const CpuState& s, const VmxContext& ctx) noexcept {
    const uint32_t v = activity_value(s);
    return v == 0 || (v <= 3 && (ctx.supported_activity_states >> (v - 1) & 1) != 0);
}
inline std::string activity_supported_text(const CpuState& s, const VmxContext& ctx) {
    const uint32_t v = activity_value(s);
    if (v > 3) return fmt::format("activity state {} is not 0-3", v);
    return fmt::format("activity state {} ({}) is not supported (IA32_VMX_MISC[8:6] = {:#x})", v,
                       activity_name(s.activity), ctx.supported_activity_states);
}

// "The activity-state field must not indicate the HLT state if the DPL (bits 6:5) in the
// access-rights field for SS is not 0."
inline bool activity_hlt(const CpuState& s, const VmxContext&) noexcept {
    return s.activity != ActivityState::Hlt || ar::dpl(s[Seg::SS].access_rights) == 0;
}
inline std::string activity_hlt_text(const CpuState& s, const VmxContext&) {
    return fmt::format("activity state HLT with SS.DPL {} (HLT needs CPL 0)",
                       ar::dpl(s[Seg::SS].access_rights));
}

inline constexpr uint32_t kStiOrMovSs =
    interruptibility::BlockingBySti | interruptibility::BlockingByMovSs;

// "The activity-state field must indicate the active state if the interruptibility-state field
// indicates blocking by either MOV-SS or by STI."
inline bool activity_active(const CpuState& s, const VmxContext&) noexcept {
    return (s.interruptibility & kStiOrMovSs) == 0 || s.activity == ActivityState::Active;
}
inline std::string activity_active_text(const CpuState& s, const VmxContext&) {
    return fmt::format("activity state {} with blocking by {} (interruptibility {:#x}); the "
                       "processor must be active",
                       activity_name(s.activity),
                       (s.interruptibility & interruptibility::BlockingBySti) != 0 ? "STI"
                                                                                   : "MOV SS",
                       s.interruptibility);
}

// "If the valid bit [...] is 1, the interruption to be delivered [...] must not be one that
// would normally be blocked while a logical processor is in the activity state": HLT allows
// external interrupts, NMIs, #DB, #MC and a pending MTF VM exit; shutdown allows NMIs and #MC;
// wait-for-SIPI allows nothing.
inline bool event_allowed(ActivityState state, uint32_t info) noexcept {
    using injection::Type;
    const Type type = injection::type(info);
    const uint32_t vector = injection::vector(info);
    switch (state) {
    case ActivityState::Active: return true;
    case ActivityState::Hlt:
        return type == Type::ExternalInterrupt || type == Type::Nmi ||
               (type == Type::HardwareException && (vector == 1 || vector == 18)) ||
               (type == Type::OtherEvent && vector == 0);
    case ActivityState::Shutdown:
        return type == Type::Nmi || (type == Type::HardwareException && vector == 18);
    case ActivityState::WaitForSipi: return false;
    }
    return true; // out-of-range states are sdm.activity.supported's business
}
inline bool activity_event(const CpuState& s, const VmxContext& ctx) noexcept {
    return !injection::valid(ctx.entry_interruption_info) ||
           event_allowed(s.activity, ctx.entry_interruption_info);
}
inline std::string activity_event_text(const CpuState& s, const VmxContext& ctx) {
    const uint32_t info = ctx.entry_interruption_info;
    return fmt::format("injecting {} vector {:#x} into activity state {}, which blocks it",
                       event_type_name(injection::type(info)), injection::vector(info),
                       activity_name(s.activity));
}

// --- 26.3.1.5, interruptibility state (Table 24-3)
inline constexpr uint32_t kEnclaveInterruption = 1u << 4;
inline constexpr uint32_t kInterruptibilityReserved = 0xFFFFFFE0; // bits 31:5

inline bool intr_reserved(const CpuState& s, const VmxContext&) noexcept {
    return (s.interruptibility & kInterruptibilityReserved) == 0;
}
inline std::string intr_reserved_text(const CpuState& s, const VmxContext&) {
    return fmt::format("interruptibility state {:#x} sets reserved bits {:#x} (bits 31:5)",
                       s.interruptibility, s.interruptibility & kInterruptibilityReserved);
}

inline bool intr_sti_and_mov_ss(const CpuState& s, const VmxContext&) noexcept {
    return (s.interruptibility & kStiOrMovSs) != kStiOrMovSs;
}
inline std::string intr_sti_and_mov_ss_text(const CpuState& s, const VmxContext&) {
    return fmt::format("interruptibility state {:#x}: blocking by STI and by MOV SS both set",
                       s.interruptibility);
}

inline bool intr_sti_needs_if(const CpuState& s, const VmxContext&) noexcept {
    return (s.interruptibility & interruptibility::BlockingBySti) == 0 ||
           (s.eflags & flags::IF) != 0;
}
inline std::string intr_sti_needs_if_text(const CpuState& s, const VmxContext&) {
    return fmt::format("blocking by STI with RFLAGS.IF = 0 (RFLAGS {:#x}): STI only blocks "
                       "when it sets IF",
                       s.eflags);
}

inline bool intr_external(const CpuState& s, const VmxContext& ctx) noexcept {
    return !injecting(ctx, injection::Type::ExternalInterrupt) ||
           (s.interruptibility & kStiOrMovSs) == 0;
}
inline std::string intr_external_text(const CpuState& s, const VmxContext&) {
    return fmt::format("interruptibility state {:#x}: blocking by STI or MOV SS while injecting "
                       "an external interrupt",
                       s.interruptibility);
}

inline bool intr_nmi_mov_ss(const CpuState& s, const VmxContext& ctx) noexcept {
    return !injecting(ctx, injection::Type::Nmi) ||
           (s.interruptibility & interruptibility::BlockingByMovSs) == 0;
}
inline std::string intr_nmi_mov_ss_text(const CpuState& s, const VmxContext&) {
    return fmt::format("interruptibility state {:#x}: blocking by MOV SS while injecting an NMI",
                       s.interruptibility);
}

// "A processor may require bit 0 (blocking by STI) to be 0 if [...] NMI. Other processors may
// not make this requirement." (VmxContext::nmi_injection_requires_no_sti_blocking)
inline bool intr_nmi_sti(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.nmi_injection_requires_no_sti_blocking || !injecting(ctx, injection::Type::Nmi) ||
           (s.interruptibility & interruptibility::BlockingBySti) == 0;
}
inline std::string intr_nmi_sti_text(const CpuState& s, const VmxContext&) {
    return fmt::format("interruptibility state {:#x}: blocking by STI while injecting an NMI",
                       s.interruptibility);
}

// "Bit 2 (blocking by SMI) must be 0 if the processor is not in SMM." transit86 models no SMM.
inline bool intr_smi(const CpuState& s, const VmxContext&) noexcept {
    return (s.interruptibility & interruptibility::BlockingBySmi) == 0;
}
inline std::string intr_smi_text(const CpuState& s, const VmxContext&) {
    return fmt::format("interruptibility state {:#x}: blocking by SMI outside SMM",
                       s.interruptibility);
}

// "Bit 3 (blocking by NMI) must be 0 if the 'virtual NMIs' VM-execution control is 1, the
// valid bit [...] is 1, and the interruption type [...] is NMI."
inline bool intr_nmi_blocking(const CpuState& s, const VmxContext& ctx) noexcept {
    return !ctx.virtual_nmis || !injecting(ctx, injection::Type::Nmi) ||
           (s.interruptibility & interruptibility::BlockingByNmi) == 0;
}
inline std::string intr_nmi_blocking_text(const CpuState& s, const VmxContext&) {
    return fmt::format("interruptibility state {:#x}: blocking by NMI while injecting an NMI "
                       "with virtual NMIs",
                       s.interruptibility);
}

// "If bit 4 (enclave interruption) is 1, bit 1 (blocking by MOV-SS) must be 0 and the processor
// must support for SGX".
inline bool intr_enclave(const CpuState& s, const VmxContext& ctx) noexcept {
    return (s.interruptibility & kEnclaveInterruption) == 0 ||
           (ctx.sgx && (s.interruptibility & interruptibility::BlockingByMovSs) == 0);
}
inline std::string intr_enclave_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format("interruptibility state {:#x}: enclave interruption {}", s.interruptibility,
                       ctx.sgx ? "with blocking by MOV SS" : "on a processor without SGX");
}

// What KVM does instead (compare_profiles()).
inline constexpr std::string_view kDescriptorTableNote =
    "KVM does not check GDTR or IDTR (LGDT and LIDT cannot load a limit above 0xFFFF)";
inline constexpr std::string_view kRflagsNote =
    "KVM does not check RFLAGS (a TODO in __vmx_guest_state_valid)";
inline constexpr std::string_view kEventStateNote =
    "KVM does not check the activity and interruptibility state: it keeps them consistent "
    "itself, and userspace sets them unchecked with KVM_SET_VCPU_EVENTS";

// clang-format off
inline constexpr std::array<Check, 21> kRows = {{
    {"sdm.gdtr.base.canonical", "26.3.1.3", kOrigin3, "GDTR base is canonical", Scope::Always,
     gdtr_base, gdtr_base_text, kDescriptorTableNote},
    {"sdm.idtr.base.canonical", "26.3.1.3", kOrigin3, "IDTR base is canonical", Scope::Always,
     idtr_base, idtr_base_text, kDescriptorTableNote},
    {"sdm.gdtr.limit", "26.3.1.3", kOrigin3, "GDTR limit bits 31:16 are 0", Scope::Always,
     gdtr_limit, gdtr_limit_text, kDescriptorTableNote},
    {"sdm.idtr.limit", "26.3.1.3", kOrigin3, "IDTR limit bits 31:16 are 0", Scope::Always,
     idtr_limit, idtr_limit_text, kDescriptorTableNote},

    {"sdm.rflags.reserved", "26.3.1.4", kOrigin4, "RFLAGS bits 63:22, 15, 5 and 3 are 0",
     Scope::Always, rflags_reserved, rflags_reserved_text, kRflagsNote},
    {"sdm.rflags.bit1", "26.3.1.4", kOrigin4, "RFLAGS bit 1 is 1", Scope::Always,
     rflags_bit1, rflags_bit1_text, kRflagsNote},
    {"sdm.rflags.vm", "26.3.1.4", kOrigin4,
     "RFLAGS.VM is 0 in an IA-32e mode guest or when CR0.PE = 0", Scope::Always,
     rflags_vm, rflags_vm_text, kRflagsNote},
    {"sdm.rflags.if-for-external-interrupt", "26.3.1.4", kOrigin4,
     "RFLAGS.IF is 1 when an external interrupt is injected", Scope::Always,
     rflags_if, rflags_if_text, kRflagsNote},

    {"sdm.activity.supported", "26.3.1.5", kOrigin5,
     "activity state is 0-3 and supported (IA32_VMX_MISC bits 8:6)", Scope::Always,
     activity_supported, activity_supported_text, kEventStateNote},
    {"sdm.activity.hlt-needs-ss.dpl0", "26.3.1.5", kOrigin5,
     "activity state HLT only with SS.DPL = 0", Scope::Always,
     activity_hlt, activity_hlt_text, kEventStateNote},
    {"sdm.activity.active-when-blocking", "26.3.1.5", kOrigin5,
     "activity state is active when blocking by STI or MOV SS is set", Scope::Always,
     activity_active, activity_active_text, kEventStateNote},
    {"sdm.activity.event-allowed", "26.3.1.5", kOrigin5,
     "an injected event is one the activity state lets through (HLT: external interrupt, NMI, "
     "#DB, #MC, MTF; shutdown: NMI, #MC; wait-for-SIPI: none)", Scope::Always,
     activity_event, activity_event_text, kEventStateNote},

    {"sdm.interruptibility.reserved", "26.3.1.5", kOrigin5,
     "interruptibility-state bits 31:5 are 0", Scope::Always,
     intr_reserved, intr_reserved_text, kEventStateNote},
    {"sdm.interruptibility.sti-and-mov-ss", "26.3.1.5", kOrigin5,
     "blocking by STI and blocking by MOV SS are not both set", Scope::Always,
     intr_sti_and_mov_ss, intr_sti_and_mov_ss_text, kEventStateNote},
    {"sdm.interruptibility.sti-needs-if", "26.3.1.5", kOrigin5,
     "blocking by STI only with RFLAGS.IF = 1", Scope::Always,
     intr_sti_needs_if, intr_sti_needs_if_text, kEventStateNote},
    {"sdm.interruptibility.external-interrupt", "26.3.1.5", kOrigin5,
     "no blocking by STI or MOV SS when an external interrupt is injected", Scope::Always,
     intr_external, intr_external_text, kEventStateNote},
    {"sdm.interruptibility.nmi-mov-ss", "26.3.1.5", kOrigin5,
     "no blocking by MOV SS when an NMI is injected", Scope::Always,
     intr_nmi_mov_ss, intr_nmi_mov_ss_text, kEventStateNote},
    {"sdm.interruptibility.nmi-sti", "26.3.1.5", kOrigin5,
     "no blocking by STI when an NMI is injected (on processors that require it)", Scope::Always,
     intr_nmi_sti, intr_nmi_sti_text, kEventStateNote},
    {"sdm.interruptibility.smi", "26.3.1.5", kOrigin5,
     "no blocking by SMI outside SMM", Scope::Always,
     intr_smi, intr_smi_text, kEventStateNote},
    {"sdm.interruptibility.nmi-blocking", "26.3.1.5", kOrigin5,
     "no blocking by NMI when an NMI is injected with virtual NMIs", Scope::Always,
     intr_nmi_blocking, intr_nmi_blocking_text, kEventStateNote},
    {"sdm.interruptibility.enclave", "26.3.1.5", kOrigin5,
     "enclave interruption (bit 4) only with SGX and without blocking by MOV SS", Scope::Always,
     intr_enclave, intr_enclave_text, kEventStateNote},
}};
// clang-format on

} // namespace transit86::vmx::detail::sdm::state
