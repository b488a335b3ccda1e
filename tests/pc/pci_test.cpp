// PCI configuration mechanism #1 and the functions of QEMU's pc machine (i440FX 00:00.0,
// PIIX3 00:01.0, PIIX3 IDE 00:01.1), driven through ports 0xCF8-0xCFF. Expected values from
// the PCI Local Bus Specification 3.0 (3.2.2.3.2, 6.2) and the QEMU models cited in each file.
#include <gtest/gtest.h>

#include <vector>

#include "fake_platform.hpp"
#include "pc/i440fx.hpp"
#include "pc/pci_bus.hpp"
#include "pc/piix3.hpp"
#include "pc/piix3_ide.hpp"

namespace transit86::pc {
namespace {

constexpr uint32_t address(unsigned device, unsigned function, unsigned reg) {
    return 0x80000000u | (device << 11) | (function << 8) | reg;
}

class PciTest : public ::testing::Test {
  protected:
    PciTest() {
        bus.attach(0, 0, host);
        bus.attach(1, 0, isa);
        bus.attach(1, 1, ide);
        bus.set_reset_control(isa);
    }
    uint32_t read(uint32_t config_address, uint16_t port, uint8_t size) {
        bus.io_write(0xCF8, 4, config_address);
        return bus.io_read(port, size);
    }
    void write(uint32_t config_address, uint16_t port, uint8_t size, uint32_t value) {
        bus.io_write(0xCF8, 4, config_address);
        bus.io_write(port, size, value);
    }

    testing::RecordingLog log;
    PciBus bus{&log};
    I440fxHostBridge host;
    Piix3IsaBridge isa{&log};
    Piix3Ide ide;
};

// CONFIG_DATA as a dword, words and bytes: the byte lane of the port picks the register byte.
TEST_F(PciTest, VendorAndDeviceIdAtEveryWidth) {
    EXPECT_EQ(read(address(0, 0, 0), 0xCFC, 4), 0x12378086u);
    EXPECT_EQ(read(address(0, 0, 0), 0xCFC, 2), 0x8086u);
    EXPECT_EQ(read(address(0, 0, 0), 0xCFE, 2), 0x1237u);
    EXPECT_EQ(read(address(0, 0, 0), 0xCFD, 1), 0x80u);
    EXPECT_EQ(read(address(1, 0, 0), 0xCFC, 4), 0x70008086u);
    EXPECT_EQ(read(address(1, 1, 0), 0xCFE, 2), 0x7010u);
}

// Register 0x2C: QEMU's default subsystem, Red Hat (0x1AF4) / "QEMU virtual machine" (0x1100),
// on every function (hw/pci/pci.c); SeaBIOS's qemu_detect() looks for it at 00:00.0.
TEST_F(PciTest, SubsystemIdsAreQemusDefault) {
    EXPECT_EQ(read(address(0, 0, 0x2C), 0xCFC, 4), 0x11001AF4u);
    EXPECT_EQ(read(address(1, 0, 0x2C), 0xCFC, 4), 0x11001AF4u);
    EXPECT_EQ(read(address(1, 1, 0x2C), 0xCFE, 2), 0x1100u);
    write(address(0, 0, 0x2C), 0xCFC, 4, 0); // read-only
    EXPECT_EQ(read(address(0, 0, 0x2C), 0xCFC, 2), 0x1AF4u);
}

// Register 0x08: revision in byte 0, then programming interface, sub-class, base class.
TEST_F(PciTest, ClassCodeBytesThroughByteLanes) {
    EXPECT_EQ(read(address(0, 0, 0x08), 0xCFC, 1), 0x02u); // i440FX revision
    EXPECT_EQ(read(address(0, 0, 0x08), 0xCFF, 1), 0x06u); // bridge
    EXPECT_EQ(read(address(1, 0, 0x08), 0xCFE, 1), 0x01u); // ISA bridge
    EXPECT_EQ(read(address(1, 1, 0x08), 0xCFC, 4), 0x01018000u);
}

// CONFIG_ADDRESS is a dword register that reads back as written (QEMU pci_host).
TEST_F(PciTest, ConfigAddressReadsBack) {
    bus.io_write(0xCF8, 4, 0x80000810);
    EXPECT_EQ(bus.io_read(0xCF8, 4), 0x80000810u);
}

// With the enable bit clear, and for functions, devices or buses that are not there,
// CONFIG_DATA reads all ones and ignores writes.
TEST_F(PciTest, AbsentOrDisabledReadsAllOnes) {
    EXPECT_EQ(read(0x00000000, 0xCFC, 4), 0xFFFFFFFFu);
    EXPECT_EQ(read(address(5, 0, 0), 0xCFC, 4), 0xFFFFFFFFu);
    EXPECT_EQ(read(address(1, 2, 0), 0xCFC, 2), 0xFFFFu);
    EXPECT_EQ(read(address(0, 0, 0) | (1u << 16), 0xCFC, 4), 0xFFFFFFFFu); // bus 1
}

// Header fields are read-only: the vendor ID ignores writes; the command register keeps only
// its writable bits.
TEST_F(PciTest, ReadOnlyBitsIgnoreWrites) {
    write(address(0, 0, 0), 0xCFC, 2, 0x1234);
    EXPECT_EQ(read(address(0, 0, 0), 0xCFC, 2), 0x8086u);
    write(address(1, 1, 0x04), 0xCFC, 2, 0xFFFF);
    EXPECT_EQ(read(address(1, 1, 0x04), 0xCFC, 2), 0x0507u);
}

// BAR sizing: writing all ones reads back the size mask with the I/O bit; the IDE controller's
// bus-master BAR 4 is 16 bytes of I/O (0xFFFFFFF1); an address written then reads back.
TEST_F(PciTest, BarSizingReadsBackSizeMask) {
    EXPECT_EQ(read(address(1, 1, 0x20), 0xCFC, 4), 0x00000001u);
    write(address(1, 1, 0x20), 0xCFC, 4, 0xFFFFFFFF);
    EXPECT_EQ(read(address(1, 1, 0x20), 0xCFC, 4), 0xFFFFFFF1u);
    write(address(1, 1, 0x20), 0xCFC, 4, 0x0000C00F);
    EXPECT_EQ(read(address(1, 1, 0x20), 0xCFC, 4), 0x0000C001u);
    EXPECT_EQ(ide.bus_master_base(), 0xC000u);
    EXPECT_EQ(read(address(1, 1, 0x10), 0xCFC, 4), 0x00000000u); // no BAR 0 in legacy mode
}

// PAM: writing PAM0 = 0x30 makes 0xF0000-0xFFFFF read/write RAM; PAM1 = 0x12 gives 0xC0000
// write-only and 0xC4000 read-only. The callback sees all 13 settings, once per change.
TEST_F(PciTest, PamWriteReportsRegionSettings) {
    std::vector<std::array<PamMode, I440fxHostBridge::kPamRegions>> calls;
    host.on_pam_change = [&](const auto& modes) { calls.push_back(modes); };
    write(address(0, 0, 0x58), 0xCFD, 1, 0x30);
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0][0], PamMode::read_write);
    EXPECT_EQ(calls[0][1], PamMode::disabled);
    write(address(0, 0, 0x58), 0xCFE, 1, 0x12);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[1][1], PamMode::write_only);
    EXPECT_EQ(calls[1][2], PamMode::read_only);
    write(address(0, 0, 0x58), 0xCFE, 1, 0x12); // no change, no call
    EXPECT_EQ(calls.size(), 2u);
    EXPECT_EQ(I440fxHostBridge::pam_region(2).base, 0xC4000u);
    EXPECT_EQ(I440fxHostBridge::pam_region(12).base, 0xEC000u);
}

