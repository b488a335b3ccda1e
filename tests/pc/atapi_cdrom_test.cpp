// The ATAPI CD-ROM on 0x170-0x177 / 0x376, driven through its ports the way SeaBIOS's
// src/hw/ata.c (ata_atapi_process_op, send_ata_identity) and a PIO packet driver do. Expected
// values from ATA/ATAPI-6 (T13 1410D) 8.17, 9.8, 9.12, SPC-2 and MMC-3.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "fake_platform.hpp"
#include "irq_edges.hpp"
#include "pc/atapi_cdrom.hpp"
#include "pc/ide_bus_master.hpp"

namespace transit86::pc {
namespace {

constexpr uint8_t kDiscSectors = 8;    // 2048-byte sectors
constexpr uint8_t kStatusDone = 0x50;  // DRDY DSC
constexpr uint8_t kStatusData = 0x58;  // DRDY DSC DRQ
constexpr uint8_t kStatusError = 0x41; // DRDY ERR
constexpr uint8_t kReasonCommand = 0x01, kReasonData = 0x02, kReasonEnd = 0x03;
constexpr unsigned kIrq = 15;

// CD sector n holds its own number in its first four bytes, then bytes of n + offset.
std::vector<uint8_t> patterned_disc() {
    std::vector<uint8_t> bytes(kDiscSectors * 2048);
    for (uint64_t sector = 0; sector < kDiscSectors; ++sector)
        for (unsigned i = 0; i < 2048; ++i)
            bytes[sector * 2048 + i] =
                static_cast<uint8_t>(i < 4 ? sector >> (8 * i) : sector * 7 + i);
    return bytes;
}

using Cdb = std::array<uint8_t, 12>;

class AtapiCdromTest : public ::testing::Test {
  protected:
    void out(uint16_t port, uint8_t value) { cd.io_write(port, 1, value); }
    uint8_t in(uint16_t port) { return static_cast<uint8_t>(cd.io_read(port, 1)); }
    uint8_t status() { return in(0x177); }
    uint8_t reason() { return in(0x172); }
    uint16_t byte_count() { return static_cast<uint16_t>(in(0x174) | in(0x175) << 8); }
    // PACKET with a byte count limit, then the 12 command bytes as six words.
    void packet(const Cdb& cdb, uint16_t limit = 2048, uint8_t features = 0) {
        out(0x176, 0xA0);
        out(0x171, features);
        out(0x174, static_cast<uint8_t>(limit));
        out(0x175, static_cast<uint8_t>(limit >> 8));
        out(0x177, 0xA0);
        for (size_t i = 0; i < cdb.size(); i += 2)
            cd.io_write(0x170, 2, static_cast<uint32_t>(cdb[i] | cdb[i + 1] << 8));
    }
    std::vector<uint8_t> read_words(size_t bytes) {
        std::vector<uint8_t> data;
        for (size_t i = 0; i < bytes; i += 2) {
            const uint32_t word = cd.io_read(0x170, 2);
            data.push_back(static_cast<uint8_t>(word));
            data.push_back(static_cast<uint8_t>(word >> 8));
        }
        return data;
    }
    std::vector<uint8_t> disc_sector(uint64_t n) const {
        const auto bytes = disc.bytes();
        return {bytes.begin() + static_cast<long>(n * 2048),
                bytes.begin() + static_cast<long>((n + 1) * 2048)};
    }
    std::vector<uint8_t> request_sense() {
        packet(Cdb{0x03, 0, 0, 0, 18}, 18);
        return read_words(18);
    }

    MemoryBlockBackend disc{patterned_disc()};
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    AtapiCdrom cd{disc, irq, &log};
};

// ATA-6 9.12: after power-on a packet device shows 01/01/14/EB and status 00h (DRDY clear).
TEST_F(AtapiCdromTest, PowerOnShowsThePacketSignatureWithDrdyClear) {
    EXPECT_EQ(in(0x172), 0x01);
    EXPECT_EQ(in(0x173), 0x01);
    EXPECT_EQ(in(0x174), 0x14);
    EXPECT_EQ(in(0x175), 0xEB);
    EXPECT_EQ(status(), 0x00);
    EXPECT_EQ(cd.capacity(), kDiscSectors);
}

// ATA-6 8.15.5: IDENTIFY DEVICE to a packet device aborts and leaves the signature, which is how
// a driver that tries it first learns it talks to a CD-ROM (QEMU does the same).
TEST_F(AtapiCdromTest, IdentifyDeviceAbortsWithThePacketSignature) {
    out(0x174, 0x55);
    out(0x175, 0xAA);
    out(0x177, 0xEC);
    EXPECT_EQ(status(), kStatusError);
    EXPECT_EQ(in(0x171), 0x04); // ABRT
    EXPECT_EQ(in(0x174), 0x14);
    EXPECT_EQ(in(0x175), 0xEB);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), 1u);
}

