// Virtual-8086 mode extensions (CR4.VME) and protected-mode virtual interrupts (CR4.PVI):
// SDM Vol. 3A 20.3.2 (VIF, VIP), 20.3.3 and Table 20-2 (the six methods for INT n), 20.4
// (PVI); Vol. 2 CLI, STI, PUSHF, POPF, IRET, INT n "Operation". Expected values are worked out
// by hand from those sections.
//
// The V86 tests: protected mode with a 32-bit TSS at 0x3000 (SS0:ESP0 = 10:9000) whose I/O map
// base is 88H, so the redirection bit map is TSS bytes 68H-87H (all zero: every INT n
// redirected); the IDT at 0x900; virtual-8086 code at 0100:0000 (linear 0x1000) with SS:SP =
// 0700:1000 (linear 0x8000); the 8086 program's IVT entry 21H at linear 84H points to
// 0200:0030.
#include "machine.hpp"
#include "system_tables.hpp"

namespace transit86::test {
namespace {

constexpr uint32_t kTss = 0x3000;
constexpr uint16_t kSelTss = 0x28;
constexpr uint16_t kIoMapBase = 0x88;
constexpr uint32_t kRedirectionMap = kTss + kIoMapBase - 32;
constexpr uint32_t kIdt = 0x900;
constexpr uint32_t kRing0Stack = 0x9000;
constexpr uint32_t kHandler = 0x5000;
constexpr uint32_t kV86 = flags::Fixed1 | flags::VM; // IOPL 0, IF 0
constexpr uint32_t kIopl3 = flags::IOPL;
constexpr uint32_t kV86Stack = 0x8000; // 0700:1000

SegmentCache v86(uint16_t selector) {
    return segment_cache(selector, uint32_t{selector} << 4, 0xFFFF, 0xF3);
}

class Vme : public ::testing::Test {
  protected:
    Vme() {
        m.set_descriptor(kSelTss >> 3, kTss, kIoMapBase + 1, access::kTss32 | 2, 0);
        m.state().tr = segment_cache(kSelTss, kTss, kIoMapBase + 1, 0x8B);
        m.write32(kTss + tss32::kEsp0, kRing0Stack);
        m.write16(kTss + tss32::kSs0, kData32);
        m.write16(kTss + 0x66, kIoMapBase);
        m.state().idtr = {.base = kIdt, .limit = 0x7FF};
        m.state().cr4 = cr4::VME;
        for (uint32_t vector : {0x03u, 0x04u, 0x21u, 0x80u})
            write_gate(m, kIdt + vector * 8, kCode32, kHandler, kIntGate32 | kDpl3);
        m.set_ivt(0x21, 0x0200, 0x0030);
    }
    void enter_v86(uint32_t eflags) {
        CpuState& s = m.state();
        s.eflags = eflags;
        s[Seg::CS] = v86(0x0100);
        s[Seg::SS] = v86(0x0700);
        for (Seg seg : {Seg::DS, Seg::ES, Seg::FS, Seg::GS})
            s[seg] = v86(0x0300);
        s.eip = 0;
        s[Gpr::ESP] = 0x1000;
    }
    // Bit `vector` of the redirection bit map: 1 = to the protected-mode IDT.
    void to_idt(uint8_t vector) {
        const uint32_t at = kRedirectionMap + vector / 8;
        m.write8(at, static_cast<uint8_t>(m.read8(at) | (1u << (vector % 8))));
    }
    // The word `index` slots into the V86 stack (slot 0 at SP).
    uint16_t v86_word(uint32_t index) {
        return m.read16(kV86Stack - 0x1000 + m.gpr(Gpr::ESP) + 2 * index);
    }
    uint32_t ring0_frame(uint32_t index) { return m.read32(m.gpr(Gpr::ESP) + 4 * index); }

    Machine m{Mode::Protected32};
};

// ---- CLI and STI (SDM CLI/STI "Operation", Tables 3-7 and 4-24)

TEST_F(Vme, CliAboveIoplClearsVifAndKeepsIf) {
    // VM = 1, IOPL < 3, VME = 1: "VIF := 0", IF unaffected.
    enter_v86(kV86 | flags::IF | flags::VIF);
    m.load_code({0xFA}); // cli
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, kV86 | flags::IF);
}

TEST_F(Vme, StiAboveIoplSetsVifWithoutAnInterruptShadow) {
    // "VIF := 1" when VIP = 0; IF stays 0, so STI blocks nothing (the VM-entry check
    // "blocking by STI requires RFLAGS.IF = 1", Vol. 3C 26.3.1.5, stays true).
    enter_v86(kV86);
    m.load_code({0xFB}); // sti
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, kV86 | flags::VIF);
    EXPECT_EQ(m.state().interruptibility, 0u);
}

