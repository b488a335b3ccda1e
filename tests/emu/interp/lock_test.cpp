// LOCK-prefixed read-modify-writes and XCHG with memory on one vCPU: the same results and flags
// as without the prefix (SDM Vol. 2A LOCK: it makes the access atomic, nothing else), for the
// aligned, misaligned-in-a-word, split, MMIO and read-only cases of emu/cpu/locked_access.hpp;
// faults before anything is stored; #UD where LOCK is not allowed. Their atomicity against other
// vCPUs is tests/embedding/smp_atomicity_test.cpp. Expected values worked from the SDM.
#include <memory>

#include "machine.hpp"

namespace transit86::test {

namespace {

constexpr uint32_t CF = flags::CF, PF = flags::PF, AF = flags::AF, ZF = flags::ZF, SF = flags::SF,
                   OF = flags::OF;
constexpr uint32_t kData = 0x2000;   // [kData] is encoded as 00 20 00 00 below
constexpr uint32_t kMmio = 0x300000; // beyond the machine's 2 MiB of RAM

// 32-bit flat protected mode, the status flags given, one instruction run.
std::unique_ptr<Machine> run_one(std::initializer_list<uint8_t> code, uint32_t status_in = 0,
                                 void (*set_up)(Machine&) = nullptr) {
    auto m = std::make_unique<Machine>(Mode::Protected32);
    m->load_code(code);
    m->state().eflags = flags::Fixed1 | status_in;
    if (set_up) set_up(*m);
    EXPECT_EQ(m->run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m->eip(), kCode + static_cast<uint32_t>(code.size()));
    return m;
}

} // namespace

// ---- each lockable operation (SDM Vol. 2A LOCK, the list of instructions)

TEST(Lock, AddDwordCarriesOutToZero) {
    Machine m(Mode::Protected32);
    m.load_code({0xF0, 0x01, 0x05, 0x00, 0x20, 0x00, 0x00}); // lock add [0x2000], eax
    m.write32(kData, 0xFFFFFFFF);
    m.gpr(Gpr::EAX) = 1;
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kData), 0u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, CF | PF | AF | ZF));
}

TEST(Lock, AdcAndSbbUseTheCarryIn) {
    const auto adc =
        run_one({0xF0, 0x83, 0x15, 0x00, 0x20, 0x00, 0x00, 0x00}, CF, // lock adc [m], 0
                [](Machine& g) { g.write32(kData, 0xFFFFFFFF); });
    EXPECT_EQ(adc->read32(kData), 0u);
    EXPECT_TRUE(status_flags_are(adc->state().eflags, CF | PF | AF | ZF));
    const auto sbb = run_one({0xF0, 0x80, 0x1D, 0x00, 0x20, 0x00, 0x00, 0x01}, CF, // lock sbb byte
                             [](Machine& g) { g.write8(kData, 2); });              // [m], 1
    EXPECT_EQ(sbb->read8(kData), 0u);
    EXPECT_TRUE(status_flags_are(sbb->state().eflags, PF | ZF));
}

TEST(Lock, SubAndOrAndXor) {
    auto with_eax = [](Machine& g) {
        g.write32(kData, 0x0000F0F0);
        g.gpr(Gpr::EAX) = 0x000000FF;
    };
    const auto sub = run_one({0xF0, 0x29, 0x05, 0x00, 0x20, 0x00, 0x00}, 0, with_eax); // lock sub
    EXPECT_EQ(sub->read32(kData), 0x0000EFF1u); // F0F0 - FF: borrow from bit 4 (AF)
    EXPECT_TRUE(status_flags_are(sub->state().eflags, AF));
    const auto orr = run_one({0xF0, 0x09, 0x05, 0x00, 0x20, 0x00, 0x00}, CF | OF, with_eax);
    EXPECT_EQ(orr->read32(kData), 0x0000F0FFu); // lock or: CF and OF cleared
    EXPECT_TRUE(status_flags_are(orr->state().eflags, PF, flags::Status & ~AF));
    const auto andd = run_one({0xF0, 0x21, 0x05, 0x00, 0x20, 0x00, 0x00}, 0, with_eax);
    EXPECT_EQ(andd->read32(kData), 0x000000F0u); // lock and
    EXPECT_TRUE(status_flags_are(andd->state().eflags, PF, flags::Status & ~AF));
    const auto xorr = run_one({0xF0, 0x31, 0x05, 0x00, 0x20, 0x00, 0x00}, 0, with_eax);
    EXPECT_EQ(xorr->read32(kData), 0x0000F00Fu); // lock xor
    EXPECT_TRUE(status_flags_are(xorr->state().eflags, PF, flags::Status & ~AF));
}

