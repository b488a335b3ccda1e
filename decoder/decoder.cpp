// decode(): Zydis's full decode lowered into the compact Insn record.
#include "decoder/decoder.hpp"

#include "decoder/zydis_lowering.hpp"
#include "transit86/cpu_state.hpp"

#include <iterator>

namespace transit86::decoder {
namespace detail {
namespace {

struct ZydisDecoders {
    ZydisDecoder real16;   // real-address and virtual-8086 mode
    ZydisDecoder legacy16; // protected mode, CS.D = 0
    ZydisDecoder legacy32; // CS.D = 1 (protected mode or "big real")
};

ZydisDecoder make_decoder(ZydisMachineMode machine_mode, ZydisStackWidth stack_width) {
    ZydisDecoder decoder{};
    ZydisDecoderInit(&decoder, machine_mode, stack_width);
    // CET and MPX reuse old encodings: with them on, Zydis reads 3E before an indirect JMP/CALL
    // as NOTRACK (dropping its DS override), F2 before a branch as BND, ENDBR32 and 0F 1A/1B as
    // new instructions. transit86 models a CPU with CET and MPX not enabled, where those are
    // the segment override, an ignored prefix, and hint NOPs.
    ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_CET, ZYAN_FALSE);
    ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_MPX, ZYAN_FALSE);
    // The same for three later extensions the CPU model does not claim (CPUID.07H:EBX.BMI1,
    // CPUID.80000001H:ECX.ABM, CPUID.07H:ECX.CLDEMOTE): there F3 0F BC is BSF and F3 0F BD is
    // BSR with an ignored prefix (SDM Vol. 2B TZCNT, LZCNT: "executed as BSF/BSR"; Linux's
    // __ffs() is `rep bsf` for that reason), and 0F 1C /0 is a hint NOP.
    ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_TZCNT, ZYAN_FALSE);
    ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_LZCNT, ZYAN_FALSE);
    ZydisDecoderEnableMode(&decoder, ZYDIS_DECODER_MODE_CLDEMOTE, ZYAN_FALSE);
    return decoder;
}

} // namespace

const ZydisDecoder& zydis_decoder_for(FetchMode mode) noexcept {
    static const ZydisDecoders decoders{
        make_decoder(ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16),
        make_decoder(ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16),
        make_decoder(ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32),
    };
    if (mode.code32) return decoders.legacy32;
    if (!mode.protected_mode || mode.v86) return decoders.real16;
    return decoders.legacy16;
}

} // namespace detail

