// Paging (SDM Vol. 3A chapter 4) single-stepped on transit86 and on a Unicorn that models it
// — 2.1.0 or later; the Debian 2.0.1 identity-maps every linear address, and the tests skip
// there with that reason (unicorn_runner.hpp, UnicornRunner::models_paging) — (QEMU TCG:
// target/i386/excp_helper.c handle_mmu_fault) in lockstep (unicorn_lockstep.hpp): after every
// instruction the registers, CR0-CR4 (CR2 after a fault), segment caches and all of guest RAM
// — the accessed and dirty flags the walks wrote included — must agree; a page fault must have
// the same error code on both. Steps that fall under a rule of docs/known-differences.md
// ("Paging on Unicorn") are counted and printed in the tally.
//
// Page tables are built by hand: 32-bit paging with the page directory at kPd, PT0 identity-
// mapping the first 1 MiB (supervisor, read/write) and PT1 for linear 400000H..7FFFFFH (the
// test's own mappings); PAE paging with the PDPT at kPdpt. #PF goes to a ring-0 handler at
// kHandler (transit86 delivers it; Unicorn takes the delivered state, rule unicorn-no-delivery).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "oracle/task_switch_scenarios.hpp"
#include "oracle/unicorn_lockstep.hpp"

namespace transit86 {
namespace {

using namespace oracle::scenario;
using Lockstep = oracle::UnicornLockstep;

constexpr uint32_t kPd = 0x10000, kPt0 = 0x11000, kPt1 = 0x12000;
constexpr uint32_t kPdpt = 0x13000, kPaePd = 0x14000, kPaePt0 = 0x15000, kPaePt1 = 0x16000;
constexpr uint32_t kHandler = 0x1800, kUserCode = 0x5000, kStack0 = 0x9000;
constexpr uint16_t kCode3 = 0x43, kData3 = 0x4B; // DPL-3 flat code (GDT 40) and data (48)
constexpr uint32_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80;
constexpr uint64_t XD = 1ull << 63;
constexpr uint32_t kPse = 1u << 4, kPae = 1u << 5;

class PagingVsUnicorn : public testing::Test {
  protected:
    void SetUp() override {
        std::string error;
        uc = oracle::UnicornRunner::create({.memory_size = kRamSize}, &error);
        if (!uc) GTEST_SKIP() << "Unicorn is not available: " << error;
        if (!oracle::UnicornRunner::models_paging())
            GTEST_SKIP() << "this Unicorn identity-maps linear addresses (2.0.1: "
                            "excp_helper.c \"indentity map guest virtual address\"; fixed in "
                            "2.1.0): it is no paging oracle (docs/known-differences.md)";
        g.flat_with_task_a();
        g.descriptor(0x40, 0, 0xFFFFF, 0xFB, 0xC);
        g.descriptor(0x48, 0, 0xFFFFF, 0xF3, 0xC);
        g.put32(0x3000 + 4, kStack0); // TSS A: ESP0
        g.put16(0x3000 + 8, kData);   //        SS0
        g.gate(kIdt + 14 * 8, kCode, kHandler, 0x8E);
        g.put(kHandler, {0x90});
    }
    void TearDown() override {
        if (run) {
            std::cout << "[ tally    ] " << run->tally() << "\n";
            RecordProperty("tally", run->tally());
        }
    }

