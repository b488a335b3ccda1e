// EFLAGS masks for an instruction: Zydis's per-encoding flag table, refined where the encoding
// fixes a shift/rotate count.
#include "decoder/zydis_lowering.hpp"

#include "transit86/cpu_state.hpp"

namespace transit86::decoder::detail {
namespace {

// Zydis's ZYDIS_CPUFLAG_* masks are EFLAGS bit positions, so lowering is a copy -- except
// IOPL, a two-bit field that Zydis marks with bit 12 alone.
static_assert(ZYDIS_CPUFLAG_IOPL == (1u << 12) && flags::IOPL == (3u << 12));
static_assert(ZYDIS_CPUFLAG_CF == flags::CF && ZYDIS_CPUFLAG_PF == flags::PF &&
              ZYDIS_CPUFLAG_AF == flags::AF && ZYDIS_CPUFLAG_ZF == flags::ZF &&
              ZYDIS_CPUFLAG_SF == flags::SF && ZYDIS_CPUFLAG_TF == flags::TF &&
              ZYDIS_CPUFLAG_IF == flags::IF && ZYDIS_CPUFLAG_DF == flags::DF &&
              ZYDIS_CPUFLAG_OF == flags::OF && ZYDIS_CPUFLAG_NT == flags::NT &&
              ZYDIS_CPUFLAG_RF == flags::RF && ZYDIS_CPUFLAG_VM == flags::VM &&
              ZYDIS_CPUFLAG_AC == flags::AC && ZYDIS_CPUFLAG_VIF == flags::VIF &&
              ZYDIS_CPUFLAG_VIP == flags::VIP && ZYDIS_CPUFLAG_ID == flags::ID);

uint32_t to_eflags(ZydisAccessedFlagsMask mask) {
    uint32_t eflags = mask;
    if (mask & ZYDIS_CPUFLAG_IOPL) eflags |= flags::IOPL;
    return eflags;
}

bool is_shift_or_rotate(Op op) {
    switch (op) {
    case Op::Rol:
    case Op::Ror:
    case Op::Rcl:
    case Op::Rcr:
    case Op::Shl:
    case Op::Shr:
    case Op::Sar:
    case Op::Shld:
    case Op::Shrd: return true;
    default: return false;
    }
}

// Zydis describes every shift/rotate encoding by its worst case: OF (and for shifts AF)
// undefined. When the count is an immediate (D0/D1 by 1, C0/C1 by imm8, SHLD/SHRD imm8) the
// SDM rules for that count apply exactly (SDM Vol. 2B, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR,
// SHLD, SHRD, "Flags Affected"):
//   - a masked count of 0 affects no flags;
//   - OF is defined for a 1-bit shift/rotate only;
//   - SHL/SHR: CF is undefined when the count is >= the operand width (8/16-bit forms);
//   - SHLD/SHRD: all status flags are undefined when the count exceeds the operand width.
// Counts in CL are only known at run time; those encodings keep Zydis's worst case.
void refine_for_count(const Insn& insn, uint32_t count, uint32_t& undefined, uint32_t& modified) {
    const uint32_t masked = count & 0x1F; // 16/32-bit operand sizes mask the count to 5 bits
    if (masked == 0) {
        undefined = 0;
        modified = 0;
        return;
    }
    if (masked == 1) undefined &= ~flags::OF;
    const uint32_t width_bits = 8u * insn.operand_size;
    if ((insn.op == Op::Shl || insn.op == Op::Shr) && masked >= width_bits) {
        undefined |= flags::CF;
    }
    if ((insn.op == Op::Shld || insn.op == Op::Shrd) && masked > width_bits) {
        undefined |= flags::Status;
    }
}

} // namespace

void lower_flags(const ZydisDecodedInstruction& instruction, Insn& insn) noexcept {
    const ZydisAccessedFlags* cpu = instruction.cpu_flags;
    if (cpu == nullptr) return;
    uint32_t undefined = to_eflags(cpu->undefined);
    // "Modified" in Zydis excludes the flags it lists as set-to-0/1 or undefined; a trace wants
    // every flag the instruction may write.
    uint32_t modified = to_eflags(cpu->modified | cpu->set_0 | cpu->set_1 | cpu->undefined);

    if (is_shift_or_rotate(insn.op) && insn.operand_count >= 2) {
        // The count is the last lowered operand: "shl r/m, 1" (implicit), "shl r/m, imm8",
        // "shld r/m, r, imm8"; or CL.
        const Operand& count = insn.operands[insn.operand_count - 1];
        if (count.kind == OperandKind::Imm)
            refine_for_count(insn, count.value, undefined, modified);
    }
    modified |= undefined;
    // The Insn fields are 16 bits wide: RF, VM, AC, VIF, VIP and ID (bits 16..21, written only
    // by POPF/IRET/CLI/STI-style instructions) do not fit and are dropped.
    insn.undefined_flags = static_cast<uint16_t>(undefined & 0xFFFF);
    insn.modified_flags = static_cast<uint16_t>(modified & 0xFFFF);
}

} // namespace transit86::decoder::detail
