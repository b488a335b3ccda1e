// transit86's KVM state structs match <linux/kvm.h> byte for byte, and convert to and from
// CpuState without loss (include/transit86/kvm_state.hpp).
#include "transit86/kvm_state.hpp"

#include <linux/kvm.h>

#include <gtest/gtest.h>

#include <bit>
#include <cstddef>
#include <type_traits>

namespace transit86 {
namespace {

// Same size and alignment, and each member at the same offset with the same size: then a
// KVM_GET_SREGS buffer is a KvmSregs.
#define T86_SAME_MEMBER(ours, theirs, member)                                                      \
    static_assert(offsetof(ours, member) == offsetof(theirs, member), #member " offset");          \
    static_assert(sizeof(ours::member) == sizeof(theirs::member), #member " size")

#define T86_SAME_TYPE(ours, theirs)                                                                \
    static_assert(sizeof(ours) == sizeof(theirs), #ours " size");                                  \
    static_assert(alignof(ours) == alignof(theirs), #ours " alignment");                           \
    static_assert(std::is_standard_layout_v<ours> && std::is_trivially_copyable_v<ours>)

T86_SAME_TYPE(KvmSegment, kvm_segment);
T86_SAME_MEMBER(KvmSegment, kvm_segment, base);
T86_SAME_MEMBER(KvmSegment, kvm_segment, limit);
T86_SAME_MEMBER(KvmSegment, kvm_segment, selector);
T86_SAME_MEMBER(KvmSegment, kvm_segment, type);
T86_SAME_MEMBER(KvmSegment, kvm_segment, present);
T86_SAME_MEMBER(KvmSegment, kvm_segment, dpl);
T86_SAME_MEMBER(KvmSegment, kvm_segment, db);
T86_SAME_MEMBER(KvmSegment, kvm_segment, s);
T86_SAME_MEMBER(KvmSegment, kvm_segment, l);
T86_SAME_MEMBER(KvmSegment, kvm_segment, g);
T86_SAME_MEMBER(KvmSegment, kvm_segment, avl);
T86_SAME_MEMBER(KvmSegment, kvm_segment, unusable);
T86_SAME_MEMBER(KvmSegment, kvm_segment, padding);

T86_SAME_TYPE(KvmDtable, kvm_dtable);
T86_SAME_MEMBER(KvmDtable, kvm_dtable, base);
T86_SAME_MEMBER(KvmDtable, kvm_dtable, limit);
T86_SAME_MEMBER(KvmDtable, kvm_dtable, padding);

T86_SAME_TYPE(KvmRegs, kvm_regs);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rax);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rbx);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rcx);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rdx);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rsi);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rdi);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rsp);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rbp);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r8);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r9);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r10);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r11);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r12);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r13);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r14);
T86_SAME_MEMBER(KvmRegs, kvm_regs, r15);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rip);
T86_SAME_MEMBER(KvmRegs, kvm_regs, rflags);

T86_SAME_TYPE(KvmFpu, kvm_fpu);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, fpr);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, fcw);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, fsw);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, ftwx);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, pad1);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, last_opcode);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, last_ip);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, last_dp);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, xmm);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, mxcsr);
T86_SAME_MEMBER(KvmFpu, kvm_fpu, pad2);

static_assert(kKvmNrInterrupts == KVM_NR_INTERRUPTS);
T86_SAME_TYPE(KvmSregs, kvm_sregs);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, cs);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, ds);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, es);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, fs);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, gs);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, ss);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, tr);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, ldt);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, gdt);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, idt);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, cr0);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, cr2);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, cr3);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, cr4);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, cr8);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, efer);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, apic_base);
T86_SAME_MEMBER(KvmSregs, kvm_sregs, interrupt_bitmap);

