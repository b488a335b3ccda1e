#include "pc/i8254.hpp"

#include <algorithm>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

__extension__ typedef unsigned __int128 u128;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kNeverTick = ~uint64_t{0};

// Control word (8254 datasheet, "Control Word Format"): SC1-SC0 in bits 7-6 (3: read-back),
// RW1-RW0 in bits 5-4 (0: counter latch command), M2-M0 in bits 3-1, BCD in bit 0.
constexpr uint8_t kReadBackLatchCountOff = 0x20; // read-back: COUNT bit, active low
constexpr uint8_t kReadBackLatchStatusOff = 0x10;

// OUT at `position` ticks into the cycle of a count `n` loaded in `mode` (position 0 is the
// load edge). Mode 0/1: low until the count reaches 0. Mode 2: low for the one clock at which
// the count is 1. Mode 3: high for the first ceil(n/2) clocks, low for the rest. Mode 4/5: low
// for the one clock at which the count is 0.
bool out_in_cycle(uint8_t mode, uint32_t n, uint64_t position) {
    switch (mode) {
    case 0:
    case 1: return position >= n;
    case 2: return position % n != n - 1;
    case 3: return position % n < (n + 1) / 2;
    default: return position != n;
    }
}

// The counting element at `position` ticks after loading `n`. Modes 0, 1, 4, 5 count down and
// wrap; mode 2 reloads after 1; mode 3 counts down by two in each half cycle, an odd count
// spending one clock on the odd unit after each reload (datasheet, mode 3).
uint32_t count_in_cycle(uint8_t mode, uint32_t n, uint64_t position, uint32_t modulus) {
    switch (mode) {
    case 2: return static_cast<uint32_t>((n - position % n) % modulus);
    case 3: {
        const uint64_t q = position % n;
        const uint64_t high_clocks = (n + 1) / 2;
        const bool high_half = q < high_clocks;
        const uint64_t k = high_half ? q : q - high_clocks;
        uint64_t value = n;
        if (k != 0 && (n & 1) == 0) value = n - 2 * k;
        if (k != 0 && (n & 1) == 1) value = high_half ? n + 1 - 2 * k : n - 1 - 2 * k;
        return static_cast<uint32_t>(value % modulus);
    }
    default: return static_cast<uint32_t>((n + modulus - position % modulus) % modulus);
    }
}

// The first position after `position` at which OUT goes from low to high.
std::optional<uint64_t> next_rise_in_cycle(uint8_t mode, uint32_t n, uint64_t position) {
    switch (mode) {
    case 0:
    case 1:
        if (position < n) return uint64_t{n};
        return std::nullopt;
    case 2:
    case 3:
        if (n < 2) return std::nullopt; // count 1: OUT never rises (an illegal count here)
        return (position / n + 1) * n;
    default:
        if (position <= n) return uint64_t{n} + 1;
        return std::nullopt;
    }
}

uint32_t decode_bcd(uint32_t raw) {
    return ((raw >> 12) & 0xF) * 1000 + ((raw >> 8) & 0xF) * 100 + ((raw >> 4) & 0xF) * 10 +
           (raw & 0xF);
}

uint16_t encode_bcd(uint32_t value) {
    value %= 10000;
    return static_cast<uint16_t>(((value / 1000) << 12) | (((value / 100) % 10) << 8) |
                                 (((value / 10) % 10) << 4) | (value % 10));
}

} // namespace

uint64_t I8254Pit::tick_at(uint64_t ns) {
    return static_cast<uint64_t>(u128{ns} * kFrequencyHz / kNsPerSecond);
}

uint64_t I8254Pit::ns_of_tick(uint64_t tick) {
    const u128 ns = (u128{tick} * kNsPerSecond + kFrequencyHz - 1) / kFrequencyHz;
    return ns > u128{kNever} ? kNever : static_cast<uint64_t>(ns);
}

// --- one counter ------------------------------------------------------------------------

const I8254Pit::Run& I8254Pit::Counter::run_at(uint64_t tick) const {
    return pending && tick >= pending->load_tick ? *pending : run;
}

bool I8254Pit::Counter::loaded_at(uint64_t tick) const {
    return phase == Phase::Counting && tick >= run_at(tick).load_tick;
}

uint64_t I8254Pit::Counter::position_at(uint64_t tick) const {
    const Run& current = run_at(tick);
    return tick - current.load_tick + current.position;
}

void I8254Pit::Counter::settle(uint64_t tick) {
    if (pending && tick >= pending->load_tick) {
        run = *pending;
        pending.reset();
    }
}

