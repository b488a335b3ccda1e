// Debug registers (SDM Vol. 2B "MOV—Move to/from Debug Registers"; Vol. 3B 18.2 "Debug
// Registers", 18.3.1.1-18.3.1.3 instruction, data, I/O breakpoints and general detect). One
// TEST per rule; the expected values are worked out by hand from those sections. The machines
// are debug_machines.hpp's.
#include "debug_machines.hpp"

namespace transit86::test {
namespace {

using namespace debug;

// ---- State (SDM Vol. 3A Table 10-1)

TEST(DebugRegisterState, ResetValuesAreTheSdmsForBothPresets) {
    for (const ResetPreset preset : {ResetPreset::Intel, ResetPreset::Kvm}) {
        const CpuState s = reset_state(preset);
        EXPECT_EQ(s.dr, (std::array<uint32_t, 4>{}));
        EXPECT_EQ(s.dr6, 0xFFFF0FF0u);
        EXPECT_EQ(s.dr7, 0x00000400u);
    }
}

// ---- MOV DRn (SDM Vol. 2B MOV—Move to/from Debug Registers)

TEST_F(DebugReal, MovToAndFromDr0ToDr3) {
    m.load_code({
        0x0F, 0x23, 0xC0, // mov dr0, eax
        0x0F, 0x23, 0xCB, // mov dr1, ebx
        0x0F, 0x23, 0xD1, // mov dr2, ecx
        0x0F, 0x23, 0xDA, // mov dr3, edx
        0x0F, 0x21, 0xC6, // mov esi, dr0
        0x0F, 0x21, 0xDF, // mov edi, dr3
    });
    m.gpr(Gpr::EAX) = 0x11111111;
    m.gpr(Gpr::EBX) = 0x22222222;
    m.gpr(Gpr::ECX) = 0x33333333;
    m.gpr(Gpr::EDX) = 0xFFFFFFFF;
    ASSERT_EQ(m.run(6).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().dr,
              (std::array<uint32_t, 4>{0x11111111, 0x22222222, 0x33333333, 0xFFFFFFFF}));
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x11111111u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0xFFFFFFFFu);
    EXPECT_EQ(m.eip(), kCode + 18);
}

TEST_F(DebugReal, Dr6WritesKeepItsFixedBits) {
    // SDM Vol. 3B 18.2.3, Figure 18-1: bits 4-11 and 16-31 read as 1, bit 12 as 0; only
    // B0-B3, BD, BS and BT change.
    m.load_code({
        0x0F, 0x23, 0xF0, // mov dr6, eax
        0x0F, 0x21, 0xF6, // mov esi, dr6
        0x0F, 0x23, 0xF3, // mov dr6, ebx
        0x0F, 0x21, 0xF7, // mov edi, dr6
    });
    m.gpr(Gpr::EAX) = 0;
    m.gpr(Gpr::EBX) = 0xFFFFFFFF;
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0xFFFF0FF0u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0xFFFFEFFFu); // everything but bit 12
}

TEST_F(DebugReal, Dr7WritesKeepItsFixedBits) {
    // SDM Vol. 3B 18.2.4, Figure 18-1: bit 10 reads as 1; bits 11, 12, 14, 15 as 0 here
    // (no RTM, no SMM debug bits).
    m.load_code({
        0x0F, 0x23, 0xF8, // mov dr7, eax
        0x0F, 0x21, 0xFE, // mov esi, dr7
        0x0F, 0x23, 0xFB, // mov dr7, ebx
    });
    m.gpr(Gpr::EAX) = 0;
    m.gpr(Gpr::EBX) = 0x0000FB00; // LE, GE, bits 11, 12, 14, 15 and GD
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x00000400u);
    EXPECT_EQ(m.state().dr7, 0x00002700u); // LE | GE | bit 10 | GD
}

TEST_F(DebugReal, ModFieldIsIgnored) {
    // SDM MOV DRn: "The two bits in the mod field are ignored"; the r/m field names the GPR.
    m.load_code({0x0F, 0x23, 0x00}); // mod 00, reg DR0, r/m EAX: mov dr0, eax
    m.gpr(Gpr::EAX) = 0x12345678;
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().dr[0], 0x12345678u);
    EXPECT_EQ(m.eip(), kCode + 3);
}

