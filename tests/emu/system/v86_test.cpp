// Virtual-8086 mode events (SDM Vol. 3A 20.3 "Interrupt and Exception Handling in
// Virtual-8086 Mode"; Vol. 2 INT n "INTERRUPT-FROM-VIRTUAL-8086-MODE" and IRET
// "RETURN-TO-VIRTUAL-8086-MODE"). Expected values are worked out by hand from those sections.
//
// The machine is in protected mode with a 32-bit TSS at 0x3000 (SS0:ESP0 = 10:9000) and the
// IDT at 0x900; the V86 tests start in virtual-8086 mode at 0100:0000 (linear 0x1000) with
// SS:SP = 0700:1000 (linear 0x8000), DS 0300, ES 0400, FS 0500, GS 0600, IOPL 3, IF 1.
#include "machine.hpp"
#include "system_tables.hpp"

namespace transit86::test {
namespace {

constexpr uint32_t kTss = 0x3000;
constexpr uint16_t kSelTss = 0x28;
constexpr uint32_t kIdt = 0x900;
constexpr uint32_t kRing0Stack = 0x9000;
constexpr uint32_t kHandler = 0x5000;
constexpr uint32_t kV86Flags = flags::Fixed1 | flags::VM | flags::IOPL | flags::IF;

SegmentCache v86(uint16_t selector) {
    return segment_cache(selector, uint32_t{selector} << 4, 0xFFFF, 0xF3);
}

class V86 : public ::testing::Test {
  protected:
    V86() {
        m.set_descriptor(kSelTss >> 3, kTss, 0x67, access::kTss32 | 2, 0);
        m.state().tr = segment_cache(kSelTss, kTss, 0x67, 0x8B);
        m.write32(kTss + tss32::kEsp0, kRing0Stack);
        m.write16(kTss + tss32::kSs0, kData32);
        m.state().idtr = {.base = kIdt, .limit = 0x7FF};
        write_gate(m, kIdt + 0x40 * 8, kCode32, kHandler, kIntGate32 | kDpl3);
    }
    void enter_v86(uint32_t eflags = kV86Flags) {
        CpuState& s = m.state();
        s.eflags = eflags;
        s[Seg::CS] = v86(0x0100);
        s[Seg::SS] = v86(0x0700);
        s[Seg::DS] = v86(0x0300);
        s[Seg::ES] = v86(0x0400);
        s[Seg::FS] = v86(0x0500);
        s[Seg::GS] = v86(0x0600);
        s.eip = 0;
        s[Gpr::ESP] = 0x1000;
    }
    // The doubleword `index` slots above the ring-0 stack pointer.
    uint32_t frame(uint32_t index) { return m.read32(m.gpr(Gpr::ESP) + 4 * index); }

    Machine m{Mode::Protected32};
};

TEST_F(V86, IntToRing0SwitchesStacksAndSavesTheDataSegments) {
    // SDM INT n, INTERRUPT-FROM-VIRTUAL-8086-MODE: SS:ESP from TSS.SS0:ESP0; push GS, FS, DS,
    // ES, then SS, ESP, EFLAGS, CS, EIP; GS, FS, DS, ES := 0; VM, TF, RF, NT := 0 and, for an
    // interrupt gate, IF := 0; CPL 0.
    enter_v86();
    m.load_code({0xCD, 0x40}); // int 0x40
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ESP), kRing0Stack - 36);
    EXPECT_EQ(frame(0), 2u); // EIP after the INT
    EXPECT_EQ(frame(1), 0x0100u);
    EXPECT_EQ(frame(2), kV86Flags);
    EXPECT_EQ(frame(3), 0x1000u); // ESP
    EXPECT_EQ(frame(4), 0x0700u); // SS
    EXPECT_EQ(frame(5), 0x0400u); // ES
    EXPECT_EQ(frame(6), 0x0300u); // DS
    EXPECT_EQ(frame(7), 0x0500u); // FS
    EXPECT_EQ(frame(8), 0x0600u); // GS
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(m.seg(Seg::CS).selector, kCode32);
    EXPECT_EQ(m.seg(Seg::SS).selector, kData32);
    for (Seg seg : {Seg::DS, Seg::ES, Seg::FS, Seg::GS}) {
        EXPECT_EQ(m.seg(seg).selector, 0);
        EXPECT_NE(m.seg(seg).access_rights & ar::kUnusable, 0u);
    }
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::IOPL);
    EXPECT_EQ(m.state().cpl(), 0u);
}

TEST_F(V86, TrapGateKeepsIf) {
    write_gate(m, kIdt + 0x40 * 8, kCode32, kHandler, kTrapGate32 | kDpl3);
    enter_v86();
    m.load_code({0xCD, 0x40}); // int 0x40
    m.run(1);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::IOPL | flags::IF);
}

TEST_F(V86, IntWithIoplBelowThreeRaisesGP0) {
    // SDM INT n: "IF (EFLAGS.VM = 1 AND CR4.VME = 0 AND IOPL < 3 AND INT n) THEN #GP(0)"
    // (method 2 of Vol. 3A Table 20-2; the VME methods are in vme_test.cpp).
    enter_v86(flags::Fixed1 | flags::VM);
    m.load_code({0xCD, 0x40}); // int 0x40
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(V86, FaultDeliveredToRing0PushesTheErrorCode) {
    // The #GP(0) above, delivered through IDT[13]: ten doublewords with the error code, the
    // saved EIP at the faulting INT and EFLAGS with RF (SDM Vol. 3B 18.3.1.1).
    write_gate(m, kIdt + vec::kGP * 8, kCode32, kHandler, kIntGate32);
    m.exceptions_to_host = false;
    enter_v86(flags::Fixed1 | flags::VM);
    m.load_code({0xCD, 0x40}); // int 0x40
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ESP), kRing0Stack - 40);
    EXPECT_EQ(frame(0), 0u); // error code
    EXPECT_EQ(frame(1), 0u); // EIP of the INT
    EXPECT_EQ(frame(2), 0x0100u);
    EXPECT_EQ(frame(3), flags::Fixed1 | flags::VM | flags::RF);
    EXPECT_EQ(frame(9), 0x0600u); // GS
    EXPECT_EQ(m.eip(), kHandler);
}

