// The ATA disk on 0x1F0-0x1F7 / 0x3F6, driven through its ports the way SeaBIOS's
// src/hw/ata.c does. Expected values from ATA/ATAPI-6 (T13 1410D) and QEMU hw/ide/core.c.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_platform.hpp"
#include "irq_edges.hpp"
#include "pc/ata_disk.hpp"

namespace transit86::pc {
namespace {

constexpr uint64_t kSectors = 2048; // 1 MiB: default translation 2 cylinders x 16 x 63
constexpr uint8_t kDrdyDsc = 0x50;
constexpr uint8_t kDrdyDscDrq = 0x58;
constexpr uint8_t kDrdyErr = 0x41;
constexpr uint8_t kAbrt = 0x04;

// Sector n holds its own number in its first four bytes, then bytes of n + offset.
std::vector<uint8_t> patterned_image() {
    std::vector<uint8_t> bytes(kSectors * 512);
    for (uint64_t sector = 0; sector < kSectors; ++sector)
        for (unsigned i = 0; i < 512; ++i)
            bytes[sector * 512 + i] = static_cast<uint8_t>(i < 4 ? sector >> (8 * i) : sector + i);
    return bytes;
}

class AtaDiskTest : public ::testing::Test {
  protected:
    void out(uint16_t port, uint8_t value) { disk.io_write(port, 1, value); }
    uint8_t in(uint16_t port) { return static_cast<uint8_t>(disk.io_read(port, 1)); }
    uint8_t status() { return in(0x1F7); }
    void command_lba28(uint8_t command, uint32_t lba, uint8_t count) {
        out(0x1F6, static_cast<uint8_t>(0xE0 | ((lba >> 24) & 0x0F)));
        out(0x1F2, count);
        out(0x1F3, static_cast<uint8_t>(lba));
        out(0x1F4, static_cast<uint8_t>(lba >> 8));
        out(0x1F5, static_cast<uint8_t>(lba >> 16));
        out(0x1F7, command);
    }
    std::vector<uint8_t> read_words(size_t bytes) {
        std::vector<uint8_t> data;
        for (size_t i = 0; i < bytes; i += 2) {
            const uint32_t word = disk.io_read(0x1F0, 2);
            data.push_back(static_cast<uint8_t>(word));
            data.push_back(static_cast<uint8_t>(word >> 8));
        }
        return data;
    }
    std::vector<uint16_t> identify() {
        out(0x1F6, 0xA0);
        out(0x1F7, 0xEC);
        std::vector<uint16_t> words;
        for (int i = 0; i < 256; ++i)
            words.push_back(static_cast<uint16_t>(disk.io_read(0x1F0, 2)));
        return words;
    }
    std::vector<uint8_t> sector(uint64_t n) const {
        const auto bytes = image.bytes();
        return {bytes.begin() + static_cast<long>(n * 512),
                bytes.begin() + static_cast<long>((n + 1) * 512)};
    }

