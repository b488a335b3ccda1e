// Task switches and virtual-8086 events, single-stepped on transit86 and on Unicorn 2 (QEMU
// TCG: seg_helper.c switch_tss, helper_iret_protected) in lockstep (unicorn_lockstep.hpp: what
// is compared after every instruction, and how rule unicorn-no-delivery is handled). The tally
// printed by each test says how many steps each rule of docs/known-differences.md ("Task
// switches and virtual-8086 mode on Unicorn") covered.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "oracle/task_switch_scenarios.hpp"
#include "oracle/unicorn_lockstep.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {
namespace {

using namespace oracle::scenario;

constexpr uint8_t kIntGate32 = 0x8E, kTaskGate = 0x85, kTs = 10;

using Lockstep = oracle::UnicornLockstep;
using Rule = oracle::UnicornRule;

// Every test: flat code 08 and data 10, task A's busy TSS at 0x3000 (selector 18).
class TaskSwitchVsUnicorn : public testing::Test {
  protected:
    void SetUp() override {
        std::string error;
        uc = oracle::UnicornRunner::create({.memory_size = kRamSize}, &error);
        if (!uc) GTEST_SKIP() << "Unicorn is not available: " << error;
        g.flat_with_task_a();
    }
    void TearDown() override {
        if (run) {
            std::cout << "[ tally    ] " << run->tally() << "\n";
            RecordProperty("tally", run->tally());
        }
    }
    Lockstep& start(uint32_t eip, uint32_t esp = 0x8000) {
        CpuState s = ring0_start(reset_state(ResetPreset::Kvm), eip);
        s[Gpr::ESP] = esp;
        run = std::make_unique<Lockstep>(*uc, g.ram(), s);
        return *run;
    }
    uint32_t saved(uint32_t tss, uint32_t offset) const { return g.get32(tss + offset); }