// ATA-6 8.17: one 512-byte block, then no DRQ and no second interrupt.
TEST_F(AtapiCdromTest, IdentifyPacketDeviceDescribesARemovableCdRom) {
    out(0x177, 0xA1);
    EXPECT_EQ(status(), kStatusData);
    const auto bytes = read_words(512);
    const auto word = [&](size_t i) {
        return static_cast<uint16_t>(bytes[2 * i] | bytes[2 * i + 1] << 8);
    };
    EXPECT_EQ(word(0), 0x85C0);           // ATAPI, CD-ROM, removable, 12-byte packets
    EXPECT_EQ(word(49), 0x0300);          // LBA, DMA (QEMU's)
    EXPECT_EQ(word(63), 0x0007);          // multiword DMA 0-2
    EXPECT_EQ(word(82) & 0x0010, 0x0010); // PACKET feature set
    std::string model;
    for (size_t i = 27; i < 47; ++i) {
        model += static_cast<char>(word(i) >> 8);
        model += static_cast<char>(word(i) & 0xFF);
    }
    EXPECT_EQ(model.substr(0, 22), "transit86 ATAPI CD-ROM");
    EXPECT_EQ(status(), kStatusDone);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), 1u);
}

// ATA-6 9.8: PACKET asks for the command bytes with DRQ and reason CoD, without an interrupt.
TEST_F(AtapiCdromTest, PacketAsksForTheCommandWithoutAnInterrupt) {
    out(0x174, 0x00);
    out(0x175, 0x08);
    out(0x177, 0xA0);
    EXPECT_EQ(status(), kStatusData);
    EXPECT_EQ(reason(), kReasonCommand);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), 0u);
}

// SeaBIOS's CD read: READ(10) with the byte count limit at one sector. Each sector is a DRQ
// block announced with reason IO, its size and an interrupt; then DRDY|DSC, reason IO|CoD and
// a last interrupt.
TEST_F(AtapiCdromTest, Read10SendsEachSectorAsABlockThenCompletes) {
    packet(Cdb{0x28, 0, 0, 0, 0, 3, 0, 0, 2});
    for (uint64_t lba : {3, 4}) {
        EXPECT_EQ(status(), kStatusData);
        EXPECT_EQ(reason(), kReasonData);
        EXPECT_EQ(byte_count(), 2048);
        EXPECT_EQ(read_words(2048), disc_sector(lba)) << "sector " << lba;
    }
    EXPECT_EQ(status(), kStatusDone);
    EXPECT_EQ(reason(), kReasonEnd);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), 3u);
}

// A limit that is not a whole sector cuts blocks anywhere; an odd limit is rounded down while
// more data follows (ATA-6 9.8: the host reads words). 32-bit reads work as 16-bit ones.
TEST_F(AtapiCdromTest, ByteCountLimitCutsBlocksAndAnOddLimitRoundsDown) {
    packet(Cdb{0xA8, 0, 0, 0, 0, 1, 0, 0, 0, 1}, 1025); // READ(12), one sector from LBA 1
    std::vector<uint8_t> got;
    std::vector<uint16_t> blocks;
    while (status() & 0x08) {
        const uint16_t size = byte_count();
        blocks.push_back(size);
        for (uint16_t i = 0; i < size; i += 4) {
            const uint32_t dword = cd.io_read(0x170, 4);
            for (int b = 0; b < 4; ++b)
                got.push_back(static_cast<uint8_t>(dword >> (8 * b)));
        }
    }
    EXPECT_EQ(blocks, (std::vector<uint16_t>{1024, 1024}));
    EXPECT_EQ(got, disc_sector(1));
    EXPECT_EQ(reason(), kReasonEnd);
}

