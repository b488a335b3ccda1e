// I/O protection (SDM Vol. 1 19.5): CPL <= IOPL allows every port; above IOPL, and always in
// virtual-8086 mode (Vol. 3A 20.2.8.1), the I/O permission bit map of the 32-bit TSS decides.
// The map starts at the word at TSS offset 66H; a port is allowed when its bit is clear and
// the two bytes the processor reads for it lie within the TSS limit; otherwise #GP(0). The
// expected values below follow from those paragraphs.
//
// Protected-mode machine at CPL 3, IOPL 0, TR = a busy 32-bit TSS at 0x3000 whose map starts
// at offset 0x68 and covers ports 0..0x3FF (limit 0x68 + 0x80 = 0xE8).
#include "machine.hpp"
#include "system_tables.hpp"

namespace transit86::test {
namespace {

constexpr uint32_t kTss = 0x3000;
constexpr uint16_t kMapBase = 0x68;
constexpr uint32_t kLimit = kMapBase + 0x80; // ports 0x000-0x3FF, and the byte past them

class IoPermission : public ::testing::Test {
  protected:
    IoPermission() {
        m.exceptions_to_host = true;
        m.state().tr = segment_cache(0x28, kTss, kLimit, 0x8B);
        m.write16(kTss + 0x66, kMapBase);
        for (uint32_t i = 0; i <= 0x80; ++i)
            m.write8(kTss + kMapBase + i, 0xFF); // every port denied
        m.drop_to_cpl3();
        m.state().eflags = flags::Fixed1; // IOPL 0
    }
    void allow(uint16_t port) {
        const uint32_t at = kTss + kMapBase + port / 8;
        m.write8(at, static_cast<uint8_t>(m.read8(at) & ~(1u << (port % 8))));
    }

    RecordingPorts ports;
    Machine m{Mode::Protected32, &ports};
};

TEST_F(IoPermission, ClearBitAllowsThePort) {
    allow(0x80);
    m.load_code({0xE6, 0x80}); // out 0x80, al
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    ASSERT_EQ(ports.log.size(), 1u);
    EXPECT_EQ(ports.log[0].port, 0x80);
}

TEST_F(IoPermission, SetBitRaisesGp0) {
    m.load_code({0xE6, 0x80}); // out 0x80, al
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_TRUE(ports.log.empty());
}

TEST_F(IoPermission, EveryByteOfAWideAccessIsChecked) {
    // in eax, dx with DX = 0x3FE touches ports 3FE..401: 3FE and 3FF allowed, 400 denied
    // (its bit is in the byte past the map, still inside the limit).
    allow(0x3FE);
    allow(0x3FF);
    m.gpr(Gpr::EDX) = 0x3FE;
    m.load_code({0xED}); // in eax, dx
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    m.write8(kTss + kMapBase + 0x80, 0x00); // ports 400..407 allowed
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
}

TEST_F(IoPermission, AccessAcrossAByteBoundaryReadsTwoBytes) {
    // in ax, dx at port 0x17 covers bits 7 of byte 2 and 0 of byte 3.
    allow(0x17);
    m.gpr(Gpr::EDX) = 0x17;
    m.load_code({0x66, 0xED}); // in ax, dx
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    allow(0x18);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
}

TEST_F(IoPermission, SecondByteBeyondTheLimitRaisesGp0) {
    // Port 0x3F8's byte is at map offset 0x7F (TSS offset 0xE7); the processor reads 0xE7 and
    // 0xE8, and 0xE8 is the limit, so this passes; with the limit one lower it does not.
    allow(0x3F8);
    m.load_code({0xEC}); // in al, dx
    m.gpr(Gpr::EDX) = 0x3F8;
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    m.state().eip = kCode;
    m.state().tr.limit = kLimit - 1;
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(IoPermission, MapBaseBeyondTheLimitDeniesEveryPort) {
    m.write16(kTss + 0x66, 0xFFFF);
    m.load_code({0xE4, 0x00}); // in al, 0
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(IoPermission, SixteenBitTssHasNoMap) {
    allow(0x80);
    m.state().tr = segment_cache(0x28, kTss, kLimit, 0x83); // busy 16-bit TSS
    m.load_code({0xE6, 0x80});                              // out 0x80, al
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
}

TEST_F(IoPermission, CplAtOrBelowIoplSkipsTheMap) {
    m.state().eflags = flags::Fixed1 | flags::IOPL; // IOPL 3 = CPL
    m.load_code({0xE6, 0x80});                      // out 0x80, al
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(ports.log.size(), 1u);
}

TEST_F(IoPermission, StringOutputChecksBeforeTheCount) {
    // REP OUTSB with ECX = 0 still faults on a denied port (KVM and QEMU check first too).
    m.gpr(Gpr::EDX) = 0x80;
    m.gpr(Gpr::ECX) = 0;
    m.load_code({0xF3, 0x6E}); // rep outsb
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    allow(0x80);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_TRUE(ports.log.empty());
}

TEST_F(IoPermission, StringInputDenied) {
    m.gpr(Gpr::EDX) = 0x60;
    m.gpr(Gpr::EDI) = 0x8000;
    m.load_code({0x6C}); // insb
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    allow(0x60);
    ports.in_value = 0x5A;
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read8(0x8000), 0x5A);
}

TEST_F(IoPermission, Virtual8086ModeUsesTheMapWhateverIopl) {
    CpuState& s = m.state();
    s.eflags = flags::Fixed1 | flags::VM | flags::IOPL; // IOPL 3 does not matter in V86
    for (Seg seg : {Seg::CS, Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s[seg] = segment_cache(0, 0, 0xFFFF, 0xF3);
    s.eip = kCode;
    m.load_code({0xE6, 0x80}); // out 0x80, al
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    allow(0x80);
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
}

} // namespace
} // namespace transit86::test
