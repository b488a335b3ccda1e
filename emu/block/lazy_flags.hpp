// EFLAGS status flags kept lazily by the block engine (emu/block_engine.hpp): an ALU
// instruction stores its result and a carry word instead of computing six flags, and a flag is
// derived only when something reads it (a Jcc, INC/DEC's preserved CF, the return to the
// interpreter). The encoding follows Bochs's lazy flags (cpu/lazy_flags.h): ZF and SF come from
// the sign-extended result, CF and OF from the carry out of and into the most significant bit.
//
//   result  the result, sign-extended to 32 bits            ZF = result == 0
//   aux     bit 31  CF (carry/borrow out of the MSB)           SF = result[31] ^ aux[0]
//           bit 30  carry/borrow into the MSB (= CF ^ OF)      OF = aux[31] ^ aux[30]
//           bit 3   AF (carry/borrow out of bit 3)             AF = aux[3]
//           bits 8-15  parity delta                            PF = even parity of
//           bit 0   sign delta                                      (result ^ aux[15:8])[7:0]
//
// The two deltas are zero after arithmetic; they let any EFLAGS image be represented
// (ZF = SF = 1 has no single result), which from_eflags() needs.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

#include "emu/cpu/condition.hpp"
#include "transit86/cpu_state.hpp"

namespace transit86::emu {

struct LazyFlags {
    uint32_t result = 1;
    uint32_t aux = 0;

    static constexpr uint32_t kCarryBits = 0xC0000000u;

    template <class T>
    static constexpr uint32_t sign_extend(T value) {
        using S = std::make_signed_t<T>;
        return static_cast<uint32_t>(static_cast<int32_t>(static_cast<S>(value)));
    }
    // Bits 31 (out of the MSB) and 30 (into it) and 3 of a carry vector at width T.
    template <class T>
    static constexpr uint32_t aux_of(uint32_t carries) {
        return ((carries << (32 - 8 * sizeof(T))) & kCarryBits) | (carries & 0x08u);
    }

    // add / adc-free forms: bit i of the carry vector is the carry out of bit i.
    template <class T>
    void set_add(T a, T b, T r) {
        result = sign_extend(r);
        aux = aux_of<T>((uint32_t{a} & b) | ((uint32_t{a} | b) & ~uint32_t{r}));
    }
    // sub / cmp: bit i of the borrow vector is the borrow out of bit i.
    template <class T>
    void set_sub(T a, T b, T r) {
        result = sign_extend(r);
        aux = aux_of<T>((~uint32_t{a} & b) | ((~uint32_t{a} ^ b) & uint32_t{r}));
    }
    // and / or / xor / test: CF = OF = 0; AF cleared as alu_logic() does.
    template <class T>
    void set_logic(T r) {
        result = sign_extend(r);
        aux = 0;
    }
    // inc / dec: as add / sub of 1 with CF kept (SDM INC, DEC). Flipping bits 31 and 30
    // together changes CF and keeps OF.
    template <class T>
    void set_inc(T a, T r) {
        const uint32_t carry = aux & 0x80000000u;
        set_add<T>(a, 1, r);
        if ((aux ^ carry) & 0x80000000u) aux ^= kCarryBits;
    }
    template <class T>
    void set_dec(T a, T r) {
        const uint32_t carry = aux & 0x80000000u;
        set_sub<T>(a, 1, r);
        if ((aux ^ carry) & 0x80000000u) aux ^= kCarryBits;
    }

    bool operator==(const LazyFlags&) const = default;

    bool cf() const { return aux >> 31; }
    bool zf() const { return result == 0; }
    bool sf() const { return ((result >> 31) ^ aux) & 1; }
    bool of() const { return ((aux ^ (aux << 1)) >> 31) != 0; }
    bool af() const { return (aux >> 3) & 1; }
    bool pf() const { return (std::popcount((result ^ (aux >> 8)) & 0xFFu) & 1) == 0; }

    uint32_t status() const {
        return (cf() ? flags::CF : 0) | (pf() ? flags::PF : 0) | (af() ? flags::AF : 0) |
               (zf() ? flags::ZF : 0) | (sf() ? flags::SF : 0) | (of() ? flags::OF : 0);
    }

    // Bits 31, 30 and 3 of `aux` for the CF, OF and AF of a status image.
    static constexpr uint32_t carry_aux(uint32_t status) {
        const bool cf = status & flags::CF, of = status & flags::OF;
        return (cf ? 0x80000000u : 0) | ((cf != of) ? 0x40000000u : 0) |
               ((status & flags::AF) ? 0x08u : 0);
    }

    // The status flags of an EFLAGS image, whatever their combination: a result of 0 or 1 for
    // ZF, and the deltas for SF and PF.
    static LazyFlags from_eflags(uint32_t eflags) {
        LazyFlags lf;
        lf.result = (eflags & flags::ZF) ? 0 : 1;
        const bool parity_even = lf.result == 0, pf = eflags & flags::PF;
        lf.aux =
            carry_aux(eflags) | (parity_even != pf ? 0x100u : 0) | ((eflags & flags::SF) ? 1u : 0);
        return lf;
    }
    // Status flags and result from an eagerly computed AluResult (ADC, SBB): ZF, SF and PF
    // follow from the result itself.
    template <class T>
    static LazyFlags from_status(T r, uint32_t status) {
        LazyFlags lf;
        lf.result = sign_extend(r);
        lf.aux = carry_aux(status);
        return lf;
    }

    // Condition code tttn (SDM Vol. 1 B.1). With `cc` known at compile time only the flags it
    // reads are derived (JNZ: result != 0).
    bool condition(uint8_t cc) const { return condition_holds(status(), cc); }
};

} // namespace transit86::emu
