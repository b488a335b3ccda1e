// Paging's control: MOV to CR0/CR3/CR4 and the PDPTE loads (SDM Vol. 3A 2.5, 4.1, 4.4.1), TLB
// invalidation (4.10.4), global pages, the decode cache under changing mappings, page faults
// in delivery (6.15), CPUID and EFER. One TEST per rule; tables from paging_tables.hpp.
#include "paging_tables.hpp"
#include "system_tables.hpp"

namespace transit86::test {

namespace {

// mov ebx, [0x400010] ; mov ecx, [0x400010] ; mov edx, [0x400010]
constexpr std::initializer_list<uint8_t> kLoadEbx = {0x8B, 0x1D, 0x10, 0x00, 0x40, 0x00};
// mov dword [kPt1], 0x6000 | P | RW  (the PTE of 400000H, through the identity map)
constexpr std::initializer_list<uint8_t> kRemapPte = {0xC7, 0x05, 0x00, 0x20, 0x02,
                                                      0x00, 0x03, 0x60, 0x00, 0x00};

void append(std::vector<uint8_t>& code, std::initializer_list<uint8_t> bytes) {
    code.insert(code.end(), bytes);
}
void load(Machine& m, const std::vector<uint8_t>& code) {
    for (size_t i = 0; i < code.size(); ++i)
        m.write8(kCode + static_cast<uint32_t>(i), code[i]);
}

// 400000H -> 5000H holding 11111111H at +10H; 6000H holds 22222222H there.
void two_frames(Machine& m, uint32_t pte_flags = pte::P | pte::RW) {
    map32(m, kMapped, 0x5000 | pte_flags);
    m.write32(0x5010, 0x11111111);
    m.write32(0x6010, 0x22222222);
}

// The stale-then-fresh sequence: read, rewrite the PTE, read again, `flush`, read again
// (EBX, ECX, EDX).
std::vector<uint8_t> remap_sequence(std::initializer_list<uint8_t> flush) {
    std::vector<uint8_t> code;
    append(code, kLoadEbx);
    append(code, kRemapPte);
    append(code, {0x8B, 0x0D, 0x10, 0x00, 0x40, 0x00}); // mov ecx, [0x400010]
    append(code, flush);
    append(code, {0x8B, 0x15, 0x10, 0x00, 0x40, 0x00}); // mov edx, [0x400010]
    return code;
}
constexpr std::initializer_list<uint8_t> kReloadCr3 = {0x0F, 0x20, 0xD8, 0x0F, 0x22, 0xD8};

} // namespace

// ---- MOV to CR0 (SDM MOV—Move to/from Control Registers; Vol. 3A 2.5)

// "#GP(0) if an attempt is made to set the PG flag and the PE flag is clear".
TEST(PagingControl, Cr0PgWithoutPeRaisesGP) {
    Machine m(Mode::Protected32);
    m.gpr(Gpr::EAX) = 0x80000010;
    m.load_code({0x0F, 0x22, 0xC0}); // mov cr0, eax
    m.exceptions_to_host = true;
    const uint64_t cr0_before = m.state().cr0;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().cr0, cr0_before);
}

// 9.9.1 / 4.1.2: one MOV to CR0 may set PE and PG together; from the next instruction on,
// fetches and data accesses are translated.
TEST(PagingControl, Cr0PeAndPgInOneMove) {
    Machine m(Mode::Real);
    enable_paging32(m); // tables only: clear PG again, real mode sets it
    m.state().cr0 &= ~uint64_t{cr0::PG};
    m.exceptions_to_host = true;
    m.seg(Seg::DS).limit = 0xFFFFFFFF; // unreal DS: the offset passes segmentation
    m.gpr(Gpr::EAX) = 0x80000011;
    // mov cr0, eax ; nop ; mov ebx, [0x400010] (a32, 16-bit code)
    m.load_code({0x0F, 0x22, 0xC0, 0x90, 0x67, 0x66, 0x8B, 0x1D, 0x10, 0x00, 0x40, 0x00});
    EXPECT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().cr0 & (cr0::PG | cr0::PE), uint64_t{cr0::PG | cr0::PE});
    EXPECT_TRUE(is_exception(m.run(1), kPF, 0)); // 400000H is not mapped yet
    EXPECT_EQ(m.state().cr2, kMapped + 0x10);
}

