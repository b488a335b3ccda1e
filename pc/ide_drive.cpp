#include "pc/ide_drive.hpp"

#include <algorithm>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

// Device control register (ATA-6 7.9).
constexpr uint8_t kNoInterrupt = 0x02;
constexpr uint8_t kSoftwareReset = 0x04;
constexpr uint8_t kHighOrderByte = 0x80;
// Device/head register (7.10): bits 7 and 5 always read 1 (QEMU ATA_DEV_ALWAYS_ON).
constexpr uint8_t kDeviceOne = 0x10;
constexpr uint8_t kAlwaysOne = 0xA0;
// DEVICE RESET, the one command a packet device takes while BSY or DRQ is set (ATA-6 8.10).
constexpr uint8_t kDeviceReset = 0x08;

} // namespace

IdeDrive::IdeDrive(IdeChannelPorts channel, bool packet_device, const char* log_name, IrqLines& irq,
                   DeviceLog* log)
    : channel_(channel), packet_device_(packet_device), log_name_(log_name), irq_(irq), log_(log) {}

void IdeDrive::reset_registers() {
    // QEMU ide_bus_reset / ide_reset: device 0 selected, interrupts enabled, the signature in
    // the registers, error 0; an ATA device DRDY and DSC, a packet device 00h (ATA-6 9.12).
    put_signature(task_[0], true, packet_device_);
    put_signature(task_[1], false, false);
    unit_ = 0;
    device_control_ = 0;
    in_software_reset_ = false;
    halt_transfer();
    status_ = packet_device_ ? 0 : kReady | kSeekComplete;
    error_ = 0;
    interrupt_pending_ = false;
    update_irq_line();
}

void IdeDrive::put_signature(TaskFile& task, bool present, bool packet) {
    // ATA-6 9.12: sector count 1, LBA low 1, LBA mid/high 00/00 for a non-packet device and
    // 14/EB for a packet device. QEMU gives an absent device FF/FF there (ide_set_signature).
    task = TaskFile{};
    task.count = 1;
    task.lba_low = 1;
    task.lba_mid = !present ? 0xFF : packet ? 0x14 : 0x00;
    task.lba_high = !present ? 0xFF : packet ? 0xEB : 0x00;
    task.device = kAlwaysOne;
}

void IdeDrive::put_own_signature() {
    const uint8_t device = task_[0].device;
    put_signature(task_[0], true, packet_device_);
    task_[0].device = device;
}

uint8_t IdeDrive::status() const {
    if (device1_selected()) return 0; // no device 1: QEMU reads 0
    return in_software_reset_ ? kBusy : status_;
}

void IdeDrive::raise_interrupt() {
    interrupt_pending_ = true;
    update_irq_line();
}

void IdeDrive::update_irq_line() {
    // nIEN releases INTRQ without forgetting the pending interrupt (ATA-6 7.9).
    const bool level = interrupt_pending_ && (device_control_ & kNoInterrupt) == 0;
    if (level == irq_level_) return;
    irq_level_ = level;
    irq_.set_irq(channel_.irq, level);
}

void IdeDrive::log_unmodelled(const std::string& what) const {
    if (log_) log_->unmodelled(log_name_, what);
}

// --- registers ------------------------------------------------------------------------------

uint8_t IdeDrive::read_register(uint16_t port) {
    const TaskFile& task = task_[unit_];
    const bool hob = (device_control_ & kHighOrderByte) != 0;
    switch (port - channel_.command_block) {
    case 1:
        if (device1_selected()) return 0;
        return hob ? task.hob_feature : error_;
    case 2: return hob ? task.hob_count : static_cast<uint8_t>(task.count);
    case 3: return hob ? task.hob_lba_low : task.lba_low;
    case 4: return hob ? task.hob_lba_mid : task.lba_mid;
    case 5: return hob ? task.hob_lba_high : task.lba_high;
    case 6: return task.device;
    default: // 7: status; reading it acknowledges the interrupt
        interrupt_pending_ = false;
        update_irq_line();
        return status();
    }
}

void IdeDrive::write_register(uint16_t port, uint8_t value) {
    const unsigned reg = port - channel_.command_block;
    if (reg != 7 && (status() & (kBusy | kDataRequest))) return;
    device_control_ &= static_cast<uint8_t>(~kHighOrderByte); // any write clears HOB
    // Both devices latch what the host writes; each keeps the previous byte as its HOB.
    const auto latch = [value](auto& current, uint8_t& previous) {
        previous = static_cast<uint8_t>(current);
        current = value;
    };
    for (TaskFile& task : task_) {
        switch (reg) {
        case 1: latch(task.feature, task.hob_feature); break;
        case 2: latch(task.count, task.hob_count); break;
        case 3: latch(task.lba_low, task.hob_lba_low); break;
        case 4: latch(task.lba_mid, task.hob_lba_mid); break;
        case 5: latch(task.lba_high, task.hob_lba_high); break;
        case 6: task.device = value | kAlwaysOne; break;
        default: break;
        }
    }
    if (reg == 6) unit_ = (value & kDeviceOne) ? 1 : 0;
    if (reg == 7) {
        interrupt_pending_ = false;
        update_irq_line();
        execute(value);
    }
}

