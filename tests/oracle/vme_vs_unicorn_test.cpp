// The virtual-8086 mode extensions (CR4.VME) and protected-mode virtual interrupts (CR4.PVI),
// single-stepped on transit86 and on Unicorn 2 in lockstep (unicorn_lockstep.hpp): CLI, STI,
// PUSHF, POPF, IRET and INT n in a V86 task with IOPL 0 and 3, with the vector's bit in the
// TSS's software interrupt redirection bit map clear and set (SDM Vol. 3A 20.3, Table 20-2),
// VIF and VIP at the start of an instruction (20.3.2), and CLI/STI at CPL 3 under PVI (20.4).
//
// Unicorn 2.0.1 is QEMU 5.0 TCG, which reports VME in CPUID but implements neither extension:
// its translate.c traps CLI, STI, PUSHF, POPF, IRET and INT n in V86 mode whenever IOPL < 3,
// and CLI/STI above IOPL in protected mode, to #GP(0) (rule unicorn-no-vme, docs/known-
// differences.md). Those steps check that Unicorn did that and nothing else, and the SDM's
// result on transit86 by hand (the EXPECTs beside them); Unicorn is then given transit86's
// state (through an IRETD, IretReentry) and every other step is compared field by field with
// all of guest RAM. The tally printed by each test says how many steps each rule covered.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "oracle/task_switch_scenarios.hpp"
#include "oracle/unicorn_lockstep.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {
namespace {

using namespace oracle::scenario;

constexpr uint8_t kGp = 13;
constexpr uint32_t kTss = 0x3000;     // task A's TSS
constexpr uint16_t kIoMapBase = 0x88; // redirection bit map: TSS bytes 68H-87H
constexpr uint32_t kTssLimit = kIoMapBase + 1;
constexpr uint32_t kGpHandler = 0x1600;          // pop eax ; nop
constexpr uint32_t kV86Handler = 0x2030;         // IVT[21H] = 0200:0030
constexpr uint32_t kScratch = 0xF0000;           // IretReentry
constexpr uint16_t kCode3 = 0x43, kData3 = 0x4B; // DPL-3 flat code (GDT 40) and data (48)
constexpr uint32_t kVm = flags::VM, kIf = flags::IF, kVif = flags::VIF, kVip = flags::VIP;
constexpr uint32_t kIopl3 = flags::IOPL;
constexpr const char* kNoVme = "unicorn-no-vme";

using Lockstep = oracle::UnicornLockstep;

// Task A's TSS with SS0:ESP0 = 10:9000, the I/O map base at 88H and the redirection bit map
// below it clear but for vector 40H (to the IDT); IDT[40H] a DPL-3 gate to 08:1500 (nop),
// IDT[13] the #GP handler; the 8086 program's IVT[21H] = 0200:0030 (mov bx ; iret); and at
// kV86Frame an IRETD frame into V86 at 0100:0020 with `eflags`, SS:SP 0700:1000.
void v86_guest(Guest& g, uint32_t eflags) {
    g.flat_with_task_a();
    v86_entry(g);
    g.descriptor(kTssA, kTss, kTssLimit, 0x8B, 0);
    g.put16(kTss + 0x66, kIoMapBase);
    g.put(kTss + kIoMapBase - 32 + 0x40 / 8, {0x01}); // bit 40H
    g.put32(kV86Frame + 8, flags::Fixed1 | eflags);
    g.gate(kIdt + kGp * 8, kCode, kGpHandler, 0x8E);
    g.put(kGpHandler, {0x58, 0x90});
    g.put(0x1500, {0x90});
    g.put16(0x21 * 4, 0x0030);
    g.put16(0x21 * 4 + 2, 0x0200);
    g.put(kV86Handler, {0xBB, 0x78, 0x56, 0xCF}); // mov bx, 0x5678 ; iret
}

class VmeVsUnicorn : public testing::Test {
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
    // Ring 0 at the IRETD at 0x1000 (or `eip`), CR4 as given, TR covering the bit map.
    Lockstep& start(uint64_t cr4, uint32_t esp = kV86Frame, uint32_t eip = 0x1000) {
        CpuState s = ring0_start(reset_state(ResetPreset::Kvm), eip);
        s[Gpr::ESP] = esp;
        s.cr4 = cr4;
        s.tr.limit = kTssLimit;
        run = std::make_unique<Lockstep>(*uc, g.ram(), s);
        run->set_reentry({.code = kCode, .data = kData, .scratch = kScratch});
        return *run;
    }
    uint16_t word(uint32_t at) const { return static_cast<uint16_t>(g.get32(at)); }

