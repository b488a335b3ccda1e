// debugcon: QEMU's isa-debugcon (hw/char/debugcon.c), a one-port console.
//
// An OUT to the port hands the low byte to the sink at once. An IN returns a fixed "readback"
// value, 0xE9 by default: SeaBIOS (src/hw/serialio.c, qemu_debug_preinit) reads its debug port
// 0x402 and logs there only if it reads back 0xE9; Bochs' "port E9 hack" reads 0xE9 the same
// way. The platform places one at 0x402 (SeaBIOS's log) and one at 0xE9.
#pragma once

#include <cstdint>
#include <functional>

#include "pc/device.hpp"

namespace transit86::pc {

class Debugcon final : public IoDevice {
  public:
    static constexpr uint16_t kSeabiosLogPort = 0x402;
    static constexpr uint16_t kBochsPort = 0xE9;
    static constexpr uint8_t kDefaultReadback = 0xE9;
    using Sink = std::function<void(uint8_t)>;

    Debugcon(uint16_t port, Sink sink, uint8_t readback = kDefaultReadback)
        : port_(port), sink_(std::move(sink)), readback_(readback) {}

    uint16_t port() const { return port_; }

    // QEMU's debugcon takes accesses of any width as one: a read gives the readback value,
    // a write sends the low byte.
    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

  private:
    uint16_t port_;
    Sink sink_;
    uint8_t readback_;
};

} // namespace transit86::pc
