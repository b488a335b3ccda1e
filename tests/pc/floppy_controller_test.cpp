// The floppy controller (pc/floppy_controller.hpp) with the 8237 on channel 2, driven the way
// SeaBIOS's floppy.c and dma.c drive them, and the ways a guest can get it wrong. Expected
// values from the 82077AA datasheet (status bits, the result phase's C/H/R/N, the reset's
// polling interrupt) and QEMU hw/block/fdc.c where the datasheet leaves a choice.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "fake_platform.hpp"
#include "pc/floppy_controller.hpp"
#include "pc/i8237.hpp"

namespace transit86::pc {
namespace {

constexpr uint16_t kDor = 0x3F2, kMsr = 0x3F4, kFifo = 0x3F5, kCcr = 0x3F7;
constexpr uint8_t kRate500K = 0, kRate250K = 2;
constexpr uint32_t kBuffer = 0x7C00;
constexpr size_t k144Sectors = 2880;

// A 1.44M image whose every byte says which sector it is in.
std::vector<uint8_t> numbered_image(size_t sectors) {
    std::vector<uint8_t> bytes(sectors * 512);
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(i / 512 * 7 + i % 512);
    return bytes;
}

class FloppyControllerTest : public ::testing::Test {
  protected:
    explicit FloppyControllerTest(size_t sectors = k144Sectors)
        : image(numbered_image(sectors)), fdc(&image, irq, dma, &log) {}

