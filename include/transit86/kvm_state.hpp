// transit86 — the Linux KVM register-state layout, and conversion to and from CpuState.
//
// KvmSegment, KvmDtable, KvmRegs and KvmSregs repeat struct kvm_segment, kvm_dtable, kvm_regs
// and kvm_sregs from <asm/kvm.h> (x86) byte for byte, with the same member names and order, so a
// KVM_GET_SREGS buffer can be copied into them directly. They are spelled out here, instead of
// including the Linux header, so that this public header builds on any host;
// tests/oracle/kvm_layout_test.cpp checks every size and offset against the real header.
#pragma once

#include "transit86/cpu_state.hpp"

#include <array>
#include <cstdint>

namespace transit86 {

// struct kvm_segment: one segment register with its hidden cache, one field per attribute.
struct KvmSegment {
    uint64_t base = 0;
    uint32_t limit = 0; // byte-granular, as in the VMCS
    uint16_t selector = 0;
    uint8_t type = 0; // descriptor type field, bits 3:0
    uint8_t present = 0;
    uint8_t dpl = 0;
    uint8_t db = 0;
    uint8_t s = 0;
    uint8_t l = 0;
    uint8_t g = 0;
    uint8_t avl = 0;
    uint8_t unusable = 0;
    uint8_t padding = 0;
    friend constexpr bool operator==(const KvmSegment&, const KvmSegment&) = default;
};

// struct kvm_dtable: GDTR / IDTR.
struct KvmDtable {
    uint64_t base = 0;
    uint16_t limit = 0;
    std::array<uint16_t, 3> padding{};
    friend constexpr bool operator==(const KvmDtable&, const KvmDtable&) = default;
};

// struct kvm_regs (KVM_GET_REGS / KVM_SET_REGS). Note the order: rax, rbx, rcx, rdx — not the
// ModRM order transit86's CpuState::gpr uses.
struct KvmRegs {
    uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0;
    uint64_t rsi = 0, rdi = 0, rsp = 0, rbp = 0;
    uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0;
    uint64_t r12 = 0, r13 = 0, r14 = 0, r15 = 0;
    uint64_t rip = 0, rflags = 0;
    friend constexpr bool operator==(const KvmRegs&, const KvmRegs&) = default;
};

// KVM_NR_INTERRUPTS in <asm/kvm.h>.
inline constexpr int kKvmNrInterrupts = 256;

// struct kvm_sregs (KVM_GET_SREGS / KVM_SET_SREGS).
struct KvmSregs {
    KvmSegment cs, ds, es, fs, gs, ss;
    KvmSegment tr, ldt;
    KvmDtable gdt, idt;
    uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
    uint64_t efer = 0;
    uint64_t apic_base = 0;
    std::array<uint64_t, (kKvmNrInterrupts + 63) / 64> interrupt_bitmap{};
    friend constexpr bool operator==(const KvmSregs&, const KvmSregs&) = default;
};

// struct kvm_debugregs (KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS): DR0-DR3 in `db`, DR6, DR7.
// KVM_SET_DEBUGREGS wants `flags` 0. The member initializers are the reset values.
struct KvmDebugregs {
    std::array<uint64_t, 4> db{};
    uint64_t dr6 = dr6::Reset;
    uint64_t dr7 = dr7::Reset;
    uint64_t flags = 0;
    std::array<uint64_t, 9> reserved{};
    friend constexpr bool operator==(const KvmDebugregs&, const KvmDebugregs&) = default;
};

// struct kvm_fpu (KVM_GET_FPU / KVM_SET_FPU): the FXSAVE image's x87 and SSE parts. fpr[i]
// is ST(i) (stack order, 10 significant bytes of 16), ftwx the abridged tag by physical
// register, last_ip / last_dp the 32-bit FXSAVE format's pairs: offset in bits 31:0,
// selector in bits 47:32 (KVM copies fxsave->rip / ->rdp).
struct KvmFpu {
    std::array<std::array<uint8_t, 16>, 8> fpr{};
    uint16_t fcw = 0;
    uint16_t fsw = 0;
    uint8_t ftwx = 0;
    uint8_t pad1 = 0;
    uint16_t last_opcode = 0;
    uint64_t last_ip = 0;
    uint64_t last_dp = 0;
    std::array<std::array<uint8_t, 16>, 16> xmm{};
    uint32_t mxcsr = 0;
    uint32_t pad2 = 0;
    friend constexpr bool operator==(const KvmFpu&, const KvmFpu&) = default;
};

// x87 state <-> kvm_fpu. xmm, mxcsr and the padding are not x87 state: to_kvm_fpu leaves them
// as the caller had them; the fpr bytes 10..15 are written as 0.
X87State from_kvm_fpu(const KvmFpu& fpu);
void to_kvm_fpu(const X87State& x87, KvmFpu& fpu);
// SSE state <-> kvm_fpu: XMM0..7 and MXCSR. xmm[8..15] exist only in 64-bit mode: to_kvm_fpu
// leaves them as the caller had them.
SseState sse_from_kvm_fpu(const KvmFpu& fpu);
void to_kvm_fpu(const SseState& sse, KvmFpu& fpu);

// Segment cache <-> kvm_segment. The VMCS access-rights word packs the same attributes KVM
// keeps one per byte (SDM Vol. 3C Table 24-2: type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13,
// D/B 14, G 15, unusable 16). Access-rights bits 11:8 and 31:17 are reserved and have no
// kvm_segment field, so they do not survive the trip. Each attribute converts on its own: KVM's
// VMX code treats "not present" as unusable when it writes the VMCS, but we do not fold one
// into the other here.
KvmSegment to_kvm_segment(const SegmentCache& seg);
SegmentCache from_kvm_segment(const KvmSegment& seg);

// The CpuState that KVM register state describes.
//
// GPRs, RIP and RFLAGS are truncated to 32 bits; R8-R15, CR8, APIC_BASE and the interrupt
// bitmap have no CpuState counterpart and are dropped. interruptibility and activity are not
// part of kvm_regs/kvm_sregs (KVM keeps them in kvm_vcpu_events / kvm_mp_state) and come back as
// 0 / Active.
CpuState from_kvm(const KvmRegs& regs, const KvmSregs& sregs);

// Write a CpuState into KVM register state.
//
// Every field CpuState covers is overwritten: GPRs, RIP and RFLAGS zero-extended to 64 bits,
// the segment registers, LDTR, TR, GDTR/IDTR (limit truncated to the 16 bits kvm_dtable holds),
// CR0, CR2, CR3, CR4 and EFER. The rest (R8-R15, CR8, APIC_BASE, interrupt bitmap) is left as
// the caller had it, so the usual pattern is KVM_GET_*, to_kvm, KVM_SET_*.
void to_kvm(const CpuState& state, KvmRegs& regs, KvmSregs& sregs);

// Debug registers <-> kvm_debugregs. From KVM: the low 32 bits of each (a 32-bit CPU has no
// more), DR6 and DR7 with their fixed bits as the SDM fixes them (dr6::with_fixed_bits), so a
// zero-filled struct reads as the reset values. To KVM: db, dr6 and dr7 zero-extended; flags
// and reserved are left as the caller had them.
void from_kvm_debugregs(const KvmDebugregs& debugregs, CpuState& state);
void to_kvm_debugregs(const CpuState& state, KvmDebugregs& debugregs);

} // namespace transit86
