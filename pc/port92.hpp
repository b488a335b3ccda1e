// port92: System Control Port A at I/O 0x92 (PS/2 "fast A20" and fast reset), as QEMU's
// hw/i386/port92.c and the Intel PIIX/ICH datasheets describe it:
//   bit 1  ALT_A20_GATE: 1 = A20 enabled; every write drives the A20 callback;
//   bit 0  ALT_RESET: a 0 -> 1 transition resets the CPU (QEMU: system reset request);
//   other bits are stored and read back.
// A read returns the last value written, with bit 1 showing the A20 line. QEMU keeps bit 1 as
// written; here the platform may report A20 changes made elsewhere (the 8042 output port) with
// observe_a20(), so that the bit follows the one A20 line the CPU sees — what transit86's port
// conventions have always reported (docs/cli.md, "Ports").
#pragma once

#include <cstdint>
#include <functional>

#include "pc/device.hpp"

namespace transit86::pc {

class Port92 final : public IoDevice {
  public:
    static constexpr uint16_t kPort = 0x92;
    static constexpr uint8_t kA20Gate = 0x02;
    static constexpr uint8_t kFastReset = 0x01;

    // on_a20(enabled) on every write; on_reset() on a 0 -> 1 edge of bit 0. Either may be empty.
    Port92(std::function<void(bool)> on_a20, std::function<void()> on_reset)
        : on_a20_(std::move(on_a20)), on_reset_(std::move(on_reset)) {}

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // The A20 line changed through another source; bit 1 reads it from now on.
    void observe_a20(bool enabled) { a20_ = enabled; }

  private:
    uint8_t read_byte(uint16_t port) const;
    void write_byte(uint16_t port, uint8_t value);

    std::function<void(bool)> on_a20_;
    std::function<void()> on_reset_;
    uint8_t value_ = 0; // QEMU's outport: 0 at power-on
    bool a20_ = false;
};

} // namespace transit86::pc