bool I8254Pit::Counter::out_at(uint64_t tick) const {
    if (loaded_at(tick)) return out_in_cycle(mode(), run_at(tick).count, position_at(tick));
    if (phase == Phase::Held && (mode() == 0 || mode() == 4))
        return out_in_cycle(mode(), run.count, held_position);
    return held_out; // GATE low in modes 2 and 3 forces OUT high: held_out is true there
}

uint32_t I8254Pit::Counter::count_at(uint64_t tick) const {
    if (loaded_at(tick))
        return count_in_cycle(mode(), run_at(tick).count, position_at(tick), modulus());
    if (phase == Phase::Held && (mode() == 0 || mode() == 4))
        return count_in_cycle(mode(), run.count, held_position, modulus());
    return held_count;
}

uint16_t I8254Pit::Counter::readable_count_at(uint64_t tick) const {
    const uint32_t count = count_at(tick);
    return bcd ? encode_bcd(count) : static_cast<uint16_t>(count);
}

std::optional<uint64_t> I8254Pit::Counter::next_rise_after(uint64_t tick) const {
    if (phase != Phase::Counting) return std::nullopt;
    const Run& current = run_at(tick);
    std::optional<uint64_t> rise;
    if (tick < current.load_tick && !held_out &&
        out_in_cycle(mode(), current.count, current.position))
        rise = current.load_tick;
    if (!rise) {
        const uint64_t position = tick < current.load_tick ? current.position : position_at(tick);
        if (auto at = next_rise_in_cycle(mode(), current.count, position))
            rise = current.load_tick + (*at - current.position);
    }
    // A rewritten mode-2/3 count takes over at its reload; a rise exactly there belongs to
    // the old cycle (its end), any later one to the new.
    if (pending && tick < pending->load_tick && (!rise || *rise > pending->load_tick)) {
        rise.reset();
        if (auto at = next_rise_in_cycle(mode(), pending->count, pending->position))
            rise = pending->load_tick + (*at - pending->position);
    }
    return rise;
}

uint64_t I8254Pit::Counter::next_out_change_after(uint64_t tick) const {
    // Idle, Armed and Held keep OUT until a write or a GATE change.
    if (phase != Phase::Counting) return kNeverTick;
    uint64_t change = kNeverTick;
    if (pending && tick < pending->load_tick) change = pending->load_tick;
    const Run& current = run_at(tick);
    const uint64_t position = tick < current.load_tick ? current.position : position_at(tick);
    // Before the load edge OUT is held_out; at the edge it becomes the cycle's.
    if (tick < current.load_tick &&
        held_out != out_in_cycle(mode(), current.count, current.position))
        return std::min(change, current.load_tick);
    const uint64_t n = current.count;
    const uint64_t q = position % n;
    uint64_t next = kNeverTick; // the first later position at which OUT may change
    switch (mode()) {
    case 0:
    case 1:
        if (position < n) next = n;
        break;
    case 2: // low only at q = n - 1
        if (n > 1) next = q < n - 1 ? position + (n - 1 - q) : position + 1;
        break;
    case 3: { // high for q < ceil(n / 2)
        const uint64_t high_clocks = (n + 1) / 2;
        next = q < high_clocks ? position + (high_clocks - q) : position + (n - q);
        break;
    }
    default: // low only at position n
        if (position <= n) next = position < n ? n : n + 1;
        break;
    }
    if (next != kNeverTick)
        change = std::min(change, current.load_tick + (next - current.position));
    return change;
}

void I8254Pit::Counter::write_control(uint8_t value, uint64_t tick) {
    settle(tick);
    held_count = count_at(tick);
    access = (value >> 4) & 3;
    mode_bits = (value >> 1) & 7;
    bcd = value & 1;
    write_msb_next = read_msb_next = false;
    latched_bytes = 0;
    status_latched = false;
    count_register_valid = false;
    pending.reset();
    phase = Phase::Idle;
    held_out = mode() != 0; // "OUT goes to a known initial state": low in mode 0, else high
    null_count_until = kNeverTick;
}

void I8254Pit::Counter::start(uint32_t count, uint64_t tick, bool out_until_load) {
    // Until the load edge the counting element's contents are undefined (datasheet: "N" in the
    // timing diagrams); a read there gives the count just written, as QEMU's pit_get_count
    // does. On silicon an ISA read takes about a microsecond and cannot fall there; on this
    // clock (1 ns an instruction) it can: Linux's quick_pit_calibrate reads channel 2 right
    // after writing 0xFFFF and gives up on the fast calibration if the MSB is not 0xFF.
    held_count = count % modulus();
    held_out = out_until_load;
    phase = Phase::Counting;
    run = Run{tick + 1, count, 0}; // loaded by the next clock edge
    pending.reset();
    null_count_until = tick + 1;
}

