// i8042: the PC keyboard controller at I/O 0x60 (data) and 0x64 (status / command), as QEMU's
// hw/input/pckbd.c models it (with its "extended state": one controller reply byte apart from
// the PS/2 devices' queues), with a keyboard (ps2_keyboard) and a mouse (ps2_mouse) attached.
//
// Status (0x64 read): bit 0 output buffer full, 1 input buffer full (always 0: every write is
// taken at once), 2 system flag (set by the self test), 3 last write was a command (QEMU keeps
// it set), 4 keyboard not locked, 5 the output byte is from the mouse. Power-on value 0x18.
//
// Controller commands (0x64 write): 20 read the command byte; 60 write it (bit 0 IRQ 1,
// bit 1 IRQ 12, bit 4 keyboard disabled, bit 5 mouse disabled, bit 6 translate to set 1);
// AA self test -> 55 and sets the system flag; AB / A9 interface tests -> 00; AD / AE disable /
// enable the keyboard; A7 / A8 disable / enable the mouse; C0 read input port -> 80; D0 read
// output port; D1 write output port (bit 1 A20, bit 0 low = CPU reset); D2 / D3 write the
// keyboard / mouse output buffer; D4 send the next data byte to the mouse; DD / DF A20 off / on;
// F0-FF pulse output-port bits 3-0 low for each clear bit, only bit 0 (reset) doing anything.
// A data byte (0x60 write) that no command awaits goes to the keyboard and re-enables it.
//
// The output buffer holds one byte; the next comes from, in this order, a controller reply, the
// keyboard, the mouse — the keyboard's and mouse's only while their interface is enabled. IRQ 1
// is high while a keyboard or controller byte waits and the command byte enables it (and the
// keyboard is enabled); IRQ 12 likewise for mouse bytes. Reading 0x60 takes the byte and lowers
// the line; with the buffer empty it returns the last byte again.
//
// Unmodelled: command A1 (version), the keyboard-lock input, parity and timeout errors.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "pc/device.hpp"
#include "pc/ps2_keyboard.hpp"
#include "pc/ps2_mouse.hpp"

namespace transit86::pc {

class I8042 final : public IoDevice {
  public:
    static constexpr uint16_t kDataPort = 0x60;
    static constexpr uint16_t kCommandPort = 0x64;
    static constexpr unsigned kKeyboardIrq = 1;
    static constexpr unsigned kMouseIrq = 12;

    static constexpr uint8_t kStatusOutputFull = 0x01, kStatusInputFull = 0x02,
                             kStatusSystem = 0x04, kStatusCommand = 0x08, kStatusUnlocked = 0x10,
                             kStatusMouseOutput = 0x20;
    static constexpr uint8_t kModeKeyboardIrq = 0x01, kModeMouseIrq = 0x02,
                             kModeKeyboardDisabled = 0x10, kModeMouseDisabled = 0x20,
                             kModeTranslate = 0x40;
    static constexpr uint8_t kOutputReset = 0x01, kOutputA20 = 0x02, kOutputKeyboardFull = 0x10,
                             kOutputMouseFull = 0x20;

    // on_a20(enabled) when the output port's A20 bit is written (D1, DD, DF); on_reset() for a
    // CPU reset (output port bit 0 written low, or pulsed by FE). Either may be empty.
    I8042(IrqLines& irqs, std::function<void(bool)> on_a20, std::function<void()> on_reset,
          DeviceLog* log = nullptr);

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // A key, as wire bytes in the keyboard's scancode set (set 2 by default); see ps2_keyboard.
    bool press_key(std::span<const uint8_t> bytes);

    uint8_t status() const { return status_; }
    uint8_t command_byte() const { return mode_; }
    uint8_t output_port() const { return output_port_; }
    const Ps2Keyboard& keyboard() const { return keyboard_; }
    const Ps2Mouse& mouse() const { return mouse_; }

  private:
    uint8_t read_data();
    void write_data(uint8_t value);
    void write_command(uint8_t command);
    void write_output_port(uint8_t value);
    void queue_reply(uint8_t byte, bool from_mouse);
    uint8_t take_reply();
    uint8_t pending() const;
    void fill_output_buffer();
    void fill_output_buffer_if_empty();
    void empty_output_buffer();
    void update_irq_lines();
    void unmodelled(std::string_view what);

    enum class Source : uint8_t { None, Controller, Keyboard, Mouse };

    IrqLines& irqs_;
    std::function<void(bool)> on_a20_;
    std::function<void()> on_reset_;
    DeviceLog* log_;
    Ps2Keyboard keyboard_;
    Ps2Mouse mouse_;
    // kbd_reset: IRQs enabled, no translation, A20 on, not in reset (the "ones" bits 0xCC are
    // what QEMU keeps set so that 0xDD / 0xDF writes look like no other change).
    uint8_t mode_ = kModeKeyboardIrq | kModeMouseIrq;
    uint8_t status_ = kStatusCommand | kStatusUnlocked;
    uint8_t output_port_ = kOutputReset | kOutputA20 | 0xCC;
    uint8_t awaiting_data_for_ = 0; // the command whose data byte comes next (QEMU's write_cmd)
    uint8_t reply_pending_ = 0;     // a controller reply for the keyboard / mouse side
    uint8_t reply_ = 0;
    Source source_ = Source::None;
    uint8_t output_ = 0;
    bool irq1_ = false;
    bool irq12_ = false;
};

} // namespace transit86::pc