    MemoryBlockBackend image{patterned_image()};
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    AtaDisk disk{image, irq, &log};
};

// IDENTIFY DEVICE (ATA-6 8.15, QEMU ide_identify): geometry, capabilities, capacity, strings.
TEST_F(AtaDiskTest, IdentifyDeviceWords) {
    const auto w = identify();
    EXPECT_EQ(w[0], 0x0040);
    EXPECT_EQ(w[1], 2);                                   // cylinders
    EXPECT_EQ(w[3], 16);                                  // heads
    EXPECT_EQ(w[6], 63);                                  // sectors per track
    EXPECT_EQ(w[47], 0x8010);                             // READ/WRITE MULTIPLE up to 16
    EXPECT_EQ(w[49], 0x0B00);                             // IORDY, LBA, DMA
    EXPECT_EQ(w[53], 0x0007);                             // words 54-58, 64-70, 88 valid
    EXPECT_EQ(w[54], 2);                                  // current translation
    EXPECT_EQ(w[57] | (uint32_t{w[58]} << 16), 2016u);    // 2 x 16 x 63
    EXPECT_EQ(w[59], 0x0110);                             // multiple setting valid, 16
    EXPECT_EQ(w[60] | (uint32_t{w[61]} << 16), kSectors); // LBA28 capacity
    EXPECT_EQ(w[83] & 0x0400, 0x0400);                    // 48-bit address feature set
    EXPECT_EQ(w[86], 0x3400);
    EXPECT_EQ(w[88], 0x203F); // UDMA 0-5 supported, 5 selected
    EXPECT_EQ(w[100], kSectors);
    std::string model;
    for (int i = 27; i < 47; ++i) {
        model += static_cast<char>(w[i] >> 8);
        model += static_cast<char>(w[i] & 0xFF);
    }
    EXPECT_EQ(model, "transit86 ATA disk                      ");
    EXPECT_EQ(status(), kDrdyDsc); // the 256 words consumed: DRQ gone
}

// READ SECTORS, LBA28: each sector's data, DRQ between them, the registers advanced past the
// last one and the count at 0 afterwards.
TEST_F(AtaDiskTest, ReadSectorsLba28) {
    command_lba28(0x20, 5, 2);
    EXPECT_EQ(status(), kDrdyDscDrq);
    EXPECT_EQ(read_words(512), sector(5));
    EXPECT_EQ(status(), kDrdyDscDrq);
    EXPECT_EQ(read_words(512), sector(6));
    EXPECT_EQ(status(), kDrdyDsc);
    EXPECT_EQ(in(0x1F2), 0);
    EXPECT_EQ(in(0x1F3), 7);
}

// CHS through the default translation (16 heads, 63 sectors): C0/H1/S3 is LBA 65.
TEST_F(AtaDiskTest, ReadSectorsChs) {
    out(0x1F6, 0xA1); // CHS, device 0, head 1
    out(0x1F2, 1);
    out(0x1F3, 3);
    out(0x1F4, 0);
    out(0x1F5, 0);
    out(0x1F7, 0x20);
    EXPECT_EQ(read_words(512), sector(65));
}

// 32-bit data port reads take four bytes at a time (QEMU ide_data_readl).
TEST_F(AtaDiskTest, ThirtyTwoBitDataReads) {
    command_lba28(0x20, 9, 1);
    std::vector<uint8_t> data;
    for (int i = 0; i < 128; ++i) {
        const uint32_t dword = disk.io_read(0x1F0, 4);
        for (int b = 0; b < 4; ++b)
            data.push_back(static_cast<uint8_t>(dword >> (8 * b)));
    }
    EXPECT_EQ(data, sector(9));
    EXPECT_EQ(status(), kDrdyDsc);
}

// WRITE SECTORS: DRQ at once for the first block, the image updated when its last word
// arrives, then an interrupt.
TEST_F(AtaDiskTest, WriteSectorsReachesImage) {
    command_lba28(0x30, 10, 1);
    EXPECT_EQ(status(), kDrdyDscDrq);
    const unsigned edges = testing::rising_edges(irq, 14);
    for (int i = 0; i < 256; ++i)
        disk.io_write(0x1F0, 2, 0xBEEF);
    EXPECT_EQ(testing::rising_edges(irq, 14), edges + 1);
    EXPECT_EQ(status(), kDrdyDsc);
    EXPECT_EQ(image.bytes()[10 * 512], 0xEF);
    EXPECT_EQ(image.bytes()[10 * 512 + 511], 0xBE);
    EXPECT_EQ(image.bytes()[11 * 512], 11); // the next sector untouched
}

// READ MULTIPLE: blocks of the SET MULTIPLE MODE size, one interrupt each; WRITE MULTIPLE the
// same the other way.
TEST_F(AtaDiskTest, MultipleTransfersBlocksOfMultipleSize) {
    out(0x1F2, 4);
    out(0x1F7, 0xC6);
    EXPECT_EQ(status(), kDrdyDsc);
    command_lba28(0xC4, 100, 8);
    EXPECT_EQ(status(), kDrdyDscDrq);
    auto first = read_words(4 * 512);
    EXPECT_EQ(std::vector<uint8_t>(first.begin() + 3 * 512, first.end()), sector(103));
    EXPECT_EQ(status(), kDrdyDscDrq); // second block ready
    auto second = read_words(4 * 512);
    EXPECT_EQ(std::vector<uint8_t>(second.begin() + 3 * 512, second.end()), sector(107));
    EXPECT_EQ(status(), kDrdyDsc);

    command_lba28(0xC5, 200, 4);
    for (int i = 0; i < 4 * 256; ++i)
        disk.io_write(0x1F0, 2, 0x1234);
    EXPECT_EQ(status(), kDrdyDsc);
    EXPECT_EQ(image.bytes()[203 * 512 + 510], 0x34);
}

// SET MULTIPLE MODE takes 0 or a power of two up to 16; anything else aborts.
TEST_F(AtaDiskTest, SetMultipleRejectsUnsupportedSizes) {
    out(0x1F2, 3);
    out(0x1F7, 0xC6);
    EXPECT_EQ(status(), kDrdyErr);
    EXPECT_EQ(in(0x1F1), kAbrt);
    out(0x1F2, 32);
    out(0x1F7, 0xC6);
    EXPECT_EQ(status(), kDrdyErr);
    out(0x1F2, 0); // disables READ MULTIPLE, which then aborts
    out(0x1F7, 0xC6);
    EXPECT_EQ(status(), kDrdyDsc);
    command_lba28(0xC4, 0, 1);
    EXPECT_EQ(status(), kDrdyErr);
}

// Each block is checked against the end of the image before it is read (QEMU
// ide_sect_range_ok): a read running off the end delivers the sectors that exist, then fails
// with ABRT instead of the first missing one. READ VERIFY past the end aborts too.
TEST_F(AtaDiskTest, ReadPastEndAborts) {
    command_lba28(0x20, kSectors - 1, 2); // the first sector exists, the second does not
    EXPECT_EQ(status(), kDrdyDscDrq);
    EXPECT_EQ(read_words(512), sector(kSectors - 1));
    EXPECT_EQ(status(), kDrdyErr);
    EXPECT_EQ(in(0x1F1), kAbrt);
    EXPECT_EQ(disk.io_read(0x1F0, 2), 0u); // no DRQ, no data
    command_lba28(0x20, kSectors, 1);
    EXPECT_EQ(status(), kDrdyErr);
    command_lba28(0x40, kSectors, 1);
    EXPECT_EQ(status(), kDrdyErr);
    command_lba28(0x40, kSectors - 1, 1);
    EXPECT_EQ(status(), kDrdyDsc);
}

// A write past the end takes the host's data, then aborts without touching the image.
TEST_F(AtaDiskTest, WritePastEndAbortsAndLeavesImage) {
    const std::vector<uint8_t> before(image.bytes().begin(), image.bytes().end());
    command_lba28(0x30, kSectors, 1);
    for (int i = 0; i < 256; ++i)
        disk.io_write(0x1F0, 2, 0xFFFF);
    EXPECT_EQ(status(), kDrdyErr);
    EXPECT_EQ(in(0x1F1), kAbrt);
    EXPECT_TRUE(std::equal(before.begin(), before.end(), image.bytes().begin()));
}

// READ SECTORS EXT: the 48-bit address and count come from the previous (HOB) and current
// register bytes; device control HOB reads the previous bytes back.
TEST_F(AtaDiskTest, ReadSectorsExtUsesHobRegisters) {
    out(0x1F6, 0x40);
    out(0x1F2, 0); // count 15-8
    out(0x1F3, 0); // LBA 31-24
    out(0x1F4, 0); // LBA 39-32
    out(0x1F5, 0); // LBA 47-40
    out(0x1F2, 1);
    out(0x1F3, 0x2C); // LBA 300 = 0x12C
    out(0x1F4, 0x01);
    out(0x1F5, 0x00);
    out(0x1F7, 0x24);
    EXPECT_EQ(read_words(512), sector(300));
    EXPECT_EQ(in(0x1F3), 0x2D);
    out(0x3F6, 0x80); // HOB
    EXPECT_EQ(in(0x1F3), 0x00);
}

// INITIALIZE DEVICE PARAMETERS sets the CHS translation used for addressing and reported in
// words 54-58 (ATA-6 8.16, 6.2.1): 4 heads x 17 sectors, so C1/H0/S1 is LBA 68.
TEST_F(AtaDiskTest, InitializeDeviceParametersChangesTranslation) {
    out(0x1F6, 0xA3); // heads - 1 = 3
    out(0x1F2, 17);
    out(0x1F7, 0x91);
    EXPECT_EQ(status(), kDrdyDsc);
    const auto w = identify();
    EXPECT_EQ(w[54], 2048 / 68);
    EXPECT_EQ(w[55], 4);
    EXPECT_EQ(w[56], 17);
    out(0x1F6, 0xA0);
    out(0x1F2, 1);
    out(0x1F3, 1);
    out(0x1F4, 1);
    out(0x1F5, 0);
    out(0x1F7, 0x20);
    EXPECT_EQ(read_words(512), sector(68));
}

// SRST: busy while held; when released, the signature (count 01, LBA low 01, mid/high 00/00),
// DRDY and diagnostic code 01 in the error register (ATA-6 9.2, 9.12).
TEST_F(AtaDiskTest, SoftwareResetLeavesSignature) {
    command_lba28(0x20, 5, 2); // a transfer in progress is abandoned
    out(0x3F6, 0x06);          // SRST, nIEN
    EXPECT_EQ(in(0x3F6), 0x80);
    out(0x3F6, 0x02);
    EXPECT_EQ(status(), kDrdyDsc);
    EXPECT_EQ(in(0x1F2), 0x01);
    EXPECT_EQ(in(0x1F3), 0x01);
    EXPECT_EQ(in(0x1F4), 0x00);
    EXPECT_EQ(in(0x1F5), 0x00);
    EXPECT_EQ(in(0x1F1), 0x01);
    EXPECT_EQ(disk.io_read(0x1F0, 2), 0u);
}

// INTRQ (IRQ 14) is asserted when a command completes and nIEN is clear; reading the status
// register clears it, the alternate status does not; with nIEN set the line stays low and
// the interrupt is still pending when nIEN is cleared (ATA-6 7.9).
TEST_F(AtaDiskTest, Irq14FollowsNienAndStatusRead) {
    out(0x1F6, 0xA0);
    out(0x1F7, 0xE7); // FLUSH CACHE
    EXPECT_TRUE(irq.levels[14]);
    in(0x3F6);
    EXPECT_TRUE(irq.levels[14]);
    status();
    EXPECT_FALSE(irq.levels[14]);

    out(0x3F6, 0x02); // nIEN
    out(0x1F7, 0xE7);
    EXPECT_FALSE(irq.levels[14]);
    out(0x3F6, 0x00);
    EXPECT_TRUE(irq.levels[14]);
}

// Device 1 is absent: status, alternate status and error read 0 and commands are ignored,
// while the registers written read back (QEMU), which is how SeaBIOS's probe goes on to its
// status check.
TEST_F(AtaDiskTest, AbsentDevice1ReadsZeroStatus) {
    out(0x1F6, 0xB0);
    EXPECT_EQ(in(0x1F6), 0xB0);
    out(0x1F2, 0x55);
    out(0x1F3, 0xAA);
    EXPECT_EQ(in(0x1F2), 0x55);
    EXPECT_EQ(in(0x1F3), 0xAA);
    out(0x1F7, 0xEC);
    EXPECT_EQ(status(), 0x00);
    EXPECT_EQ(in(0x3F6), 0x00);
    EXPECT_EQ(in(0x1F1), 0x00);
    EXPECT_FALSE(irq.levels[14]);
}

// IDENTIFY PACKET DEVICE and unknown commands abort with an interrupt.
TEST_F(AtaDiskTest, PacketIdentifyAndUnknownCommandsAbort) {
    out(0x1F6, 0xA0);
    out(0x1F7, 0xA1);
    EXPECT_EQ(status(), kDrdyErr);
    EXPECT_EQ(in(0x1F1), kAbrt);
    EXPECT_EQ(testing::rising_edges(irq, 14), 1u);
    out(0x1F7, 0x5A);
    EXPECT_EQ(status(), kDrdyErr);
    EXPECT_EQ(log.lines.size(), 1u); // the unknown one is logged
}

// SET FEATURES: a transfer mode selects it in IDENTIFY (word 88 high byte); an unknown
// subcommand aborts.
TEST_F(AtaDiskTest, SetFeaturesTransferModeShowsInIdentify) {
    out(0x1F1, 0x03);
    out(0x1F2, 0x0C); // PIO flow control mode 4
    out(0x1F7, 0xEF);
    EXPECT_EQ(status(), kDrdyDsc);
    EXPECT_EQ(identify()[88], 0x003F);
    out(0x1F1, 0x03);
    out(0x1F2, 0x42); // UDMA mode 2
    out(0x1F7, 0xEF);
    EXPECT_EQ(status(), kDrdyDsc);
    EXPECT_EQ(identify()[88], 0x043F);
    out(0x1F1, 0x77);
    out(0x1F7, 0xEF);
    EXPECT_EQ(status(), kDrdyErr);
}

} // namespace
} // namespace transit86::pc