TEST_F(DebugReal, Dr4AndDr5AliasDr6AndDr7WithoutCr4De) {
    // SDM Vol. 3B 18.2.2: "When debug extensions are not enabled (when the DE flag is clear),
    // these registers are aliased to debug registers DR6 and DR7."
    m.load_code({
        0x0F, 0x23, 0xE0, // mov dr4, eax
        0x0F, 0x21, 0xEE, // mov esi, dr5
    });
    m.gpr(Gpr::EAX) = 0x0000000F;
    m.state().dr7 = 0x00000500;
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().dr6, 0xFFFF0FFFu);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x00000500u);
}

TEST_F(DebugReal, Dr4AndDr5RaiseUDWithCr4De) {
    // SDM MOV DRn, "#UD If CR4.DE[bit 3] = 1 (debug extensions) and a MOV instruction is
    // executed involving DR4 or DR5."
    m.exceptions_to_host = true;
    m.state().cr4 = 1u << 3;
    m.load_code({0x0F, 0x21, 0xE8}); // mov eax, dr5
    EXPECT_TRUE(is_exception(m.run(1), vec::kUD));
    m.load_code({0x0F, 0x23, 0xE0}); // mov dr4, eax
    EXPECT_TRUE(is_exception(m.run(1), vec::kUD));
    EXPECT_EQ(m.state().dr6, dr6::Reset);
}

TEST(DebugRegisterPrivilege, MovDrAtCpl3RaisesGP0) {
    // SDM MOV DRn, "Protected Mode Exceptions": "#GP(0) If the current privilege level is not
    // 0."
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.load_code({0x0F, 0x23, 0xC0}); // mov dr0, eax
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    m.load_code({0x0F, 0x21, 0xC0}); // mov eax, dr0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST(DebugRegisterPrivilege, MovDrInVirtual8086ModeRaisesGP0) {
    // SDM MOV DRn, "Virtual-8086 Mode Exceptions": "#GP(0) The debug registers cannot be
    // loaded or stored in virtual-8086 mode."
    Machine m(Mode::Protected32);
    CpuState& s = m.state();
    s.eflags |= flags::VM;
    for (SegmentCache& seg : s.seg)
        seg = segment_cache(0, 0, 0xFFFF, 0xF3);
    m.load_code({0x0F, 0x21, 0xF8}); // mov eax, dr7
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(DebugReal, GeneralDetectRaisesDBBeforeTheAccess) {
    // SDM Vol. 3B 18.2.4 (GD): "a debug exception ... prior to any MOV instruction that
    // accesses a debug register. When such a condition is detected, the BD flag in debug
    // status register DR6 is set prior to generating the exception"; "The processor clears
    // the GD flag upon entering to the debug exception handler". 18.3.1.3: a fault, the
    // saved IP points at the MOV.
    m.state().dr7 = dr7::Reset | dr7::GD;
    m.load_code({0x0F, 0x23, 0xC0}); // mov dr0, eax
    m.gpr(Gpr::EAX) = 0x1234;
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(frame_ip(), kCode);
    EXPECT_EQ(m.state().dr[0], 0u);
    EXPECT_EQ(m.state().dr6, 0xFFFF2FF0u); // BD
    EXPECT_EQ(m.state().dr7, 0x00000400u); // GD cleared
}

TEST_F(DebugProtected, GeneralDetectFrameHasRFSet) {
    // SDM Vol. 3B 18.3.1.1: "For any fault-class exception except a debug exception generated
    // in response to an instruction breakpoint, the value pushed for RF is 1." General
    // detect is a fault (18.3.1.3).
    m.state().dr7 = dr7::Reset | dr7::GD;
    m.load_code({0x0F, 0x21, 0xC0}); // mov eax, dr0
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(frame_eip(), kCode);
    EXPECT_NE(frame_eflags() & flags::RF, 0u);
    EXPECT_EQ(m.state().eflags & flags::RF, 0u); // cleared by the delivery (6.12.1)
}

TEST(DebugRegisterPrivilege, CplCheckComesBeforeGeneralDetect) {
    // The order of KVM (check_dr_read after the Priv check) and QEMU (check_cpl0 at
    // translation, then helper_get_dr): #GP(0) at CPL 3 leaves DR6 and GD alone.
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.state().dr7 = dr7::Reset | dr7::GD;
    m.load_code({0x0F, 0x21, 0xC0}); // mov eax, dr0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().dr6, dr6::Reset);
    EXPECT_EQ(m.state().dr7, dr7::Reset | dr7::GD);
}

TEST_F(DebugReal, Dr4UDComesBeforeGeneralDetect) {
    // SDM MOV DRn lists #UD (CR4.DE, DR4/DR5) before #DB (GD); so do KVM and QEMU.
    m.exceptions_to_host = true;
    m.state().cr4 = 1u << 3;
    m.state().dr7 = dr7::Reset | dr7::GD;
    m.load_code({0x0F, 0x21, 0xE0}); // mov eax, dr4
    EXPECT_TRUE(is_exception(m.run(1), vec::kUD));
    EXPECT_EQ(m.state().dr6, dr6::Reset);
}

// ---- Instruction breakpoints (SDM Vol. 3B 18.3.1.1)

TEST_F(DebugReal, InstructionBreakpointFaultsBeforeTheInstruction) {
    // "The processor reports an instruction breakpoint before it executes the instruction";
    // DR6.B0 set; the saved IP is the instruction's.
    m.load_code({
        0x40, // inc ax
        0x43, // inc bx      <- DR0
    });
    m.state().dr[0] = kCode + 1;
    m.state().dr7 = global_breakpoint(0, dr7::kExecute, kLen1);
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget); // inc ax, then the #DB
    EXPECT_EQ(m.gpr(Gpr::EAX), 1u);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0u);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(frame_ip(), kCode + 1);
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF1u);
}