// SPC-2 4.5: a failed command leaves CHECK CONDITION (ERR, the sense key in the error register)
// and REQUEST SENSE reports it once.
TEST_F(AtapiCdromTest, ReadPastTheEndIsIllegalAndRequestSenseReportsItOnce) {
    packet(Cdb{0x28, 0, 0, 0, 0, kDiscSectors - 1, 0, 0, 2});
    EXPECT_EQ(status(), kStatusError);
    EXPECT_EQ(in(0x171), 0x50); // ILLEGAL REQUEST << 4
    EXPECT_EQ(reason(), kReasonEnd);
    const auto sense = request_sense();
    EXPECT_EQ(sense[0], 0x70);
    EXPECT_EQ(sense[2], 0x05);
    EXPECT_EQ(sense[7], 10);
    EXPECT_EQ(sense[12], 0x21); // LOGICAL BLOCK ADDRESS OUT OF RANGE
    EXPECT_EQ(status(), kStatusDone);
    EXPECT_EQ(request_sense()[2], 0x00);
}

// The sense data describe the last command only: a command that succeeds clears them.
TEST_F(AtapiCdromTest, ACommandThatSucceedsClearsTheSenseData) {
    packet(Cdb{0x2B, 0, 0, 0, 0, kDiscSectors}); // SEEK(10) past the end
    EXPECT_EQ(status(), kStatusError);
    packet(Cdb{0x00});
    EXPECT_EQ(status(), kStatusDone);
    EXPECT_EQ(request_sense()[2], 0x00);
}

TEST_F(AtapiCdromTest, ReadCapacityGivesTheLastSectorAndItsSize) {
    packet(Cdb{0x25}, 8);
    EXPECT_EQ(read_words(8), (std::vector<uint8_t>{0, 0, 0, kDiscSectors - 1, 0, 0, 0x08, 0x00}));
    EXPECT_EQ(status(), kStatusDone);
}

TEST_F(AtapiCdromTest, TestUnitReadyCompletesWithoutData) {
    packet(Cdb{0x00});
    EXPECT_EQ(status(), kStatusDone);
    EXPECT_EQ(reason(), kReasonEnd);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), 1u);
}

// An allocation length shorter than the data cuts it; an odd end is read as a word whose high
// byte is zero.
TEST_F(AtapiCdromTest, InquiryStopsAtTheAllocationLength) {
    packet(Cdb{0x28, 0, 0, 0, 0, 5, 0, 0, 1}); // leaves a sector's bytes in the drive's buffer
    read_words(2048);
    packet(Cdb{0x12, 0, 0, 0, 13}, 36); // the command bytes overwrite the buffer's first 12
    EXPECT_EQ(byte_count(), 13);
    const auto data = read_words(14);
    EXPECT_EQ(data, (std::vector<uint8_t>{0x05, 0x80, 0x00, 0x21, 31, 0, 0, 0, 'T', 'R', 'A', 'N',
                                          'S', 0}));
    EXPECT_EQ(status(), kStatusDone);
}

TEST_F(AtapiCdromTest, ReadTocListsOneDataTrackAndTheLeadOutInLbaAndMsf) {
    packet(Cdb{0x43, 0, 0, 0, 0, 0, 0, 0, 20}, 20);
    EXPECT_EQ(read_words(20),
              (std::vector<uint8_t>{0, 18, 1, 1,    0,    0x14, 1, 0, 0, 0,
                                    0, 0,  0, 0x16, 0xAA, 0,    0, 0, 0, kDiscSectors}));
    packet(Cdb{0x43, 0x02, 0, 0, 0, 0, 0, 0, 20}, 20); // MSF: LBA 0 is 00:02:00
    const auto msf = read_words(20);
    EXPECT_EQ(std::vector<uint8_t>(msf.begin() + 8, msf.begin() + 12),
              (std::vector<uint8_t>{0, 0, 2, 0}));
    EXPECT_EQ(std::vector<uint8_t>(msf.begin() + 16, msf.end()),
              (std::vector<uint8_t>{0, 0, 2, kDiscSectors}));
}

// MMC-3 5.18: Linux's cdrom driver asks for it when it opens the disc.
TEST_F(AtapiCdromTest, ReadDiscInformationDescribesAFinalizedSingleSessionDisc) {
    packet(Cdb{0x51, 0, 0, 0, 0, 0, 0, 0, 34}, 34);
    const auto info = read_words(34);
    EXPECT_EQ(std::vector<uint8_t>(info.begin(), info.begin() + 7),
              (std::vector<uint8_t>{0, 32, 0x0E, 1, 1, 1, 1}));
    EXPECT_EQ(status(), kStatusDone);
}

