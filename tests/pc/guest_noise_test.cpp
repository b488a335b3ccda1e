// Bad input from the guest never crashes a device, hangs it, or reaches outside a buffer: each
// device takes a long deterministic stream of random accesses (any port in and around its
// range, any size, any value) while virtual time moves on. Under the sanitizer build this is
// the check that every index stays in bounds.
#include <gtest/gtest.h>

#include <random>

#include "fake_platform.hpp"
#include "pc/apic_windows.hpp"
#include "pc/ata_disk.hpp"
#include "pc/i440fx.hpp"
#include "pc/i8254.hpp"
#include "pc/i8259.hpp"
#include "pc/pci_bus.hpp"
#include "pc/piix3.hpp"
#include "pc/piix3_ide.hpp"
#include "pc/piix4_pm.hpp"
#include "pc/port61.hpp"

namespace transit86::pc {
namespace {

constexpr int kAccesses = 50'000;

template <class Access>
void random_traffic(uint16_t first_port, uint16_t last_port, Access&& access) {
    std::mt19937 random(1234);
    std::uniform_int_distribution<uint32_t> port(first_port, last_port);
    std::uniform_int_distribution<uint32_t> value;
    const uint8_t sizes[] = {1, 2, 4};
    for (int i = 0; i < kAccesses; ++i)
        access(static_cast<uint16_t>(port(random)), sizes[value(random) % 3], value(random),
               (value(random) & 1) != 0);
}

TEST(GuestNoise, LegacyIoDevicesSurviveRandomAccesses) {
    VirtualClock clock;
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    I8259Pair pic{&log};
    I8254Pit pit{clock, irq, &log};
    SystemControlPortB port61{clock, pit, &log};
    uint64_t now = 0;
    random_traffic(0x1C, 0x64, [&](uint16_t port, uint8_t size, uint32_t value, bool is_write) {
        now += value % 5000;
        clock.advance_to(now);
        pit.advance();
        IoDevice& device = port < 0x40 ? static_cast<IoDevice&>(pic)
                                       : (port < 0x60 ? static_cast<IoDevice&>(pit) : port61);
        if (is_write) {
            device.io_write(port, size, value);
        } else {
            device.io_read(port, size);
        }
        pic.set_irq(value % 16, (value & 0x100) != 0);
        if (pic.interrupt_pending()) pic.acknowledge();
        // After advance() the next IRQ 0 is always in the future.
        ASSERT_GT(pit.next_event_ns(), clock.now_ns());
    });
}

TEST(GuestNoise, PciFunctionsSurviveRandomAccesses) {
    VirtualClock clock;
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    PciBus bus{&log};
    I440fxHostBridge host;
    Piix3IsaBridge isa{&log};
    Piix3Ide ide;
    Piix4Pm pm{clock, irq, &log};
    bus.attach(0, 0, host);
    bus.attach(1, 0, isa);
    bus.attach(1, 1, ide);
    bus.attach(1, 3, pm);
    bus.set_reset_control(isa);
    random_traffic(0xCF6, 0xD01, [&](uint16_t port, uint8_t size, uint32_t value, bool is_write) {
        if (is_write) {
            // Aim CONFIG_ADDRESS at the functions that exist most of the time.
            if (port == 0xCF8 && size == 4 && (value & 1)) value = 0x80000000 | (value & 0xBFC);
            bus.io_write(port, size, value);
        } else {
            bus.io_read(port, size);
        }
        pm.pm_registers().io_read(static_cast<uint16_t>(pm.io_base() + (value & 0x3F)), size);
        pm.pm_registers().io_write(static_cast<uint16_t>(pm.io_base() + (value & 0x3F)), size,
                                   value);
        clock.advance_to(clock.now_ns() + (value & 0xFFFF));
        pm.advance();
    });
}

TEST(GuestNoise, AtaDiskSurvivesRandomAccesses) {
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    MemoryBlockBackend image{std::vector<uint8_t>(64 * 512, 0xA5)};
    AtaDisk disk{image, irq, &log};
    random_traffic(0x1EE, 0x1F9, [&](uint16_t port, uint8_t size, uint32_t value, bool is_write) {
        if (port == 0x1F9) port = 0x3F6;
        if (is_write) {
            disk.io_write(port, size, value);
        } else {
            disk.io_read(port, size);
        }
    });
    EXPECT_EQ(image.sector_count(), 64u);
}

TEST(GuestNoise, ApicWindowsSurviveRandomAccesses) {
    testing::RecordingLog log;
    LocalApicWindow lapic{0, &log};
    IoApicWindow ioapic{0x11, &log};
    std::mt19937_64 random(99);
    const uint8_t sizes[] = {1, 2, 4, 8};
    for (int i = 0; i < kAccesses; ++i) {
        const uint64_t value = random();
        const uint64_t offset = value % LocalApicWindow::kSize;
        const uint8_t size = sizes[(value >> 12) % 4];
        MmioDevice& device = (value >> 20) & 1 ? static_cast<MmioDevice&>(lapic) : ioapic;
        if ((value >> 21) & 1) {
            device.mmio_write(offset & ~uint64_t{3}, size, value >> 32);
        } else {
            device.mmio_read(offset, size);
        }
    }
    EXPECT_LE(lapic.sent_ipis().size(), static_cast<size_t>(kAccesses));
}

} // namespace
} // namespace transit86::pc
