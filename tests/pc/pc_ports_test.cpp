// PcPorts, the port conventions `transit86 step` and the corpus use (docs/cli.md, "Ports"):
// the device models keep the behaviour the corpus was recorded with.
#include "pc/pc_ports.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace transit86::pc {
namespace {

class PcPortsTest : public ::testing::Test {
  protected:
    uint32_t in(uint16_t port, uint8_t size = 1) {
        PortAccess a{.port = port, .size = size, .is_in = true, .data = 0};
        EXPECT_EQ(ports.access(a), PortHandler::Result::Handled);
        return a.data;
    }
    PortHandler::Result out(uint16_t port, uint32_t value, uint8_t size = 1) {
        PortAccess a{.port = port, .size = size, .is_in = false, .data = value};
        return ports.access(a);
    }
    PcPorts ports;
};

// E9 and COM1's THR both feed the console.
TEST_F(PcPortsTest, DebugConsoleAndCom1FeedConsole) {
    out(PcPorts::kDebugConsole, 'a');
    out(PcPorts::kCom1, 'b');
    EXPECT_EQ(in(PcPorts::kDebugConsole), 0xE9u);
    EXPECT_EQ(in(PcPorts::kCom1 + 5), 0x60u); // always ready to send
    EXPECT_EQ(ports.take_console(), "ab");
    EXPECT_EQ(ports.take_console(), "");
}

// 0xF4 OUT exits to the host with the value; IN reads the empty bus as before.
TEST_F(PcPortsTest, DebugExitStopsTheRun) {
    EXPECT_EQ(in(PcPorts::kDebugExit), 0xFFu);
    EXPECT_EQ(out(PcPorts::kDebugExit, 0x10), PortHandler::Result::ExitToHost);
    EXPECT_EQ(ports.debug_exit_code(), 0x10u);
    EXPECT_EQ(PcPorts::exit_status_for(0x10), 0x21);
}

// Port 0x92 and the 8042 output port drive one A20 line, which 0x92 reads back.
TEST_F(PcPortsTest, OneA20LineForBothSources) {
    std::vector<bool> a20;
    ports.on_a20 = [&a20](bool on) { a20.push_back(on); };
    ports.initial_a20(false);
    EXPECT_EQ(in(PcPorts::kSystemControlA), 0x00u);
    out(PcPorts::kSystemControlA, 0x02);
    EXPECT_EQ(in(PcPorts::kSystemControlA), 0x02u);
    while (in(PcPorts::kKbcCommand)&0x02) {
    }
    out(PcPorts::kKbcCommand, 0xD1);
    out(PcPorts::kKbcData, 0xDD);
    EXPECT_EQ(in(PcPorts::kSystemControlA), 0x00u);
    EXPECT_EQ(a20, (std::vector<bool>{true, false}));
}

// Reset requests reach on_reset when it is set.
TEST_F(PcPortsTest, ResetRequestsReachOnReset) {
    int resets = 0;
    ports.on_reset = [&resets] { ++resets; };
    out(PcPorts::kKbcCommand, 0xFE);
    out(PcPorts::kSystemControlA, 0x01);
    EXPECT_EQ(resets, 2);
}

// Unclaimed ports: IN reads all ones, OUT is ignored.
TEST_F(PcPortsTest, EmptyBusElsewhere) {
    EXPECT_EQ(in(0x1234, 2), 0xFFFFu);
    EXPECT_EQ(out(0x1234, 0), PortHandler::Result::Handled);
}

} // namespace
} // namespace transit86::pc
