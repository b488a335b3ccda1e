// Private to decoder/: the pieces that turn Zydis's full decode into an Insn.
// Nothing outside decoder/ may include this header (it pulls in Zydis).
#pragma once

#include "decoder/decoder.hpp"

#include <Zydis/Zydis.h>

namespace transit86::decoder::detail {

// The Zydis decoder for a fetch mode. The three decoders are built once and never change.
const ZydisDecoder& zydis_decoder_for(FetchMode mode) noexcept;

// The Op (and condition code) a Zydis mnemonic lowers to, before operands are looked at.
// MOV lowers to Op::Mov (decode() splits out the sreg/CRn/DRn forms once operands are lowered);
// JMP/CALL/RET already distinguish near and far. Op::Invalid means "no mapping".
struct LoweredMnemonic {
    Op op = Op::Invalid;
    uint8_t cc = 0;
    X87Op x87 = X87Op::None; // Op::X87
    uint8_t padding = 0;     // four bytes: returned in one register
};
LoweredMnemonic lower_mnemonic(const ZydisDecodedInstruction& instruction) noexcept;

// True for the operations that raise #UD in real-address and virtual-8086 mode (LLDT, LAR, ...).
bool protected_mode_only(Op op) noexcept;

// Fills insn.undefined_flags / insn.modified_flags from Zydis's flag table, refined by the
// shift or rotate count when the encoding fixes it. Needs insn.op and the lowered operands.
void lower_flags(const ZydisDecodedInstruction& instruction, Insn& insn) noexcept;

} // namespace transit86::decoder::detail
