// The PC port conventions boot code expects (docs/cli.md, "Ports"):
//   0xE9        debug console (Bochs/QEMU "port E9 hack"): OUT prints a byte;
//   0x3F8-0x3FF COM1, a 16550 whose line status always says "transmitter empty";
//   0xF4        isa-debug-exit (QEMU): OUT ends the run with the written value;
//   0x92        System Control Port A: bit 1 gates A20 ("fast A20");
//   0x60/0x64   the 8042 keyboard controller, only as far as A20 goes: status reads "ready",
//               command 0xD1 then a data byte writes the output port (bit 1 = A20);
//   anything else: IN reads all ones, OUT is ignored (an empty ISA bus).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "transit86/emulator.hpp"

namespace transit86::pc {

class PcPorts final : public PortHandler {
  public:
    static constexpr uint16_t kDebugConsole = 0xE9;
    static constexpr uint16_t kCom1 = 0x3F8;
    static constexpr uint16_t kDebugExit = 0xF4;
    static constexpr uint16_t kSystemControlA = 0x92;
    static constexpr uint16_t kKbcData = 0x60;
    static constexpr uint16_t kKbcCommand = 0x64;

    // Called when the guest gates A20 (port 0x92 or the 8042 output port).
    std::function<void(bool)> on_a20;
    // The A20 state the ports report before the guest changes it.
    void initial_a20(bool enabled) { a20_ = enabled; }

    Result access(PortAccess& access) override;

    // Console bytes written since the last call.
    std::string take_console();
    // Set once the guest wrote to isa-debug-exit.
    std::optional<uint32_t> debug_exit_code() const { return debug_exit_code_; }
    // QEMU's isa-debug-exit process status: (value << 1) | 1.
    static int exit_status_for(uint32_t code) { return static_cast<int>(((code << 1) | 1) & 0xFF); }

  private:
    Result com1(PortAccess& access);
    Result keyboard_controller(PortAccess& access);
    void set_a20(bool enabled);

    std::string console_;
    std::optional<uint32_t> debug_exit_code_;
    uint8_t com1_line_control_ = 0;
    uint8_t com1_scratch_ = 0;
    bool a20_ = true;
    bool kbc_expect_output_port_ = false;
};

} // namespace transit86::pc
