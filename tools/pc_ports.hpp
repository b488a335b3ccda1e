// The PC port conventions boot code expects (docs/cli.md, "Ports"):
//   0xE9        debug console (Bochs/QEMU "port E9 hack"): OUT prints a byte;
//   0x3F8-0x3FF COM1, a 16550 whose line status always says "transmitter empty";
//   0xF4        isa-debug-exit (QEMU): OUT ends the run with the written value;
//   anything else: IN reads all ones, OUT is ignored (an empty ISA bus).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "transit86/emulator.hpp"

namespace transit86::tools {

class PcPorts final : public PortHandler {
  public:
    static constexpr uint16_t kDebugConsole = 0xE9;
    static constexpr uint16_t kCom1 = 0x3F8;
    static constexpr uint16_t kDebugExit = 0xF4;

    Result access(PortAccess& access) override;

    // Console bytes written since the last call.
    std::string take_console();
    // Set once the guest wrote to isa-debug-exit.
    std::optional<uint32_t> debug_exit_code() const { return debug_exit_code_; }
    // QEMU's isa-debug-exit process status: (value << 1) | 1.
    static int exit_status_for(uint32_t code) { return static_cast<int>(((code << 1) | 1) & 0xFF); }

  private:
    Result com1(PortAccess& access);

    std::string console_;
    std::optional<uint32_t> debug_exit_code_;
    uint8_t com1_line_control_ = 0;
    uint8_t com1_scratch_ = 0;
};

} // namespace transit86::tools
