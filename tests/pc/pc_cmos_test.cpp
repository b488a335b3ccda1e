// The PC BIOS's CMOS bytes, against QEMU's pc_cmos_init / pc_cmos_init_late /
// rtc_set_cpus_count (hw/i386/pc.c).
#include "pc/pc_cmos.hpp"

#include <gtest/gtest.h>

#include "fake_platform.hpp"

namespace transit86::pc {
namespace {

constexpr uint64_t kMiB = 1 << 20;

class PcCmosTest : public ::testing::Test {
  protected:
    uint16_t word(uint8_t index) const {
        return static_cast<uint16_t>(rtc.cmos(index) | rtc.cmos(static_cast<uint8_t>(index + 1))
                                                           << 8);
    }
    VirtualClock clock;
    testing::RecordingIrqLines irqs;
    CmosRtc rtc{clock, irqs};
};

// 0x15/0x16 base memory (640 KiB), 0x17/0x18 and 0x30/0x31 KiB above 1 MiB, 0x34/0x35 64 KiB
// units above 16 MiB.
TEST_F(PcCmosTest, MemorySizeBytes) {
    ASSERT_TRUE(fill_pc_cmos(rtc, {.below_4g_bytes = 32 * kMiB}));
    EXPECT_EQ(word(0x15), 640);
    EXPECT_EQ(word(0x17), 31 * 1024);
    EXPECT_EQ(word(0x30), 31 * 1024);
    EXPECT_EQ(word(0x34), 256); // 16 MiB / 64 KiB
}

// The extended-memory words stop at 65535 (64 MiB).
TEST_F(PcCmosTest, ExtendedMemoryCapsAt65535) {
    ASSERT_TRUE(fill_pc_cmos(rtc, {.below_4g_bytes = 3072 * kMiB}));
    EXPECT_EQ(word(0x17), 65535);
    EXPECT_EQ(word(0x30), 65535);
    EXPECT_EQ(word(0x34), (3072 - 16) * 16);
}

// 0x5B-0x5D: 64 KiB units above 4 GiB, three bytes.
TEST_F(PcCmosTest, MemoryAbove4GiB) {
    ASSERT_TRUE(fill_pc_cmos(
        rtc, {.below_4g_bytes = 3072 * kMiB, .above_4g_bytes = 0x123456ull * 65536 + 65535}));
    EXPECT_EQ(rtc.cmos(0x5B), 0x56);
    EXPECT_EQ(rtc.cmos(0x5C), 0x34);
    EXPECT_EQ(rtc.cmos(0x5D), 0x12);
}

// 0x5F: CPUs - 1; more than 255 CPUs leave 0 (firmware must read fw_cfg).
TEST_F(PcCmosTest, CpuCount) {
    ASSERT_TRUE(fill_pc_cmos(rtc, {.cpus = 4}));
    EXPECT_EQ(rtc.cmos(0x5F), 3);
    ASSERT_TRUE(fill_pc_cmos(rtc, {.cpus = 300}));
    EXPECT_EQ(rtc.cmos(0x5F), 0);
}

// set_boot_dev: "cad" -> 0x3D = disk, floppy; 0x38 = CD in bits 7-4, bit 0 = skip the floppy
// signature check.
TEST_F(PcCmosTest, BootOrder) {
    ASSERT_TRUE(fill_pc_cmos(rtc, {.boot_order = "cad"}));
    EXPECT_EQ(rtc.cmos(0x3D), 0x12);
    EXPECT_EQ(rtc.cmos(0x38), 0x30);
    ASSERT_TRUE(fill_pc_cmos(rtc, {.boot_order = "n", .floppy_boot_check = false}));
    EXPECT_EQ(rtc.cmos(0x3D), 0x04);
    EXPECT_EQ(rtc.cmos(0x38), 0x01);
    EXPECT_FALSE(fill_pc_cmos(rtc, {.boot_order = "cadn"}));
    EXPECT_FALSE(fill_pc_cmos(rtc, {.boot_order = "x"}));
}

// 0x14 equipment: FPU and PS/2 mouse; 0x10: no floppy drives.
TEST_F(PcCmosTest, EquipmentAndFloppyBytes) {
    ASSERT_TRUE(fill_pc_cmos(rtc, {}));
    EXPECT_EQ(rtc.cmos(0x14), 0x06);
    EXPECT_EQ(rtc.cmos(0x10), 0x00);
}

// cmos_init_hd: type 47 and the geometry block; 0x12 says which first-bus disks exist; 0x39
// the translation, two bits a disk.
TEST_F(PcCmosTest, HardDiskBytes) {
    PcCmosConfig config;
    config.disks[0] = PcCmosDisk{.cylinders = 1024, .heads = 16, .sectors = 63, .translation = 1};
    config.disks[3] = PcCmosDisk{.cylinders = 2, .heads = 2, .sectors = 2, .translation = 2};
    ASSERT_TRUE(fill_pc_cmos(rtc, config));
    EXPECT_EQ(rtc.cmos(0x12), 0xF0);
    EXPECT_EQ(rtc.cmos(0x19), 47);
    EXPECT_EQ(word(0x1B), 1024);
    EXPECT_EQ(rtc.cmos(0x1D), 16);
    EXPECT_EQ(rtc.cmos(0x1E), 0xFF);
    EXPECT_EQ(rtc.cmos(0x20), 0xC8); // more than 8 heads
    EXPECT_EQ(word(0x21), 1024);
    EXPECT_EQ(rtc.cmos(0x23), 63);
    EXPECT_EQ(rtc.cmos(0x39), 0x81); // disk 0: LBA (1), disk 3: large (2 << 6)
}

} // namespace
} // namespace transit86::pc