void I8254Pit::Counter::load_count_register(uint32_t raw, uint64_t tick) {
    uint32_t count = bcd ? decode_bcd(raw) : raw;
    if (count == 0) count = modulus(); // 0 is the largest count: 2^16 binary, 10^4 BCD
    count_register = count;
    count_register_valid = true;
    switch (mode()) {
    case 0:
    case 4:
        // A new count is loaded by the next clock and counting goes on from it; with GATE low
        // it waits there (counting disabled).
        if (gate) {
            start(count, tick, mode() == 4);
        } else {
            phase = Phase::Held;
            run = Run{tick, count, 0};
            held_position = 0;
            pending.reset();
            null_count_until = 0;
        }
        break;
    case 1:
    case 5:
        // Loaded only by a GATE trigger; a running one-shot is not affected.
        if (phase == Phase::Idle) phase = Phase::Armed;
        null_count_until = kNeverTick;
        break;
    default:
        if (phase == Phase::Counting && tick >= run.load_tick) {
            // Mode 2: the current period completes first. Mode 3: the current half cycle
            // completes, then the new count runs from the half cycle that follows.
            const uint64_t position = position_at(tick);
            const uint32_t old_count = run.count;
            uint64_t boundary = (position / old_count + 1) * old_count;
            uint64_t new_position = 0;
            if (mode() == 3 && position % old_count < (old_count + 1) / 2) {
                boundary = position - position % old_count + (old_count + 1) / 2;
                new_position = (count + 1) / 2;
            }
            pending = Run{run.load_tick + (boundary - run.position), count, new_position};
            null_count_until = pending->load_tick;
        } else if (phase == Phase::Counting) {
            run.count = count; // written again before the load edge: that edge loads this one
        } else if (gate) {
            start(count, tick, true);
        } else {
            phase = Phase::Held;
            held_out = true;
            null_count_until = kNeverTick;
        }
        break;
    }
}

void I8254Pit::Counter::write_count_byte(uint8_t value, uint64_t tick) {
    settle(tick);
    switch (access) {
    case 1: load_count_register(value, tick); break;
    case 2: load_count_register(uint32_t{value} << 8, tick); break;
    default:
        if (!write_msb_next) {
            written_lsb = value;
            write_msb_next = true;
            if (mode() == 0) {
                // Mode 0: writing the first byte stops counting and sets OUT low at once.
                held_count = count_at(tick);
                held_out = false;
                phase = Phase::Idle;
                pending.reset();
            }
        } else {
            write_msb_next = false;
            load_count_register(written_lsb | (uint32_t{value} << 8), tick);
        }
        break;
    }
}

uint8_t I8254Pit::Counter::read_byte(uint64_t tick) {
    settle(tick);
    if (status_latched) {
        status_latched = false;
        return status;
    }
    if (latched_bytes != 0) {
        if (latched_bytes & 1) {
            latched_bytes = 2;
            return static_cast<uint8_t>(latched_count);
        }
        latched_bytes = 0;
        return static_cast<uint8_t>(latched_count >> 8);
    }
    const uint16_t count = readable_count_at(tick);
    bool msb = access == 2;
    if (access == 3) {
        msb = read_msb_next;
        read_msb_next = !read_msb_next;
    }
    return static_cast<uint8_t>(msb ? count >> 8 : count);
}

void I8254Pit::Counter::latch_count(uint64_t tick) {
    if (latched_bytes != 0) return; // a second latch before the read is ignored
    latched_count = readable_count_at(tick);
    latched_bytes = access == 3 ? 3 : (access == 2 ? 2 : 1);
}

void I8254Pit::Counter::latch_status(uint64_t tick) {
    if (status_latched) return;
    const bool null_count = tick < null_count_until;
    status = static_cast<uint8_t>((out_at(tick) ? 0x80 : 0) | (null_count ? 0x40 : 0) |
                                  (access << 4) | (mode_bits << 1) | (bcd ? 1 : 0));
    status_latched = true;
}

void I8254Pit::Counter::set_gate(bool level, uint64_t tick) {
    if (level == gate) return;
    settle(tick);
    gate = level;
    switch (mode()) {
    case 0:
    case 4:
        // GATE enables counting: low suspends, high resumes where it stopped.
        if (!level && phase == Phase::Counting) {
            held_position = loaded_at(tick) ? position_at(tick) : 0;
            phase = Phase::Held;
        } else if (level && phase == Phase::Held) {
            run = Run{tick, run.count, held_position};
            phase = Phase::Counting;
        }
        break;
    case 1:
    case 5:
        // A rising edge triggers (or retriggers) the count.
        if (level && count_register_valid) start(count_register, tick, out_at(tick));
        break;
    default:
        // Low stops counting and forces OUT high; a rising edge reloads the count.
        if (!level && phase == Phase::Counting) {
            held_count = count_at(tick);
            held_out = true;
            phase = Phase::Held;
            pending.reset();
        } else if (level && phase == Phase::Held && count_register_valid) {
            start(count_register, tick, true);
        }
        break;
    }
}

