// The PIIX4 PM function: PMBA/PMREGMISC through PCI configuration space as SeaBIOS programs
// them, then the ACPI registers in the block. Expected values from ACPI 1.0b 4.7.3 (PM timer at
// 3.579545 MHz, 24 bits; PM1 status/enable/control) and QEMU hw/acpi.
#include <gtest/gtest.h>

#include <optional>
#include <utility>

#include "fake_platform.hpp"
#include "pc/pci_bus.hpp"
#include "pc/piix4_pm.hpp"

namespace transit86::pc {
namespace {

constexpr uint32_t kPmConfig = 0x80000B00; // 00:01.3

// The first virtual nanosecond at which the PM timer has made `ticks` ticks (worked out here).
uint64_t ns_at_pm_tick(uint64_t ticks) {
    return (ticks * 1'000'000'000ull + 3579545 - 1) / 3579545;
}

class Piix4PmTest : public ::testing::Test {
  protected:
    Piix4PmTest() { bus.attach(1, 3, pm); }
    void config_write(uint8_t reg, uint8_t size, uint32_t value) {
        bus.io_write(0xCF8, 4, kPmConfig | (reg & 0xFC));
        bus.io_write(static_cast<uint16_t>(0xCFC + (reg & 3)), size, value);
    }
    uint32_t config_read(uint8_t reg, uint8_t size) {
        bus.io_write(0xCF8, 4, kPmConfig | (reg & 0xFC));
        return bus.io_read(static_cast<uint16_t>(0xCFC + (reg & 3)), size);
    }
    // SeaBIOS piix4_pm_config_setup: PMBA = 0x600 | 1, PMREGMISC = 1.
    void seabios_setup() {
        config_write(0x40, 4, 0x601);
        config_write(0x80, 1, 0x01);
    }
    uint32_t timer() { return pm.pm_registers().io_read(0x608, 4); }

    VirtualClock clock;
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    PciBus bus{&log};
    Piix4Pm pm{clock, irq, &log};
};

// Identity: 8086:7113, revision 3, class 0x068000; PMBA bit 0 reads 1 (I/O space indicator).
TEST_F(Piix4PmTest, IdentityAndPmbaResetValue) {
    EXPECT_EQ(config_read(0x00, 4), 0x71138086u);
    EXPECT_EQ(config_read(0x08, 4), 0x06800003u);
    EXPECT_EQ(config_read(0x40, 4), 0x00000001u);
}

// The PM timer counts at 3,579,545 Hz of virtual time: 3579 ticks after 1 ms, 3579545 after 1 s.
TEST_F(Piix4PmTest, PmTimerRateIs3579545Hz) {
    seabios_setup();
    clock.advance_to(1'000'000);
    EXPECT_EQ(timer(), 3579u);
    clock.advance_to(1'000'000'000);
    EXPECT_EQ(timer(), 3579545u);
}

// The timer is 24 bits wide: 2^24 + 5 ticks read 5.
TEST_F(Piix4PmTest, PmTimerWrapsAt24Bits) {
    seabios_setup();
    clock.advance_to(ns_at_pm_tick(0x1000005));
    EXPECT_EQ(timer(), 5u);
    clock.advance_to(ns_at_pm_tick(0x1000005) - 1);
    EXPECT_EQ(timer(), 5u); // the clock never goes back: advance_to an earlier time is a no-op
}

// The block decodes at PMBA & 0xFFC0 only while PMREGMISC bit 0 is set, and moves with PMBA.
TEST_F(Piix4PmTest, BlockFollowsPmbaAndEnable) {
    std::vector<std::pair<bool, uint16_t>> windows;
    pm.on_io_window_change = [&](bool enabled, uint16_t base) {
        windows.emplace_back(enabled, base);
    };
    config_write(0x40, 4, 0x601);
    EXPECT_EQ(config_read(0x40, 4), 0x601u);
    EXPECT_FALSE(pm.io_enabled());
    EXPECT_EQ(pm.pm_registers().io_read(0x608, 4), 0xFFFFFFFFu);
    config_write(0x80, 1, 0x01);
    config_write(0x40, 2, 0xB03F); // bits 5-1 are not writable
    ASSERT_EQ(windows.size(), 2u);
    EXPECT_EQ(windows[0], std::make_pair(true, uint16_t{0x600}));
    EXPECT_EQ(windows[1], std::make_pair(true, uint16_t{0xB000}));
    EXPECT_EQ(config_read(0x40, 4), 0xB001u);
    clock.advance_to(1'000'000);
    EXPECT_EQ(pm.pm_registers().io_read(0xB008, 4), 3579u);
}

// TMR_STS is set when bit 23 of the timer changes; with TMR_EN set that raises the SCI on
// IRQ 9 until software writes 1 to TMR_STS.
TEST_F(Piix4PmTest, TimerOverflowSetsStatusAndRaisesSci) {
    seabios_setup();
    pm.pm_registers().io_write(0x602, 2, 0x0001); // PM1_EN.TMR_EN
    EXPECT_EQ(pm.next_event_ns(), ns_at_pm_tick(0x800000));
    clock.advance_to(ns_at_pm_tick(0x800000) - 1);
    pm.advance();
    EXPECT_FALSE(irq.levels[9]);
    clock.advance_to(ns_at_pm_tick(0x800000));
    pm.advance();
    EXPECT_TRUE(irq.levels[9]);
    EXPECT_EQ(pm.pm_registers().io_read(0x600, 2) & 1, 1u);
    pm.pm_registers().io_write(0x600, 2, 0x0001);
    EXPECT_EQ(pm.pm_registers().io_read(0x600, 2) & 1, 0u);
    EXPECT_FALSE(irq.levels[9]);
    EXPECT_EQ(pm.next_event_ns(), ns_at_pm_tick(0x1000000));
}

// The FADT's ACPI_ENABLE command (0xF1 to port 0xB2) sets SCI_EN; 0xF0 clears it.
TEST_F(Piix4PmTest, ApmAcpiEnableSetsSciEn) {
    seabios_setup();
    pm.apm_ports().io_write(0xB2, 1, 0xF1);
    EXPECT_EQ(pm.pm_registers().io_read(0x604, 2) & 1, 1u);
    pm.apm_ports().io_write(0xB2, 1, 0xF0);
    EXPECT_EQ(pm.pm_registers().io_read(0x604, 2) & 1, 0u);
}

// SLP_EN with SLP_TYP asks for the sleep state; SLP_EN itself reads 0.
TEST_F(Piix4PmTest, SleepEnableReportsSleepType) {
    seabios_setup();
    std::optional<unsigned> slept;
    pm.on_sleep = [&](unsigned type) { slept = type; };
    pm.pm_registers().io_write(0x604, 2, 0x2000 | (1u << 10));
    ASSERT_TRUE(slept.has_value());
    EXPECT_EQ(*slept, 1u);
    EXPECT_EQ(pm.pm_registers().io_read(0x604, 2), 0x0400u);
}

} // namespace
} // namespace transit86::pc
