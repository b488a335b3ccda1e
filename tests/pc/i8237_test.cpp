// The 8237A DMA pair (pc/i8237.hpp) driven through its ports the way SeaBIOS (src/hw/dma.c) and
// the 8237A datasheet program it, with transfers as an ISA device (the floppy controller on
// channel 2) asks for them. Expected values from the 8237A datasheet and QEMU hw/dma/i8257.c.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fake_platform.hpp"
#include "pc/i8237.hpp"

namespace transit86::pc {
namespace {

// DMA1 registers (one a port) and the ports SeaBIOS names.
constexpr uint16_t kAddr2 = 0x04, kCount2 = 0x05, kStatus1 = 0x08, kRequest1 = 0x09, kMask1 = 0x0A,
                   kMode1 = 0x0B, kClearFf1 = 0x0C, kMasterClear1 = 0x0D, kClearMasks1 = 0x0E,
                   kWriteMasks1 = 0x0F, kPage2 = 0x81;
// DMA2: register r at 0xC0 + 2r.
constexpr uint16_t kAddr5 = 0xC4, kCount5 = 0xC6, kMask2 = 0xD4, kMode2 = 0xD6, kClearFf2 = 0xD8,
                   kMasterClear2 = 0xDA, kPage5 = 0x8B;

constexpr uint8_t kModeWriteMemory = 0x46; // SeaBIOS: single, increment, no autoinit, ch 2
constexpr uint8_t kModeReadMemory = 0x4A;

std::vector<uint8_t> numbered(size_t bytes) {
    std::vector<uint8_t> data(bytes);
    for (size_t i = 0; i < bytes; ++i)
        data[i] = static_cast<uint8_t>(i * 7 + 1);
    return data;
}

class I8237Test : public ::testing::Test {
  protected:
    void out(uint16_t port, uint8_t value) { dma.io_write(port, 1, value); }
    uint8_t in(uint16_t port) { return static_cast<uint8_t>(dma.io_read(port, 1)); }
    uint16_t in16(uint16_t port) { // low byte, then high, through the flip-flop
        const uint8_t low = in(port);
        return static_cast<uint16_t>(low | in(port) << 8);
    }
    // SeaBIOS dma_setup: reset both controllers, channel 4 cascades DMA1.
    void seabios_dma_setup() {
        out(kMasterClear1, 0);
        out(kMasterClear2, 0);
        out(kMode2, 0xC0);
        out(kMask2, 0x00);
    }
    // SeaBIOS dma_floppy for `count` bytes at `addr`, mode 0x46 or 0x4A.
    void seabios_dma_floppy(uint32_t addr, uint16_t count, uint8_t mode) {
        const auto end = static_cast<uint16_t>(count - 1);
        out(kMask1, 0x06);
        out(kClearFf1, 0);
        out(kAddr2, static_cast<uint8_t>(addr));
        out(kAddr2, static_cast<uint8_t>(addr >> 8));
        out(kClearFf1, 0);
        out(kCount2, static_cast<uint8_t>(end));
        out(kCount2, static_cast<uint8_t>(end >> 8));
        out(kMode1, mode);
        out(kPage2, static_cast<uint8_t>(addr >> 16));
        out(kMask1, 0x02);
    }
    // Channel 5 (16-bit): word address, word count - 1, page, mode, unmasked.
    void program_channel5(uint16_t word_address, uint16_t words_minus_one, uint8_t page,
                          uint8_t mode) {
        out(kClearFf2, 0);
        out(kAddr5, static_cast<uint8_t>(word_address));
        out(kAddr5, static_cast<uint8_t>(word_address >> 8));
        out(kCount5, static_cast<uint8_t>(words_minus_one));
        out(kCount5, static_cast<uint8_t>(words_minus_one >> 8));
        out(kPage5, page);
        out(kMode2, mode);
        out(kMask2, 0x01);
    }
    DmaTransfer to_memory(unsigned channel, std::vector<uint8_t>& data) {
        return dma.transfer(channel, data, DmaDirection::ToMemory);
    }
    std::vector<uint8_t> at(size_t address, size_t bytes) const {
        return {ram.ram.begin() + static_cast<long>(address),
                ram.ram.begin() + static_cast<long>(address + bytes)};
    }

