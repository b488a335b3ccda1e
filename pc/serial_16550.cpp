#include "pc/serial_16550.hpp"

#include <algorithm>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr unsigned kTimeoutCharacters = 4; // datasheet: 4 character times without activity
} // namespace

Serial16550::Serial16550(uint16_t base, unsigned irq, IrqLines& irqs, VirtualClock& clock,
                         Sink sink, DeviceLog* log)
    : base_(base), irq_(irq), irqs_(irqs), clock_(clock), sink_(std::move(sink)), log_(log) {}

void Serial16550::receive(uint8_t byte) {
    receive(std::string_view(reinterpret_cast<const char*>(&byte), 1));
}

void Serial16550::receive(std::string_view bytes, uint64_t gap_ns) {
    typing_gap_ns_ = gap_ns;
    // An idle line: the first byte takes a character time to come in.
    if (input_waiting() == 0)
        next_arrival_ns_ = std::max(next_arrival_ns_, clock_.now_ns() + char_time_ns_);
    input_.append(bytes);
    take_input();
}

uint64_t Serial16550::next_event_ns() const {
    const bool byte_due = input_waiting() != 0 && !(mcr_ & kMcrLoopback) && has_room();
    return std::min(timeout_at_ns_, byte_due ? next_arrival_ns_ : kNever);
}

uint32_t Serial16550::io_read(uint16_t port, uint8_t size) {
    advance();
    return read_byte_lanes(port, size, [this](uint16_t p) -> uint8_t {
        const uint16_t reg = static_cast<uint16_t>(p - base_);
        return reg < 8 ? read_register(static_cast<uint8_t>(reg)) : 0xFF;
    });
}

void Serial16550::io_write(uint16_t port, uint8_t size, uint32_t value) {
    advance();
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t byte) {
        const uint16_t reg = static_cast<uint16_t>(p - base_);
        if (reg < 8) write_register(static_cast<uint8_t>(reg), byte);
    });
}

// fifo_timeout_int: data has waited four character times.
void Serial16550::advance() {
    take_input();
    if (timeout_at_ns_ > clock_.now_ns()) return;
    timeout_at_ns_ = kNever;
    if (!rx_fifo_.empty()) {
        timeout_pending_ = true;
        update_irq();
    }
}

uint8_t Serial16550::read_register(uint8_t reg) {
    const bool dlab = lcr_ & kLcrDlab;
    switch (reg) {
    case kRbrThr: return dlab ? static_cast<uint8_t>(divider_) : read_rbr();
    case kIer: return dlab ? static_cast<uint8_t>(divider_ >> 8) : ier_;
    case kIirFcr: {
        const uint8_t iir = iir_;
        // Reading IIR with "THR empty" as its source acknowledges that source.
        if ((iir & 0x06) == kIirThrEmpty) {
            thr_pending_ = false;
            update_irq();
        }
        return iir;
    }
    case kLcr: return lcr_;
    case kMcr: return mcr_;
    case kLsr: {
        const uint8_t lsr = lsr_;
        if (lsr_ & (kLsrBreak | kLsrOverrun)) {
            lsr_ &= static_cast<uint8_t>(~(kLsrBreak | kLsrOverrun));
            update_irq();
        }
        return lsr;
    }
    case kMsr:
        if (mcr_ & kMcrLoopback) {
            // The modem outputs loop back to the inputs: OUT2 -> DCD, OUT1 -> RI, RTS -> CTS,
            // DTR -> DSR.
            return static_cast<uint8_t>((mcr_ & (kMcrOut1 | kMcrOut2)) << 4 |
                                        (mcr_ & kMcrRts) << 3 | (mcr_ & kMcrDtr) << 5);
        }
        return msr_; // no backend changes the modem lines, so no delta bits to clear
    default: return scr_;
    }
}