void IdeDrive::write_device_control(uint8_t value) {
    const bool was_resetting = (device_control_ & kSoftwareReset) != 0;
    device_control_ = value;
    if (!was_resetting && (value & kSoftwareReset)) {
        // SRST set: the devices stop what they do and stay busy while it is held.
        halt_transfer();
        in_software_reset_ = true;
        interrupt_pending_ = false;
    } else if (was_resetting && !(value & kSoftwareReset)) {
        finish_software_reset();
    }
    update_irq_line();
}

void IdeDrive::finish_software_reset() {
    // QEMU ide_perform_srst: ide_reset, then the diagnostic (error 01: device 0 passed,
    // device 1 absent); a packet device leaves DRDY clear. No interrupt: ATA-6 9.2 says the
    // device does not assert INTRQ.
    in_software_reset_ = false;
    put_signature(task_[0], true, packet_device_);
    put_signature(task_[1], false, false);
    unit_ = 0;
    status_ = packet_device_ ? 0 : kReady | kSeekComplete;
    error_ = 0x01;
    software_reset_done();
}

// --- data port --------------------------------------------------------------------------------

uint32_t IdeDrive::read_data(uint8_t size) {
    // Outside a PIO data-in block the data register reads 0 and nothing moves (QEMU).
    if (!(status() & kDataRequest) || transfer_ != Transfer::ToHost) return 0;
    // A packet reply may end in the middle of a word: the host reads the rest as zeros.
    uint32_t value = 0;
    for (uint8_t i = 0; i < size && data_pos_ + i < data_end_; ++i)
        value |= uint32_t{buffer_[data_pos_ + i]} << (8 * i);
    data_pos_ = std::min(data_pos_ + size, data_end_);
    if (data_pos_ >= data_end_) end_of_block();
    return value;
}

void IdeDrive::write_data(uint8_t size, uint32_t value) {
    if (!(status() & kDataRequest) || transfer_ != Transfer::FromHost) return;
    if (data_pos_ + size > data_end_) return;
    for (uint8_t i = 0; i < size; ++i)
        buffer_[data_pos_ + i] = static_cast<uint8_t>(value >> (8 * i));
    data_pos_ += size;
    if (data_pos_ >= data_end_) end_of_block();
}

void IdeDrive::begin_transfer(Transfer direction, uint32_t bytes) {
    transfer_ = direction;
    data_pos_ = 0;
    data_end_ = bytes;
    if (!(status_ & kError)) status_ |= kDataRequest;
}

void IdeDrive::end_of_block() {
    status_ &= static_cast<uint8_t>(~kDataRequest);
    transfer_ = Transfer::None;
    block_done();
}

void IdeDrive::halt_transfer() {
    transfer_ = Transfer::None;
    data_pos_ = data_end_ = 0;
    status_ &= static_cast<uint8_t>(~kDataRequest);
}

void IdeDrive::abort_command() {
    halt_transfer();
    status_ = kReady | kError;
    error_ = kAbort;
}

// --- commands -----------------------------------------------------------------------------------

std::optional<IdeDrive::Outcome> IdeDrive::power_command(uint8_t command) {
    switch (command) {
    case 0xE5: // CHECK POWER MODE: active or idle
    case 0x98: regs().count = 0xFF; return Outcome::DoneWithSeek;
    case 0xE0: // STANDBY IMMEDIATE, IDLE IMMEDIATE, STANDBY, IDLE, SLEEP (and their old codes)
    case 0xE1:
    case 0xE2:
    case 0xE3:
    case 0xE6:
    case 0x94:
    case 0x95:
    case 0x96:
    case 0x97:
    case 0x99: return Outcome::Done;
    default: return std::nullopt;
    }
}

void IdeDrive::execute(uint8_t command) {
    if (device1_selected()) return; // QEMU ignores commands to an absent device 1
    if ((status() & (kBusy | kDataRequest)) && !(packet_device_ && command == kDeviceReset)) return;
    status_ = kReady | kBusy;
    error_ = 0;
    const std::optional<Outcome> power = power_command(command);
    switch (power ? *power : run_command(command)) {
    case Outcome::Transferring: return;
    case Outcome::Unsupported: abort_command(); break;
    case Outcome::DoneWithSeek:
        if (error_ == 0) status_ |= kSeekComplete;
        break;
    case Outcome::Done: break;
    }
    status_ &= static_cast<uint8_t>(~kBusy);
    raise_interrupt();
}

// --- ports --------------------------------------------------------------------------------------

uint32_t IdeDrive::io_read(uint16_t port, uint8_t size) {
    const uint16_t base = channel_.command_block;
    if (port == base && (size == 2 || size == 4)) return read_data(size);
    if (port == base && size == 1) {
        log_unmodelled("byte read of the data register");
        return 0xFF;
    }
    return read_byte_lanes(port, size, [this, base](uint16_t p) -> uint8_t {
        if (p > base && p <= base + 7) return read_register(p);
        if (p == channel_.device_control) return status(); // alternate status: no acknowledge
        return 0xFF;
    });
}

void IdeDrive::io_write(uint16_t port, uint8_t size, uint32_t value) {
    const uint16_t base = channel_.command_block;
    if (port == base && (size == 2 || size == 4)) {
        write_data(size, value);
        return;
    }
    if (port == base && size == 1) {
        log_unmodelled("byte write to the data register");
        return;
    }
    write_byte_lanes(port, size, value, [this, base](uint16_t p, uint8_t v) {
        if (p > base && p <= base + 7) {
            write_register(p, v);
        } else if (p == channel_.device_control) {
            write_device_control(v);
        }
    });
}

} // namespace transit86::pc
