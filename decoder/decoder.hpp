// transit86 instruction decoder: x86 bytes -> the compact Insn record (decoder/insn.hpp).
//
// This is the only interface to Zydis in the project; no Zydis type crosses it. Nothing here
// allocates (except disassemble(), which returns a std::string) and nothing throws.
#pragma once

#include "decoder/insn.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace transit86::decoder {

// How the CPU fetches instructions at this moment.
//   protected_mode: CR0.PE
//   code32:         CS.D (the descriptor cache's default-size bit). Also honoured in real mode:
//                   "big real" code with a 32-bit CS cache decodes with 32-bit defaults.
//   v86:            EFLAGS.VM
struct FetchMode {
    bool protected_mode = false;
    bool code32 = false;
    bool v86 = false;
};

enum class DecodeStatus : uint8_t {
    Ok,
    Invalid,     // an encoding that raises #UD in this mode (incl. LOCK where not allowed)
    TooLong,     // more than 15 bytes (SDM Vol. 3A 2.3.11: #GP(0))
    Truncated,   // the supplied bytes ended before the instruction did
    Unsupported, // valid x86, but transit86 has no Op for it; Insn::length is still filled
};

// Decodes one instruction from `bytes` (at most `available` bytes are read).
//
// On Ok, `out` is fully filled. On Unsupported, everything but op/cc/operands/flags is filled
// (length, sizes, prefixes) so the caller can report the bytes. On Invalid the length is
// filled when it is known (an instruction Zydis decodes but this mode rejects), else 0.
// On TooLong/Truncated `out` is a default Insn.
DecodeStatus decode(const uint8_t* bytes, size_t available, FetchMode mode, Insn& out) noexcept;

// Formats one instruction in Intel syntax ("mov al, es:[bx]"), lower-case with 0x-prefixed
// hexadecimal. Relative branch targets are resolved against `runtime_address`, the IP of the
// instruction (the offset within CS, not the linear address). Returns the number of characters
// written (without the NUL); on failure writes "(bad)" (truncated to fit) and returns 0.
size_t format_intel(const uint8_t* bytes, size_t available, FetchMode mode,
                    uint32_t runtime_address, char* buffer, size_t buffer_size) noexcept;

// format_intel() into a std::string ("(bad)" when the bytes do not decode).
std::string disassemble(const uint8_t* bytes, size_t available, FetchMode mode,
                        uint32_t runtime_address);

// Lower-case name of an operation for diagnostics ("add", "jcc", "mov_to_sreg").
const char* op_name(Op op) noexcept;

// Lower-case mnemonic of an x87 operation ("fadd", "fcmovcc").
const char* x87_op_name(X87Op op) noexcept;

// Name of a decode status for diagnostics ("ok", "invalid", ...).
const char* status_name(DecodeStatus status) noexcept;

} // namespace transit86::decoder
