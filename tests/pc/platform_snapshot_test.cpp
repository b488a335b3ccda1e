// Snapshots of the platform for reverse execution (tools/gdb): a copy of a device answers for
// itself, a disk's writes can be wound back, and PcPlatform::restore puts every device, the
// memory map (the i440FX PAM registers) and fw_cfg's position back. The rule throughout: after
// restore, the guest reads through the ports what it read when the snapshot was taken.
#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <vector>

#include "fake_platform.hpp"
#include "pc/block_backend.hpp"
#include "pc/fw_cfg.hpp"
#include "pc/piix4_pm.hpp"
#include "pc/platform.hpp"

namespace transit86::pc {
namespace {

// A copy's ACPI register window reads the copy's registers: the copy of PM1_EN (base + 2,
// ACPI 1.0b 4.7.3.1) keeps the value it had when copied after the original's changes.
TEST(PlatformSnapshot, Piix4PmCopyHasItsOwnRegisterWindow) {
    VirtualClock clock;
    testing::RecordingIrqLines irq;
    Piix4Pm pm(clock, irq);
    pm.config_write(0x40, 4, 0x601); // SeaBIOS: PMBA 0x600, I/O space
    pm.config_write(0x80, 1, 0x01);  // PMREGMISC: the block decodes
    pm.pm_registers().io_write(0x602, 2, 0x0001);
    Piix4Pm copy(pm);
    pm.pm_registers().io_write(0x602, 2, 0x0000);
    EXPECT_EQ(copy.pm_registers().io_read(0x602, 2), 0x0001u);
    EXPECT_EQ(pm.pm_registers().io_read(0x602, 2), 0x0000u);
}

// fw_cfg: a copy keeps its own selector and offset (docs/specs/fw_cfg.rst: selecting rewinds,
// each data read advances); the items are the same bytes.
TEST(PlatformSnapshot, FwCfgCopyKeepsItsOwnSelectorAndOffset) {
    FwCfg fw(nullptr, nullptr);
    fw.io_write(FwCfg::kSelectorPort, 2, FwCfg::kSignature);
    EXPECT_EQ(fw.io_read(FwCfg::kDataPort, 1), 'Q');
    FwCfg copy(fw);
    EXPECT_EQ(fw.io_read(FwCfg::kDataPort, 1), 'E');
    EXPECT_EQ(fw.io_read(FwCfg::kDataPort, 1), 'M');
    EXPECT_EQ(copy.io_read(FwCfg::kDataPort, 1), 'E');
}

// A journalled disk: undo_to(mark) gives back the sectors as they were at mark(), newest
// write undone first (two writes to one sector end with the older contents).
TEST(PlatformSnapshot, JournaledDiskUndoPutsBackWhatWritesOverwrote) {
    BlockBackendOrError medium = make_memory_image(std::vector<uint8_t>(4 * 512, 0x11));
    ASSERT_TRUE(medium.backend);
    JournaledBlockBackend disk(*medium.backend);
    disk.record(true);
    const size_t mark = disk.mark();
    const std::vector<uint8_t> a(512, 0xAA), b(1024, 0xBB);
    ASSERT_TRUE(disk.write_sectors(1, a));
    ASSERT_TRUE(disk.write_sectors(1, b));
    EXPECT_EQ(disk.journal_bytes(), 1536u);
    disk.undo_to(mark);
    std::vector<uint8_t> back(4 * 512);
    ASSERT_TRUE(disk.read_sectors(0, back));
    EXPECT_EQ(back, std::vector<uint8_t>(4 * 512, 0x11));
    EXPECT_EQ(disk.journal_bytes(), 0u);
    EXPECT_FALSE(disk.write_sectors(4, a)); // past the end: refused, nothing journalled
    EXPECT_EQ(disk.mark(), mark);
}

class PcPlatformSnapshot : public ::testing::Test {
  protected:
    PcPlatformSnapshot() : platform(config()) {}
    static PcConfig config() {
        PcConfig c;
        c.ram_bytes = 2u << 20;
        c.bios.assign(64 * 1024, 0xF4);
        return c;
    }
    uint32_t in(uint16_t port, uint8_t size) {
        PortAccess a{.port = port, .size = size, .is_in = true};
        platform.access(a);
        return a.data;
    }
    void out(uint16_t port, uint8_t size, uint32_t value) {
        PortAccess a{.port = port, .size = size, .is_in = false, .data = value};
        platform.access(a);
    }
    void cmos_write(uint8_t index, uint8_t value) {
        out(0x70, 1, index);
        out(0x71, 1, value);
    }
    uint8_t cmos_read(uint8_t index) {
        out(0x70, 1, index);
        return static_cast<uint8_t>(in(0x71, 1));
    }
    // The i440FX's PAM1 (config 0x5A): 0x33 makes 0xC0000-0xC7FFF RAM.
    void write_pam1(uint8_t value) {
        out(0xCF8, 4, 0x80000058);
        out(0xCFE, 1, value);
    }
    PcPlatform platform;
};

// CMOS RAM (MC146818 bytes 0x0E-0x7F are battery-backed RAM) and the index register.
TEST_F(PcPlatformSnapshot, RestoreGivesBackCmosContents) {
    cmos_write(0x40, 0x12);
    const PcPlatform::Snapshot snap = platform.save();
    cmos_write(0x40, 0x34);
    platform.restore(snap);
    EXPECT_EQ(cmos_read(0x40), 0x12);
}

// The memory map follows the restored PAM registers: the slots are those of the snapshot, the
// generation moves on so a host reloads them, and PAM1 reads back its old value.
TEST_F(PcPlatformSnapshot, RestoreGivesBackThePamMemoryMap) {
    const std::vector<RamSlot> before(platform.slots().begin(), platform.slots().end());
    const PcPlatform::Snapshot snap = platform.save();
    write_pam1(0x33);
    const auto same_map = [&](std::span<const RamSlot> slots) {
        return slots.size() == before.size() &&
               std::equal(slots.begin(), slots.end(), before.begin(),
                          [](const RamSlot& a, const RamSlot& b) {
                              return a.guest_phys == b.guest_phys && a.size == b.size &&
                                     a.read_only == b.read_only;
                          });
    };
    ASSERT_FALSE(same_map(platform.slots())); // PAM 1 read/write: 0xC0000 is RAM now
    const uint64_t generation = platform.memory_generation();
    platform.restore(snap);
    const std::vector<RamSlot> after(platform.slots().begin(), platform.slots().end());
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].guest_phys, before[i].guest_phys);
        EXPECT_EQ(after[i].size, before[i].size);
        EXPECT_EQ(after[i].read_only, before[i].read_only);
    }
    EXPECT_NE(platform.memory_generation(), generation);
    out(0xCF8, 4, 0x80000058);
    EXPECT_EQ(in(0xCFE, 1), 0x00u);
}

