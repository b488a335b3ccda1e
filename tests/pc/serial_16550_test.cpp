// The 16550A through its registers, against the PC16550D datasheet and QEMU's
// hw/char/serial.c.
#include "pc/serial_16550.hpp"

#include <gtest/gtest.h>

#include <string>

#include "fake_platform.hpp"

namespace transit86::pc {
namespace {

using S = Serial16550;

class Serial16550Test : public ::testing::Test {
  protected:
    uint8_t in(uint8_t reg) { return static_cast<uint8_t>(uart.io_read(S::kCom1Base + reg, 1)); }
    void out(uint8_t reg, uint8_t value) { uart.io_write(S::kCom1Base + reg, 1, value); }
    bool irq4() const { return irqs.levels[S::kCom1Irq]; }
    // Lets virtual time run to the next scripted byte's arrival (9600 8N1 until a guest sets
    // another rate: one character time, 1,041,660 ns).
    void next_byte_arrives() {
        clock.advance_to(uart.next_arrival_ns());
        uart.advance();
    }
    static constexpr uint64_t kCharTime9600 = 1'041'660;

    VirtualClock clock;
    testing::RecordingIrqLines irqs;
    std::string sent;
    S uart{S::kCom1Base, S::kCom1Irq, irqs, clock,
           [this](uint8_t b) { sent.push_back(static_cast<char>(b)); }};
};

// serial_reset: IIR no interrupt, LCR 0, MCR OUT2, LSR THRE|TEMT, MSR DCD|DSR|CTS.
TEST_F(Serial16550Test, ResetValues) {
    EXPECT_EQ(in(S::kIer), 0x00);
    EXPECT_EQ(in(S::kIirFcr), 0x01);
    EXPECT_EQ(in(S::kLcr), 0x00);
    EXPECT_EQ(in(S::kMcr), 0x08);
    EXPECT_EQ(in(S::kLsr), 0x60);
    EXPECT_EQ(in(S::kMsr), 0xB0);
    EXPECT_FALSE(irq4());
}

// SeaBIOS detect_serial: IER = 0x02 reads back 0x02, and IIR's low six bits say "THR empty"
// (0x02) — the interrupt the IER write just enabled. Reading IIR acknowledges it.
TEST_F(Serial16550Test, SeabiosDetectionSequence) {
    out(S::kIer, 0x02);
    EXPECT_EQ(in(S::kIer), 0x02);
    EXPECT_EQ(in(S::kIirFcr)&0x3F, 0x02);
    EXPECT_EQ(in(S::kIirFcr), 0x01);
    out(S::kIer, 0x00);
    EXPECT_EQ(in(S::kIer), 0x00);
}

// IER keeps bits 3-0 only.
TEST_F(Serial16550Test, IerKeepsLowFourBits) {
    out(S::kIer, 0xF0);
    EXPECT_EQ(in(S::kIer), 0x00);
}

// The transmitter is infinitely fast: the byte is in the sink and THR empty again at once.
TEST_F(Serial16550Test, TransmitGoesToSinkAtOnce) {
    out(S::kRbrThr, 'h');
    out(S::kRbrThr, 'i');
    EXPECT_EQ(sent, "hi");
    EXPECT_EQ(in(S::kLsr), 0x60);
}

// THR-empty interrupt on IRQ 4 (OUT2 set at reset): raised when enabled, dropped by the IIR
// read, raised again after each transmitted byte — an edge per byte.
TEST_F(Serial16550Test, ThreInterruptAfterEachByte) {
    out(S::kIer, S::kIerThrEmpty);
    EXPECT_TRUE(irq4());
    EXPECT_EQ(in(S::kIirFcr), S::kIirThrEmpty);
    EXPECT_FALSE(irq4());
    irqs.changes.clear();
    out(S::kRbrThr, 'x');
    EXPECT_TRUE(irq4());
    ASSERT_EQ(irqs.changes.size(), 1u); // the line was low already: one rising edge
    EXPECT_EQ(irqs.changes[0], (testing::RecordingIrqLines::Change{S::kCom1Irq, true}));
    out(S::kRbrThr, 'y');
    EXPECT_EQ(irqs.changes.size(), 3u); // low while THR was full, high again
}

// MCR OUT2 gates the IRQ line (the PC's COM wiring); IIR still shows the source.
TEST_F(Serial16550Test, Out2GatesTheIrqLine) {
    out(S::kMcr, 0x00);
    out(S::kIer, S::kIerThrEmpty);
    EXPECT_FALSE(irq4());
    out(S::kMcr, S::kMcrOut2);
    EXPECT_TRUE(irq4());
    EXPECT_EQ(in(S::kIirFcr), S::kIirThrEmpty);
}

// DLAB = 1 turns offsets 0 and 1 into the divisor latch.
TEST_F(Serial16550Test, DlabSelectsDivisorLatch) {
    out(S::kLcr, 0x83);
    out(S::kRbrThr, 0x01);
    out(S::kIer, 0x00);
    EXPECT_EQ(in(S::kRbrThr), 0x01);
    EXPECT_EQ(in(S::kIer), 0x00);
    EXPECT_TRUE(sent.empty());
    out(S::kLcr, 0x03);
    out(S::kRbrThr, 'z');
    EXPECT_EQ(sent, "z");
    EXPECT_EQ(in(S::kLcr), 0x03);
}

// Loopback: transmitted bytes come back as received ones, nothing reaches the line, and the
// modem outputs show on the inputs (OUT2 -> DCD, OUT1 -> RI, RTS -> CTS, DTR -> DSR).
TEST_F(Serial16550Test, LoopbackEchoesAndMirrorsModemLines) {
    out(S::kMcr, S::kMcrLoopback | 0x0F);
    EXPECT_EQ(in(S::kMsr), 0xF0);
    out(S::kMcr, S::kMcrLoopback | S::kMcrRts);
    EXPECT_EQ(in(S::kMsr), 0x10);
    out(S::kRbrThr, 0x41);
    EXPECT_TRUE(sent.empty());
    EXPECT_EQ(in(S::kLsr)&S::kLsrDataReady, S::kLsrDataReady);
    EXPECT_EQ(in(S::kRbrThr), 0x41);
    EXPECT_EQ(in(S::kLsr), 0x60);
}

// A second byte before the first is read overruns (non-FIFO): LSR OE, a line-status
// interrupt when enabled, and reading LSR clears OE.
TEST_F(Serial16550Test, OverrunRaisesLineStatus) {
    out(S::kMcr, S::kMcrLoopback | S::kMcrOut2);
    out(S::kIer, S::kIerLineStatus);
    out(S::kRbrThr, 1);
    out(S::kRbrThr, 2);
    EXPECT_EQ(in(S::kIirFcr), S::kIirLineStatus);
    EXPECT_EQ(in(S::kLsr), 0x63);
    EXPECT_EQ(in(S::kLsr), 0x61);
    EXPECT_EQ(in(S::kIirFcr), 0x01);
    EXPECT_EQ(in(S::kRbrThr), 2);
}

// Scripted input: received-data interrupt, cleared by reading RBR; the next byte waits on the
// host side while RBR is full (no overrun from the host side), then takes a character time.
TEST_F(Serial16550Test, ReceivedDataInterrupt) {
    out(S::kIer, S::kIerReceived);
    uart.receive("ab");
    EXPECT_FALSE(irq4()); // still on the line
    next_byte_arrives();
    EXPECT_TRUE(irq4());
    EXPECT_EQ(in(S::kIirFcr), S::kIirReceived);
    clock.advance_to(clock.now_ns() + 10 * kCharTime9600); // 'b' is due but RBR is full
    uart.advance();
    EXPECT_EQ(uart.input_waiting(), 1u);
    EXPECT_EQ(in(S::kLsr)&S::kLsrOverrun, 0);
    EXPECT_EQ(in(S::kRbrThr), 'a');
    // Held for want of room (RTS/CTS), 'b' starts now and comes a character time later.
    EXPECT_EQ(uart.next_event_ns(), clock.now_ns() + kCharTime9600);
    EXPECT_EQ(in(S::kLsr), 0x60);
    next_byte_arrives();
    EXPECT_EQ(in(S::kRbrThr), 'b');
    EXPECT_EQ(in(S::kLsr), 0x60);
    EXPECT_FALSE(irq4());
    EXPECT_EQ(in(S::kIirFcr), 0x01);
}

// Bytes come off the line one character time apart at the programmed rate and frame, the
// first a character time after they were typed: 115200 8N1 is 10 bits of 8680 ns.
TEST_F(Serial16550Test, ScriptedBytesArriveAtTheLineRate) {
    out(S::kLcr, S::kLcrDlab);
    out(S::kRbrThr, 1); // divisor 1: 115200 baud
    out(S::kIer, 0);
    out(S::kLcr, 0x03); // 8N1
    out(S::kIirFcr, S::kFcrEnable);
    clock.advance_to(1'000'000);
    uart.receive("xyz");
    EXPECT_EQ(uart.next_event_ns(), 1'086'800u);
    clock.advance_to(1'086'799);
    uart.advance();
    EXPECT_EQ(in(S::kLsr)&S::kLsrDataReady, 0);
    clock.advance_to(1'086'800);
    uart.advance();
    EXPECT_EQ(uart.input_waiting(), 2u);
    EXPECT_EQ(uart.next_event_ns(), 1'173'600u);
    clock.advance_to(1'173'600 + 86'800 - 1); // 'y' in, 'z' one nanosecond short
    uart.advance();
    EXPECT_EQ(uart.input_waiting(), 1u);
    std::string got;
    while (in(S::kLsr)&S::kLsrDataReady)
        got += static_cast<char>(in(S::kRbrThr));
    EXPECT_EQ(got, "xy");
}

// A sender's gap longer than the character time spaces the bytes by the gap instead.
TEST_F(Serial16550Test, ASendersGapLongerThanACharacterSpacesTheBytes) {
    out(S::kLcr, S::kLcrDlab);
    out(S::kRbrThr, 1); // 115200 baud
    out(S::kLcr, 0x03);
    uart.receive("xy", 1'000'000);
    next_byte_arrives();
    EXPECT_EQ(clock.now_ns(), 86'800u);
    EXPECT_EQ(in(S::kRbrThr), 'x');
    EXPECT_EQ(uart.next_event_ns(), 1'086'800u);
    next_byte_arrives();
    EXPECT_EQ(in(S::kRbrThr), 'y');
}

// Interrupt priority: line status > received data > THR empty.
TEST_F(Serial16550Test, InterruptPriority) {
    out(S::kMcr, S::kMcrLoopback | S::kMcrOut2);
    out(S::kIer, S::kIerReceived | S::kIerThrEmpty | S::kIerLineStatus);
    out(S::kRbrThr, 1);
    EXPECT_EQ(in(S::kIirFcr), S::kIirReceived);
    out(S::kRbrThr, 2); // overrun
    EXPECT_EQ(in(S::kIirFcr), S::kIirLineStatus);
    in(S::kLsr);
    EXPECT_EQ(in(S::kIirFcr), S::kIirReceived);
    in(S::kRbrThr);
    EXPECT_EQ(in(S::kIirFcr), S::kIirThrEmpty);
}

// FCR bit 0 turns the FIFOs on: IIR bits 7-6 read 11.
TEST_F(Serial16550Test, FifoEnableShowsInIir) {
    out(S::kIirFcr, S::kFcrEnable);
    EXPECT_EQ(in(S::kIirFcr), 0xC1);
    out(S::kIirFcr, 0x00);
    EXPECT_EQ(in(S::kIirFcr), 0x01);
}

// The receive FIFO holds 16 bytes; scripted input waits for room.
TEST_F(Serial16550Test, FifoHoldsSixteenBytes) {
    out(S::kIirFcr, S::kFcrEnable);
    uart.receive(std::string(20, 'q'));
    for (int i = 0; i < 16; ++i)
        next_byte_arrives();
    EXPECT_EQ(uart.input_waiting(), 4u);
    // No room: the next event is the character timeout, not the 17th byte (due at 17).
    EXPECT_EQ(uart.next_event_ns(), (16 + 4) * kCharTime9600);
    clock.advance_to(18 * kCharTime9600);
    uart.advance();
    EXPECT_EQ(uart.input_waiting(), 4u);
    in(S::kRbrThr);
    // Held for want of room since 17: it starts as room appears and comes a character time
    // later, however long it waited (a reader that empties the FIFO in one loop does not see
    // the held bytes pour in behind it).
    EXPECT_EQ(uart.input_waiting(), 4u);
    EXPECT_EQ(uart.next_arrival_ns(), 19 * kCharTime9600);
    next_byte_arrives();
    EXPECT_EQ(uart.input_waiting(), 3u);
    EXPECT_EQ(in(S::kLsr)&S::kLsrOverrun, 0);
}

// Bytes leave the FIFO in the order they arrived, however far the reads and the scripted
// input interleave (the FIFO is a ring of 16: 40 bytes go round it twice and more).
TEST_F(Serial16550Test, FifoKeepsOrderAsItRefills) {
    out(S::kIirFcr, S::kFcrEnable);
    std::string line;
    for (int i = 0; i < 40; ++i)
        line += static_cast<char>('A' + i);
    uart.receive(line);
    std::string got;
    for (int reads = 0; reads < 200 && got.size() < line.size(); ++reads) {
        for (int i = 0; i < reads % 19; ++i)
            next_byte_arrives();
        while (in(S::kLsr)&S::kLsrDataReady)
            got += static_cast<char>(in(S::kRbrThr));
    }
    EXPECT_EQ(got, line);
    EXPECT_EQ(uart.input_waiting(), 0u);
}

// Trigger level 8: four bytes raise nothing until the character timeout, four character
// times after the last one came in (9600 8N1: 10 bits of 104166 ns), from the virtual clock.
TEST_F(Serial16550Test, FifoTriggerLevelAndCharacterTimeout) {
    out(S::kIirFcr, 0x81);
    out(S::kIer, S::kIerReceived);
    uart.receive("1234");
    for (int i = 0; i < 4; ++i)
        next_byte_arrives();
    const uint64_t last_in = 4 * kCharTime9600;
    EXPECT_EQ(clock.now_ns(), last_in);
    EXPECT_EQ(in(S::kIirFcr), 0xC1);
    EXPECT_EQ(uart.next_event_ns(), last_in + 4 * kCharTime9600);
    clock.advance_to(last_in + 4 * kCharTime9600 - 1);
    uart.advance();
    EXPECT_FALSE(irq4());
    clock.advance_to(last_in + 4 * kCharTime9600);
    uart.advance();
    EXPECT_TRUE(irq4());
    EXPECT_EQ(in(S::kIirFcr), 0xC0 | S::kIirTimeout);
    EXPECT_EQ(in(S::kRbrThr), '1');
    EXPECT_EQ(in(S::kIirFcr), 0xC1);
    uart.receive("567"); // 6 waiting once they are in
    for (int i = 0; i < 3; ++i)
        next_byte_arrives();
    EXPECT_EQ(in(S::kIirFcr), 0xC1);
    uart.receive("89"); // 8: the trigger level
    next_byte_arrives();
    EXPECT_EQ(in(S::kIirFcr), 0xC1);
    next_byte_arrives();
    EXPECT_EQ(in(S::kIirFcr), 0xC0 | S::kIirReceived);
}

// SCR is plain storage.
TEST_F(Serial16550Test, ScratchRegister) {
    out(S::kScr, 0x5A);
    EXPECT_EQ(in(S::kScr), 0x5A);
}

// A 16-bit IN reads two registers (QEMU splits the access).
TEST_F(Serial16550Test, WordAccessSplitsIntoRegisters) {
    out(S::kIer, 0x0F);
    EXPECT_EQ(uart.io_read(S::kCom1Base, 2) >> 8, 0x0Fu);
    EXPECT_EQ(uart.io_read(S::kCom1Base + 7, 2) >> 8, 0xFFu); // past the UART: empty bus
}

} // namespace
} // namespace transit86::pc
