// Task switches (SDM Vol. 3A 7.3 "Task Switching", Tables 7-1 and 7-2; Vol. 2 JMP, CALL,
// INT n and IRET "Operation"). Expected values are worked out by hand from those sections.
//
// Every test starts in 32-bit protected mode at CPL 0 in task A (TSS at 0x3000, selector 28,
// busy, TR loaded) with task B's 32-bit TSS at 0x3100 (selector 30, available, EIP 2000,
// ESP 7000, EAX B0B0B0B0), a task gate for B at selector 38 and the IDT at 0x900.
#include "machine.hpp"
#include "system_tables.hpp"

namespace transit86::test {
namespace {

constexpr uint32_t kTssA = 0x3000, kTssB = 0x3100, kTss16 = 0x3200;
constexpr uint16_t kSelA = 0x28, kSelB = 0x30, kSelGate = 0x38, kSel16 = 0x40;
constexpr uint32_t kIdt = 0x900;
constexpr uint32_t kEntryB = 0x2000;
constexpr uint8_t kTS = 10;

uint8_t access_byte(Machine& m, uint16_t selector) {
    return m.read8(kGdtBase + (selector & ~7u) + 5);
}

class TaskSwitch : public ::testing::Test {
  protected:
    TaskSwitch() {
        m.set_descriptor(kSelA >> 3, kTssA, 0x67, access::kTss32 | 2, 0); // 8B: busy
        m.set_descriptor(kSelB >> 3, kTssB, 0x67, access::kTss32, 0);
        write_gate(m, kGdtBase + kSelGate, kSelB, 0, kTaskGate);
        m.set_descriptor(kSel16 >> 3, kTss16, 0x2B, kTss16Available, 0);
        m.state().tr = segment_cache(kSelA, kTssA, 0x67, 0x8B);
        m.state().idtr = {.base = kIdt, .limit = 0x7FF};
        write_task32(m, kTssB, kEntryB, 0x7000, 0xB0B0B0B0);
    }
    Machine m{Mode::Protected32};
};

// ---- JMP (SDM Table 7-2: old busy cleared, new busy set, NT and links unchanged)

TEST_F(TaskSwitch, JmpToTss32SavesTheOldTaskAndLoadsTheNew) {
    m.load_code({
        0xB8, 0x11, 0x11, 0x11, 0x11,             // mov eax, 0x11111111
        0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, // jmp 0x30:0 (the offset is ignored)
    });
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    // SDM 7.3 step 7: the old TSS holds the EIP after the JMP and the registers.
    EXPECT_EQ(m.read32(kTssA + tss32::kEip), kCode + 12);
    EXPECT_EQ(m.read32(kTssA + tss32::kEax), 0x11111111u);
    EXPECT_EQ(m.read32(kTssA + tss32::kEsp), kStackTop);
    EXPECT_EQ(m.read16(kTssA + tss32::kCs), kCode32);
    EXPECT_EQ(m.read32(kTssA + tss32::kEflags), flags::Fixed1);
    // Step 11: the new state.
    EXPECT_EQ(m.eip(), kEntryB);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xB0B0B0B0u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x7000u);
    EXPECT_EQ(m.seg(Seg::CS).selector, kCode32);
    EXPECT_EQ(m.seg(Seg::DS).selector, kData32);
    EXPECT_EQ(m.state().tr, segment_cache(kSelB, kTssB, 0x67, 0x8B));
    EXPECT_EQ(access_byte(m, kSelA), 0x89); // old task not busy
    EXPECT_EQ(access_byte(m, kSelB), 0x8B); // new task busy
    EXPECT_EQ(m.state().eflags & flags::NT, 0u);
    EXPECT_EQ(m.read16(kTssB + tss32::kLink), 0u);
    EXPECT_NE(m.state().cr0 & cr0::TS, 0u); // SDM 2.5: CR0.TS set on every task switch
}

TEST_F(TaskSwitch, JmpThroughTaskGateSwitchesToTheGatesTss) {
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00}); // jmp 0x38:0
    m.run(1);
    EXPECT_EQ(m.state().tr.selector, kSelB);
    EXPECT_EQ(m.eip(), kEntryB);
    EXPECT_EQ(access_byte(m, kSelA), 0x89);
}

TEST_F(TaskSwitch, CrThreeIsNotLoadedWithPagingOff) {
    // SDM 7.3 step 11: "If paging is not enabled, a PDBR value is read from the new task's
    // TSS, but it is not loaded into CR3."
    m.write32(kTssB + tss32::kCr3, 0x00ABC000);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    m.run(1);
    EXPECT_EQ(m.state().cr3, 0u);
}

