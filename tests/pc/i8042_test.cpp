// The 8042 keyboard controller with its keyboard and mouse, through ports 0x60/0x64, against
// QEMU's hw/input/pckbd.c and hw/input/ps2.c (IBM PS/2 Technical Reference).
#include "pc/i8042.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "fake_platform.hpp"

namespace transit86::pc {
namespace {

class I8042Test : public ::testing::Test {
  protected:
    uint8_t status() { return static_cast<uint8_t>(kbc.io_read(I8042::kCommandPort, 1)); }
    uint8_t data() { return static_cast<uint8_t>(kbc.io_read(I8042::kDataPort, 1)); }
    void command(uint8_t c) { kbc.io_write(I8042::kCommandPort, 1, c); }
    void send(uint8_t d) { kbc.io_write(I8042::kDataPort, 1, d); }
    // Every byte waiting in the output buffer, in order.
    std::vector<uint8_t> drain() {
        std::vector<uint8_t> out;
        while (status() & I8042::kStatusOutputFull)
            out.push_back(data());
        return out;
    }
    bool irq1() const { return irqs.levels[I8042::kKeyboardIrq]; }
    bool irq12() const { return irqs.levels[I8042::kMouseIrq]; }

    testing::RecordingIrqLines irqs;
    std::vector<bool> a20;
    int resets = 0;
    I8042 kbc{irqs, [this](bool on) { a20.push_back(on); }, [this] { ++resets; }};
};

// kbd_reset: status "command" + "not locked" = 0x18; command byte IRQ 1 + IRQ 12 enabled.
TEST_F(I8042Test, PowerOnState) {
    EXPECT_EQ(status(), 0x18);
    command(0x20);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0x03});
}

// AA: self test answers 55 and sets the system flag (status bit 2).
TEST_F(I8042Test, SelfTestAnswers55AndSetsSystemFlag) {
    command(0xAA);
    EXPECT_EQ(status(), 0x1D);
    EXPECT_EQ(data(), 0x55);
    EXPECT_EQ(status(), 0x1C);
}

// AB and A9: interface tests answer 00 (no error).
TEST_F(I8042Test, InterfaceTestsAnswerZero) {
    command(0xAB);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0x00});
    command(0xA9);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0x00});
}

// 60 then a data byte writes the command byte; 20 reads it.
TEST_F(I8042Test, CommandByteWriteAndRead) {
    command(0x60);
    send(0x61);
    command(0x20);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0x61});
    EXPECT_EQ(kbc.command_byte(), 0x61);
}

// D1 then a data byte writes the output port: bit 1 drives A20; D0 reads the port back.
TEST_F(I8042Test, OutputPortDrivesA20) {
    command(0xD1);
    send(0xDD);
    command(0xD1);
    send(0xDF);
    EXPECT_EQ(a20, (std::vector<bool>{false, true}));
    EXPECT_EQ(resets, 0);
    command(0xD0);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xDF});
}

// DD / DF switch A20 directly (QEMU's HP Vectra commands).
TEST_F(I8042Test, A20Commands) {
    command(0xDD);
    command(0xDF);
    EXPECT_EQ(a20, (std::vector<bool>{false, true}));
    EXPECT_EQ(kbc.output_port() & I8042::kOutputA20, I8042::kOutputA20);
}

// Output-port bit 0 written low resets the CPU; FE pulses it; F0-FF with bit 0 set do not.
TEST_F(I8042Test, ResetThroughOutputPortAndPulse) {
    command(0xD1);
    send(0xDE);
    EXPECT_EQ(resets, 1);
    command(0xFE);
    EXPECT_EQ(resets, 2);
    command(0xF0);
    EXPECT_EQ(resets, 3);
    command(0xFF);
    command(0xF1);
    EXPECT_EQ(resets, 3);
}

// Keyboard FF: reset answers FA (acknowledge) then AA (self test passed).
TEST_F(I8042Test, KeyboardResetAnswersAckAndSelfTest) {
    send(0xFF);
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0xFA, 0xAA}));
}

// Keyboard F2: FA AB 83, or FA AB 41 while the controller translates.
TEST_F(I8042Test, KeyboardIdentify) {
    send(0xF2);
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0xFA, 0xAB, 0x83}));
    command(0x60);
    send(0x43);
    send(0xF2);
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0xFA, 0xAB, 0x41}));
}

// ED (LEDs) and F3 (typematic) take a data byte, each acknowledged.
TEST_F(I8042Test, LedAndTypematicTakeADataByte) {
    send(0xED);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xFA});
    send(0x07);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xFA});
    EXPECT_EQ(kbc.keyboard().leds(), 0x07);
    send(0xF3);
    send(0x20);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xFA});
}

// EE echoes EE; F4/F5/F6 acknowledge; an unknown command asks for a resend (FE).
TEST_F(I8042Test, EchoEnableAndResend) {
    send(0xEE);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xEE});
    send(0xF5);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xFA});
    EXPECT_FALSE(kbc.keyboard().scanning());
    send(0xF4);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xFA});
    EXPECT_TRUE(kbc.keyboard().scanning());
    send(0x99);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xFE});
}