    testing::RamDma ram{0x40000};
    testing::RecordingLog log;
    I8237Dma dma{ram, &log};
};

// QEMU's reset is a master clear: every channel masked, so nothing moves even on a fully
// programmed channel until a mask is cleared.
TEST_F(I8237Test, PowerOnMasksEveryChannel) {
    for (unsigned channel = 0; channel < I8237Dma::kChannels; ++channel)
        EXPECT_FALSE(dma.ready(channel)) << channel;
    out(kAddr2, 0x00);
    out(kAddr2, 0x10);
    out(kCount2, 0x0F);
    out(kCount2, 0x00);
    out(kMode1, kModeWriteMemory);
    auto data = numbered(16);
    const DmaTransfer moved = to_memory(2, data);
    EXPECT_EQ(moved.bytes, 0u);
    EXPECT_FALSE(moved.terminal_count);
    EXPECT_EQ(at(0x1000, 16), std::vector<uint8_t>(16, 0));
    EXPECT_EQ(in(kStatus1), 0x00);
    EXPECT_TRUE(log.lines.empty());
}

// SeaBIOS's floppy read: 512 bytes land at page << 16 | address; terminal count after count + 1
// bytes; status bit 2 set, then cleared by the read.
TEST_F(I8237Test, SeabiosFloppyReadLandsAtPageAndAddress) {
    seabios_dma_setup();
    seabios_dma_floppy(0x23400, 512, kModeWriteMemory);
    ASSERT_TRUE(dma.ready(2));
    auto data = numbered(1024);
    const DmaTransfer moved = to_memory(2, data);
    EXPECT_EQ(moved.bytes, 512u);
    EXPECT_TRUE(moved.terminal_count);
    EXPECT_EQ(at(0x23400, 512), std::vector<uint8_t>(data.begin(), data.begin() + 512));
    EXPECT_EQ(at(0x23600, 16), std::vector<uint8_t>(16, 0)) << "nothing past count + 1";
    EXPECT_EQ(at(0x03400, 16), std::vector<uint8_t>(16, 0)) << "the page register is used";
    EXPECT_EQ(in(kStatus1)&0x0F, 0x04);
    EXPECT_EQ(in(kStatus1)&0x0F, 0x00) << "TC bits clear on read";
    EXPECT_TRUE(log.lines.empty());
}

// SeaBIOS's floppy write (mode 0x4A): the device reads memory.
TEST_F(I8237Test, SeabiosFloppyWriteReadsMemory) {
    seabios_dma_setup();
    const auto sector = numbered(512);
    std::copy(sector.begin(), sector.end(), ram.ram.begin() + 0x8000);
    seabios_dma_floppy(0x8000, 512, kModeReadMemory);
    std::vector<uint8_t> buffer(512);
    const DmaTransfer moved = dma.transfer(2, buffer, DmaDirection::FromMemory);
    EXPECT_EQ(moved.bytes, 512u);
    EXPECT_TRUE(moved.terminal_count);
    EXPECT_EQ(buffer, sector);
}

// Without autoinit the channel masks itself at TC; the count reads 0xFFFF, the address one
// past the last byte.
TEST_F(I8237Test, TerminalCountMasksTheChannelWithoutAutoinit) {
    seabios_dma_setup();
    seabios_dma_floppy(0x1000, 16, kModeWriteMemory);
    auto data = numbered(16);
    ASSERT_TRUE(to_memory(2, data).terminal_count);
    EXPECT_FALSE(dma.ready(2));
    out(kClearFf1, 0);
    EXPECT_EQ(in16(kAddr2), 0x1010);
    EXPECT_EQ(in16(kCount2), 0xFFFF);
    auto more = numbered(16);
    EXPECT_EQ(to_memory(2, more).bytes, 0u);
}

// A transfer that stops short of TC leaves the channel where it stopped; the next one goes on
// from there.
TEST_F(I8237Test, PartialTransfersContinueWhereTheyStopped) {
    seabios_dma_setup();
    seabios_dma_floppy(0x2000, 8, kModeWriteMemory);
    std::vector<uint8_t> first{1, 2, 3}, second{4, 5, 6, 7, 8, 9};
    const DmaTransfer a = to_memory(2, first);
    EXPECT_EQ(a.bytes, 3u);
    EXPECT_FALSE(a.terminal_count);
    out(kClearFf1, 0);
    EXPECT_EQ(in16(kAddr2), 0x2003);
    EXPECT_EQ(in16(kCount2), 4);
    const DmaTransfer b = to_memory(2, second);
    EXPECT_EQ(b.bytes, 5u);
    EXPECT_TRUE(b.terminal_count);
    EXPECT_EQ(at(0x2000, 9), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 0}));
}