// ---- CALL (Table 7-2: old stays busy, new busy, NT set, new link = old TSS selector)

TEST_F(TaskSwitch, CallThroughTaskGateNestsTheNewTask) {
    m.load_code({0x9A, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00}); // call 0x38:0
    m.run(1);
    EXPECT_EQ(m.state().tr.selector, kSelB);
    EXPECT_EQ(m.read16(kTssB + tss32::kLink), kSelA);
    EXPECT_NE(m.state().eflags & flags::NT, 0u);
    EXPECT_EQ(access_byte(m, kSelA), 0x8B);
    EXPECT_EQ(access_byte(m, kSelB), 0x8B);
    EXPECT_EQ(m.read32(kTssA + tss32::kEip), kCode + 7);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x7000u); // nothing pushed: the old state is in its TSS
}

// ---- IRET with NT = 1 (SDM IRET "TASK-RETURN"; Table 7-2: old busy cleared, old NT cleared
// in its saved image, the new task's state as saved)

TEST_F(TaskSwitch, IretWithNtReturnsToTheLinkedTask) {
    m.load_code({
        0x9A, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00, // call 0x38:0
        0x90,                                     // nop (back here)
    });
    m.load(kEntryB, {0xCF}); // iretd
    m.gpr(Gpr::EBX) = 0x12345678;
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().tr, segment_cache(kSelA, kTssA, 0x67, 0x8B));
    EXPECT_EQ(m.eip(), kCode + 7);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0x12345678u);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop);
    EXPECT_EQ(m.state().eflags & flags::NT, 0u);
    EXPECT_EQ(access_byte(m, kSelA), 0x8B); // still busy
    EXPECT_EQ(access_byte(m, kSelB), 0x89); // no longer busy
    EXPECT_EQ(m.read32(kTssB + tss32::kEflags) & flags::NT, 0u);
    EXPECT_EQ(m.read32(kTssB + tss32::kEip), kEntryB + 1);
}

TEST_F(TaskSwitch, IretWithNtToATaskNotBusyRaisesTSLink) {
    // SDM IRET: "IF TSS descriptor type is not TSS or if the TSS is marked not busy THEN
    // #TS (TSS selector)".
    m.write16(kTssA + tss32::kLink, kSelB);
    m.state().eflags |= flags::NT;
    m.load_code({0xCF}); // iretd
    EXPECT_TRUE(is_exception(m.run(1), kTS, kSelB));
    EXPECT_EQ(m.state().tr.selector, kSelA);
}

TEST_F(TaskSwitch, IretWithNtToALinkInTheLdtRaisesTSLink) {
    m.write16(kTssA + tss32::kLink, kSelB | 4);
    m.state().eflags |= flags::NT;
    m.load_code({0xCF}); // iretd
    EXPECT_TRUE(is_exception(m.run(1), kTS, kSelB | 4));
}

// ---- INT n and exceptions through a task gate in the IDT (SDM INT n "TASK-GATE")

TEST_F(TaskSwitch, IntThroughIdtTaskGateNestsAndSavesTheNextEip) {
    write_gate(m, kIdt + 0x40 * 8, kSelB, 0, kTaskGate);
    m.load_code({0xCD, 0x40}); // int 0x40
    m.run(1);
    EXPECT_EQ(m.state().tr.selector, kSelB);
    EXPECT_EQ(m.read16(kTssB + tss32::kLink), kSelA);
    EXPECT_NE(m.state().eflags & flags::NT, 0u);
    EXPECT_EQ(m.read32(kTssA + tss32::kEip), kCode + 2);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x7000u); // no frame: INT n has no error code
}

TEST_F(TaskSwitch, IntThroughTaskGateBelowCplRaisesGPGate) {
    // SDM INT n: software interrupt with gate DPL < CPL -> #GP(vector * 8 + 2).
    write_gate(m, kIdt + 0x40 * 8, kSelB, 0, kTaskGate);
    m.drop_to_cpl3();
    m.load_code({0xCD, 0x40}); // int 0x40
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0x40 * 8 + 2));
}

