// Faults and exits: protected-mode segment-load checks, far-transfer checks, limit and type
// violations (incl. real mode at offset FFFF and expand-down segments), how exceptions,
// unsupported instructions, MMIO, triple faults and the budget end a run.
#include "machine.hpp"

namespace transit86::test {

namespace {

constexpr unsigned kIndex = 5;
constexpr uint16_t kSelector = kIndex * 8; // 0x28

// Protected mode with GDT entry 5 = `access_byte` (base 0, limit FFFF, B = 1) and
// `mov <sreg>, ax` with AX = `selector` loaded at kCode; runs it once.
Exit load_segment(Machine& m, uint8_t sreg_modrm, uint16_t selector, uint8_t access_byte) {
    m.set_descriptor(kIndex, 0, 0xFFFF, access_byte, 0x4);
    m.load_code({0x8E, sreg_modrm});
    m.gpr(Gpr::EAX) = selector;
    return m.run(1);
}
constexpr uint8_t kMovDsAx = 0xD8, kMovSsAx = 0xD0;

} // namespace

// ---- Segment loads in protected mode (SDM Vol. 2B MOV, "Protected Mode Exceptions";
// Vol. 3A 5.7 privilege checks for data, 5.8/5.10 for the stack)

TEST(SegmentLoad, DataRplAboveDplRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const SegmentCache ds_before = m.seg(Seg::DS);
    const Exit e = load_segment(m, kMovDsAx, kSelector | 3, access::kDataRW);
    EXPECT_TRUE(is_exception(e, vec::kGP, kSelector));
    EXPECT_EQ(m.seg(Seg::DS), ds_before);
}

TEST(SegmentLoad, DataDplBelowCplRaisesGPSelector) {
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    const Exit e = load_segment(m, kMovDsAx, kSelector, access::kDataRW); // RPL 0, DPL 0
    EXPECT_TRUE(is_exception(e, vec::kGP, kSelector));
}

TEST(SegmentLoad, DataNotPresentRaisesNPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovDsAx, kSelector, access::kDataRW & 0x7F);
    EXPECT_TRUE(is_exception(e, vec::kNP, kSelector));
}

TEST(SegmentLoad, ExecuteOnlyCodeIntoDsRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovDsAx, kSelector, 0x98);
    EXPECT_TRUE(is_exception(e, vec::kGP, kSelector));
}

TEST(SegmentLoad, ReadableCodeIntoDsIsAllowed) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovDsAx, kSelector, access::kCodeER);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(m.seg(Seg::DS), segment_cache(kSelector, 0, 0xFFFF, 0x409B));
}

TEST(SegmentLoad, SystemDescriptorIntoDsRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovDsAx, kSelector, access::kTss32);
    EXPECT_TRUE(is_exception(e, vec::kGP, kSelector));
}

TEST(SegmentLoad, SelectorBeyondGdtLimitRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovDsAx, 0x0100, access::kDataRW); // 0x100 + 7 > 0xFF
    EXPECT_TRUE(is_exception(e, vec::kGP, 0x0100));
}

TEST(SegmentLoad, LdtSelectorWithoutAnLdtRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovDsAx, 0x000C, access::kDataRW); // TI = 1, LDTR unusable
    EXPECT_TRUE(is_exception(e, vec::kGP, 0x000C));
}

TEST(SegmentLoad, NullSsRaisesGP0) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovSsAx, 0x0000, access::kDataRW);
    EXPECT_TRUE(is_exception(e, vec::kGP, 0));
}

TEST(SegmentLoad, SsRplNotCplRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovSsAx, kSelector | 3, access::kDataRW);
    EXPECT_TRUE(is_exception(e, vec::kGP, kSelector));
}

TEST(SegmentLoad, SsDplNotCplRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovSsAx, kSelector, 0xF2); // DPL 3 at CPL 0
    EXPECT_TRUE(is_exception(e, vec::kGP, kSelector));
}

TEST(SegmentLoad, SsReadOnlyDataRaisesGPSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovSsAx, kSelector, access::kDataRO);
    EXPECT_TRUE(is_exception(e, vec::kGP, kSelector));
}

TEST(SegmentLoad, SsNotPresentRaisesSSSelector) {
    Machine m(Mode::Protected32);
    const Exit e = load_segment(m, kMovSsAx, kSelector, access::kDataRW & 0x7F);
    EXPECT_TRUE(is_exception(e, vec::kSS, kSelector));
}

