// CpuState <-> Linux KVM register state (see include/transit86/kvm_state.hpp).
#include "transit86/kvm_state.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace transit86 {

namespace {

uint8_t bit(uint32_t access_rights, uint32_t mask) {
    return (access_rights & mask) != 0 ? 1 : 0;
}

uint32_t flag(uint8_t field, uint32_t mask) {
    return field != 0 ? mask : 0;
}

// kvm_regs lists the legacy registers as rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp; CpuState keeps
// them in ModRM order. One table keeps both directions in step.
struct GprSlot {
    Gpr gpr;
    uint64_t KvmRegs::*field;
};
constexpr std::array<GprSlot, 8> kGprSlots{{
    {Gpr::EAX, &KvmRegs::rax},
    {Gpr::ECX, &KvmRegs::rcx},
    {Gpr::EDX, &KvmRegs::rdx},
    {Gpr::EBX, &KvmRegs::rbx},
    {Gpr::ESP, &KvmRegs::rsp},
    {Gpr::EBP, &KvmRegs::rbp},
    {Gpr::ESI, &KvmRegs::rsi},
    {Gpr::EDI, &KvmRegs::rdi},
}};

struct SegSlot {
    Seg seg;
    KvmSegment KvmSregs::*field;
};
constexpr std::array<SegSlot, kNumSegs> kSegSlots{{
    {Seg::ES, &KvmSregs::es},
    {Seg::CS, &KvmSregs::cs},
    {Seg::SS, &KvmSregs::ss},
    {Seg::DS, &KvmSregs::ds},
    {Seg::FS, &KvmSregs::fs},
    {Seg::GS, &KvmSregs::gs},
}};

KvmDtable to_kvm_dtable(const DescriptorTableRegister& dt) {
    // kvm_dtable holds the architectural 16-bit limit; VMCS bits 31:16 have nowhere to go.
    return KvmDtable{.base = dt.base, .limit = static_cast<uint16_t>(dt.limit), .padding = {}};
}

DescriptorTableRegister from_kvm_dtable(const KvmDtable& dt) {
    return DescriptorTableRegister{.base = dt.base, .limit = dt.limit};
}

} // namespace

KvmSegment to_kvm_segment(const SegmentCache& seg) {
    const uint32_t a = seg.access_rights;
    return KvmSegment{
        .base = seg.base,
        .limit = seg.limit,
        .selector = seg.selector,
        .type = static_cast<uint8_t>(ar::type(a)),
        .present = bit(a, ar::kP),
        .dpl = static_cast<uint8_t>(ar::dpl(a)),
        .db = bit(a, ar::kDb),
        .s = bit(a, ar::kS),
        .l = bit(a, ar::kL),
        .g = bit(a, ar::kG),
        .avl = bit(a, ar::kAvl),
        .unusable = bit(a, ar::kUnusable),
        .padding = 0,
    };
}

SegmentCache from_kvm_segment(const KvmSegment& seg) {
    const uint32_t a = (seg.type & ar::kTypeMask) | flag(seg.s, ar::kS) |
                       ((static_cast<uint32_t>(seg.dpl) << ar::kDplShift) & ar::kDplMask) |
                       flag(seg.present, ar::kP) | flag(seg.avl, ar::kAvl) | flag(seg.l, ar::kL) |
                       flag(seg.db, ar::kDb) | flag(seg.g, ar::kG) |
                       flag(seg.unusable, ar::kUnusable);
    return SegmentCache{
        .base = seg.base, .limit = seg.limit, .access_rights = a, .selector = seg.selector};
}

X87State from_kvm_fpu(const KvmFpu& fpu) {
    X87State x87{.fcw = fpu.fcw,
                 .fsw = fpu.fsw,
                 .ftw = fpu.ftwx,
                 .fop = static_cast<uint16_t>(fpu.last_opcode & 0x7FF),
                 .fip = static_cast<uint32_t>(fpu.last_ip),
                 .fcs = static_cast<uint16_t>(fpu.last_ip >> 32),
                 .fdp = static_cast<uint32_t>(fpu.last_dp),
                 .fds = static_cast<uint16_t>(fpu.last_dp >> 32)};
    for (unsigned i = 0; i < 8; ++i) {
        X87Register& reg = x87.st(i);
        std::memcpy(&reg.significand, fpu.fpr[i].data(), 8);
        std::memcpy(&reg.sign_exponent, fpu.fpr[i].data() + 8, 2);
    }
    return x87;
}