uint8_t Serial16550::read_rbr() {
    uint8_t byte = rbr_;
    if (fifo_on()) {
        byte = 0;
        if (!rx_fifo_.empty()) {
            byte = rx_fifo_.front();
            rx_fifo_.pop_front();
        }
        if (rx_fifo_.empty()) {
            lsr_ &= static_cast<uint8_t>(~(kLsrDataReady | kLsrBreak));
            timeout_at_ns_ = kNever;
        } else {
            timeout_at_ns_ = clock_.now_ns() + kTimeoutCharacters * char_time_ns_;
        }
        timeout_pending_ = false;
    } else {
        lsr_ &= static_cast<uint8_t>(~(kLsrDataReady | kLsrBreak));
    }
    update_irq();
    room_appeared();
    return byte;
}

void Serial16550::write_register(uint8_t reg, uint8_t value) {
    const bool dlab = lcr_ & kLcrDlab;
    switch (reg) {
    case kRbrThr:
        if (dlab) {
            divider_ = static_cast<uint16_t>((divider_ & 0xFF00) | value);
            update_parameters();
            return;
        }
        thr_ = value;
        thr_pending_ = false;
        lsr_ &= static_cast<uint8_t>(~(kLsrThrEmpty | kLsrTransmitterEmpty));
        update_irq();
        transmit();
        return;
    case kIer: {
        if (dlab) {
            divider_ = static_cast<uint16_t>((divider_ & 0x00FF) | value << 8);
            update_parameters();
            return;
        }
        const uint8_t changed = (ier_ ^ value) & 0x0F;
        ier_ = value & 0x0F;
        // Enabling the THR-empty interrupt while THR is empty raises it, even if an IIR read
        // had acknowledged it (QEMU; Windows and SeaBIOS's detection rely on it).
        if (changed & kIerThrEmpty) thr_pending_ = (ier_ & kIerThrEmpty) && (lsr_ & kLsrThrEmpty);
        if (changed) update_irq();
        return;
    }
    case kIirFcr: write_fcr(value); return;
    case kLcr:
        lcr_ = value;
        update_parameters();
        if ((value & 0x40) && log_) log_->unmodelled("serial_16550", "LCR break (no line)");
        return;
    case kMcr: {
        const bool was_loopback = mcr_ & kMcrLoopback;
        mcr_ = value & 0x1F;
        update_irq();
        if (was_loopback && !(mcr_ & kMcrLoopback)) room_appeared();
        return;
    }
    case kScr: scr_ = value; return;
    default: return; // LSR and MSR are read-only
    }
}

void Serial16550::write_fcr(uint8_t value) {
    // Turning the FIFOs on or off clears both.
    if ((value ^ fcr_) & kFcrEnable) value |= kFcrClearRx | kFcrClearTx;
    if (value & kFcrClearRx) {
        lsr_ &= static_cast<uint8_t>(~(kLsrDataReady | kLsrBreak));
        timeout_at_ns_ = kNever;
        timeout_pending_ = false;
        rx_fifo_.clear();
    }
    if (value & kFcrClearTx) {
        lsr_ |= kLsrThrEmpty;
        thr_pending_ = true;
    }
    fcr_ = value & 0xC9; // enable, DMA mode, trigger level stick
    if (fifo_on()) {
        iir_ |= kIirFifosOn;
        static constexpr std::array<size_t, 4> kTriggerLevels = {1, 4, 8, 14};
        trigger_level_ = kTriggerLevels[fcr_ >> 6];
    } else {
        iir_ &= static_cast<uint8_t>(~kIirFifosOn);
    }
    update_irq();
    room_appeared();
}

// serial_xmit with an always-ready backend: THR empties at once.
void Serial16550::transmit() {
    const uint8_t byte = thr_;
    lsr_ |= kLsrThrEmpty;
    if (!thr_pending_) {
        thr_pending_ = true;
        update_irq();
    }
    if (mcr_ & kMcrLoopback)
        accept(byte);
    else if (sink_)
        sink_(byte);
    lsr_ |= kLsrTransmitterEmpty;
}