// 4.4.1: PAE paging after MOV to CR0 that sets PG: the PDPTEs load from CR3.
TEST(PagingControl, Cr0EnablingPaePagingLoadsPdptes) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    CpuState& s = m.state();
    s.cr0 &= ~uint64_t{cr0::PG};
    s.pdpte = {};
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(s.cr0 | cr0::PG);
    m.load_code({0x0F, 0x22, 0xC0});
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(s.pdpte[0], uint64_t{kPaePd | pte::P});
}

// 4.4.1, Table 4-8: a present PDPTE with a reserved bit makes the MOV fault #GP(0) and
// change nothing (4.7: "and not page-fault exceptions").
TEST(PagingControl, Cr0WithReservedPdpteRaisesGP) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    CpuState& s = m.state();
    s.cr0 &= ~uint64_t{cr0::PG};
    m.write64(kPdpt + 8, 0x7000 | pte::P | pte::RW); // bit 1 is reserved in a PDPTE
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(s.cr0 | cr0::PG);
    m.load_code({0x0F, 0x22, 0xC0});
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(s.cr0 & cr0::PG, 0u);
}

// 4.4.1: MOV to CR3 with PAE paging loads the PDPTEs; until then the registers, not memory,
// are used.
TEST(PagingControl, Cr3LoadsPdptesMemoryAloneDoesNot) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    map_pae(m, kMapped, 0x5000 | pte::P);
    m.write32(0x5010, 0x11111111);
    m.write64(kPdpt, 0); // PDPTE 0 not present in memory, still present in the register
    std::vector<uint8_t> code;
    append(code, kLoadEbx);
    append(code, kReloadCr3);
    append(code, {0x8B, 0x0D, 0x10, 0x00, 0x40, 0x00}); // mov ecx, [0x400010]
    load(m, code);
    EXPECT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0x11111111u);
    EXPECT_TRUE(is_exception(m.run(1), kPF, 0));
}

// 4.4.1: MOV to CR3 whose PDPTEs set reserved bits: #GP(0), CR3 and the PDPTEs unchanged.
TEST(PagingControl, Cr3WithReservedPdpteRaisesGP) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    m.write64(0x27000, kPaePd | pte::P | (uint64_t{1} << 63)); // bit 63 is reserved
    m.gpr(Gpr::EAX) = 0x27000;
    m.load_code({0x0F, 0x22, 0xD8}); // mov cr3, eax
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().cr3, kPdpt);
    EXPECT_EQ(m.state().pdpte[0], uint64_t{kPaePd | pte::P});
}

// 4.4.1: with PAE paging, a MOV to CR4 that changes PGE (or PAE, PSE) loads the PDPTEs.
TEST(PagingControl, Cr4PgeChangeReloadsPdptes) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    m.write64(kPdpt + 8, kPaePd | pte::P); // a new PDPTE 1, in memory only
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(m.state().cr4 | cr4bit::PGE);
    m.load_code({0x0F, 0x22, 0xE0}); // mov cr4, eax
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().pdpte[1], uint64_t{kPaePd | pte::P});
}

// 4.4.1: setting CR4.PAE under 32-bit paging reads the PDPTEs at CR3; a page directory's
// entries there set PDPTE-reserved bits (R/W, A): #GP(0), CR4 unchanged.
TEST(PagingControl, Cr4SettingPaeWithInvalidPdptesRaisesGP) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.exceptions_to_host = true;
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(m.state().cr4 | cr4bit::PAE);
    m.load_code({0x0F, 0x22, 0xE0});
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().cr4 & cr4bit::PAE, 0u);
}

// ---- TLB invalidation (4.10.4)