TEST(NullSegment, DataAccessThroughItRaisesGP0) {
    // SDM Vol. 3A 3.4.2: loading a null selector is allowed; using it raises #GP(0).
    Machine m(Mode::Protected32);
    m.load_code({
        0x8E, 0xD8,                   // mov ds, ax
        0xA1, 0x00, 0x00, 0x00, 0x00, // mov eax, [0]
    });
    m.gpr(Gpr::EAX) = 0;
    const Exit e = m.run(2);
    EXPECT_TRUE(is_exception(e, vec::kGP, 0));
    EXPECT_EQ(m.eip(), kCode + 2);
}

// ---- Far transfers in protected mode (SDM Vol. 2A JMP, "Protected Mode Exceptions")

TEST(FarJump, NullSelectorRaisesGP0) {
    Machine m(Mode::Protected32);
    m.load_code({0xEA, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00}); // jmp 0:0x2000
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(FarJump, NonConformingCodeWithRplAboveCplRaisesGPSelector) {
    Machine m(Mode::Protected32);
    m.load_code({0xEA, 0x00, 0x20, 0x00, 0x00, 0x1B, 0x00}); // jmp 0x1B:0x2000
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kCode16));
}

TEST(FarJump, DataSegmentRaisesGPSelector) {
    Machine m(Mode::Protected32);
    m.load_code({0xEA, 0x00, 0x20, 0x00, 0x00, 0x10, 0x00}); // jmp 0x10:0x2000
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kData32));
}

TEST(FarJump, NotPresentCodeRaisesNPSelector) {
    Machine m(Mode::Protected32);
    m.set_descriptor(kIndex, 0, 0xFFFF, access::kCodeER & 0x7F, 0);
    m.load_code({0xEA, 0x00, 0x20, 0x00, 0x00, 0x28, 0x00}); // jmp 0x28:0x2000
    EXPECT_TRUE(is_exception(m.run(1), vec::kNP, kSelector));
}

TEST(FarJump, OffsetBeyondTheNewLimitRaisesGP0) {
    Machine m(Mode::Protected32);
    m.set_descriptor(kIndex, 0, 0x0FFF, access::kCodeER, 0x4);
    m.load_code({0xEA, 0x00, 0x20, 0x00, 0x00, 0x28, 0x00}); // jmp 0x28:0x2000
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.seg(Seg::CS).selector, kCode32);
}

// ---- Limit and type checks (SDM Vol. 3A 5.3 limit checking, 5.4 type checking; 6.15:
// stack-segment violations are #SS, all others #GP)

TEST(Limit, DataAccessBeyondTheLimitRaisesGP0) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS) = segment_cache(kData16, 0, 0xFFFF, 0x0093);
    m.load_code({0xA1, 0xFD, 0xFF, 0x00, 0x00}); // mov eax, [0xFFFD]: bytes FFFD..10000
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(Limit, DataAccessEndingAtTheLimitIsAllowed) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS) = segment_cache(kData16, 0, 0xFFFF, 0x0093);
    m.load_code({0xA1, 0xFC, 0xFF, 0x00, 0x00}); // mov eax, [0xFFFC]
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
}

// 5.3: with an effective limit of FFFFFFFFH an access past offset FFFFFFFFH "may or may not"
// fault. transit86 wraps its offsets to 0, as QEMU and Bochs do (SYSLINUX's hdt.c32 relies on
// it; docs/known-differences.md, "Where the SDM leaves the outcome to the implementation").
TEST(Limit, FourGigabyteSegmentWrapsAnAccessPastOffsetFFFFFFFF) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS) = segment_cache(kData32, 0x2000, 0xFFFFFFFF, 0xC093);
    m.write32(0x1FFE, 0x44332211);
    m.load_code({0xA1, 0xFE, 0xFF, 0xFF, 0xFF}); // mov eax, [0xFFFFFFFE]: offsets FFFFFFFE..1
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x44332211u);
}

TEST(Limit, FourGigabyteStackWrapsAPushPastOffsetFFFFFFFF) {
    Machine m(Mode::Protected32);
    m.seg(Seg::SS) = segment_cache(kData32, 0x2000, 0xFFFFFFFF, 0xC093);
    m.gpr(Gpr::ESP) = 2;
    m.gpr(Gpr::EAX) = 0x88776655;
    m.load_code({0x50}); // push eax: offsets FFFFFFFE..1
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0xFFFFFFFEu);
    EXPECT_EQ(m.read32(0x1FFE), 0x88776655u);
}

