// Arithmetic and logic primitives with their EFLAGS results (SDM Vol. 1 3.4.3, Appendix A),
// written once and instantiated for 8-, 16- and 32-bit operands.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>

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

// ---- shifts and rotates (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR)

enum class ShiftOp : uint8_t { Rol, Ror, Rcl, Rcr, Shl, Shr, Sar };

constexpr bool is_rotate(ShiftOp op) {
    return op == ShiftOp::Rol || op == ShiftOp::Ror || op == ShiftOp::Rcl || op == ShiftOp::Rcr;
}

// The count an operation uses: masked to 5 bits, and for RCL/RCR taken modulo the width + 1.
// 0 changes nothing (not even the flags).
template <class T>
constexpr unsigned shift_count(ShiftOp op, uint32_t count) {
    count &= 0x1F;
    if (op == ShiftOp::Rcl || op == ShiftOp::Rcr) count %= sizeof(T) * 8 + 1;
    return count;
}

// `value` shifted or rotated by a count of 1-31 from shift_count(), with the status flags
// `status` had before. Rotates change CF and OF only; shifts set SF, ZF and PF from the
// result, clear AF (undefined) and set CF and OF. OF is defined only for 1-bit counts; for
// others the 1-bit formula is computed, as Intel silicon does for SHL/SHR.
template <class T>
constexpr AluResult alu_shift(ShiftOp op, T value, unsigned count, uint32_t status) {
    constexpr unsigned bits = sizeof(T) * 8;
    T r = value;
    bool cf = false, of = false;
    switch (op) {
    case ShiftOp::Rol: {
        const unsigned n = count % bits;
        r = static_cast<T>((value << n) | (value >> ((bits - n) % bits)));
        cf = r & 1;
        of = msb(r) != cf;
        break;
    }
    case ShiftOp::Ror: {
        const unsigned n = count % bits;
        r = static_cast<T>((value >> n) | (value << ((bits - n) % bits)));
        cf = msb(r);
        of = msb(r) != static_cast<bool>((r >> (bits - 2)) & 1);
        break;
    }
    case ShiftOp::Rcl: {
        bool carry = status & flags::CF;
        for (unsigned i = 0; i < count; ++i) {
            const bool out = msb(r);
            r = static_cast<T>((r << 1) | (carry ? 1 : 0));
            carry = out;
        }
        cf = carry;
        of = msb(r) != cf;
        break;
    }
    case ShiftOp::Rcr: {
        bool carry = status & flags::CF;
        of = msb(value) != carry; // SDM RCR: OF from the operand before the rotate
        for (unsigned i = 0; i < count; ++i) {
            const bool out = r & 1;
            r = static_cast<T>((r >> 1) | (carry ? kSignBit<T> : 0));
            carry = out;
        }
        cf = carry;
        break;
    }
    default: { // Shl / Shr / Sar with counts up to 31 on narrower operands
        const uint64_t wide = value;
        if (op == ShiftOp::Shl) {
            const uint64_t shifted = wide << count;
            r = static_cast<T>(shifted);
            cf = (shifted >> bits) & 1;
            of = msb(r) != cf;
        } else if (op == ShiftOp::Shr) {
            r = static_cast<T>(wide >> count);
            cf = count <= bits ? (wide >> (count - 1)) & 1 : false;
            of = msb(value);
        } else {
            using S = std::make_signed_t<T>;
            const int64_t sw = static_cast<S>(value);
            r = static_cast<T>(sw >> (count < 63 ? count : 63));
            cf = (sw >> (count - 1 < 63 ? count - 1 : 63)) & 1;
            of = false;
        }
        status = (status & ~(flags::SF | flags::ZF | flags::PF | flags::AF)) | flags_szp(r);
        break;
    }
    }
    status = (status & ~(flags::CF | flags::OF)) | (cf ? flags::CF : 0) | (of ? flags::OF : 0);
    return {r, status};
}

