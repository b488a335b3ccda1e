#include "pc/piix4_pm.hpp"

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

__extension__ typedef unsigned __int128 u128;
constexpr uint64_t kNsPerSecond = 1'000'000'000;

constexpr uint16_t k82371abPm = 0x7113;
constexpr uint32_t kOtherBridgeClass = 0x068000;

// PM1 bits (ACPI 1.0b, tables 4-13 to 4-16; QEMU include/hw/acpi/acpi.h).
constexpr uint16_t kTimerStatus = 0x0001;
constexpr uint16_t kGlobalStatus = 0x0020;
constexpr uint16_t kPowerButtonStatus = 0x0100;
constexpr uint16_t kRtcStatus = 0x0400;
constexpr uint16_t kSciSources = kTimerStatus | kGlobalStatus | kPowerButtonStatus | kRtcStatus;
constexpr uint16_t kSciEnable = 0x0001;
constexpr uint16_t kSleepEnable = 0x2000;
constexpr uint64_t kTimerBit23 = 0x800000;

// Block offsets.
constexpr uint16_t kPm1Enable = 2;
constexpr uint16_t kPm1Control = 4;
constexpr uint16_t kPmTimer = 8;

// APM control commands the FADT names (QEMU hw/acpi/piix4.c, ACPI_ENABLE / ACPI_DISABLE).
constexpr uint8_t kAcpiEnable = 0xF1;
constexpr uint8_t kAcpiDisable = 0xF0;

uint64_t ns_of_timer_tick(uint64_t tick) {
    const u128 ns = (u128{tick} * kNsPerSecond + Piix4Pm::kTimerHz - 1) / Piix4Pm::kTimerHz;
    return ns > u128{TimedDevice::kNever} ? TimedDevice::kNever : static_cast<uint64_t>(ns);
}

uint8_t byte_of(uint16_t value, uint16_t offset) {
    return static_cast<uint8_t>(value >> (8 * (offset & 1)));
}

uint16_t with_byte(uint16_t value, uint16_t offset, uint8_t byte) {
    const unsigned shift = 8 * (offset & 1);
    return static_cast<uint16_t>((value & ~(0xFFu << shift)) | (unsigned{byte} << shift));
}

} // namespace

Piix4Pm::Piix4Pm(const VirtualClock& clock, IrqLines& irq, DeviceLog* log)
    : PciFunction(kIntelVendorId, k82371abPm, 0x03, kOtherBridgeClass, 0x00), clock_(clock),
      irq_(irq), log_(log) {
    // QEMU piix4_pm_realize / piix4_pm_reset and pc_piix (SMBus at 0xB100).
    set_word(0x06, 0x0280);
    set_byte(0x3D, 0x01); // INTA#
    set_dword(kPmba, 0x00000001);
    set_write_mask_dword(kPmba, 0x0000FFC0);
    set_byte(0x5B, 0x02);
    set_byte(0x5F, 0x10);
    set_byte(0x63, 0x60);
    set_byte(0x67, 0x08);
    set_dword(kSmbba, 0x0000B101);
    set_write_mask_dword(kSmbba, 0x0000FFF0);
    set_byte(0xD2, 0x09);
    overflow_tick_ = (timer_ticks() / kTimerBit23 + 1) * kTimerBit23;
}

// Every member but the two register windows, which are built for this object.
Piix4Pm::Piix4Pm(const Piix4Pm& other)
    : PciFunction(other), TimedDevice(other), on_io_window_change(other.on_io_window_change),
      on_sleep(other.on_sleep), clock_(other.clock_), irq_(other.irq_), log_(other.log_),
      status_(other.status_), enable_(other.enable_), control_(other.control_),
      overflow_tick_(other.overflow_tick_), apm_control_(other.apm_control_),
      apm_status_(other.apm_status_), sci_level_(other.sci_level_),
      window_enabled_(other.window_enabled_), window_base_(other.window_base_) {}

uint16_t Piix4Pm::io_base() const {
    return static_cast<uint16_t>(dword(kPmba) & 0xFFC0);
}

bool Piix4Pm::io_enabled() const {
    return (byte(kPmRegMisc) & 1) != 0;
}

void Piix4Pm::config_written(uint8_t offset, uint8_t size) {
    if (!touches(offset, size, kPmba, 4) && !touches(offset, size, kPmRegMisc, 1)) return;
    // Only where the block decodes matters: a base written while it is disabled is not news.
    const uint16_t base = io_enabled() ? io_base() : 0;
    if (io_enabled() == window_enabled_ && base == window_base_) return;
    window_enabled_ = io_enabled();
    window_base_ = base;
    if (on_io_window_change) on_io_window_change(window_enabled_, window_base_);
}

uint64_t Piix4Pm::timer_ticks() const {
    return static_cast<uint64_t>(u128{clock_.now_ns()} * kTimerHz / kNsPerSecond);
}

