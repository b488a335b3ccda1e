// The host's own x87 unit as the guest's: one guest ESC instruction executed natively on an
// image of the guest's x87 state (docs/architecture.md, "The x87 model").
//
// The image is the FSAVE state image of SDM Vol. 1 Figure 8-9 plus the registers (the
// layout FNSAVE/FRSTOR use in 64-bit mode without REX.W). x87_execute_on_host() loads it with
// FRSTOR, executes the instruction whose x87 opcode is given (the ESC byte's low three bits
// and the ModRM byte, SDM Vol. 1 8.1.9) with a memory operand redirected to `operand`, stores
// the state back with FNSAVE and restores the host's control word. The host never traps: x87
// exceptions are taken at the next waiting instruction (SDM Vol. 1 8.6), FNSAVE does not wait,
// and callers never pass a state with an unmasked exception pending to a waiting instruction.
#pragma once

#include <array>
#include <cstdint>

#include "transit86/cpu_state.hpp"

namespace transit86::emu {

struct alignas(16) X87HostImage {
    std::array<uint8_t, 108> bytes{};
};

// EFLAGS bits an instruction executed on the host left (FCOMI/FUCOMI: ZF, PF, CF).
struct X87HostFlags {
    bool zf = false, pf = false, cf = false;
};

// Whether this build can run x87 instructions on the host (an x86 host).
bool x87_host_available();

// Executes the instruction with x87 opcode `opcode` (mod = 3: the register form itself; else
// the same operation on [operand]). `zf_in` is the ZF the instruction sees (FCMOVE).
X87HostFlags x87_execute_on_host(uint16_t opcode, X87HostImage& image, uint8_t* operand,
                                 bool zf_in);

// Guest state <-> host image. The image's tag word says only empty or not (the processor
// derives the rest from the registers when it loads it, SDM Vol. 1 8.1.7); its instruction
// and data pointers are zero and never read back.
X87HostImage to_host_image(const X87State& x87);
// Control, status and tag words and the registers from the image into `x87`.
void from_host_image(const X87HostImage& image, X87State& x87);

// A register as ten bytes in memory (SDM Vol. 1 Figure 4-3): significand, then sign and
// exponent, little-endian: the register slots of FSAVE images and m80fp operands.
void put_register(uint8_t* ten_bytes, const X87Register& reg);
X87Register get_register(const uint8_t* ten_bytes);

// A two-bit tag word (SDM Vol. 1 Figure 8-7) reduced to the abridged form: a tag of 11B is
// empty, anything else holds a value (what FLDENV/FRSTOR keep, 8.1.7).
uint8_t abridged_tags(uint16_t tags);

// The two-bit tag of a register's contents (SDM Vol. 1 Figure 8-7): 0 valid, 1 zero,
// 2 special (NaN, infinity, denormal, unsupported), 3 empty is for the caller to decide.
unsigned x87_tag_of(const X87Register& reg);

} // namespace transit86::emu
