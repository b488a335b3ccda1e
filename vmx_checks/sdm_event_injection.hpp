// SDM profile, the event-injection checks of 26.2.1.3 ("Checks on VM-Entry Control Fields"):
// the VM-entry interruption-information field, exception error code and instruction length
// must be set properly when the valid bit is 1. They are control checks, not guest-state
// checks: a failure is VMfailValid (VM-instruction error 7) rather than a VM exit with
// "invalid guest state", but the verdict for the caller is the same: no VM entry. Every row
// passes when nothing is injected.
//
// Only included by sdm.cpp.
#pragma once

#include "sdm_common.hpp"

#include <array>

namespace transit86::vmx::detail::sdm::entry {

inline constexpr std::string_view kSection = "26.2.1.3";

inline uint32_t info(const VmxContext& ctx) noexcept {
    return ctx.entry_interruption_info;
}
inline bool injecting_any(const VmxContext& ctx) noexcept {
    return injection::valid(info(ctx));
}

// "The field's interruption type (bits 10:8) is not set to a reserved value. Value 1 is
// reserved on all logical processors; value 7 (other event) is reserved on logical processors
// that do not support the 1-setting of the 'monitor trap flag' VM-execution control."
inline bool type_valid(const CpuState&, const VmxContext& ctx) noexcept {
    const injection::Type type = injection::type(info(ctx));
    return !injecting_any(ctx) || (type != injection::Type::Reserved &&
                                   (type != injection::Type::OtherEvent || ctx.monitor_trap_flag));
}
inline std::string type_valid_text(const CpuState&, const VmxContext& ctx) {
    return fmt::format("interruption information {:#x}: type {} ({}) is reserved", info(ctx),
                       static_cast<uint32_t>(injection::type(info(ctx))),
                       event_type_name(injection::type(info(ctx))));
}

// "If the interruption type is non-maskable interrupt (NMI), the vector is 2. If the
// interruption type is hardware exception, the vector is at most 31. If the interruption type
// is other event, the vector is 0 (pending MTF VM exit)."
inline bool vector_valid(const CpuState&, const VmxContext& ctx) noexcept {
    if (!injecting_any(ctx)) return true;
    const uint32_t vector = injection::vector(info(ctx));
    switch (injection::type(info(ctx))) {
    case injection::Type::Nmi: return vector == 2;
    case injection::Type::HardwareException: return vector <= 31;
    case injection::Type::OtherEvent: return vector == 0;
    default: return true;
    }
}
inline std::string vector_valid_text(const CpuState&, const VmxContext& ctx) {
    return fmt::format("interruption information {:#x}: vector {:#x} does not fit type {}",
                       info(ctx), injection::vector(info(ctx)),
                       event_type_name(injection::type(info(ctx))));
}

// "The field's deliver-error-code bit (bit 11) is 1 if and only if (1) either (a) the
// 'unrestricted guest' VM-execution control is 0; or (b) bit 0 (corresponding to CR0.PE) is
// set in the CR0 field in the guest-state area; (2) the interruption type is hardware
// exception; and (3) the vector indicates an exception that would normally deliver an error
// code (8 = #DF; 10 = TS; 11 = #NP; 12 = #SS; 13 = #GP; 14 = #PF; or 17 = #AC)."
inline bool error_code_expected(const CpuState& s, const VmxContext& ctx) noexcept {
    const uint32_t vector = injection::vector(info(ctx));
    const bool pushes = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
    const bool protected_mode = !ctx.unrestricted_guest || (cr0_field(s, ctx) & cr0::PE) != 0;
    return protected_mode && injection::type(info(ctx)) == injection::Type::HardwareException &&
           pushes;
}
inline bool error_code_bit(const CpuState& s, const VmxContext& ctx) noexcept {
    return !injecting_any(ctx) ||
           injection::deliver_error_code(info(ctx)) == error_code_expected(s, ctx);
}
inline std::string error_code_bit_text(const CpuState& s, const VmxContext& ctx) {
    return fmt::format(
        "interruption information {:#x}: deliver-error-code = {} but {} {} vector "
        "{:#x}{} {} an error code",
        info(ctx), injection::deliver_error_code(info(ctx)) ? 1 : 0,
        event_type_name(injection::type(info(ctx))),
        injection::type(info(ctx)) == injection::Type::HardwareException ? "with" : "of",
        injection::vector(info(ctx)), (cr0_field(s, ctx) & cr0::PE) == 0 ? " in real mode" : "",
        error_code_expected(s, ctx) ? "delivers" : "does not deliver");
}

// "Reserved bits in the field (30:12) are 0."
inline bool reserved_clear(const CpuState&, const VmxContext& ctx) noexcept {
    return !injecting_any(ctx) || (info(ctx) & injection::kReservedMask) == 0;
}
inline std::string reserved_clear_text(const CpuState&, const VmxContext& ctx) {
    return fmt::format("interruption information {:#x} sets reserved bits {:#x} (bits 30:12)",
                       info(ctx), info(ctx) & injection::kReservedMask);
}

// "If the deliver-error-code bit (bit 11) is 1, bits 31:16 of the VM-entry exception
// error-code field are 0." (Editions before CET say 31:15; KVM checks 31:16.)
inline bool error_code_width(const CpuState&, const VmxContext& ctx) noexcept {
    return !injecting_any(ctx) || !injection::deliver_error_code(info(ctx)) ||
           (ctx.entry_exception_error_code >> 16) == 0;
}
inline std::string error_code_width_text(const CpuState&, const VmxContext& ctx) {
    return fmt::format("VM-entry exception error code {:#x}: bits 31:16 must be 0",
                       ctx.entry_exception_error_code);
}

// "If the interruption type is software interrupt, software exception, or privileged software
// exception, the VM-entry instruction-length field is in the range 0 - 15. A VM-entry
// instruction length of 0 is allowed only if IA32_VMX_MISC[30] is read as 1"; 15 is the
// longest x86 instruction.
inline bool instruction_length(const CpuState&, const VmxContext& ctx) noexcept {
    using injection::Type;
    const Type type = injection::type(info(ctx));
    const bool software = type == Type::SoftwareInterrupt || type == Type::SoftwareException ||
                          type == Type::PrivilegedSoftwareException;
    const uint32_t length = ctx.entry_instruction_length;
    return !injecting_any(ctx) || !software ||
           (length <= 15 && (length != 0 || ctx.zero_length_injection));
}
inline std::string instruction_length_text(const CpuState&, const VmxContext& ctx) {
    return fmt::format("VM-entry instruction length {} for a {}: must be 1-15{}",
                       ctx.entry_instruction_length, event_type_name(injection::type(info(ctx))),
                       ctx.zero_length_injection ? " or 0" : "");
}

inline constexpr std::string_view kInjectionNote =
    "KVM builds the interruption-information field itself when it injects an event and never "
    "checks it against these rules";

// clang-format off
inline constexpr std::array<Check, 6> kRows = {{
    {"sdm.entry-intr.type", kSection, kOriginEntry,
     "injected event: interruption type is not reserved (1; 7 without monitor trap flag)",
     Scope::Always, type_valid, type_valid_text, kInjectionNote},
    {"sdm.entry-intr.vector", kSection, kOriginEntry,
     "injected event: vector fits the type (NMI 2, hardware exception 0-31, other event 0)",
     Scope::Always, vector_valid, vector_valid_text, kInjectionNote},
    {"sdm.entry-intr.error-code-bit", kSection, kOriginEntry,
     "injected event: deliver-error-code is 1 exactly for #DF, #TS, #NP, #SS, #GP, #PF, #AC "
     "hardware exceptions outside unrestricted real mode", Scope::Always,
     error_code_bit, error_code_bit_text, kInjectionNote},
    {"sdm.entry-intr.reserved", kSection, kOriginEntry,
     "injected event: interruption-information bits 30:12 are 0", Scope::Always,
     reserved_clear, reserved_clear_text, kInjectionNote},
    {"sdm.entry-intr.error-code", kSection, kOriginEntry,
     "injected event with an error code: error-code bits 31:16 are 0", Scope::Always,
     error_code_width, error_code_width_text, kInjectionNote},
    {"sdm.entry-intr.instruction-length", kSection, kOriginEntry,
     "injected software interrupt or exception: instruction length is 1-15 (0 if "
     "IA32_VMX_MISC[30])", Scope::Always,
     instruction_length, instruction_length_text, kInjectionNote},
}};
// clang-format on

} // namespace transit86::vmx::detail::sdm::entry