// 4.10.2, 4.10.4.1: a translation may stay cached after its PTE changes; INVLPG removes it.
// (The SDM allows the processor not to cache: the stale read is the model's choice.)
TEST(Tlb, InvlpgMakesARewrittenPteTakeEffect) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    two_frames(m);
    load(m, remap_sequence({0x0F, 0x01, 0x3D, 0x00, 0x00, 0x40, 0x00})); // invlpg [0x400000]
    EXPECT_EQ(m.run(5).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0x11111111u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x11111111u); // cached
    EXPECT_EQ(m.gpr(Gpr::EDX), 0x22222222u); // after INVLPG
}

// 4.10.4.1: MOV to CR3 invalidates the non-global entries.
TEST(Tlb, Cr3LoadFlushesNonGlobalEntries) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    two_frames(m);
    load(m, remap_sequence(kReloadCr3));
    EXPECT_EQ(m.run(6).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x11111111u);
    EXPECT_EQ(m.gpr(Gpr::EDX), 0x22222222u);
}

// 4.10.2.4: with CR4.PGE a translation from a PTE with G = 1 survives MOV to CR3.
TEST(Tlb, GlobalEntrySurvivesCr3Load) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr4 |= cr4bit::PGE;
    two_frames(m, pte::P | pte::RW | pte::G);
    load(m, remap_sequence(kReloadCr3));
    EXPECT_EQ(m.run(6).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EDX), 0x11111111u);
}

// 4.10.4.1: a MOV to CR4 that changes PGE invalidates all entries, global ones too.
TEST(Tlb, Cr4PgeToggleFlushesGlobalEntries) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr4 |= cr4bit::PGE;
    two_frames(m, pte::P | pte::RW | pte::G);
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(m.state().cr4 & ~cr4bit::PGE);
    load(m, remap_sequence({0x0F, 0x22, 0xE0})); // mov cr4, eax
    EXPECT_EQ(m.run(5).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EDX), 0x22222222u);
}

// 4.10.4.1: INVLPG of any address in a large page invalidates the whole page's entries.
TEST(Tlb, InvlpgAnywhereInLargePageFlushesIt) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr4 |= cr4bit::PSE;
    m.write32(kPd + 3 * 4, pte::P | pte::RW | pte::PS); // C00000H -> 0, 4 MiB
    std::vector<uint8_t> code;
    append(code, {0x8B, 0x1D, 0x00, 0x10, 0xC0, 0x00});             // mov ebx, [0xC01000]
    append(code, {0xC7, 0x05, 0x0C, 0x00, 0x02, 0x00, 0, 0, 0, 0}); // mov dword [PDE 3], 0
    append(code, {0x0F, 0x01, 0x3D, 0x00, 0x30, 0xC0, 0x00});       // invlpg [0xC03000]
    append(code, {0x8B, 0x0D, 0x00, 0x10, 0xC0, 0x00});             // mov ecx, [0xC01000]
    load(m, code);
    const Exit e = m.run(4);
    EXPECT_TRUE(is_exception(e, kPF, 0));
    EXPECT_EQ(m.state().cr2, 0xC01000u);
}

// SDM INVLPG: "#GP(0) If the current privilege level is not 0".
TEST(Tlb, InvlpgAtCpl3RaisesGP) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    user_code32(m);
    m.drop_to_cpl3();
    m.load_code({0x0F, 0x01, 0x3D, 0x00, 0x00, 0x40, 0x00});
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// ---- Decoded code under paging (the decode cache is keyed by physical address)

// 8.1.3 (self-modifying code): a store through another linear address mapped to the same
// physical page changes the instruction the next time it runs.
TEST(PagedCode, SelfModifyingCodeThroughAliasTakesEffect) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);                     // code
    map32(m, kMapped + 0x1000, 0x5000 | pte::P | pte::RW);            // its alias
    const uint8_t loop[] = {0xB0, 0x00,                               // mov al, 0
                            0x00, 0xC4,                               // add ah, al
                            0xC6, 0x05, 0x01, 0x10, 0x40, 0x00, 0x42, // mov byte [0x401001], 0x42
                            0x49,                                     // dec ecx
                            0x75, 0xF2,                               // jnz 0x400000
                            0xF4};                                    // hlt
    for (uint32_t i = 0; i < sizeof loop; ++i)
        m.write8(0x5000 + i, loop[i]);
    m.gpr(Gpr::EAX) = 0;
    m.gpr(Gpr::ECX) = 3;
    m.load_code({0xE9, 0xFB, 0xEF, 0x3F, 0x00}); // jmp 0x400000
    EXPECT_EQ(m.run(100).reason, ExitReason::Halt);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFFFF, 0x8442u); // AH = 0 + 42H + 42H, AL = 42H
}