T86_SAME_TYPE(KvmDebugregs, kvm_debugregs);
T86_SAME_MEMBER(KvmDebugregs, kvm_debugregs, db);
T86_SAME_MEMBER(KvmDebugregs, kvm_debugregs, dr6);
T86_SAME_MEMBER(KvmDebugregs, kvm_debugregs, dr7);
T86_SAME_MEMBER(KvmDebugregs, kvm_debugregs, flags);
T86_SAME_MEMBER(KvmDebugregs, kvm_debugregs, reserved);

#undef T86_SAME_MEMBER
#undef T86_SAME_TYPE

// A 32-bit flat code segment as the GDT descriptor 0x00CF9B000000FFFF loads it.
constexpr SegmentCache kFlatCode32{
    .base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = 0x08};

TEST(KvmSegment, EachAccessRightsBitHasItsOwnField) {
    // SDM Vol. 3C Table 24-2; each bit set alone must land in exactly one kvm_segment field.
    const SegmentCache none{};
    EXPECT_EQ(to_kvm_segment(none), KvmSegment{});
    auto with = [](uint32_t access_rights) {
        return to_kvm_segment(SegmentCache{.access_rights = access_rights});
    };
    EXPECT_EQ(with(0xB).type, 0xB);
    EXPECT_EQ(with(ar::kS).s, 1);
    EXPECT_EQ(with(3u << ar::kDplShift).dpl, 3);
    EXPECT_EQ(with(1u << ar::kDplShift).dpl, 1);
    EXPECT_EQ(with(ar::kP).present, 1);
    EXPECT_EQ(with(ar::kAvl).avl, 1);
    EXPECT_EQ(with(ar::kL).l, 1);
    EXPECT_EQ(with(ar::kDb).db, 1);
    EXPECT_EQ(with(ar::kG).g, 1);
    EXPECT_EQ(with(ar::kUnusable).unusable, 1);
    // Each single bit above sets one field and nothing else.
    EXPECT_EQ(with(ar::kG), (KvmSegment{.g = 1}));
}

TEST(KvmSegment, FlatCode32ConvertsFieldByField) {
    const KvmSegment k = to_kvm_segment(kFlatCode32);
    EXPECT_EQ(k, (KvmSegment{.base = 0,
                             .limit = 0xFFFFFFFF,
                             .selector = 0x08,
                             .type = 0xB,
                             .present = 1,
                             .dpl = 0,
                             .db = 1,
                             .s = 1,
                             .l = 0,
                             .g = 1,
                             .avl = 0,
                             .unusable = 0,
                             .padding = 0}));
    EXPECT_EQ(from_kvm_segment(k), kFlatCode32);
}

TEST(KvmSegment, ReservedAccessRightsBitsAreDropped) {
    // Bits 11:8 and 31:17 have no kvm_segment field (kvm_state.hpp).
    const SegmentCache seg{.access_rights = 0x93 | ar::kReservedMask};
    EXPECT_EQ(from_kvm_segment(to_kvm_segment(seg)).access_rights, 0x93u);
}

TEST(KvmSegment, EveryValidAccessRightsWordRoundTrips) {
    for (uint32_t a = 0; a <= 0x1FFFF; ++a) {
        if ((a & ar::kReservedMask) != 0) continue;
        const SegmentCache seg{
            .base = 0x12345678, .limit = 0xABCDE, .access_rights = a, .selector = 0x1F};
        ASSERT_EQ(from_kvm_segment(to_kvm_segment(seg)), seg) << std::hex << a;
    }
}

