// System Control Port B at 0x61 (the PC/AT "port B", kept by the PIIX): channel 2 of the
// 8254 and the speaker gate, the refresh-request toggle that old delay loops poll.
//
//   bit 0  R/W  timer 2 GATE (pc/i8254.hpp)
//   bit 1  R/W  speaker data enable (stored; no sound is produced)
//   bit 4  R    refresh request: toggles every 15 us of virtual time
//   bit 5  R    timer 2 OUT
//   others read 0 (no parity or I/O channel check is ever reported)
//
// A device of its own rather than part of the PIT: QEMU models it as the PC speaker
// (hw/audio/pcspk.c) holding a link to the PIT, and on real boards it is a chipset register
// that merely samples the PIT's GATE2/OUT2 pins; the PIT itself decodes only 0x40-0x43.
//
// Bit 4: QEMU's pcspk flips it on every read (dummy_refresh_clock) and KVM's in-kernel PIT
// derives it from host time (2^14 ns). Here it is derived from VirtualClock, floor(ns / 15000)
// odd, close to the AT's 15.085 us refresh period (18 ticks of the 1.193182 MHz clock), so a
// loop that counts toggles waits a reproducible, honest amount of virtual time.
//
// References: IBM PC/AT Technical Reference (port 61h); Intel 82371SB (PIIX3) datasheet, NMI
// Status and Control Register; QEMU hw/audio/pcspk.c.
#pragma once

#include <cstdint>

#include "pc/device.hpp"
#include "pc/i8254.hpp"

namespace transit86::pc {

class SystemControlPortB final : public IoDevice {
  public:
    static constexpr uint16_t kPort = 0x61;
    static constexpr uint64_t kRefreshToggleNs = 15'000;

    SystemControlPortB(const VirtualClock& clock, I8254Pit& pit, DeviceLog* log = nullptr);

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;
    // A byte read of 0x61 has no side effect; it changes at the next refresh toggle or the
    // next change of timer 2's OUT, whichever comes first (GRUB's PIT wait polls it).
    std::optional<SteadyRead> steady_read(uint16_t port, uint8_t size) override;

    bool speaker_enabled() const { return speaker_data_; }

  private:
    uint8_t read_byte(uint16_t port);
    void write_byte(uint16_t port, uint8_t value);

    const VirtualClock& clock_;
    I8254Pit& pit_;
    DeviceLog* log_;
    bool speaker_data_ = false;
};

} // namespace transit86::pc
