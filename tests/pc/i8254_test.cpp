// The 8254 PIT (0x40-0x43) and port 0x61, driven through their ports against VirtualClock.
// Expected waveforms from the Intel 8254 datasheet (mode descriptions and timing diagrams):
// a count written at clock tick t is loaded by tick t + 1 and decremented from tick t + 2.
#include <gtest/gtest.h>

#include "fake_platform.hpp"
#include "irq_edges.hpp"
#include "pc/i8254.hpp"
#include "pc/port61.hpp"

namespace transit86::pc {
namespace {

// Tick k of the 1,193,182 Hz clock happens at ceil(k * 10^9 / 1193182) ns (worked out here,
// not taken from the device).
__extension__ typedef unsigned __int128 u128;

uint64_t ns_at_tick(uint64_t tick) {
    const u128 numerator = static_cast<u128>(tick) * 1'000'000'000u;
    return static_cast<uint64_t>((numerator + 1193182 - 1) / 1193182);
}

class I8254Test : public ::testing::Test {
  protected:
    void at_tick(uint64_t tick) {
        clock.advance_to(ns_at_tick(tick));
        pit.advance();
    }
    static uint16_t port_of(unsigned channel) { return static_cast<uint16_t>(0x40 + channel); }
    void program(unsigned channel, uint8_t mode_and_format, uint16_t count) {
        pit.io_write(0x43, 1, (channel << 6) | 0x30 | mode_and_format); // LSB then MSB
        pit.io_write(port_of(channel), 1, count & 0xFF);
        pit.io_write(port_of(channel), 1, count >> 8);
    }
    uint8_t status(unsigned channel) {
        pit.io_write(0x43, 1, 0xE0 | (2u << channel)); // read-back: status only
        return static_cast<uint8_t>(pit.io_read(port_of(channel), 1));
    }
    bool out(unsigned channel) { return (status(channel) & 0x80) != 0; }
    uint16_t count(unsigned channel) { // live read, LSB then MSB
        const uint32_t low = pit.io_read(port_of(channel), 1);
        return static_cast<uint16_t>(low | (pit.io_read(port_of(channel), 1) << 8));
    }

