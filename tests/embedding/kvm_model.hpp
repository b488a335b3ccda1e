// A model of the KVM vCPU API the example's PC loop uses (examples/kvm-vmm kvm_vm.hpp,
// KvmVcpu), with a transit86 Emulator as the processor, so that the loop — exits, completion
// with immediate_exit, interrupt injection, the kick, memory regions — runs where /dev/kvm is
// absent. It behaves as KVM on a processor with unrestricted guest (Documentation/virt/kvm/
// api.rst, KVM_RUN and struct kvm_run):
//   - it runs any state, valid for VM entry or not, so windows that open and close between two
//     exits go unseen, as on KVM;
//   - every port access exits (KVM_EXIT_IO; no in-kernel devices), and an access outside the
//     memory regions or a write to a read-only one exits KVM_EXIT_MMIO; an IN or MMIO read is
//     completed from kvm_run on the next KVM_RUN, which with immediate_exit only finishes the
//     instruction (reporting the single step of it, or a string instruction's next element);
//   - KVM_INTERRUPT queues a vector delivered at the next entry; request_interrupt_window
//     exits KVM_EXIT_IRQ_WINDOW_OPEN; if_flag and ready_for_interrupt_injection are set at
//     every return;
//   - single-stepping exits KVM_EXIT_DEBUG after each instruction; HLT exits KVM_EXIT_HLT. KVM
//     steps with the guest's TF, which delivering an interrupt clears: a run that injects one
//     while stepping runs the handler unstepped (here: until the next exit or the kick; KVM
//     steps again after the handler's IRET, which the model does not, a longer unstepped run);
//   - time: one instruction is one nanosecond (the TSC runs at 1 GHz), so kick_after(ns) ends a
//     run after that many instructions with -EINTR.
// Not modelled: KVM's own emulator, NMIs, the FPU outside the x87 state; VM-entry failures,
// a host without unrestricted guest and instructions KVM's emulator lacks only on request
// (fail_entries, set_unrestricted_guest, cannot_emulate).
#pragma once

#include <array>
#include <memory>
#include <set>
#include <vector>

#include "kvm_vm.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vcpu.hpp"

namespace kvm_vmm {

class KvmModel final : public KvmVcpu {
  public:
    KvmModel();
    void set_memory(std::span<const transit86::RamSlot> slots) override;
    void set_cpuid(const transit86::CpuModel& model) override;
    transit86::VcpuState state(bool with_fpu) const override;
    void set_state(const transit86::VcpuState& state) override;
    void set_single_step(bool on) override { single_step_ = on; }
    void interrupt(uint8_t vector) override;
    void get_msrs(transit86::Msrs& msrs) const override;
    void set_msrs(const transit86::Msrs& msrs) override;
    uint64_t tsc() const override;
    void set_tsc(uint64_t value) override;
    uint32_t tsc_khz() const override { return 1'000'000; }
    void kick_after(uint64_t delay_ns) override { kick_instructions_ = delay_ns; }
    int run(bool complete_only) override;
    kvm_run& exit() override { return *reinterpret_cast<kvm_run*>(page_.data()); }
    bool read_linear(uint64_t linear, void* out, size_t size) const override;

    std::optional<uint64_t> instructions_retired() const override { return instructions_; }

    // The next `count` runs that would enter the guest fail VM entry instead (KVM_EXIT_FAIL_ENTRY
    // with `reason`), as VT-x does for a state KVM's checks let through and the processor's
    // refuse.
    // Without unrestricted guest (and with an emulator that can do nothing): a run stops
    // before the first instruction whose state VM entry would refuse (profile kvm, KVM's
    // guest_state_valid()) with KVM_EXIT_INTERNAL_ERROR, emulation, as KVM's
    // handle_invalid_guest_state reports an instruction its emulator cannot run.
    void set_unrestricted_guest(bool on) { unrestricted_guest_ = on; }
    void fail_entries(uint64_t count, uint64_t reason) {
        failing_entries_ = count;
        entry_failure_reason_ = reason;
    }
    // Instructions KVM's emulator lacks, by their opcode byte after the legacy prefixes: a run
    // stops before one with KVM_EXIT_INTERNAL_ERROR (emulation), the vCPU at the instruction,
    // as x86_emulate_instruction reports one it cannot decode or run (arch/x86/kvm/x86.c,
    // handle_emulation_failure). Where KVM emulates everything (the kvm_pvm module of these
    // machines) this happens in any state, valid for VM entry or not.
    void cannot_emulate(std::set<uint8_t> opcodes) { cannot_emulate_ = std::move(opcodes); }
    // Runs asked to single-step that injected an interrupt, and so ran its handler unstepped.
    uint64_t unstepped_handlers() const { return unstepped_handlers_; }

  private:
    // Where the data of an I/O exit lives in the kvm_run page (kvm_run.io.data_offset).
    static constexpr uint32_t kIoDataOffset = 3072;
    void take_completion();
    int report(const transit86::Exit& exit);
    int emulator_gives_up();
    int run_to_an_instruction_it_lacks(const transit86::RunLimits& limits);
    void set_interrupt_flags();

    alignas(kvm_run) std::array<uint8_t, 4096> page_{};
    std::vector<transit86::RamSlot> slots_;
    std::unique_ptr<transit86::Emulator> cpu_; // created with the first memory map
    transit86::CpuModel model_{};
    transit86::VcpuState state_;
    bool single_step_ = false;
    uint64_t kick_instructions_ = 0;
    uint64_t instructions_ = 0;
    bool unrestricted_guest_ = true;
    uint64_t failing_entries_ = 0;
    uint64_t entry_failure_reason_ = 0;
    std::set<uint8_t> cannot_emulate_;
    uint64_t unstepped_handlers_ = 0;
    bool in_pending_ = false;   // an IN exited: its data comes from kvm_run at the next run
    bool mmio_pending_ = false; // an MMIO read likewise
};

} // namespace kvm_vmm
