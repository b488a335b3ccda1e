#include "tools/sst/sst_masks.hpp"

#include "transit86/cpu_state.hpp"

namespace transit86::tools::sst {

namespace {

// The 80286 limits an instruction to 10 bytes (80286 PRM, real-mode interrupt 13).
constexpr size_t k286MaxInstructionLength = 10;

constexpr uint16_t kOF = flags::OF, kSF = flags::SF, kZF = flags::ZF, kAF = flags::AF,
                   kPF = flags::PF, kCF = flags::CF;

// The opcode byte after the prefixes and the ModRM reg field after it (if any).
struct Opcode {
    size_t at = 0; // index of the opcode byte in bytes
    uint8_t op = 0;
    std::optional<uint8_t> modrm;
    uint8_t reg() const { return static_cast<uint8_t>((*modrm >> 3) & 7); }
    bool memory_operand() const { return modrm && (*modrm >> 6) != 3; }
};

std::optional<Opcode> opcode_of(const Test& t) {
    const size_t at = prefix_length(t.bytes);
    if (at >= t.bytes.size()) return std::nullopt;
    Opcode o{.at = at, .op = t.bytes[at], .modrm = std::nullopt};
    if (at + 1 < t.bytes.size()) o.modrm = t.bytes[at + 1];
    return o;
}

// The instruction forms a 386+ accepts LOCK on (SDM Vol. 2A LOCK: ADD, ADC, AND, BTC, BTR,
// BTS, CMPXCHG, CMPXCHG8B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR, XADD, XCHG, and only with a
// memory destination); the 80286's instruction set has only the one-byte-opcode ones.
bool lockable_form(const Opcode& o) {
    if (!o.memory_operand()) return false;
    const uint8_t op = o.op;
    if (op < 0x40 && (op & 7) <= 1 && (op >> 3) != 7) return true;     // ADD..XOR r/m, r (not CMP)
    if (op >= 0x80 && op <= 0x83) return o.reg() != 7;                 // group 1 r/m, imm (not CMP)
    if (op == 0x86 || op == 0x87) return true;                         // XCHG r/m, r
    if (op == 0xF6 || op == 0xF7) return o.reg() == 2 || o.reg() == 3; // NOT, NEG
    if (op == 0xFE || op == 0xFF) return o.reg() <= 1;                 // INC, DEC
    return false;
}

bool has_lock_prefix(const Test& t, const Opcode& o) {
    for (size_t i = 0; i < o.at; ++i)
        if (t.bytes[i] == 0xF0) return true;
    return false;
}

// Group 2 (C0, C1, D0-D3): SDM SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR, "Flags Affected".
uint16_t shift_undefined_flags(const Test& t, const Opcode& o) {
    unsigned raw = 1;                                                    // D0, D1
    if (o.op == 0xC0 || o.op == 0xC1) raw = t.bytes[t.bytes.size() - 2]; // imm8, before HLT
    if (o.op == 0xD2 || o.op == 0xD3) raw = *t.initial[static_cast<int>(Reg::CX)] & 0xFF; // CL
    const unsigned count = raw & 0x1F; // the count is masked to 5 bits (80186 and later)
    if (count == 0) return 0;          // "If the count is 0, the flags are not affected"
    const unsigned width = (o.op & 1) ? 16 : 8;
    uint16_t undefined = count == 1 ? 0 : kOF; // OF is defined for 1-bit shifts/rotates only
    if (o.reg() >= 4) {                        // SHL, SHR, SAL (/6), SAR
        undefined |= kAF;                      // "For a non-zero count, the AF flag is undefined"
        // "CF ... is undefined for SHL and SHR instructions where the count is greater than or
        // equal to the size (in bits) of the destination operand."
        if (o.reg() != 7 && count >= width) undefined |= kCF;
    }
    return undefined;
}

} // namespace

std::optional<SkipMask> skip_mask_for(const Test& test) {
    // bytes = the instruction and the HLT the generator appended.
    if (test.bytes.size() - 1 > k286MaxInstructionLength) return SkipMask::InstructionLength;
    const auto o = opcode_of(test);
    if (!o) return std::nullopt;
    if (has_lock_prefix(test, *o) && !lockable_form(*o)) return SkipMask::LockPrefix;
    // 8C /r (MOV r/m16, Sreg) and 8E /r (MOV Sreg, r/m16) with reg = 4 or 5 name FS and GS on
    // a 386+; the 80286 has four segment registers and raises #UD (interrupt 6).
    if ((o->op == 0x8C || o->op == 0x8E) && o->modrm && (o->reg() == 4 || o->reg() == 5))
        return SkipMask::SegmentRegisterFsGs;
    return std::nullopt;
}

uint16_t sdm_undefined_flags(const Test& test) {
    const auto o = opcode_of(test);
    if (!o) return 0;
    const uint8_t op = o->op;
    // AND, OR, XOR, TEST: "The state of the AF flag is undefined."
    const bool logic =
        (op <= 0x35 && ((op >> 3) == 1 || (op >> 3) == 4 || (op >> 3) == 6) && (op & 7) <= 5) ||
        op == 0x84 || op == 0x85 || op == 0xA8 || op == 0xA9;
    if (logic) return kAF;
    switch (op) {
    case 0x27:
    case 0x2F: return kOF; // DAA, DAS
    case 0x37:
    case 0x3F: return kOF | kSF | kZF | kPF; // AAA, AAS
    case 0xD4:
    case 0xD5: return kOF | kAF | kCF; // AAM, AAD
    case 0x69:
    case 0x6B: return kSF | kZF | kAF | kPF; // IMUL r, r/m, imm
    default: break;
    }
    if (!o->modrm) return 0;
    const uint8_t reg = o->reg();
    switch (op) {
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83: // group 1: OR /1, AND /4, XOR /6
        return (reg == 1 || reg == 4 || reg == 6) ? kAF : 0;
    case 0xF6:
    case 0xF7:
        if (reg <= 1) return kAF;                               // TEST
        if (reg == 4 || reg == 5) return kSF | kZF | kAF | kPF; // MUL, IMUL
        if (reg >= 6) return kCF | kOF | kSF | kZF | kAF | kPF; // DIV, IDIV
        return 0;
    case 0xC0:
    case 0xC1:
    case 0xD0:
    case 0xD1:
    case 0xD2:
    case 0xD3: return shift_undefined_flags(test, *o);
    default: return 0;
    }
}

bool loads_flags_from_stack(const Test& test) {
    const auto o = opcode_of(test);
    return o && (o->op == 0x9D || o->op == 0xCF);
}

} // namespace transit86::tools::sst
