#include "pc/cmos_rtc.hpp"

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86400;
constexpr uint64_t kRtcHz = 32768; // the MC146818's time base
// QEMU's UIP_HOLD_LENGTH: UIP reads 1 for the last 8 time-base cycles of each second.
constexpr uint64_t kUipHoldNs = 8 * kNsPerSecond / kRtcHz;
constexpr uint8_t kADividerMask = 0x70;
constexpr uint8_t kADividerReset = 0x60;      // 11x: dividers held in reset
constexpr uint8_t kADividerRunningMax = 0x20; // 000, 001, 010: the oscillator runs
constexpr uint8_t kCFlags = 0x70;             // PF | AF | UF, also PIE | AIE | UIE in B

int64_t floor_div(int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
int64_t floor_mod(int64_t a, int64_t b) {
    return a - floor_div(a, b) * b;
}

// Days since 1970-01-01 for a Gregorian date, by QEMU's mktimegm arithmetic (a month or day
// out of range still yields a number, never undefined behaviour).
int64_t days_from_date(int64_t year, int64_t month, int64_t day) {
    if (month < 3) {
        month += 12;
        year -= 1;
    }
    return day + (153 * month - 457) / 5 + 365 * year + floor_div(year, 4) - floor_div(year, 100) +
           floor_div(year, 400) - 719469;
}

// The inverse for valid day counts (H. Hinnant's civil_from_days).
void date_from_days(int64_t days, int64_t& year, int& month, int& day) {
    const int64_t z = days + 719468;
    const int64_t era = floor_div(z, 146097);
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

// Exact floor(ns * 32768 / 1e9) and floor(ticks * 1e9 / 32768) without 128-bit products
// (QEMU's muldiv64).
uint64_t ticks_from_ns(uint64_t ns) {
    return ns / kNsPerSecond * kRtcHz + ns % kNsPerSecond * kRtcHz / kNsPerSecond;
}
uint64_t ns_from_ticks(uint64_t ticks) {
    return ticks / kRtcHz * kNsPerSecond + ticks % kRtcHz * kNsPerSecond / kRtcHz;
}

bool is_time_register(uint8_t index) {
    return index == CmosRtc::kSeconds || index == CmosRtc::kMinutes || index == CmosRtc::kHours ||
           (index >= CmosRtc::kDayOfWeek && index <= CmosRtc::kYear) ||
           index == CmosRtc::kCentury || index == CmosRtc::kPs2Century;
}

} // namespace

CmosRtc::CmosRtc(VirtualClock& clock, IrqLines& irqs, DeviceLog* log, RtcDateTime base)
    : clock_(clock), irqs_(irqs), log_(log) {
    // rtc_realizefn: divider running at 32.768 kHz with rate 6 (1024 Hz), 24-hour BCD,
    // battery good.
    cmos_[kRegA] = 0x26;
    cmos_[kRegB] = kB24Hour;
    cmos_[kRegD] = 0x80;
    base_seconds_ = days_from_date(base.year, base.month, base.day) * kSecondsPerDay +
                    int64_t{base.hour} * 3600 + int64_t{base.minute} * 60 + base.second;
    last_update_ns_ = clock_.now_ns();
    registers_from_time();
    reschedule_update();
}

uint32_t CmosRtc::io_read(uint16_t port, uint8_t size) {
    advance();
    return read_byte_lanes(port, size, [this](uint16_t p) -> uint8_t {
        return p == kDataPort ? read_data() : 0xFF; // the index port reads 0xFF in QEMU
    });
}

void CmosRtc::io_write(uint16_t port, uint8_t size, uint32_t value) {
    advance();
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t byte) {
        if (p == kIndexPort) {
            index_ = byte & 0x7F;
            nmi_masked_ = (byte & 0x80) != 0;
        } else if (p == kDataPort) {
            write_data(byte);
        }
    });
}

void CmosRtc::advance() {
    const uint64_t now = clock_.now_ns();
    if (next_periodic_ns_ <= now) fire_periodic(now);
    if (next_update_ns_ <= now) fire_update(now);
}

uint8_t CmosRtc::read_data() {
    if (index_ == kPs2Century) index_ = kCentury;
    if (is_time_register(index_)) {
        if (running()) registers_from_time();
        return cmos_[index_];
    }
    if (index_ == kRegA)
        return static_cast<uint8_t>(cmos_[kRegA] | (update_in_progress() ? kAUpdateInProgress : 0));
    if (index_ == kRegC) {
        const uint8_t flags = cmos_[kRegC];
        set_irq(false);
        cmos_[kRegC] = 0;
        if (flags & (kCUpdate | kCAlarm)) reschedule_update();
        return flags;
    }
    return cmos_[index_];
}