// The linear address space wraps at 4 GiB too: a dword at linear FFFFFFFEH is two bytes at the
// top of the physical space (outside RAM here: the host completes them) and two at 0.
TEST(Limit, AccessAtTheTopOfTheLinearSpaceWrapsToZero) {
    Machine m(Mode::Protected32);
    m.write32(0, 0x0000DDCC);
    m.load_code({0xA1, 0xFE, 0xFF, 0xFF, 0xFF}); // mov eax, [0xFFFFFFFE]
    const Exit e = m.run(1);
    ASSERT_EQ(e.reason, ExitReason::Mmio);
    EXPECT_EQ(e.mmio_address, 0xFFFFFFFEu);
    EXPECT_EQ(e.mmio_size, 2);
    m.emulator().complete_mmio(0xBBAA);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xDDCCBBAAu);
}

TEST(Limit, StackAccessBeyondTheLimitRaisesSS0) {
    Machine m(Mode::Protected32);
    m.seg(Seg::SS) = segment_cache(kData32, 0, 0x0FFF, 0x4093);
    m.gpr(Gpr::ESP) = 0x1000;
    m.load_code({0x58}); // pop eax
    EXPECT_TRUE(is_exception(m.run(1), vec::kSS, 0));
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1000u);
}

TEST(Limit, WriteToReadOnlyDataRaisesGP0) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS).access_rights = 0xC091;
    m.load_code({0xA2, 0x00, 0x20, 0x00, 0x00}); // mov [0x2000], al
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(Limit, WriteThroughCsRaisesGP0) {
    Machine m(Mode::Protected32);
    m.load_code({0x2E, 0xA2, 0x00, 0x20, 0x00, 0x00}); // mov cs:[0x2000], al
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(Limit, ReadThroughExecuteOnlyCsRaisesGP0) {
    Machine m(Mode::Protected32);
    m.seg(Seg::CS).access_rights = 0xC099;
    m.load_code({0x2E, 0xA0, 0x00, 0x20, 0x00, 0x00}); // mov al, cs:[0x2000]
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// Real mode (SDM Vol. 3A ch. 22, "Segment Wraparound"): a word at offset FFFF does not wrap as
// on the 8086; it raises #GP (data segments) or #SS (stack), delivered through the IVT.
TEST(Limit, RealModeWordAtOffsetFFFFRaisesGP) {
    Machine m;
    m.set_ivt(vec::kGP, 0x0500, 0x0000);
    m.load_code({0xA1, 0xFF, 0xFF}); // mov ax, [0xFFFF]
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0500);
    EXPECT_EQ(m.eip(), 0u);
    EXPECT_EQ(m.read16(kStackTop - 6), kCode);
}

TEST(Limit, RealModeStackWordAtOffsetFFFFRaisesSS) {
    Machine m;
    m.set_ivt(vec::kSS, 0x0600, 0x0000);
    m.load_code({0x8B, 0x46, 0x00}); // mov ax, [bp] (SS)
    m.gpr(Gpr::EBP) = 0xFFFF;
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0600);
    EXPECT_EQ(m.read16(kStackTop - 6), kCode);
}

// ---- Expand-down data segments (SDM Vol. 3A 3.4.5.1, 5.3: valid offsets are limit+1 up to
// FFFFFFFFH with B = 1, FFFFH with B = 0)

TEST(ExpandDown, OffsetAboveTheLimitIsAccessible) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS) = segment_cache(kSelector, 0x10000, 0x0FFF, 0x4097);
    m.write32(0x11000, 0x12345678);
    m.load_code({0xA1, 0x00, 0x10, 0x00, 0x00}); // mov eax, [0x1000]
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x12345678u);
}

TEST(ExpandDown, OffsetAtTheLimitRaisesGP0) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS) = segment_cache(kSelector, 0x10000, 0x0FFF, 0x4097);
    m.load_code({0xA0, 0xFF, 0x0F, 0x00, 0x00}); // mov al, [0x0FFF]
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(ExpandDown, BClearCapsOffsetsAtFFFF) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS) = segment_cache(kSelector, 0, 0x0FFF, 0x0097);
    m.load_code({
        0x66, 0xA1, 0xFE, 0xFF, 0x00, 0x00, // mov ax, [0xFFFE]: bytes FFFE..FFFF
        0xA1, 0xFE, 0xFF, 0x00, 0x00,       // mov eax, [0xFFFE]: bytes FFFE..10001
    });
    EXPECT_TRUE(is_exception(m.run(2), vec::kGP, 0));
    EXPECT_EQ(m.eip(), kCode + 6);
}