TEST_F(AtapiCdromTest, AnUnknownPacketCommandIsIllegalAndLogged) {
    packet(Cdb{0xBE}); // READ CD
    EXPECT_EQ(status(), kStatusError);
    EXPECT_EQ(request_sense()[12], 0x20); // INVALID COMMAND OPERATION CODE
    EXPECT_EQ(log.lines, (std::vector<std::string>{"atapi: packet command 0xBE"}));
}

// Without a bus master attached a DMA packet aborts, and says why.
TEST_F(AtapiCdromTest, APacketForDmaAbortsWithoutABusMaster) {
    packet(Cdb{0x28, 0, 0, 0, 0, 0, 0, 0, 1}, 2048, 0x01);
    EXPECT_EQ(status(), kStatusError);
    EXPECT_EQ(in(0x171), 0x04);
    EXPECT_EQ(log.lines,
              (std::vector<std::string>{"atapi: PACKET with DMA (no bus-master engine)"}));
}

// Linux's ATAPI DMA (libata's ATAPI_PROT_DMA): PACKET with features bit 0, the command, then
// the bus master's start bit: the sectors land in the PRD buffer, then the packet's completion
// (DRDY|DSC, reason IO|CoD) and one interrupt; the engine ends with interrupt set.
TEST_F(AtapiCdromTest, Read10ByDmaGoesThroughTheBusMaster) {
    testing::RamDma ram(1 << 20);
    IdeBusMaster bus_master(ram, &log);
    cd.attach_bus_master(bus_master, 1);
    const uint32_t prd[2] = {0x20000, 0x80000000u | 4096};
    std::memcpy(ram.ram.data() + 0x1000, prd, sizeof prd);
    bus_master.io_write(0xC008 + 4, 4, 0x1000);
    bus_master.io_write(0xC008, 1, 0x08); // to memory
    packet(Cdb{0x28, 0, 0, 0, 0, 2, 0, 0, 2}, 0, 0x01);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), 0u);
    bus_master.io_write(0xC008, 1, 0x09); // start
    std::vector<uint8_t> expected = disc_sector(2);
    const auto third = disc_sector(3);
    expected.insert(expected.end(), third.begin(), third.end());
    EXPECT_EQ(std::vector<uint8_t>(ram.ram.begin() + 0x20000, ram.ram.begin() + 0x21000), expected);
    EXPECT_EQ(status(), kStatusDone);
    EXPECT_EQ(reason(), kReasonEnd);
    EXPECT_EQ(bus_master.io_read(0xC008 + 2, 1), 0x04u);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), 1u);
}

// ATA-6 9.2 / 9.12 (QEMU ide_perform_srst for a CD): SRST ends what runs; afterwards the
// signature, DRDY clear, diagnostic code 01, no interrupt.
TEST_F(AtapiCdromTest, SoftwareResetStopsATransferAndLeavesTheSignature) {
    packet(Cdb{0x28, 0, 0, 0, 0, 0, 0, 0, 1});
    const unsigned edges = testing::rising_edges(irq, kIrq);
    out(0x376, 0x04);
    EXPECT_EQ(status(), 0x80); // BSY while SRST is held
    out(0x376, 0x00);
    EXPECT_EQ(status(), 0x00);
    EXPECT_EQ(in(0x171), 0x01);
    EXPECT_EQ(in(0x174), 0x14);
    EXPECT_EQ(in(0x175), 0xEB);
    EXPECT_EQ(cd.io_read(0x170, 2), 0u);
    EXPECT_EQ(testing::rising_edges(irq, kIrq), edges);
}

// ATA-6 8.10: DEVICE RESET is taken even while DRQ is set, and stops the packet command.
TEST_F(AtapiCdromTest, DeviceResetIsTakenWhileDrqIsSet) {
    out(0x177, 0xA0);
    ASSERT_EQ(status(), kStatusData);
    out(0x177, 0x08);
    EXPECT_EQ(status(), 0x00);
    EXPECT_EQ(in(0x174), 0x14);
    EXPECT_EQ(in(0x175), 0xEB);
}

// Device 1 is absent: its status reads 0 and commands to it are ignored (QEMU).
TEST_F(AtapiCdromTest, DeviceOneIsAbsent) {
    out(0x176, 0xB0);
    out(0x177, 0xA1);
    EXPECT_EQ(status(), 0x00);
    EXPECT_EQ(cd.io_read(0x170, 2), 0u);
    out(0x176, 0xA0);
    EXPECT_EQ(status(), 0x00); // still DRDY clear: nothing ran
}

} // namespace
} // namespace transit86::pc