// Reads go low byte then high byte through the flip-flop, which writes toggle too and port 0x0C
// clears.
TEST_F(I8237Test, FlipFlopOrdersLowThenHighByte) {
    out(kClearFf1, 0);
    out(kAddr2, 0x34);
    out(kAddr2, 0x12);
    EXPECT_EQ(in(kAddr2), 0x34);
    EXPECT_EQ(in(kAddr2), 0x12);
    out(kAddr2, 0x78); // low byte, leaves the flip-flop on the high byte
    EXPECT_EQ(in(kAddr2), 0x12) << "the high byte, sharing the flip-flop with writes";
    out(kClearFf1, 0);
    EXPECT_EQ(in(kAddr2), 0x78);
    EXPECT_EQ(in(kAddr2), 0x12);
}

// Address decrement (mode bit 5): each byte one below the previous.
TEST_F(I8237Test, DecrementModeWalksDown) {
    seabios_dma_setup();
    seabios_dma_floppy(0x1000, 4, kModeWriteMemory | 0x20);
    std::vector<uint8_t> data{1, 2, 3, 4};
    const DmaTransfer moved = to_memory(2, data);
    EXPECT_EQ(moved.bytes, 4u);
    EXPECT_TRUE(moved.terminal_count);
    EXPECT_EQ(at(0x0FFD, 4), (std::vector<uint8_t>{4, 3, 2, 1}));
    out(kClearFf1, 0);
    EXPECT_EQ(in16(kAddr2), 0x0FFC);
}

// Autoinit (mode bit 4): at TC the current registers reload from base and the channel stays
// unmasked; the next transfer starts at the base address again.
TEST_F(I8237Test, AutoinitReloadsBaseAtTerminalCount) {
    seabios_dma_setup();
    seabios_dma_floppy(0x3000, 4, kModeWriteMemory | 0x10);
    std::vector<uint8_t> first{1, 2, 3, 4, 5, 6};
    const DmaTransfer a = to_memory(2, first);
    EXPECT_EQ(a.bytes, 4u) << "stops at TC even with autoinit";
    EXPECT_TRUE(a.terminal_count);
    EXPECT_TRUE(dma.ready(2));
    out(kClearFf1, 0);
    EXPECT_EQ(in16(kAddr2), 0x3000);
    EXPECT_EQ(in16(kCount2), 3);
    std::vector<uint8_t> second{9, 9};
    EXPECT_EQ(to_memory(2, second).bytes, 2u);
    EXPECT_EQ(at(0x3000, 4), (std::vector<uint8_t>{9, 9, 3, 4}));
}

// The address counter is 16 bits: past 0xFFFF it wraps to 0 within the same 64 KiB page.
TEST_F(I8237Test, AddressWrapsWithinThe64KiBPage) {
    seabios_dma_setup();
    seabios_dma_floppy(0x1FFF8, 16, kModeWriteMemory);
    auto data = numbered(16);
    const DmaTransfer moved = to_memory(2, data);
    EXPECT_EQ(moved.bytes, 16u);
    EXPECT_EQ(at(0x1FFF8, 8), std::vector<uint8_t>(data.begin(), data.begin() + 8));
    EXPECT_EQ(at(0x10000, 8), std::vector<uint8_t>(data.begin() + 8, data.end()));
    EXPECT_EQ(at(0x20000, 8), std::vector<uint8_t>(8, 0)) << "not into the next page";
}