TEST_F(TaskSwitch, FaultThroughTaskGatePushesTheErrorCodeOnTheNewStack) {
    // #GP(1230) from MOV DS with a selector beyond the GDT limit, through IDT[13] = task gate:
    // the old task saves the faulting EIP and EFLAGS with RF (SDM Vol. 3B 18.3.1.1), the new
    // one gets the error code as a doubleword on its stack (SDM Vol. 3A 6.13).
    write_gate(m, kIdt + vec::kGP * 8, kSelB, 0, kTaskGate);
    m.exceptions_to_host = false;
    m.load_code({0x8E, 0xD8}); // mov ds, ax
    m.gpr(Gpr::EAX) = 0x1230;
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().tr.selector, kSelB);
    EXPECT_EQ(m.read32(kTssA + tss32::kEip), kCode);
    EXPECT_EQ(m.read32(kTssA + tss32::kEflags), flags::Fixed1 | flags::RF);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x7000u - 4);
    EXPECT_EQ(m.read32(0x7000 - 4), 0x1230u);
    EXPECT_EQ(m.eip(), kEntryB);
}

TEST_F(TaskSwitch, IdtTaskGateToABusyTssRaisesGPTss) {
    // SDM INT n "TASK-GATE": TSS busy -> #GP(TSS selector + EXT); here EXT = 0 (INT n).
    write_gate(m, kIdt + 0x40 * 8, kSelA, 0, kTaskGate);
    m.load_code({0xCD, 0x40}); // int 0x40
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kSelA));
}

// ---- checks before the commit point: the state is unchanged

TEST_F(TaskSwitch, JmpToABusyTssRaisesGPSelector) {
    m.set_descriptor(kSelB >> 3, kTssB, 0x67, access::kTss32 | 2, 0);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kSelB));
    EXPECT_EQ(access_byte(m, kSelA), 0x8B);
}

TEST_F(TaskSwitch, JmpToTssBelowCplRaisesGPSelector) {
    // SDM JMP: "IF TSS DPL < CPL or TSS DPL < TSS segment-selector RPL ... THEN #GP".
    m.drop_to_cpl3();
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kSelB));
}

TEST_F(TaskSwitch, JmpToTaskGateWithRplAboveDplRaisesGPGate) {
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x3B, 0x00}); // jmp 0x3b:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kSelGate));
}

TEST_F(TaskSwitch, CallToNotPresentTaskGateRaisesNPGate) {
    write_gate(m, kGdtBase + kSelGate, kSelB, 0, kTaskGate & 0x7F);
    m.load_code({0x9A, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00}); // call 0x38:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kNP, kSelGate));
}

TEST_F(TaskSwitch, JmpToNotPresentTssRaisesNPSelector) {
    m.set_descriptor(kSelB >> 3, kTssB, 0x67, access::kTss32 & 0x7F, 0);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kNP, kSelB));
}

TEST_F(TaskSwitch, TaskGateNamingAnLdtSelectorRaisesGPTss) {
    write_gate(m, kGdtBase + kSelGate, kSelB | 4, 0, kTaskGate);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00}); // jmp 0x38:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, kSelB | 4));
}

TEST_F(TaskSwitch, Tss32LimitBelow67RaisesTSSelector) {
    // SDM Table 7-1: "TSS segment limit greater than or equal to 67H" -> #TS(new TSS).
    m.set_descriptor(kSelB >> 3, kTssB, 0x66, access::kTss32, 0);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), kTS, kSelB));
    EXPECT_EQ(m.state().tr.selector, kSelA);
    EXPECT_EQ(access_byte(m, kSelA), 0x8B);
    EXPECT_EQ(m.read32(kTssA + tss32::kEip), 0u); // nothing saved
}

TEST_F(TaskSwitch, Tss16LimitBelow2BRaisesTSSelector) {
    m.set_descriptor(kSel16 >> 3, kTss16, 0x2A, kTss16Available, 0);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00}); // jmp 0x40:0
    EXPECT_TRUE(is_exception(m.run(1), kTS, kSel16));
}

// ---- after the commit point: faults in the new task's context (SDM Table 7-1)

TEST_F(TaskSwitch, NewCsNotCodeRaisesTSInTheNewTask) {
    m.write16(kTssB + tss32::kCs, kData32);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), kTS, kData32));
    EXPECT_EQ(m.state().tr.selector, kSelB); // the switch is done
    EXPECT_EQ(m.eip(), kEntryB);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xB0B0B0B0u);
    EXPECT_EQ(m.read32(kTssA + tss32::kEip), kCode + 7);
}

TEST_F(TaskSwitch, NewSsNotPresentRaisesSSInTheNewTask) {
    m.set_descriptor(9, 0, 0xFFFFF, access::kDataRW & 0x7F, kFlat32Flags);
    m.write16(kTssB + tss32::kSs, 9 << 3);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kSS, 9 << 3));
    EXPECT_EQ(m.state().tr.selector, kSelB);
}

