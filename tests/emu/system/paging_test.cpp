// Paging (SDM Vol. 3A chapter 4): translation, access rights, page faults, accessed and dirty
// flags. One TEST per rule, the SDM section in its comment; the tables are built by hand
// (paging_tables.hpp) and every expected value is worked out from the section cited.
#include "paging_tables.hpp"

namespace transit86::test {

namespace {

// mov eax, [0x400010] ; mov [0x400010], eax
constexpr std::initializer_list<uint8_t> kLoad = {0xA1, 0x10, 0x00, 0x40, 0x00};
constexpr std::initializer_list<uint8_t> kStore = {0xA3, 0x10, 0x00, 0x40, 0x00};
constexpr uint32_t kOperand = kMapped + 0x10;

} // namespace

// ---- Translation (4.3, 4.4)

// 4.3, Table 4-6: a 4-KByte page through PDE and PTE; the offset is linear bits 11:0.
TEST(Paging32, TranslatesThroughPdeAndPte) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.write32(0x5010, 0xCAFEF00D);
    m.load_code(kLoad);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xCAFEF00Du);
}

// 4.3, Table 4-4: with CR4.PSE a PDE with PS = 1 maps a 4-MByte page; bits 21:0 of the linear
// address are the offset.
TEST(Paging32, PsePdeMapsFourMegabytePage) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr4 |= cr4bit::PSE;
    m.write32(kPd + 3 * 4, 0x00000000 | pte::P | pte::RW | pte::PS); // linear C00000H -> 0
    m.write32(0x12345, 0x600DBEEF);
    m.load_code({0xA1, 0x45, 0x23, 0xC1, 0x00}); // mov eax, [0xC12345]
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x600DBEEFu);
}

// 4.3: "If CR4.PSE = 0 ... bit 7 is ignored": the PDE references a page table.
TEST(Paging32, PsBitIgnoredWithoutCr4Pse) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.write32(kPd + 4, kPt1 | pte::P | pte::RW | pte::US | pte::PS);
    map32(m, kMapped, 0x5000 | pte::P);
    m.write32(0x5010, 0x11223344);
    m.load_code(kLoad);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x11223344u);
}

// 4.4.2, Tables 4-10/4-11: PAE paging, PDPTE register -> PDE -> PTE, 64-bit entries.
TEST(PagingPae, TranslatesThroughPdpteRegisterPdeAndPte) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    map_pae(m, kMapped, 0x6000 | pte::P);
    m.write32(0x6010, 0x0BADCAFE);
    m.load_code(kLoad);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x0BADCAFEu);
}

// 4.4.2, Table 4-9: a PAE PDE with PS = 1 maps a 2-MByte page (CR4.PSE not needed).
TEST(PagingPae, PsPdeMapsTwoMegabytePage) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    m.write64(kPaePd + 3 * 8, 0x000000 | pte::P | pte::PS); // linear 600000H -> 0
    m.write32(0x1ABCD, 0x2468ACE0);
    m.load_code({0xA1, 0xCD, 0xAB, 0x61, 0x00}); // mov eax, [0x61ABCD]
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x2468ACE0u);
}

// ---- Page faults (4.7)

// 4.7: P = 0 in the PDE: error code P = 0, W/R = 0, U/S = 0; CR2 = the linear address.
TEST(PageFault, NotPresentPdeReadBySupervisor) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.write32(kPd + 4, 0);
    m.load_code(kLoad);
    EXPECT_TRUE(page_fault(m, m.run(1), 0, kOperand));
    EXPECT_EQ(m.eip(), kCode); // a fault: EIP at the instruction (Vol. 3A 6.5)
}

// 4.7: a write to a not-present page: W/R = 1.
TEST(PageFault, NotPresentPteWriteSetsWr) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.load_code(kStore);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x2, kOperand));
}

// 4.6: user-mode accesses need U/S = 1 in every entry; 4.7: P = 1 (protection), U/S = 1.
TEST(PageFault, UserReadOfSupervisorPage) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    user_code32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW); // supervisor
    m.drop_to_cpl3();
    m.load_code(kLoad);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x5, kOperand));
}

