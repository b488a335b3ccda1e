// Private to the x87 instruction class (exec_x87.cpp, exec_x87_env.cpp, exec_x87_fxsave.cpp): guest
// memory in pieces the memory interface takes, and the status word as the processor reports it.
#pragma once

#include <cstring>

#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

// Reads or writes `size` bytes (up to an FSAVE image) at seg:offset: one limit and type check
// for the whole operand (SDM Vol. 3A 5.3), then accesses of at most 8 bytes.
bool read_guest_bytes(Cpu& cpu, Address at, uint8_t* out, uint32_t size);
bool write_guest_bytes(Cpu& cpu, Address at, const uint8_t* in, uint32_t size);

// Little-endian fields of the x87 images (FSAVE's and FXSAVE's).
inline void put16(uint8_t* at, uint32_t v) {
    const auto w = static_cast<uint16_t>(v);
    std::memcpy(at, &w, 2);
}
inline void put32(uint8_t* at, uint32_t v) {
    std::memcpy(at, &v, 4);
}
inline uint32_t get16(const uint8_t* at) {
    uint16_t v;
    std::memcpy(&v, at, 2);
    return v;
}
inline uint32_t get32(const uint8_t* at) {
    uint32_t v;
    std::memcpy(&v, at, 4);
    return v;
}

// The status word with ES and B as the processor derives them: set exactly when an unmasked
// exception flag is set (SDM Vol. 1 8.1.3.1; the host's FRSTOR and FLDCW recompute them).
inline uint16_t normalized_fsw(uint16_t fsw, uint16_t fcw) {
    const bool pending = (fsw & ~fcw & fsw::Exceptions) != 0;
    fsw = static_cast<uint16_t>(fsw & ~(fsw::ES | fsw::B));
    return pending ? static_cast<uint16_t>(fsw | fsw::ES | fsw::B) : fsw;
}

// FNSTENV, FLDENV, FNSAVE, FRSTOR: the environment and state images in their four layouts.
bool exec_x87_environment(Cpu& cpu, const Insn& insn, const Operand& memory);

// FXSAVE, FXRSTOR: the 512-byte x87 and SSE image.
bool exec_x87_fxsave(Cpu& cpu, const Insn& insn, const Operand& memory);

} // namespace transit86::emu
