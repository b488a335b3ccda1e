// QEMU's ACPI hotplug registers of the piix4 PM (pc/acpi_hotplug.hpp) with nothing hot-plugged:
// what the DSDT's GPE handlers and _STA methods read (QEMU hw/acpi/pcihp.c, cpu_hotplug.c,
// piix4.c). All ones here made Linux eject the PIIX3 functions, the IDE controller with them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_platform.hpp"
#include "pc/acpi_hotplug.hpp"
#include "pc/platform.hpp"

namespace transit86::pc {
namespace {

class AcpiHotplugTest : public ::testing::Test {
  protected:
    testing::RecordingLog log;
    AcpiHotplug hotplug{(1u << 0) | (1u << 1), 1, &log};
};

TEST_F(AcpiHotplugTest, NoSlotWasAddedOrIsToBeRemoved) {
    EXPECT_EQ(hotplug.io_read(0xAE00, 4), 0u); // PCIU
    EXPECT_EQ(hotplug.io_read(0xAE04, 4), 0u); // PCID
    EXPECT_EQ(hotplug.io_read(0xAE08, 4), 0u); // B0EJ
}

TEST_F(AcpiHotplugTest, EverySlotButTheBuiltInOnesIsRemovableOnBusZeroOnly) {
    EXPECT_EQ(hotplug.io_read(0xAE0C, 4), 0xFFFFFFFCu);
    EXPECT_EQ(hotplug.io_read(0xAE0D, 1), 0xFFu);
    hotplug.io_write(0xAE10, 4, 1); // select bus 1: it does not exist
    EXPECT_EQ(hotplug.io_read(0xAE10, 4), 1u);
    EXPECT_EQ(hotplug.io_read(0xAE0C, 4), 0u);
}

TEST_F(AcpiHotplugTest, OnlyCpuZeroIsPresent) {
    EXPECT_EQ(hotplug.io_read(0xAF00, 1), 0x01u);
    EXPECT_EQ(hotplug.io_read(0xAF01, 4), 0u);
    hotplug.io_write(0xAF00, 1, 0xFF); // read only
    EXPECT_EQ(hotplug.io_read(0xAF00, 1), 0x01u);
}

TEST_F(AcpiHotplugTest, GpeEnableIsStorageAndNoStatusBitIsEverSet) {
    hotplug.io_write(0xAFE2, 2, 0x0F0F);
    EXPECT_EQ(hotplug.io_read(0xAFE2, 2), 0x0F0Fu);
    hotplug.io_write(0xAFE0, 2, 0xFFFF); // write 1 to clear
    EXPECT_EQ(hotplug.io_read(0xAFE0, 4), 0x0F0F0000u);
}

TEST_F(AcpiHotplugTest, AnEjectRequestIsLoggedAndChangesNothing) {
    hotplug.io_write(0xAE08, 4, 1u << 3);
    EXPECT_EQ(log.lines, (std::vector<std::string>{"acpi-hotplug: B0EJ: eject request for PCI "
                                                   "slots 0x08 << 0 (nothing here can be "
                                                   "unplugged)"}));
    EXPECT_EQ(hotplug.io_read(0xAE04, 4), 0u);
}

// On the platform the three blocks are decoded (not left floating at all ones).
TEST(AcpiHotplugOnThePlatform, TheBlocksAreDecoded) {
    PcConfig config;
    config.ram_bytes = 2u << 20;
    config.bios.assign(64 * 1024, 0xF4);
    PcPlatform platform(std::move(config));
    for (const auto& [port, expected] : {std::pair<uint16_t, uint32_t>{0xAE00, 0},
                                         {0xAE0C, 0xFFFFFFFC},
                                         {0xAF00, 0x00000001},
                                         {0xAFE0, 0}}) {
        PortAccess access{.port = port, .size = 4, .is_in = true, .data = 0};
        platform.access(access);
        EXPECT_EQ(access.data, expected) << std::hex << port;
    }
    EXPECT_TRUE(platform.unclaimed_ports().empty());
}

} // namespace
} // namespace transit86::pc