void CmosRtc::write_data(uint8_t value) {
    if (index_ == kPs2Century) index_ = kCentury;
    switch (index_) {
    case kSecondsAlarm:
    case kMinutesAlarm:
    case kHoursAlarm:
        cmos_[index_] = value;
        reschedule_update();
        return;
    case kRegA: write_reg_a(value); return;
    case kRegB: write_reg_b(value); return;
    case kRegC:
    case kRegD: return; // read-only
    default: break;
    }
    cmos_[index_] = value;
    if (is_time_register(index_) && running()) {
        time_from_registers();
        reschedule_update();
    }
}

void CmosRtc::write_reg_a(uint8_t value) {
    const bool rate_changed = ((cmos_[kRegA] ^ value) & 0x0F) != 0;
    const uint32_t old_period = periodic_ticks();
    if ((value & kADividerReset) == kADividerReset) {
        if (running()) registers_from_time(); // freeze the time as it is now
        cmos_[kRegA] &= ~kAUpdateInProgress;
    } else if ((cmos_[kRegA] & kADividerReset) == kADividerReset &&
               (value & kADividerMask) <= kADividerRunningMax) {
        // Datasheet: the first update cycle begins 500 ms after the dividers leave reset.
        if (!(cmos_[kRegB] & kBSet)) {
            offset_ns_ = kNsPerSecond / 2;
            time_from_registers();
        }
        cmos_[kRegA] &= ~kAUpdateInProgress;
    }
    cmos_[kRegA] =
        static_cast<uint8_t>((value & ~kAUpdateInProgress) | (cmos_[kRegA] & kAUpdateInProgress));
    if (rate_changed) reschedule_periodic(clock_.now_ns(), old_period, true);
    reschedule_update();
}

void CmosRtc::write_reg_b(uint8_t value) {
    const bool pie_changed = ((cmos_[kRegB] ^ value) & kBPeriodicEnable) != 0;
    const uint32_t old_period = periodic_ticks();
    if (value & kBSet) {
        if (running()) registers_from_time();
        cmos_[kRegA] &= ~kAUpdateInProgress;
        value &= static_cast<uint8_t>(~kBUpdateEnable); // datasheet: SET clears UIE
    } else if ((cmos_[kRegB] & kBSet) && (cmos_[kRegA] & kADividerMask) <= kADividerRunningMax) {
        // Leaving SET: the clock restarts from the registers, keeping its sub-second phase.
        offset_ns_ = rtc_time().nanos;
        time_from_registers();
    }
    // A flag already set raises the interrupt as soon as it is enabled.
    if (value & cmos_[kRegC] & kCFlags) {
        cmos_[kRegC] |= kCIrq;
        set_irq(true);
    } else {
        cmos_[kRegC] &= static_cast<uint8_t>(~kCIrq);
        set_irq(false);
    }
    if ((value & kBDaylightSaving) && !(cmos_[kRegB] & kBDaylightSaving) && log_)
        log_->unmodelled("cmos_rtc", "register B DSE (daylight saving) is ignored, as in QEMU");
    cmos_[kRegB] = value;
    if (pie_changed) reschedule_periodic(clock_.now_ns(), old_period, true);
    reschedule_update();
}

bool CmosRtc::running() const {
    return !(cmos_[kRegB] & kBSet) && (cmos_[kRegA] & kADividerMask) <= kADividerRunningMax;
}

bool CmosRtc::update_in_progress() const {
    return running() && rtc_time().nanos >= kNsPerSecond - kUipHoldNs;
}

CmosRtc::RtcTime CmosRtc::rtc_time() const {
    const uint64_t elapsed = clock_.now_ns() - last_update_ns_ + offset_ns_;
    return {base_seconds_ + static_cast<int64_t>(elapsed / kNsPerSecond), elapsed % kNsPerSecond};
}

RtcDateTime CmosRtc::now() const {
    const int64_t seconds = rtc_time().seconds;
    const int64_t days = floor_div(seconds, kSecondsPerDay);
    const int64_t second_of_day = seconds - days * kSecondsPerDay;
    RtcDateTime out;
    int64_t year = 0;
    date_from_days(days, year, out.month, out.day);
    out.year = static_cast<int>(year);
    out.hour = static_cast<int>(second_of_day / 3600);
    out.minute = static_cast<int>(second_of_day / 60 % 60);
    out.second = static_cast<int>(second_of_day % 60);
    return out;
}

