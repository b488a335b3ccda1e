// The 8254 programmable interval timer at 0x40-0x43: three counters clocked at 1,193,182 Hz
// (QEMU's PIT_FREQ), channel 0's OUT on IRQ 0, channel 2's GATE and OUT on port 0x61
// (pc/port61.hpp).
//
// References: Intel 8254 datasheet (modes 0-5: when the count is loaded, how it decrements,
// OUT in each mode, GATE; BCD counting; read/write the LSB, the MSB or both; the counter latch
// command; the read-back command and its status byte with OUT and NULL COUNT); QEMU
// hw/timer/i8254.c and i8254_common.c (register decoding, latch and read-back order, the power-on
// state: every channel in mode 3 with count 0x10000, channel 0 and 1 counting, channel 2 gated
// off). Where QEMU approximates (mode 2 OUT as a one-tick high pulse, GATE ignored in modes
// 0/2/3/4, BCD not counted, a rewrite restarting every mode at once) this model follows the
// datasheet; pc/README.md lists the differences.
//
// Time: the counters run off one oscillator whose clock edges fall at fixed instants of
// VirtualClock, tick k at ceil(k * 10^9 / 1193182) ns. Every count and every OUT level is a
// function of the ticks elapsed since the count was loaded, computed in 128-bit integers, so
// nothing drifts however long the run. A count is loaded by the first clock edge after it is
// written (or after the GATE trigger), as the datasheet says.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "pc/device.hpp"

namespace transit86::pc {

class I8254Pit final : public IoDevice, public TimedDevice {
  public:
    static constexpr uint16_t kCounter0 = 0x40;
    static constexpr uint16_t kControlWord = 0x43;
    static constexpr uint64_t kFrequencyHz = 1193182;
    static constexpr unsigned kIrq = 0;

    I8254Pit(const VirtualClock& clock, IrqLines& irq, DeviceLog* log = nullptr);

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // IRQ 0 follows channel 0's OUT. advance() raises at most one IRQ 0 edge per call however
    // many periods elapsed since the previous call: ticks that were missed coalesce, as QEMU's
    // single irq timer does when the guest falls behind.
    void advance() override;
    // The next rising edge of channel 0's OUT (the next IRQ 0), kNever when none will come.
    uint64_t next_event_ns() const override;

    // Channel 2's GATE input (port 0x61 bit 0); channels 0 and 1 have GATE tied high on a PC.
    void set_channel2_gate(bool level);
    bool channel2_gate() const { return counters_[2].gate; }
    // OUT of a channel at the current virtual time.
    bool output(unsigned channel) const;
    // The first virtual time after now at which OUT of `channel` can differ from output(now),
    // unless the channel is written or its GATE changes before (kNever: not by itself).
    uint64_t output_steady_until_ns(unsigned channel) const;

    // Power-on state (QEMU pit_reset_common).
    void reset();

    // Ticks of the 1.193182 MHz clock at a virtual time, and the first virtual time at which a
    // given tick has happened.
    static uint64_t tick_at(uint64_t ns);
    static uint64_t ns_of_tick(uint64_t tick);

  private:
    enum class Phase : uint8_t {
        Idle,     // control word written, no count yet
        Armed,    // modes 1, 5: count written, waiting for a GATE rising edge
        Counting, // the counting element runs
        Held,     // GATE low: modes 0, 4 suspend counting; modes 2, 3 wait to reload
    };
    // A stretch of counting: the counting element was loaded with `count` at clock tick
    // `load_tick`, `position` ticks into the mode's cycle (0 unless a mode-3 half cycle or a
    // resumed mode-0/4 count starts elsewhere).
    struct Run {
        uint64_t load_tick = 0;
        uint32_t count = 0x10000;
        uint64_t position = 0;
    };
    struct Counter {
        uint8_t mode_bits = 3; // M2-M0 as written; 6 and 7 act as 2 and 3
        bool bcd = false;
        uint8_t access = 3; // 1: LSB, 2: MSB, 3: LSB then MSB
        bool write_msb_next = false;
        bool read_msb_next = false;
        uint8_t written_lsb = 0;
        uint32_t count_register = 0x10000; // decoded: 1-0x10000 binary, 1-10000 BCD
        bool count_register_valid = false;
        bool gate = true;
        uint8_t latched_bytes = 0; // bit 0: LSB still to read, bit 1: MSB still to read
        uint16_t latched_count = 0;
        bool status_latched = false;
        uint8_t status = 0;
        Phase phase = Phase::Idle;
        Run run;
        std::optional<Run> pending; // modes 2, 3: a rewritten count waiting for its reload
        uint64_t held_position = 0; // modes 0, 4 while GATE is low
        uint32_t held_count = 0;    // counting element contents while not counting
        bool held_out = true;       // OUT while not counting, and before the load edge
        uint64_t null_count_until = 0;

        uint8_t mode() const { return mode_bits >= 6 ? mode_bits - 4 : mode_bits; }
        uint32_t modulus() const { return bcd ? 10000 : 0x10000; }
        const Run& run_at(uint64_t tick) const;
        bool loaded_at(uint64_t tick) const;
        uint64_t position_at(uint64_t tick) const;
        void settle(uint64_t tick);
        bool out_at(uint64_t tick) const;
        uint32_t count_at(uint64_t tick) const; // binary, 0 to modulus - 1
        uint16_t readable_count_at(uint64_t tick) const;
        std::optional<uint64_t> next_rise_after(uint64_t tick) const;
        uint64_t next_out_change_after(uint64_t tick) const; // kNeverTick: none by itself
        void write_control(uint8_t value, uint64_t tick);
        void write_count_byte(uint8_t value, uint64_t tick);
        void load_count_register(uint32_t raw, uint64_t tick);
        void start(uint32_t count, uint64_t tick, bool out_until_load);
        uint8_t read_byte(uint64_t tick);
        void latch_count(uint64_t tick);
        void latch_status(uint64_t tick);
        void set_gate(bool level, uint64_t tick);
    };

    uint64_t now_tick() const { return tick_at(clock_.now_ns()); }
    uint8_t read_byte(uint16_t port);
    void write_byte(uint16_t port, uint8_t value);
    void read_back(uint8_t command, uint64_t tick);
    // Raise IRQ 0 for a rising edge of channel 0 between the last delivery and `tick`, then
    // leave the line at OUT's level.
    void deliver_irq(uint64_t tick);
    void set_irq_line(bool level);

    const VirtualClock& clock_;
    IrqLines& irq_;
    DeviceLog* log_;
    std::array<Counter, 3> counters_;
    uint64_t irq_delivered_tick_ = 0;
    bool irq_level_ = false;
};

} // namespace transit86::pc
