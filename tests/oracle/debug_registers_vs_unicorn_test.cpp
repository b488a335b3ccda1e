// Debug registers and single step, stepped on transit86 and on Unicorn 2 (QEMU TCG:
// bpt_helper.c helper_get_dr/helper_set_dr/helper_single_step, translate.c) in lockstep
// (unicorn_lockstep.hpp says what is compared after each instruction; DR0-DR3, DR6 and DR7 are
// part of it). The tally printed by each test says how many steps each rule of
// docs/known-differences.md ("Debug registers on Unicorn") covered.
//
// What Unicorn 2.0.1 models, found by these tests and by experiment: MOV to and from DR0-DR7
// (DR4/DR5 alias DR6/DR7, #UD with CR4.DE), the single-step trap with DR6.BS, no trap after
// MOV SS or after the POPF that sets TF, one trap per REP iteration. It does not model DR7.GD
// (the MOV just runs), data breakpoints (ignored) or the TSS T bit, and an enabled
// instruction breakpoint makes it crash, so no test arms one on Unicorn (the unit tests in
// tests/emu/system/debug_registers_test.cpp and debug_traps_test.cpp carry the SDM's values
// for those).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "oracle/task_switch_scenarios.hpp"
#include "oracle/unicorn_lockstep.hpp"

namespace transit86 {
namespace {

using namespace oracle::scenario;
using Lockstep = oracle::UnicornLockstep;
using Rule = oracle::UnicornRule;

constexpr uint32_t kCodeAt = 0x1000;
constexpr uint32_t kDbHandler = 0x2000; // real mode: IVT entry 1 -> 0000:2000
constexpr uint32_t kIntHandler = 0x2100;

class DebugRegistersVsUnicorn : public testing::Test {
  protected:
    void SetUp() override {
        std::string error;
        uc = oracle::UnicornRunner::create({.memory_size = kRamSize}, &error);
        if (!uc) GTEST_SKIP() << "Unicorn is not available: " << error;
    }
    void TearDown() override {
        if (run) {
            std::cout << "[ tally    ] " << run->tally() << "\n";
            RecordProperty("tally", run->tally());
        }
    }
    // Real mode at 0000:1000, SS:SP 0000:8000, the IVT at 0 with #DB at 0000:2000 (IRET) and
    // INT 20 at 0000:2100 (IRET).
    Lockstep& start_real(uint32_t eflags = flags::Fixed1, uint64_t cr4 = 0) {
        g.put32(1 * 4, kDbHandler);
        g.put32(0x20 * 4, kIntHandler);
        g.put(kDbHandler, {0xCF});
        g.put(kIntHandler, {0xCF});
        CpuState s = reset_state(ResetPreset::Kvm);
        for (SegmentCache& c : s.seg)
            c = {.base = 0, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0};
        // As Unicorn's UC_MODE_16 engine holds them: CS an accessed read/write segment
        // (also the SDM's reset value), TR and LDTR never loaded (not present).
        s.tr.access_rights = ar::kUnusable;
        s.ldtr.access_rights = ar::kUnusable;
        s.eip = kCodeAt;
        s[Gpr::ESP] = 0x8000;
        s.eflags = eflags;
        s.idtr = {.base = 0, .limit = 0x3FF};
        s.cr4 = cr4;
        run = std::make_unique<Lockstep>(*uc, g.ram(), s);
        return *run;
    }

