// Locked read-modify-writes under paging and A20 masking (emu/cpu/locked_access.hpp,
// Cpu::locked_destination): the destination is translated for a write before the host
// compare-exchange takes its pointer, so the update lands in the mapped frame, sets the
// accessed and dirty flags, and faults as a write (SDM Vol. 3A 4.7, 4.8; Vol. 2A LOCK). Tables
// built by hand (paging_tables.hpp); expected values worked out from the sections cited.
#include "debug_machines.hpp"
#include "paging_tables.hpp"

namespace transit86::test {

namespace {

// lock inc dword [0x5010]: linear 5000H, which kPt0 maps to frame 6000H in these tests.
constexpr std::initializer_list<uint8_t> kLockIncLow = {0xF0, 0xFF, 0x05, 0x10, 0x50, 0x00, 0x00};
constexpr uint32_t kLowLinear = 0x5010, kLowFrame = 0x6000;
constexpr uint32_t kLowPte = kPt0 + (kLowLinear >> 12) * 4;

// 32-bit paging with linear page 5000H mapped to frame 6000H by `pte_flags`.
void map_low_page_elsewhere(Machine& m, uint32_t pte_flags) {
    enable_paging32(m);
    m.write32(kLowPte, kLowFrame | pte_flags);
}

} // namespace

// 4.3: the locked increment works on the frame the PTE names, not on the physical address equal
// to the linear one; 4.8: the walk for a write sets A in the PDE and PTE and D in the PTE.
TEST(PagedLock, IncUpdatesTheMappedFrame) {
    Machine m(Mode::Protected32);
    map_low_page_elsewhere(m, pte::P | pte::RW);
    m.write32(kLowFrame + 0x10, 41);
    m.write32(kLowLinear, 7); // what an untranslated access would change
    m.load_code(kLockIncLow);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kLowFrame + 0x10), 42u);
    EXPECT_EQ(m.read32(kLowLinear), 7u);
    EXPECT_EQ(m.read32(kLowPte) & (pte::A | pte::D), pte::A | pte::D);
}

// SDM XCHG: with a memory operand the lock is implicit, and the exchange goes through the
// same translation.
TEST(PagedLock, XchgExchangesWithTheMappedFrame) {
    Machine m(Mode::Protected32);
    map_low_page_elsewhere(m, pte::P | pte::RW | pte::A | pte::D);
    m.write32(kLowFrame + 0x10, 0x11111111);
    m.gpr(Gpr::EAX) = 0x22222222;
    m.load_code({0x87, 0x05, 0x10, 0x50, 0x00, 0x00}); // xchg [0x5010], eax
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kLowFrame + 0x10), 0x22222222u);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x11111111u);
}

// 4.6, 4.7: a locked access is a write: with CR0.WP = 1 a read-only page faults with P | W
// (error code 3), CR2 the operand's address, and nothing is stored or marked dirty.
TEST(PagedLock, ReadOnlyPageFaultsAsAWrite) {
    Machine m(Mode::Protected32);
    map_low_page_elsewhere(m, pte::P | pte::A);
    m.state().cr0 |= cr0::WP;
    m.write32(kLowFrame + 0x10, 41);
    m.load_code(kLockIncLow);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x3, kLowLinear));
    EXPECT_EQ(m.read32(kLowFrame + 0x10), 41u);
    EXPECT_EQ(m.read32(kLowPte) & pte::D, 0u);
    EXPECT_EQ(m.eip(), kCode);
}

// 4.7: a not-present page: error code W (2).
TEST(PagedLock, NotPresentPageFaultsAsAWrite) {
    Machine m(Mode::Protected32);
    map_low_page_elsewhere(m, 0);
    m.load_code(kLockIncLow);
    EXPECT_TRUE(page_fault(m, m.run(1), 0x2, kLowLinear));
}

// A split lock across two pages mapped to frames far apart: the ordinary read then write
// (locked_access.hpp), each byte through its own page.
TEST(PagedLock, SplitAcrossPagesWithDistantFrames) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    map32(m, kMapped + 0x1000, 0x9000 | pte::P | pte::RW);
    m.write16(0x5FFE, 0xFFFF);
    m.write16(0x9000, 0x0000);
    m.load_code({0xF0, 0xFF, 0x05, 0xFE, 0x0F, 0x40, 0x00}); // lock inc dword [0x400FFE]
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(0x5FFE), 0x0000u); // 0000FFFFH + 1 = 00010000H
    EXPECT_EQ(m.read16(0x9000), 0x0001u);
}

// 4.7: both pages are translated for the write before anything is stored: a fault on the
// second (CR2 its first byte) leaves the first page's bytes as they were.
TEST(PagedLock, SplitFaultOnTheSecondPageStoresNothing) {
    Machine m(Mode::Protected32);
    enable_paging32(m);
    map32(m, kMapped, 0x5000 | pte::P | pte::RW);
    m.write16(0x5FFE, 0xFFFF);
    m.load_code({0xF0, 0xFF, 0x05, 0xFE, 0x0F, 0x40, 0x00}); // lock inc dword [0x400FFE]
    EXPECT_TRUE(page_fault(m, m.run(1), 0x2, kMapped + 0x1000));
    EXPECT_EQ(m.read16(0x5FFE), 0xFFFFu);
}

// Vol. 3B 18.2.5: DR0 holds a linear address; the compare-exchange path reports the locked
// write to it (B0 in DR6) though the bytes live in another frame.
TEST(PagedLock, DataBreakpointMatchesTheLinearAddress) {
    Machine m(Mode::Protected32);
    map_low_page_elsewhere(m, pte::P | pte::RW | pte::A | pte::D);
    m.state().dr[0] = kLowLinear;
    m.state().dr7 = debug::global_breakpoint(0, dr7::kWrite, debug::kLen4);
    m.load_code(kLockIncLow);
    EXPECT_TRUE(is_exception(m.run(1), vec::kDB));
    EXPECT_EQ(m.read32(kLowFrame + 0x10), 1u); // a trap: the increment happened
    EXPECT_EQ(m.state().dr6 & dr6::Breakpoints, 1u);
}

// Gate A20 masked, paging off: the locked access goes to the address with bit 20 cleared, as
// every other access does (the 8086 wrap at 1 MiB).
TEST(PagedLock, A20MaskedLockWrapsAtOneMegabyte) {
    Machine m(Mode::Protected32);
    m.emulator().set_a20(false);
    m.write32(0x10, 5);
    m.write32(0x100010, 9);
    m.load_code({0xF0, 0xFF, 0x05, 0x10, 0x00, 0x10, 0x00}); // lock inc dword [0x100010]
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(0x10), 6u);
    EXPECT_EQ(m.read32(0x100010), 9u);
}

} // namespace transit86::test