    std::unique_ptr<oracle::UnicornRunner> uc;
    Guest g;
    std::unique_ptr<Lockstep> run;
};

TEST_F(TaskSwitchVsUnicorn, JmpCallIretAndIntThroughTaskGates) {
    task_chain(g);

    Lockstep& r = start(0x1000);
    const CpuState& s = r.state();
    r.step("mov eax (A)");
    r.step("jmp to TSS B");
    EXPECT_EQ(s.tr.selector, kTssB);
    r.step("mov ebx (B)");
    r.step("call through task gate to C");
    EXPECT_EQ(s.tr.selector, kTssC);
    r.step("mov ecx (C)");
    r.step("iretd with NT back to B");
    EXPECT_EQ(s.eip, 0x110Cu);
    r.software_interrupt("int 0x40 through the IDT task gate to D", 0x40);
    // SDM Vol. 2 INT n "TASK-GATE": a nested switch, B saved at the next instruction.
    EXPECT_EQ(s.tr.selector, kTssD);
    EXPECT_EQ(s.eip, 0x1300u);
    EXPECT_NE(s.eflags & flags::NT, 0u);
    EXPECT_EQ(saved(0x3100, 0x20), 0x110Eu);
    EXPECT_EQ(saved(0x3300, 0) & 0xFFFF, kTssB);
    r.step("mov edx (D)");
    r.step("iretd with NT back to B");
    EXPECT_EQ(s.eip, 0x110Eu);
    r.step("nop (B)");
}

TEST_F(TaskSwitchVsUnicorn, ExceptionsThroughIdtTaskGates) {
    g.descriptor(kTssB, 0x3100, 0x67, 0x89, 0);
    g.descriptor(kTssC, 0x3200, 0x67, 0x89, 0);
    g.gate(kIdt + 6 * 8, kTssB, 0, kTaskGate);  // IDT[6] (#UD): task gate for B
    g.gate(kIdt + 13 * 8, kTssC, 0, kTaskGate); // IDT[13] (#GP): task gate for C
    g.task(0x3100, 0x1100, 0x7000);
    g.put32(0x3100 + 0x28, 0x1230); // B's EAX: a selector beyond the GDT limit
    g.task(0x3200, 0x1200, 0x6000);
    g.put(0x1000, {0x0F, 0x0B});                 // A: ud2
    g.put(0x1100, {0xBB, 0x22, 0x00, 0x00, 0x00, // B: mov ebx, 0x22
                   0x8E, 0xD8});                 //    mov ds, ax
    g.put(0x1200, {0x59, 0x90});                 // C: pop ecx ; nop

    Lockstep& r = start(0x1000);
    const CpuState& s = r.state();
    Exit e = r.fault("ud2 through the IDT task gate to B", 6);
    // SDM Vol. 3A 6.12.2: a nested switch; #UD has no error code; A saved at the UD2.
    EXPECT_FALSE(e.has_error_code);
    EXPECT_EQ(s.tr.selector, kTssB);
    EXPECT_NE(s.eflags & flags::NT, 0u);
    EXPECT_EQ(s[Gpr::ESP], 0x7000u);
    EXPECT_EQ(saved(0x3000, 0x20), 0x1000u);
    r.step("mov ebx (B)");
    e = r.fault("mov ds, 0x1230: #GP through the IDT task gate to C", 13);
    // SDM Vol. 3A 6.13: the error code (the selector) is pushed on the new task's stack.
    EXPECT_TRUE(e.has_error_code);
    EXPECT_EQ(e.error_code, 0x1230u);
    EXPECT_EQ(s.tr.selector, kTssC);
    EXPECT_EQ(s[Gpr::ESP], 0x6000u - 4);
    EXPECT_EQ(g.get32(0x6000 - 4), 0x1230u);
    EXPECT_EQ(saved(0x3100, 0x20), 0x1105u); // B saved at the faulting MOV
    r.step("pop ecx (C): the error code");
    EXPECT_EQ(s[Gpr::ECX], 0x1230u);
    r.step("nop (C)");
}

TEST_F(TaskSwitchVsUnicorn, SixteenBitTss) {
    // Task C: a 16-bit TSS (SDM Vol. 3A Figure 7-10) with the flat 32-bit code segment.
    g.descriptor(kTssC, 0x3200, 0x2B, 0x81, 0);
    g.put16(0x3200 + 0x0E, 0x1200);             // IP
    g.put16(0x3200 + 0x10, 0x0003);             // FLAGS: CF
    g.put16(0x3200 + 0x12, 0x1616);             // AX
    g.put16(0x3200 + 0x1A, 0x6000);             // SP
    g.put16(0x3200 + 0x24, kCode);              // CS
    for (uint32_t slot : {0x22u, 0x26u, 0x28u}) // ES, SS, DS
        g.put16(0x3200 + slot, kData);
    g.descriptor(kTssB, 0x3100, 0x67, 0x89, 0);
    g.task(0x3100, 0x1100, 0x7000);
    g.put(0x1000, {0xB8, 0x11, 0x11, 0x11, 0x11,               // A: mov eax, 0x11111111
                   0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); //    jmp 0x30:0 (16-bit TSS C)
    g.put(0x1200, {0xB9, 0x33, 0x00, 0x00, 0x00,               // C: mov ecx, 0x33
                   0x9A, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00}); //    call 0x20:0 (TSS B)
    g.put(0x1100, {0xCF});                                     // B: iretd (NT) back to C
    g.put(0x120C, {0x90});                                     // C: nop

    Lockstep& r = start(0x1000);
    const CpuState& s = r.state();
    r.step("mov eax (A)");
    r.step("jmp to the 16-bit TSS C", Rule::Tss16Load);
    // SDM Vol. 3A 7.6 and Figure 7-10.
    EXPECT_EQ(s.eip, 0x1200u);
    EXPECT_EQ(s[Gpr::EAX], 0x11111616u); // transit86 keeps the upper half (docs)
    EXPECT_EQ(s[Gpr::ESP] & 0xFFFF, 0x6000u);
    EXPECT_EQ(s[Seg::SS].selector, kData);
    EXPECT_TRUE(ar::unusable(s[Seg::FS].access_rights)); // a 16-bit TSS has no FS, GS
    EXPECT_EQ(s.tr.access_rights, 0x83u);                // busy 16-bit TSS
    r.step("mov ecx (C)");
    r.step("call from the 16-bit task to TSS B", Rule::Tss16Save, 0x3200);
    EXPECT_EQ(g.get32(0x3100) & 0xFFFF, kTssC);
    EXPECT_EQ(g.get32(0x3200 + 0x0E) & 0xFFFF, 0x120Cu); // C's 16-bit image: IP
    EXPECT_EQ(g.get32(0x3200 + 0x14) & 0xFFFF, 0x33u);   // CX
    r.step("iretd with NT back to the 16-bit task C", Rule::Tss16Load);
    EXPECT_EQ(s.eip, 0x120Cu);
    EXPECT_EQ(s[Gpr::ECX] & 0xFFFF, 0x33u);
    r.step("nop (C)");
}

TEST_F(TaskSwitchVsUnicorn, FaultsBeforeTheSwitchGoToInterruptGates) {
    g.descriptor(kTssB, 0x3100, 0x66, 0x89, 0); // limit below 67H (SDM Table 7-1): #TS
    g.task(0x3100, 0x1100, 0x7000);
    g.gate(kIdt + 13 * 8, kCode, 0x1500, kIntGate32);
    g.gate(kIdt + kTs * 8, kCode, 0x1600, kIntGate32);
    g.put(0x1000, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00}); // jmp 0x18:0 (busy TSS A)
    g.put(0x1010, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00}); // jmp 0x20:0 (TSS B, small)
    g.put(0x1500, {0x58,                                       // #GP: pop eax (error code)
                   0xC7, 0x04, 0x24, 0x10, 0x10, 0x00, 0x00,   //      mov dword [esp], 0x1010
                   0xCF});                                     //      iretd
    g.put(0x1600, {0x5B, 0x90});                               // #TS: pop ebx ; nop