// rtc_update_time + rtc_set_cmos: the registers show the clock, in the format register B asks.
void CmosRtc::registers_from_time() {
    if (cmos_[kRegB] & kBSet) return;
    const RtcDateTime t = now();
    const int64_t days = floor_div(rtc_time().seconds, kSecondsPerDay);
    cmos_[kSeconds] = to_bcd(t.second);
    cmos_[kMinutes] = to_bcd(t.minute);
    if (cmos_[kRegB] & kB24Hour) {
        cmos_[kHours] = to_bcd(t.hour);
    } else {
        const int hour12 = t.hour % 12 ? t.hour % 12 : 12;
        cmos_[kHours] = static_cast<uint8_t>(to_bcd(hour12) | (t.hour >= 12 ? 0x80 : 0));
    }
    cmos_[kDayOfWeek] = to_bcd(static_cast<int>(floor_mod(days + 4, 7)) + 1); // 1970-01-01: Thu
    cmos_[kDayOfMonth] = to_bcd(t.day);
    cmos_[kMonth] = to_bcd(t.month);
    cmos_[kYear] = to_bcd(t.year % 100);
    cmos_[kCentury] = to_bcd(t.year / 100);
}

// rtc_get_time: the date the registers hold, as the guest wrote them.
RtcDateTime CmosRtc::registers_date() const {
    RtcDateTime d;
    d.second = from_bcd(cmos_[kSeconds]);
    d.minute = from_bcd(cmos_[kMinutes]);
    d.hour = from_bcd(cmos_[kHours] & 0x7F);
    if (!(cmos_[kRegB] & kB24Hour)) d.hour = d.hour % 12 + (cmos_[kHours] & 0x80 ? 12 : 0);
    d.day = from_bcd(cmos_[kDayOfMonth]);
    d.month = from_bcd(cmos_[kMonth]);
    d.year = from_bcd(cmos_[kYear]) + from_bcd(cmos_[kCentury]) * 100;
    return d;
}

// rtc_set_time: the clock continues from what the registers say, from now.
void CmosRtc::time_from_registers() {
    const RtcDateTime d = registers_date();
    base_seconds_ = days_from_date(d.year, d.month, d.day) * kSecondsPerDay +
                    int64_t{d.hour} * 3600 + int64_t{d.minute} * 60 + d.second;
    last_update_ns_ = clock_.now_ns();
}

// -1 for a "don't care" byte (0xC0-0xFF), as QEMU's rtc_from_bcd.
int CmosRtc::from_bcd(uint8_t value) const {
    if ((value & 0xC0) == 0xC0) return -1;
    if (cmos_[kRegB] & kBBinary) return value;
    return (value >> 4) * 10 + (value & 0x0F);
}