// The same linear code page remapped to other bytes (and INVLPG) runs the new bytes.
TEST(PagedCode, RemappedCodePageRunsNewBytes) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P);
    m.write8(0x5000, 0x40); // inc eax
    m.write8(0x5001, 0xC3); // ret
    m.write8(0x6000, 0x48); // dec eax
    m.write8(0x6001, 0xC3);
    // call 0x400000 ; mov [PTE], 0x6001 ; invlpg [0x400000] ; call 0x400000
    std::vector<uint8_t> code = {0xE8, 0xFB, 0xEF, 0x3F, 0x00};
    append(code, {0xC7, 0x05, 0x00, 0x20, 0x02, 0x00, 0x01, 0x60, 0x00, 0x00});
    append(code, {0x0F, 0x01, 0x3D, 0x00, 0x00, 0x40, 0x00});
    append(code, {0xE8, 0xE5, 0xEF, 0x3F, 0x00}); // at 1016H: 400000H - 101BH
    load(m, code);
    m.gpr(Gpr::EAX) = 10;
    EXPECT_EQ(m.run(8).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX), 10u);
}

// ---- String instructions and faults (SDM Vol. 2 REP; Vol. 3A 6.5)

// A REP MOVS that reaches a not-present page stops there with the completed iterations kept
// and CR2 at the first byte of that page.
TEST(PagedStrings, RepMovsKeepsProgressAtPageFault) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.gpr(Gpr::ESI) = 0x3000;
    m.gpr(Gpr::EDI) = kMapped + 0xFF0;
    m.gpr(Gpr::ECX) = 0x20;
    m.load_code({0xF3, 0xA4}); // rep movsb
    EXPECT_TRUE(is_exception(m.run(1), kPF, 0x2));
    EXPECT_EQ(m.state().cr2, kMapped + 0x1000);
    EXPECT_EQ(m.gpr(Gpr::EDI), kMapped + 0x1000);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x10u);
}

// ---- Page faults during delivery (SDM Vol. 3A 6.15, Table 6-5)

// A page fault, then a contributory fault while delivering it (the #PF gate's code segment is
// not present: #NP): a double fault. CR2 keeps the first fault's address.
TEST(PagingEvents, ContributoryFaultDuringPageFaultDeliveryIsDoubleFault) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.exceptions_to_host = false;
    constexpr uint32_t kGateTable = 0x3000, kHltHandler = 0x2000;
    m.set_descriptor(5, 0, 0xFFFFF, access::kCodeER & 0x7F, kFlat32Flags); // not present
    auto gate = [&](uint8_t vector, uint16_t selector) {
        m.write32(kGateTable + vector * 8, (uint32_t{selector} << 16) | (kHltHandler & 0xFFFF));
        m.write32(kGateTable + vector * 8 + 4, (kHltHandler & 0xFFFF0000u) | 0x8E00);
    };
    gate(kPF, 5 * 8);
    gate(vec::kDF, kCode32);
    m.state().idtr = {.base = kGateTable, .limit = 0xFF};
    m.write8(kHltHandler, 0xF4); // hlt
    m.load_code({0xA1, 0x10, 0x00, 0x40, 0x00});
    const uint32_t esp = m.gpr(Gpr::ESP);
    EXPECT_EQ(m.run(2).reason, ExitReason::Halt);
    EXPECT_EQ(m.eip(), kHltHandler + 1);
    EXPECT_EQ(m.state().cr2, kMapped + 0x10);
    EXPECT_EQ(m.read32(esp - 16), 0u); // #DF pushes error code 0
}

// ---- Task switches (SDM Vol. 3A 7.3 step 11)