    uint8_t in(uint16_t port) { return static_cast<uint8_t>(fdc.io_read(port, 1)); }
    void out(uint16_t port, uint8_t value) { fdc.io_write(port, 1, value); }
    void command(std::initializer_list<uint8_t> bytes) {
        for (const uint8_t b : bytes) {
            ASSERT_EQ(in(kMsr)&0xC0, 0x80) << "controller not ready for command byte";
            out(kFifo, b);
        }
    }
    std::vector<uint8_t> results() {
        std::vector<uint8_t> bytes;
        while ((in(kMsr)&0xC0) == 0xC0)
            bytes.push_back(in(kFifo));
        return bytes;
    }
    // SeaBIOS's dma_setup (DMA1 cascaded through channel 4) and dma_floppy: channel 2,
    // `count` bytes at `address`, into memory or out of it.
    void program_dma(uint32_t address, uint16_t count, bool to_memory) {
        dma.io_write(0xD6, 1, 0xC0);
        dma.io_write(0xD4, 1, 0x00);
        dma.io_write(0x0A, 1, 0x06);
        dma.io_write(0x0C, 1, 0);
        dma.io_write(0x04, 1, address & 0xFF);
        dma.io_write(0x04, 1, (address >> 8) & 0xFF);
        dma.io_write(0x0C, 1, 0);
        dma.io_write(0x05, 1, (count - 1) & 0xFF);
        dma.io_write(0x05, 1, ((count - 1) >> 8) & 0xFF);
        dma.io_write(0x0B, 1, to_memory ? 0x46 : 0x4A);
        dma.io_write(0x81, 1, (address >> 16) & 0xFF);
        dma.io_write(0x0A, 1, 0x02);
    }
    // SeaBIOS's floppy_enable_controller + recalibrate + media sense at 500 Kb/s.
    void bring_up() {
        out(kDor, 0x00);
        out(kDor, 0x0C);
        ASSERT_TRUE(irq.levels[6]);
        command({0x08});
        EXPECT_EQ(results(), (std::vector<uint8_t>{0xC0, 0}));
        out(kDor, 0x1C);
        command({0x07, 0x00});
        ASSERT_TRUE(irq.levels[6]);
        command({0x08});
        EXPECT_EQ(results(), (std::vector<uint8_t>{0x20, 0}));
        out(kCcr, kRate500K);
    }
    std::span<const uint8_t> sector_bytes(size_t lba) {
        return std::span<const uint8_t>(image.bytes()).subspan(lba * 512, 512);
    }
    std::span<const uint8_t> ram_at(uint32_t address, size_t bytes) {
        return std::span<const uint8_t>(ram.ram).subspan(address, bytes);
    }

    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    testing::RamDma ram{1 << 20};
    I8237Dma dma{ram, &log};
    MemoryBlockBackend image;
    FloppyController fdc;
};

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

TEST(FloppyFormats, StandardSizesAndTheirDriveTypes) {
    EXPECT_EQ(floppy_format_for(2880)->cmos_type, 4);
    EXPECT_EQ(floppy_format_for(2880)->sectors_per_track, 18);
    EXPECT_EQ(floppy_format_for(1440)->cmos_type, 3);
    EXPECT_EQ(floppy_format_for(1440)->data_rate, kRate250K);
    EXPECT_EQ(floppy_format_for(5760)->data_rate, 3);
    EXPECT_EQ(floppy_format_for(720)->cmos_type, 1);
    EXPECT_FALSE(floppy_format_for(2881));
    EXPECT_FALSE(floppy_format_for(1));
}

TEST(FloppyFormats, SmallerImageIsReadAsTheSmallestFormatHoldingItAsQemuReadsIt) {
    std::unique_ptr<BlockBackend> grub_rescue =
        std::make_unique<MemoryBlockBackend>(numbered_image(2532)); // 1,296,384 bytes
    const std::unique_ptr<BlockBackend> diskette =
        diskette_of_standard_size(std::move(grub_rescue));
    ASSERT_TRUE(diskette);
    EXPECT_EQ(diskette->sector_count(), 2880u);
    std::vector<uint8_t> sector(512);
    ASSERT_TRUE(diskette->read_sectors(2531, sector));
    EXPECT_EQ(sector[1], static_cast<uint8_t>(2531 * 7 + 1));
    ASSERT_TRUE(diskette->read_sectors(2532, sector));
    EXPECT_EQ(std::count(sector.begin(), sector.end(), 0), 512);

    auto standard = std::make_unique<MemoryBlockBackend>(numbered_image(720));
    const BlockBackend* before = standard.get();
    EXPECT_EQ(diskette_of_standard_size(std::move(standard)).get(), before) << "kept as it is";
    EXPECT_FALSE(
        diskette_of_standard_size(std::make_unique<MemoryBlockBackend>(numbered_image(5761))));
}

TEST(FloppyFormats, ControllerRefusesAnImageOfNoStandardSize) {
    testing::RecordingIrqLines irq;
    testing::RamDma ram(4096);
    I8237Dma dma(ram);
    MemoryBlockBackend odd(std::vector<uint8_t>(512 * 100));
    EXPECT_THROW(FloppyController(&odd, irq, dma), std::invalid_argument);
}

TEST_F(FloppyControllerTest, LeavingResetInterruptsForFourReadyChanges) {
    out(kDor, 0x00);
    EXPECT_EQ(in(kMsr), 0x00) << "held in reset: no RQM";
    EXPECT_FALSE(irq.levels[6]);
    out(kDor, 0x0C);
    EXPECT_TRUE(irq.levels[6]);
    for (uint8_t drive = 0; drive < 4; ++drive) {
        command({0x08});
        EXPECT_EQ(results(), (std::vector<uint8_t>{static_cast<uint8_t>(0xC0 | drive), 0}));
        EXPECT_FALSE(irq.levels[6]);
    }
    command({0x08});
    EXPECT_EQ(results(), std::vector<uint8_t>{0x80}) << "nothing left to sense: invalid";
}

TEST_F(FloppyControllerTest, DmaGateBitGatesTheInterruptLine) {
    out(kDor, 0x00);
    out(kDor, 0x04); // out of reset, gate closed
    EXPECT_FALSE(irq.levels[6]);
    EXPECT_EQ(in(0x3F0), 0xC0) << "the interrupt is pending inside; no drive 1";
    out(kDor, 0x0C);
    EXPECT_TRUE(irq.levels[6]);
    command({0x08});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0xC0, 0}))
        << "opening the gate keeps the reset's four answers";
}

TEST_F(FloppyControllerTest, RecalibrateAndSeekEndWithSeekEndForSenseInterrupt) {
    bring_up();
    command({0x0F, 0x04, 40}); // head 1, cylinder 40
    EXPECT_TRUE(irq.levels[6]);
    command({0x08});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x24, 40}));
    command({0x8F | 0x40, 0x00, 2}); // relative seek outward by 2
    command({0x08});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x20, 42}));
    command({0x04, 0x00});
    EXPECT_EQ(results(), std::vector<uint8_t>{0x28}) << "ST3: not at track 0";
}

TEST_F(FloppyControllerTest, RecalibrateOfAnAbsentDriveReportsEquipmentCheck) {
    bring_up();
    command({0x07, 0x01});
    command({0x08});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x31, 0}));
}