    // 32-bit paging: PT0 identity-maps 0..1 MiB supervisor read/write (nothing accessed yet);
    // PDE 1 -> PT1, user read/write, empty.
    void tables32() {
        g.put32(kPd + 0, kPt0 | P | RW | US);
        for (uint32_t i = 0; i < 256; ++i)
            g.put32(kPt0 + i * 4, (i << 12) | P | RW);
        g.put32(kPd + 4, kPt1 | P | RW | US);
    }
    void map32(uint32_t linear, uint32_t entry) {
        g.put32(kPt1 + ((linear >> 12) & 0x3FF) * 4, entry);
    }
    // PAE paging: PDPTE 0 -> kPaePd; PDE 0 -> kPaePt0 (identity 0..1 MiB); PDE 2 -> kPaePt1
    // (linear 400000H..5FFFFFH), user read/write.
    void tables_pae() {
        g.put64(kPdpt, kPaePd | P);
        g.put64(kPaePd, kPaePt0 | P | RW | US);
        for (uint32_t i = 0; i < 256; ++i)
            g.put64(kPaePt0 + i * 8, (uint64_t{i} << 12) | P | RW);
        g.put64(kPaePd + 2 * 8, kPaePt1 | P | RW | US);
    }
    void map_pae(uint32_t linear, uint64_t entry) {
        g.put64(kPaePt1 + ((linear >> 12) & 0x1FF) * 8, entry);
    }
    // Lets CPL 3 run code at kUserCode with its stack page below 8000H.
    void user_pages32() {
        g.put32(kPt0 + (kUserCode >> 12) * 4, kUserCode | P | RW | US);
        g.put32(kPt0 + 7 * 4, 0x7000 | P | RW | US);
    }
    // At kUserCode: IRETD to ring 3 at kUserCode + 0x20 with ESP 8000H (the frame at 0x7F00).
    void iret_to_ring3() {
        const uint32_t frame[] = {kUserCode + 0x20, kCode3, flags::Fixed1, 0x8000, kData3};
        for (uint32_t i = 0; i < 5; ++i)
            g.put32(0x7F00 + 4 * i, frame[i]);
        g.put(kUserCode, {0xCF});
    }

    Lockstep& start(uint32_t eip, uint64_t cr0_extra = cr0::PG, uint32_t cr4 = 0,
                    uint32_t cr3 = kPd, uint64_t efer = 0, uint32_t esp = 0x8000) {
        CpuState s = ring0_start(reset_state(ResetPreset::Kvm), eip);
        s[Gpr::ESP] = esp;
        s.cr3 = cr3;
        s.cr4 = cr4;
        s.efer = efer;
        s.cr0 |= cr0_extra;
        if ((cr4 & kPae) && (s.cr0 & cr0::PG))
            for (uint32_t i = 0; i < 4; ++i)
                std::memcpy(&s.pdpte[i], &g.ram()[(cr3 & ~31u) + i * 8], 8);
        run = std::make_unique<Lockstep>(*uc, g.ram(), s);
        return *run;
    }