// shld / shrd: `dst` shifted by a count of 1-31 (already masked to 5 bits), the bits shifted
// in taken from `src`, through a 64-bit window: a count above the operand width leaves the
// result undefined (SDM SHLD, SHRD), and this is what both tiers give. SF, ZF, PF from the
// result, CF the last bit shifted out, OF the 1-bit formula (sign changed), AF kept from
// `status` (undefined).
template <class T>
constexpr AluResult alu_double_shift(bool left, T dst, T src, unsigned count, uint32_t status) {
    constexpr unsigned bits = sizeof(T) * 8;
    T r;
    bool cf;
    if (left) {
        const uint64_t window = (uint64_t{dst} << bits) | src; // dst:src
        r = static_cast<T>((window << count) >> bits);
        cf = (window >> (2 * bits - count)) & 1;
    } else {
        const uint64_t window = (uint64_t{src} << bits) | dst; // src:dst
        r = static_cast<T>(window >> count);
        cf = (window >> (count - 1)) & 1;
    }
    uint32_t f = (status & flags::AF) | flags_szp(r);
    if (cf) f |= flags::CF;
    if (msb(r) != msb(dst)) f |= flags::OF;
    return {r, f};
}

// ---- multiplication (SDM MUL, IMUL)

// The double-width product of MUL (Signed = false) or IMUL, split into halves; `overflow`:
// the upper half carries significant bits (CF = OF = 1).
template <class T>
struct Product {
    T low;
    T high;
    bool overflow;
};
template <class T, bool Signed>
constexpr Product<T> alu_multiply(T a, T b) {
    constexpr unsigned bits = sizeof(T) * 8;
    if constexpr (Signed) {
        using S = std::make_signed_t<T>;
        const int64_t product = int64_t{static_cast<S>(a)} * static_cast<S>(b);
        const T low = static_cast<T>(product);
        return {low, static_cast<T>(static_cast<uint64_t>(product) >> bits),
                product != static_cast<S>(low)};
    } else {
        const uint64_t product = uint64_t{a} * b;
        const T high = static_cast<T>(product >> bits);
        return {static_cast<T>(product), high, high != 0};
    }
}
// The flags after a multiplication: CF = OF = overflow. SF, ZF, AF and PF are undefined
// (SDM MUL, IMUL): SF, ZF and PF follow the low half and AF is cleared.
template <class T>
constexpr uint32_t multiply_flags(T low, bool overflow) {
    return flags_szp(low) | (overflow ? flags::CF | flags::OF : 0);
}

// ---- division (SDM DIV, IDIV)

// The quotient and remainder of DIV (Signed = false) or IDIV of the double-width dividend
// high:low (AH:AL, DX:AX or EDX:EAX) by `divisor`; false for #DE: a zero divisor or a quotient
// that does not fit T (for IDIV the most negative dividend divided by -1 among them). The
// flags are undefined; both tiers leave them as they were.
template <class T>
struct Quotient {
    T quotient;
    T remainder;
};
template <class T, bool Signed>
constexpr bool alu_divide(T high, T low, T divisor, Quotient<T>& out) {
    constexpr unsigned bits = sizeof(T) * 8;
    using Wide = std::conditional_t<sizeof(T) == 4, uint64_t, uint32_t>;
    const Wide dividend = (Wide{high} << bits) | low;
    if (divisor == 0) return false;
    if constexpr (!Signed) {
        const Wide quotient = dividend / divisor;
        if (quotient >> bits) return false;
        out = {static_cast<T>(quotient), static_cast<T>(dividend % divisor)};
        return true;
    } else {
        using S = std::make_signed_t<T>;
        using SW = std::make_signed_t<Wide>;
        // A byte divisor divides AX as a signed 16-bit value; Wide is 32 bits for it, so the
        // dividend is sign-extended from bit 15 (DX:AX and EDX:EAX fill their wide type).
        const SW signed_dividend =
            sizeof(T) == 1 ? SW{static_cast<int16_t>(dividend)} : static_cast<SW>(dividend);
        const auto signed_divisor = static_cast<S>(divisor);
        if (signed_divisor == -1 && signed_dividend == std::numeric_limits<SW>::min()) return false;
        const SW quotient = signed_dividend / signed_divisor;
        if (quotient != static_cast<S>(quotient)) return false;
        out = {static_cast<T>(quotient), static_cast<T>(signed_dividend % signed_divisor)};
        return true;
    }
}

} // namespace transit86::emu