TEST_F(DebugReal, Int1IsADebugTrapThatLeavesDr6Alone) {
    // INT1 (ICEBP, F1): #DB delivered as a trap, so the saved IP is the next instruction's;
    // it sets no DR6 bit (SDM Vol. 3A 17.3.1: only the debug conditions do).
    m.load_code({0xF1, 0x43}); // int1 ; inc bx
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(frame_ip(), kCode + 1);
    EXPECT_EQ(m.state().dr6, dr6::Reset);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0u);
}

TEST_F(DebugReal, InstructionBreakpointMatchesTheLinearAddress) {
    // DRn holds a linear address (18.2.4): CS.base + IP, here 0100:0000 = 0x1000.
    m.seg(Seg::CS) = segment_cache(0x0100, 0x1000, 0xFFFF, 0x93);
    m.state().eip = 0;
    m.load_code({0x43}); // inc bx
    m.state().dr[2] = 0x1000;
    m.state().dr7 = global_breakpoint(2, dr7::kExecute, kLen1);
    m.exceptions_to_host = true;
    const Exit e = m.run(1);
    EXPECT_TRUE(is_exception(e, vec::kDB));
    EXPECT_EQ(e.linear_address, 0x1000u);
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF4u); // B2
    EXPECT_EQ(m.gpr(Gpr::EBX), 0u);
}

TEST_F(DebugReal, DisabledBreakpointsNeverFire) {
    // A breakpoint needs Ln or Gn (18.2.4); B0-B3 are left alone when nothing fires.
    m.load_code({0x43, 0x43}); // inc bx ; inc bx
    m.state().dr = {kCode, kCode, kCode + 1, kCode + 1};
    m.state().dr7 = dr7::Reset; // R/W 00 everywhere, nothing enabled
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EBX), 2u);
    EXPECT_EQ(m.state().dr6, dr6::Reset);
}