// Verify (type 00): no memory access, the data untouched, but the count runs to TC.
TEST_F(I8237Test, VerifyMovesNothingButReachesTerminalCount) {
    seabios_dma_setup();
    seabios_dma_floppy(0x4000, 32, 0x42);
    auto data = numbered(64);
    const auto before = data;
    const DmaTransfer counted = dma.transfer(2, data, DmaDirection::FromMemory);
    EXPECT_EQ(counted.bytes, 32u);
    EXPECT_TRUE(counted.terminal_count);
    EXPECT_EQ(data, before);
    EXPECT_EQ(at(0x4000, 32), std::vector<uint8_t>(32, 0));
    EXPECT_EQ(in(kStatus1)&0x04, 0x04);
}

// A write-to-memory channel asked to read memory (and the reverse) moves nothing and logs.
TEST_F(I8237Test, DirectionMismatchLogsAndMovesNothing) {
    seabios_dma_setup();
    const auto pattern = numbered(16);
    std::copy(pattern.begin(), pattern.end(), ram.ram.begin() + 0x5000);
    seabios_dma_floppy(0x5000, 16, kModeWriteMemory);
    std::vector<uint8_t> buffer(16);
    const DmaTransfer moved = dma.transfer(2, buffer, DmaDirection::FromMemory);
    EXPECT_EQ(moved.bytes, 0u);
    EXPECT_FALSE(moved.terminal_count);
    EXPECT_EQ(buffer, std::vector<uint8_t>(16, 0));
    ASSERT_EQ(log.lines.size(), 1u);
    EXPECT_NE(log.lines[0].find("dma: channel 2"), std::string::npos) << log.lines[0];
    out(kClearFf1, 0);
    EXPECT_EQ(in16(kCount2), 15) << "the count did not move";
}

// Transfer type 11 is illegal: logged, nothing moves.
TEST_F(I8237Test, IllegalTransferTypeLogsAndMovesNothing) {
    seabios_dma_setup();
    seabios_dma_floppy(0x5000, 16, 0x4E);
    auto data = numbered(16);
    EXPECT_EQ(to_memory(2, data).bytes, 0u);
    EXPECT_EQ(at(0x5000, 16), std::vector<uint8_t>(16, 0));
    EXPECT_EQ(log.lines.size(), 1u);
}

// Channels 5-7 count words: physical = ((page & 0xFE) << 16) | address << 1, count in words.
TEST_F(I8237Test, SixteenBitChannelAddressesWords) {
    seabios_dma_setup();
    program_channel5(0x0100, 3, 0x03, 0x45); // page bit 0 ignored: 0x20000 + 0x200
    auto data = numbered(16);
    const DmaTransfer moved = to_memory(5, data);
    EXPECT_EQ(moved.bytes, 8u) << "4 words";
    EXPECT_TRUE(moved.terminal_count);
    EXPECT_EQ(at(0x20200, 8), std::vector<uint8_t>(data.begin(), data.begin() + 8));
    EXPECT_EQ(at(0x30200, 8), std::vector<uint8_t>(8, 0));
    out(kClearFf2, 0);
    EXPECT_EQ(in16(kAddr5), 0x0104) << "the address register counts words";
    EXPECT_EQ(in(0xD0) & 0x02, 0x02) << "DMA2 status bit 1 is channel 5";
}

// A 16-bit channel moves whole words: an odd last byte of the buffer is left.
TEST_F(I8237Test, SixteenBitChannelLeavesAnOddLastByte) {
    seabios_dma_setup();
    program_channel5(0x0000, 7, 0x02, 0x45);
    auto data = numbered(5);
    const DmaTransfer moved = to_memory(5, data);
    EXPECT_EQ(moved.bytes, 4u);
    EXPECT_FALSE(moved.terminal_count);
    EXPECT_EQ(at(0x20000, 6), (std::vector<uint8_t>{data[0], data[1], data[2], data[3], 0, 0}));
    out(kClearFf2, 0);
    EXPECT_EQ(in16(kCount5), 5);
}

