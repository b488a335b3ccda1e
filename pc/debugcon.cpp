#include "pc/debugcon.hpp"

namespace transit86::pc {

uint32_t Debugcon::io_read(uint16_t port, uint8_t size) {
    if (port != port_) return all_ones(size);
    return readback_;
}

void Debugcon::io_write(uint16_t port, uint8_t, uint32_t value) {
    if (port != port_ || !sink_) return;
    sink_(static_cast<uint8_t>(value));
}

} // namespace transit86::pc
