// The PIIX bus-master IDE engine (pc/ide_bus_master.hpp) with the ATA disk: READ/WRITE DMA the
// way Linux's ata_piix drives them (PRD table, direction, the ATA command, then the start bit),
// and the ways a guest can get it wrong. Expected values from SFF-8038i, ATA-6 9.9 and QEMU
// hw/ide/pci.c.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fake_platform.hpp"
#include "irq_edges.hpp"
#include "pc/ata_disk.hpp"
#include "pc/ide_bus_master.hpp"
#include "pc/platform.hpp"

namespace transit86::pc {
namespace {

constexpr uint16_t kBase = 0xC000;
constexpr uint8_t kStart = 0x01, kToMemory = 0x08;
constexpr uint8_t kActive = 0x01, kBmError = 0x02, kBmInterrupt = 0x04;
constexpr uint32_t kTable = 0x1000;

std::vector<uint8_t> numbered_sectors(uint64_t count) {
    std::vector<uint8_t> bytes(count * 512);
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(i / 512 * 3 + i);
    return bytes;
}

class IdeBusMasterTest : public ::testing::Test {
  protected:
    IdeBusMasterTest() { disk.attach_bus_master(bus_master, 0); }
    void prd(unsigned index, uint32_t address, uint32_t bytes, bool last) {
        uint8_t* entry = ram.ram.data() + kTable + 8 * index;
        const uint32_t second = (bytes & 0xFFFF) | (last ? 0x80000000u : 0);
        std::memcpy(entry, &address, 4);
        std::memcpy(entry + 4, &second, 4);
    }
    void program(uint8_t command) {
        bus_master.io_write(kBase + 4, 4, kTable);
        bus_master.io_write(kBase, 1, command);
    }
    void ata(uint8_t command, uint32_t lba, uint8_t count) {
        disk.io_write(0x1F6, 1, 0xE0);
        disk.io_write(0x1F2, 1, count);
        disk.io_write(0x1F3, 1, lba & 0xFF);
        disk.io_write(0x1F4, 1, (lba >> 8) & 0xFF);
        disk.io_write(0x1F5, 1, (lba >> 16) & 0xFF);
        disk.io_write(0x1F7, 1, command);
    }
    uint8_t bm_status() { return static_cast<uint8_t>(bus_master.io_read(kBase + 2, 1)); }
    uint8_t ata_status() { return static_cast<uint8_t>(disk.io_read(0x1F7, 1)); }
    std::vector<uint8_t> at(size_t address, size_t bytes) const {
        return {ram.ram.begin() + static_cast<long>(address),
                ram.ram.begin() + static_cast<long>(address + bytes)};
    }
    std::vector<uint8_t> sectors(uint64_t first, uint64_t count) const {
        const auto bytes = image.bytes();
        return {bytes.begin() + static_cast<long>(first * 512),
                bytes.begin() + static_cast<long>((first + count) * 512)};
    }

