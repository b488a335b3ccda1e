#include "pc/port61.hpp"

#include <algorithm>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {
constexpr uint8_t kTimer2Gate = 0x01;
constexpr uint8_t kSpeakerData = 0x02;
constexpr uint8_t kRefreshRequest = 0x10;
constexpr uint8_t kTimer2Out = 0x20;
} // namespace

SystemControlPortB::SystemControlPortB(const VirtualClock& clock, I8254Pit& pit, DeviceLog* log)
    : clock_(clock), pit_(pit), log_(log) {}

uint8_t SystemControlPortB::read_byte(uint16_t port) {
    if (port != kPort) {
        if (log_) log_->unmodelled("port61", "read of a port other than 0x61");
        return 0xFF;
    }
    uint8_t value = 0;
    if (pit_.channel2_gate()) value |= kTimer2Gate;
    if (speaker_data_) value |= kSpeakerData;
    if ((clock_.now_ns() / kRefreshToggleNs) & 1) value |= kRefreshRequest;
    if (pit_.output(2)) value |= kTimer2Out;
    return value;
}

void SystemControlPortB::write_byte(uint16_t port, uint8_t value) {
    if (port != kPort) {
        if (log_) log_->unmodelled("port61", "write to a port other than 0x61");
        return;
    }
    speaker_data_ = value & kSpeakerData;
    pit_.set_channel2_gate(value & kTimer2Gate);
}

uint32_t SystemControlPortB::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) { return read_byte(p); });
}

void SystemControlPortB::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t v) { write_byte(p, v); });
}

std::optional<SteadyRead> SystemControlPortB::steady_read(uint16_t port, uint8_t size) {
    if (port != kPort || size != 1) return std::nullopt;
    const uint64_t next_toggle = (clock_.now_ns() / kRefreshToggleNs + 1) * kRefreshToggleNs;
    return SteadyRead{read_byte(port), std::min(next_toggle, pit_.output_steady_until_ns(2))};
}

} // namespace transit86::pc
