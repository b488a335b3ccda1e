#include "pc/port92.hpp"

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

uint32_t Port92::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) { return read_byte(p); });
}

void Port92::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t b) { write_byte(p, b); });
}

uint8_t Port92::read_byte(uint16_t port) const {
    if (port != kPort) return 0xFF;
    return static_cast<uint8_t>((value_ & ~kA20Gate) | (a20_ ? kA20Gate : 0));
}

void Port92::write_byte(uint16_t port, uint8_t value) {
    if (port != kPort) return;
    const uint8_t old = value_;
    value_ = value;
    a20_ = (value & kA20Gate) != 0;
    if (on_a20_) on_a20_(a20_);
    // QEMU resets on the rising edge only: writing 1 again while bit 0 is set does nothing.
    if ((value & kFastReset) && !(old & kFastReset) && on_reset_) on_reset_();
}

} // namespace transit86::pc
