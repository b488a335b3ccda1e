// Arithmetic and logic primitives with their EFLAGS results (SDM Vol. 1 3.4.3, Appendix A),
// written once and instantiated for 8-, 16- and 32-bit operands.
#pragma once

#include <bit>
#include <cstdint>

#include "emu/cpu/condition.hpp"
#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

struct AluResult {
    uint32_t value;
    uint32_t flags; // status flags only
};

template <class T>
constexpr uint32_t flags_szp(T result) {
    uint32_t f = 0;
    if (result == 0) f |= flags::ZF;
    if (msb(result)) f |= flags::SF;
    if ((std::popcount(static_cast<uint8_t>(result)) & 1) == 0) f |= flags::PF; // low byte
    return f;
}

// ADD / ADC: `carry` is 0 or 1.
template <class T>
constexpr AluResult alu_add(T a, T b, uint32_t carry) {
    const uint64_t wide = uint64_t{a} + b + carry;
    const T r = static_cast<T>(wide);
    uint32_t f = flags_szp(r);
    if (wide >> (sizeof(T) * 8)) f |= flags::CF;
    if ((a ^ b ^ r) & 0x10) f |= flags::AF;
    if (msb(static_cast<T>((a ^ r) & (b ^ r)))) f |= flags::OF;
    return {r, f};
}

// SUB / SBB / CMP / NEG: `borrow` is 0 or 1.
template <class T>
constexpr AluResult alu_sub(T a, T b, uint32_t borrow) {
    const T r = static_cast<T>(a - b - borrow);
    uint32_t f = flags_szp(r);
    if (uint64_t{a} < uint64_t{b} + borrow) f |= flags::CF;
    if ((a ^ b ^ r) & 0x10) f |= flags::AF;
    if (msb(static_cast<T>((a ^ b) & (a ^ r)))) f |= flags::OF;
    return {r, f};
}

// AND / OR / XOR / TEST: CF and OF cleared; AF is undefined, cleared as on Intel silicon.
template <class T>
constexpr AluResult alu_logic(T r) {
    return {r, flags_szp(r)};
}

// The eight classic ALU operations in opcode order (/0../7 of 80-83).
enum class AluOp : uint8_t { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp };

template <class T>
constexpr AluResult alu(AluOp op, T a, T b, uint32_t cf) {
    switch (op) {
    case AluOp::Add: return alu_add<T>(a, b, 0);
    case AluOp::Or: return alu_logic<T>(static_cast<T>(a | b));
    case AluOp::Adc: return alu_add<T>(a, b, cf);
    case AluOp::Sbb: return alu_sub<T>(a, b, cf);
    case AluOp::And: return alu_logic<T>(static_cast<T>(a & b));
    case AluOp::Sub:
    case AluOp::Cmp: return alu_sub<T>(a, b, 0);
    case AluOp::Xor: return alu_logic<T>(static_cast<T>(a ^ b));
    }
    return {0, 0};
}

} // namespace transit86::emu
