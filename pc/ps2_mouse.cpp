#include "pc/ps2_mouse.hpp"

namespace transit86::pc {

namespace {
constexpr uint8_t kAck = 0xFA;
constexpr uint8_t kStatusRemote = 0x40, kStatusEnabled = 0x20, kStatusScale21 = 0x10;
constexpr uint8_t kResetWrap = 0xEC, kReset = 0xFF, kSetResolution = 0xE8, kSetRate = 0xF3;
} // namespace

void Ps2Mouse::write(uint8_t byte) {
    if (pending_command_) {
        const uint8_t pending = *pending_command_;
        pending_command_.reset();
        if (pending == kSetRate)
            sample_rate(byte);
        else
            resolution_ = byte;
        queue_.push({kAck});
        return;
    }
    if (wrap_) {
        if (byte == kResetWrap) {
            wrap_ = false;
            queue_.push({kAck});
            return;
        }
        if (byte != kReset) {
            queue_.push({byte}); // wrap mode echoes
            return;
        }
    }
    command(byte);
}

void Ps2Mouse::command(uint8_t byte) {
    switch (byte) {
    case 0xE6: status_ &= static_cast<uint8_t>(~kStatusScale21); break;
    case 0xE7: status_ |= kStatusScale21; break;
    case 0xEA: status_ &= static_cast<uint8_t>(~kStatusRemote); break;
    case 0xEE: wrap_ = true; break;
    case 0xF0: status_ |= kStatusRemote; break;
    case 0xF2: queue_.push({kAck, type_}); return;
    case kSetResolution:
    case kSetRate: pending_command_ = byte; break;
    case 0xE9: queue_.push({kAck, status_, resolution_, rate_}); return;
    case 0xEB:
        queue_.push({kAck});
        send_packet();
        return;
    case 0xF4: status_ |= kStatusEnabled; break;
    case 0xF5: status_ &= static_cast<uint8_t>(~kStatusEnabled); break;
    case 0xF6:
        rate_ = 100;
        resolution_ = 2;
        status_ = 0;
        break;
    case kReset:
        rate_ = 100;
        resolution_ = 2;
        status_ = 0;
        type_ = 0;
        queue_.clear();
        queue_.push({kAck, 0xAA, type_});
        return;
    default: return; // QEMU answers nothing
    }
    queue_.push({kAck});
}

// A movement packet with no movement and no buttons: bit 3 is always 1; IntelliMouse types add
// a wheel byte.
void Ps2Mouse::send_packet() {
    if (type_ != 0)
        queue_.push({0x08, 0x00, 0x00, 0x00});
    else
        queue_.push({0x08, 0x00, 0x00});
}

// The IntelliMouse knock sequences.
void Ps2Mouse::sample_rate(uint8_t rate) {
    rate_ = rate;
    switch (detect_state_) {
    case 1: detect_state_ = rate == 100 ? 2 : rate == 200 ? 3 : 0; return;
    case 2:
        if (rate == 80) type_ = 3;
        detect_state_ = 0;
        return;
    case 3:
        if (rate == 80) type_ = 4;
        detect_state_ = 0;
        return;
    default: detect_state_ = rate == 200 ? 1 : 0; return;
    }
}

} // namespace transit86::pc
