// Task switches and a virtual-8086 round trip, single-stepped on transit86 and in a KVM VM on
// /dev/kvm: after every instruction the registers, segment caches and the system tables (GDT,
// IDT, TSSs) must agree — or the step falls under a rule of docs/known-differences.md ("Task
// switches and virtual-8086 mode on KVM"), in which case KVM is brought to transit86's state
// and the step is checked against the SDM by hand instead (the EXPECTs below each sequence).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "oracle/kvm_stepper.hpp"
#include "oracle/state_diff.hpp"
#include "oracle/task_switch_scenarios.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {
namespace {

using namespace oracle::scenario;

// Steps transit86 and KVM in lockstep and keeps the tally of compared and ruled steps.
class Lockstep {
  public:
    Lockstep(oracle::KvmStepper& kvm, Guest& guest, const CpuState& start)
        : kvm_(kvm), guest_(guest), slot_{.guest_phys = 0,
                                          .size = guest.ram().size(),
                                          .host = guest.ram().data()},
          emu_({&slot_, 1}, nullptr) {
        emu_.state() = start;
        resync();
    }
    CpuState& state() { return emu_.state(); }
    const std::map<std::string, int>& ruled() const { return ruled_; }
    int compared() const { return compared_; }

    // A faulting instruction: KVM's step covers the delivery and the handler's first
    // instruction (rule kvm-fault-step), so transit86 takes two.
    void step_fault(const char* what) {
        const Exit delivered =
            emu_.run(RunLimits{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true});
        ASSERT_EQ(delivered.reason, ExitReason::Step) << what;
        step(what, true);
    }

    // One instruction on both; `what` names it in failure messages.
    void step(const char* what, bool after_fault = false) {
        const CpuState before = emu_.state();
        uint8_t opcode = 0;
        emu_.read_physical(before[Seg::CS].base + before.eip, &opcode, 1);
        const Exit ours =
            emu_.run(RunLimits{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true});
        ASSERT_EQ(ours.reason, ExitReason::Step)
            << what << ": " << to_string(ours.reason) << " " << (ours.detail ? ours.detail : "");
        if (kvm_lacks_v86_) { // rule kvm-no-vm86: KVM cannot hold this state at all
            ++ruled_["kvm-no-vm86"];
            if (!emu_.state().v86()) resync();
            return;
        }
        const oracle::StepResult theirs = kvm_.step();
        if (theirs.reason == oracle::StepReason::InternalError) {
            // Rule kvm-emulator-gap: KVM's emulator gives up on far JMP/CALL to a system
            // descriptor and on INT n / IRET in protected mode, leaving the vCPU as it was.
            const bool gap = opcode == 0xEA || opcode == 0x9A || opcode == 0xCD || opcode == 0xCF;
            EXPECT_TRUE(gap) << what << ": internal error outside the rule, opcode " << int{opcode};
            EXPECT_EQ(theirs.state.eip, before.eip) << what;
            ++ruled_["kvm-emulator-gap"];
            resync();
            return;
        }
        ASSERT_EQ(theirs.reason, oracle::StepReason::Debug) << what;
        if (after_fault && theirs.state.tr.selector != emu_.state().tr.selector) {
            // Rule kvm-idt-task-gate: KVM delivers an exception through an IDT task gate as if
            // it were an interrupt gate (CS := the gate's TSS selector), without a task switch.
            ++ruled_["kvm-idt-task-gate"];
            resync();
            return;
        }
        const auto diffs = oracle::diff_states(emu_.state(), theirs.state);
        EXPECT_TRUE(diffs.empty()) << what << ":\n  " << testing::PrintToString(diffs);
        std::vector<uint8_t> tables(kTablesEnd - kGdt);
        ASSERT_TRUE(kvm_.read(kGdt, tables));
        EXPECT_TRUE(std::equal(tables.begin(), tables.end(), guest_.ram().begin() + kGdt))
            << what << ": the GDT, IDT or a TSS differs";
        ++compared_;
    }

  private:
    // KVM takes transit86's memory and state (KVM_SET_SREGS accepts any segment cache).
    void resync() {
        ASSERT_TRUE(kvm_.load(0, guest_.ram()));
        std::string error;
        ASSERT_TRUE(kvm_.set_state(emu_.state(), &error)) << error;
        // Rule kvm-no-vm86: KVM_SET_REGS drops EFLAGS.VM on this host.
        kvm_lacks_v86_ = emu_.state().v86() && !kvm_.state().v86();
    }

