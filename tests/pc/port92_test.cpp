// System Control Port A (0x92), against QEMU's hw/i386/port92.c.
#include "pc/port92.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace transit86::pc {
namespace {

class Port92Test : public ::testing::Test {
  protected:
    uint8_t in() { return static_cast<uint8_t>(port.io_read(Port92::kPort, 1)); }
    void out(uint8_t v) { port.io_write(Port92::kPort, 1, v); }

    std::vector<bool> a20;
    int resets = 0;
    Port92 port{[this](bool on) { a20.push_back(on); }, [this] { ++resets; }};
};

// Power-on: 0 (QEMU's outport starts at 0).
TEST_F(Port92Test, PowerOnReadsZero) {
    EXPECT_EQ(in(), 0x00);
}

// Bit 1 drives the A20 gate on every write.
TEST_F(Port92Test, Bit1GatesA20) {
    out(0x02);
    out(0x00);
    EXPECT_EQ(a20, (std::vector<bool>{true, false}));
}

// A read returns the last value written, with bit 1 the A20 line.
TEST_F(Port92Test, ReadReturnsLastValueWithA20Bit) {
    out(0xC2);
    EXPECT_EQ(in(), 0xC2);
    port.observe_a20(false); // the 8042 turned A20 off since
    EXPECT_EQ(in(), 0xC0);
}

// Bit 0: a 0 -> 1 transition resets; writing 1 again while set does not.
TEST_F(Port92Test, FastResetOnRisingEdgeOnly) {
    out(0x01);
    EXPECT_EQ(resets, 1);
    out(0x03);
    EXPECT_EQ(resets, 1);
    out(0x02);
    out(0x03);
    EXPECT_EQ(resets, 2);
}

} // namespace
} // namespace transit86::pc
