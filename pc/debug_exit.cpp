#include "pc/debug_exit.hpp"

namespace transit86::pc {

uint32_t DebugExit::io_read(uint16_t port, uint8_t size) {
    return owns(port) ? 0 : all_ones(size);
}

void DebugExit::io_write(uint16_t port, uint8_t, uint32_t value) {
    if (owns(port)) value_ = value;
}

} // namespace transit86::pc
