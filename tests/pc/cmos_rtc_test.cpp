// The MC146818 RTC through ports 0x70/0x71, against the datasheet and QEMU's
// hw/rtc/mc146818rtc.c.
#include "pc/cmos_rtc.hpp"

#include <gtest/gtest.h>

#include "fake_platform.hpp"

namespace transit86::pc {
namespace {

using testing::RecordingIrqLines;

constexpr uint64_t kSecond = 1'000'000'000;

class CmosRtcTest : public ::testing::Test {
  protected:
    explicit CmosRtcTest(RtcDateTime base = {}) : rtc(clock, irqs, nullptr, base) {}
    uint8_t read(uint8_t index) {
        rtc.io_write(CmosRtc::kIndexPort, 1, index);
        return static_cast<uint8_t>(rtc.io_read(CmosRtc::kDataPort, 1));
    }
    void write(uint8_t index, uint8_t value) {
        rtc.io_write(CmosRtc::kIndexPort, 1, index);
        rtc.io_write(CmosRtc::kDataPort, 1, value);
    }
    void run_to(uint64_t ns) {
        clock.advance_to(ns);
        rtc.advance();
    }
    bool irq8() const { return irqs.levels[CmosRtc::kIrq]; }

    VirtualClock clock;
    RecordingIrqLines irqs;
    CmosRtc rtc;
};

class CmosRtcAfternoonTest : public CmosRtcTest {
  protected:
    CmosRtcAfternoonTest() : CmosRtcTest({2026, 3, 14, 15, 9, 26}) {}
};

// Power-on: the base date in BCD, 24-hour (QEMU's register B = 0x02). 2026-01-01 is a
// Thursday: day of week 5 (1 = Sunday).
TEST_F(CmosRtcTest, BaseDateInBcdAtPowerOn) {
    EXPECT_EQ(read(CmosRtc::kSeconds), 0x00);
    EXPECT_EQ(read(CmosRtc::kHours), 0x00);
    EXPECT_EQ(read(CmosRtc::kDayOfWeek), 5);
    EXPECT_EQ(read(CmosRtc::kDayOfMonth), 0x01);
    EXPECT_EQ(read(CmosRtc::kMonth), 0x01);
    EXPECT_EQ(read(CmosRtc::kYear), 0x26);
    EXPECT_EQ(read(CmosRtc::kCentury), 0x20);
    EXPECT_EQ(read(CmosRtc::kRegA), 0x26);
    EXPECT_EQ(read(CmosRtc::kRegB), 0x02);
}

// The clock is the base date plus virtual time, nothing else.
TEST_F(CmosRtcTest, TimeFollowsVirtualClock) {
    run_to(3661 * kSecond + kSecond / 2);
    EXPECT_EQ(read(CmosRtc::kHours), 0x01);
    EXPECT_EQ(read(CmosRtc::kMinutes), 0x01);
    EXPECT_EQ(read(CmosRtc::kSeconds), 0x01);
    run_to(31 * 86400 * kSecond);
    EXPECT_EQ(read(CmosRtc::kMonth), 0x02); // 2026-02-01
    EXPECT_EQ(read(CmosRtc::kDayOfMonth), 0x01);
}

// Register B DM = 1: binary values (datasheet Table 2).
TEST_F(CmosRtcAfternoonTest, BinaryModeWhenDmSet) {
    write(CmosRtc::kRegB, CmosRtc::kBBinary | CmosRtc::kB24Hour);
    EXPECT_EQ(read(CmosRtc::kHours), 15);
    EXPECT_EQ(read(CmosRtc::kMinutes), 9);
    EXPECT_EQ(read(CmosRtc::kSeconds), 26);
    EXPECT_EQ(read(CmosRtc::kYear), 26);
    write(CmosRtc::kRegB, CmosRtc::kB24Hour);
    EXPECT_EQ(read(CmosRtc::kHours), 0x15);
    EXPECT_EQ(read(CmosRtc::kSeconds), 0x26);
}

// Register B 24/12 = 0: hours 1-12 with bit 7 = PM (datasheet: "12-hour mode").
TEST_F(CmosRtcAfternoonTest, TwelveHourModeSetsPmBit) {
    write(CmosRtc::kRegB, 0x00);
    EXPECT_EQ(read(CmosRtc::kHours), 0x83); // 3 PM
}

TEST_F(CmosRtcTest, TwelveHourModeMidnightAndNoon) {
    write(CmosRtc::kRegB, 0x00);
    EXPECT_EQ(read(CmosRtc::kHours), 0x12); // 12 AM
    run_to(12 * 3600 * kSecond);
    EXPECT_EQ(read(CmosRtc::kHours), 0x92); // 12 PM
}

// Writing a time register while the clock runs sets the clock from the registers.
TEST_F(CmosRtcTest, WritingTimeSetsClock) {
    write(CmosRtc::kHours, 0x22);
    write(CmosRtc::kMinutes, 0x30);
    run_to(90 * kSecond);
    EXPECT_EQ(read(CmosRtc::kHours), 0x22);
    EXPECT_EQ(read(CmosRtc::kMinutes), 0x31);
    EXPECT_EQ(read(CmosRtc::kSeconds), 0x30);
}

// SET freezes the registers; clearing it restarts the clock from them (and SET clears UIE).
TEST_F(CmosRtcTest, SetBitFreezesTime) {
    write(CmosRtc::kRegB, CmosRtc::kBSet | CmosRtc::kBUpdateEnable | CmosRtc::kB24Hour);
    EXPECT_EQ(read(CmosRtc::kRegB), CmosRtc::kBSet | CmosRtc::kB24Hour);
    write(CmosRtc::kMinutes, 0x45);
    run_to(10 * kSecond);
    EXPECT_EQ(read(CmosRtc::kSeconds), 0x00);
    EXPECT_EQ(read(CmosRtc::kMinutes), 0x45);
    write(CmosRtc::kRegB, CmosRtc::kB24Hour);
    run_to(13 * kSecond);
    EXPECT_EQ(read(CmosRtc::kMinutes), 0x45);
    EXPECT_EQ(read(CmosRtc::kSeconds), 0x03);
}

// Register D reads VRT = 1 and ignores writes; register C ignores writes.
TEST_F(CmosRtcTest, RegisterDReadsValidRamAndTime) {
    write(CmosRtc::kRegD, 0x00);
    EXPECT_EQ(read(CmosRtc::kRegD), 0x80);
    write(CmosRtc::kRegC, 0xF0);
    EXPECT_EQ(read(CmosRtc::kRegC), 0x00);
}

// UIP reads 1 during the last 244 us before each update (QEMU's UIP_HOLD_LENGTH).
TEST_F(CmosRtcTest, UpdateInProgressBeforeEachSecond) {
    run_to(kSecond - 300'000);
    EXPECT_EQ(read(CmosRtc::kRegA), 0x26);
    run_to(kSecond - 200'000);
    EXPECT_EQ(read(CmosRtc::kRegA), 0xA6);
    run_to(kSecond);
    EXPECT_EQ(read(CmosRtc::kRegA), 0x26);
}

// Periodic interrupt, rate 6 = 1024 Hz: 32 ticks of 32.768 kHz, first due at
// floor(32 * 1e9 / 32768) + 1 ns after PIE is set at time 0; IRQF|PF and IRQ 8.
TEST_F(CmosRtcTest, PeriodicInterruptAtRegisterARate) {
    write(CmosRtc::kRegB, CmosRtc::kBPeriodicEnable | CmosRtc::kB24Hour);
    EXPECT_EQ(rtc.next_event_ns(), 976'563u);
    run_to(976'562);
    EXPECT_FALSE(irq8());
    run_to(976'563);
    EXPECT_TRUE(irq8());
    EXPECT_EQ(rtc.next_event_ns(), 1'953'126u);
    EXPECT_EQ(read(CmosRtc::kRegC), CmosRtc::kCIrq | CmosRtc::kCPeriodic);
    EXPECT_FALSE(irq8());
    EXPECT_EQ(read(CmosRtc::kRegC), 0x00);
}

// Rate 15 = 2 Hz, rates 1 and 2 behave as 8 and 9 (datasheet Table 3).
TEST_F(CmosRtcTest, PeriodicRatesFromTable) {
    write(CmosRtc::kRegA, 0x2F);
    write(CmosRtc::kRegB, CmosRtc::kBPeriodicEnable | CmosRtc::kB24Hour);
    EXPECT_EQ(rtc.next_event_ns(), kSecond / 2 + 1);
    write(CmosRtc::kRegA, 0x21); // rate 1 = rate 8: 128 ticks
    EXPECT_EQ(rtc.next_event_ns(), 3'906'250u + 1);
}

// With PIE clear QEMU runs no periodic timer: no PF, no interrupt.
TEST_F(CmosRtcTest, NoPeriodicFlagWhilePieClear) {
    run_to(kSecond / 2);
    EXPECT_EQ(read(CmosRtc::kRegC) & CmosRtc::kCPeriodic, 0);
}

// A late advance() delivers once and keeps the phase of the periodic train.
TEST_F(CmosRtcTest, PeriodicCatchesUpKeepingPhase) {
    write(CmosRtc::kRegA, 0x2F); // 16384 ticks
    write(CmosRtc::kRegB, CmosRtc::kBPeriodicEnable | CmosRtc::kB24Hour);
    run_to(5 * kSecond + 1000);
    EXPECT_TRUE(irq8());
    EXPECT_EQ(rtc.next_event_ns(), 5 * kSecond + kSecond / 2 + 1);
}

// Update-ended interrupt: UF at every second, IRQ 8 with UIE.
TEST_F(CmosRtcTest, UpdateEndedInterruptEverySecond) {
    write(CmosRtc::kRegB, CmosRtc::kBUpdateEnable | CmosRtc::kB24Hour);
    run_to(kSecond - 1);
    EXPECT_FALSE(irq8());
    run_to(kSecond);
    EXPECT_TRUE(irq8());
    EXPECT_EQ(read(CmosRtc::kRegC), CmosRtc::kCIrq | CmosRtc::kCUpdate);
    EXPECT_FALSE(irq8());
    EXPECT_EQ(rtc.next_event_ns(), 2 * kSecond);
}

// UF is set without UIE too, but raises nothing; enabling UIE then raises IRQ 8 at once
// (QEMU's register-B write).
TEST_F(CmosRtcTest, EnablingAFlagAlreadySetRaisesAtOnce) {
    run_to(kSecond);
    EXPECT_FALSE(irq8());
    write(CmosRtc::kRegB, CmosRtc::kBUpdateEnable | CmosRtc::kB24Hour);
    EXPECT_TRUE(irq8());
    EXPECT_EQ(read(CmosRtc::kRegC), CmosRtc::kCIrq | CmosRtc::kCUpdate);
}

// Alarm interrupt when the time reaches the alarm bytes.
TEST_F(CmosRtcTest, AlarmInterruptAtAlarmTime) {
    write(CmosRtc::kSecondsAlarm, 0x05);
    write(CmosRtc::kMinutesAlarm, 0x00);
    write(CmosRtc::kHoursAlarm, 0x00);
    write(CmosRtc::kRegB, CmosRtc::kBAlarmEnable | CmosRtc::kB24Hour);
    run_to(4 * kSecond);
    EXPECT_FALSE(irq8());
    run_to(5 * kSecond);
    EXPECT_TRUE(irq8());
    EXPECT_EQ(read(CmosRtc::kRegC), CmosRtc::kCIrq | CmosRtc::kCAlarm | CmosRtc::kCUpdate);
}

// Alarm bytes 0xC0-0xFF are "don't care": all three so, the alarm fires every second.
TEST_F(CmosRtcTest, DontCareAlarmEverySecond) {
    write(CmosRtc::kSecondsAlarm, 0xFF);
    write(CmosRtc::kMinutesAlarm, 0xFF);
    write(CmosRtc::kHoursAlarm, 0xFF);
    write(CmosRtc::kRegB, CmosRtc::kBAlarmEnable | CmosRtc::kB24Hour);
    run_to(kSecond);
    EXPECT_EQ(read(CmosRtc::kRegC), CmosRtc::kCIrq | CmosRtc::kCAlarm | CmosRtc::kCUpdate);
    run_to(2 * kSecond);
    EXPECT_EQ(read(CmosRtc::kRegC), CmosRtc::kCIrq | CmosRtc::kCAlarm | CmosRtc::kCUpdate);
}

// Dividers in reset (register A bits 6-5 = 11): no update cycles, the time stands; leaving
// reset restarts it with the first update half a second later.
TEST_F(CmosRtcTest, DividerResetStopsTheClock) {
    write(CmosRtc::kRegA, 0x66);
    EXPECT_EQ(rtc.next_event_ns(), TimedDevice::kNever);
    run_to(3 * kSecond);
    EXPECT_EQ(read(CmosRtc::kSeconds), 0x00);
    write(CmosRtc::kRegA, 0x26);
    EXPECT_EQ(rtc.next_event_ns(), 3 * kSecond + kSecond / 2);
}

// Port 0x70 bit 7 is the NMI mask; bits 6-0 the index. Port 0x70 reads 0xFF.
TEST_F(CmosRtcTest, NmiMaskBitOfIndexPort) {
    rtc.io_write(CmosRtc::kIndexPort, 1, 0x8F);
    EXPECT_TRUE(rtc.nmi_masked());
    rtc.io_write(CmosRtc::kDataPort, 1, 0x0A);
    rtc.io_write(CmosRtc::kIndexPort, 1, 0x0F);
    EXPECT_FALSE(rtc.nmi_masked());
    EXPECT_EQ(rtc.io_read(CmosRtc::kDataPort, 1), 0x0Au); // index 0x0F either way
    EXPECT_EQ(rtc.io_read(CmosRtc::kIndexPort, 1), 0xFFu);
}

// Shutdown status 0x0F and the other bytes are plain storage.
TEST_F(CmosRtcTest, CmosBytesArePlainStorage) {
    write(CmosRtc::kShutdownStatus, 0x0A);
    write(0x7F, 0x5A);
    EXPECT_EQ(read(CmosRtc::kShutdownStatus), 0x0A);
    EXPECT_EQ(read(0x7F), 0x5A);
}

// The IBM PS/2 century byte 0x37 aliases 0x32 (and moves the index there).
TEST_F(CmosRtcTest, Ps2CenturyAliasesCentury) {
    EXPECT_EQ(read(CmosRtc::kPs2Century), 0x20);
    EXPECT_EQ(rtc.io_read(CmosRtc::kDataPort, 1), 0x20u);
}

// A 16-bit IN from 0x70 reads 0x70 and 0x71 as bytes (QEMU splits it).
TEST_F(CmosRtcTest, WordReadSplitsIntoBytes) {
    rtc.io_write(CmosRtc::kIndexPort, 1, CmosRtc::kRegD);
    EXPECT_EQ(rtc.io_read(CmosRtc::kIndexPort, 2), 0x80FFu);
}

} // namespace
} // namespace transit86::pc
