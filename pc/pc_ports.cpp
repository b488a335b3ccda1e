#include "pc/pc_ports.hpp"

namespace transit86::pc {

PcPorts::PcPorts()
    : debugcon_(kDebugConsole, [this](uint8_t b) { console_.push_back(static_cast<char>(b)); }),
      com1_(kCom1, Serial16550::kCom1Irq, irqs_, clock_,
            [this](uint8_t b) { console_.push_back(static_cast<char>(b)); }),
      debug_exit_(kDebugExit, 1),
      port92_([this](bool on) { set_a20(on); }, [this] { reset_requested(); }),
      kbc_(
          irqs_, [this](bool on) { set_a20(on); }, [this] { reset_requested(); }) {
    port92_.observe_a20(a20_);
}

void PcPorts::initial_a20(bool enabled) {
    a20_ = enabled;
    port92_.observe_a20(enabled);
}

IoDevice* PcPorts::device_for(uint16_t port) {
    if (port >= kCom1 && port < kCom1 + 8) return &com1_;
    if (port == kDebugConsole) return &debugcon_;
    if (port == kSystemControlA) return &port92_;
    if (port == kKbcData || port == kKbcCommand) return &kbc_;
    return nullptr;
}

PortHandler::Result PcPorts::access(PortAccess& access) {
    if (IoDevice* device = device_for(access.port)) {
        if (access.is_in)
            access.data = device->io_read(access.port, access.size);
        else
            device->io_write(access.port, access.size, access.data);
        return Result::Handled;
    }
    // isa-debug-exit takes writes only here: an IN from 0xF4 reads the empty bus, as before.
    if (access.port == kDebugExit && !access.is_in) {
        debug_exit_.io_write(access.port, access.size, access.data);
        return Result::ExitToHost;
    }
    if (access.is_in) access.data = all_ones(access.size);
    return Result::Handled;
}

void PcPorts::set_a20(bool enabled) {
    a20_ = enabled;
    port92_.observe_a20(enabled);
    if (on_a20) on_a20(enabled);
}

void PcPorts::reset_requested() {
    if (on_reset) on_reset();
}

void PcPorts::restore(const Snapshot& snapshot) {
    console_ = snapshot.console;
    a20_ = snapshot.a20;
    restore_device(debugcon_, snapshot.debugcon);
    restore_device(com1_, snapshot.com1);
    restore_device(debug_exit_, snapshot.debug_exit);
    restore_device(port92_, snapshot.port92);
    restore_device(kbc_, snapshot.kbc);
}

std::string PcPorts::take_console() {
    std::string out;
    out.swap(console_);
    return out;
}

} // namespace transit86::pc
