#include "pc/pc_ports.hpp"

namespace transit86::pc {

namespace {

constexpr uint8_t kLineControlDlab = 0x80;
// Line status: THR empty (bit 5) and transmitter empty (bit 6) — always ready to send.
constexpr uint8_t kLineStatusReady = 0x60;

uint32_t all_ones(uint8_t size) {
    return size == 4 ? ~0u : (1u << (size * 8)) - 1;
}

} // namespace

PortHandler::Result PcPorts::access(PortAccess& access) {
    if (access.port >= kCom1 && access.port < kCom1 + 8) return com1(access);
    if (access.port == kDebugConsole) {
        if (access.is_in)
            access.data = kDebugConsole; // Bochs: reading E9 returns 0xE9
        else
            console_.push_back(static_cast<char>(access.data));
        return Result::Handled;
    }
    if (access.port == kSystemControlA) {
        if (access.is_in)
            access.data = a20_ ? 0x02 : 0x00;
        else
            set_a20((access.data & 0x02) != 0);
        return Result::Handled;
    }
    if (access.port == kKbcData || access.port == kKbcCommand) return keyboard_controller(access);
    if (access.port == kDebugExit && !access.is_in) {
        debug_exit_code_ = access.data;
        return Result::ExitToHost;
    }
    if (access.is_in) access.data = all_ones(access.size);
    return Result::Handled;
}

PortHandler::Result PcPorts::com1(PortAccess& access) {
    const uint16_t reg = access.port - kCom1;
    const auto byte = static_cast<uint8_t>(access.data);
    const bool dlab = com1_line_control_ & kLineControlDlab;
    if (!access.is_in) {
        if (reg == 0 && !dlab) console_.push_back(static_cast<char>(byte)); // THR
        if (reg == 3) com1_line_control_ = byte;
        if (reg == 7) com1_scratch_ = byte;
        return Result::Handled;
    }
    switch (reg) {
    case 2: access.data = 0x01; break; // IIR: no interrupt pending
    case 3: access.data = com1_line_control_; break;
    case 5: access.data = kLineStatusReady; break;
    case 7: access.data = com1_scratch_; break;
    default: access.data = 0; break; // RBR empty, IER/MCR/MSR clear
    }
    return Result::Handled;
}

void PcPorts::set_a20(bool enabled) {
    a20_ = enabled;
    if (on_a20) on_a20(enabled);
}

// Just enough of the 8042 for the classic A20 sequence: wait for input-buffer empty, 0xD1
// to port 0x64, the output-port byte to port 0x60 (bit 1 = A20, bit 0 = keep out of reset).
PortHandler::Result PcPorts::keyboard_controller(PortAccess& access) {
    constexpr uint8_t kCommandWriteOutputPort = 0xD1;
    if (access.is_in) {
        access.data = access.port == kKbcCommand ? 0x1C : 0x00; // status: buffers empty, system
        return Result::Handled;
    }
    if (access.port == kKbcCommand) {
        kbc_expect_output_port_ = (access.data & 0xFF) == kCommandWriteOutputPort;
    } else if (kbc_expect_output_port_) {
        set_a20((access.data & 0x02) != 0);
        kbc_expect_output_port_ = false;
    }
    return Result::Handled;
}

std::string PcPorts::take_console() {
    std::string out;
    out.swap(console_);
    return out;
}

} // namespace transit86::pc