TEST_F(Vme, StiWithVipSetRaisesGP0) {
    // STI: "IF ... (RFLAGS.VIP = 0) THEN VIF := 1 ELSE #GP(0)".
    enter_v86(kV86 | flags::VIP);
    m.load_code({0xFB}); // sti
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().eflags, kV86 | flags::VIP);
}

TEST_F(Vme, CliAndStiWithoutVmeRaiseGP0) {
    // VM = 1, IOPL < 3, VME = 0: #GP(0), as on an Intel386.
    m.state().cr4 = 0;
    enter_v86(kV86 | flags::IF);
    m.load_code({0xFA}); // cli
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    m.load_code({0xFB}); // sti
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(Vme, CliAtIoplThreeClearsIfEvenWithVme) {
    // VM = 1, IOPL = 3: "IF := 0"; VIF is left alone.
    enter_v86(kV86 | kIopl3 | flags::IF | flags::VIF);
    m.load_code({0xFA}); // cli
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, kV86 | kIopl3 | flags::VIF);
}

// ---- PUSHF and POPF in virtual-8086 mode (SDM PUSHF/POPF "Operation"; Vol. 3A 20.3.2)

TEST_F(Vme, PushfPushesVifAsIfAndIoplThree) {
    // FLAGS with CF and the real IF set, VIF clear: the image has IF = VIF = 0, IOPL = 3.
    enter_v86(kV86 | flags::IF | flags::CF);
    m.load_code({0x9C}); // pushf
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x0FFEu);
    EXPECT_EQ(m.read16(kV86Stack - 2), 0x3003u);
    enter_v86(kV86 | flags::VIF);
    m.run(1);
    EXPECT_EQ(m.read16(kV86Stack - 2), 0x3202u); // IF from VIF
}

TEST_F(Vme, ThirtyTwoBitPushfAndPopfRaiseGP0) {
    // "IF (CR4.VME = 0) OR (OperandSize = 32) THEN #GP(0)".
    enter_v86(kV86);
    m.load_code({0x66, 0x9C}); // pushfd
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    m.load_code({0x66, 0x9D}); // popfd
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1000u);
}

TEST_F(Vme, PopfLoadsIfIntoVifAndKeepsIfAndIopl) {
    // Popped 3201H (IOPL 3, IF, CF) with the real IF 0: VIF := 1, CF := 1, IF and IOPL stay.
    enter_v86(kV86);
    m.write16(kV86Stack, 0x3201);
    m.load_code({0x9D}); // popf
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, kV86 | flags::VIF | flags::CF);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1002u);
    // Popped 0 with the real IF 1 and VIF 1: VIF := 0, IF stays 1.
    enter_v86(kV86 | flags::IF | flags::VIF);
    m.write16(kV86Stack, 0x0000);
    m.run(1);
    EXPECT_EQ(m.state().eflags, kV86 | flags::IF);
}

TEST_F(Vme, PopfWithTfSetRaisesGP0) {
    // "#GP(0) ... if the popped TF is 1" (so the monitor can emulate single-stepping).
    enter_v86(kV86);
    m.write16(kV86Stack, 0x0102); // TF
    m.load_code({0x9D});          // popf
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1000u);
    EXPECT_EQ(m.state().eflags, kV86);
}

TEST_F(Vme, PopfSettingIfWhileVipIsSetRaisesGP0) {
    enter_v86(kV86 | flags::VIP);
    m.write16(kV86Stack, 0x0202); // IF
    m.load_code({0x9D});          // popf
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    // With IF clear in the image VIP does not matter.
    m.write16(kV86Stack, 0x0003); // CF
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, kV86 | flags::VIP | flags::CF);
}

// ---- IRET in virtual-8086 mode

TEST_F(Vme, SixteenBitIretLoadsVifFromThePoppedIf) {
    // IP 0050, CS 0200, FLAGS 3201H: CS:IP loaded, VIF := 1, CF := 1; IF and IOPL unchanged.
    enter_v86(kV86);
    m.write16(kV86Stack + 0, 0x0050);
    m.write16(kV86Stack + 2, 0x0200);
    m.write16(kV86Stack + 4, 0x3201);
    m.load_code({0xCF}); // iret
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), 0x50u);
    EXPECT_EQ(m.seg(Seg::CS), v86(0x0200));
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1006u);
    EXPECT_EQ(m.state().eflags, kV86 | flags::VIF | flags::CF);
}