uint16_t Piix4Pm::event_status() {
    // TMR_STS is latched lazily, when someone looks (QEMU acpi_pm1_evt_get_sts).
    if (timer_ticks() >= overflow_tick_) status_ |= kTimerStatus;
    return status_;
}

void Piix4Pm::clear_status(uint16_t bits) {
    const uint16_t current = event_status();
    // Clearing TMR_STS arms it for the next change of bit 23 (acpi_pm1_evt_write_sts).
    if (current & bits & kTimerStatus)
        overflow_tick_ = (timer_ticks() / kTimerBit23 + 1) * kTimerBit23;
    status_ = static_cast<uint16_t>(current & ~bits);
}

void Piix4Pm::write_control(uint16_t value) {
    control_ = static_cast<uint16_t>(value & ~kSleepEnable);
    if ((value & kSleepEnable) && on_sleep) on_sleep((value >> 10) & 7);
}

void Piix4Pm::update_sci() {
    const bool level = (event_status() & enable_ & kSciSources) != 0;
    if (level == sci_level_) return;
    sci_level_ = level;
    irq_.set_irq(kSciIrq, level);
}

void Piix4Pm::advance() {
    update_sci();
}

uint64_t Piix4Pm::next_event_ns() const {
    if ((enable_ & kTimerStatus) == 0 || (status_ & kTimerStatus) != 0) return kNever;
    return ns_of_timer_tick(overflow_tick_);
}

uint8_t Piix4Pm::read_block_byte(uint16_t offset) {
    if (offset < kPm1Enable) return byte_of(event_status(), offset);
    if (offset < kPm1Control) return byte_of(enable_, offset);
    if (offset < kPm1Control + 2) return byte_of(control_, offset);
    if (offset >= kPmTimer && offset < kPmTimer + 4) {
        const uint32_t timer = static_cast<uint32_t>(timer_ticks() & 0xFFFFFF);
        return static_cast<uint8_t>(timer >> (8 * (offset - kPmTimer)));
    }
    if (log_)
        log_->unmodelled("piix4_pm", "read of a PM register other than PM1_STS/EN/CNT and PM_TMR");
    return 0xFF;
}

void Piix4Pm::write_block_byte(uint16_t offset, uint8_t value) {
    if (offset < kPm1Enable) {
        clear_status(with_byte(0, offset, value));
    } else if (offset < kPm1Control) {
        enable_ = with_byte(enable_, offset, value);
    } else if (offset < kPm1Control + 2) {
        write_control(with_byte(control_, offset, value));
    } else if (offset < kPmTimer || offset >= kPmTimer + 4) {
        if (log_) log_->unmodelled("piix4_pm", "write to a PM register other than PM1_STS/EN/CNT");
    } // PM_TMR is read-only
}

uint32_t Piix4Pm::PmRegisters::io_read(uint16_t port, uint8_t size) {
    const uint16_t base = pm_.io_base();
    const uint32_t value = read_byte_lanes(port, size, [&](uint16_t p) -> uint8_t {
        if (!pm_.io_enabled() || p < base || p >= base + kBlockSize) return 0xFF;
        return pm_.read_block_byte(static_cast<uint16_t>(p - base));
    });
    pm_.update_sci();
    return value;
}

void Piix4Pm::PmRegisters::io_write(uint16_t port, uint8_t size, uint32_t value) {
    const uint16_t base = pm_.io_base();
    write_byte_lanes(port, size, value, [&](uint16_t p, uint8_t v) {
        if (!pm_.io_enabled() || p < base || p >= base + kBlockSize) {
            if (pm_.log_) pm_.log_->unmodelled("piix4_pm", "write outside the enabled PMBA block");
            return;
        }
        pm_.write_block_byte(static_cast<uint16_t>(p - base), v);
    });
    pm_.update_sci();
}

uint32_t Piix4Pm::ApmPorts::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [&](uint16_t p) -> uint8_t {
        if (p == kApmControl) return pm_.apm_control_;
        if (p == kApmStatus) return pm_.apm_status_;
        return 0xFF;
    });
}

void Piix4Pm::ApmPorts::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [&](uint16_t p, uint8_t v) {
        if (p == kApmStatus) {
            pm_.apm_status_ = v;
        } else if (p == kApmControl) {
            pm_.apm_control_ = v;
            if (v == kAcpiEnable) {
                pm_.control_ |= kSciEnable;
            } else if (v == kAcpiDisable) {
                pm_.control_ = static_cast<uint16_t>(pm_.control_ & ~kSciEnable);
            } else {
                if (pm_.log_)
                    pm_.log_->unmodelled("piix4_pm", "APM command other than ACPI enable/disable "
                                                     "(no SMI is raised)");
            }
        }
    });
}

} // namespace transit86::pc
