// Task switches and a virtual-8086 round trip, single-stepped on transit86 and in a KVM VM on
// /dev/kvm (kvm_lockstep.hpp): after every instruction the registers, segment caches and the
// system tables (GDT, IDT, TSSs) must agree — or the step falls under a rule of
// docs/known-differences.md ("Task switches and virtual-8086 mode on KVM"), in which case KVM
// is brought to transit86's state and the step is checked against the SDM by hand instead (the
// EXPECTs below each sequence).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "oracle/kvm_lockstep.hpp"
#include "oracle/task_switch_scenarios.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {
namespace {

using namespace oracle::scenario;

using Lockstep = oracle::KvmLockstep;

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

    Lockstep run(*kvm, g.ram(), ring0_start(kvm->reset_state(), 0x1000), kGdt, kTablesEnd);
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
    std::cout << "[ tally    ] " << run.tally() << "\n";
    RecordProperty("tally", run.tally());
}

TEST_F(TaskSwitchVsKvm, ExceptionThroughAnIdtTaskGate) {
    g.descriptor(kTssB, 0x3100, 0x67, 0x89, 0);
    g.gate(kIdt + 6 * 8, kTssB, 0, 0x85); // IDT[6] (#UD): task gate for B
    g.task(0x3100, 0x1100, 0x7000);
    g.put(0x1000, {0x0F, 0x0B});                   // A: ud2
    g.put(0x1100, {0xBB, 0x22, 0x00, 0x00, 0x00}); // B: mov ebx, 0x22

    Lockstep run(*kvm, g.ram(), ring0_start(kvm->reset_state(), 0x1000), kGdt, kTablesEnd);
    const CpuState& s = run.state();
    run.step_fault("ud2 through the IDT task gate, then mov ebx (B)", 6);
    // SDM Vol. 3A 6.12.2: a nested switch; #UD has no error code; A saved at the UD2.
    EXPECT_EQ(s.tr.selector, kTssB);
    EXPECT_NE(s.eflags & flags::NT, 0u);
    EXPECT_EQ(s[Gpr::EBX], 0x22u);
    EXPECT_EQ(s[Gpr::ESP], 0x7000u);
    uint32_t saved_eip = 0;
    std::memcpy(&saved_eip, &g.ram()[0x3000 + 0x20], 4);
    EXPECT_EQ(saved_eip, 0x1000u);
    std::cout << "[ tally    ] " << run.tally() << "\n";
    RecordProperty("tally", run.tally());
}

TEST_F(TaskSwitchVsKvm, Virtual8086RoundTrip) {
    v86_entry(g);
    g.put(0x1020, {0xB8, 0x34, 0x12, 0xCD, 0x40}); // V86: mov ax, 0x1234 ; int 0x40
    g.put(0x1500, {0x90});                         // ring 0 handler: nop

    CpuState start = ring0_start(kvm->reset_state(), 0x1000);
    start[Gpr::ESP] = kV86Frame;
    Lockstep run(*kvm, g.ram(), start, kGdt, kTablesEnd);
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
    std::cout << "[ tally    ] " << run.tally() << "\n";
    RecordProperty("tally", run.tally());
}

} // namespace
} // namespace transit86