    std::unique_ptr<oracle::UnicornRunner> uc;
    Guest g;
    std::unique_ptr<Lockstep> run;
};

TEST_F(DebugRegistersVsUnicorn, MovToAndFromDebugRegisters) {
    // SDM Vol. 2B MOV DRn; Vol. 3B 18.2.2 (DR4/DR5 alias DR6/DR7 with CR4.DE = 0), 18.2.3 and
    // 18.2.4 (the fixed bits of DR6 and DR7).
    g.put(kCodeAt, {
                       0x66, 0xB8, 0x78, 0x56, 0x34, 0x12, // mov eax, 0x12345678
                       0x0F, 0x23, 0xC0,                   // mov dr0, eax
                       0x0F, 0x23, 0xC8,                   // mov dr1, eax
                       0x0F, 0x23, 0xD0,                   // mov dr2, eax
                       0x0F, 0x23, 0xD8,                   // mov dr3, eax
                       0x0F, 0x21, 0xD3,                   // mov ebx, dr2
                       0x66, 0xB8, 0x0F, 0xE0, 0x00, 0x00, // mov eax, 0xE00F
                       0x0F, 0x23, 0xF0,                   // mov dr6, eax
                       0x0F, 0x21, 0xF1,                   // mov ecx, dr6
                       0x66, 0x31, 0xC0,                   // xor eax, eax
                       0x0F, 0x23, 0xE0,                   // mov dr4, eax (DR6)
                       0x0F, 0x21, 0xEA,                   // mov edx, dr5 (DR7)
                       0x66, 0xB8, 0x00, 0x03, 0x00, 0x00, // mov eax, 0x300 (LE, GE)
                       0x0F, 0x23, 0xF8,                   // mov dr7, eax
                       0x0F, 0x21, 0xFE,                   // mov esi, dr7
                       0x66, 0x48,                         // dec eax
                       0x0F, 0x23, 0xF0,                   // mov dr6, eax (0x2FF: bit 12 clear)
                       0x0F, 0x21, 0xF7,                   // mov edi, dr6
                   });
    Lockstep& r = start_real();
    const CpuState& s = r.state();
    r.step("mov eax");
    r.step("mov dr0, eax");
    r.step("mov dr1, eax");
    r.step("mov dr2, eax");
    r.step("mov dr3, eax");
    r.step("mov ebx, dr2");
    EXPECT_EQ(s[Gpr::EBX], 0x12345678u);
    r.step("mov eax, 0xE00F");
    r.step("mov dr6, eax");
    r.step("mov ecx, dr6");
    EXPECT_EQ(s[Gpr::ECX], 0xFFFFEFFFu);
    r.step("xor eax, eax");
    r.step("mov dr4, eax");
    EXPECT_EQ(s.dr6, 0xFFFF0FF0u);
    r.step("mov edx, dr5");
    EXPECT_EQ(s[Gpr::EDX], 0x400u);
    r.step("mov eax, 0x300");
    r.step("mov dr7, eax");
    r.step("mov esi, dr7");
    EXPECT_EQ(s[Gpr::ESI], 0x700u);
    r.step("dec eax");
    r.step("mov dr6, eax");
    r.step("mov edi, dr6");
    EXPECT_EQ(s[Gpr::EDI], 0xFFFF0FFFu);
}

TEST_F(DebugRegistersVsUnicorn, ReservedBitsAndGeneralDetect) {
    // DR6 bit 12 and DR7 bits 11, 12, 14, 15 read as 0 (18.2.3, 18.2.4; rule
    // unicorn-debug-reserved-bits); DR7.GD makes the next MOV DRn a #DB with DR6.BD (18.2.4;
    // rule unicorn-no-general-detect).
    g.put(kCodeAt, {
                       0x66, 0xB8, 0xFF, 0xFF, 0xFF, 0xFF, // mov eax, 0xFFFFFFFF
                       0x0F, 0x23, 0xF0,                   // mov dr6, eax
                       0x66, 0xB8, 0x00, 0xD8, 0x00, 0x00, // mov eax, 0xD800
                       0x0F, 0x23, 0xF8,                   // mov dr7, eax
                       0x66, 0xB8, 0x00, 0x20, 0x00, 0x00, // mov eax, 0x2000 (GD)
                       0x0F, 0x23, 0xF8,                   // mov dr7, eax
                       0x0F, 0x21, 0xC3,                   // mov ebx, dr0 -> #DB
                   });
    Lockstep& r = start_real();
    const CpuState& s = r.state();
    r.step("mov eax, ~0");
    r.step("mov dr6, ~0", Rule::DebugReservedBits);
    EXPECT_EQ(s.dr6, 0xFFFFEFFFu);
    r.step("mov eax, 0xD800");
    r.step("mov dr7, 0xD800", Rule::DebugReservedBits);
    EXPECT_EQ(s.dr7, 0x400u);
    r.step("mov eax, 0x2000");
    r.step("mov dr7, GD");
    r.fault_unicorn_retires("mov ebx, dr0 under GD", 1, "unicorn-no-general-detect");
    EXPECT_EQ(s.eip, kDbHandler);
    EXPECT_EQ(s.dr6, 0xFFFFEFF0u); // BD set (BS, BT stay from the MOV), B0-B3 cleared
    EXPECT_EQ(s.dr7, 0x400u);      // GD cleared on entry to the handler
}

TEST_F(DebugRegistersVsUnicorn, Dr4AndDr5RaiseUDWithCr4De) {
    g.put(kCodeAt, {0x0F, 0x21, 0xE8}); // mov eax, dr5
    start_real(flags::Fixed1, 1u << 3).fault("mov eax, dr5 with CR4.DE", 6);
}

TEST_F(DebugRegistersVsUnicorn, SingleStepTraps) {
    // 18.3.1.4: a trap after each instruction begun with TF = 1 (DR6.BS); none after the
    // instruction that sets TF, none after MOV SS (Vol. 3A 6.8.3: held until after the next
    // instruction), none after INT n (TF is cleared on entry to its handler), one per REP
    // iteration.
    g.put(kCodeAt, {
                       0x43,             // 1000 inc bx          -> #DB
                       0x8E, 0xD0,       // 1001 mov ss, ax      (held)
                       0x43,             // 1003 inc bx          -> #DB
                       0xB9, 0x02, 0x00, // 1004 mov cx, 2       -> #DB
                       0xBF, 0x00, 0x30, // 1007 mov di, 0x3000  -> #DB
                       0xF3, 0xAA,       // 100A rep stosb       -> #DB, #DB
                       0xCD, 0x20,       // 100C int 0x20        (IRET at 2100)
                       0x9C,             // 100E pushf           -> #DB
                       0x58,             // 100F pop ax          -> #DB
                       0x25, 0xFF, 0xFE, // 1010 and ax, 0xFEFF  -> #DB
                       0x50,             // 1013 push ax         -> #DB
                       0x9D,             // 1014 popf (TF := 0)  -> #DB
                       0x43,             // 1015 inc bx
                       0x68, 0x02, 0x01, // 1016 push 0x102
                       0x9D,             // 1019 popf (TF := 1)
                       0x43,             // 101A inc bx          -> #DB
                   });
    Lockstep& r = start_real(flags::Fixed1 | flags::TF);
    const CpuState& s = r.state();
    // Each #DB goes to the handler at 2000, whose IRET returns with TF set again.
    auto trap_and_return = [&](const char* what, uint32_t next) {
        r.debug_trap(what);
        EXPECT_EQ(s.eip, kDbHandler) << what;
        EXPECT_EQ(s.dr6 & dr6::BS, dr6::BS) << what;
        r.step("iret from #DB");
        EXPECT_EQ(s.eip, next) << what;
    };
    trap_and_return("inc bx", 0x1001);
    r.step("mov ss, ax (trap held)");
    trap_and_return("inc bx after mov ss", 0x1004);
    trap_and_return("mov cx, 2", 0x1007);
    trap_and_return("mov di, 0x3000", 0x100A);
    trap_and_return("rep stosb, first iteration", 0x100A);
    EXPECT_EQ(s[Gpr::ECX] & 0xFFFF, 1u);
    trap_and_return("rep stosb, last iteration", 0x100C);
    r.software_interrupt("int 0x20 (no trap)", 0x20);
    r.step("iret from int 0x20 (TF restored, no trap)");
    EXPECT_EQ(s.eip, 0x100Eu);
    trap_and_return("pushf", 0x100F);
    trap_and_return("pop ax", 0x1010);
    trap_and_return("and ax", 0x1013);
    trap_and_return("push ax", 0x1014);
    trap_and_return("popf clearing TF", 0x1015);
    r.step("inc bx (TF = 0)");
    r.step("push 0x102");
    r.step("popf setting TF (no trap)");
    trap_and_return("inc bx", 0x101B);
    EXPECT_EQ(s[Gpr::EBX], 4u);
}

TEST_F(DebugRegistersVsUnicorn, DataBreakpointsAndTheTBit) {
    // 18.3.1.2: a data breakpoint traps after the access (rule unicorn-no-data-breakpoints);
    // Vol. 3A 7.2.1: a task switch to a TSS with the T bit traps with DR6.BT before the new
    // task's first instruction (rule unicorn-no-t-bit); 18.2.4: the switch clears L0-L3.
    g.flat_with_task_a();
    g.descriptor(kTssB, 0x3100, 0x67, 0x89, 0);
    g.task(0x3100, 0x1100, 0x7000);
    g.put16(0x3100 + 0x64, 1);                 // T
    g.gate(kIdt + 8, kCode, kDbHandler, 0x8E); // #DB
    g.put(kDbHandler, {0xCF});                 // iretd
    g.put(0x1100, {0x90});                     // task B: nop
    g.put(kCodeAt, {
                       0xB8, 0x00, 0x50, 0x00, 0x00, // mov eax, 0x5000
                       0x0F, 0x23, 0xC8,             // mov dr1, eax
                       0xB8, 0x04, 0x00, 0xD0, 0x00, // mov eax, 0x00D00004 (L1, write, 4 bytes)
                       0x0F, 0x23, 0xF8,             // mov dr7, eax
                       0x89, 0x1D, 0x00, 0x50, 0x00, 0x00,       // mov [0x5000], ebx -> #DB (B1)
                       0xEA, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, // jmp 0x20:0 -> #DB (BT)
                   });
    CpuState start = ring0_start(reset_state(ResetPreset::Kvm), kCodeAt);
    start[Gpr::ESP] = 0x8000;
    run = std::make_unique<Lockstep>(*uc, g.ram(), start);
    Lockstep& r = *run;
    const CpuState& s = r.state();
    r.step("mov eax, 0x5000");
    r.step("mov dr1, eax");
    r.step("mov eax, dr7 value");
    r.step("mov dr7, eax");
    r.debug_trap_unicorn_misses("mov [0x5000], ebx", "unicorn-no-data-breakpoints");
    EXPECT_EQ(s.dr6, 0xFFFF0FF2u);
    EXPECT_EQ(s.eip, kDbHandler);
    r.step("iretd to the jmp");
    EXPECT_EQ(s.eip, kCodeAt + 22);
    r.debug_trap_unicorn_misses("jmp to a TSS with T", "unicorn-no-t-bit");
    EXPECT_EQ(s.tr.selector, kTssB);
    EXPECT_EQ(s.dr6, 0xFFFF8FF0u); // BT; B1 cleared
    EXPECT_EQ(s.dr7, 0x00D00400u); // L1 cleared by the switch
    EXPECT_EQ(s.eip, kDbHandler);  // the #DB, delivered in task B
    r.step("iretd to task B's first instruction");
    EXPECT_EQ(s.eip, 0x1100u);
}

} // namespace
} // namespace transit86