TEST_F(TaskSwitch, NewDsBeyondTheGdtRaisesTSSelector) {
    m.write16(kTssB + tss32::kDs, 0x1230);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), kTS, 0x1230));
}

TEST_F(TaskSwitch, NewLdtNotAnLdtRaisesTSSelector) {
    m.write16(kTssB + tss32::kLdt, kData32);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), kTS, kData32));
}

TEST_F(TaskSwitch, NewEipBeyondCsLimitRaisesGP0) {
    // SDM JMP: after SWITCH-TASKS, "IF EIP not within code segment limit THEN #GP(0)".
    m.write16(kTssB + tss32::kCs, kCode16);
    m.write32(kTssB + tss32::kEip, 0x10000);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().tr.selector, kSelB);
}

// ---- a 16-bit TSS (SDM Vol. 3A 7.6, Figure 7-10)

TEST_F(TaskSwitch, JmpToTss16LoadsTheLowHalvesAndNullsFsGs) {
    m.write16(kTss16 + tss16::kIp, 0x2400);
    m.write16(kTss16 + tss16::kFlags, 0x0003); // CF and the fixed bit
    m.write16(kTss16 + tss16::kAx, 0x1616);
    m.write16(kTss16 + tss16::kSp, 0x6000);
    m.write16(kTss16 + tss16::kCs, kCode16);
    for (uint32_t slot : {tss16::kEs, tss16::kSs, tss16::kDs})
        m.write16(kTss16 + slot, kData16);
    m.gpr(Gpr::EAX) = 0xAAAA0000;
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00}); // jmp 0x40:0
    m.run(1);
    EXPECT_EQ(m.eip(), 0x2400u);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFFFF, 0x1616u);
    EXPECT_EQ(m.gpr(Gpr::ESP) & 0xFFFF, 0x6000u);
    EXPECT_EQ(m.state().eflags, 0x3u);
    EXPECT_EQ(m.seg(Seg::CS).selector, kCode16);
    EXPECT_EQ(m.seg(Seg::SS).selector, kData16);
    EXPECT_NE(m.seg(Seg::FS).access_rights & ar::kUnusable, 0u);
    EXPECT_NE(m.seg(Seg::GS).access_rights & ar::kUnusable, 0u);
    EXPECT_EQ(m.state().tr, segment_cache(kSel16, kTss16, 0x2B, 0x83)); // busy 16-bit TSS
}

TEST_F(TaskSwitch, CallFromTss16SavesTheSixteenBitImage) {
    // Task A is a 16-bit task here: IP, FLAGS, AX..DI, ES, CS, SS, DS go to its TSS.
    m.set_descriptor(kSel16 >> 3, kTss16, 0x2B, kTss16Available | 2, 0);
    m.state().tr = segment_cache(kSel16, kTss16, 0x2B, 0x83);
    m.gpr(Gpr::EAX) = 0x12345678;
    m.load_code({0x9A, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // call 0x30:0
    m.run(1);
    EXPECT_EQ(m.read16(kTss16 + tss16::kIp), kCode + 7);
    EXPECT_EQ(m.read16(kTss16 + tss16::kAx), 0x5678);
    EXPECT_EQ(m.read16(kTss16 + tss16::kCs), kCode32);
    EXPECT_EQ(m.read16(kTssB + tss32::kLink), kSel16);
}

// ---- a switch to a virtual-8086 task (SDM Vol. 3A 20.2.1: VM in the new EFLAGS)

TEST_F(TaskSwitch, TaskWithVmSetLoadsVirtual8086Caches) {
    m.write32(kTssB + tss32::kEflags, flags::Fixed1 | flags::VM);
    m.write32(kTssB + tss32::kEip, 0x0010);
    m.write16(kTssB + tss32::kCs, 0x0200);
    m.write16(kTssB + tss32::kDs, 0x0300);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    m.run(1);
    EXPECT_EQ(m.state().cpl(), 3u);
    EXPECT_EQ(m.seg(Seg::CS), segment_cache(0x0200, 0x2000, 0xFFFF, 0xF3));
    EXPECT_EQ(m.seg(Seg::DS), segment_cache(0x0300, 0x3000, 0xFFFF, 0xF3));
    EXPECT_EQ(m.seg(Seg::SS), segment_cache(kData32, kData32 << 4, 0xFFFF, 0xF3));
    EXPECT_EQ(m.eip(), 0x10u);
}

} // namespace
} // namespace transit86::test