// --- the device -------------------------------------------------------------------------

I8254Pit::I8254Pit(const VirtualClock& clock, IrqLines& irq, DeviceLog* log)
    : clock_(clock), irq_(irq), log_(log) {
    reset();
}

void I8254Pit::reset() {
    const uint64_t tick = now_tick();
    for (size_t channel = 0; channel < counters_.size(); ++channel) {
        Counter& counter = counters_[channel];
        counter = Counter{};
        counter.count_register_valid = true;
        counter.gate = channel != 2;
        if (counter.gate) {
            counter.phase = Phase::Counting;
            counter.run = Run{tick, 0x10000, 0};
        } else {
            counter.phase = Phase::Held;
        }
    }
    irq_delivered_tick_ = tick;
    irq_level_ = counters_[0].out_at(tick);
}

void I8254Pit::set_irq_line(bool level) {
    if (level == irq_level_) return;
    irq_level_ = level;
    irq_.set_irq(kIrq, level);
}

void I8254Pit::deliver_irq(uint64_t tick) {
    if (tick > irq_delivered_tick_) {
        const auto rise = counters_[0].next_rise_after(irq_delivered_tick_);
        if (rise && *rise <= tick) {
            if (irq_level_) irq_.set_irq(kIrq, false);
            irq_.set_irq(kIrq, true);
            irq_level_ = true;
        }
        irq_delivered_tick_ = tick;
    }
    counters_[0].settle(tick);
    set_irq_line(counters_[0].out_at(tick));
}

void I8254Pit::advance() {
    deliver_irq(now_tick());
}

uint64_t I8254Pit::next_event_ns() const {
    const auto rise = counters_[0].next_rise_after(irq_delivered_tick_);
    return rise ? ns_of_tick(*rise) : kNever;
}

void I8254Pit::set_channel2_gate(bool level) {
    counters_[2].set_gate(level, now_tick());
}

bool I8254Pit::output(unsigned channel) const {
    if (channel >= counters_.size()) return false;
    return counters_[channel].out_at(now_tick());
}

uint64_t I8254Pit::output_steady_until_ns(unsigned channel) const {
    if (channel >= counters_.size()) return kNever;
    const uint64_t change = counters_[channel].next_out_change_after(now_tick());
    return change == kNeverTick ? kNever : ns_of_tick(change);
}

void I8254Pit::read_back(uint8_t command, uint64_t tick) {
    for (unsigned channel = 0; channel < counters_.size(); ++channel) {
        if ((command & (2u << channel)) == 0) continue;
        counters_[channel].settle(tick);
        if ((command & kReadBackLatchCountOff) == 0) counters_[channel].latch_count(tick);
        if ((command & kReadBackLatchStatusOff) == 0) counters_[channel].latch_status(tick);
    }
}

uint8_t I8254Pit::read_byte(uint16_t port) {
    if (port < kCounter0 || port > kControlWord) {
        if (log_) log_->unmodelled("i8254", "read of a port outside 0x40-0x43");
        return 0xFF;
    }
    if (port == kControlWord) return 0; // write-only; QEMU reads 0
    return counters_[port - kCounter0].read_byte(now_tick());
}

void I8254Pit::write_byte(uint16_t port, uint8_t value) {
    const uint64_t tick = now_tick();
    if (port < kCounter0 || port > kControlWord) {
        if (log_) log_->unmodelled("i8254", "write to a port outside 0x40-0x43");
        return;
    }
    if (port != kControlWord) {
        counters_[port - kCounter0].write_count_byte(value, tick);
        return;
    }
    const unsigned channel = value >> 6;
    if (channel == 3) {
        read_back(value, tick);
    } else if (((value >> 4) & 3) == 0) {
        counters_[channel].settle(tick);
        counters_[channel].latch_count(tick);
    } else {
        counters_[channel].write_control(value, tick);
    }
}

uint32_t I8254Pit::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) { return read_byte(p); });
}

void I8254Pit::io_write(uint16_t port, uint8_t size, uint32_t value) {
    // Edges of channel 0 before this write belong to the old programming.
    const uint64_t tick = now_tick();
    deliver_irq(tick);
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t v) { write_byte(p, v); });
    set_irq_line(counters_[0].out_at(tick));
}

} // namespace transit86::pc
