// The C ABI's state structs (transit86.h) are <linux/kvm.h>'s byte for byte, like the C++ ones
// (tests/oracle/kvm_layout_test.cpp), and the event constants are KVM's. Compile-time checks,
// plus one test that a KVM_GET_SREGS-shaped buffer reads the same through both APIs.
#include <linux/kvm.h>

#include <gtest/gtest.h>

#include <bit>
#include <cstddef>

#include "transit86/transit86.h"
#include "transit86/vcpu.hpp"

namespace transit86 {
namespace {

#define T86_SAME_MEMBER(ours, theirs, member)                                                      \
    static_assert(offsetof(ours, member) == offsetof(theirs, member), #member " offset");          \
    static_assert(sizeof(ours::member) == sizeof(theirs::member), #member " size")
#define T86_SAME_TYPE(ours, theirs)                                                                \
    static_assert(sizeof(ours) == sizeof(theirs), #ours " size");                                  \
    static_assert(alignof(ours) == alignof(theirs), #ours " alignment")

T86_SAME_TYPE(transit86_kvm_segment, kvm_segment);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, base);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, limit);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, selector);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, type);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, present);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, dpl);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, db);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, s);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, l);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, g);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, avl);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, unusable);
T86_SAME_MEMBER(transit86_kvm_segment, kvm_segment, padding);

T86_SAME_TYPE(transit86_kvm_dtable, kvm_dtable);
T86_SAME_MEMBER(transit86_kvm_dtable, kvm_dtable, base);
T86_SAME_MEMBER(transit86_kvm_dtable, kvm_dtable, limit);
T86_SAME_MEMBER(transit86_kvm_dtable, kvm_dtable, padding);

T86_SAME_TYPE(transit86_kvm_regs, kvm_regs);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rax);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rbx);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rcx);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rdx);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rsi);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rdi);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rsp);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rbp);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, r8);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, r15);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rip);
T86_SAME_MEMBER(transit86_kvm_regs, kvm_regs, rflags);

T86_SAME_TYPE(transit86_kvm_sregs, kvm_sregs);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, cs);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, ds);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, es);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, fs);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, gs);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, ss);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, tr);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, ldt);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, gdt);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, idt);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, cr0);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, cr2);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, cr3);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, cr4);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, cr8);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, efer);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, apic_base);
T86_SAME_MEMBER(transit86_kvm_sregs, kvm_sregs, interrupt_bitmap);

T86_SAME_TYPE(transit86_kvm_debugregs, kvm_debugregs);
T86_SAME_MEMBER(transit86_kvm_debugregs, kvm_debugregs, db);
T86_SAME_MEMBER(transit86_kvm_debugregs, kvm_debugregs, dr6);
T86_SAME_MEMBER(transit86_kvm_debugregs, kvm_debugregs, dr7);
T86_SAME_MEMBER(transit86_kvm_debugregs, kvm_debugregs, flags);
T86_SAME_MEMBER(transit86_kvm_debugregs, kvm_debugregs, reserved);

// VcpuState's registers are KVM's; its event state uses KVM's encodings.
static_assert(offsetof(VcpuState, regs) == 0);
static_assert(sizeof(VcpuState::regs) == sizeof(kvm_regs));
static_assert(sizeof(VcpuState::sregs) == sizeof(kvm_sregs));
static_assert(sizeof(VcpuState::debugregs) == sizeof(kvm_debugregs));
static_assert(sizeof(VcpuState::fpu) == sizeof(kvm_fpu));
T86_SAME_TYPE(transit86_kvm_fpu, kvm_fpu);
T86_SAME_MEMBER(transit86_kvm_fpu, kvm_fpu, fpr);
T86_SAME_MEMBER(transit86_kvm_fpu, kvm_fpu, ftwx);
T86_SAME_MEMBER(transit86_kvm_fpu, kvm_fpu, last_opcode);
T86_SAME_MEMBER(transit86_kvm_fpu, kvm_fpu, last_ip);
T86_SAME_MEMBER(transit86_kvm_fpu, kvm_fpu, last_dp);
T86_SAME_MEMBER(transit86_kvm_fpu, kvm_fpu, mxcsr);
static_assert(kShadowMovSs == KVM_X86_SHADOW_INT_MOV_SS);
static_assert(kShadowSti == KVM_X86_SHADOW_INT_STI);
static_assert(TRANSIT86_SHADOW_MOV_SS == KVM_X86_SHADOW_INT_MOV_SS);
static_assert(TRANSIT86_SHADOW_STI == KVM_X86_SHADOW_INT_STI);
static_assert(TRANSIT86_IO_IN == KVM_EXIT_IO_IN);
static_assert(TRANSIT86_IO_OUT == KVM_EXIT_IO_OUT);
static_assert(sizeof(transit86_kvm_sregs::interrupt_bitmap) == sizeof(kvm_sregs::interrupt_bitmap));

TEST(KvmAbi, KvmSregsBufferReadsTheSameThroughBothApis) {
    kvm_sregs kernel{};
    kernel.cs.selector = 0x08;
    kernel.cs.base = 0x1000;
    kernel.cs.type = 11;
    kernel.gdt.limit = 0x17;
    kernel.cr0 = 0x11;
    kernel.apic_base = 0xFEE00900;
    const auto cpp = std::bit_cast<KvmSregs>(kernel);
    const auto c = std::bit_cast<transit86_kvm_sregs>(kernel);
    EXPECT_EQ(cpp.cs.selector, c.cs.selector);
    EXPECT_EQ(cpp.cs.base, 0x1000u);
    EXPECT_EQ(c.cs.type, 11);
    EXPECT_EQ(c.gdt.limit, 0x17);
    EXPECT_EQ(cpp.cr0, c.cr0);
    EXPECT_EQ(c.apic_base, 0xFEE00900u);
}

} // namespace
} // namespace transit86
