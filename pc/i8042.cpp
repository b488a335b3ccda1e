#include "pc/i8042.hpp"

namespace transit86::pc {

namespace {
// QEMU's KBD_PENDING_* bits: controller replies, then the two PS/2 devices (the device bits
// equal the command-byte bits that disable them).
constexpr uint8_t kPendingReplyKeyboard = 0x04;
constexpr uint8_t kPendingReplyMouse = 0x08;
constexpr uint8_t kPendingKeyboard = I8042::kModeKeyboardDisabled;
constexpr uint8_t kPendingMouse = I8042::kModeMouseDisabled;

constexpr uint8_t kReadMode = 0x20, kWriteMode = 0x60, kMouseDisable = 0xA7, kMouseEnable = 0xA8,
                  kMouseTest = 0xA9, kSelfTest = 0xAA, kKeyboardTest = 0xAB,
                  kKeyboardDisable = 0xAD, kKeyboardEnable = 0xAE, kReadInput = 0xC0,
                  kReadOutput = 0xD0, kWriteOutput = 0xD1, kWriteKeyboardBuffer = 0xD2,
                  kWriteMouseBuffer = 0xD3, kWriteMouse = 0xD4, kA20Off = 0xDD, kA20On = 0xDF,
                  kPulseReset = 0xFE, kPulseNothing = 0xFF;
} // namespace

I8042::I8042(IrqLines& irqs, std::function<void(bool)> on_a20, std::function<void()> on_reset,
             DeviceLog* log)
    : irqs_(irqs), on_a20_(std::move(on_a20)), on_reset_(std::move(on_reset)), log_(log) {}

// The two registers are one byte wide; a wider access is taken as a byte access to the port
// (zero-extended), which is what boot code that uses `in ax` means.
uint32_t I8042::io_read(uint16_t port, uint8_t size) {
    if (port != kDataPort && port != kCommandPort) return all_ones(size);
    if (size != 1) unmodelled("access wider than a byte");
    return port == kDataPort ? read_data() : status_;
}

void I8042::io_write(uint16_t port, uint8_t size, uint32_t value) {
    if (port != kDataPort && port != kCommandPort) return;
    if (size != 1) unmodelled("access wider than a byte");
    if (port == kDataPort)
        write_data(static_cast<uint8_t>(value));
    else
        write_command(static_cast<uint8_t>(value));
}

bool I8042::press_key(std::span<const uint8_t> bytes) {
    const bool queued = keyboard_.press(bytes);
    fill_output_buffer_if_empty();
    return queued;
}

// kbd_read_data: take the byte and make room for the next.
uint8_t I8042::read_data() {
    if (!(status_ & kStatusOutputFull)) return output_;
    empty_output_buffer();
    switch (source_) {
    case Source::Keyboard: output_ = keyboard_.queue().pop(); break;
    case Source::Mouse: output_ = mouse_.queue().pop(); break;
    case Source::Controller: output_ = take_reply(); break;
    case Source::None: break;
    }
    fill_output_buffer_if_empty();
    return output_;
}

void I8042::write_data(uint8_t value) {
    const uint8_t command = awaiting_data_for_;
    awaiting_data_for_ = 0;
    switch (command) {
    case 0:
        keyboard_.write(value);
        mode_ &= static_cast<uint8_t>(~kModeKeyboardDisabled); // talking to it re-enables it
        fill_output_buffer_if_empty();
        return;
    case kWriteMode:
        mode_ = value;
        keyboard_.set_translation(value & kModeTranslate);
        update_irq_lines(); // the IRQ-enable bits act on a byte already waiting
        fill_output_buffer_if_empty();
        return;
    case kWriteKeyboardBuffer: queue_reply(value, false); return;
    case kWriteMouseBuffer: queue_reply(value, true); return;
    case kWriteOutput: write_output_port(value); return;
    case kWriteMouse:
        mouse_.write(value);
        mode_ &= static_cast<uint8_t>(~kModeMouseDisabled);
        fill_output_buffer_if_empty();
        return;
    default: return;
    }
}

void I8042::write_command(uint8_t command) {
    // F0-FF pulse the output-port bits whose command bit is 0; only bit 0, the CPU reset, has
    // an effect (QEMU turns them into FE or FF).
    if ((command & 0xF0) == 0xF0) command = (command & 1) ? kPulseNothing : kPulseReset;
    switch (command) {
    case kReadMode: queue_reply(mode_, false); return;
    case kWriteMode:
    case kWriteOutput:
    case kWriteKeyboardBuffer:
    case kWriteMouseBuffer:
    case kWriteMouse: awaiting_data_for_ = command; return;
    case kMouseDisable: mode_ |= kModeMouseDisabled; return;
    case kMouseEnable:
        mode_ &= static_cast<uint8_t>(~kModeMouseDisabled);
        fill_output_buffer_if_empty();
        return;
    case kMouseTest:
    case kKeyboardTest: queue_reply(0x00, false); return; // interface OK
    case kSelfTest:
        status_ |= kStatusSystem;
        queue_reply(0x55, false);
        return;
    case kKeyboardDisable: mode_ |= kModeKeyboardDisabled; return;
    case kKeyboardEnable:
        mode_ &= static_cast<uint8_t>(~kModeKeyboardDisabled);
        fill_output_buffer_if_empty();
        return;
    case kReadInput: queue_reply(0x80, false); return; // keyboard not inhibited
    case kReadOutput: queue_reply(output_port_, false); return;
    case kA20On:
        output_port_ |= kOutputA20;
        if (on_a20_) on_a20_(true);
        return;
    case kA20Off:
        output_port_ &= static_cast<uint8_t>(~kOutputA20);
        if (on_a20_) on_a20_(false);
        return;
    case kPulseReset:
        if (on_reset_) on_reset_();
        return;
    case kPulseNothing: return;
    default: unmodelled("controller command"); return;
    }
}

void I8042::write_output_port(uint8_t value) {
    output_port_ = value;
    if (on_a20_) on_a20_((value & kOutputA20) != 0);
    if (!(value & kOutputReset) && on_reset_) on_reset_();
}

// kbd_queue: the controller's own reply byte replaces an unread one.
void I8042::queue_reply(uint8_t byte, bool from_mouse) {
    reply_ = byte;
    reply_pending_ = from_mouse ? kPendingReplyMouse : kPendingReplyKeyboard;
    fill_output_buffer_if_empty();
}

uint8_t I8042::take_reply() {
    reply_pending_ = 0;
    return reply_;
}

// kbd_pending: what could fill the output buffer; a disabled interface holds its bytes back.
uint8_t I8042::pending() const {
    uint8_t p = reply_pending_;
    if (!keyboard_.queue().empty()) p |= kPendingKeyboard;
    if (!mouse_.queue().empty()) p |= kPendingMouse;
    return static_cast<uint8_t>(p & ~(mode_ & (kPendingKeyboard | kPendingMouse)));
}

// kbd_update_irq: load the output buffer from the first pending source.
void I8042::fill_output_buffer() {
    const uint8_t p = pending();
    status_ &= static_cast<uint8_t>(~(kStatusOutputFull | kStatusMouseOutput));
    output_port_ &= static_cast<uint8_t>(~(kOutputKeyboardFull | kOutputMouseFull));
    if (p) {
        status_ |= kStatusOutputFull;
        output_port_ |= kOutputKeyboardFull;
        const bool mouse_side =
            !(p & kPendingReplyKeyboard) && ((p & kPendingReplyMouse) || !(p & kPendingKeyboard));
        if (mouse_side) {
            status_ |= kStatusMouseOutput;
            output_port_ |= kOutputMouseFull;
        }
        if (p & (kPendingReplyKeyboard | kPendingReplyMouse))
            source_ = Source::Controller;
        else
            source_ = (p & kPendingKeyboard) ? Source::Keyboard : Source::Mouse;
    }
    update_irq_lines();
}

// kbd_safe_update_irq: a full buffer keeps its byte until it is read.
void I8042::fill_output_buffer_if_empty() {
    if (!(status_ & kStatusOutputFull) && pending()) fill_output_buffer();
}

// kbd_deassert_irq.
void I8042::empty_output_buffer() {
    status_ &= static_cast<uint8_t>(~(kStatusOutputFull | kStatusMouseOutput));
    output_port_ &= static_cast<uint8_t>(~(kOutputKeyboardFull | kOutputMouseFull));
    update_irq_lines();
}

void I8042::update_irq_lines() {
    const bool full = status_ & kStatusOutputFull;
    const bool mouse_byte = status_ & kStatusMouseOutput;
    const bool irq1 =
        full && !mouse_byte && (mode_ & kModeKeyboardIrq) && !(mode_ & kModeKeyboardDisabled);
    const bool irq12 = full && mouse_byte && (mode_ & kModeMouseIrq);
    if (irq1 != irq1_) {
        irq1_ = irq1;
        irqs_.set_irq(kKeyboardIrq, irq1);
    }
    if (irq12 != irq12_) {
        irq12_ = irq12;
        irqs_.set_irq(kMouseIrq, irq12);
    }
}

void I8042::unmodelled(std::string_view what) {
    if (log_) log_->unmodelled("i8042", what);
}

} // namespace transit86::pc