TEST_F(V86, HandlerNotAtDplZeroRaisesGPSelector) {
    // SDM INT n: from VM = 1, "IF code-segment DPL != 0 THEN #GP(new code-segment selector)".
    m.set_descriptor(9, 0, 0xFFFFF, access::kCodeER | kDpl3, kFlat32Flags);
    write_gate(m, kIdt + 0x40 * 8, 9 << 3, kHandler, kIntGate32 | kDpl3);
    enter_v86();
    m.load_code({0xCD, 0x40}); // int 0x40
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 9 << 3));
}

TEST_F(V86, GateBelowCplThreeRaisesGPGate) {
    // Software INT n at CPL 3 through a DPL 0 gate: #GP(vector * 8 + 2).
    write_gate(m, kIdt + 0x40 * 8, kCode32, kHandler, kIntGate32);
    enter_v86();
    m.load_code({0xCD, 0x40}); // int 0x40
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0x40 * 8 + 2));
}

TEST_F(V86, Ring0StackWithoutRoomRaisesSS) {
    // "IF new stack does not have room for 36 bytes (no error code) THEN #SS(EXT)".
    m.write32(kTss + tss32::kEsp0, 32);
    enter_v86();
    m.load_code({0xCD, 0x40}); // int 0x40
    EXPECT_TRUE(is_exception(m.run(1), vec::kSS, 0));
    EXPECT_NE(m.state().eflags & flags::VM, 0u); // nothing changed
}

// ---- IRET at CPL 0 with VM = 1 in the popped EFLAGS

void push_v86_frame(Machine& m, uint32_t eip, uint32_t eflags) {
    const uint32_t values[] = {eip, 0x0100, eflags, 0x1000, 0x0700, 0x0400, 0x0300, 0x0500, 0x0600};
    m.gpr(Gpr::ESP) = kRing0Stack - 36;
    for (uint32_t i = 0; i < 9; ++i)
        m.write32(kRing0Stack - 36 + 4 * i, values[i]);
}

TEST_F(V86, IretEntersVirtual8086ModeWithItsSegmentCaches) {
    // SDM IRET, RETURN-TO-VIRTUAL-8086-MODE: EFLAGS := tempEFLAGS; ESP, SS, ES, DS, FS, GS
    // popped; CS:EIP := tempCS:tempEIP; CPL := 3. Every cache is base = selector * 16, limit
    // FFFFH, AR F3H (SDM Vol. 3A 20.2.1; Vol. 3C 26.3.1.2 for the AR VM entry expects).
    push_v86_frame(m, 0x0020, kV86Flags);
    m.load_code({0xCF}); // iretd
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, kV86Flags);
    EXPECT_EQ(m.eip(), 0x20u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1000u);
    EXPECT_EQ(m.seg(Seg::CS), v86(0x0100));
    EXPECT_EQ(m.seg(Seg::SS), v86(0x0700));
    EXPECT_EQ(m.seg(Seg::ES), v86(0x0400));
    EXPECT_EQ(m.seg(Seg::DS), v86(0x0300));
    EXPECT_EQ(m.seg(Seg::FS), v86(0x0500));
    EXPECT_EQ(m.seg(Seg::GS), v86(0x0600));
    EXPECT_EQ(m.state().cpl(), 3u);
}

TEST_F(V86, IretWithEipAboveFFFFRaisesGP0) {
    push_v86_frame(m, 0x10000, kV86Flags);
    m.load_code({0xCF}); // iretd
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().eflags & flags::VM, 0u);
}

TEST_F(V86, SixteenBitIretIgnoresVm) {
    // The VM bit is in the upper half of EFLAGS: a 16-bit IRET cannot set it, and returns
    // to the same level (CS 08 from the frame's low words).
    m.gpr(Gpr::ESP) = kRing0Stack - 6;
    m.write16(kRing0Stack - 6, 0x1234);
    m.write16(kRing0Stack - 4, kCode32);
    m.write16(kRing0Stack - 2, flags::Fixed1);
    m.load_code({0x66, 0xCF}); // iret
    m.run(1);
    EXPECT_EQ(m.state().eflags & flags::VM, 0u);
    EXPECT_EQ(m.eip(), 0x1234u);
}

TEST_F(V86, RoundTripIretInIntOut) {
    // IRET into V86 code at 0100:0020 that does `int 0x40`; the handler sees the same frame.
    push_v86_frame(m, 0x0020, kV86Flags);
    m.load_code({0xCF});                // iretd
    m.load(0x1020, {0x90, 0xCD, 0x40}); // nop ; int 0x40
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(m.gpr(Gpr::ESP), kRing0Stack - 36);
    EXPECT_EQ(frame(0), 0x23u);
    EXPECT_EQ(frame(3), 0x1000u);
    EXPECT_EQ(m.state().cpl(), 0u);
}

} // namespace
} // namespace transit86::test
