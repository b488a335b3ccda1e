// The IDE channels without a drive (pc/empty_ide_channel.hpp): as in QEMU (hw/ide/core.c,
// ide_ioport_read/ide_status_read), every register of a bus with no drive reads 0, so firmware
// finds the channel idle and no device on it; nothing is left floating at 0xFF.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "pc/block_backend.hpp"
#include "pc/platform.hpp"

namespace transit86::pc {
namespace {

PcConfig pc_config(bool with_disk, bool with_cdrom = false) {
    PcConfig c;
    c.ram_bytes = 2u << 20;
    c.bios.assign(64 * 1024, 0xF4);
    if (with_disk) c.disk = make_memory_image(std::vector<uint8_t>(64 * 512, 0)).backend;
    if (with_cdrom) c.cdrom = make_memory_image(std::vector<uint8_t>(4 * 2048, 0)).backend;
    return c;
}

uint32_t in(PcPlatform& platform, uint16_t port) {
    PortAccess a{.port = port, .size = 1, .is_in = true, .data = 0xAB};
    platform.access(a);
    return a.data;
}

void out(PcPlatform& platform, uint16_t port, uint32_t value) {
    PortAccess a{.port = port, .size = 1, .is_in = false, .data = value};
    platform.access(a);
}

// The probe firmware runs (SeaBIOS ata_detect, U-Boot ide_reset): status idle, and the sector
// count and number registers do not keep what was written.
void expect_empty_channel(PcPlatform& platform, uint16_t command_block, uint16_t control) {
    EXPECT_EQ(in(platform, command_block + 7), 0u) << "status";
    EXPECT_EQ(in(platform, control), 0u) << "alternate status";
    out(platform, command_block + 6, 0xA0); // device 0
    out(platform, command_block + 2, 0x55);
    out(platform, command_block + 3, 0xAA);
    EXPECT_EQ(in(platform, command_block + 2), 0u) << "sector count";
    EXPECT_EQ(in(platform, command_block + 3), 0u) << "sector number";
    out(platform, command_block + 7, 0xEC); // IDENTIFY DEVICE: ignored
    EXPECT_EQ(in(platform, command_block + 7), 0u) << "status after a command";
    EXPECT_EQ(in(platform, command_block), 0u) << "data";
}

TEST(EmptyIdeChannel, SecondaryChannelHasNoDrive) {
    PcPlatform platform(pc_config(true));
    expect_empty_channel(platform, 0x170, 0x376);
    EXPECT_NE(in(platform, 0x1F7) & 0x40, 0u) << "the primary master disk is ready (DRDY)";
    EXPECT_TRUE(platform.unclaimed_ports().empty());
}

TEST(EmptyIdeChannel, PrimaryChannelWithoutADiskHasNoDrive) {
    PcPlatform platform(pc_config(false));
    expect_empty_channel(platform, 0x1F0, 0x3F6);
    expect_empty_channel(platform, 0x170, 0x376);
    EXPECT_TRUE(platform.unclaimed_ports().empty());
}

} // namespace
} // namespace transit86::pc

namespace transit86::pc {
namespace {

// With a disc (QEMU's -cdrom) the secondary master is the ATAPI drive: the probe finds a device
// with the packet signature, and the primary channel without a disk stays empty.
TEST(EmptyIdeChannel, ACdRomTakesTheSecondaryChannel) {
    PcPlatform platform(pc_config(false, true));
    out(platform, 0x176, 0xA0);
    out(platform, 0x172, 0x55);
    EXPECT_EQ(in(platform, 0x172), 0x55u);
    out(platform, 0x177, 0x08); // DEVICE RESET: the signature again
    EXPECT_EQ(in(platform, 0x174), 0x14u);
    EXPECT_EQ(in(platform, 0x175), 0xEBu);
    expect_empty_channel(platform, 0x1F0, 0x3F6);
}

TEST(EmptyIdeChannel, ACdRomImageSmallerThanASectorIsRefused) {
    PcConfig c = pc_config(false);
    c.cdrom = make_memory_image(std::vector<uint8_t>(3 * 512, 0)).backend;
    EXPECT_THROW(PcPlatform platform(std::move(c)), std::invalid_argument);
}

} // namespace
} // namespace transit86::pc
