// cmos_rtc: the MC146818 real-time clock and its 128 bytes of CMOS, at I/O 0x70 (index) and
// 0x71 (data), IRQ 8 — as QEMU models it (hw/rtc/mc146818rtc.c) on the Motorola MC146818A
// datasheet.
//
//   0x70 write  bits 6-0 select the CMOS byte; bit 7 is the PC's NMI mask (the chipset's, not
//               the RTC's: nmi_masked() reports it). Reads of 0x70 give 0xFF, as QEMU's.
//   0x00-0x09   seconds, alarm seconds, minutes, alarm minutes, hours, alarm hours, day of week
//               (1 = Sunday), day of month, month, year — BCD unless register B DM is set;
//               hours 12-hour with bit 7 = PM unless B 24/12 is set. While the clock runs,
//               reading one recomputes it from the virtual clock; writing one sets the clock.
//               An alarm byte of 0xC0-0xFF matches every value ("don't care").
//   0x0A  A     bit 7 UIP (read-only: set during the last 244 us of each second), bits 6-4
//               divider (010 = running; 11x = held in reset, no update cycles), bits 3-0 the
//               periodic-interrupt rate (period = 2^(rate-1) / 32768 s; rates 1, 2 as 8, 9).
//   0x0B  B     bit 7 SET (time frozen; clears UIE), 6 PIE, 5 AIE, 4 UIE, 3 SQWE, 2 DM
//               (binary), 1 24/12, 0 DSE.
//   0x0C  C     IRQF, PF, AF, UF (bits 7-4), read-only; reading clears it and lowers IRQ 8.
//   0x0D  D     0x80 (VRT: the battery is good), read-only.
//   0x32        century (BCD), kept by the clock as QEMU does with base year 0; 0x37 (the
//               IBM PS/2 century byte) is an alias that moves the index to 0x32.
//   others      plain storage (0x0F shutdown status, the BIOS's memory-size bytes, ...).
//
// Interrupts, as QEMU raises them: PF every period while PIE is set (QEMU runs no periodic
// timer while PIE is clear, so PF stays clear then); UF at the end of every update cycle; AF
// when the clock reaches the alarm. IRQF and IRQ 8 go up when a newly set flag is enabled in
// register B, and stay up until register C is read. Time is base date + virtual time: the
// same run gives the same dates.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "pc/device.hpp"

namespace transit86::pc {

// A UTC calendar date and time of day.
struct RtcDateTime {
    int year = 2026, month = 1, day = 1, hour = 0, minute = 0, second = 0;
};

class CmosRtc final : public IoDevice, public TimedDevice {
  public:
    static constexpr uint16_t kIndexPort = 0x70;
    static constexpr uint16_t kDataPort = 0x71;
    static constexpr unsigned kIrq = 8;

    // Register indexes and bits (mc146818rtc_regs.h).
    static constexpr uint8_t kSeconds = 0x00, kSecondsAlarm = 0x01, kMinutes = 0x02,
                             kMinutesAlarm = 0x03, kHours = 0x04, kHoursAlarm = 0x05,
                             kDayOfWeek = 0x06, kDayOfMonth = 0x07, kMonth = 0x08, kYear = 0x09,
                             kRegA = 0x0A, kRegB = 0x0B, kRegC = 0x0C, kRegD = 0x0D,
                             kShutdownStatus = 0x0F, kCentury = 0x32, kPs2Century = 0x37;
    static constexpr uint8_t kAUpdateInProgress = 0x80;
    static constexpr uint8_t kBSet = 0x80, kBPeriodicEnable = 0x40, kBAlarmEnable = 0x20,
                             kBUpdateEnable = 0x10, kBBinary = 0x04, kB24Hour = 0x02,
                             kBDaylightSaving = 0x01;
    static constexpr uint8_t kCIrq = 0x80, kCPeriodic = 0x40, kCAlarm = 0x20, kCUpdate = 0x10;

    // The clock reads `base` (UTC) at virtual time 0 and runs from there.
    CmosRtc(VirtualClock& clock, IrqLines& irqs, DeviceLog* log = nullptr, RtcDateTime base = {});

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;
    void advance() override;
    uint64_t next_event_ns() const override { return std::min(next_periodic_ns_, next_update_ns_); }

    // Port 0x70 bit 7 as last written: true = NMIs masked.
    bool nmi_masked() const { return nmi_masked_; }
    // Raw CMOS bytes for the platform's setup (QEMU's mc146818rtc_set_cmos_data): no side
    // effects, no time update.
    uint8_t cmos(uint8_t index) const { return cmos_[index & 0x7F]; }
    void set_cmos(uint8_t index, uint8_t value) { cmos_[index & 0x7F] = value; }
    // The date the clock shows now (for the platform and tests).
    RtcDateTime now() const;

  private:
    // Guest RTC time: whole seconds since 1970 plus the nanoseconds into the current one.
    struct RtcTime {
        int64_t seconds;
        uint64_t nanos;
    };

    uint8_t read_data();
    void write_data(uint8_t value);
    void write_reg_a(uint8_t value);
    void write_reg_b(uint8_t value);
    bool running() const;
    bool update_in_progress() const;
    RtcTime rtc_time() const;
    void registers_from_time();
    void time_from_registers();
    RtcDateTime registers_date() const;
    int from_bcd(uint8_t value) const;
    uint8_t to_bcd(int value) const;
    uint32_t periodic_ticks() const;
    void reschedule_periodic(uint64_t now, uint32_t old_period, bool period_changed);
    void fire_periodic(uint64_t now);
    void reschedule_update();
    void fire_update(uint64_t now);
    int64_t seconds_to_alarm() const;
    void raise_if_enabled(uint8_t new_flags);
    void set_irq(bool level);

    VirtualClock& clock_;
    IrqLines& irqs_;
    DeviceLog* log_;
    std::array<uint8_t, 128> cmos_{};
    uint8_t index_ = 0;
    bool nmi_masked_ = false;
    bool irq_level_ = false;
    // QEMU's get_guest_rtc_ns(): base_seconds_ * 1e9 + (now - last_update_ns_) + offset_ns_.
    int64_t base_seconds_ = 0;
    uint64_t last_update_ns_ = 0;
    uint64_t offset_ns_ = 0;
    uint32_t period_ = 0;                // periodic interval in 32.768 kHz ticks, 0 = off
    uint64_t next_periodic_ns_ = kNever; // also QEMU's next_periodic_time while period_ != 0
    uint64_t next_update_ns_ = kNever;   // next update cycle that changes something
    uint64_t next_alarm_ns_ = kNever;    // the update cycle at which the alarm matches
};

} // namespace transit86::pc
