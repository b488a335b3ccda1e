// Wide port accesses to devices whose registers are bytes. QEMU's memory core gives a device
// that implements only 1-byte accesses (.impl.max_access_size = 1) a wider access as that
// many byte accesses at consecutive ports, lowest first (little-endian): `outw 0x20, ax`
// writes AL to 0x20 and AH to 0x21. These two helpers do the same.
#pragma once

#include <cstdint>

namespace transit86::pc {

template <class ReadByte>
uint32_t read_bytewise(uint16_t port, uint8_t size, ReadByte&& read_byte) {
    uint32_t value = 0;
    for (uint8_t i = 0; i < size && i < 4; ++i)
        value |= uint32_t{read_byte(static_cast<uint16_t>(port + i))} << (8u * i);
    return value;
}

template <class WriteByte>
void write_bytewise(uint16_t port, uint8_t size, uint32_t value, WriteByte&& write_byte) {
    for (uint8_t i = 0; i < size && i < 4; ++i)
        write_byte(static_cast<uint16_t>(port + i), static_cast<uint8_t>(value >> (8u * i)));
}

} // namespace transit86::pc