// SMRAM (0x72) resets to 0x02; C_BASE_SEG (bits 2-0) is fixed.
TEST_F(PciTest, SmramResetsTo02WithFixedBaseSegment) {
    EXPECT_EQ(read(address(0, 0, 0x70), 0xCFE, 1), 0x02u);
    write(address(0, 0, 0x70), 0xCFE, 1, 0xFF);
    EXPECT_EQ(read(address(0, 0, 0x70), 0xCFE, 1), 0x7Au);
}

// PIIX3: multi-function header, PIRQA-D routing disabled at reset (0x80 each).
TEST_F(PciTest, Piix3IsMultiFunctionWithPirqRoutingDisabled) {
    EXPECT_EQ(read(address(1, 0, 0x0C), 0xCFE, 1), 0x80u);
    EXPECT_EQ(read(address(1, 0, 0x60), 0xCFC, 4), 0x80808080u);
    EXPECT_FALSE(isa.pirq_route(0).has_value());
    write(address(1, 0, 0x60), 0xCFD, 1, 0x0B); // PIRQB -> IRQ 11, as SeaBIOS does
    EXPECT_EQ(isa.pirq_route(1), 11u);
}

// The byte at 0xCF9 is PIIX's Reset Control Register: bit 2 requests a reset; a dword at
// 0xCF8 is still CONFIG_ADDRESS.
TEST_F(PciTest, ResetControlRegisterAtCf9) {
    int resets = 0;
    isa.on_reset_request = [&] { ++resets; };
    bus.io_write(0xCF9, 1, 0x02);
    EXPECT_EQ(bus.io_read(0xCF9, 1), 0x02u);
    bus.io_write(0xCF9, 1, 0x06);
    EXPECT_EQ(resets, 1);
    EXPECT_EQ(read(address(0, 0, 0), 0xCFC, 4), 0x12378086u);
}

// Byte and word accesses to 0xCF8-0xCFB other than the reset register: writes dropped, reads
// the low bytes of CONFIG_ADDRESS (QEMU's pci_host_config_read ignores offset and size), and
// nothing logged: it is the type-1 probe of Linux, memtest86+ and SYSLINUX.
TEST_F(PciTest, ByteAndWordAccessesToConfigAddressAreQemus) {
    bus.io_write(0xCF8, 4, 0x80000008);
    bus.io_write(0xCFB, 1, 0x01);
    bus.io_write(0xCF8, 2, 0x1234);
    EXPECT_EQ(bus.io_read(0xCF8, 4), 0x80000008u);
    EXPECT_EQ(bus.io_read(0xCFB, 1), 0x08u);
    EXPECT_EQ(bus.io_read(0xCFA, 2), 0x0008u);
    EXPECT_TRUE(log.lines.empty());
    bus.io_write(0xCFB, 2, 0); // across into CONFIG_DATA: logged
    EXPECT_EQ(log.lines.size(), 1u);
}

} // namespace
} // namespace transit86::pc