TEST_F(DebugReal, ResumeFlagSuppressesTheInstructionBreakpointOnce) {
    // EFLAGS.RF: "When set, this flag temporarily disables debug exceptions (#DB) from being
    // generated for instruction breakpoints"; "The processor then automatically clears this
    // flag after the instruction returned to has been successfully executed" (Vol. 3A 2.3).
    m.load_code({0xEB, 0xFE}); // jmp $
    m.state().eflags |= flags::RF;
    m.state().dr[0] = kCode;
    m.state().dr7 = global_breakpoint(0, dr7::kExecute, kLen1);
    m.exceptions_to_host = true;
    const Exit e = m.run(5);
    EXPECT_TRUE(is_exception(e, vec::kDB));
    EXPECT_EQ(e.instructions, 1u); // the first JMP ran under RF; the second one faults
    EXPECT_EQ(m.state().eflags & flags::RF, 0u);
}

TEST_F(DebugReal, IretdLoadsRFSoTheBreakpointedInstructionRuns) {
    // IRET "Operation", real-address mode: EFLAGS := (tempEFLAGS AND 257FD5H) OR ...; with
    // RF = 1 in the image the instruction returned to runs without its breakpoint
    // (18.3.1.1), and RF clears after it.
    m.load_code({
        0x66, 0x68, 0x02, 0x00, 0x01, 0x00, // push dword 0x00010002 (EFLAGS: RF)
        0x66, 0x6A, 0x00,                   // push dword 0 (CS)
        0x66, 0x68, 0x00, 0x11, 0x00, 0x00, // push dword 0x1100 (EIP)
        0x66, 0xCF,                         // iretd
    });
    m.load(0x1100, {0x43, 0x43}); // inc bx (DR0) ; inc bx
    m.state().dr[0] = 0x1100;
    m.state().dr7 = global_breakpoint(0, dr7::kExecute, kLen1);
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), 0x1100u);
    EXPECT_NE(m.state().eflags & flags::RF, 0u); // loaded by IRETD
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EBX), 2u);
    EXPECT_EQ(m.state().eflags & flags::RF, 0u);
    EXPECT_EQ(m.state().dr6, dr6::Reset);
}

TEST_F(DebugReal, SixteenBitIretLeavesRFClear) {
    // A 16-bit IRET pops FLAGS[15:0] only; RF, cleared when the IRET started, stays clear,
    // so the breakpoint at the return address fires.
    m.load_code({
        0x6A, 0x02,       // push 2 (FLAGS)
        0x6A, 0x00,       // push 0 (CS)
        0x68, 0x00, 0x11, // push 0x1100 (IP)
        0xCF,             // iret
    });
    m.load(0x1100, {0x43}); // inc bx (DR0)
    m.state().eflags |= flags::RF;
    m.state().dr[0] = 0x1100;
    m.state().dr7 = global_breakpoint(0, dr7::kExecute, kLen1);
    ASSERT_EQ(m.run(5).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(frame_ip(), 0x1100u);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0u);
}

TEST_F(DebugProtected, HandlerResumesPastTheBreakpointWithRFInTheFrame) {
    // 18.3.1.1: the instruction-breakpoint #DB pushes RF as it is (0); "debug software must
    // set this flag in the EFLAGS image on the stack just prior to returning to the
    // interrupted program with IRETD".
    m.load(kHandler, {
                         0x81, 0x4C, 0x24, 0x08, 0x00, 0x00, 0x01, 0x00, // or [esp+8], 0x10000
                         0xCF,                                           // iretd
                     });
    m.load_code({0x43, 0x43}); // inc bx (DR1) ; inc bx
    m.state().dr[1] = kCode;
    m.state().dr7 = global_breakpoint(1, dr7::kExecute, kLen1);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget); // the #DB
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(frame_eip(), kCode);
    EXPECT_EQ(frame_eflags() & flags::RF, 0u);
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF2u);
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget); // or, iretd, inc bx, inc bx
    EXPECT_EQ(m.gpr(Gpr::EBX), 2u);
    EXPECT_EQ(m.eip(), kCode + 2);
    EXPECT_EQ(m.state().eflags & flags::RF, 0u);
}

// ---- Data and I/O breakpoints (SDM Vol. 3B 18.2.5, 18.3.1.2)