CpuState distinct_state() {
    // Every field different, so a swapped pair cannot pass.
    CpuState s{};
    for (int i = 0; i < 8; ++i)
        s.gpr[i] = 0x11111111u * static_cast<uint32_t>(i + 1);
    s.eip = 0xFEDCBA98;
    s.eflags = 0x00200ED7;
    for (int i = 0; i < kNumSegs; ++i) {
        const auto n = static_cast<uint32_t>(i);
        s.seg[i] = SegmentCache{.base = uint64_t{0x1000} * (n + 1),
                                .limit = 0xFFFF0u + n,
                                .access_rights = 0x93u + (n << 13),
                                .selector = static_cast<uint16_t>(0x10 + 8 * n)};
    }
    s[Seg::CS] = kFlatCode32;
    s.ldtr = SegmentCache{.base = 0xA000, .limit = 0x37, .access_rights = 0x82, .selector = 0x48};
    s.tr = SegmentCache{.base = 0xB000, .limit = 0x67, .access_rights = 0x8B, .selector = 0x50};
    s.gdtr = {.base = 0xC000, .limit = 0x57};
    s.idtr = {.base = 0xD000, .limit = 0x7FF};
    s.cr0 = 0x80000011;
    s.cr2 = 0xDEAD000;
    s.cr3 = 0x3000;
    s.cr4 = 0x10;
    s.efer = 0x0;
    return s;
}

TEST(KvmState, GprsMapFromKvmOrderToModRmOrder) {
    const KvmRegs regs{.rax = 1,
                       .rbx = 2,
                       .rcx = 3,
                       .rdx = 4,
                       .rsi = 5,
                       .rdi = 6,
                       .rsp = 7,
                       .rbp = 8,
                       .rip = 0x1234,
                       .rflags = 0x246};
    const CpuState s = from_kvm(regs, KvmSregs{});
    EXPECT_EQ(s[Gpr::EAX], 1u);
    EXPECT_EQ(s[Gpr::EBX], 2u);
    EXPECT_EQ(s[Gpr::ECX], 3u);
    EXPECT_EQ(s[Gpr::EDX], 4u);
    EXPECT_EQ(s[Gpr::ESI], 5u);
    EXPECT_EQ(s[Gpr::EDI], 6u);
    EXPECT_EQ(s[Gpr::ESP], 7u);
    EXPECT_EQ(s[Gpr::EBP], 8u);
    EXPECT_EQ(s.eip, 0x1234u);
    EXPECT_EQ(s.eflags, 0x246u);
}

TEST(KvmState, SegmentsMapByName) {
    const CpuState s = distinct_state();
    KvmRegs regs{};
    KvmSregs sregs{};
    to_kvm(s, regs, sregs);
    EXPECT_EQ(sregs.es, to_kvm_segment(s[Seg::ES]));
    EXPECT_EQ(sregs.cs, to_kvm_segment(s[Seg::CS]));
    EXPECT_EQ(sregs.ss, to_kvm_segment(s[Seg::SS]));
    EXPECT_EQ(sregs.ds, to_kvm_segment(s[Seg::DS]));
    EXPECT_EQ(sregs.fs, to_kvm_segment(s[Seg::FS]));
    EXPECT_EQ(sregs.gs, to_kvm_segment(s[Seg::GS]));
    EXPECT_EQ(sregs.ldt, to_kvm_segment(s.ldtr));
    EXPECT_EQ(sregs.tr, to_kvm_segment(s.tr));
    EXPECT_EQ(sregs.gdt.base, 0xC000u);
    EXPECT_EQ(sregs.gdt.limit, 0x57);
    EXPECT_EQ(sregs.idt.base, 0xD000u);
    EXPECT_EQ(sregs.idt.limit, 0x7FF);
    EXPECT_EQ(sregs.cr0, 0x80000011u);
    EXPECT_EQ(sregs.cr2, 0xDEAD000u);
    EXPECT_EQ(sregs.cr3, 0x3000u);
    EXPECT_EQ(sregs.cr4, 0x10u);
}

TEST(KvmState, CpuStateRoundTrips) {
    const CpuState s = distinct_state();
    KvmRegs regs{};
    KvmSregs sregs{};
    to_kvm(s, regs, sregs);
    EXPECT_EQ(from_kvm(regs, sregs), s);
}

