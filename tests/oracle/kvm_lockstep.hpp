// transit86 and a KVM VM on /dev/kvm (kvm_stepper.hpp) stepped in lockstep over one guest, for
// the oracle tests (task_switch_vs_kvm_test.cpp, io_permission_vs_oracles_test.cpp). After
// every instruction the registers, segment caches, the port I/O done and a range of guest RAM
// (the system tables) must agree — or the step falls under a rule of docs/known-differences.md
// ("Task switches and virtual-8086 mode on KVM"), in which case KVM is brought to transit86's
// state and the caller checks the step against the SDM by hand instead.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "oracle/kvm_stepper.hpp"
#include "oracle/port_recorder.hpp"
#include "oracle/state_diff.hpp"
#include "transit86/emulator.hpp"

namespace transit86::oracle {

class KvmLockstep {
  public:
    // RAM [compared_begin, compared_end) is compared after every compared step.
    KvmLockstep(KvmStepper& kvm, std::vector<uint8_t>& ram, const CpuState& start,
                uint32_t compared_begin, uint32_t compared_end)
        : kvm_(kvm), ram_(ram), begin_(compared_begin),
          end_(compared_end), slot_{.guest_phys = 0, .size = ram.size(), .host = ram.data()},
          emu_({&slot_, 1}, &ports_) {
        kvm_.set_port_input(lockstep_port_input);
        emu_.state() = start;
        resync();
    }
    CpuState& state() { return emu_.state(); }
    const std::map<std::string, int>& ruled() const { return ruled_; }
    int compared() const { return compared_; }
    std::string tally() const {
        std::string out = std::to_string(compared_) + " steps compared with KVM";
        for (const auto& [rule, count] : ruled_)
            out += ", " + std::to_string(count) + " under " + rule;
        return out;
    }
    // Whether KVM holds the state transit86 has now (false under rule kvm-no-vm86).
    bool kvm_holds_state() const { return !kvm_lacks_v86_; }

    // A faulting instruction: transit86 must report `vector` without port I/O, then delivers
    // it; KVM's step covers the delivery and the handler's first instruction (rule
    // kvm-fault-step), so transit86 takes that instruction too. Returns transit86's report.
    Exit step_fault(const char* what, uint8_t vector) {
        const Exit ours = fault_ours(what, vector);
        step(what, true);
        return ours;
    }

    // A faulting instruction on transit86 (as the SDM says) that KVM, under `rule`, retires:
    // KVM's step is not compared but returned (its port I/O for the caller to check), KVM is
    // given transit86's delivered state, and the handler's first instruction is stepped on
    // both.
    std::pair<Exit, StepResult> fault_kvm_retires(const char* what, uint8_t vector,
                                                  const char* rule) {
        const Exit ours = fault_ours(what, vector);
        StepResult theirs = kvm_.step();
        EXPECT_TRUE(theirs.reason == StepReason::Debug || theirs.reason == StepReason::Io)
            << what << ": KVM " << to_string(theirs.reason);
        ++ruled_[rule];
        resync();
        step(what);
        return {ours, std::move(theirs)};
    }

    // One instruction on both; `what` names it in failure messages.
    void step(const char* what, bool after_fault = false) {
        const CpuState before = emu_.state();
        uint8_t opcode = 0;
        emu_.read_physical(before[Seg::CS].base + before.eip, &opcode, 1);
        const Exit ours = emu_.run(limits(false));
        const std::vector<PortAccess> ours_io = ports_.take();
        ASSERT_EQ(ours.reason, ExitReason::Step)
            << what << ": " << to_string(ours.reason) << " " << (ours.detail ? ours.detail : "");
        if (kvm_lacks_v86_) { // rule kvm-no-vm86: KVM cannot hold this state at all
            ++ruled_["kvm-no-vm86"];
            if (!emu_.state().v86()) resync();
            return;
        }
        const StepResult theirs = kvm_.step();
        if (theirs.reason == StepReason::InternalError) {
            // Rule kvm-emulator-gap: KVM's emulator gives up on far JMP/CALL to a system
            // descriptor and on INT n / IRET in protected mode, leaving the vCPU as it was.
            const bool gap = opcode == 0xEA || opcode == 0x9A || opcode == 0xCD || opcode == 0xCF;
            EXPECT_TRUE(gap) << what << ": internal error outside the rule, opcode " << int{opcode};
            EXPECT_EQ(theirs.state.eip, before.eip) << what;
            ++ruled_["kvm-emulator-gap"];
            resync();
            return;
        }
        ASSERT_TRUE(theirs.reason == StepReason::Debug || theirs.reason == StepReason::Io)
            << what << ": KVM " << to_string(theirs.reason);
        EXPECT_EQ(ours_io, elements(theirs.io)) << what << ": port I/O differs";
        if (after_fault && theirs.state.tr.selector != emu_.state().tr.selector) {
            // Rule kvm-idt-task-gate: KVM delivers an exception through an IDT task gate as if
            // it were an interrupt gate (CS := the gate's TSS selector), without a task switch.
            ++ruled_["kvm-idt-task-gate"];
            resync();
            return;
        }
        const auto diffs = diff_states(emu_.state(), theirs.state);
        EXPECT_TRUE(diffs.empty()) << what << ":\n  " << testing::PrintToString(diffs);
        std::vector<uint8_t> theirs_ram(end_ - begin_);
        ASSERT_TRUE(kvm_.read(begin_, theirs_ram));
        EXPECT_TRUE(std::equal(theirs_ram.begin(), theirs_ram.end(), ram_.begin() + begin_))
            << what << ": guest RAM differs in [" << std::hex << begin_ << ", " << end_ << ")";
        ++compared_;
    }

    // Guest RAM as KVM has it.
    bool read_theirs(uint32_t gpa, std::span<uint8_t> out) const { return kvm_.read(gpa, out); }

  private:
    // transit86 reports `vector` without port I/O, then delivers it.
    Exit fault_ours(const char* what, uint8_t vector) {
        const Exit ours = emu_.run(limits(true));
        EXPECT_EQ(ours.reason, ExitReason::Exception) << what << ": " << to_string(ours.reason);
        EXPECT_EQ(ours.vector, vector) << what;
        EXPECT_TRUE(ports_.take().empty()) << what << ": transit86 did port I/O";
        const InjectedEvent event{.kind = InjectedEvent::Kind::Exception,
                                  .vector = ours.vector,
                                  .has_error_code = ours.has_error_code,
                                  .error_code = ours.error_code};
        EXPECT_FALSE(emu_.deliver_event(event).has_value()) << what << ": delivery";
        return ours;
    }

    static RunLimits limits(bool exceptions_to_host) {
        return RunLimits{.budget = 0,
                         .stop_when_valid = std::nullopt,
                         .single_step = true,
                         .exceptions_to_host = exceptions_to_host};
    }

    // KVM takes transit86's memory and state (KVM_SET_SREGS accepts any segment cache).
    void resync() {
        ASSERT_TRUE(kvm_.load(0, ram_));
        std::string error;
        ASSERT_TRUE(kvm_.set_state(emu_.state(), &error)) << error;
        // Rule kvm-no-vm86: KVM_SET_REGS drops EFLAGS.VM on this host.
        kvm_lacks_v86_ = emu_.state().v86() && !kvm_.state().v86();
    }

    KvmStepper& kvm_;
    std::vector<uint8_t>& ram_;
    uint32_t begin_, end_;
    RamSlot slot_;
    PortRecorder ports_;
    Emulator emu_;
    int compared_ = 0;
    std::map<std::string, int> ruled_;
    bool kvm_lacks_v86_ = false;
};

} // namespace transit86::oracle
