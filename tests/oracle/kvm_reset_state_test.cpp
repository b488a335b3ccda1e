// transit86's ResetPreset::Kvm is the state KVM_GET_REGS / KVM_GET_SREGS report right after
// KVM_CREATE_VCPU (emu/reset.cpp). The oracle is the running kernel, not a copy of its source.
#include "oracle/kvm_stepper.hpp"

#include <gtest/gtest.h>

#include <string>

namespace transit86::oracle {
namespace {

void expect_same_segment(const SegmentCache& kvm, const SegmentCache& ours, const char* name) {
    EXPECT_EQ(kvm.selector, ours.selector) << name << ".selector";
    EXPECT_EQ(kvm.base, ours.base) << name << ".base";
    EXPECT_EQ(kvm.limit, ours.limit) << name << ".limit";
    EXPECT_EQ(kvm.access_rights, ours.access_rights) << name << ".access_rights";
}

TEST(KvmResetState, MatchesTransit86KvmPreset) {
    std::string why;
    const auto kvm = KvmStepper::create({}, &why);
    if (kvm == nullptr) GTEST_SKIP() << "KVM unavailable: " << why;

    const CpuState& k = kvm->reset_state();
    const CpuState ours = reset_state(ResetPreset::Kvm);

    constexpr const char* kGprNames[] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(k.gpr[i], ours.gpr[i])
            << kGprNames[i] << " (hex " << std::hex << k.gpr[i] << " from KVM)";
    }
    EXPECT_EQ(k.eip, ours.eip) << "EIP";
    EXPECT_EQ(k.eflags, ours.eflags) << "EFLAGS";

    constexpr const char* kSegNames[] = {"ES", "CS", "SS", "DS", "FS", "GS"};
    for (int i = 0; i < kNumSegs; ++i)
        expect_same_segment(k.seg[i], ours.seg[i], kSegNames[i]);
    expect_same_segment(k.ldtr, ours.ldtr, "LDTR");
    expect_same_segment(k.tr, ours.tr, "TR");
    EXPECT_EQ(k.gdtr, ours.gdtr) << "GDTR";
    EXPECT_EQ(k.idtr, ours.idtr) << "IDTR";

    EXPECT_EQ(k.cr0, ours.cr0) << "CR0";
    EXPECT_EQ(k.cr2, ours.cr2) << "CR2";
    EXPECT_EQ(k.cr3, ours.cr3) << "CR3";
    EXPECT_EQ(k.cr4, ours.cr4) << "CR4";
    EXPECT_EQ(k.efer, ours.efer) << "EFER";
    EXPECT_EQ(k.interruptibility, ours.interruptibility) << "interruptibility";
    EXPECT_EQ(k.activity, ours.activity) << "activity";
}

} // namespace
} // namespace transit86::oracle
