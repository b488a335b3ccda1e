// Steady reads (IoDevice::steady_read, PcPlatform::steady_read): a device's promise that a port
// keeps its value until a given virtual time. The emulator retires polling loops on it without
// reading the port, so the promise must never be broken: walked tick by tick against the
// device's own reads, and where the 8254 datasheet says OUT changes, the promise must end there.
#include <gtest/gtest.h>

#include <initializer_list>

#include "fake_platform.hpp"
#include "pc/i8254.hpp"
#include "pc/platform.hpp"
#include "pc/port61.hpp"

namespace transit86::pc {
namespace {

__extension__ typedef unsigned __int128 u128;

uint64_t ns_at_tick(uint64_t tick) { // ceil(k * 10^9 / 1193182), worked out here
    return static_cast<uint64_t>((static_cast<u128>(tick) * 1'000'000'000u + 1193182 - 1) /
                                 1193182);
}

struct Channel2 {
    VirtualClock clock;
    testing::RecordingIrqLines irq;
    testing::RecordingLog log;
    I8254Pit pit{clock, irq, &log};
    SystemControlPortB port61{clock, pit, &log};

    void program(uint8_t mode, uint16_t count) {
        port61.io_write(0x61, 1, 0x00); // GATE low
        pit.io_write(0x43, 1, 0xB0 | (mode << 1));
        pit.io_write(0x42, 1, count & 0xFF);
        pit.io_write(0x42, 1, count >> 8);
        port61.io_write(0x61, 1, 0x01); // GATE high: counts (modes 1, 5: triggered)
    }
    bool out() { return (port61.io_read(0x61, 1) & 0x20) != 0; }
};

// Walks OUT of channel 2 through several periods: inside each promise OUT keeps its value at
// every clock edge; at the promise's end it has changed (counts of 2 and more).
TEST(SteadyRead, Timer2OutputKeepsItsPromiseInEveryMode) {
    for (uint8_t mode = 0; mode < 6; ++mode) {
        for (const uint16_t count : std::initializer_list<uint16_t>{2, 3, 4, 5, 7, 100, 0}) {
            Channel2 c;
            c.program(mode, count);
            const uint64_t end_ns = ns_at_tick(3u * (count ? count : 0x10000u) + 10);
            int changes = 0;
            while (c.clock.now_ns() < end_ns) {
                const bool before = c.out();
                const uint64_t until = c.pit.output_steady_until_ns(2);
                ASSERT_GT(until, c.clock.now_ns()) << "mode " << int{mode} << " count " << count;
                if (until == TimedDevice::kNever) break;
                for (uint64_t tick = I8254Pit::tick_at(c.clock.now_ns()) + 1;
                     ns_at_tick(tick) < until; ++tick) {
                    c.clock.advance_to(ns_at_tick(tick));
                    ASSERT_EQ(c.out(), before)
                        << "mode " << int{mode} << " count " << count << " at tick " << tick
                        << ", promised until " << until;
                }
                c.clock.advance_to(until);
                EXPECT_NE(c.out(), before)
                    << "mode " << int{mode} << " count " << count << " at " << until << " ns";
                ++changes;
            }
            // Modes 2 and 3 keep changing; the one-shots change once or twice and then never.
            if (mode == 2 || mode == 3) {
                EXPECT_GE(changes, 4) << int{mode} << " " << count;
            }
        }
    }
}

// Port 0x61 reads the same byte until its promise ends: bit 4 toggles every 15 us, bit 5
// follows OUT2. Its value is what an IN reads now.
TEST(SteadyRead, Port61KeepsItsPromiseAndItsValue) {
    Channel2 c;
    c.program(0, 0xFFFF); // GRUB's calibration: 54.9 ms
    uint64_t promises = 0;
    while (c.clock.now_ns() < 56'000'000) {
        const std::optional<SteadyRead> steady = c.port61.steady_read(0x61, 1);
        ASSERT_TRUE(steady);
        const uint32_t now_value = c.port61.io_read(0x61, 1);
        ASSERT_EQ(steady->value, now_value);
        ASSERT_GT(steady->until_ns, c.clock.now_ns());
        ASSERT_LE(steady->until_ns - c.clock.now_ns(), 15'000u);
        c.clock.advance_to(steady->until_ns - 1);
        ASSERT_EQ(c.port61.io_read(0x61, 1), now_value);
        c.clock.advance_to(steady->until_ns);
        ++promises;
    }
    EXPECT_EQ(c.port61.io_read(0x61, 1) & 0x20, 0x20); // counted out
    EXPECT_GT(promises, 3000u);
    EXPECT_FALSE(c.port61.steady_read(0x61, 2)); // a word read reaches port 0x62 too
    EXPECT_FALSE(c.pit.steady_read(0x42, 1));    // the counter itself: no promise
}

// The platform cuts the promise at the next timer event and gives none while an access would
// end the run (a timer due before the run's deadline).
TEST(SteadyRead, PlatformCutsThePromiseAtTheNextTimerEvent) {
    PcConfig config;
    config.ram_bytes = 2u << 20;
    config.bios.assign(0x10000, 0xF4);
    PcPlatform platform(std::move(config));
    uint64_t now = 0;
    platform.time_source = [&now] { return now; };
    // Channel 0 as SeaBIOS leaves it: mode 2, 18.2 Hz (IRQ 0 every 54.9 ms).
    PortAccess control{.port = 0x43, .size = 1, .is_in = false, .data = 0x34};
    platform.access(control);
    for (const uint32_t byte : {0u, 0u}) {
        PortAccess count{.port = 0x40, .size = 1, .is_in = false, .data = byte};
        platform.access(count);
    }
    now = 1000;
    const uint64_t next_event = platform.next_event_ns();
    platform.begin_run(next_event);
    PortAccess in61{.port = 0x61, .size = 1, .is_in = true};
    const uint64_t promised = platform.steady_read(in61);
    EXPECT_GT(promised, 0u);
    EXPECT_LE(now + promised, next_event);
    EXPECT_LE(promised, 15'000u);
    platform.begin_run(next_event + 1); // an access now would end the run
    EXPECT_EQ(platform.steady_read(in61), 0u);
    PortAccess out{.port = 0x61, .size = 1, .is_in = false};
    EXPECT_EQ(platform.steady_read(out), 0u);
}

} // namespace
} // namespace transit86::pc