TEST(KvmState, KvmStateRoundTripsAndKeepsWhatCpuStateLacks) {
    KvmRegs regs{.rax = 0xA,
                 .rbx = 0xB,
                 .rcx = 0xC,
                 .rdx = 0xD,
                 .rsi = 0x51,
                 .rdi = 0xD1,
                 .rsp = 0x5F,
                 .rbp = 0xBF,
                 .r8 = 8,
                 .r15 = 15,
                 .rip = 0xFFF0,
                 .rflags = 2};
    KvmSregs sregs{};
    sregs.cs = to_kvm_segment(kFlatCode32);
    sregs.ds = KvmSegment{.limit = 0xFFFF, .type = 3, .present = 1, .s = 1};
    sregs.tr = KvmSegment{.limit = 0xFFFF, .type = 0xB, .present = 1};
    sregs.gdt = KvmDtable{.base = 0x500, .limit = 0x17, .padding = {}};
    sregs.cr0 = 0x60000010;
    sregs.cr8 = 0x5;
    sregs.apic_base = 0xFEE00900;
    sregs.interrupt_bitmap[1] = 0x80;
    const KvmRegs regs_before = regs;
    const KvmSregs sregs_before = sregs;

    to_kvm(from_kvm(regs, sregs), regs, sregs);
    EXPECT_EQ(regs, regs_before);
    EXPECT_EQ(sregs, sregs_before);
}

TEST(KvmState, UpperHalvesAreTruncatedThenZeroExtended) {
    KvmRegs regs{.rax = 0xFFFFFFFF00000001, .rip = 0x100000002, .rflags = 0x100000002};
    KvmSregs sregs{};
    const CpuState s = from_kvm(regs, sregs);
    EXPECT_EQ(s[Gpr::EAX], 1u);
    EXPECT_EQ(s.eip, 2u);
    to_kvm(s, regs, sregs);
    EXPECT_EQ(regs.rax, 1u);
    EXPECT_EQ(regs.rip, 2u);
    EXPECT_EQ(regs.rflags, 2u);
}

TEST(KvmState, LayoutMatchesLinuxByteForByte) {
    // The static_asserts above prove the offsets; this proves a real kvm_sregs reads back
    // through our struct with std::bit_cast, as the KVM oracle uses it.
    kvm_sregs theirs{};
    theirs.cs.selector = 0xF000;
    theirs.cs.base = 0xFFFF0000;
    theirs.cs.type = 0xB;
    theirs.cs.unusable = 1;
    theirs.idt.limit = 0x3FF;
    theirs.efer = 0x500;
    theirs.interrupt_bitmap[3] = 1;
    const auto ours = std::bit_cast<KvmSregs>(theirs);
    EXPECT_EQ(ours.cs.selector, 0xF000);
    EXPECT_EQ(ours.cs.base, 0xFFFF0000u);
    EXPECT_EQ(ours.cs.type, 0xB);
    EXPECT_EQ(ours.cs.unusable, 1);
    EXPECT_EQ(ours.idt.limit, 0x3FF);
    EXPECT_EQ(ours.efer, 0x500u);
    EXPECT_EQ(ours.interrupt_bitmap[3], 1u);
}

TEST(KvmState, DebugregsBufferReadsThroughKvmDebugregs) {
    kvm_debugregs theirs{};
    theirs.db[2] = 0x7C00;
    theirs.dr6 = 0xFFFF4FF0;
    theirs.dr7 = 0x420;
    const auto ours = std::bit_cast<KvmDebugregs>(theirs);
    CpuState s{};
    from_kvm_debugregs(ours, s);
    EXPECT_EQ(s.dr[2], 0x7C00u);
    EXPECT_EQ(s.dr6, 0xFFFF4FF0u);
    EXPECT_EQ(s.dr7, 0x420u);
    KvmDebugregs back = ours;
    to_kvm_debugregs(s, back);
    EXPECT_EQ(back, ours);
}

} // namespace
} // namespace transit86