// 4.6: U/S = 0 in the PDE alone denies the user access ("every paging-structure entry").
TEST(PageFault, UserAccessDeniedBySupervisorPde) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    user_code32(m);
    m.write32(kPd + 4, kPt1 | pte::P | pte::RW); // supervisor PDE
    map32(m, kMapped, 0x5000 | pte::P | pte::RW | pte::US);
    m.drop_to_cpl3();
    m.load_code(kLoad);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x5, kOperand));
}

// 4.6: a user-mode write needs R/W = 1 everywhere: P | W | U.
TEST(PageFault, UserWriteToReadOnlyPage) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    user_code32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::US);
    m.drop_to_cpl3();
    m.load_code(kStore);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x7, kOperand));
}

// 4.6: with CR0.WP = 0 a supervisor-mode write to a read-only page is allowed.
TEST(PageAccessRights, SupervisorWritesReadOnlyPageWithWp0) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P);
    m.gpr(Gpr::EAX) = 0x5A5A5A5A;
    m.load_code(kStore);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(0x5010), 0x5A5A5A5Au);
}

// 4.6: with CR0.WP = 1 it faults: P | W, U/S = 0.
TEST(PageFault, SupervisorWriteToReadOnlyPageWithWp1) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr0 |= cr0::WP;
    map32(m, kMapped, 0x5000 | pte::P | pte::US);
    m.load_code(kStore);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x3, kOperand));
    EXPECT_EQ(m.read32(0x5010), 0u);
}

// 4.6: without SMEP a supervisor-mode fetch from a user page is allowed.
TEST(PageAccessRights, SupervisorFetchesFromUserPage) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::US);
    m.write8(0x5000, 0x90);                      // nop
    m.load_code({0xE9, 0xFB, 0xEF, 0x3F, 0x00}); // jmp 0x400000
    EXPECT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kMapped + 1);
}

// 4.7: a fetch from a not-present page; I/D stays 0 without PAE and NXE.
TEST(PageFault, FetchFromNotPresentPage) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.load_code({0xE9, 0xFB, 0xEF, 0x3F, 0x00}); // jmp 0x400000
    const Exit e = m.run(2);
    EXPECT_TRUE(page_fault(m, e, 0, kMapped));
    EXPECT_EQ(m.eip(), kMapped); // the jump retired; the fetch at its target faults
}

// 4.6, 4.7: with PAE and EFER.NXE a fetch from a page with XD = 1 faults, P | I/D.
TEST(PageFault, FetchFromExecuteDisabledPage) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    m.state().efer |= kEferNxe;
    map_pae(m, kMapped, 0x5000 | pte::P | pte::XD);
    m.write8(0x5000, 0x90);
    m.load_code({0xE9, 0xFB, 0xEF, 0x3F, 0x00});
    EXPECT_TRUE(page_fault(m, m.run(2), 0x11, kMapped));
}

// 4.7: I/D is set for any fetch fault with PAE and NXE, a not-present page too.
TEST(PageFault, FetchFaultSetsIdWithPaeAndNxe) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    m.state().efer |= kEferNxe;
    m.load_code({0xE9, 0xFB, 0xEF, 0x3F, 0x00});
    EXPECT_TRUE(page_fault(m, m.run(2), 0x10, kMapped));
}

// Table 4-11: without EFER.NXE bit 63 of a PAE entry is reserved: P | RSVD.
TEST(PageFault, XdBitReservedWithoutNxe) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    map_pae(m, kMapped, 0x5000 | pte::P | pte::XD);
    m.load_code(kLoad);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x9, kOperand));
}

// Tables 4-9..4-11: bits 62:MAXPHYADDR (36: no leaf 80000008H) of a PAE entry are reserved.
TEST(PageFault, PaeAddressBitAboveMaxPhyAddrIsReserved) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    map_pae(m, kMapped, (uint64_t{1} << 36) | 0x5000 | pte::P);
    m.load_code(kLoad);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x9, kOperand));
}

// Table 4-4: without PSE-36, bits 21:13 of a 4-MByte PDE are reserved: P | RSVD.
TEST(PageFault, FourMegabytePdeReservedBits) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr4 |= cr4bit::PSE;
    m.write32(kPd + 3 * 4, 0x2000 | pte::P | pte::PS); // bit 13
    m.load_code({0xA1, 0x00, 0x00, 0xC0, 0x00});       // mov eax, [0xC00000]
    EXPECT_TRUE(page_fault(m, m.run(1), 0x9, 0xC00000));
}