TEST_F(FloppyControllerTest, ReadIdFindsTheTrackAtTheMediumsRateOnly) {
    bring_up();
    out(kCcr, kRate250K);
    command({0x4A, 0x00});
    EXPECT_TRUE(irq.levels[6]);
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x40, 0x01, 0, 0, 0, 1, 2})) << "MA";
    EXPECT_FALSE(irq.levels[6]);
    out(kCcr, kRate500K);
    command({0x4A, 0x04});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x04, 0, 0, 0, 1, 1, 2}));
}

TEST_F(FloppyControllerTest, ReadDataByDmaEndsAtTerminalCountWithTheNextSectorsId) {
    bring_up();
    command({0x0F, 0x00, 2});
    command({0x08});
    results();
    program_dma(kBuffer, 3 * 512, true);
    // SeaBIOS's FC_READ: MT MFM SK, head 0, C 2 H 0 R 17, N 2, EOT 18, GPL, DTL.
    command({0xE6, 0x00, 2, 0, 17, 2, 18, 0x1B, 0xFF});
    EXPECT_TRUE(irq.levels[6]);
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x04, 0, 0, 2, 1, 2, 2}))
        << "TC after C2 H1 R1: the result names H1 R2, ST0 head 1";
    const size_t first = (2 * 2 + 0) * 18 + 16;
    EXPECT_TRUE(same(ram_at(kBuffer, 512), sector_bytes(first)));
    EXPECT_TRUE(same(ram_at(kBuffer + 512, 512), sector_bytes(first + 1)));
    EXPECT_TRUE(same(ram_at(kBuffer + 1024, 512), sector_bytes(first + 2)))
        << "multi-track: side 1 sector 1 follows side 0 sector 18";
    EXPECT_EQ(dma.io_read(0x08, 1) & 0x04, 0x04) << "TC on channel 2";
}

TEST_F(FloppyControllerTest, ReadDataWithoutTerminalCountEndsAtEotWithEndOfCylinder) {
    bring_up();
    program_dma(kBuffer, 4096, true);
    command({0x46, 0x00, 0, 0, 17, 2, 18, 0x1B, 0xFF}); // MT clear
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x40, 0x80, 0, 1, 0, 1, 2}));
    EXPECT_TRUE(same(ram_at(kBuffer + 512, 512), sector_bytes(17)));
}

TEST_F(FloppyControllerTest, WrongCylinderIdEndsWithNoDataAndWrongCylinder) {
    bring_up();
    program_dma(kBuffer, 512, true);
    command({0xE6, 0x00, 5, 0, 1, 2, 18, 0x1B, 0xFF}); // the head is on cylinder 0
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x40, 0x04, 0x10, 5, 0, 1, 2}));
}

TEST_F(FloppyControllerTest, ImpliedSeekFromConfigureMovesTheHeadFirst) {
    bring_up();
    command({0x13, 0x00, 0x40 | 0x20, 0x00}); // EIS
    program_dma(kBuffer, 512, true);
    command({0xE6, 0x00, 5, 0, 1, 2, 18, 0x1B, 0xFF});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x20, 0, 0, 5, 0, 2, 2}));
    EXPECT_TRUE(same(ram_at(kBuffer, 512), sector_bytes(5 * 36)));
}

TEST_F(FloppyControllerTest, MaskedDmaChannelEndsTheReadWithOverrun) {
    bring_up();
    program_dma(kBuffer, 512, true);
    dma.io_write(0x0A, 1, 0x06); // mask channel 2 again
    command({0xE6, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x40, 0x10, 0, 0, 0, 1, 2}));
}

TEST_F(FloppyControllerTest, WriteDataByDmaReplacesTheSectors) {
    bring_up();
    for (size_t i = 0; i < 1024; ++i)
        ram.ram[kBuffer + i] = static_cast<uint8_t>(0xA5 ^ i);
    program_dma(kBuffer, 1024, false);
    command({0xC5, 0x00, 0, 0, 3, 2, 18, 0x1B, 0xFF});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x00, 0, 0, 0, 0, 5, 2}));
    EXPECT_TRUE(same(sector_bytes(2), ram_at(kBuffer, 512)));
    EXPECT_TRUE(same(sector_bytes(3), ram_at(kBuffer + 512, 512)));
    EXPECT_NE(sector_bytes(4)[0], 0xA5 ^ 0) << "one sector past TC is untouched";
}