TEST_F(Vme, SixteenBitIretWithTfOrWithIfAndVipRaisesGP0) {
    enter_v86(kV86 | flags::VIP);
    m.write16(kV86Stack + 0, 0x0050);
    m.write16(kV86Stack + 2, 0x0200);
    m.write16(kV86Stack + 4, 0x0202); // IF while VIP is set
    m.load_code({0xCF});              // iret
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.seg(Seg::CS), v86(0x0100)); // nothing changed
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1000u);
    enter_v86(kV86);
    m.write16(kV86Stack + 4, 0x0102); // TF
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(Vme, ThirtyTwoBitIretRaisesGP0) {
    enter_v86(kV86);
    m.load_code({0x66, 0xCF}); // iretd
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// ---- INT n: SDM Vol. 3A Table 20-2

TEST_F(Vme, Method5RedirectsThroughTheProgramsIvtAtIoplThree) {
    // VME 1, IOPL 3, bit 0: push FLAGS (3303H: IOPL 3, IF, TF, CF), CS 0100, IP 0002 on the
    // V86 stack; IF := 0, TF := 0; CS:IP := IVT[21H] = 0200:0030; still in V86 mode.
    enter_v86(kV86 | kIopl3 | flags::IF | flags::TF | flags::CF);
    m.load_code({0xCD, 0x21}); // int 0x21
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x0FFAu);
    EXPECT_EQ(v86_word(0), 0x0002u);
    EXPECT_EQ(v86_word(1), 0x0100u);
    EXPECT_EQ(v86_word(2), 0x3303u);
    EXPECT_EQ(m.seg(Seg::CS), v86(0x0200));
    EXPECT_EQ(m.eip(), 0x30u);
    EXPECT_EQ(m.state().eflags, kV86 | kIopl3 | flags::CF);
}

TEST_F(Vme, Method6PushesVifAsIfAndClearsVif) {
    // VME 1, IOPL 0, bit 0: the image has IOPL 3 and IF = VIF (1); VIF := 0, the real IF stays.
    enter_v86(kV86 | flags::IF | flags::VIF | flags::CF);
    m.load_code({0xCD, 0x21}); // int 0x21
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(v86_word(2), 0x3203u);
    EXPECT_EQ(m.seg(Seg::CS), v86(0x0200));
    EXPECT_EQ(m.eip(), 0x30u);
    EXPECT_EQ(m.state().eflags, kV86 | flags::IF | flags::CF);
    // With VIF 0 the image shows IF 0 although the real IF is 1.
    enter_v86(kV86 | flags::IF);
    m.run(1);
    EXPECT_EQ(v86_word(2), 0x3002u);
}

TEST_F(Vme, Method4GoesToTheProtectedModeHandler) {
    // VME 1, IOPL 3, bit 1: as method 1 — ring 0, nine doublewords, VM cleared.
    to_idt(0x21);
    enter_v86(kV86 | kIopl3 | flags::IF);
    m.load_code({0xCD, 0x21}); // int 0x21
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(m.gpr(Gpr::ESP), kRing0Stack - 36);
    EXPECT_EQ(ring0_frame(0), 2u);
    EXPECT_EQ(ring0_frame(2), kV86 | kIopl3 | flags::IF);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | kIopl3);
}

TEST_F(Vme, Method3RaisesGP0) {
    to_idt(0x21);
    enter_v86(kV86 | flags::IF);
    m.load_code({0xCD, 0x21}); // int 0x21
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(Vme, WithoutVmeTheBitMapIsNotConsulted) {
    // Method 1 (VME 0, IOPL 3) with the bit clear: the IDT, not the IVT.
    m.state().cr4 = 0;
    enter_v86(kV86 | kIopl3);
    m.load_code({0xCD, 0x21}); // int 0x21
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
}

TEST_F(Vme, RedirectionByteBeyondTheTssLimitRaisesGP0) {
    // Vector 80H's bit is in TSS byte 68H + 10H = 78H; with limit 70H it is outside the TSS
    // (transit86's reading, docs/known-differences.md). Vector 21H's byte 6CH is inside.
    m.state().tr.limit = 0x70;
    enter_v86(kV86 | kIopl3);
    m.load_code({0xCD, 0x80}); // int 0x80
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    m.load_code({0xCD, 0x21}); // int 0x21
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), 0x30u);
}