namespace {

DecodeStatus status_from_zydis(ZyanStatus status) {
    switch (status) {
    case ZYDIS_STATUS_NO_MORE_DATA: return DecodeStatus::Truncated;
    case ZYDIS_STATUS_INSTRUCTION_TOO_LONG: return DecodeStatus::TooLong;
    // DECODING_ERROR, BAD_REGISTER (mov cs, r/m; sreg 6/7), ILLEGAL_LOCK, ILLEGAL_LEGACY_PFX,
    // INVALID_MAP, MALFORMED_EVEX/MVEX, INVALID_MASK, IMPOSSIBLE_INSTRUCTION: all #UD.
    default: return DecodeStatus::Invalid;
    }
}

constexpr uint32_t mask_for_bits(uint32_t bits) {
    return bits >= 32 ? 0xFFFFFFFFu : (1u << bits) - 1u;
}

// Zydis's segment registers are numbered ES, CS, SS, DS, FS, GS like transit86::Seg.
bool lower_segment(ZydisRegister reg, uint8_t& out) {
    if (ZydisRegisterGetClass(reg) != ZYDIS_REGCLASS_SEGMENT) return false;
    out = static_cast<uint8_t>(ZydisRegisterGetId(reg));
    return true;
}

// GPRs by encoding index; Zydis's 8-bit ids are AL, CL, DL, BL, AH, CH, DH, BH like ModRM.
bool lower_gpr(ZydisRegister reg, uint8_t& out) {
    switch (ZydisRegisterGetClass(reg)) {
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32: break;
    default: return false;
    }
    const ZyanI8 id = ZydisRegisterGetId(reg);
    if (id < 0 || id > 7) return false; // SPL..R15B and R8..R15 do not exist outside 64-bit
    out = static_cast<uint8_t>(id);
    return true;
}

bool lower_address_register(ZydisRegister reg, uint8_t& out) {
    if (reg == ZYDIS_REGISTER_NONE) {
        out = kNoReg;
        return true;
    }
    return lower_gpr(reg, out);
}

bool lower_register(const ZydisDecodedOperand& zo, Operand& out) {
    const ZydisRegister reg = zo.reg.value;
    switch (ZydisRegisterGetClass(reg)) {
    case ZYDIS_REGCLASS_SEGMENT: out.kind = OperandKind::Sreg; return lower_segment(reg, out.reg);
    case ZYDIS_REGCLASS_CONTROL: out.kind = OperandKind::Creg; break;
    case ZYDIS_REGCLASS_DEBUG: out.kind = OperandKind::Dreg; break;
    case ZYDIS_REGCLASS_X87: out.kind = OperandKind::St; break;
    default: out.kind = OperandKind::Reg; return lower_gpr(reg, out.reg);
    }
    out.reg = static_cast<uint8_t>(ZydisRegisterGetId(reg));
    return true;
}

bool lower_memory(const ZydisDecodedOperand& zo, const ZydisDecodedInstruction& zi, Operand& out) {
    // MEM: a real access; AGEN: LEA's address-only operand. MIB/VSIB belong to MPX/AVX.
    if (zo.mem.type != ZYDIS_MEMOP_TYPE_MEM && zo.mem.type != ZYDIS_MEMOP_TYPE_AGEN) return false;
    out.kind = OperandKind::Mem;
    if (!lower_address_register(zo.mem.base, out.base)) return false;
    if (!lower_address_register(zo.mem.index, out.index)) return false;
    out.scale = out.index == kNoReg ? uint8_t{0} : zo.mem.scale;
    // Zydis has already applied the default segment (SS for BP/EBP/ESP bases, else DS) and
    // any override prefix.
    if (!lower_segment(zo.mem.segment, out.segment)) return false;
    if (zo.mem.disp.has_displacement) {
        // Zydis sign-extends disp8/disp16/disp32 to 64 bits; keep it address-size wrapped so
        // base + index*scale + disp needs one final mask (SDM Vol. 1 3.7.5).
        out.value = static_cast<uint32_t>(zo.mem.disp.value) & mask_for_bits(zi.address_width);
    }
    return true;
}

bool lower_immediate(const ZydisDecodedOperand& zo, const ZydisDecodedInstruction& zi,
                     Operand& out) {
    if (zo.imm.is_relative) {
        out.kind = OperandKind::Rel;
        out.value = static_cast<uint32_t>(zo.imm.value.s); // signed displacement, two's complement
        return true;
    }
    out.kind = OperandKind::Imm;
    // A signed immediate (imm8 of 83 /x, 6A, 6B, ...) is sign-extended to the operand size, as
    // the instruction uses it; an unsigned one (port, vector, shift count, ENTER/RET sizes)
    // keeps its encoded width.
    uint32_t bits = zo.size;
    if (zo.imm.is_signed && zi.operand_width > bits) bits = zi.operand_width;
    if (bits > 32) bits = 32;
    out.value = static_cast<uint32_t>(zo.imm.value.u) & mask_for_bits(bits);
    out.size = static_cast<uint8_t>(bits / 8);
    return true;
}

bool lower_operand(const ZydisDecodedOperand& zo, const ZydisDecodedInstruction& zi, Operand& out) {
    const uint32_t bytes = zo.size / 8u;
    // Only FXSAVE/FXRSTOR's 512-byte image is larger than a byte can say: size 0, "large".
    out.size = bytes > 0xFF ? uint8_t{0} : static_cast<uint8_t>(bytes);
    switch (zo.type) {
    case ZYDIS_OPERAND_TYPE_REGISTER: return lower_register(zo, out);
    case ZYDIS_OPERAND_TYPE_MEMORY: return lower_memory(zo, zi, out);
    case ZYDIS_OPERAND_TYPE_IMMEDIATE: return lower_immediate(zo, zi, out);
    case ZYDIS_OPERAND_TYPE_POINTER:
        out.kind = OperandKind::FarPtr; // EA/9A ptr16:16 (size 4) or ptr16:32 (size 6)
        out.value = zo.ptr.offset;
        out.selector = zo.ptr.segment;
        return true;
    default: return false;
    }
}

// Lowers the operands Intel syntax shows (explicit and implicit); hidden ones (string pointers,
// the stack, FLAGS, MUL's accumulator) are implied by the Op.
bool lower_operands(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* zops, Insn& out) {
    uint8_t count = 0;
    for (uint8_t i = 0; i < zi.operand_count_visible; ++i) {
        const ZydisDecodedOperand& zo = zops[i];
        if (zo.visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT &&
            zo.visibility != ZYDIS_OPERAND_VISIBILITY_IMPLICIT) {
            continue;
        }
        if (count == std::size(out.operands)) return false;
        if (!lower_operand(zo, zi, out.operands[count])) return false;
        ++count;
    }
    out.operand_count = count;
    return true;
}

uint8_t lower_prefixes(ZydisInstructionAttributes attributes) {
    uint8_t prefixes = 0;
    // Zydis keeps only the last of F2/F3 as the effective one, as the hardware does.
    if (attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) prefixes |= prefix::Rep;
    if (attributes & ZYDIS_ATTRIB_HAS_REPNE) prefixes |= prefix::Repne;
    if (attributes & ZYDIS_ATTRIB_HAS_LOCK) prefixes |= prefix::Lock;
    if (attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE) prefixes |= prefix::OperandSize;
    if (attributes & ZYDIS_ATTRIB_HAS_ADDRESSSIZE) prefixes |= prefix::AddressSize;
    if (attributes & ZYDIS_ATTRIB_HAS_SEGMENT) prefixes |= prefix::SegOverride;
    return prefixes;
}

// The segment of a string source (DS:[E]SI) and of XLAT: DS unless overridden. Zydis records
// the effective override (the last segment prefix) as one HAS_SEGMENT_* bit.
uint8_t source_segment(ZydisInstructionAttributes attributes) {
    Seg seg = Seg::DS;
    if (attributes & ZYDIS_ATTRIB_HAS_SEGMENT_ES) seg = Seg::ES;
    if (attributes & ZYDIS_ATTRIB_HAS_SEGMENT_CS) seg = Seg::CS;
    if (attributes & ZYDIS_ATTRIB_HAS_SEGMENT_SS) seg = Seg::SS;
    if (attributes & ZYDIS_ATTRIB_HAS_SEGMENT_FS) seg = Seg::FS;
    if (attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS) seg = Seg::GS;
    return static_cast<uint8_t>(seg);
}

// MOV's register-class forms: 8C/8E (Sreg), 0F 20/22 (CRn), 0F 21/23 (DRn).
Op split_mov(const Insn& insn) {
    const OperandKind dst = insn.operands[0].kind;
    const OperandKind src = insn.operands[1].kind;
    if (dst == OperandKind::Sreg) return Op::MovToSreg;
    if (src == OperandKind::Sreg) return Op::MovFromSreg;
    if (dst == OperandKind::Creg) return Op::MovToCr;
    if (src == OperandKind::Creg) return Op::MovFromCr;
    if (dst == OperandKind::Dreg) return Op::MovToDr;
    if (src == OperandKind::Dreg) return Op::MovFromDr;
    return Op::Mov;
}

// Instructions whose width is that of their one GPR/memory operand rather than the operand-size
// attribute: MOV to/from Sreg (SDM Vol. 2B MOV: a 16-bit access except "mov r32, sreg"),
// ARPL, and the 16-bit selector/MSW system instructions.
bool width_from_gpr_or_memory(Op op) {
    switch (op) {
    case Op::MovToSreg:
    case Op::MovFromSreg:
    case Op::Arpl:
    case Op::Lldt:
    case Op::Sldt:
    case Op::Ltr:
    case Op::Str:
    case Op::Verr:
    case Op::Verw:
    case Op::Lmsw:
    case Op::Smsw: return true;
    default: return false;
    }
}

uint8_t gpr_or_memory_width(const Insn& insn) {
    for (uint8_t i = 0; i < insn.operand_count; ++i) {
        const Operand& operand = insn.operands[i];
        if (operand.kind == OperandKind::Reg || operand.kind == OperandKind::Mem) {
            return operand.size;
        }
    }
    return insn.operand_size;
}

} // namespace

