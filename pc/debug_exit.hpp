// debug_exit: QEMU's isa-debug-exit (hw/misc/debugexit.c), the test harness's way out.
//
// A write of any width to one of its ports ends the run: QEMU calls exit((value << 1) | 1), so
// the process status is odd and a guest cannot fake a clean exit 0. Here the write is recorded
// (value()) and the platform decides what "exit" means. Reads return 0, as QEMU's. QEMU's
// defaults are iobase 0x501, iosize 2; test setups commonly use iobase=0xf4.
#pragma once

#include <cstdint>
#include <optional>

#include "pc/device.hpp"

namespace transit86::pc {

class DebugExit final : public IoDevice {
  public:
    static constexpr uint16_t kQemuDefaultPort = 0x501;
    static constexpr uint16_t kQemuDefaultSize = 2;

    explicit DebugExit(uint16_t port = kQemuDefaultPort, uint16_t port_count = kQemuDefaultSize)
        : port_(port), port_count_(port_count) {}

    bool owns(uint16_t port) const {
        return port >= port_ && static_cast<uint32_t>(port) < uint32_t{port_} + port_count_;
    }

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // The value of the last write, once the guest has written.
    std::optional<uint32_t> value() const { return value_; }
    // QEMU's process status for a written value: (value << 1) | 1, as exit() keeps it (8 bits).
    static int exit_status_for(uint32_t value) {
        return static_cast<int>(((value << 1) | 1) & 0xFF);
    }

  private:
    uint16_t port_;
    uint16_t port_count_;
    std::optional<uint32_t> value_;
};

} // namespace transit86::pc