TEST(Lock, IncKeepsCarryAndDecByteWraps) {
    const auto inc = run_one({0xF0, 0xFF, 0x05, 0x00, 0x20, 0x00, 0x00}, CF, // lock inc dword [m]
                             [](Machine& g) { g.write32(kData, 0x7FFFFFFF); });
    EXPECT_EQ(inc->read32(kData), 0x80000000u);
    EXPECT_TRUE(status_flags_are(inc->state().eflags, CF | PF | AF | SF | OF));
    const auto dec = run_one({0xF0, 0xFE, 0x0D, 0x00, 0x20, 0x00, 0x00}); // lock dec byte [m]
    EXPECT_EQ(dec->read8(kData), 0xFFu);
    EXPECT_EQ(dec->read8(kData + 1), 0u);
    EXPECT_TRUE(status_flags_are(dec->state().eflags, PF | AF | SF));
}

TEST(Lock, NegWordAndNotDword) {
    const auto neg = run_one({0xF0, 0x66, 0xF7, 0x1D, 0x00, 0x20, 0x00, 0x00}, 0, // lock neg word
                             [](Machine& g) { g.write16(kData, 1); });
    EXPECT_EQ(neg->read16(kData), 0xFFFFu);
    EXPECT_TRUE(status_flags_are(neg->state().eflags, CF | PF | AF | SF));
    const auto nott = run_one({0xF0, 0xF7, 0x15, 0x00, 0x20, 0x00, 0x00}, ZF, // lock not dword
                              [](Machine& g) { g.write32(kData, 0x0F0F0F0F); });
    EXPECT_EQ(nott->read32(kData), 0xF0F0F0F0u);
    EXPECT_TRUE(status_flags_are(nott->state().eflags, ZF)) << "NOT affects no flags";
}

TEST(Lock, XaddReturnsTheOldValue) {
    const auto m =
        run_one({0xF0, 0x0F, 0xC1, 0x05, 0x00, 0x20, 0x00, 0x00}, 0, // lock xadd [m], eax
                [](Machine& g) {
                    g.write32(kData, 0x7FFFFFFF);
                    g.gpr(Gpr::EAX) = 1;
                });
    EXPECT_EQ(m->read32(kData), 0x80000000u);
    EXPECT_EQ(m->gpr(Gpr::EAX), 0x7FFFFFFFu);
    EXPECT_TRUE(status_flags_are(m->state().eflags, PF | AF | SF | OF));
}

TEST(Lock, CmpxchgEqualStoresTheSource) {
    const auto m = run_one({0xF0, 0x0F, 0xB1, 0x1D, 0x00, 0x20, 0x00, 0x00}, 0, // lock cmpxchg
                           [](Machine& g) {                                     // [m], ebx
                               g.write32(kData, 5);
                               g.gpr(Gpr::EAX) = 5;
                               g.gpr(Gpr::EBX) = 9;
                           });
    EXPECT_EQ(m->read32(kData), 9u);
    EXPECT_EQ(m->gpr(Gpr::EAX), 5u);
    EXPECT_TRUE(status_flags_are(m->state().eflags, PF | ZF));
}

TEST(Lock, CmpxchgNotEqualLoadsTheAccumulator) {
    const auto m = run_one({0xF0, 0x0F, 0xB1, 0x1D, 0x00, 0x20, 0x00, 0x00}, 0, [](Machine& g) {
        g.write32(kData, 7);
        g.gpr(Gpr::EAX) = 5;
        g.gpr(Gpr::EBX) = 9;
    });
    EXPECT_EQ(m->read32(kData), 7u);
    EXPECT_EQ(m->gpr(Gpr::EAX), 7u);
    EXPECT_TRUE(status_flags_are(m->state().eflags, CF | AF | SF)); // 5 - 7 = FFFFFFFE
}