void to_kvm_fpu(const X87State& x87, KvmFpu& fpu) {
    fpu.fcw = x87.fcw;
    fpu.fsw = x87.fsw;
    fpu.ftwx = x87.ftw;
    fpu.last_opcode = x87.fop;
    fpu.last_ip = (uint64_t{x87.fcs} << 32) | x87.fip;
    fpu.last_dp = (uint64_t{x87.fds} << 32) | x87.fdp;
    for (unsigned i = 0; i < 8; ++i) {
        fpu.fpr[i] = {};
        std::memcpy(fpu.fpr[i].data(), &x87.st(i).significand, 8);
        std::memcpy(fpu.fpr[i].data() + 8, &x87.st(i).sign_exponent, 2);
    }
}

SseState sse_from_kvm_fpu(const KvmFpu& fpu) {
    SseState sse{.mxcsr = fpu.mxcsr};
    std::copy_n(fpu.xmm.begin(), sse.xmm.size(), sse.xmm.begin());
    return sse;
}

void to_kvm_fpu(const SseState& sse, KvmFpu& fpu) {
    fpu.mxcsr = sse.mxcsr;
    std::copy(sse.xmm.begin(), sse.xmm.end(), fpu.xmm.begin());
}

CpuState from_kvm(const KvmRegs& regs, const KvmSregs& sregs) {
    CpuState s{};
    for (const auto& slot : kGprSlots)
        s[slot.gpr] = static_cast<uint32_t>(regs.*slot.field);
    s.eip = static_cast<uint32_t>(regs.rip);
    s.eflags = static_cast<uint32_t>(regs.rflags);

    for (const auto& slot : kSegSlots)
        s[slot.seg] = from_kvm_segment(sregs.*slot.field);
    s.ldtr = from_kvm_segment(sregs.ldt);
    s.tr = from_kvm_segment(sregs.tr);
    s.gdtr = from_kvm_dtable(sregs.gdt);
    s.idtr = from_kvm_dtable(sregs.idt);

    s.cr0 = sregs.cr0;
    s.cr2 = sregs.cr2;
    s.cr3 = sregs.cr3;
    s.cr4 = sregs.cr4;
    s.efer = sregs.efer;
    return s;
}

void to_kvm(const CpuState& state, KvmRegs& regs, KvmSregs& sregs) {
    for (const auto& slot : kGprSlots)
        regs.*slot.field = state[slot.gpr];
    regs.rip = state.eip;
    regs.rflags = state.eflags;

    for (const auto& slot : kSegSlots)
        sregs.*slot.field = to_kvm_segment(state[slot.seg]);
    sregs.ldt = to_kvm_segment(state.ldtr);
    sregs.tr = to_kvm_segment(state.tr);
    sregs.gdt = to_kvm_dtable(state.gdtr);
    sregs.idt = to_kvm_dtable(state.idtr);

    sregs.cr0 = state.cr0;
    sregs.cr2 = state.cr2;
    sregs.cr3 = state.cr3;
    sregs.cr4 = state.cr4;
    sregs.efer = state.efer;
}

void from_kvm_debugregs(const KvmDebugregs& debugregs, CpuState& state) {
    for (std::size_t i = 0; i < state.dr.size(); ++i)
        state.dr[i] = static_cast<uint32_t>(debugregs.db[i]);
    state.dr6 = dr6::with_fixed_bits(static_cast<uint32_t>(debugregs.dr6));
    state.dr7 = dr7::with_fixed_bits(static_cast<uint32_t>(debugregs.dr7));
}

void to_kvm_debugregs(const CpuState& state, KvmDebugregs& debugregs) {
    for (std::size_t i = 0; i < state.dr.size(); ++i)
        debugregs.db[i] = state.dr[i];
    debugregs.dr6 = state.dr6;
    debugregs.dr7 = state.dr7;
}

} // namespace transit86
