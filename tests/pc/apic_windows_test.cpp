// The local APIC and I/O APIC register windows: reset values from QEMU hw/intc/apic_common.c
// and ioapic.c (Intel SDM Vol. 3A 11.4-11.6, 82093AA datasheet), driven by MMIO accesses.
#include <gtest/gtest.h>

#include <utility>

#include "fake_platform.hpp"
#include "pc/apic_windows.hpp"
#include "pc/platform.hpp"

namespace transit86::pc {
namespace {

// Version register: 0x14 with max LVT entry 5 (0x00050014); ID in bits 31-24.
TEST(LocalApicWindow, VersionAndIdRead) {
    testing::RecordingLog log;
    LocalApicWindow bsp(0, &log);
    EXPECT_EQ(bsp.mmio_read(0x30, 4), 0x00050014u);
    EXPECT_EQ(bsp.mmio_read(0x20, 4), 0x00000000u);
    LocalApicWindow third(3, &log);
    EXPECT_EQ(third.mmio_read(0x20, 4), 0x03000000u);
    EXPECT_TRUE(log.lines.empty());
}

// Reset: SVR 0xFF (software disabled), DFR all ones, every LVT entry masked.
TEST(LocalApicWindow, ResetValues) {
    testing::RecordingLog log;
    LocalApicWindow apic(0, &log);
    EXPECT_EQ(apic.mmio_read(0xF0, 4), 0xFFu);
    EXPECT_EQ(apic.mmio_read(0xE0, 4), 0xFFFFFFFFu);
    for (uint64_t lvt = 0x320; lvt <= 0x370; lvt += 0x10)
        EXPECT_EQ(apic.mmio_read(lvt, 4), 0x00010000u) << std::hex << lvt;
}

// SeaBIOS smp_scan: enable in SVR, LINT0 ExtINT, LINT1 NMI, then INIT and SIPI through the
// ICR. The registers keep what was written; the sends are recorded, delivery status idle.
TEST(LocalApicWindow, SeabiosSmpSequenceIsStoredAndIpisRecorded) {
    testing::RecordingLog log;
    LocalApicWindow apic(0, &log);
    apic.mmio_write(0xF0, 4, apic.mmio_read(0xF0, 4) | 0x100);
    apic.mmio_write(0x350, 4, 0x8700);
    apic.mmio_write(0x360, 4, 0x8400);
    apic.mmio_write(0x300, 4, 0x000C4500);
    apic.mmio_write(0x300, 4, 0x000C4600 | 0x1000 | 0x9F);
    EXPECT_EQ(apic.mmio_read(0xF0, 4), 0x1FFu);
    EXPECT_EQ(apic.mmio_read(0x350, 4), 0x8700u);
    EXPECT_EQ(apic.mmio_read(0x360, 4), 0x8400u);
    EXPECT_EQ(apic.mmio_read(0x300, 4), 0x000C469Fu); // bit 12 (send pending) reads 0
    ASSERT_EQ(apic.sent_ipis().size(), 2u);
    EXPECT_EQ(apic.sent_ipis()[0].command, 0x000C4500u);
    EXPECT_TRUE(log.lines.empty());
}

// Accesses that are not 32-bit and 16-byte aligned are logged and read 0.
TEST(LocalApicWindow, WrongSizeOrUnalignedAccessIsLogged) {
    testing::RecordingLog log;
    LocalApicWindow apic(0, &log);
    EXPECT_EQ(apic.mmio_read(0x34, 4), 0u);
    EXPECT_EQ(apic.mmio_read(0x30, 1), 0u);
    apic.mmio_write(0xF0, 8, 0x1FF);
    EXPECT_EQ(apic.mmio_read(0xF0, 4), 0xFFu);
    EXPECT_EQ(log.lines.size(), 3u);
}

// IOREGSEL/IOWIN: version 0x11 with 24 entries (0x00170011), ID in bits 27-24.
TEST(IoApicWindow, VersionAndIdThroughIndirectWindow) {
    testing::RecordingLog log;
    IoApicWindow ioapic(0x11, &log);
    ioapic.mmio_write(0x00, 4, 0x01);
    EXPECT_EQ(ioapic.mmio_read(0x10, 4), 0x00170011u);
    ioapic.mmio_write(0x00, 4, 0x00);
    EXPECT_EQ(ioapic.mmio_read(0x10, 4), 0x00000000u);
    ioapic.mmio_write(0x10, 4, 0x02000000);
    EXPECT_EQ(ioapic.mmio_read(0x10, 4), 0x02000000u);
    EXPECT_EQ(ioapic.mmio_read(0x00, 4), 0x00u);
}

// Redirection entries reset masked; delivery status and remote IRR are read-only.
// The PC's I/O APIC is QEMU's pc machine's: version 0x20 with 24 pins (Linux prints "IOAPIC[0]:
// apic_id 0, version 32" under QEMU and now here).
TEST(IoApicWindow, ThePcHasQemusVersion) {
    PcConfig config;
    config.ram_bytes = 2u << 20;
    config.bios.assign(64 * 1024, 0xF4);
    PcPlatform platform(std::move(config));
    uint64_t data = 1; // IOREGSEL: the version register
    platform.mmio(IoApicWindow::kBase, 4, true, data);
    platform.mmio(IoApicWindow::kBase + 0x10, 4, false, data);
    EXPECT_EQ(data, 0x00170020u);
}

TEST(IoApicWindow, RedirectionEntriesResetMaskedWithReadOnlyStatusBits) {
    testing::RecordingLog log;
    IoApicWindow ioapic(0x11, &log);
    ioapic.mmio_write(0x00, 4, 0x10 + 2 * 4); // entry 4, low dword
    EXPECT_EQ(ioapic.mmio_read(0x10, 4), 0x00010000u);
    ioapic.mmio_write(0x10, 4, 0x0000FF34 | (1u << 12) | (1u << 14));
    EXPECT_EQ(ioapic.mmio_read(0x10, 4), 0x0000AF34u);
    ioapic.mmio_write(0x00, 4, 0x10 + 2 * 4 + 1); // high dword: destination
    ioapic.mmio_write(0x10, 4, 0xFF000000);
    EXPECT_EQ(ioapic.mmio_read(0x10, 4), 0xFF000000u);
    ioapic.mmio_write(0x10, 1, 0x00); // IOWIN is 32-bit only
    EXPECT_EQ(log.lines.size(), 1u);
}

} // namespace
} // namespace transit86::pc
