// serial_16550: a 16550A UART as QEMU's hw/char/serial.c models it (National Semiconductor
// PC16550D datasheet), at COM1 = 0x3F8, IRQ 4 by default.
//
//   +0  RBR (read) / THR (write); DLL while LCR.DLAB = 1
//   +1  IER: bit 0 received data, 1 THR empty, 2 line status, 3 modem status; DLM with DLAB
//   +2  IIR (read): bit 0 = no interrupt pending, bits 3-1 the highest pending source — line
//       status 011 > character timeout 110 > received data 010 > THR empty 001 > modem
//       status 000 — and bits 7-6 = 11 while the FIFOs are on. Reading it with THR empty as
//       the source clears that source. FCR (write): FIFO enable, clear RX/TX, trigger level
//   +3  LCR (bit 7 = DLAB)   +4  MCR: DTR, RTS, OUT1, OUT2, bit 4 loopback
//   +5  LSR: DR, OE, PE, FE, BI, THRE, TEMT (reading clears OE and BI)
//   +6  MSR: CTS, DSR, RI, DCD and their deltas   +7  SCR: scratch
//
// The transmitter is infinitely fast: a byte written to THR goes to the sink at once and THR
// is empty again before the OUT completes, so the THR-empty interrupt follows every byte (when
// IER bit 1 is set). Received bytes come only from receive() (scripted input): they wait in a
// host-side queue and come off the line one character time apart at the programmed rate and
// frame (115200 8N1: 86.8 us), the first one a character time after receive(). A byte that
// finds no room (RBR full, or the 16-byte FIFO) is held by the sender, as under RTS/CTS flow
// control, and comes a character time after the guest makes room. QEMU hands a backend's
// bytes over as fast as there is room, whatever the rate: a guest that reads "all available
// data" in one loop (SeaBIOS's sercon_check_event, whose buffer holds 16) takes a whole typed
// line at once and drops most of it. In FIFO mode the character-timeout interrupt comes four
// character times (at the programmed baud rate) after the last byte arrived or was read, from the
// virtual clock. Loopback (MCR bit 4) turns transmitted bytes into received ones and shows
// DTR/RTS/OUT1/OUT2 as DSR/CTS/RI/DCD; outside loopback the modem lines read DCD, DSR, CTS set.
//
// The interrupt line: IIR's pending state, driven onto the IRQ only while MCR OUT2 is set — the
// PC's COM-port wiring (OUT2 enables the IRQ buffer). QEMU leaves OUT2 out and drives the line
// always; both start with OUT2 set (QEMU's reset value of MCR is 0x08), so firmware that does
// not clear OUT2 sees no difference.
//
// SeaBIOS's detection (src/hw/serial.c, detect_serial): IER = 0x02, read IER back (0x02), read
// IIR (low six bits 0x02: THR empty pending), IER = 0.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "pc/byte_ring.hpp"
#include "pc/device.hpp"

namespace transit86::pc {

class Serial16550 final : public IoDevice, public TimedDevice {
  public:
    static constexpr uint16_t kCom1Base = 0x3F8;
    static constexpr unsigned kCom1Irq = 4;
    static constexpr uint16_t kCom2Base = 0x2F8;
    static constexpr unsigned kCom2Irq = 3;
    static constexpr uint32_t kBaudBase = 115200; // 1.8432 MHz / 16
    static constexpr size_t kFifoSize = 16;

    // Register offsets and bits (the Linux/QEMU names).
    static constexpr uint8_t kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5,
                             kMsr = 6, kScr = 7;
    static constexpr uint8_t kIerReceived = 0x01, kIerThrEmpty = 0x02, kIerLineStatus = 0x04,
                             kIerModemStatus = 0x08;
    static constexpr uint8_t kIirNoInterrupt = 0x01, kIirModemStatus = 0x00, kIirThrEmpty = 0x02,
                             kIirReceived = 0x04, kIirLineStatus = 0x06, kIirTimeout = 0x0C,
                             kIirFifosOn = 0xC0;
    static constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04;
    static constexpr uint8_t kLcrDlab = 0x80;
    static constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08,
                             kMcrLoopback = 0x10;
    static constexpr uint8_t kLsrDataReady = 0x01, kLsrOverrun = 0x02, kLsrBreak = 0x10,
                             kLsrThrEmpty = 0x20, kLsrTransmitterEmpty = 0x40;
    static constexpr uint8_t kLsrErrors = 0x1E; // OE | PE | FE | BI raise a line-status interrupt
    static constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80,
                             kMsrDeltas = 0x0F;

    using Sink = std::function<void(uint8_t)>;

    Serial16550(uint16_t base, unsigned irq, IrqLines& irqs, VirtualClock& clock, Sink sink,
                DeviceLog* log = nullptr);

    // Scripted input: queued, and handed to the UART as it has room.
    void receive(uint8_t byte);
    // `gap_ns`: the sender's pause from one byte's start to the next (a typist's pace); the
    // line's character time when shorter.
    void receive(std::string_view bytes, uint64_t gap_ns = 0);
    size_t input_waiting() const { return input_.size() - input_taken_; }
    // When the next waiting byte has come off the line (if there is room for it then).
    uint64_t next_arrival_ns() const { return next_arrival_ns_; }
    // Whether the IRQ line is driven high now.
    bool irq_raised() const { return irq_level_; }

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;
    void advance() override;
    uint64_t next_event_ns() const override;

  private:
    uint8_t read_register(uint8_t reg);
    void write_register(uint8_t reg, uint8_t value);
    void write_fcr(uint8_t value);
    uint8_t read_rbr();
    void transmit();
    void accept(uint8_t byte);
    void take_input();
    void room_appeared();
    bool has_room() const;
    bool fifo_on() const { return fcr_ & kFcrEnable; }
    void update_parameters();
    void update_irq();

    uint16_t base_;
    unsigned irq_;
    IrqLines& irqs_;
    VirtualClock& clock_;
    Sink sink_;
    DeviceLog* log_;

    // QEMU's serial_reset values: 9600 baud 8N1, OUT2 set, THR and transmitter empty,
    // DCD/DSR/CTS asserted by the (absent) modem.
    uint16_t divider_ = 12;
    uint8_t rbr_ = 0, thr_ = 0, ier_ = 0, iir_ = kIirNoInterrupt, lcr_ = 0, mcr_ = kMcrOut2;
    uint8_t lsr_ = kLsrThrEmpty | kLsrTransmitterEmpty, msr_ = kMsrDcd | kMsrDsr | kMsrCts;
    uint8_t scr_ = 0, fcr_ = 0;
    size_t trigger_level_ = 1;
    bool thr_pending_ = false;     // QEMU's thr_ipending
    bool timeout_pending_ = false; // QEMU's timeout_ipending
    ByteRing<kFifoSize> rx_fifo_;
    // The scripted line: bytes from input_taken_ on have not reached the UART yet.
    std::string input_;
    size_t input_taken_ = 0;
    uint64_t char_time_ns_ = (1'000'000'000 / 9600) * 10;
    uint64_t timeout_at_ns_ = kNever;
    uint64_t next_arrival_ns_ = 0; // the scripted line's next byte is off the line at this time
    uint64_t typing_gap_ns_ = 0;   // receive()'s gap_ns
    bool irq_level_ = false;
};

} // namespace transit86::pc