TEST(Lock, Cmpxchg8bEqualAndNotEqual) {
    auto set_up = [](Machine& g) {
        g.write64(kData, 0x1122334455667788);
        g.gpr(Gpr::EDX) = 0x11223344;
        g.gpr(Gpr::EAX) = 0x55667788;
        g.gpr(Gpr::ECX) = 0xCAFEF00D;
        g.gpr(Gpr::EBX) = 0xDEADBEEF;
    };
    const auto equal = run_one({0xF0, 0x0F, 0xC7, 0x0D, 0x00, 0x20, 0x00, 0x00}, 0, set_up);
    EXPECT_EQ(equal->read64(kData), 0xCAFEF00DDEADBEEFu);
    EXPECT_TRUE(status_flags_are(equal->state().eflags, ZF, ZF));
    const auto differ =
        run_one({0xF0, 0x0F, 0xC7, 0x0D, 0x00, 0x20, 0x00, 0x00}, ZF, [](Machine& g) {
            g.write64(kData, 0x0123456789ABCDEF);
            g.gpr(Gpr::ECX) = 0xCAFEF00D;
        });
    EXPECT_EQ(differ->read64(kData), 0x0123456789ABCDEFu);
    EXPECT_EQ(differ->gpr(Gpr::EDX), 0x01234567u);
    EXPECT_EQ(differ->gpr(Gpr::EAX), 0x89ABCDEFu);
    EXPECT_TRUE(status_flags_are(differ->state().eflags, 0, ZF));
}

TEST(Lock, BitStringOffsetsReachOtherDwords) {
    // lock bts [m], ecx with ECX = 35: bit 3 of the dword at m + 4 (SDM BT, bit string).
    const auto bts = run_one({0xF0, 0x0F, 0xAB, 0x0D, 0x00, 0x20, 0x00, 0x00}, CF,
                             [](Machine& g) { g.gpr(Gpr::ECX) = 35; });
    EXPECT_EQ(bts->read32(kData + 4), 0x8u);
    EXPECT_EQ(bts->read32(kData), 0u);
    EXPECT_TRUE(status_flags_are(bts->state().eflags, 0, CF)) << "the bit was clear";
    // lock btr [m], ecx with ECX = -1: bit 31 of the dword at m - 4.
    const auto btr = run_one({0xF0, 0x0F, 0xB3, 0x0D, 0x00, 0x20, 0x00, 0x00}, 0, [](Machine& g) {
        g.gpr(Gpr::ECX) = 0xFFFFFFFF;
        g.write32(kData - 4, 0xFFFFFFFF);
    });
    EXPECT_EQ(btr->read32(kData - 4), 0x7FFFFFFFu);
    EXPECT_TRUE(status_flags_are(btr->state().eflags, CF, CF));
    // lock btc dword [m], 33: the immediate is taken modulo 32, bit 1 of [m].
    const auto btc = run_one({0xF0, 0x0F, 0xBA, 0x3D, 0x00, 0x20, 0x00, 0x00, 0x21}, 0,
                             [](Machine& g) { g.write32(kData, 0x3); });
    EXPECT_EQ(btc->read32(kData), 0x1u);
    EXPECT_TRUE(status_flags_are(btc->state().eflags, CF, CF));
}

TEST(Lock, XchgWithMemorySwapsWithoutAPrefix) {
    const auto m =
        run_one({0x87, 0x05, 0x00, 0x20, 0x00, 0x00}, 0, [](Machine& g) { // xchg [m], eax
            g.write32(kData, 0xAAAA5555);
            g.gpr(Gpr::EAX) = 0x12345678;
        });
    EXPECT_EQ(m->read32(kData), 0x12345678u);
    EXPECT_EQ(m->gpr(Gpr::EAX), 0xAAAA5555u);
    const auto locked = run_one({0xF0, 0x86, 0x05, 0x00, 0x20, 0x00, 0x00}, 0, // lock xchg [m], al
                                [](Machine& g) {
                                    g.write32(kData, 0x44332211);
                                    g.gpr(Gpr::EAX) = 0x99;
                                });
    EXPECT_EQ(locked->read32(kData), 0x44332299u);
    EXPECT_EQ(locked->gpr(Gpr::EAX), 0x11u);
}

TEST(Lock, RealModeWordIncrement) {
    Machine m;
    m.load_code({0xF0, 0xFF, 0x06, 0x00, 0x20}); // lock inc word [0x2000]
    m.write16(kData, 0xFFFF);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData), 0u);
    EXPECT_EQ(m.read8(kData + 2), 0u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, PF | AF | ZF));
}

// ---- alignment: inside an aligned 8-byte word, and split across one

TEST(Lock, MisalignedInsideAWordLeavesItsNeighbours) {
    const auto m = run_one({0xF0, 0xFF, 0x05, 0x01, 0x20, 0x00, 0x00}, 0, // lock inc dword [m+1]
                           [](Machine& g) { g.write64(kData, 0x443322FFFFFFFF11); });
    EXPECT_EQ(m->read64(kData), 0x4433220000000011u) << "bytes 1-4 wrap to 0, no carry beyond";
    EXPECT_TRUE(status_flags_are(m->state().eflags, PF | AF | ZF));
}

