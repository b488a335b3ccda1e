// The PC port conventions boot code expects (docs/cli.md, "Ports"), built from the device
// models in pc/:
//   0xE9        debugcon (Bochs/QEMU "port E9 hack"): OUT prints a byte, IN reads 0xE9;
//   0x3F8-0x3FF COM1, a 16550A (serial_16550) whose transmitted bytes join the console; its
//               interrupt line goes nowhere (there is no interrupt controller here);
//   0xF4        isa-debug-exit (QEMU): OUT ends the run with the written value;
//   0x92        System Control Port A (port92): bit 1 gates A20 ("fast A20");
//   0x60/0x64   the 8042 keyboard controller (i8042) with its keyboard and mouse: command 0xD1
//               then a data byte writes the output port (bit 1 = A20);
//   anything else: IN reads all ones, OUT is ignored (an empty ISA bus; IN from 0xF4 too).
// The A20 state is one line: port 0x92 reads it whichever source changed it last.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "pc/debug_exit.hpp"
#include "pc/debugcon.hpp"
#include "pc/device.hpp"
#include "pc/i8042.hpp"
#include "pc/port92.hpp"
#include "pc/serial_16550.hpp"
#include "transit86/emulator.hpp"

namespace transit86::pc {

class PcPorts final : public PortHandler {
  public:
    static constexpr uint16_t kDebugConsole = Debugcon::kBochsPort;
    static constexpr uint16_t kCom1 = Serial16550::kCom1Base;
    static constexpr uint16_t kDebugExit = 0xF4;
    static constexpr uint16_t kSystemControlA = Port92::kPort;
    static constexpr uint16_t kKbcData = I8042::kDataPort;
    static constexpr uint16_t kKbcCommand = I8042::kCommandPort;

    PcPorts();
    // The devices call back into this object.
    PcPorts(const PcPorts&) = delete;
    PcPorts& operator=(const PcPorts&) = delete;

    // Called when the guest gates A20 (port 0x92 or the 8042 output port).
    std::function<void(bool)> on_a20;
    // Called when the guest asks for a CPU reset (8042 pulse or output port, port 0x92 bit 0);
    // unset, the request is ignored.
    std::function<void()> on_reset;
    // The A20 state the ports report before the guest changes it.
    void initial_a20(bool enabled);

    Result access(PortAccess& access) override;

    // The devices' state, for reverse execution (tools/gdb): a snapshot restores into the
    // PcPorts that saved it (its devices' callbacks point there), not into another one.
    class Snapshot {
        friend class PcPorts;
        explicit Snapshot(const PcPorts& p)
            : console(p.console_), a20(p.a20_), debugcon(p.debugcon_), com1(p.com1_),
              debug_exit(p.debug_exit_), port92(p.port92_), kbc(p.kbc_) {}
        std::string console;
        bool a20;
        Debugcon debugcon;
        Serial16550 com1;
        DebugExit debug_exit;
        Port92 port92;
        I8042 kbc;
    };
    Snapshot save() const { return Snapshot(*this); }
    void restore(const Snapshot& snapshot);

    // Console bytes written since the last call.
    std::string take_console();
    // Set once the guest wrote to isa-debug-exit.
    std::optional<uint32_t> debug_exit_code() const { return debug_exit_.value(); }
    // QEMU's isa-debug-exit process status: (value << 1) | 1.
    static int exit_status_for(uint32_t code) { return DebugExit::exit_status_for(code); }

  private:
    // No interrupt controller: the lines are driven, nobody listens.
    class UnconnectedIrqLines final : public IrqLines {
      public:
        void set_irq(unsigned, bool) override {}
    };

    IoDevice* device_for(uint16_t port);
    void set_a20(bool enabled);
    void reset_requested();

    std::string console_;
    bool a20_ = true;
    UnconnectedIrqLines irqs_;
    VirtualClock clock_; // never advanced: the serial receive timeout does not run here
    Debugcon debugcon_;
    Serial16550 com1_;
    DebugExit debug_exit_;
    Port92 port92_;
    I8042 kbc_;
};

} // namespace transit86::pc