// serial_receive1: one byte off the line.
void Serial16550::accept(uint8_t byte) {
    if (fifo_on()) {
        if (rx_fifo_.size() < kFifoSize)
            rx_fifo_.push_back(byte);
        else
            lsr_ |= kLsrOverrun; // an overrun never replaces FIFO contents
        timeout_at_ns_ = clock_.now_ns() + kTimeoutCharacters * char_time_ns_;
    } else {
        if (lsr_ & kLsrDataReady) lsr_ |= kLsrOverrun;
        rbr_ = byte;
    }
    lsr_ |= kLsrDataReady;
    update_irq();
}

// The receiver has room again (RBR read, FIFO cleared, loopback off). A byte that was due and
// waited for room starts now and takes a character time, as a sender under RTS/CTS flow
// control starts when the receiver is ready: however long it waited, the bytes behind it do
// not pour in at once (SeaBIOS's serial console reads "all available data" into 16 bytes).
void Serial16550::room_appeared() {
    const uint64_t now = clock_.now_ns();
    if (input_waiting() != 0 && !(mcr_ & kMcrLoopback) && has_room() && next_arrival_ns_ <= now)
        next_arrival_ns_ = now + char_time_ns_;
    take_input();
}

bool Serial16550::has_room() const {
    return fifo_on() ? rx_fifo_.size() < kFifoSize : !(lsr_ & kLsrDataReady);
}

// The scripted line's next byte, once it is off the line and there is room for it; the one
// after it a character time later. The line is cut off in loopback (datasheet: the serial
// input is disconnected).
void Serial16550::take_input() {
    const uint64_t now = clock_.now_ns();
    if (input_taken_ < input_.size() && !(mcr_ & kMcrLoopback) && has_room() &&
        next_arrival_ns_ <= now) {
        accept(static_cast<uint8_t>(input_[input_taken_++]));
        next_arrival_ns_ = now + std::max(char_time_ns_, typing_gap_ns_);
    }
    if (input_taken_ == input_.size()) {
        input_.clear();
        input_taken_ = 0;
    }
}

// serial_update_parameters: the character time at the programmed rate and frame.
void Serial16550::update_parameters() {
    if (divider_ == 0) return;
    const uint64_t data_bits = (lcr_ & 0x03) + 5u;
    const uint64_t stop_bits = (lcr_ & 0x04) ? 2 : 1;
    const uint64_t parity_bits = (lcr_ & 0x08) ? 1 : 0;
    const uint64_t speed = kBaudBase / divider_;
    char_time_ns_ =
        (kNsPerSecond / (speed ? speed : 1)) * (1 + data_bits + stop_bits + parity_bits);
}

// serial_update_irq: the highest-priority pending source into IIR, and the IRQ line.
void Serial16550::update_irq() {
    uint8_t source = kIirNoInterrupt;
    if ((ier_ & kIerLineStatus) && (lsr_ & kLsrErrors))
        source = kIirLineStatus;
    else if ((ier_ & kIerReceived) && timeout_pending_)
        source = kIirTimeout;
    else if ((ier_ & kIerReceived) && (lsr_ & kLsrDataReady) &&
             (!fifo_on() || rx_fifo_.size() >= trigger_level_))
        source = kIirReceived;
    else if ((ier_ & kIerThrEmpty) && thr_pending_)
        source = kIirThrEmpty;
    else if ((ier_ & kIerModemStatus) && (msr_ & kMsrDeltas))
        source = kIirModemStatus;
    iir_ = static_cast<uint8_t>(source | (iir_ & 0xF0));
    const bool level = source != kIirNoInterrupt && (mcr_ & kMcrOut2);
    if (level == irq_level_) return;
    irq_level_ = level;
    irqs_.set_irq(irq_, level);
}

} // namespace transit86::pc
