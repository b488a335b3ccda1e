// Wide port accesses to byte-wide devices.
//
// Most ISA devices decode one byte per port. QEMU's memory core splits an access wider than a
// device implements into byte accesses at consecutive ports, the lowest port in the least
// significant byte (softmmu/memory.c, access_with_adjusted_size, little-endian devices); a
// 16-bit IN from the 16550's RBR therefore also reads its IER. These two functions do the same
// for devices whose registers are one byte each.
#pragma once

#include <cstdint>

namespace transit86::pc {

// Reads `size` bytes starting at `port`, one `read_byte(port)` each, little-endian.
template <class ReadByte>
uint32_t read_byte_lanes(uint16_t port, uint8_t size, ReadByte&& read_byte) {
    uint32_t value = 0;
    for (uint8_t lane = 0; lane < size && lane < 4; ++lane) {
        const auto lane_port = static_cast<uint16_t>(port + lane);
        value |= uint32_t{read_byte(lane_port)} << (8u * lane);
    }
    return value;
}

// Writes `size` bytes of `value` starting at `port`, one `write_byte(port, byte)` each.
template <class WriteByte>
void write_byte_lanes(uint16_t port, uint8_t size, uint32_t value, WriteByte&& write_byte) {
    for (uint8_t lane = 0; lane < size && lane < 4; ++lane) {
        const auto lane_port = static_cast<uint16_t>(port + lane);
        write_byte(lane_port, static_cast<uint8_t>(value >> (8u * lane)));
    }
}

} // namespace transit86::pc