// With paging on, a switch to a 32-bit TSS loads CR3 from it (and flushes the TLB).
TEST(PagingEvents, TaskSwitchLoadsCr3) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    constexpr uint32_t kOldTss = 0x9000, kNewTss = 0x9100, kPd2 = 0x27000;
    for (uint32_t i = 0; i < 1024; ++i) // a second directory: the same as the first
        m.write32(kPd2 + i * 4, m.read32(kPd + i * 4));
    m.set_descriptor(5, kOldTss, 0x67, access::kTss32 | 2, 0); // busy: the current task
    m.set_descriptor(6, kNewTss, 0x67, access::kTss32, 0);
    m.state().tr = segment_cache(5 * 8, kOldTss, 0x67, 0x8B);
    write_task32(m, kNewTss, kCode + 0x20, kStackTop, 0);
    m.write32(kNewTss + tss32::kCr3, kPd2);
    m.load_code({0xEA, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00}); // jmp 0x30:0
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().cr3, kPd2);
    EXPECT_EQ(m.eip(), kCode + 0x20);
}

// ---- CPUID, EFER, long mode

// SDM CPUID Table 3-11 / 80000001H: PSE, PAE, PGE, PAT; NX.
TEST(PagingModel, CpuidReportsPagingFeatures) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0xA2, 0x89, 0xD6, 0xB8, 0x01, 0x00, 0x00, 0x80, 0x0F, 0xA2});
    m.gpr(Gpr::EAX) = 1; // cpuid ; mov esi, edx ; mov eax, 80000001H ; cpuid
    EXPECT_EQ(m.run(4).reason, ExitReason::Budget);
    constexpr uint32_t kPse = 1u << 3, kPae = 1u << 6, kPge = 1u << 13, kPat = 1u << 16;
    EXPECT_EQ(m.gpr(Gpr::ESI) & (kPse | kPae | kPge | kPat), kPse | kPae | kPge | kPat);
    EXPECT_EQ(m.gpr(Gpr::EDX) & (1u << 20), 1u << 20);
    EXPECT_EQ(m.gpr(Gpr::EDX) & (1u << 29), 0u); // no long mode
}

// SDM Vol. 4 IA32_EFER: NXE is writable where CPUID reports NX; LME is reserved without LM.
TEST(PagingModel, EferNxeWritableLmeReserved) {
    Machine m(Mode::Protected32);
    m.exceptions_to_host = true;
    m.gpr(Gpr::ECX) = 0xC0000080;
    m.gpr(Gpr::EAX) = 1u << 11;
    m.load_code({0x0F, 0x30, 0xB8, 0x00, 0x01, 0x00, 0x00, 0x0F, 0x30}); // wrmsr; eax=LME; wrmsr
    EXPECT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().efer, kEferNxe);
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// Long mode is out of scope: enabling paging with EFER.LME stops with a named Unsupported.
TEST(PagingModel, PagingWithLmeIsUnsupported) {
    Machine m(Mode::Protected32);
    m.state().efer = efer::LME;
    m.state().cr4 |= cr4bit::PAE;
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(m.state().cr0 | cr0::PG);
    m.load_code({0x0F, 0x22, 0xC0});
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Unsupported);
    EXPECT_STREQ(e.detail, "long mode (EFER.LME with CR0.PG) is not modelled");
    EXPECT_EQ(m.state().cr0 & cr0::PG, 0u);
}

// SDM 9.8.5: with LME and PAE = 0, setting PG raises #GP(0).
TEST(PagingModel, PagingWithLmeWithoutPaeRaisesGP) {
    Machine m(Mode::Protected32);
    m.exceptions_to_host = true;
    m.state().efer = efer::LME;
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(m.state().cr0 | cr0::PG);
    m.load_code({0x0F, 0x22, 0xC0});
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

// A state already in long mode (EFER.LMA with CR0.PG) is not run.
TEST(PagingModel, LongModeStateIsUnsupported) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    m.state().efer = efer::LME | efer::LMA;
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Unsupported);
    EXPECT_EQ(e.instructions, 0u);
}

} // namespace transit86::test
