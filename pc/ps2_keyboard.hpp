// ps2_keyboard: the MF2 keyboard behind the 8042's first port, as QEMU's hw/input/ps2.c
// models it (IBM PS/2 Technical Reference, keyboard commands).
//
// Commands from the controller: FF reset -> FA AA (scancode set 2, scanning on, LEDs off);
// F2 identify -> FA AB 83 (FA AB 41 while the controller translates); F4 enable scanning,
// F5 reset and disable, F6 reset and enable -> FA; ED (LEDs), F3 (typematic rate), F0 (get or
// set scancode set: 0 asks, 1-3 set), FC (set make/break) take a data byte, each byte -> FA;
// EE echo -> EE; FA -> FA; 00 -> FA; 05 and anything else -> FE (resend).
//
// Keys: press() takes the bytes the keyboard would send on the wire in its current scancode
// set (set 2 after reset). While the controller's translation bit is set they are translated to
// set 1 (an F0 prefix sets bit 7 of the next code), as the 8042 does. Nothing is queued while
// scanning is disabled. There is no key repeat and no host keyboard.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "pc/ps2_queue.hpp"

namespace transit86::pc {

class Ps2Keyboard {
  public:
    // A byte the controller sends to the keyboard (ps2_write_keyboard).
    void write(uint8_t byte);
    // The controller's command-byte bit 6 (ps2_keyboard_set_translation).
    void set_translation(bool on) { translate_ = on; }
    // Queues a key's wire bytes; false if scanning is off or a byte found the queue full.
    bool press(std::span<const uint8_t> bytes);

    Ps2Queue& queue() { return queue_; }
    const Ps2Queue& queue() const { return queue_; }
    uint8_t leds() const { return leds_; }
    uint8_t scancode_set() const { return scancode_set_; }
    bool scanning() const { return scanning_; }

    // The 8042's set 2 -> set 1 translation of one byte.
    static uint8_t translate(uint8_t code);

  private:
    void reset();
    bool put(uint8_t code);

    Ps2Queue queue_;
    std::optional<uint8_t> pending_command_; // a command waiting for its data byte
    bool scanning_ = true;
    bool translate_ = false;
    bool need_break_bit_ = false; // translating: an F0 prefix was seen
    uint8_t scancode_set_ = 2;
    uint8_t leds_ = 0;
};

} // namespace transit86::pc
