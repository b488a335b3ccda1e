// Emulator::read_linear / write_linear, the debugger's and the tools' view of guest memory by
// linear address (emu/system/paging.cpp, peek_translation): the guest's page tables as the
// SDM's walk reads them (Vol. 3A 4.3 32-bit, 4.4 PAE), but no access rights checked, no
// accessed or dirty flag set (4.8 is the processor's, not a debugger's) and no fault; and the
// census's instruction text read the same way. Tables built by hand (paging_tables.hpp).
#include "paging_tables.hpp"
#include "transit86/census.hpp"

namespace transit86::test {

namespace {

constexpr uint32_t kPte = kPt1; // the PTE of kMapped

std::array<uint8_t, 4> read4(const Emulator& emu, uint64_t linear, bool& ok) {
    std::array<uint8_t, 4> bytes{};
    ok = emu.read_linear(linear, bytes.data(), bytes.size());
    return bytes;
}

} // namespace

// 4.3: the bytes come from the frame the PTE names; neither the PDE's nor the PTE's accessed
// flag is set by the read.
TEST(ReadLinear, FollowsThePageTablesWithoutSettingFlags) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.write32(0x5010, 0xCAFEF00D);
    uint32_t value = 0;
    ASSERT_TRUE(m.emulator().read_linear(kMapped + 0x10, &value, 4));
    EXPECT_EQ(value, 0xCAFEF00Du);
    EXPECT_EQ(m.read32(kPte) & pte::A, 0u);
    EXPECT_EQ(m.read32(kPd + 4) & pte::A, 0u);
}

// A page that is not present reads as an error, not as a #PF: CR2 and the state stay.
TEST(ReadLinear, NotPresentPageIsFalseWithoutAFault) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    const CpuState before = m.state();
    bool ok = true;
    read4(m.emulator(), kMapped + 0x1000, ok);
    EXPECT_FALSE(ok);
    read4(m.emulator(), kMapped + 0xFFE, ok); // two bytes mapped, two not
    EXPECT_FALSE(ok);
    EXPECT_EQ(m.state().cr2, before.cr2);
}

// 4.6 is not applied: a supervisor-only page reads at CPL 3, as a debugger sees it.
TEST(ReadLinear, ChecksNoAccessRights) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.write32(kPd + 4, kPt1 | pte::P); // supervisor, read-only
    map32(m, kMapped, 0x5000 | pte::P);
    m.write32(0x5000, 0x12345678);
    m.drop_to_cpl3();
    uint32_t value = 0;
    ASSERT_TRUE(m.emulator().read_linear(kMapped, &value, 4));
    EXPECT_EQ(value, 0x12345678u);
}

// A read crossing a page boundary takes each page's own frame.
TEST(ReadLinear, CrossesPagesToTheirOwnFrames) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P);
    map32(m, kMapped + 0x1000, 0x9000 | pte::P);
    m.write16(0x5FFE, 0x2211);
    m.write16(0x9000, 0x4433);
    uint32_t value = 0;
    ASSERT_TRUE(m.emulator().read_linear(kMapped + 0xFFE, &value, 4));
    EXPECT_EQ(value, 0x44332211u);
}

// 4.3, Table 4-4: with CR4.PSE a PDE with PS = 1 maps a 4-MByte page; offset bits 21:0.
TEST(ReadLinear, FourMegabytePage) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.state().cr4 |= cr4bit::PSE;
    m.write32(kPd + 3 * 4, 0x00000000 | pte::P | pte::PS); // linear C00000H -> 0
    m.write32(0x12344, 0x600DBEEF);
    uint32_t value = 0;
    ASSERT_TRUE(m.emulator().read_linear(0xC12344, &value, 4));
    EXPECT_EQ(value, 0x600DBEEFu);
}

// 4.4.2: PAE paging through the PDPTE registers (CpuState::pdpte), 64-bit entries.
TEST(ReadLinear, PaePaging) {
    Machine m(Mode::Protected32);
    enable_paging_pae(m);
    map_pae(m, kMapped, 0x6000 | pte::P);
    m.write32(0x6010, 0x0BADCAFE);
    uint32_t value = 0;
    ASSERT_TRUE(m.emulator().read_linear(kMapped + 0x10, &value, 4));
    EXPECT_EQ(value, 0x0BADCAFEu);
    EXPECT_EQ(m.read64(kPaePt1) & pte::A, 0u);
}

// CR0.PG = 0: linear is physical, with gate A20's mask (bit 20 cleared when it is off).
TEST(ReadLinear, WithoutPagingIsPhysicalWithA20Applied) {
    Machine m(Mode::Protected32);
    m.write32(0x10, 0x11111111);
    m.write32(0x100010, 0x22222222);
    uint32_t value = 0;
    ASSERT_TRUE(m.emulator().read_linear(0x100010, &value, 4));
    EXPECT_EQ(value, 0x22222222u);
    m.emulator().set_a20(false);
    ASSERT_TRUE(m.emulator().read_linear(0x100010, &value, 4));
    EXPECT_EQ(value, 0x11111111u);
}

// A debugger's write lands in the mapped frame (a read-only page included: rights are not
// checked) and marks nothing dirty.
TEST(WriteLinear, WritesTheMappedFrameWithoutSettingFlags) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P);
    const uint32_t value = 0xA5A5A5A5;
    ASSERT_TRUE(m.emulator().write_linear(kMapped + 0x20, &value, 4));
    EXPECT_EQ(m.read32(0x5020), value);
    EXPECT_EQ(m.read32(kPte) & (pte::A | pte::D), 0u);
}

// All of it or nothing: a write that reaches an unmapped page changes no byte.
TEST(WriteLinear, ReachingAnUnmappedPageWritesNothing) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    const uint32_t value = 0xFFFFFFFF;
    EXPECT_FALSE(m.emulator().write_linear(kMapped + 0xFFE, &value, 4));
    EXPECT_EQ(m.read16(0x5FFE), 0u);
}

// The census names the instruction at CS:EIP by the bytes the CPU would fetch: linear 5000H
// is mapped to frame 6000H, and the physical page 5000H holds other bytes.
TEST(CensusUnderPaging, DescribesTheBytesOfTheMappedFrame) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    m.write32(kPt0 + 5 * 4, 0x6000 | pte::P | pte::RW);
    m.load(0x6000, {0xB8, 0xDE, 0xC0, 0x0D, 0x60}); // mov eax, 0x600dc0de
    m.load(0x5000, {0x90, 0x90, 0x90, 0x90, 0x90}); // what linear = physical would show
    m.state().eip = 0x5000;
    const InstructionRef ref = describe_instruction(m.emulator(), next_instruction(m.state()), 1);
    EXPECT_EQ(ref.linear, 0x5000u);
    EXPECT_EQ(ref.length, 5u);
    EXPECT_EQ(ref.bytes[0], 0xB8u);
    EXPECT_EQ(ref.text, "mov eax, 0x600dc0de");
    EXPECT_EQ(m.read32(kPt0 + 5 * 4) & pte::A, 0u); // describing it did not access it
    // Unmapped: no bytes.
    m.write32(kPt0 + 5 * 4, 0);
    EXPECT_EQ(describe_instruction(m.emulator(), next_instruction(m.state()), 1).length, 0u);
}

} // namespace transit86::test