TEST_F(FloppyControllerTest, TerminalCountInsideAWriteSectorZeroFillsItsRest) {
    bring_up();
    std::fill(ram.ram.begin() + kBuffer, ram.ram.begin() + kBuffer + 1024, uint8_t{0x5A});
    program_dma(kBuffer, 512 + 100, false); // TC in the second sector
    command({0xC5, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF});
    EXPECT_EQ(results()[0], 0x00);
    EXPECT_EQ(sector_bytes(0)[511], 0x5A);
    EXPECT_EQ(sector_bytes(1)[99], 0x5A);
    EXPECT_EQ(sector_bytes(1)[100], 0x00);
    EXPECT_EQ(sector_bytes(1)[511], 0x00);
}

TEST_F(FloppyControllerTest, NonDmaReadThroughTheFifoEndsAtEot) {
    bring_up();
    command({0x03, 0xAF, 0x03}); // SPECIFY with ND
    command({0x46, 0x00, 0, 0, 18, 2, 18, 0x1B, 0xFF});
    EXPECT_EQ(in(kMsr), 0xF0) << "RQM DIO NON-DMA BUSY";
    EXPECT_TRUE(irq.levels[6]);
    std::vector<uint8_t> data;
    for (int i = 0; i < 512; ++i)
        data.push_back(in(kFifo));
    EXPECT_TRUE(same(data, sector_bytes(17)));
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x40, 0x80, 0, 1, 0, 1, 2}));
}

TEST_F(FloppyControllerTest, FormatTrackFillsTheSectorsNamedByDma) {
    bring_up();
    std::vector<uint8_t> ids;
    for (uint8_t r = 1; r <= 18; ++r)
        ids.insert(ids.end(), {0, 0, r, 2});
    std::copy(ids.begin(), ids.end(), ram.ram.begin() + kBuffer);
    program_dma(kBuffer, static_cast<uint16_t>(ids.size()), false);
    command({0x4D, 0x00, 2, 18, 0x6C, 0xF6});
    EXPECT_EQ(results()[0], 0x00);
    for (size_t lba = 0; lba < 18; ++lba)
        EXPECT_EQ(sector_bytes(lba)[300], 0xF6);
    EXPECT_NE(sector_bytes(18)[300], 0xF6) << "side 1 untouched";
}

TEST_F(FloppyControllerTest, InvalidAndUnmodelledCommandsAnswerSt0Invalid) {
    bring_up();
    command({0x1F});
    EXPECT_EQ(results(), std::vector<uint8_t>{0x80});
    command({0x42, 0, 0, 0, 1, 2, 18, 0x1B, 0xFF}); // READ TRACK
    EXPECT_EQ(results(), std::vector<uint8_t>{0x80});
    EXPECT_FALSE(log.lines.empty());
}

TEST_F(FloppyControllerTest, VersionDumpregAndLock) {
    bring_up();
    command({0x10});
    EXPECT_EQ(results(), std::vector<uint8_t>{0x90});
    command({0x94});
    EXPECT_EQ(results(), std::vector<uint8_t>{0x10});
    command({0x0E});
    const std::vector<uint8_t> dump = results();
    ASSERT_EQ(dump.size(), 10u);
    EXPECT_EQ(dump[7] & 0x80, 0x80) << "LOCK";
}

TEST_F(FloppyControllerTest, DiskChangeClearsAtTheFirstStep) {
    out(kDor, 0x1C);
    EXPECT_EQ(in(kCcr)&0x80, 0x80);
    command({0x0F, 0x00, 1});
    EXPECT_EQ(in(kCcr)&0x80, 0x00);
}

class Floppy720KTest : public FloppyControllerTest {
  protected:
    Floppy720KTest() : FloppyControllerTest(1440) {}
};

TEST_F(Floppy720KTest, ReadsOnlyAt250Kbps) {
    bring_up(); // at 500 Kb/s
    program_dma(kBuffer, 512, true);
    command({0xE6, 0x00, 0, 0, 1, 2, 9, 0x1B, 0xFF});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x40, 0x01, 0, 0, 0, 1, 2}));
    out(kCcr, kRate250K);
    program_dma(kBuffer, 512, true);
    command({0xE6, 0x00, 0, 0, 9, 2, 9, 0x1B, 0xFF});
    EXPECT_EQ(results(), (std::vector<uint8_t>{0x04, 0, 0, 0, 1, 1, 2}))
        << "TC at EOT with MT: side 1's first sector next";
    EXPECT_TRUE(same(ram_at(kBuffer, 512), sector_bytes(8)));
}

} // namespace
} // namespace transit86::pc