// A new command cancels the unread answer to the previous one (QEMU's ps2_cqueue_reset).
TEST_F(I8042Test, NewCommandCancelsUnreadReply) {
    send(0xFF);
    send(0xEE);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0xEE});
}

// IRQ 1 is high while a keyboard-side byte waits and the command byte enables it; reading
// the byte lowers it.
TEST_F(I8042Test, Irq1WhileByteWaits) {
    command(0xAA);
    EXPECT_TRUE(irq1());
    data();
    EXPECT_FALSE(irq1());
    command(0x60);
    send(0x00); // IRQs off
    command(0xAA);
    EXPECT_FALSE(irq1());
    EXPECT_EQ(status() & I8042::kStatusOutputFull, I8042::kStatusOutputFull);
}

// Enabling IRQ 1 in the command byte with a byte waiting raises it at once.
TEST_F(I8042Test, EnablingIrqWithByteWaitingRaisesIt) {
    command(0x60);
    send(0x00);
    const uint8_t key[] = {0x1C};
    ASSERT_TRUE(kbc.press_key(key));
    EXPECT_FALSE(irq1());
    command(0x60);
    send(0x01);
    EXPECT_TRUE(irq1());
}

// Keys: set-2 wire bytes, translated to set 1 while command-byte bit 6 is set (1C -> 1E for
// 'A'; the break F0 1C -> 9E).
TEST_F(I8042Test, KeysTranslatedToSet1) {
    command(0x60);
    send(0x41);
    const uint8_t make[] = {0x1C};
    const uint8_t brk[] = {0xF0, 0x1C};
    ASSERT_TRUE(kbc.press_key(make));
    ASSERT_TRUE(kbc.press_key(brk));
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0x1E, 0x9E}));
}

TEST_F(I8042Test, KeysRawWithoutTranslation) {
    const uint8_t brk[] = {0xF0, 0x1C};
    ASSERT_TRUE(kbc.press_key(brk));
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0xF0, 0x1C}));
}

// AD holds keyboard bytes back (no OBF, no IRQ); AE lets them through.
TEST_F(I8042Test, KeyboardDisableHoldsBytes) {
    command(0xAD);
    const uint8_t key[] = {0x1C};
    ASSERT_TRUE(kbc.press_key(key));
    EXPECT_EQ(status() & I8042::kStatusOutputFull, 0);
    command(0xAE);
    EXPECT_EQ(drain(), std::vector<uint8_t>{0x1C});
}

// With scanning disabled (F5) keys are dropped; no keys ever arrive unless scripted.
TEST_F(I8042Test, ScanningDisabledDropsKeys) {
    send(0xF5);
    drain();
    const uint8_t key[] = {0x1C};
    EXPECT_FALSE(kbc.press_key(key));
    EXPECT_TRUE(drain().empty());
}

// D2 / D3 put a byte in the output buffer as if from the keyboard / the mouse (status bit 5).
TEST_F(I8042Test, WriteOutputBufferCommands) {
    command(0xD2);
    send(0x42);
    EXPECT_EQ(status() & I8042::kStatusMouseOutput, 0);
    EXPECT_EQ(data(), 0x42);
    command(0xD3);
    send(0x43);
    EXPECT_EQ(status() & I8042::kStatusMouseOutput, I8042::kStatusMouseOutput);
    EXPECT_TRUE(irq12());
    EXPECT_EQ(data(), 0x43);
    EXPECT_FALSE(irq12());
}

// The mouse is present as QEMU's: D4 FF resets it -> FA AA 00 from the mouse side, IRQ 12;
// get type -> FA 00; an unknown command gets no answer.
TEST_F(I8042Test, MouseAnswersLikeQemus) {
    command(0xD4);
    send(0xFF);
    EXPECT_EQ(status() & I8042::kStatusMouseOutput, I8042::kStatusMouseOutput);
    EXPECT_TRUE(irq12());
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0xFA, 0xAA, 0x00}));
    command(0xD4);
    send(0xF2);
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0xFA, 0x00}));
    command(0xD4);
    send(0x01);
    EXPECT_TRUE(drain().empty());
}

// The IntelliMouse knock (sample rates 200, 100, 80) makes the mouse report type 3.
TEST_F(I8042Test, MouseIntelliMouseKnock) {
    for (uint8_t rate : {uint8_t{200}, uint8_t{100}, uint8_t{80}}) {
        command(0xD4);
        send(0xF3);
        command(0xD4);
        send(rate);
    }
    drain();
    command(0xD4);
    send(0xF2);
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0xFA, 0x03}));
}

// Controller replies come before keyboard bytes.
TEST_F(I8042Test, ControllerReplyFirst) {
    const uint8_t key[] = {0x1C};
    command(0xAD);
    ASSERT_TRUE(kbc.press_key(key));
    command(0x20);
    command(0xAE);
    EXPECT_EQ(drain(), (std::vector<uint8_t>{0x13, 0x1C}));
}

// Reading 0x60 with the buffer empty gives the last byte again.
TEST_F(I8042Test, EmptyBufferRereadsLastByte) {
    command(0xAA);
    EXPECT_EQ(data(), 0x55);
    EXPECT_EQ(data(), 0x55);
}

} // namespace
} // namespace transit86::pc
