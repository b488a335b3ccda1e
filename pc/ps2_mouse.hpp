// ps2_mouse: the PS/2 mouse behind the 8042's auxiliary port. QEMU's pc machine always has
// one (hw/input/ps2.c), and SeaBIOS and Linux probe it, so it is present here too — a mouse
// that answers every command as QEMU's does and never moves.
//
// Commands (each acknowledged with FA, replies queued after it): FF reset -> FA AA 00; F2 get
// type -> FA type; E9 status -> FA status resolution rate; EB poll -> FA and a packet with no
// motion; E6/E7 scaling 1:1 / 2:1; EA stream, F0 remote, EE wrap (echo every byte until EC or
// FF), EC leave wrap; F4/F5 enable/disable reporting; F6 defaults; E8 resolution and F3 sample
// rate take a data byte (the rate sequences 200,100,80 and 200,200,80 switch to IntelliMouse
// types 3 and 4). Unknown commands get no answer, as in QEMU.
#pragma once

#include <cstdint>
#include <optional>

#include "pc/ps2_queue.hpp"

namespace transit86::pc {

class Ps2Mouse {
  public:
    // A byte the controller sends to the mouse (ps2_write_mouse).
    void write(uint8_t byte);

    Ps2Queue& queue() { return queue_; }
    const Ps2Queue& queue() const { return queue_; }
    uint8_t status() const { return status_; }
    uint8_t type() const { return type_; }

  private:
    void command(uint8_t byte);
    void send_packet();
    void sample_rate(uint8_t rate);

    Ps2Queue queue_;
    std::optional<uint8_t> pending_command_;
    uint8_t status_ = 0; // bit 6 remote, bit 5 enabled, bit 4 2:1 scaling
    uint8_t resolution_ = 0;
    uint8_t rate_ = 0;
    uint8_t type_ = 0; // 0 PS/2, 3 IntelliMouse, 4 IntelliMouse Explorer
    uint8_t detect_state_ = 0;
    bool wrap_ = false;
};

} // namespace transit86::pc