    std::unique_ptr<oracle::UnicornRunner> uc;
    Guest g;
    std::unique_ptr<Lockstep> run;
};

// 4.3, 4.8: 4-KByte pages; reads set A in the PDE and PTE, writes D in the PTE (and every
// identity page the code, stack and GDT accesses touch).
TEST_F(PagingVsUnicorn, FourKilobytePagesSetAccessedAndDirty) {
    tables32();
    map32(0x400000, 0x20000 | P | RW);
    map32(0x401000, 0x21000 | P | RW | US);
    g.put32(0x20010, 0x12345678);
    g.put(0x1000, {0xA1, 0x10, 0x00, 0x40, 0x00,       // mov eax, [0x400010]
                   0xA3, 0x20, 0x10, 0x40, 0x00,       // mov [0x401020], eax
                   0x8B, 0x1D, 0x20, 0x10, 0x40, 0x00, // mov ebx, [0x401020]
                   0x50, 0x5A});                       // push eax ; pop edx
    Lockstep& r = start(0x1000);
    r.step("read through PT1");
    r.step("write through PT1");
    r.step("read back");
    r.step("push");
    r.step("pop");
    EXPECT_EQ(r.state()[Gpr::EBX], 0x12345678u);
    EXPECT_EQ(g.get32(kPt1 + 4), 0x21000u | P | RW | US | A | D);
}

// 4.3, Table 4-4: a 4-MByte page with CR4.PSE; D in the PDE on a write.
TEST_F(PagingVsUnicorn, FourMegabytePage) {
    tables32();
    g.put32(kPd + 3 * 4, P | RW | PS);             // linear C00000H -> 0
    g.put(0x1000, {0xA1, 0x00, 0x10, 0xC0, 0x00,   // mov eax, [0xC01000]
                   0xA3, 0x00, 0x80, 0xC0, 0x00}); // mov [0xC08000], eax
    Lockstep& r = start(0x1000, cr0::PG, kPse);
    r.step("read through the 4 MiB page");
    r.step("write through the 4 MiB page");
    EXPECT_EQ(g.get32(kPd + 12), P | RW | PS | A | D);
}

// 4.7: P = 0 in a PTE: error code 0, CR2; QEMU set PDE 1's accessed flag on its way.
TEST_F(PagingVsUnicorn, NotPresentPte) {
    tables32();
    g.put(0x1000, {0xA1, 0x10, 0x20, 0x40, 0x00}); // mov eax, [0x402010]
    Lockstep& r = start(0x1000);
    r.page_fault("read of a not-present page", 0, kPd + 4);
    EXPECT_EQ(r.state().cr2, 0x402010u);
    r.step("handler");
}

// 4.7: P = 0 in the PDE: error code 2 for a write.
TEST_F(PagingVsUnicorn, NotPresentPdeWrite) {
    tables32();
    g.put(0x1000, {0xA3, 0x00, 0x00, 0x80, 0x00}); // mov [0x800000], eax
    Lockstep& r = start(0x1000);
    r.page_fault("write to a not-present table", 2);
    r.step("handler");
}

// 4.6: CR0.WP = 1: a supervisor write to a read-only page faults (P | W); WP = 0 lets it by.
TEST_F(PagingVsUnicorn, WriteProtect) {
    tables32();
    map32(0x403000, 0x23000 | P);
    g.put(0x1000, {0xA3, 0x00, 0x30, 0x40, 0x00}); // mov [0x403000], eax
    g.put(kHandler, {0x83, 0xC4, 0x04,             // add esp, 4 (error code)
                     0x0F, 0x20, 0xC0,             // mov eax, cr0
                     0x25, 0xFF, 0xFF, 0xFE, 0xFF, // and eax, ~WP
                     0x0F, 0x22, 0xC0,             // mov cr0, eax
                     0xCF});                       // iretd: the write again
    Lockstep& r = start(0x1000, cr0::PG | cr0::WP);
    r.page_fault("write with WP = 1", 3, kPd + 4);
    r.step("add esp");
    r.step("mov eax, cr0");
    r.step("and eax");
    r.step("mov cr0, eax (WP = 0)");
    r.step("iretd");
    r.step("write with WP = 0");
    EXPECT_EQ(g.get32(kPt1 + 3 * 4), 0x23000u | P | A | D);
}

// 4.6: CPL 3 reads a user page, then a supervisor page (P | U), after IRETD to ring 3.
TEST_F(PagingVsUnicorn, UserModeRights) {
    tables32();
    user_pages32();
    iret_to_ring3();
    map32(0x400000, 0x20000 | P | RW | US);
    map32(0x401000, 0x21000 | P | RW);                       // supervisor
    map32(0x402000, 0x22000 | P | US);                       // user, read-only
    g.put(kUserCode + 0x20, {0xA1, 0x00, 0x00, 0x40, 0x00,   // mov eax, [0x400000]
                             0xA1, 0x00, 0x10, 0x40, 0x00}); // mov eax, [0x401000]
    g.put(kHandler, {0x83, 0xC4, 0x04,                       // add esp, 4 (error code)
                     0x83, 0x04, 0x24, 0x05,                 // add dword [esp], 5
                     0xCF});                                 // iretd (skip the load)
    g.put(kUserCode + 0x2A, {0xA3, 0x00, 0x20, 0x40, 0x00}); // mov [0x402000], eax
    Lockstep& r = start(kUserCode, cr0::PG, 0, kPd, 0, 0x7F00);
    r.step("iretd to ring 3");
    r.step("user read of a user page");
    r.page_fault("user read of a supervisor page", 5, kPd + 4);
    r.step("add esp");
    r.step("add [esp]");
    r.step("iretd back to ring 3");
    r.page_fault("user write to a read-only page", 7, kPd + 4);
}

// 4.6: "accesses to the GDT or LDT to load a segment descriptor" are supervisor-mode at CPL 3
// (the GDT's page is supervisor-only); the accessed-bit write too.
TEST_F(PagingVsUnicorn, DescriptorLoadsAreSupervisorAccesses) {
    tables32();
    user_pages32();
    iret_to_ring3();
    g.descriptor(0x50, 0, 0xFFFFF, 0xF2, 0xC);       // DPL 3 data, not accessed
    g.put(kUserCode + 0x20, {0x66, 0xB8, 0x53, 0x00, // mov ax, 0x53
                             0x8E, 0xD8});           // mov ds, ax
    Lockstep& r = start(kUserCode, cr0::PG, 0, kPd, 0, 0x7F00);
    r.step("iretd to ring 3");
    r.step("mov ax");
    r.step("mov ds at CPL 3: GDT read and accessed bit through a supervisor page");
}

// 4.7: a write crossing into a read-only page (WP = 1) faults on the second page before any
// byte is written.
TEST_F(PagingVsUnicorn, PageCrossingWrite) {
    tables32();
    map32(0x400000, 0x20000 | P | RW);
    map32(0x401000, 0x21000 | P);
    g.put(0x1000, {0xB8, 0x11, 0x22, 0x33, 0x44,   // mov eax, 0x44332211
                   0xA3, 0xFE, 0x0F, 0x40, 0x00}); // mov [0x400FFE], eax
    Lockstep& r = start(0x1000, cr0::PG | cr0::WP);
    r.step("mov eax");
    r.page_fault("write across into a read-only page", 3, kPd + 4);
    EXPECT_EQ(r.state().cr2, 0x401000u);
    EXPECT_EQ(g.get32(0x20FFC), 0u);
}

// 4.7: a fetch from a not-present page faults at the jump target (I/D = 0 without PAE/NXE).
TEST_F(PagingVsUnicorn, FetchFromNotPresentPage) {
    tables32();
    g.put(0x1000, {0xE9, 0xFB, 0x3F, 0x40, 0x00}); // jmp 0x405000
    Lockstep& r = start(0x1000);
    r.step("jmp");
    r.page_fault("fetch at the target", 0, kPd + 4);
    EXPECT_EQ(r.state().cr2, 0x405000u);
}

// 4.4.2: PAE paging, 4-KByte and 2-MByte pages, A and D in 64-bit entries.
TEST_F(PagingVsUnicorn, PaePages) {
    tables_pae();
    map_pae(0x400000, 0x20000 | P | RW);
    g.put64(kPaePd + 3 * 8, P | RW | PS);          // linear 600000H -> 0, 2 MiB
    g.put(0x1000, {0xA1, 0x10, 0x00, 0x40, 0x00,   // mov eax, [0x400010]
                   0xA3, 0x10, 0x00, 0x40, 0x00,   // mov [0x400010], eax
                   0xA3, 0x00, 0x20, 0x60, 0x00}); // mov [0x602000], eax
    Lockstep& r = start(0x1000, cr0::PG, kPae, kPdpt);
    r.step("read, 4 KiB page");
    r.step("write, 4 KiB page");
    r.step("write, 2 MiB page");
}

// 4.6, 4.7: PAE with EFER.NXE: a fetch from an XD page faults with P | I/D.
TEST_F(PagingVsUnicorn, ExecuteDisable) {
    tables_pae();
    map_pae(0x400000, 0x20000 | P | RW | XD);
    g.put(0x20000, {0x90});
    g.put(0x1000, {0xE9, 0xFB, 0xEF, 0x3F, 0x00}); // jmp 0x400000
    Lockstep& r = start(0x1000, cr0::PG, kPae, kPdpt, 1u << 11);
    r.step("jmp");
    r.page_fault("fetch from an XD page", 0x11, kPaePd + 16);
}

// Tables 4-9..4-11: reserved bits: XD without NXE, an address bit above every MAXPHYADDR.
TEST_F(PagingVsUnicorn, PaeReservedBits) {
    tables_pae();
    map_pae(0x400000, 0x20000 | P | RW | XD);
    map_pae(0x401000, 0x21000 | P | RW | (1ull << 51));
    g.put(0x1000, {0xA1, 0x00, 0x00, 0x40, 0x00}); // mov eax, [0x400000]
    g.put(kHandler, {0x83, 0xC4, 0x04,             // add esp, 4
                     0x83, 0x04, 0x24, 0x05,       // add dword [esp], 5
                     0xCF});                       // iretd
    g.put(0x1005, {0xA1, 0x00, 0x10, 0x40, 0x00}); // mov eax, [0x401000]
    Lockstep& r = start(0x1000, cr0::PG, kPae, kPdpt);
    r.page_fault("XD set without NXE", 9, kPaePd + 16);
    r.step("add esp");
    r.step("add [esp]");
    r.step("iretd");
    r.page_fault("bit 51 set", 9, kPaePd + 16);
}

// 4.1.2, 4.10.4.1: paging switched on and off by MOV to CR0; a remapped page after INVLPG.
TEST_F(PagingVsUnicorn, EnablePagingRemapInvlpgDisable) {
    tables32();
    map32(0x400000, 0x20000 | P | RW);
    g.put32(0x20010, 0x11111111);
    g.put32(0x21010, 0x22222222);
    g.put(0x1000,
          {0x0F, 0x20, 0xC0,                   // mov eax, cr0
           0x0D, 0x00, 0x00, 0x00, 0x80,       // or eax, PG
           0x0F, 0x22, 0xC0,                   // mov cr0, eax
           0x8B, 0x1D, 0x10, 0x00, 0x40, 0x00, // mov ebx, [0x400010]
           0xC7, 0x05, 0x00, 0x20, 0x01, 0x00, // mov dword [kPt1], 0x21003
           0x03, 0x10, 0x02, 0x00, 0x0F, 0x01, 0x3D, 0x00, 0x00, 0x40, 0x00, // invlpg [0x400000]
           0x8B, 0x0D, 0x10, 0x00, 0x40, 0x00,                               // mov ecx, [0x400010]
           0x25, 0xFF, 0xFF, 0xFF, 0x7F,                                     // and eax, ~PG
           0x0F, 0x22, 0xC0,                                                 // mov cr0, eax
           0x8B, 0x15, 0x10, 0x00, 0x02, 0x00});                             // mov edx, [0x20010]
    Lockstep& r = start(0x1000, 0);
    for (const char* what :
         {"mov eax, cr0", "or eax", "mov cr0 (PG = 1)", "read", "remap", "invlpg",
          "read the new page", "and eax", "mov cr0 (PG = 0)", "read unpaged"})
        r.step(what);
    EXPECT_EQ(r.state()[Gpr::EBX], 0x11111111u);
    EXPECT_EQ(r.state()[Gpr::ECX], 0x22222222u);
}

// 4.4.1: MOV to CR3 with a PDPTE that sets a reserved bit raises #GP(0); QEMU has no PDPTE
// registers and takes the CR3 (rule unicorn-no-pdpte-check).
TEST_F(PagingVsUnicorn, Cr3WithReservedPdpte) {
    tables_pae();
    g.put64(0x17000, kPaePd | P | RW); // bit 1 is reserved in a PDPTE
    g.gate(kIdt + 13 * 8, kCode, kHandler, 0x8E);
    g.put(0x1000, {0xB8, 0x00, 0x70, 0x01, 0x00, // mov eax, 0x17000
                   0x0F, 0x22, 0xD8});           // mov cr3, eax
    Lockstep& r = start(0x1000, cr0::PG, kPae, kPdpt);
    r.step("mov eax");
    const auto [ours, theirs] =
        r.fault_unicorn_retires("mov cr3 with a reserved PDPTE bit", 13, "unicorn-no-pdpte-check");
    EXPECT_EQ(ours.error_code, 0u);
    EXPECT_EQ(theirs.state.cr3, 0x17000u);
    EXPECT_EQ(r.state().cr3, kPdpt);
}

// 7.3 step 11: a task switch with paging on loads CR3 from the new TSS.
TEST_F(PagingVsUnicorn, TaskSwitchLoadsCr3) {
    tables32();
    constexpr uint32_t kPd2 = 0x17000;
    for (uint32_t i = 0; i < 1024; ++i)
        g.put32(kPd2 + i * 4, g.get32(kPd + i * 4));
    map32(0x400000, 0x20000 | P | RW);
    g.put32(0x20000, 0xABCDEF01);
    g.descriptor(kTssB, 0x3100, 0x67, 0x89, 0);
    g.task(0x3100, 0x1100, 0x7000);
    g.put32(0x3100 + 0x1C, kPd2);
    g.put(0x1000, {0xEA, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00}); // jmp 0x20:0 (TSS B)
    g.put(0x1100, {0xA1, 0x00, 0x00, 0x40, 0x00});             // mov eax, [0x400000]
    Lockstep& r = start(0x1000);
    r.step("jmp to TSS B");
    EXPECT_EQ(r.state().cr3, kPd2);
    r.step("read through the new directory");
}

} // namespace
} // namespace transit86