// Table 4-9: bits 20:13 of a 2-MByte PAE PDE are reserved.
TEST(PageFault, TwoMegabytePdeReservedBits) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    m.write64(kPaePd + 3 * 8, 0x100000 | pte::P | pte::PS); // bit 20
    m.load_code({0xA1, 0x00, 0x00, 0x60, 0x00});            // mov eax, [0x600000]
    EXPECT_TRUE(page_fault(m, m.run(1), 0x9, 0x600000));
}

// 4.7, 6.5: an access crossing into a page that faults does not happen at all: CR2 is the
// first byte on the faulting page and the first page's bytes are not written.
TEST(PageFault, PageCrossingWriteChecksBothPagesFirst) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.load_code({0xA3, 0xFE, 0x0F, 0x40, 0x00}); // mov [0x400FFE], eax
    EXPECT_TRUE(page_fault(m, m.run(1), 0x2, kMapped + 0x1000));
    EXPECT_EQ(m.read16(0x5FFE), 0u);
}

// SDM ENTER, Protected Mode Exceptions: #PF when a write at the final stack pointer would
// fault, though ENTER itself writes nothing there; the stack pointer is left as it was.
TEST(PageFault, EnterFaultsWhenAWriteAtTheFinalStackPointerWould) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr0 |= cr0::WP;
    map32(m, kMapped, 0x5000 | pte::P);                    // read-only: the final ESP
    map32(m, kMapped + 0x1000, 0x6000 | pte::P | pte::RW); // where EBP is pushed
    m.gpr(Gpr::ESP) = kMapped + 0x1004;
    m.load_code({0xC8, 0x01, 0x00, 0x00}); // enter 1, 0
    EXPECT_TRUE(page_fault(m, m.run(1), 0x3, kMapped + 0xFFF));
    EXPECT_EQ(m.gpr(Gpr::ESP), kMapped + 0x1004);
}

// 4.7: a crossing read where both pages are missing faults on the first.
TEST(PageFault, PageCrossingReadFaultsOnFirstPage) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.load_code({0xA1, 0xFE, 0x0F, 0x40, 0x00}); // mov eax, [0x400FFE]
    EXPECT_TRUE(page_fault(m, m.run(1), 0, kMapped + 0xFFE));
}

// 4.6: "accesses to the GDT or LDT to load a segment descriptor" are supervisor-mode
// accesses whatever the CPL: CPL 3 loads DS from a GDT on a supervisor page.
TEST(PageAccessRights, DescriptorLoadAtCpl3IsSupervisorAccess) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    user_code32(m); // the GDT's page 0 stays supervisor
    m.set_descriptor(5, 0, 0xFFFF, access::kDataRW | 0x60 | 1, 0x4); // DPL 3, accessed
    m.drop_to_cpl3();
    m.gpr(Gpr::EAX) = 5 * 8 + 3;
    m.load_code({0x8E, 0xD8}); // mov ds, ax
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.seg(Seg::DS).selector, 5 * 8 + 3);
}

// 4.6, 4.7: the implicit write of a descriptor's accessed bit is a supervisor-mode write, so
// with WP = 1 a read-only GDT page faults with P | W and U/S = 0, even at CPL 3.
TEST(PageFault, AccessedBitWriteToReadOnlyGdtAtCpl3) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr0 |= cr0::WP;
    user_code32(m);
    m.write32(kPt0 + 0 * 4, 0x0000 | pte::P | pte::A | pte::D);  // the GDT page: read-only
    m.set_descriptor(5, 0, 0xFFFF, access::kDataRW | 0x60, 0x4); // DPL 3, not accessed
    m.drop_to_cpl3();
    m.gpr(Gpr::EAX) = 5 * 8 + 3;
    m.load_code({0x8E, 0xD8});
    EXPECT_TRUE(page_fault(m, m.run(1), 0x3, kGdtBase + 5 * 8 + 5));
}

// ---- Accessed and dirty flags (4.8)

// 4.8: a read sets A in the PDE and the PTE it used, and no D.
TEST(AccessedDirty, ReadSetsAccessedInEveryEntryUsed) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.load_code(kLoad);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kPd + 4), kPt1 | pte::P | pte::RW | pte::US | pte::A);
    EXPECT_EQ(pte32(m, kMapped), 0x5000u | pte::P | pte::RW | pte::A);
}