TEST_F(DebugReal, DataWriteBreakpointTrapsAfterTheWrite) {
    // "The processor reports a data breakpoint after it has executed the instruction that
    // accessed the data": the write is done, the saved IP is the next instruction's.
    m.load_code({0xA3, 0x02, 0x30, 0x43}); // mov [0x3002], ax ; inc bx
    m.gpr(Gpr::EAX) = 0xBEEF;
    m.state().dr[1] = kData;
    m.state().dr7 = global_breakpoint(1, dr7::kWrite, kLen4);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData + 2), 0xBEEFu);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(frame_ip(), kCode + 3);
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF2u); // B1
}

TEST_F(DebugReal, WriteOnlyBreakpointIgnoresReads) {
    m.load_code({0xA1, 0x00, 0x30}); // mov ax, [0x3000]
    m.state().dr[0] = kData;
    m.state().dr7 = global_breakpoint(0, dr7::kWrite, kLen2);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kCode + 3);
    EXPECT_EQ(m.state().dr6, dr6::Reset);
}

TEST_F(DebugReal, ReadWriteBreakpointCatchesReads) {
    m.load_code({0xA1, 0x00, 0x30}); // mov ax, [0x3000]
    m.state().dr[3] = kData + 1;
    m.state().dr7 = global_breakpoint(3, dr7::kReadWrite, kLen1);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kHandler);
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF8u); // B3
}

TEST_F(DebugReal, BreakpointRangeIsItsAddressAlignedDownToLen) {
    // 18.2.5: a 2-byte breakpoint covers a word-aligned word, a 4-byte one an aligned
    // doubleword; "any of the bytes participating in an access" within it triggers it.
    // DR0 = 3003 with LEN 2 covers 3002-3003; DR1 = 3005 with LEN 4 covers 3004-3007.
    m.state().dr[0] = kData + 3;
    m.state().dr[1] = kData + 5;
    m.state().dr7 =
        global_breakpoint(0, dr7::kReadWrite, kLen2) | global_breakpoint(1, dr7::kWrite, kLen4);
    m.exceptions_to_host = true;
    m.load_code({0xA0, 0x01, 0x30}); // mov al, [0x3001]: neither
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    m.state().eip = kCode;
    m.load_code({0xA0, 0x02, 0x30}); // mov al, [0x3002]: DR0
    EXPECT_TRUE(is_exception(m.run(1), vec::kDB));
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF1u);
    m.state().eip = kCode;
    m.load_code({0xA3, 0x03, 0x30}); // mov [0x3003], ax: bytes 3003 (DR0) and 3004 (DR1)
    EXPECT_TRUE(is_exception(m.run(1), vec::kDB));
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF3u);
    m.state().eip = kCode;
    m.load_code({0xA2, 0x08, 0x30}); // mov [0x3008], al: past DR1's doubleword
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
}

TEST_F(DebugReal, StackPushesAreDataAccesses) {
    // The breakpoint watches linear addresses, whatever instruction makes the access.
    m.load_code({0x50}); // push ax: writes 7FFE-7FFF
    m.state().dr[2] = 0x7FFE;
    m.state().dr7 = global_breakpoint(2, dr7::kWrite, kLen2);
    m.exceptions_to_host = true;
    EXPECT_TRUE(is_exception(m.run(1), vec::kDB));
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x7FFEu); // the push completed
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF4u);
}

TEST(DebugIoBreakpoint, PortBreakpointNeedsCr4De) {
    // 18.2.4, R/W = 10: "Break on I/O reads or writes" with CR4.DE = 1, undefined without it
    // (never taken here).
    RecordingPorts ports;
    Machine m(Mode::Real, &ports);
    m.exceptions_to_host = true;
    m.load_code({0xE6, 0x80, 0xE6, 0x80}); // out 0x80, al ; out 0x80, al
    m.state().dr[0] = 0x80;
    m.state().dr7 = global_breakpoint(0, dr7::kIo, kLen1);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    m.state().cr4 = 1u << 3;
    const Exit e = m.run(1);
    EXPECT_TRUE(is_exception(e, vec::kDB));
    EXPECT_EQ(e.linear_address, kCode + 4); // a trap: after the OUT
    EXPECT_EQ(ports.log.size(), 2u);
    EXPECT_EQ(m.state().dr6, 0xFFFF0FF1u);
}

} // namespace
} // namespace transit86::test
