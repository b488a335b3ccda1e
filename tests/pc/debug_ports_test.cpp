// isa-debugcon and isa-debug-exit, against QEMU's hw/char/debugcon.c and hw/misc/debugexit.c.
#include "pc/debug_exit.hpp"
#include "pc/debugcon.hpp"

#include <gtest/gtest.h>

#include <string>

namespace transit86::pc {
namespace {

// Reads give the readback value (0xE9 by default: what SeaBIOS checks before logging to 0x402).
TEST(DebugconTest, ReadReturnsReadbackValue) {
    Debugcon seabios_log(Debugcon::kSeabiosLogPort, nullptr);
    EXPECT_EQ(seabios_log.io_read(Debugcon::kSeabiosLogPort, 1), 0xE9u);
    Debugcon quiet(Debugcon::kBochsPort, nullptr, 0x00);
    EXPECT_EQ(quiet.io_read(Debugcon::kBochsPort, 1), 0x00u);
}

// Writes hand the low byte to the sink.
TEST(DebugconTest, WriteAppendsLowByteToSink) {
    std::string log;
    Debugcon con(Debugcon::kSeabiosLogPort,
                 [&log](uint8_t b) { log.push_back(static_cast<char>(b)); });
    con.io_write(Debugcon::kSeabiosLogPort, 1, 'o');
    con.io_write(Debugcon::kSeabiosLogPort, 2, 0x4B6B); // 'k' in the low byte
    EXPECT_EQ(log, "ok");
}

// A write records the value; QEMU's exit status is (value << 1) | 1.
TEST(DebugExitTest, WriteRecordsValueAndStatus) {
    DebugExit exit(0xF4, 1);
    EXPECT_FALSE(exit.value());
    exit.io_write(0xF4, 1, 0x10);
    EXPECT_EQ(exit.value(), 0x10u);
    EXPECT_EQ(DebugExit::exit_status_for(0x10), 0x21);
    EXPECT_EQ(DebugExit::exit_status_for(0x80), 0x01); // exit() keeps 8 bits
}

// QEMU's defaults: iobase 0x501, two ports; reads return 0.
TEST(DebugExitTest, PortRangeIsConfigurable) {
    DebugExit exit;
    EXPECT_TRUE(exit.owns(0x502));
    EXPECT_FALSE(exit.owns(0x503));
    EXPECT_EQ(exit.io_read(0x501, 1), 0u);
    exit.io_write(0x503, 1, 1);
    EXPECT_FALSE(exit.value());
    exit.io_write(0x502, 2, 0x1234);
    EXPECT_EQ(exit.value(), 0x1234u);
}

} // namespace
} // namespace transit86::pc