TEST(Lock, SplitAcrossAnEightByteBoundary) {
    const auto m = run_one({0xF0, 0xFF, 0x05, 0x06, 0x20, 0x00, 0x00}, 0, // lock inc dword [m+6]
                           [](Machine& g) {
                               g.write64(kData, 0xFFFF555555555555);
                               g.write64(kData + 8, 0xAAAAAAAAAAAA7FFF);
                           });
    EXPECT_EQ(m->read64(kData), 0x0000555555555555u);
    EXPECT_EQ(m->read64(kData + 8), 0xAAAAAAAAAAAA8000u);
    EXPECT_TRUE(status_flags_are(m->state().eflags, PF | AF | SF | OF));
}

TEST(Lock, SplitWordAtTheEndOfAWord) {
    const auto m = run_one({0xF0, 0x66, 0xFF, 0x05, 0x07, 0x20, 0x00, 0x00}, 0, // lock inc word
                           [](Machine& g) { g.write16(kData + 7, 0x01FF); });   // [m+7]
    EXPECT_EQ(m->read16(kData + 7), 0x0200u);
    EXPECT_EQ(m->read8(kData + 6), 0u);
    EXPECT_EQ(m->read8(kData + 9), 0u);
}

// ---- MMIO and read-only memory: the ordinary exits, not atomic

TEST(Lock, MmioDestinationReadsThenWritesThroughTheHost) {
    Machine m(Mode::Protected32);
    m.load_code({0xF0, 0xFF, 0x05, 0x00, 0x00, 0x30, 0x00}); // lock inc dword [0x300000]
    Exit e = m.run(1);
    ASSERT_EQ(e.reason, ExitReason::Mmio);
    EXPECT_FALSE(e.mmio_write);
    EXPECT_EQ(e.mmio_address, kMmio);
    EXPECT_EQ(e.mmio_size, 4);
    EXPECT_EQ(m.eip(), kCode);
    m.emulator().complete_mmio(41);
    e = m.run(1);
    ASSERT_EQ(e.reason, ExitReason::Mmio);
    EXPECT_TRUE(e.mmio_write);
    EXPECT_EQ(e.mmio_data, 42u);
    EXPECT_EQ(m.eip(), kCode);
    e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(e.instructions, 1u);
    EXPECT_EQ(m.eip(), kCode + 7);
}

TEST(Lock, ReadOnlySlotExitsForTheWriteAsWithoutLock) {
    std::vector<uint8_t> ram(0x10000), rom(0x1000, 0);
    rom[0] = 0x10;
    const RamSlot slots[] = {
        {.guest_phys = 0, .size = ram.size(), .host = ram.data()},
        {.guest_phys = 0x10000, .size = rom.size(), .host = rom.data(), .read_only = true}};
    Emulator emu(slots);
    CpuState& s = emu.state();
    s = reset_state(ResetPreset::Kvm);
    s[Seg::CS] = segment_cache(0, 0, 0xFFFF, 0x9B);
    s[Seg::DS] = segment_cache(0x1000, 0x10000, 0xFFFF, 0x93);
    s.eip = 0x100;
    const uint8_t code[] = {0xF0, 0xFE, 0x06, 0x00, 0x00}; // lock inc byte [0] (ds = 0x1000)
    std::copy(std::begin(code), std::end(code), ram.begin() + 0x100);
    const Exit e = emu.run(RunLimits{.budget = 1, .stop_when_valid = std::nullopt});
    ASSERT_EQ(e.reason, ExitReason::Mmio);
    EXPECT_TRUE(e.mmio_write);
    EXPECT_EQ(e.mmio_address, 0x10000u);
    EXPECT_EQ(e.mmio_data, 0x11u);
    EXPECT_EQ(rom[0], 0x10) << "a read-only slot is never written";
}

// ---- faults come before any store, and leave the state as it was

TEST(Lock, LimitFaultStoresNothingAndKeepsTheRegister) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS).limit = 0x2001; // the dword at 0x2000 ends at 0x2003
    m.load_code({0xF0, 0x0F, 0xC1, 0x05, 0x00, 0x20, 0x00, 0x00}); // lock xadd [0x2000], eax
    m.write32(kData, 0x11111111);
    m.gpr(Gpr::EAX) = 0x22222222;
    const uint32_t eflags = m.state().eflags;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.read32(kData), 0x11111111u);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x22222222u);
    EXPECT_EQ(m.state().eflags, eflags);
    EXPECT_EQ(m.eip(), kCode);
}