// fw_cfg through the platform's ports: the next byte after restore is the one that followed
// the snapshot ("QEMU": after "Q", "E").
TEST_F(PcPlatformSnapshot, RestoreGivesBackFwCfgPosition) {
    out(FwCfg::kSelectorPort, 2, FwCfg::kSignature);
    EXPECT_EQ(in(FwCfg::kDataPort, 1), 'Q');
    const PcPlatform::Snapshot snap = platform.save();
    EXPECT_EQ(in(FwCfg::kDataPort, 1), 'E');
    EXPECT_EQ(in(FwCfg::kDataPort, 1), 'M');
    platform.restore(snap);
    EXPECT_EQ(in(FwCfg::kDataPort, 1), 'E');
}

// Virtual time and the 8254: channel 0's count read back (latch, 8254 datasheet "Counter
// Latch Command") after restore is the count at the snapshot's time.
TEST_F(PcPlatformSnapshot, RestoreGivesBackVirtualTimeAndThePit) {
    out(0x43, 1, 0x34); // channel 0, lobyte/hibyte, mode 2
    out(0x40, 1, 0x00);
    out(0x40, 1, 0x10); // 0x1000
    platform.advance_to(1'000'000);
    const PcPlatform::Snapshot snap = platform.save();
    auto latched = [&] {
        out(0x43, 1, 0x00);
        const uint32_t lo = in(0x40, 1);
        return lo | in(0x40, 1) << 8;
    };
    const uint32_t at_snapshot = latched();
    platform.advance_to(1'500'000);
    EXPECT_NE(latched(), at_snapshot);
    platform.restore(snap);
    EXPECT_EQ(platform.clock().now_ns(), 1'000'000u);
    EXPECT_EQ(latched(), at_snapshot);
}

// The PIIX4 ACPI block moved over the legacy ports (PMBA 0x40: the PIT, the 8042, port 0x61,
// CMOS) and then away: the devices there still answer. QEMU leaves the order of overlapping
// I/O regions of equal priority undefined, but when the block moves away the devices under it
// are decoded again; here they keep their ports throughout and the block takes the free ones
// of its window. Found by fuzz_platform: the block's move unmapped whatever it had covered.
TEST_F(PcPlatformSnapshot, PmBlockMovedOverLegacyPortsLeavesThemToTheirDevices) {
    const auto pm_config_write = [&](uint8_t reg, uint8_t size, uint32_t value) {
        out(0xCF8, 4, 0x80000B00u | reg); // 00:01.3, PIIX4 PM
        out(0xCFC + (reg & 3), size, value);
    };
    EXPECT_EQ(in(0x64, 1), 0x18u);  // 8042 status at power-on (pckbd.c)
    pm_config_write(0x40, 4, 0x41); // PMBA 0x40
    pm_config_write(0x80, 1, 0x01); // PMREGMISC: decode
    EXPECT_EQ(in(0x64, 1), 0x18u);
    EXPECT_EQ(in(0x40 + 4, 2), 0u);  // PM1a_CNT (ACPI 1.0b 4.7.3.2.1) in a free port
    pm_config_write(0x40, 4, 0x601); // PMBA 0x600, as SeaBIOS
    EXPECT_EQ(in(0x64, 1), 0x18u);
    cmos_write(0x40, 0x5A);
    EXPECT_EQ(cmos_read(0x40), 0x5Au);
    EXPECT_EQ(in(0x44, 2), 0xFFFFu); // nothing there any more
    EXPECT_EQ(in(0x604, 2), 0u);
}

} // namespace
} // namespace transit86::pc