    Lockstep& r = start(0x1000);
    const CpuState& s = r.state();
    Exit e = r.fault("jmp to the busy TSS A: #GP", 13);
    // SDM Vol. 2 JMP "TASK-STATE-SEGMENT": TSS busy -> #GP(TSS selector); nothing switched.
    EXPECT_EQ(e.error_code, kTssA);
    EXPECT_EQ(s.tr.selector, kTssA);
    EXPECT_EQ(s.eip, 0x1500u);
    r.step("pop eax (#GP handler)");
    EXPECT_EQ(s[Gpr::EAX], kTssA);
    r.step("mov dword [esp], 0x1010");
    r.step("iretd to the next jmp");
    e = r.fault("jmp to TSS B with limit 66H: #TS", kTs);
    EXPECT_EQ(e.error_code, kTssB);
    EXPECT_EQ(s.tr.selector, kTssA);
    EXPECT_EQ(saved(0x3000, 0x20), 0u); // nothing saved
    r.step("pop ebx (#TS handler)");
    EXPECT_EQ(s[Gpr::EBX], kTssB);
    r.step("nop (#TS handler)");
}

TEST_F(TaskSwitchVsUnicorn, Virtual8086RoundTrip) {
    v86_entry(g);
    g.gate(kIdt + 13 * 8, kCode, 0x1600, kIntGate32);              // #GP
    g.put(0x1020, {0xB8, 0x34, 0x12, 0xCD, 0x40,                   // V86: mov ax, 0x1234 ; int 0x40
                   0xBB, 0x78, 0x56, 0xCD, 0x41});                 //      mov bx, 0x5678 ; int 0x41
    g.put(0x1500, {0x90,                                           // int 0x40 handler: nop
                   0x81, 0x64, 0x24, 0x08, 0xFF, 0xCF, 0xFF, 0xFF, // and [esp+8], ~IOPL
                   0xCF});                                         // iretd
    g.put(0x1600, {0x58, 0x90});                                   // #GP handler: pop eax ; nop

    Lockstep& r = start(0x1000, kV86Frame);
    const CpuState& s = r.state();
    r.step("iretd to virtual-8086 mode");
    EXPECT_TRUE(s.v86());
    EXPECT_EQ(s[Seg::SS].base, 0x7000u);
    r.step("mov ax (V86)");
    r.software_interrupt("int 0x40 from V86 to ring 0", 0x40);
    // SDM Vol. 3A 20.3.1.1 / Vol. 2 INT n "INTERRUPT-FROM-VIRTUAL-8086-MODE": the stack from
    // TSS.SS0:ESP0, GS FS DS ES SS ESP EFLAGS CS EIP pushed, DS ES FS GS nulled.
    EXPECT_FALSE(s.v86());
    EXPECT_EQ(s[Gpr::ESP], kV86Frame);
    EXPECT_EQ(s.eip, 0x1500u);
    EXPECT_TRUE(ar::unusable(s[Seg::DS].access_rights));
    EXPECT_EQ(g.get32(0x9000 - 4), 0x0600u); // GS
    EXPECT_EQ(g.get32(kV86Frame), 0x0025u);  // EIP after INT
    r.step("nop (ring 0 handler)");
    r.step("and dword [esp+8]: IOPL 0 in the saved EFLAGS");
    r.step("iretd back to V86");
    EXPECT_TRUE(s.v86());
    EXPECT_EQ(s[Seg::DS].selector, 0x0300u);
    EXPECT_EQ(s.eflags & flags::IOPL, 0u);
    r.step("mov bx (V86)");
    const Exit e = r.fault("int 0x41 with IOPL 0: #GP(0) to ring 0", 13);
    // SDM Vol. 2 INT n: "IF EFLAGS.VM = 1 and EFLAGS.IOPL < 3 ... #GP(0)" (CR4.VME = 0).
    EXPECT_EQ(e.error_code, 0u);
    EXPECT_EQ(s.eip, 0x1600u);
    EXPECT_EQ(s[Gpr::ESP], 0x9000u - 40);
    EXPECT_EQ(g.get32(kV86Frame), 0x0028u); // the faulting INT
    r.step("pop eax (#GP handler): the error code");
    EXPECT_EQ(s[Gpr::EAX], 0u);
    r.step("nop (#GP handler)");
}

} // namespace
} // namespace transit86