    std::unique_ptr<oracle::UnicornRunner> uc;
    Guest g;
    std::unique_ptr<Lockstep> run;
};

TEST_F(VmeVsUnicorn, IoplZeroVirtualizesIfAndRedirectsInt) {
    v86_guest(g, kVm | kIf);
    g.put(0x1020, {0xB8, 0x34, 0x12, // mov ax, 0x1234
                   0xFB,             // sti
                   0x9C,             // pushf
                   0xFA,             // cli
                   0x9D,             // popf
                   0xCD, 0x21,       // int 0x21 (bit clear: method 6)
                   0xCD, 0x40});     // int 0x40 (bit set: method 3)
    Lockstep& r = start(cr4::VME);
    const CpuState& s = r.state();
    const uint32_t v86 = flags::Fixed1 | kVm | kIf; // IOPL 0, the real IF 1, VIF 0
    r.step("iretd to V86 with IOPL 0");
    EXPECT_EQ(s.eflags, v86);
    r.step("mov ax (V86)");
    // SDM STI/CLI "Operation", VM = 1, IOPL < 3, VME = 1: VIF := 1 / 0, IF unchanged.
    r.unicorn_traps("sti: VIF := 1", kGp, kNoVme);
    EXPECT_EQ(s.eflags, v86 | kVif);
    // SDM PUSHF: the image has IF = VIF and IOPL 3.
    r.unicorn_traps("pushf: IF from VIF, IOPL 3", kGp, kNoVme);
    EXPECT_EQ(word(0x7FFE), 0x3202u);
    r.unicorn_traps("cli: VIF := 0", kGp, kNoVme);
    EXPECT_EQ(s.eflags, v86);
    // SDM POPF: VIF := the popped IF; IF and IOPL unaffected.
    r.unicorn_traps("popf: VIF from the popped IF", kGp, kNoVme);
    EXPECT_EQ(s.eflags, v86 | kVif);
    EXPECT_EQ(s[Gpr::ESP], 0x1000u);
    // Table 20-2 method 6: FLAGS (IOPL 3, IF = VIF), CS, IP on the V86 stack; VIF := 0;
    // CS:IP from the program's IVT.
    r.unicorn_traps("int 0x21: redirected to IVT[21H]", kGp, kNoVme);
    EXPECT_TRUE(s.v86());
    EXPECT_EQ(s.eip, 0x30u);
    EXPECT_EQ(s[Seg::CS].selector, 0x0200u);
    EXPECT_EQ(s[Gpr::ESP], 0x0FFAu);
    EXPECT_EQ(word(0x7FFA), 0x0029u);
    EXPECT_EQ(word(0x7FFC), 0x0100u);
    EXPECT_EQ(word(0x7FFE), 0x3202u);
    EXPECT_EQ(s.eflags, v86);
    r.step("mov bx (the 8086 program's handler)");
    // 16-bit IRET under VME: CS:IP, VIF := the popped IF.
    r.unicorn_traps("iret: back, VIF from the popped IF", kGp, kNoVme);
    EXPECT_EQ(s.eip, 0x29u);
    EXPECT_EQ(s.eflags, v86 | kVif);
    // Method 3: the bit is set and IOPL < 3, #GP(0) — what Unicorn does for every INT n here.
    const Exit e = r.fault("int 0x40: bit set, #GP(0)", kGp);
    EXPECT_EQ(e.error_code, 0u);
    EXPECT_EQ(g.get32(0x9000 - 40 + 12), v86 | kVif | flags::RF); // the pushed EFLAGS
    r.step("pop eax (#GP handler)");
    r.step("nop (#GP handler)");
}

TEST_F(VmeVsUnicorn, IoplThreeRedirectsThroughTheIvtOrTheIdt) {
    v86_guest(g, kVm | kIopl3 | kIf);
    g.put(0x1020, {0xFA,         // cli
                   0xFB,         // sti
                   0x9C,         // pushf
                   0x9D,         // popf
                   0xCD, 0x21,   // int 0x21 (bit clear: method 5)
                   0xCD, 0x40}); // int 0x40 (bit set: method 4)
    Lockstep& r = start(cr4::VME);
    const CpuState& s = r.state();
    r.step("iretd to V86 with IOPL 3");
    r.step("cli (IOPL 3: IF)");
    r.step("sti (IOPL 3: IF)");
    r.step("pushf (IOPL 3)");
    r.step("popf (IOPL 3)");
    // Method 5: as in real mode through the program's IVT, IF := 0, TF := 0. QEMU would have
    // gone to the IDT (no VME); Unicorn stops at the INT with its vector either way.
    r.software_interrupt("int 0x21: redirected to IVT[21H]", 0x21, kNoVme);
    EXPECT_TRUE(s.v86());
    EXPECT_EQ(s.eip, 0x30u);
    EXPECT_EQ(s[Seg::CS].selector, 0x0200u);
    EXPECT_EQ(word(0x7FFA), 0x0026u);
    EXPECT_EQ(word(0x7FFE), 0x3202u);
    EXPECT_EQ(s.eflags, flags::Fixed1 | kVm | kIopl3);
    r.step("mov bx (the 8086 program's handler)");
    r.step("iret (IOPL 3)");
    EXPECT_EQ(s.eip, 0x26u);
    // Method 4: through the IDT to ring 0, as without VME.
    r.software_interrupt("int 0x40: to the protected-mode handler", 0x40);
    EXPECT_FALSE(s.v86());
    EXPECT_EQ(s.eip, 0x1500u);
    r.step("nop (ring 0 handler)");
}

TEST_F(VmeVsUnicorn, VifAndVipTogetherFaultAtTheNextInstruction) {
    // SDM Vol. 3A 20.3.2: both set at the beginning of an instruction: #GP(0).
    v86_guest(g, kVm | kIf | kVif | kVip);
    g.put(0x1020, {0x90}); // nop
    Lockstep& r = start(cr4::VME);
    const CpuState& s = r.state();
    r.step("iretd to V86 with VIF and VIP");
    EXPECT_EQ(s.eflags, flags::Fixed1 | kVm | kIf | kVif | kVip);
    const auto [e, theirs] = r.fault_unicorn_retires("nop with VIF and VIP: #GP(0)", kGp, kNoVme);
    EXPECT_EQ(e.error_code, 0u);
    EXPECT_EQ(theirs.state.eip, 0x21u); // Unicorn ran the NOP
    EXPECT_EQ(g.get32(0x9000 - 40 + 4), 0x20u);
    r.step("pop eax (#GP handler)");
}

TEST_F(VmeVsUnicorn, PviVirtualizesCliAndStiAtCplThree) {
    g.flat_with_task_a();
    g.descriptor(kTssA, kTss, kTssLimit, 0x8B, 0);
    g.descriptor(kCode3 & ~3, 0, 0xFFFFF, 0xFB, 0xC);
    g.descriptor(kData3 & ~3, 0, 0xFFFFF, 0xF3, 0xC);
    g.put32(kTss + 4, 0x9000);
    g.put16(kTss + 8, kData);
    g.gate(kIdt + kGp * 8, kCode, kGpHandler, 0x8E);
    g.put(kGpHandler, {0x58, 0x90});
    const uint32_t image = flags::Fixed1 | kIf | kVif | kVip;
    const uint32_t frame[] = {0x1100, kCode3, image, 0x8000, kData3};
    for (uint32_t i = 0; i < 5; ++i)
        g.put32(0x9000 - 20 + 4 * i, frame[i]);
    g.put(0x1000, {0xCF});     // iretd to CPL 3
    g.put(0x1100, {0x9C,       // pushfd
                   0x66, 0x9D, // popf (16-bit)
                   0xFA,       // cli
                   0xFB});     // sti
    CpuState s0 = ring0_start(reset_state(ResetPreset::Kvm), 0x1000);
    for (Seg seg : {Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s0[seg] = SegmentCache{
            .base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC0F3, .selector = kData3};
    s0[Gpr::ESP] = 0x9000 - 20;
    s0.cr4 = cr4::PVI;
    s0.tr.limit = kTssLimit;
    run = std::make_unique<Lockstep>(*uc, g.ram(), s0);
    run->set_reentry({.code = kCode, .data = kData, .scratch = kScratch});
    Lockstep& r = *run;
    const CpuState& s = r.state();
    // SDM IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL: at CPL 0 a 32-bit IRET loads VIF and VIP.
    r.step_masking_flags("iretd to CPL 3 with VIF and VIP", kVif | kVip, "unicorn-iret-no-vif");
    EXPECT_EQ(s.cpl(), 3u);
    EXPECT_EQ(s.eflags, image);
    // PUSHF and POPF are not virtualized by PVI (SDM POPF).
    r.step("pushfd (CPL 3, PVI)");
    r.step("popf (CPL 3, PVI): IF unchanged");
    // SDM CLI: PVI mode, IOPL < CPL = 3: VIF := 0.
    r.unicorn_traps("cli: VIF := 0", kGp, kNoVme);
    EXPECT_EQ(s.eflags, image & ~kVif);
    // SDM STI: VIP = 1: #GP(0) — for Unicorn too, which lacks PVI.
    const Exit e = r.fault("sti with VIP: #GP(0)", kGp);
    EXPECT_EQ(e.error_code, 0u);
    r.step("pop eax (#GP handler)");
}

} // namespace
} // namespace transit86