DecodeStatus decode(const uint8_t* bytes, size_t available, FetchMode mode, Insn& out) noexcept {
    out = Insn{};
    if (bytes == nullptr || available == 0) return DecodeStatus::Truncated;

    // Only the operands Intel syntax shows are decoded (Zydis lists them first): the hidden
    // ones are implied by the Op, and skipping them is a fifth of a cold decode.
    const ZydisDecoder& decoder = detail::zydis_decoder_for(mode);
    ZydisDecoderContext context;
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zops[ZYDIS_MAX_OPERAND_COUNT_VISIBLE];
    ZyanStatus status = ZydisDecoderDecodeInstruction(&decoder, &context, bytes, available, &zi);
    if (ZYAN_SUCCESS(status))
        status =
            ZydisDecoderDecodeOperands(&decoder, &context, &zi, zops, zi.operand_count_visible);
    if (ZYAN_FAILED(status)) return status_from_zydis(status);

    out.length = zi.length;
    out.operand_size = static_cast<uint8_t>(zi.operand_width / 8);
    out.address_size = static_cast<uint8_t>(zi.address_width / 8);
    out.prefixes = lower_prefixes(zi.attributes);
    out.segment = source_segment(zi.attributes);

    const detail::LoweredMnemonic lowered = detail::lower_mnemonic(zi);
    if (lowered.op == Op::Invalid) return DecodeStatus::Unsupported;
    if (detail::protected_mode_only(lowered.op) && (!mode.protected_mode || mode.v86)) {
        return DecodeStatus::Invalid;
    }
    Insn lowered_insn = out;
    if (!lower_operands(zi, zops, lowered_insn)) return DecodeStatus::Unsupported;

    lowered_insn.op = lowered.op == Op::Mov ? split_mov(lowered_insn) : lowered.op;
    lowered_insn.cc = lowered.cc;
    if (lowered.op == Op::X87) {
        lowered_insn.x87 = lowered.x87;
        // The x87 opcode register (SDM Vol. 1 8.1.9): ESC bits 2:0 and the ModRM byte. 0F AE
        // (FXSAVE/FXRSTOR) is not an ESC instruction and leaves it 0.
        if (zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT) {
            const uint8_t modrm = static_cast<uint8_t>((zi.raw.modrm.mod << 6) |
                                                       (zi.raw.modrm.reg << 3) | zi.raw.modrm.rm);
            lowered_insn.x87_opcode = static_cast<uint16_t>(((zi.opcode & 7u) << 8) | modrm);
        }
    }
    if (width_from_gpr_or_memory(lowered_insn.op)) {
        lowered_insn.operand_size = gpr_or_memory_width(lowered_insn);
    }
    detail::lower_flags(zi, lowered_insn);
    out = lowered_insn;
    return DecodeStatus::Ok;
}

} // namespace transit86::decoder