TEST_F(Vme, SixteenBitTssHasNoRedirectionBitMap) {
    m.state().tr.access_rights = 0x83; // busy 16-bit TSS: no I/O map base
    enter_v86(kV86 | kIopl3);
    m.load_code({0xCD, 0x21}); // int 0x21
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(Vme, IntNEncodingOfVectorThreeIsRedirected) {
    // CD 03 is INT n; only CC is INT3 (SDM INT n: the redirection applies to "INT n").
    m.set_ivt(3, 0x0200, 0x0040);
    enter_v86(kV86);
    m.load_code({0xCD, 0x03}); // int 3 (CD form)
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), 0x40u);
    EXPECT_TRUE(m.state().v86());
}

TEST_F(Vme, Int3AndIntoGoThroughTheIdtAtAnyIopl) {
    // INT3 and INTO are neither IOPL-sensitive nor redirected: IDT gates 3 and 4 (DPL 3).
    enter_v86(kV86);
    m.load_code({0xCC}); // int3
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(ring0_frame(0), 1u);
    enter_v86(kV86 | flags::OF);
    m.load_code({0xCE}); // into
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(ring0_frame(2), kV86 | flags::OF);
}

TEST_F(Vme, Int3ThroughADplZeroGateRaisesGPGate) {
    // SDM INT n: a software interrupt through a gate with DPL < CPL (3): #GP(vector * 8 + 2).
    write_gate(m, kIdt + 3 * 8, kCode32, kHandler, kIntGate32);
    enter_v86(kV86 | kIopl3);
    m.load_code({0xCC}); // int3
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 3 * 8 + 2));
}

TEST_F(Vme, Int1IgnoresIoplAndTheGateDpl) {
    // INT1 (ICEBP, F1) is a privileged software exception (SDM Vol. 2B INT1; Vol. 3A 6.13):
    // #DB through IDT gate 1 as a hardware event would be — at IOPL 0 in virtual-8086 mode,
    // through a gate of DPL 0 — with the next instruction as the return address.
    write_gate(m, kIdt + 1 * 8, kCode32, kHandler, kIntGate32);
    enter_v86(kV86);
    m.load_code({0xF1}); // int1
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(ring0_frame(0), 1u);
    EXPECT_EQ(m.state().dr6, dr6::Reset); // no DR6 bit reports it
}

TEST_F(Vme, ExceptionsAndExternalInterruptsIgnoreTheBitMap) {
    // "Hardware generated interrupts and exceptions are always handled by the protected-mode
    // interrupt and exception handlers" (SDM Vol. 3A 20.3.3, note).
    write_gate(m, kIdt + 6 * 8, kCode32, kHandler + 0x10, kIntGate32);
    m.set_ivt(6, 0x0200, 0x0060);
    m.exceptions_to_host = false;
    enter_v86(kV86 | flags::IF);
    m.load_code({0x0F, 0x0B}); // ud2
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler + 0x10);
    EXPECT_FALSE(m.state().v86());
    enter_v86(kV86 | flags::IF);
    const auto exit = m.emulator().deliver_event(
        {.kind = InjectedEvent::Kind::ExternalInterrupt, .vector = 0x21});
    EXPECT_FALSE(exit.has_value());
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_FALSE(m.state().v86());
}

// ---- VIF and VIP at the start of an instruction (SDM Vol. 3A 20.3.2)

TEST_F(Vme, VifAndVipTogetherRaiseGP0BeforeTheNextInstruction) {
    enter_v86(kV86 | flags::VIF | flags::VIP);
    m.load_code({0x90}); // nop
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.eip(), 0u);
    // Not with IOPL 3 (VIF and VIP are not in use), nor with VIP alone.
    enter_v86(kV86 | kIopl3 | flags::VIF | flags::VIP);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    enter_v86(kV86 | flags::VIP);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
}

TEST_F(Vme, IretFromRingZeroWithVifAndVipFaultsAtTheFirstV86Instruction) {
    // IRETD at CPL 0 loads the whole image (RETURN-TO-VIRTUAL-8086-MODE), VIF and VIP
    // included; the #GP comes at the V86 instruction, EIP 0020.
    const uint32_t image = kV86 | flags::VIF | flags::VIP;
    const uint32_t frame[] = {0x0020, 0x0100, image, 0x1000, 0x0700, 0, 0, 0, 0};
    m.gpr(Gpr::ESP) = kRing0Stack - 36;
    for (uint32_t i = 0; i < 9; ++i)
        m.write32(kRing0Stack - 36 + 4 * i, frame[i]);
    m.load_code({0xCF}); // iretd
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, image);
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.eip(), 0x20u);
}

// ---- Protected-mode virtual interrupts (SDM Vol. 3A 20.4)

