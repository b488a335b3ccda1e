// Reset presets (see docs/reset-states.md for sources).
#include "transit86/cpu_state.hpp"

namespace transit86 {

namespace {

SegmentCache data_segment_at_reset(uint16_t selector, uint64_t base, uint32_t access_rights) {
    return SegmentCache{
        .base = base, .limit = 0xFFFF, .access_rights = access_rights, .selector = selector};
}

} // namespace

CpuState reset_state(ResetPreset preset) {
    CpuState s{};
    s.eip = 0xFFF0;
    s.eflags = flags::Fixed1;
    // SDM Vol. 3A Table 10-1: EDX holds the processor signature after reset; we report 0x600
    // (family 6), which matches the CPUID model transit86 presents.
    s[Gpr::EDX] = 0x600;
    s.cr0 = 0x60000010; // CD | NW | ET
    s.gdtr = {.base = 0, .limit = 0xFFFF};
    s.idtr = {.base = 0, .limit = 0xFFFF};

    // SDM Vol. 3A Table 10-1: every segment "Present, R/W, Accessed" — a data segment, CS too.
    const uint32_t data_ar = ar::kP | ar::kS | 0x3; // 0x93
    for (auto& seg : s.seg)
        seg = data_segment_at_reset(0, 0, data_ar);
    s[Seg::CS] = data_segment_at_reset(0xF000, 0xFFFF0000, data_ar);
    s.ldtr = data_segment_at_reset(0, 0, ar::kP | 0x2); // 0x82: present, LDT
    s.tr = data_segment_at_reset(0, 0, ar::kP | 0x2);   // 0x82: the SDM lists TR like LDTR
    // Table 10-1: DR0-DR3 0, DR6 FFFF0FF0H, DR7 00000400H (also KVM's kvm_vcpu_reset).
    s.dr = {};
    s.dr6 = dr6::Reset;
    s.dr7 = dr7::Reset;

    if (preset == ResetPreset::Kvm) {
        // KVM's vcpu reset (vmx_vcpu_reset / init_vmcb, read back with KVM_GET_SREGS):
        // CS is an accessed execute/read code segment, TR a busy 32-bit TSS.
        s[Seg::CS].access_rights = ar::kP | ar::kS | 0xB; // 0x9B
        s.tr.access_rights = ar::kP | 0xB;                // 0x8B
        // EDX keeps 0x600: KVM_GET_REGS shows it so before any CPUID is set (seen here).
        // KVM_GET_FPU of a new vCPU: the kernel's initial FPU image (fpstate_init_fxstate in
        // arch/x86/kernel/fpu/core.c: FCW 037FH), every tag empty.
        s.x87.fcw = 0x037F;
        s.x87.ftw = 0x00;
    }
    return s;
}

} // namespace transit86
