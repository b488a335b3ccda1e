#include "pc/ps2_keyboard.hpp"

#include <array>

namespace transit86::pc {

namespace {

constexpr uint8_t kAck = 0xFA;
constexpr uint8_t kResend = 0xFE;
constexpr uint8_t kSelfTestPassed = 0xAA;
constexpr uint8_t kIdFirst = 0xAB;
constexpr uint8_t kBreakPrefix = 0xF0;

// The 8042's scancode translation (set 2 -> set 1) for codes 00-7F; codes 80-FF pass through
// unchanged except 83 (F7) -> 41 and 84 (SysRq) -> 54.
constexpr std::array<uint8_t, 128> kTranslateLow = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

} // namespace

uint8_t Ps2Keyboard::translate(uint8_t code) {
    if (code < 0x80) return kTranslateLow[code];
    if (code == 0x83) return 0x41;
    if (code == 0x84) return 0x54;
    return code;
}

void Ps2Keyboard::reset() {
    scanning_ = true;
    scancode_set_ = 2;
    queue_.clear();
    leds_ = 0;
}

void Ps2Keyboard::write(uint8_t byte) {
    queue_.drop_replies(); // the previous command's unread answer is void
    if (pending_command_) {
        const uint8_t command = *pending_command_;
        pending_command_.reset();
        switch (command) {
        case 0xF0: // get/set scancode set
            if (byte == 0)
                queue_.push_reply({kAck, translate_ ? translate(scancode_set_) : scancode_set_});
            else if (byte <= 3) {
                scancode_set_ = byte;
                queue_.push_reply({kAck});
            } else {
                queue_.push_reply({kResend});
            }
            return;
        case 0xED: leds_ = byte; break;
        default: break; // F3 typematic rate, FC make/break: accepted, no effect
        }
        queue_.push_reply({kAck});
        return;
    }
    switch (byte) {
    case 0x00:
    case 0xFA: queue_.push_reply({kAck}); return;
    case 0xF2: // MF2 keyboard ID; the second byte as the translating controller passes it
        queue_.push_reply({kAck, kIdFirst, static_cast<uint8_t>(translate_ ? 0x41 : 0x83)});
        return;
    case 0xEE: queue_.push_reply({0xEE}); return;
    case 0xF4:
        scanning_ = true;
        queue_.push_reply({kAck});
        return;
    case 0xED:
    case 0xF0:
    case 0xF3:
    case 0xFC:
        pending_command_ = byte;
        queue_.push_reply({kAck});
        return;
    case 0xF5:
    case 0xF6:
        reset();
        scanning_ = byte == 0xF6;
        queue_.push_reply({kAck});
        return;
    case 0xFF:
        reset();
        queue_.push_reply({kAck, kSelfTestPassed});
        return;
    default: queue_.push_reply({kResend}); return;
    }
}

bool Ps2Keyboard::press(std::span<const uint8_t> bytes) {
    if (!scanning_) return false; // QEMU drops keys while scanning is off
    bool all = true;
    for (uint8_t code : bytes)
        all = put(code) && all;
    return all;
}

// ps2_put_keycode.
bool Ps2Keyboard::put(uint8_t code) {
    if (!translate_) return queue_.push({code});
    if (code == kBreakPrefix) {
        need_break_bit_ = true;
        return true;
    }
    const auto translated = static_cast<uint8_t>(translate(code) | (need_break_bit_ ? 0x80 : 0));
    need_break_bit_ = false;
    return queue_.push({translated});
}

} // namespace transit86::pc