TEST(Lock, ReadOnlySegmentFaultsBeforeTheExchange) {
    Machine m(Mode::Protected32);
    m.seg(Seg::DS).access_rights = (m.seg(Seg::DS).access_rights & ~0xFu) | 0x1; // read-only
    m.load_code({0x87, 0x05, 0x00, 0x20, 0x00, 0x00}); // xchg [0x2000], eax
    m.write32(kData, 0x11111111);
    m.gpr(Gpr::EAX) = 0x22222222;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.read32(kData), 0x11111111u);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x22222222u);
}

// ---- where LOCK is not allowed: #UD (SDM Vol. 2A LOCK, "Protected Mode Exceptions")

TEST(Lock, UndefinedWithARegisterDestination) {
    for (const auto& code : {std::vector<uint8_t>{0xF0, 0x01, 0xD8},          // lock add eax, ebx
                             std::vector<uint8_t>{0xF0, 0x0F, 0xC1, 0xD8},    // lock xadd eax, ebx
                             std::vector<uint8_t>{0xF0, 0xFF, 0xC0},          // lock inc eax
                             std::vector<uint8_t>{0xF0, 0x0F, 0xAB, 0xC8}}) { // lock bts eax, ecx
        Machine m(Mode::Protected32);
        for (size_t i = 0; i < code.size(); ++i)
            m.write8(kCode + static_cast<uint32_t>(i), code[i]);
        m.gpr(Gpr::EAX) = 7;
        EXPECT_TRUE(is_exception(m.run(1), vec::kUD)) << "opcode " << int{code[1]};
        EXPECT_EQ(m.gpr(Gpr::EAX), 7u);
    }
}

TEST(Lock, UndefinedOnInstructionsOutsideTheList) {
    for (const auto& code :
         {std::vector<uint8_t>{0xF0, 0x89, 0x05, 0x00, 0x20, 0x00, 0x00},       // lock mov
          std::vector<uint8_t>{0xF0, 0x39, 0x05, 0x00, 0x20, 0x00, 0x00},       // lock cmp
          std::vector<uint8_t>{0xF0, 0x85, 0x05, 0x00, 0x20, 0x00, 0x00},       // lock test
          std::vector<uint8_t>{0xF0, 0x0F, 0xA3, 0x05, 0x00, 0x20, 0x00, 0x00}, // lock bt
          std::vector<uint8_t>{0xF0, 0xD1, 0x25, 0x00, 0x20, 0x00, 0x00}}) {    // lock shl
        Machine m(Mode::Protected32);
        for (size_t i = 0; i < code.size(); ++i)
            m.write8(kCode + static_cast<uint32_t>(i), code[i]);
        m.write32(kData, 0x5A5A5A5A);
        EXPECT_TRUE(is_exception(m.run(1), vec::kUD)) << "opcode " << int{code[1]};
        EXPECT_EQ(m.read32(kData), 0x5A5A5A5Au);
    }
}

// ---- the block engine leaves LOCK-prefixed instructions to the interpreter; an aligned XCHG
// with memory it runs as one host atomic exchange (emu/block/block_ops.cpp)

TEST(Lock, BlockEngineInterpretsEveryLockedInstructionOfALoop) {
    Machine m(Mode::Protected32);
    m.load_code({0xF0, 0xFF, 0x05, 0x00, 0x20, 0x00, 0x00, // L: lock inc dword [0x2000]
                 0x87, 0x1D, 0x04, 0x20, 0x00, 0x00,       //    xchg [0x2004], ebx
                 0x49,                                     //    dec ecx
                 0x75, 0xF0});                             //    jnz L
    m.gpr(Gpr::ECX) = 1000;
    m.gpr(Gpr::EBX) = 1;
    m.write32(kData + 4, 7);
    ASSERT_EQ(m.run(4000).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kData), 1000u);
    EXPECT_EQ(m.read32(kData + 4), 7u) << "1000 exchanges";
    EXPECT_EQ(m.gpr(Gpr::EBX), 1u);
    const auto stats = m.emulator().engine_stats();
    EXPECT_GT(stats.in_blocks, 0u) << "xchg/dec/jnz still run in blocks";
    EXPECT_GE(stats.interpreted, 1000u) << "every lock inc interpreted";
}

} // namespace transit86::test