uint8_t CmosRtc::to_bcd(int value) const {
    if (cmos_[kRegB] & kBBinary) return static_cast<uint8_t>(value);
    return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

// Register A rates 1 and 2 behave as 8 and 9 (datasheet Table 3); the period counts 32.768
// kHz ticks. QEMU runs the periodic timer only while PIE is set.
uint32_t CmosRtc::periodic_ticks() const {
    if (!(cmos_[kRegB] & kBPeriodicEnable)) return 0;
    unsigned rate = cmos_[kRegA] & 0x0F;
    if (rate == 0) return 0;
    if (rate <= 2) rate += 7;
    return 1u << (rate - 1);
}

// periodic_timer_update with the "discard" lost-tick policy: a period change keeps the phase
// of the last interrupt, and at most one period is made up.
void CmosRtc::reschedule_periodic(uint64_t now, uint32_t old_period, bool period_changed) {
    period_ = periodic_ticks();
    if (period_ == 0) {
        next_periodic_ns_ = kNever;
        return;
    }
    const uint64_t now_tick = ticks_from_ns(now);
    uint64_t lost = 0;
    if (old_period && period_changed && next_periodic_ns_ != kNever) {
        const uint64_t last_tick = ticks_from_ns(next_periodic_ns_) - old_period;
        lost = now_tick > last_tick ? now_tick - last_tick : 0;
    }
    lost = std::min<uint64_t>(lost, period_);
    next_periodic_ns_ = ns_from_ticks(now_tick + period_ - lost) + 1;
}

// rtc_periodic_timer, for every period that ended by `now` (the flags are sticky, so one
// delivery stands for all of them).
void CmosRtc::fire_periodic(uint64_t now) {
    uint64_t tick = ticks_from_ns(next_periodic_ns_);
    const uint64_t now_tick = ticks_from_ns(now);
    if (now_tick > tick) tick += (now_tick - tick) / period_ * period_;
    do {
        tick += period_;
    } while (ns_from_ticks(tick) + 1 <= now);
    next_periodic_ns_ = ns_from_ticks(tick) + 1;
    cmos_[kRegC] |= kCPeriodic;
    if (cmos_[kRegB] & kBPeriodicEnable) {
        cmos_[kRegC] |= kCIrq;
        set_irq(true);
    }
}

// check_update_timer: when the next update cycle matters. Once UF is set it only matters if
// AF can still become set.
void CmosRtc::reschedule_update() {
    if ((cmos_[kRegA] & kADividerReset) == kADividerReset) {
        next_update_ns_ = next_alarm_ns_ = kNever;
        return;
    }
    const uint64_t next_second = clock_.now_ns() + (kNsPerSecond - rtc_time().nanos);
    const int64_t to_alarm = seconds_to_alarm();
    next_alarm_ns_ =
        to_alarm > 0 ? next_second + static_cast<uint64_t>(to_alarm - 1) * kNsPerSecond : kNever;
    if (!(cmos_[kRegC] & kCUpdate))
        next_update_ns_ = next_second;
    else if ((cmos_[kRegB] & kBSet) || (cmos_[kRegC] & kCAlarm))
        next_update_ns_ = kNever;
    else
        next_update_ns_ = next_alarm_ns_;
}

// rtc_update_timer: the end of an update cycle.
void CmosRtc::fire_update(uint64_t now) {
    uint8_t flags = kCUpdate;
    if (now >= next_alarm_ns_) flags |= kCAlarm;
    raise_if_enabled(flags);
    reschedule_update();
}

void CmosRtc::raise_if_enabled(uint8_t flags) {
    const uint8_t newly_set = flags & ~cmos_[kRegC];
    cmos_[kRegC] |= flags;
    if (newly_set & cmos_[kRegB]) {
        cmos_[kRegC] |= kCIrq;
        set_irq(true);
    }
}

// Seconds from now until the time of day matches the alarm bytes (1 .. 86400), -1 if it never
// does. The alarm hour in 12-hour mode carries its own PM bit (QEMU looks at the hours
// register's instead).
int64_t CmosRtc::seconds_to_alarm() const {
    const int alarm_second = from_bcd(cmos_[kSecondsAlarm]);
    const int alarm_minute = from_bcd(cmos_[kMinutesAlarm]);
    int alarm_hour = -1;
    if ((cmos_[kHoursAlarm] & 0xC0) != 0xC0) {
        const bool hour24 = cmos_[kRegB] & kB24Hour;
        alarm_hour = from_bcd(static_cast<uint8_t>(cmos_[kHoursAlarm] & (hour24 ? 0xFF : 0x7F)));
        if (!hour24) alarm_hour = alarm_hour % 12 + (cmos_[kHoursAlarm] & 0x80 ? 12 : 0);
    }
    if (alarm_second >= 60 || alarm_minute >= 60 || alarm_hour >= 24) return -1;

    int64_t now_of_day = 0;
    if (!(cmos_[kRegB] & kBSet)) {
        now_of_day = floor_mod(rtc_time().seconds, kSecondsPerDay);
    } else {
        const RtcDateTime r = registers_date();
        now_of_day =
            std::max(r.hour, 0) * 3600 + std::max(r.minute, 0) * 60 + std::max(r.second, 0);
    }
    // Step to the next candidate hour, then minute, then second: a few dozen steps at most.
    for (int64_t ahead = 1; ahead <= kSecondsPerDay;) {
        const int64_t t = floor_mod(now_of_day + ahead, kSecondsPerDay);
        if (alarm_hour >= 0 && t / 3600 != alarm_hour) {
            ahead += 3600 - t % 3600;
        } else if (alarm_minute >= 0 && t / 60 % 60 != alarm_minute) {
            ahead += 60 - t % 60;
        } else if (alarm_second >= 0 && t % 60 != alarm_second) {
            ahead += 1;
        } else {
            return ahead;
        }
    }
    return -1;
}

void CmosRtc::set_irq(bool level) {
    if (level == irq_level_) return;
    irq_level_ = level;
    irqs_.set_irq(kIrq, level);
}

} // namespace transit86::pc
