// transit86 — the vCPU state a VMM hands to transit86: registers in Linux KVM's layout
// (kvm_regs, kvm_sregs, byte for byte) and the event state beside them (kvm_vcpu_events).
//
// Run it with Emulator::run(VcpuState&, const RunLimits&) (emulator.hpp). A KVM-based VMM
// fills `regs` and `sregs` straight from KVM_GET_REGS / KVM_GET_SREGS and writes them back
// with KVM_SET_SREGS / KVM_SET_REGS when transit86 says the state is valid again. The C ABI
// (transit86.h) carries the same structs. docs/embedding.md describes the contract.
#pragma once

#include <array>
#include <cstdint>

#include "transit86/cpu_state.hpp"
#include "transit86/kvm_state.hpp"

namespace transit86 {

// kvm_vcpu_events.interrupt.shadow bits (<asm/kvm.h>: KVM_X86_SHADOW_INT_MOV_SS / _STI).
inline constexpr uint8_t kShadowMovSs = 0x01;
inline constexpr uint8_t kShadowSti = 0x02;

// An exception to deliver before the next instruction, as kvm_vcpu_events.exception with
// `injected` set: through the IVT in real mode, the IDT in protected mode, escalating to #DF
// or a triple fault if delivery itself faults (SDM Vol. 3A 6.15).
struct PendingException {
    uint8_t pending = 0; // 1: deliver at the start of the next run(); run() clears it
    uint8_t vector = 0;
    uint8_t has_error_code = 0;
    uint8_t padding = 0;
    uint32_t error_code = 0;
    friend constexpr bool operator==(const PendingException&, const PendingException&) = default;
};

// An external (maskable) interrupt, as KVM_INTERRUPT / kvm_vcpu_events.interrupt. run()
// delivers it before the first instruction when the guest can take it (EFLAGS.IF = 1, no STI
// or MOV SS shadow) and clears `pending`; otherwise it stops with InterruptWindow as soon as
// the guest can, leaving `pending` set, and the next run() delivers it.
struct PendingInterrupt {
    uint8_t pending = 0;
    uint8_t vector = 0;
    std::array<uint8_t, 2> padding{};
    friend constexpr bool operator==(const PendingInterrupt&, const PendingInterrupt&) = default;
};

struct EventState {
    PendingException exception{};
    PendingInterrupt interrupt{};
    // kvm_vcpu_events.interrupt.shadow: kShadowMovSs / kShadowSti. In: the shadow the first
    // instruction runs under. Out: the shadow left by the last instruction.
    uint8_t interrupt_shadow = 0;
    uint8_t nmi_masked = 0; // kvm_vcpu_events.nmi.masked (blocking by NMI)
    std::array<uint8_t, 2> padding{};
    friend constexpr bool operator==(const EventState&, const EventState&) = default;
};

// The whole vCPU state of the embedding API. Standard layout, trivially copyable. `fpu` is
// KVM_GET_FPU's struct: the x87 state the guest's ESC instructions work on, and XMM0..7 and
// MXCSR, which only FXRSTOR changes (xmm[8..15] are carried through untouched).
struct VcpuState {
    KvmRegs regs{};
    KvmSregs sregs{};
    EventState events{};
    KvmDebugregs debugregs{}; // KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS
    KvmFpu fpu{};
    friend constexpr bool operator==(const VcpuState&, const VcpuState&) = default;
};

// A reset state (cpu_state.hpp, docs/reset-states.md) in the KVM layout. APIC_BASE is the
// MSR's power-up value, MXCSR 1F80H (SDM Vol. 3A Table 10-1); R8-R15, CR8 and the interrupt bitmap
// are 0.
VcpuState reset_vcpu_state(ResetPreset preset);

// The CpuState a VcpuState describes (from_kvm plus the interrupt shadow and NMI blocking
// from `events`, APIC_BASE from sregs.apic_base, the debug registers from `debugregs`, the x87
// and SSE state from `fpu`). Pending events are not part of CpuState.
CpuState to_cpu_state(const VcpuState& state);

// Writes a CpuState into a VcpuState: to_kvm, sregs.apic_base, the interrupt shadow and NMI
// blocking, the debug registers, the x87 and SSE state into `fpu`. Pending events and what CpuState
// lacks (R8-R15, CR8, the bitmap, debugregs.flags) are left alone.
void store_cpu_state(const CpuState& cpu, VcpuState& state);

} // namespace transit86