    oracle::KvmStepper& kvm_;
    Guest& guest_;
    RamSlot slot_;
    Emulator emu_;
    int compared_ = 0;
    std::map<std::string, int> ruled_;
    bool kvm_lacks_v86_ = false;
};

std::string tally(const Lockstep& run) {
    std::string out = std::to_string(run.compared()) + " steps compared with KVM";
    for (const auto& [rule, count] : run.ruled())
        out += ", " + std::to_string(count) + " under " + rule;
    return out;
}

// Every test: flat code 08 and data 10, task A's busy TSS at 0x3000 (selector 18).
class TaskSwitchVsKvm : public testing::Test {
  protected:
    void SetUp() override {
        if (auto reason = oracle::KvmStepper::unavailable_reason()) GTEST_SKIP() << *reason;
        std::string error;
        kvm = oracle::KvmStepper::create({}, &error);
        ASSERT_TRUE(kvm) << error;
        g.flat_with_task_a();
    }
    std::unique_ptr<oracle::KvmStepper> kvm;
    Guest g;
};

TEST_F(TaskSwitchVsKvm, JmpCallIretAndIntThroughTaskGates) {
    task_chain(g);

    Lockstep run(*kvm, g, ring0_start(kvm->reset_state(), 0x1000));
    const CpuState& s = run.state();
    run.step("mov eax (A)");
    run.step("jmp to TSS B");
    EXPECT_EQ(s.tr.selector, kTssB);
    EXPECT_EQ(s.eip, 0x1100u);
    EXPECT_NE(s.cr0 & cr0::TS, 0u);
    run.step("mov ebx (B)");
    run.step("call through task gate to C");
    EXPECT_EQ(s.tr.selector, kTssC);
    EXPECT_NE(s.eflags & flags::NT, 0u);
    run.step("mov ecx (C)");
    run.step("iretd with NT back to B");
    EXPECT_EQ(s.tr.selector, kTssB);
    EXPECT_EQ(s.eip, 0x110Cu);
    EXPECT_EQ(s[Gpr::EBX], 0x22u);
    run.step("int 0x40 through the IDT task gate to D");
    EXPECT_EQ(s.tr.selector, kTssD);
    EXPECT_EQ(s.eip, 0x1300u);
    run.step("mov edx (D)");
    run.step("iretd with NT back to B");
    EXPECT_EQ(s.tr.selector, kTssB);
    EXPECT_EQ(s.eip, 0x110Eu);
    run.step("nop (B)");
    std::cout << "[ tally    ] " << tally(run) << "\n";
    RecordProperty("tally", tally(run));
}

TEST_F(TaskSwitchVsKvm, ExceptionThroughAnIdtTaskGate) {
    g.descriptor(kTssB, 0x3100, 0x67, 0x89, 0);
    g.gate(kIdt + 6 * 8, kTssB, 0, 0x85); // IDT[6] (#UD): task gate for B
    g.task(0x3100, 0x1100, 0x7000);
    g.put(0x1000, {0x0F, 0x0B});                   // A: ud2
    g.put(0x1100, {0xBB, 0x22, 0x00, 0x00, 0x00}); // B: mov ebx, 0x22

    Lockstep run(*kvm, g, ring0_start(kvm->reset_state(), 0x1000));
    const CpuState& s = run.state();
    run.step_fault("ud2 through the IDT task gate, then mov ebx (B)");
    // SDM Vol. 3A 6.12.2: a nested switch; #UD has no error code; A saved at the UD2.
    EXPECT_EQ(s.tr.selector, kTssB);
    EXPECT_NE(s.eflags & flags::NT, 0u);
    EXPECT_EQ(s[Gpr::EBX], 0x22u);
    EXPECT_EQ(s[Gpr::ESP], 0x7000u);
    uint32_t saved_eip = 0;
    std::memcpy(&saved_eip, &g.ram()[0x3000 + 0x20], 4);
    EXPECT_EQ(saved_eip, 0x1000u);
    std::cout << "[ tally    ] " << tally(run) << "\n";
    RecordProperty("tally", tally(run));
}

TEST_F(TaskSwitchVsKvm, Virtual8086RoundTrip) {
    v86_entry(g);
    g.put(0x1020, {0xB8, 0x34, 0x12, 0xCD, 0x40}); // V86: mov ax, 0x1234 ; int 0x40
    g.put(0x1500, {0x90});                         // ring 0 handler: nop

    CpuState start = ring0_start(kvm->reset_state(), 0x1000);
    start[Gpr::ESP] = kV86Frame;
    Lockstep run(*kvm, g, start);
    const CpuState& s = run.state();
    run.step("iretd to virtual-8086 mode");
    EXPECT_TRUE(s.v86());
    EXPECT_EQ(s[Seg::CS].access_rights, 0xF3u);
    EXPECT_EQ(s[Seg::SS].base, 0x7000u);
    run.step("mov ax (V86)");
    run.step("int 0x40 from V86 to ring 0");
    EXPECT_FALSE(s.v86());
    EXPECT_EQ(s[Gpr::ESP], kV86Frame);
    EXPECT_EQ(s.eip, 0x1500u);
    EXPECT_TRUE(ar::unusable(s[Seg::DS].access_rights));
    run.step("nop (ring 0 handler)");
    std::cout << "[ tally    ] " << tally(run) << "\n";
    RecordProperty("tally", tally(run));
}

} // namespace
} // namespace transit86