// 4.8: a write sets D in the PTE that maps the page; a PDE that references a table has none.
TEST(AccessedDirty, WriteSetsDirtyInThePte) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.load_code(kStore);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kPd + 4), kPt1 | pte::P | pte::RW | pte::US | pte::A);
    EXPECT_EQ(pte32(m, kMapped), 0x5000u | pte::P | pte::RW | pte::A | pte::D);
}

// 4.8: D in a PDE that maps a 4-MByte page.
TEST(AccessedDirty, WriteSetsDirtyInFourMegabytePde) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr4 |= cr4bit::PSE;
    m.write32(kPd + 3 * 4, pte::P | pte::RW | pte::PS);
    m.load_code({0xA3, 0x00, 0x00, 0xC1, 0x00}); // mov [0xC10000], eax
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kPd + 3 * 4), pte::P | pte::RW | pte::PS | pte::A | pte::D);
}

// 4.8: a write to a page first read (its translation cached clean) still sets D.
TEST(AccessedDirty, WriteAfterReadSetsDirty) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.load_code({0xA1, 0x10, 0x00, 0x40, 0x00, 0xA3, 0x10, 0x00, 0x40, 0x00});
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(pte32(m, kMapped), 0x5000u | pte::P | pte::RW | pte::A | pte::D);
}

// 4.8 with KVM's and Bochs's reading: a walk that ends in a page fault sets no accessed flag
// (docs/known-differences.md, unicorn-accessed-on-fault).
TEST(AccessedDirty, FaultingWalkSetsNoFlags) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P); // read-only
    m.state().cr0 |= cr0::WP;
    m.load_code(kStore);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x3, kOperand));
    EXPECT_EQ(m.read32(kPd + 4), kPt1 | pte::P | pte::RW | pte::US);
    EXPECT_EQ(pte32(m, kMapped), 0x5000u | pte::P);
}

// 4.8 / 4.6: the PAE walk sets A in the PDE and the PTE; PDPTEs have no accessed flag.
TEST(AccessedDirty, PaeWalkSetsAccessedNotInPdpte) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    map_pae(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.load_code(kStore);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read64(kPdpt), uint64_t{kPaePd | pte::P});
    EXPECT_EQ(m.read64(kPaePd + 16), uint64_t{kPaePt1 | pte::P | pte::RW | pte::US | pte::A});
    EXPECT_EQ(m.read64(kPaePt1), uint64_t{0x5000 | pte::P | pte::RW | pte::A | pte::D});
}

// 4.8, 4.10.2.3: an instruction that ends at its page's last byte uses no translation of the
// next page, so that page's PTE gets no accessed flag from fetching it; transit86 translates a
// next page only when the decoder needs its bytes (whether or not the instruction was decoded
// before), as QEMU does (tests/diff/paging_walks).
TEST(AccessedDirty, InstructionAtThePageEndLeavesTheNextPteAlone) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    map32(m, kMapped + 0x1000, 0x6000 | pte::P | pte::RW);
    m.write8(0x5FFE, 0xEB); // jmp short $ (at linear 400FFEH)
    m.write8(0x5FFF, 0xFE);
    m.load_code({0xE9, 0xF9, 0xFF, 0x3F, 0x00}); // jmp 0x400ffe
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kMapped + 0xFFE);
    EXPECT_EQ(pte32(m, kMapped), 0x5000u | pte::P | pte::RW | pte::A);
    EXPECT_EQ(pte32(m, kMapped + 0x1000), 0x6000u | pte::P | pte::RW);
}

// ---- Where translations end

// 4.1: the page frame may be outside RAM: the access is MMIO at the physical address.
TEST(PagingExits, MappedMmioExitsWithPhysicalAddress) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0xFEC00000u | pte::P | pte::RW);
    m.load_code(kLoad);
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Mmio);
    EXPECT_EQ(e.mmio_address, 0xFEC00010u);
    EXPECT_EQ(e.mmio_size, 4);
}

// A paging structure outside RAM would need the host for every walk: Unsupported, named.
TEST(PagingExits, PageTableOutsideRamIsUnsupported) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.write32(kPd + 4, 0xFEC00000u | pte::P | pte::RW);
    m.load_code(kLoad);
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Unsupported);
    EXPECT_STREQ(e.detail, "paging structure outside guest RAM");
}

} // namespace transit86::test