// DMA2 decodes register (port - 0xC0) >> 1: an odd port is the even register below, and a word
// access is two byte accesses to the same register, low then high through the flip-flop.
TEST_F(I8237Test, Dma2OddPortsAliasTheRegisterBelow) {
    out(kClearFf2, 0);
    out(kAddr5 + 1, 0xCD);
    out(kAddr5 + 1, 0xAB);
    EXPECT_EQ(in16(kAddr5), 0xABCD);
    out(kClearFf2 + 1, 0);
    dma.io_write(kCount5, 2, 0x1234);
    out(kClearFf2, 0);
    EXPECT_EQ(dma.io_read(kCount5, 2), 0x1234u);
}

// Master clear: all four masks set, status, request and flip-flop cleared.
TEST_F(I8237Test, MasterClearMasksAll) {
    seabios_dma_setup();
    seabios_dma_floppy(0x1000, 1, kModeWriteMemory);
    std::vector<uint8_t> one{7};
    ASSERT_TRUE(to_memory(2, one).terminal_count);
    out(kRequest1, 0x05); // request channel 1
    out(kClearMasks1, 0);
    out(kAddr2, 0x11); // flip-flop now on the high byte
    out(kMasterClear1, 0);
    for (unsigned channel = 0; channel < 4; ++channel)
        EXPECT_FALSE(dma.ready(channel)) << channel;
    EXPECT_EQ(in(kStatus1), 0x00) << "TC and request bits cleared";
    EXPECT_EQ(in(kAddr2), 0x11) << "flip-flop cleared: the low byte";
}

// Port 0x0E clears all four masks; port 0x0F writes them (bit n = channel n).
TEST_F(I8237Test, ClearAllMasksAndWriteAllMasks) {
    seabios_dma_setup();
    out(kClearMasks1, 0);
    for (unsigned channel = 0; channel < 4; ++channel)
        EXPECT_TRUE(dma.ready(channel)) << channel;
    out(kWriteMasks1, 0x05);
    EXPECT_FALSE(dma.ready(0));
    EXPECT_TRUE(dma.ready(1));
    EXPECT_FALSE(dma.ready(2));
    EXPECT_TRUE(dma.ready(3));
    out(kMask1, 0x04 | 0x01); // single mask: set channel 1
    EXPECT_FALSE(dma.ready(1));
}

// DMA1 reaches the bus through DMA2 channel 4: SeaBIOS's outb(0xc0, 0xD6); outb(0, 0xD4)
// opens it; channel 4 itself, in cascade mode, moves nothing; masking it stops DMA1.
TEST_F(I8237Test, Dma2CascadeCarriesDma1) {
    out(kClearMasks1, 0);
    EXPECT_FALSE(dma.ready(2)) << "channel 4 masked at power-on";
    out(kMode2, 0xC0);
    out(kMask2, 0x00);
    EXPECT_TRUE(dma.ready(2));
    EXPECT_FALSE(dma.ready(4)) << "a cascade channel does no transfers";
    out(kMask2, 0x04);
    EXPECT_FALSE(dma.ready(2));
    out(kMask2, 0x00);
    out(kMode2, 0x40); // channel 4 in single mode: no longer a cascade
    EXPECT_FALSE(dma.ready(2));
}

// Command bit 2 disables a controller; bit 0 (memory-to-memory) is not modelled and logged.
TEST_F(I8237Test, CommandDisablesTheControllerAndLogsMemoryToMemory) {
    seabios_dma_setup();
    seabios_dma_floppy(0x1000, 16, kModeWriteMemory);
    out(kStatus1, 0x04);
    EXPECT_FALSE(dma.ready(2));
    out(kStatus1, 0x00);
    EXPECT_TRUE(dma.ready(2));
    EXPECT_TRUE(log.lines.empty());
    out(kStatus1, 0x01);
    EXPECT_EQ(log.lines.size(), 1u);
}