    testing::RamDma ram{1 << 20};
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    MemoryBlockBackend image{numbered_sectors(64)};
    IdeBusMaster bus_master{ram, &log};
    AtaDisk disk{image, irq, &log};
};

// Linux's order: PRD table and direction, the command, then start. The sectors land in the
// PRD buffers in order; the engine ends with interrupt set and active clear, the drive with
// DRDY|DSC and one interrupt.
TEST_F(IdeBusMasterTest, ReadDmaFillsThePrdBuffersInOrder) {
    prd(0, 0x20000, 512, false);
    prd(1, 0x30000, 1024, true);
    program(kToMemory);
    ata(0xC8, 3, 3);
    EXPECT_EQ(testing::rising_edges(irq, 14), 0u) << "nothing moves before the start bit";
    bus_master.io_write(kBase, 1, kToMemory | kStart);
    EXPECT_EQ(at(0x20000, 512), sectors(3, 1));
    EXPECT_EQ(at(0x30000, 1024), sectors(4, 2));
    EXPECT_EQ(bm_status(), kBmInterrupt);
    EXPECT_EQ(ata_status(), 0x50);
    EXPECT_EQ(testing::rising_edges(irq, 14), 1u);
    bus_master.io_write(kBase + 2, 1, kBmInterrupt); // write 1 to clear
    EXPECT_EQ(bm_status(), 0);
}

// A start bit set before the command: the data moves at the command.
TEST_F(IdeBusMasterTest, AStartedEngineMovesTheDataAtTheCommand) {
    prd(0, 0x20000, 0, true); // a byte count of 0 is 64 KiB
    program(kToMemory | kStart);
    EXPECT_EQ(bm_status(), kActive);
    ata(0xC8, 10, 40);
    EXPECT_EQ(at(0x20000, 40 * 512), sectors(10, 40));
    EXPECT_EQ(bm_status(), kBmInterrupt) << "done: active clears though the table had room";
}

TEST_F(IdeBusMasterTest, WriteDmaTakesTheDataFromMemory) {
    for (size_t i = 0; i < 1024; ++i)
        ram.ram[0x40000 + i] = static_cast<uint8_t>(0xA5 ^ i);
    prd(0, 0x40000, 1024, true);
    program(0);
    ata(0xCA, 20, 2);
    bus_master.io_write(kBase, 1, kStart);
    EXPECT_EQ(sectors(20, 2), at(0x40000, 1024));
    EXPECT_EQ(ata_status(), 0x50);
}

// SFF-8038i: the table must cover the transfer. A short one fails the command: the engine's
// error bit, ABRT from the drive, the interrupt; and a logged line.
TEST_F(IdeBusMasterTest, APrdTableShorterThanTheDataFailsTheCommand) {
    prd(0, 0x20000, 512, true);
    program(kToMemory);
    ata(0xC8, 0, 2);
    bus_master.io_write(kBase, 1, kToMemory | kStart);
    EXPECT_EQ(bm_status(), kBmError | kBmInterrupt);
    EXPECT_EQ(ata_status(), 0x41);
    EXPECT_EQ(disk.io_read(0x1F1, 1), 0x04u);
    EXPECT_EQ(log.lines, (std::vector<std::string>{
                             "ide-bus-master: the PRD table ends before the drive's data"}));
}

// Every guest address goes through DmaMemory's bounds check: a buffer past the end of RAM
// fails the command instead of touching host memory.
TEST_F(IdeBusMasterTest, ABufferOutsideRamFailsTheCommand) {
    prd(0, (1u << 20) - 256, 512, true);
    program(kToMemory);
    ata(0xC8, 0, 1);
    bus_master.io_write(kBase, 1, kToMemory | kStart);
    EXPECT_EQ(bm_status() & kBmError, kBmError);
    EXPECT_EQ(ata_status(), 0x41);
}

// The direction bit says which way the data goes; a READ DMA with the engine set to read
// memory fails.
TEST_F(IdeBusMasterTest, TheDirectionMustMatchTheCommand) {
    prd(0, 0x20000, 512, true);
    program(0);
    ata(0xC8, 0, 1);
    bus_master.io_write(kBase, 1, kStart);
    EXPECT_EQ(bm_status() & kBmError, kBmError);
    EXPECT_EQ(at(0x20000, 512), std::vector<uint8_t>(512, 0));
}

// Status: active is read only, bits 5-6 are storage, the PRD pointer is dword aligned.
TEST_F(IdeBusMasterTest, RegistersAsSff8038iDefinesThem) {
    bus_master.io_write(kBase + 2, 1, 0x61);
    EXPECT_EQ(bm_status(), 0x60);
    bus_master.io_write(kBase + 4, 4, 0x12345677);
    EXPECT_EQ(bus_master.io_read(kBase + 4, 4), 0x12345674u);
    EXPECT_EQ(bus_master.io_read(kBase + 8 + 2, 1), 0u) << "the secondary channel's own";
}

// On the platform the block decodes at BMIBA once the command register enables I/O space, as
// SeaBIOS and Linux program it.
TEST(IdeBusMasterOnThePlatform, DecodesAtBmibaWhenIoSpaceIsEnabled) {
    PcConfig config;
    config.ram_bytes = 2u << 20;
    config.bios.assign(64 * 1024, 0xF4);
    PcPlatform platform(std::move(config));
    const auto port = [&](uint16_t number, uint8_t size, bool in, uint32_t value = 0) {
        PortAccess access{.port = number, .size = size, .is_in = in, .data = value};
        platform.access(access);
        return access.data;
    };
    const auto config_write = [&](uint8_t reg, uint32_t value) {
        port(0xCF8, 4, false, 0x80000000u | (1u << 11) | (1u << 8) | reg); // 00:01.1
        port(0xCFC, 4, false, value);
    };
    config_write(0x20, 0xC001);
    EXPECT_EQ(port(0xC002, 1, true), 0xFFu) << "I/O space not enabled yet";
    config_write(0x04, 0x0001);
    EXPECT_EQ(port(0xC002, 1, true), 0u);
    config_write(0x20, 0xD001);
    EXPECT_EQ(port(0xD002, 1, true), 0u);
    EXPECT_EQ(port(0xC002, 1, true), 0xFFu) << "moved away";
}

} // namespace
} // namespace transit86::pc