constexpr uint16_t kCode32Dpl3 = (6 << 3) | 3;
constexpr uint16_t kData32Dpl3 = (7 << 3) | 3;

class Pvi : public ::testing::Test {
  protected:
    Pvi() {
        m.set_descriptor(6, 0, 0xFFFFF, access::kCodeER | 1 | kDpl3, kFlat32Flags);
        m.set_descriptor(7, 0, 0xFFFFF, access::kDataRW | 1 | kDpl3, kFlat32Flags);
        m.state().cr4 = cr4::PVI;
    }
    void at_cpl3(uint32_t eflags) {
        m.drop_to_cpl3();
        m.state().eflags = eflags;
    }
    Machine m{Mode::Protected32};
};

TEST_F(Pvi, CliAndStiAtCplThreeActOnVif) {
    // PVI = 1, CPL 3, IOPL < 3: "VIF := 0" / "VIF := 1"; IF and the interrupt shadow untouched.
    at_cpl3(flags::Fixed1 | flags::IF | flags::VIF);
    m.load_code({0xFA, 0xFB}); // cli ; sti
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::IF);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::IF | flags::VIF);
    EXPECT_EQ(m.state().interruptibility, 0u);
}

TEST_F(Pvi, StiWithVipSetRaisesGP0) {
    at_cpl3(flags::Fixed1 | flags::VIP);
    m.load_code({0xFB}); // sti
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(Pvi, OnlyCplThreeIsVirtualized) {
    // CPL 1 above IOPL 0: "#GP(0)" whatever PVI says.
    m.seg(Seg::SS).access_rights |= 1u << ar::kDplShift;
    m.state().eflags = flags::Fixed1;
    m.load_code({0xFA}); // cli
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(Pvi, PushfAndPopfAreNotVirtualized) {
    // SDM POPF: "POPF, however, is not affected by CR4.PVI": at CPL 3 above IOPL, IF keeps its
    // value silently, VIF is not loaded; PUSHFD pushes the real IF and VIF as they are.
    at_cpl3(flags::Fixed1 | flags::IF);
    m.load_code({0x9C, 0x66, 0x9D}); // pushfd ; popf
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kStackTop - 4), flags::Fixed1 | flags::IF);
    m.write16(kStackTop - 4, 0x0003); // CF, IF clear
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::IF | flags::CF);
}

TEST_F(Pvi, IretAtCplZeroLoadsVifAndVipAndIretAtCplThreeDoesNot) {
    // SDM IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL: "IF CPL = 0 THEN ... IF OperandSize = 32
    // THEN EFLAGS(VIF, VIP) := tempEFLAGS". Ring 0 returns to ring 3 with both set; there the
    // STI of a PVI program traps (VIP), and an IRETD at CPL 3 leaves them as they are.
    const uint32_t image = flags::Fixed1 | flags::VIF | flags::VIP;
    const uint32_t frame[] = {0x1100, kCode32Dpl3, image, 0x7000, kData32Dpl3};
    m.gpr(Gpr::ESP) = kStackTop - 20;
    for (uint32_t i = 0; i < 5; ++i)
        m.write32(kStackTop - 20 + 4 * i, frame[i]);
    m.load_code({0xCF});                            // iretd
    m.load(0x1100, {0x90, 0xCF});                   // nop ; iretd (CPL 3)
    m.write32(0x7000, 0x1200);                      // the CPL 3 IRETD's frame: EIP,
    m.write32(0x7004, kCode32Dpl3);                 // CS (same level),
    m.write32(0x7008, flags::Fixed1 | flags::CF);   // EFLAGS without VIF, VIP
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget); // iretd ; nop (no start-of-instruction #GP)
    EXPECT_EQ(m.state().cpl(), 3u);
    EXPECT_EQ(m.state().eflags, image);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), 0x1200u);
    EXPECT_EQ(m.state().eflags, image | flags::CF);
}

TEST_F(Pvi, MovToCr4AcceptsVmeAndPviAndCpuidReportsVme) {
    // SDM Vol. 2A CPUID, Table 3-11: EDX bit 1 VME ("including CR4.VME ..., CR4.PVI ...").
    m.state().cr4 = 0;
    m.load_code({0xB8, 0x03, 0x00, 0x00, 0x00, // mov eax, 3
                 0x0F, 0x22, 0xE0,             // mov cr4, eax
                 0xB8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1
                 0x0F, 0xA2});                 // cpuid
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().cr4, cr4::VME | cr4::PVI);
    EXPECT_NE(m.gpr(Gpr::EDX) & (1u << 1), 0u);
}

} // namespace
} // namespace transit86::test