TEST(ExpandDown, StackPushAtOrBelowTheLimitRaisesSS0) {
    Machine m(Mode::Protected32);
    m.seg(Seg::SS) = segment_cache(kData32, 0, 0x7FFF, 0x4097);
    m.load_code({0x50}); // push eax: writes 7FFC..7FFF
    EXPECT_TRUE(is_exception(m.run(1), vec::kSS, 0));
}

// ---- How runs end

TEST(Exception, ProtectedModeExitCarriesVectorErrorCodeAndTheFaultingInstruction) {
    // A protected-mode fault is handed to the host (as KVM fails the emulation); the
    // faulting instruction has not retired: EIP stays at it.
    Machine m(Mode::Protected32);
    m.set_descriptor(kIndex, 0, 0xFFFF, access::kDataRW, 0x4); // DPL 0
    m.load_code({
        0x66, 0xB8, 0x2B, 0x00, // mov ax, 0x2B
        0x8E, 0xD8,             // mov ds, ax -> #GP(0x28)
    });
    const Exit e = m.run(10);
    EXPECT_TRUE(is_exception(e, vec::kGP, 0x28));
    EXPECT_EQ(e.instructions, 1u);
    EXPECT_EQ(e.linear_address, kCode + 4);
    EXPECT_EQ(m.eip(), kCode + 4);
}

TEST(Exception, UndefinedOpcodeHasNoErrorCode) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0x0B}); // ud2
    EXPECT_TRUE(is_exception(m.run(1), vec::kUD));
}

TEST(Unsupported, ReportsTheBytesAndTheLinearAddress) {
    Machine m;
    m.seg(Seg::CS) = segment_cache(0x0100, 0x1000, 0xFFFF, 0x9B);
    m.state().eip = 0x0010;
    m.load(0x1010, {0x0F, 0x58, 0xC1}); // addps xmm0, xmm1 (SSE: no handler)
    const Exit e = m.run(1);
    ASSERT_EQ(e.reason, ExitReason::Unsupported);
    EXPECT_EQ(e.linear_address, 0x1010u);
    ASSERT_EQ(e.byte_count, 3);
    EXPECT_EQ(e.bytes[0], 0x0F);
    EXPECT_EQ(e.bytes[1], 0x58);
    EXPECT_EQ(e.bytes[2], 0xC1);
    EXPECT_EQ(e.instructions, 0u);
    EXPECT_EQ(m.eip(), 0x0010u);
}

TEST(Mmio, AccessOutsideRamExitsWithTheAddress) {
    Machine m(Mode::Protected32);
    m.load_code({0xA1, 0x00, 0x00, 0x30, 0x00}); // mov eax, [0x300000]
    const Exit e = m.run(1);
    ASSERT_EQ(e.reason, ExitReason::Mmio);
    EXPECT_EQ(e.mmio_address, 0x300000u);
    EXPECT_EQ(e.mmio_size, 4);
    EXPECT_FALSE(e.mmio_write);
    EXPECT_EQ(m.eip(), kCode);
}

// SDM INT n, Operation (real-address mode): a vector beyond the IDTR limit raises #GP; a
// fault while delivering a contributory fault is a double fault, and a fault while
// delivering #DF is shutdown (SDM Vol. 3A 6.15, Interrupt 8, Table 6-5).
TEST(TripleFault, RealModeFaultWithIdtrLimitZero) {
    Machine m;
    m.state().idtr.limit = 0;
    m.load_code({0xF6, 0xF3}); // div bl with BL = 0 -> #DE
    const Exit e = m.run(5);
    EXPECT_EQ(e.reason, ExitReason::TripleFault);
    EXPECT_EQ(m.eip(), kCode);
}

TEST(TripleFault, RealModeUndefinedOpcodeWithIdtrLimitZero) {
    Machine m;
    m.state().idtr.limit = 0;
    m.load_code({0x0F, 0x0B}); // ud2
    EXPECT_EQ(m.run(5).reason, ExitReason::TripleFault);
}

TEST(Budget, ExitsAfterExactlyNInstructions) {
    Machine m;
    m.load_code({0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90}); // nop x 10
    const Exit e = m.run(7);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(e.instructions, 7u);
    EXPECT_EQ(m.eip(), kCode + 7);
}

} // namespace transit86::test
