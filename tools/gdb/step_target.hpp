// The GdbTarget of `transit86 step --gdb`: the public Emulator with the step command's port
// devices (pc/pc_ports.hpp) on one RAM slot. It ends where `transit86 step` ends a run
// (HLT, an exit to the host, a triple fault, --budget), with the same words.
#pragma once

#include <memory>

#include "pc/pc_ports.hpp"
#include "tools/gdb/gdb_target.hpp"

namespace transit86::gdb {

struct StepTargetOptions {
    vmx::Profile profile = vmx::Profile::Kvm;
    uint64_t budget = 0;     // instructions from the start; 0: none
    bool hlt_resume = false; // HLT with IF = 1 goes on, as if an interrupt woke the CPU
    bool a20 = true;
};

class StepTarget final : public GdbTarget {
  public:
    // `slot` and `ports` must outlive the target; `start` is the state at the first
    // instruction.
    StepTarget(RamSlot slot, pc::PcPorts& ports, const CpuState& start, StepTargetOptions options);

    const CpuState& state() const override { return emu_->state(); }
    void set_state(const CpuState& state) override { emu_->state() = state; }
    size_t read_linear(uint64_t linear, std::span<uint8_t> out) const override;
    size_t write_linear(uint64_t linear, std::span<const uint8_t> in) override;
    StepResult step() override;
    std::span<const RamSlot> ram_slots() const override { return {&slot_, 1}; }
    std::unique_ptr<MachineSnapshot> save_machine() const override;
    void restore_machine(const MachineSnapshot& snapshot) override;
    std::optional<std::string> monitor(std::string_view command) override;
    std::string monitor_help() const override;
    vmx::Profile profile() const override { return options_.profile; }

    // Back to the machine the target was constructed with, for another independent session on
    // the same target (the fuzzer runs one per input): the start state, the ports as they were
    // then, nothing retired, the run not ended, and an Emulator with nothing left from earlier
    // runs (step_target.cpp says how). The RAM is the caller's: restore it first.
    void reset();

    // Instructions retired since the start, and why the run ended (empty while it goes on).
    uint64_t retired() const { return retired_; }
    const std::string& ended() const { return ended_; }

  private:
    // The Emulator keeps nothing from the runs before (reset).
    void forget_earlier_runs();

    RamSlot slot_;
    pc::PcPorts& ports_;
    StepTargetOptions options_;
    std::unique_ptr<Emulator> emu_;
    bool a20_ = true;
    uint64_t retired_ = 0;
    std::string ended_;                      // the event that ended the run
    std::unique_ptr<MachineSnapshot> start_; // the machine at construction, for reset()
};

} // namespace transit86::gdb
