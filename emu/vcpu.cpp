// The embedding API's state in KVM's layout (include/transit86/vcpu.hpp): conversion to and
// from CpuState, and Emulator::run(VcpuState&) — the one run loop, with pending events
// delivered first, the way KVM injects queued events on the next VM entry.
#include "transit86/vcpu.hpp"

#include "transit86/emulator.hpp"

namespace transit86 {

namespace {

constexpr uint32_t kShadowBits =
    interruptibility::BlockingBySti | interruptibility::BlockingByMovSs;

// The guest can take a maskable interrupt now (SDM Vol. 3A 6.8.1, 6.8.3).
bool interrupt_window_open(const CpuState& s) {
    return (s.eflags & flags::IF) != 0 && (s.interruptibility & kShadowBits) == 0;
}

// Loads the KVM-layout state into the emulator's CpuState, keeping the fields KVM's structs do
// not carry (TSC, MSRs other than APIC_BASE, activity).
void load(const VcpuState& state, CpuState& cpu) {
    CpuState in = to_cpu_state(state);
    in.tsc = cpu.tsc;
    in.activity = cpu.activity;
    const uint64_t apic_base = in.msrs.apic_base;
    in.msrs = cpu.msrs;
    in.msrs.apic_base = apic_base;
    cpu = in;
}

} // namespace

VcpuState reset_vcpu_state(ResetPreset preset) {
    VcpuState state{};
    store_cpu_state(reset_state(preset), state);
    return state;
}

CpuState to_cpu_state(const VcpuState& state) {
    CpuState cpu = from_kvm(state.regs, state.sregs);
    cpu.msrs.apic_base = state.sregs.apic_base;
    from_kvm_debugregs(state.debugregs, cpu);
    cpu.x87 = from_kvm_fpu(state.fpu);
    cpu.sse = sse_from_kvm_fpu(state.fpu);
    const EventState& ev = state.events;
    if ((ev.interrupt_shadow & kShadowSti) != 0)
        cpu.interruptibility |= interruptibility::BlockingBySti;
    if ((ev.interrupt_shadow & kShadowMovSs) != 0)
        cpu.interruptibility |= interruptibility::BlockingByMovSs;
    if (ev.nmi_masked != 0) cpu.interruptibility |= interruptibility::BlockingByNmi;
    return cpu;
}

void store_cpu_state(const CpuState& cpu, VcpuState& state) {
    to_kvm(cpu, state.regs, state.sregs);
    state.sregs.apic_base = cpu.msrs.apic_base;
    to_kvm_debugregs(cpu, state.debugregs);
    to_kvm_fpu(cpu.x87, state.fpu);
    to_kvm_fpu(cpu.sse, state.fpu);
    EventState& ev = state.events;
    ev.interrupt_shadow = 0;
    if ((cpu.interruptibility & interruptibility::BlockingBySti) != 0)
        ev.interrupt_shadow |= kShadowSti;
    if ((cpu.interruptibility & interruptibility::BlockingByMovSs) != 0)
        ev.interrupt_shadow |= kShadowMovSs;
    ev.nmi_masked = (cpu.interruptibility & interruptibility::BlockingByNmi) != 0 ? 1 : 0;
}

Exit Emulator::run(VcpuState& state, const RunLimits& limits) noexcept {
    load(state, this->state());
    // kvm_sregs has no PDPTEs: KVM_SET_SREGS loads them from CR3 for a PAE guest, and so does
    // this (KVM refuses the state when they are invalid).
    const CpuState& s = this->state();
    if ((s.cr0 & cr0::PG) && (s.cr4 & cr4::PAE) && !load_pdptes()) {
        Exit invalid{};
        invalid.reason = ExitReason::Unsupported;
        invalid.detail = "PAE paging with PDPTEs at CR3 that are outside RAM or set reserved bits";
        return invalid;
    }
    EventState& ev = state.events;
    // Events wait while an I/O or MMIO instruction is being completed: it retires first.
    if (!completion_pending()) {
        if (ev.exception.pending != 0) {
            const InjectedEvent exception{.kind = InjectedEvent::Kind::Exception,
                                          .vector = ev.exception.vector,
                                          .has_error_code = ev.exception.has_error_code != 0,
                                          .error_code = ev.exception.error_code};
            ev.exception.pending = 0;
            if (const std::optional<Exit> stop = deliver_event(exception)) {
                store_cpu_state(this->state(), state);
                return *stop;
            }
        }
        if (ev.interrupt.pending != 0 && interrupt_window_open(this->state())) {
            const InjectedEvent interrupt{.kind = InjectedEvent::Kind::ExternalInterrupt,
                                          .vector = ev.interrupt.vector};
            ev.interrupt.pending = 0;
            if (const std::optional<Exit> stop = deliver_event(interrupt)) {
                store_cpu_state(this->state(), state);
                return *stop;
            }
        }
    }
    RunLimits effective = limits;
    // An interrupt the guest could not take yet: stop when it can (vcpu.hpp).
    if (ev.interrupt.pending != 0) effective.interrupt_pending = true;
    const Exit exit = run(effective);
    store_cpu_state(this->state(), state);
    return exit;
}

} // namespace transit86