    VirtualClock clock;
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    I8254Pit pit{clock, irq, &log};
    SystemControlPortB port61{clock, pit, &log};
};

// Mode 0: OUT low from the control word; the count is loaded on the next clock and OUT goes
// high when it reaches 0, N + 1 clocks after the write; the counter then wraps to 0xFFFF.
TEST_F(I8254Test, Mode0OutputRisesWhenCountReachesZero) {
    program(0, 0x00, 100);
    EXPECT_EQ(status(0), 0x70); // OUT 0, NULL COUNT, LSB/MSB, mode 0
    at_tick(1);
    EXPECT_EQ(status(0), 0x30); // loaded: NULL COUNT clear
    EXPECT_EQ(count(0), 100);
    at_tick(100);
    EXPECT_EQ(count(0), 1);
    EXPECT_FALSE(out(0));
    EXPECT_EQ(pit.next_event_ns(), ns_at_tick(101));
    EXPECT_EQ(testing::rising_edges(irq, 0), 0u);
    at_tick(101);
    EXPECT_TRUE(out(0));
    EXPECT_EQ(count(0), 0);
    EXPECT_EQ(testing::rising_edges(irq, 0), 1u);
    at_tick(102);
    EXPECT_EQ(count(0), 0xFFFF);
    EXPECT_TRUE(out(0));
    EXPECT_EQ(pit.next_event_ns(), TimedDevice::kNever);
}

// Before the load edge a read gives the count just written (undefined in the datasheet; QEMU's
// value), with NULL COUNT still set: Linux's quick_pit_calibrate reads channel 2 at once after
// writing 0xFFFF and expects the MSB to be 0xFF.
TEST_F(I8254Test, CountReadsAsWrittenBeforeTheLoadEdge) {
    at_tick(1000);
    port61.io_write(0x61, 1, 0x01); // GATE 2 high, speaker off
    pit.io_write(0x43, 1, 0xB0);    // channel 2, LSB then MSB, mode 0
    pit.io_write(0x42, 1, 0xFF);
    pit.io_write(0x42, 1, 0xFF);
    EXPECT_EQ(count(2), 0xFFFF);
    EXPECT_EQ(status(2) & 0x40, 0x40); // NULL COUNT: not loaded yet
    at_tick(1001);
    EXPECT_EQ(count(2), 0xFFFF); // loaded, not yet decremented
    at_tick(1002);
    EXPECT_EQ(count(2), 0xFFFE);
    program(0, 0x04, 0); // mode 2 with 0: the largest count, read as 0
    EXPECT_EQ(count(0), 0);
}

// Mode 2: OUT high, low for the one clock at which the count is 1, then the count reloads:
// a rising edge (IRQ 0) every N clocks.
TEST_F(I8254Test, Mode2RateGeneratorPulsesLowOnceAPeriod) {
    program(0, 0x04, 4);
    const bool expected_out[] = {true, true, true, false, true, true, true, false, true};
    const uint16_t expected_count[] = {4, 3, 2, 1, 4, 3, 2, 1, 4};
    for (uint64_t tick = 1; tick <= 9; ++tick) {
        at_tick(tick);
        EXPECT_EQ(out(0), expected_out[tick - 1]) << "tick " << tick;
        EXPECT_EQ(count(0), expected_count[tick - 1]) << "tick " << tick;
    }
    EXPECT_EQ(testing::rising_edges(irq, 0), 2u); // ticks 5 and 9
    EXPECT_EQ(pit.next_event_ns(), ns_at_tick(13));
}

// Mode 3 with an even count: high N/2 clocks, low N/2, the count going down by two.
TEST_F(I8254Test, Mode3EvenCountIsSymmetricSquareWave) {
    program(0, 0x06, 6);
    const bool expected_out[] = {true, true, true, false, false, false, true};
    const uint16_t expected_count[] = {6, 4, 2, 6, 4, 2, 6};
    for (uint64_t tick = 1; tick <= 7; ++tick) {
        at_tick(tick);
        EXPECT_EQ(out(0), expected_out[tick - 1]) << "tick " << tick;
        EXPECT_EQ(count(0), expected_count[tick - 1]) << "tick " << tick;
    }
}

// Mode 3 with an odd count: high (N + 1) / 2 clocks, low (N - 1) / 2; the first clock after a
// reload takes off 1 (high half) or 3 (low half), the others 2.
TEST_F(I8254Test, Mode3OddCountIsHighOneClockLonger) {
    program(0, 0x06, 5);
    const bool expected_out[] = {true, true, true, false, false, true};
    const uint16_t expected_count[] = {5, 4, 2, 5, 2, 5};
    for (uint64_t tick = 1; tick <= 6; ++tick) {
        at_tick(tick);
        EXPECT_EQ(out(0), expected_out[tick - 1]) << "tick " << tick;
        EXPECT_EQ(count(0), expected_count[tick - 1]) << "tick " << tick;
    }
}

// Mode 4: OUT high, low for the one clock at which the count reaches 0.
TEST_F(I8254Test, Mode4StrobesLowAtTerminalCount) {
    program(0, 0x08, 3);
    at_tick(3);
    EXPECT_TRUE(out(0));
    at_tick(4);
    EXPECT_FALSE(out(0));
    at_tick(5);
    EXPECT_TRUE(out(0));
    EXPECT_EQ(testing::rising_edges(irq, 0), 1u);
}

// Mode 1: the count is loaded by a GATE rising edge; OUT low for N clocks from the load.
// A new trigger during the one-shot restarts it.
TEST_F(I8254Test, Mode1OneShotIsTriggeredAndRetriggeredByGate) {
    port61.io_write(0x61, 1, 0x00);
    program(2, 0x02, 5);
    at_tick(10);
    EXPECT_TRUE(out(2)); // waiting for the trigger
    port61.io_write(0x61, 1, 0x01);
    at_tick(11);
    EXPECT_FALSE(out(2));
    at_tick(13);
    port61.io_write(0x61, 1, 0x00);
    port61.io_write(0x61, 1, 0x01); // retrigger: reload at tick 14
    at_tick(18);
    EXPECT_FALSE(out(2));
    at_tick(19);
    EXPECT_TRUE(out(2));
}

// Mode 5: a GATE rising edge loads the count; OUT strobes low when it reaches 0.
TEST_F(I8254Test, Mode5StrobeIsTriggeredByGate) {
    port61.io_write(0x61, 1, 0x00);
    program(2, 0x0A, 3);
    at_tick(10);
    port61.io_write(0x61, 1, 0x01); // loaded at tick 11
    at_tick(13);
    EXPECT_TRUE(out(2));
    at_tick(14);
    EXPECT_FALSE(out(2));
    at_tick(15);
    EXPECT_TRUE(out(2));
}

// Mode 2: a count written during counting takes effect at the next reload; the current period
// is not cut short.
TEST_F(I8254Test, Mode2RewriteTakesEffectAtNextReload) {
    program(0, 0x04, 4);
    at_tick(2);
    pit.io_write(0x40, 1, 10);
    pit.io_write(0x40, 1, 0);
    EXPECT_EQ(pit.next_event_ns(), ns_at_tick(5));
    at_tick(5);
    EXPECT_EQ(count(0), 10);
    EXPECT_EQ(pit.next_event_ns(), ns_at_tick(15));
}

// Mode 3: a count written during a high half cycle takes effect at the end of that half,
// continuing with the new count's low half.
TEST_F(I8254Test, Mode3RewriteTakesEffectAtEndOfHalfCycle) {
    program(0, 0x06, 6); // high at ticks 1-3
    at_tick(2);
    pit.io_write(0x40, 1, 4);
    pit.io_write(0x40, 1, 0);
    const bool expected_out[] = {true, false, false, true, true, false, false, true};
    for (uint64_t tick = 3; tick <= 10; ++tick) {
        at_tick(tick);
        EXPECT_EQ(out(0), expected_out[tick - 3]) << "tick " << tick;
    }
}

// Counter latch command: the count is frozen at the latch until both bytes are read; a second
// latch before then is ignored.
TEST_F(I8254Test, LatchCommandFreezesCountUntilRead) {
    program(0, 0x04, 1000);
    at_tick(11);
    pit.io_write(0x43, 1, 0x00); // latch channel 0: 1000 - 10
    at_tick(30);
    pit.io_write(0x43, 1, 0x00); // ignored
    at_tick(50);
    EXPECT_EQ(count(0), 990);
    EXPECT_EQ(count(0), 951); // live again
}

// Read-back: status and count latched together; the status byte is read first.
TEST_F(I8254Test, ReadBackLatchesStatusThenCount) {
    program(0, 0x04, 1000);
    at_tick(11);
    pit.io_write(0x43, 1, 0xC2); // COUNT and STATUS of channel 0
    at_tick(40);
    EXPECT_EQ(pit.io_read(0x40, 1), 0xB4u); // OUT 1, LSB/MSB, mode 2, binary
    EXPECT_EQ(count(0), 990);
}

// BCD: the count is four decimal digits and decrements in decimal.
TEST_F(I8254Test, BcdCountDecrementsInDecimal) {
    program(0, 0x01, 0x0100); // mode 0, BCD, 100
    at_tick(2);
    EXPECT_EQ(count(0), 0x0099);
    at_tick(101);
    EXPECT_EQ(count(0), 0x0000);
    EXPECT_TRUE(out(0));
    at_tick(102);
    EXPECT_EQ(count(0), 0x9999);
}

// Port 0x61 bit 0 is channel 2's GATE (counting suspended while low in mode 0) and bit 5 its
// OUT: SeaBIOS times its TSC calibration this way (src/hw/timer.c).
TEST_F(I8254Test, Port61GatesChannel2AndShowsItsOutput) {
    port61.io_write(0x61, 1, 0x00);
    program(2, 0x00, 10);
    at_tick(20);
    EXPECT_EQ(port61.io_read(0x61, 1) & 0x21, 0x00u);
    EXPECT_EQ(count(2), 10);
    port61.io_write(0x61, 1, 0x01); // counting from tick 20
    at_tick(29);
    EXPECT_EQ(port61.io_read(0x61, 1) & 0x21, 0x01u);
    at_tick(30);
    EXPECT_EQ(port61.io_read(0x61, 1) & 0x21, 0x21u);
}

// Port 0x61 bit 4: the refresh request toggles every 15 us of virtual time.
TEST_F(I8254Test, Port61RefreshBitTogglesEvery15Microseconds) {
    clock.advance_to(14'999);
    EXPECT_EQ(port61.io_read(0x61, 1) & 0x10, 0x00u);
    clock.advance_to(15'000);
    EXPECT_EQ(port61.io_read(0x61, 1) & 0x10, 0x10u);
    clock.advance_to(29'999);
    EXPECT_EQ(port61.io_read(0x61, 1) & 0x10, 0x10u);
    clock.advance_to(30'000);
    EXPECT_EQ(port61.io_read(0x61, 1) & 0x10, 0x00u);
}

// QEMU's power-on state: channel 0 in mode 3 with count 65536, so IRQ 0 runs at 18.2 Hz
// before anyone programs it.
TEST_F(I8254Test, PowerOnChannel0RunsAt18Hz) {
    EXPECT_EQ(pit.next_event_ns(), ns_at_tick(65536));
    at_tick(65536);
    EXPECT_EQ(testing::rising_edges(irq, 0), 1u);
    EXPECT_EQ(pit.next_event_ns(), ns_at_tick(2 * 65536));
}

// Edges are computed from ticks since the load, never accumulated: after an hour of virtual
// time at 100 Hz the next IRQ 0 is exactly on the tick grid, and the many missed periods
// coalesce into one edge.
TEST_F(I8254Test, LongRunStaysOnTickGridAndCoalescesMissedEdges) {
    program(0, 0x04, 11932); // loaded at tick 1
    clock.advance_to(3'600'000'000'000);
    pit.advance();
    EXPECT_EQ(testing::rising_edges(irq, 0), 1u);
    const uint64_t now_tick = 1193182ull * 3600; // exact: 3600 s at 1,193,182 Hz
    const uint64_t periods = (now_tick - 1) / 11932 + 1;
    EXPECT_EQ(pit.next_event_ns(), ns_at_tick(1 + periods * 11932));
}

} // namespace
} // namespace transit86::pc