// The request register is storage: it shows in status bits 4-7 (which a status read keeps),
// starts nothing, and TC clears it.
TEST_F(I8237Test, RequestRegisterShowsInStatus) {
    seabios_dma_setup();
    out(kRequest1, 0x06); // set channel 2's request
    EXPECT_EQ(in(kStatus1), 0x40);
    EXPECT_EQ(in(kStatus1), 0x40);
    seabios_dma_floppy(0x1000, 1, kModeWriteMemory);
    std::vector<uint8_t> one{1};
    ASSERT_TRUE(to_memory(2, one).terminal_count);
    EXPECT_EQ(in(kStatus1), 0x04) << "TC set, request cleared";
    out(kRequest1, 0x07);
    out(kRequest1, 0x03); // clear channel 3's again
    EXPECT_EQ(in(kStatus1), 0x00);
}

// The page registers read back; the other ports of 0x80-0x8F are not this device.
TEST_F(I8237Test, PageRegistersReadBack) {
    for (unsigned channel = 0; channel < 8; ++channel)
        out(I8237Dma::kPagePorts[channel], static_cast<uint8_t>(0x10 + channel));
    for (unsigned channel = 0; channel < 8; ++channel)
        EXPECT_EQ(in(I8237Dma::kPagePorts[channel]), 0x10 + channel) << channel;
    EXPECT_EQ(in(0x81), 0x12) << "channel 2's page is at 0x81";
    EXPECT_EQ(in(0x89), 0x16) << "channel 6's page is at 0x89";
    out(0x80, 0x55);
    EXPECT_EQ(in(0x80), 0xFF);
}

// Register 9 reads are illegal in the datasheet; QEMU returns the mask register.
TEST_F(I8237Test, Register9ReadsTheMaskAsQemu) {
    EXPECT_EQ(in(kRequest1), 0xFF) << "master clear sets the whole byte";
    out(kClearMasks1, 0);
    out(kMask1, 0x06);
    EXPECT_EQ(in(kRequest1), 0x04);
    EXPECT_EQ(in(kWriteMasks1), 0x00) << "register 15 reads 0 as QEMU";
}

// A transfer running past the end of RAM moves what lies inside, stops, and logs one line.
TEST_F(I8237Test, TransferOutsideRamStopsAndLogs) {
    ram.ram.resize(0x10100); // RAM ends 256 bytes into page 1
    seabios_dma_setup();
    seabios_dma_floppy(0x10000, 512, kModeWriteMemory);
    auto data = numbered(512);
    const DmaTransfer moved = to_memory(2, data);
    EXPECT_EQ(moved.bytes, 256u);
    EXPECT_FALSE(moved.terminal_count);
    EXPECT_EQ(at(0x10000, 256), std::vector<uint8_t>(data.begin(), data.begin() + 256));
    ASSERT_EQ(log.lines.size(), 1u);
    EXPECT_NE(log.lines[0].find("0x10100"), std::string::npos) << log.lines[0];
    out(kClearFf1, 0);
    EXPECT_EQ(in16(kCount2), 255) << "the count stops where the transfer did";
    EXPECT_EQ(in(kStatus1)&0x04, 0x00);
}

// Devices are copied for snapshots: a copy carries the registers and moves data on its own.
TEST_F(I8237Test, CopyKeepsTheProgrammedChannel) {
    seabios_dma_setup();
    seabios_dma_floppy(0x6000, 4, kModeWriteMemory);
    I8237Dma saved(dma);
    std::vector<uint8_t> data{1, 2, 3, 4};
    ASSERT_TRUE(to_memory(2, data).terminal_count);
    restore_device(dma, saved);
    EXPECT_TRUE(dma.ready(2));
    std::vector<uint8_t> again{5, 6, 7, 8};
    EXPECT_EQ(to_memory(2, again).bytes, 4u);
    EXPECT_EQ(at(0x6000, 4), again);
}

} // namespace
} // namespace transit86::pc
