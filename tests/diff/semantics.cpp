#include "diff/semantics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace transit86::diff {

namespace {

using decoder::Insn;
using decoder::Op;
using decoder::Operand;
using decoder::OperandKind;

constexpr uint32_t size_mask(uint32_t bytes) {
    return bytes >= 4 ? 0xFFFFFFFFu : (1u << (8 * bytes)) - 1;
}

// A GPR operand's value; size 1 uses the AL..BH order of the ModRM reg field.
uint32_t register_value(const CpuState& s, uint8_t reg, uint8_t size) {
    if (size == 1) return reg < 4 ? s.gpr[reg] & 0xFF : (s.gpr[reg - 4] >> 8) & 0xFF;
    return s.gpr[reg] & size_mask(size);
}

// The bits of the GPR a register operand names (for undefined-result masks).
void mark_register(Undefined& u, uint8_t reg, uint8_t size) {
    if (size == 1) {
        if (reg < 4)
            u.gpr[reg] |= 0xFF;
        else
            u.gpr[reg - 4] |= 0xFF00;
        return;
    }
    u.gpr[reg] |= size_mask(size);
}

uint32_t offset_of(const CpuState& s, const Operand& m, uint8_t address_size) {
    uint32_t offset = m.value;
    if (m.base != decoder::kNoReg) offset += s.gpr[m.base];
    if (m.index != decoder::kNoReg) offset += s.gpr[m.index] * m.scale;
    return address_size == 2 ? offset & 0xFFFF : offset;
}

uint32_t linear_of(const CpuState& s, const Operand& m, uint8_t address_size) {
    return static_cast<uint32_t>(s.seg[m.segment].base + offset_of(s, m, address_size));
}

// An operand's value before the instruction, if it can be read (register, or memory in RAM).
bool operand_value(const CpuState& s, std::span<const uint8_t> ram, const Insn& insn,
                   const Operand& o, uint32_t& value) {
    if (o.kind == OperandKind::Reg) {
        value = register_value(s, o.reg, o.size);
        return true;
    }
    if (o.kind == OperandKind::Imm) {
        value = o.value;
        return true;
    }
    if (o.kind != OperandKind::Mem || o.size > 4) return false;
    const uint64_t linear = linear_of(s, o, insn.address_size);
    if (linear + o.size > ram.size()) return false;
    value = 0;
    std::memcpy(&value, &ram[linear], o.size);
    return true;
}

bool is_string(Op op) {
    return op == Op::Movs || op == Op::Cmps || op == Op::Stos || op == Op::Lods || op == Op::Scas;
}

bool is_stack_op(Op op) {
    switch (op) {
    case Op::Push:
    case Op::Pop:
    case Op::Pusha:
    case Op::Popa:
    case Op::Pushf:
    case Op::Popf:
    case Op::Call:
    case Op::Ret:
    case Op::Enter:
    case Op::Leave: return true;
    default: return false;
    }
}

bool has_sreg_operand(const Insn& insn) {
    for (int i = 0; i < insn.operand_count; ++i)
        if (insn.operands[i].kind == OperandKind::Sreg) return true;
    return false;
}

// Flags a shift or rotate by CL leaves undefined for the count CL holds (the rules decoder/
// flags.cpp applies to immediate counts; SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR,
// SHLD, SHRD "Flags Affected").
void refine_cl_count(const Insn& insn, uint32_t cl, Undefined& u) {
    const uint32_t masked = cl & 0x1F;
    if (masked == 0) {
        u.eflags = 0; // no flags are affected
        return;
    }
    if (masked == 1) u.eflags &= ~flags::OF;
    const uint32_t width = 8u * insn.operand_size;
    if ((insn.op == Op::Shl || insn.op == Op::Shr) && masked >= width) u.eflags |= flags::CF;
    if ((insn.op == Op::Shld || insn.op == Op::Shrd) && masked > width) u.eflags |= flags::Status;
}

} // namespace

decoder::FetchMode fetch_mode(const CpuState& s) {
    return {.protected_mode = s.protected_mode(),
            .code32 = ar::db(s[Seg::CS].access_rights),
            .v86 = s.v86()};
}

Fetched fetch(const CpuState& s, std::span<const uint8_t> ram) {
    Fetched f;
    f.linear = static_cast<uint32_t>(s[Seg::CS].base + s.eip);
    if (f.linear >= ram.size()) return f;
    const auto available = static_cast<uint8_t>(std::min<uint64_t>(15, ram.size() - f.linear));
    std::memcpy(f.bytes.data(), &ram[f.linear], available);
    f.status = decoder::decode(f.bytes.data(), available, fetch_mode(s), f.insn);
    f.length = f.status == decoder::DecodeStatus::Ok ? f.insn.length : available;
    return f;
}

std::string describe(const Fetched& f, const CpuState& s) {
    std::string hex;
    for (uint8_t i = 0; i < f.length; ++i)
        hex += fmt::format("{}{:02x}", i ? " " : "", f.bytes[i]);
    const std::string text = decoder::disassemble(f.bytes.data(), f.length, fetch_mode(s), s.eip);
    const std::string where = s.protected_mode()
                                  ? fmt::format("{:08x}", s.eip)
                                  : fmt::format("{:04x}:{:04x}", s[Seg::CS].selector, s.eip);
    return fmt::format("{}  {:<20} {}", where, hex, text);
}

bool allowed(const Insn& insn, Mode mode) {
    const bool real = mode == Mode::Real;
    switch (insn.op) {
    case Op::Add:
    case Op::Or:
    case Op::Adc:
    case Op::Sbb:
    case Op::And:
    case Op::Sub:
    case Op::Xor:
    case Op::Cmp:
    case Op::Test:
    case Op::Inc:
    case Op::Dec:
    case Op::Neg:
    case Op::Not:
    case Op::Mul:
    case Op::Imul:
    case Op::Div:
    case Op::Idiv:
    case Op::Daa:
    case Op::Das:
    case Op::Aaa:
    case Op::Aas:
    case Op::Aam:
    case Op::Aad:
    case Op::Rol:
    case Op::Ror:
    case Op::Rcl:
    case Op::Rcr:
    case Op::Shl:
    case Op::Shr:
    case Op::Sar:
    case Op::Shld:
    case Op::Shrd:
    case Op::Bt:
    case Op::Bts:
    case Op::Btr:
    case Op::Btc:
    case Op::Bsf:
    case Op::Bsr:
    case Op::Mov:
    case Op::MovFromSreg:
    case Op::Movzx:
    case Op::Movsx:
    case Op::Lea:
    case Op::Xchg:
    case Op::Xlat:
    case Op::Cmovcc:
    case Op::Setcc:
    case Op::Cmpxchg:
    case Op::Cmpxchg8b:
    case Op::Xadd:
    case Op::Cbw:
    case Op::Cwd:
    case Op::Pusha:
    case Op::Popa:
    case Op::Pushf:
    case Op::Popf:
    case Op::Lahf:
    case Op::Sahf:
    case Op::Salc:
    case Op::Enter:
    case Op::Leave:
    case Op::Bound:
    case Op::Jmp:
    case Op::Jcc:
    case Op::Call:
    case Op::Ret:
    case Op::Loop:
    case Op::Loope:
    case Op::Loopne:
    case Op::Jcxz:
    case Op::Clc:
    case Op::Stc:
    case Op::Cmc:
    case Op::Cld:
    case Op::Std:
    case Op::Cli:
    case Op::Sti:
    case Op::Movs:
    case Op::Cmps:
    case Op::Stos:
    case Op::Lods:
    case Op::Scas:
    case Op::Nop:
    case Op::Ud2: return true;
    // BSWAP of a 16-bit register is undefined (SDM Vol. 2A BSWAP).
    case Op::Bswap: return insn.operand_size == 4;
    case Op::Push: return true;
    // Segment loads: in protected mode a random selector only tests #GP; left out there.
    case Op::Pop: return real || !has_sreg_operand(insn);
    case Op::MovToSreg:
    case Op::Lds:
    case Op::Les:
    case Op::Lfs:
    case Op::Lgs:
    case Op::Lss: return real;
    default: return false; // I/O, HLT, INT, far transfers, system and x87 instructions
    }
}

const char* gate(const Fetched& f, const CpuState& s, std::span<const uint8_t> ram, Mode mode) {
    if (f.status != decoder::DecodeStatus::Ok) return "next bytes do not decode";
    const Insn& insn = f.insn;
    if (!allowed(insn, mode)) return "next instruction outside the allowed set";
    if (mode == Mode::Real && uint64_t{s.eip} + insn.length - 1 > s[Seg::CS].limit)
        return "next instruction crosses the CS limit";
    if (is_string(insn.op) && (insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne))) {
        const uint32_t count = s.gpr[1] & size_mask(insn.address_size);
        if (count > kMaxRepCount) return "REP count above the limit";
    }
    if (insn.op == Op::Popf) {
        const bool big = ar::db(s[Seg::SS].access_rights);
        const uint32_t sp = big ? s.gpr[4] : s.gpr[4] & 0xFFFF;
        const uint64_t at = (s[Seg::SS].base + sp) & 0xFFFFFFFF;
        if (at + 2 <= ram.size() && (ram[at + 1] & 1) != 0) return "POPF would set TF";
    }
    return nullptr;
}

Undefined undefined_results(const Fetched& f, const CpuState& before,
                            std::span<const uint8_t> ram) {
    const Insn& insn = f.insn;
    Undefined u;
    u.eflags = insn.undefined_flags;
    const bool shift = insn.op == Op::Rol || insn.op == Op::Ror || insn.op == Op::Rcl ||
                       insn.op == Op::Rcr || insn.op == Op::Shl || insn.op == Op::Shr ||
                       insn.op == Op::Sar || insn.op == Op::Shld || insn.op == Op::Shrd;
    if (shift && insn.operand_count >= 2) {
        const Operand& count = insn.operands[insn.operand_count - 1];
        if (count.kind == OperandKind::Reg) refine_cl_count(insn, before.gpr[1] & 0xFF, u);
        uint32_t n = 0;
        operand_value(before, ram, insn, count, n);
        // SHLD/SHRD: "If the count is greater than the operand size, the result is undefined."
        const Operand& dest = insn.operands[0];
        if ((insn.op == Op::Shld || insn.op == Op::Shrd) && (n & 0x1F) > 8u * insn.operand_size) {
            if (dest.kind == OperandKind::Reg) mark_register(u, dest.reg, dest.size);
            if (dest.kind == OperandKind::Mem) {
                u.mem_linear = linear_of(before, dest, insn.address_size);
                u.mem_size = dest.size;
            }
        }
    }
    // PUSH Sreg with a 32-bit operand size: "either a zero-extended value is pushed on the
    // stack or the segment selector is written on the stack using a 16-bit move" (SDM Vol. 2B
    // PUSH): the upper two bytes of the slot are implementation-specific.
    if (insn.op == Op::Push && insn.operand_size == 4 && insn.operand_count == 1 &&
        insn.operands[0].kind == OperandKind::Sreg) {
        const bool big = ar::db(before[Seg::SS].access_rights);
        const uint32_t slot = (before.gpr[4] - 4) & (big ? 0xFFFFFFFFu : 0xFFFFu);
        u.mem_linear = (before[Seg::SS].base + slot + 2) & 0xFFFFFFFF;
        u.mem_size = 2;
    }
    // BSF/BSR: "If the content of the source operand is 0, the content of the destination
    // operand is undefined." (SDM Vol. 2A)
    if ((insn.op == Op::Bsf || insn.op == Op::Bsr) && insn.operand_count == 2) {
        uint32_t source = 1;
        if (operand_value(before, ram, insn, insn.operands[1], source) && source == 0)
            mark_register(u, insn.operands[0].reg, insn.operands[0].size);
    }
    return u;
}

bool may_cross_limit(const Insn& insn, const CpuState& before) {
    // Offsets within 16 bytes of either end of their range (a pointer about to wrap).
    auto near_end = [](uint32_t offset, uint32_t range_mask) {
        return offset < 0x10 || offset > range_mask - 0x10;
    };
    for (int i = 0; i < insn.operand_count; ++i) {
        const Operand& o = insn.operands[i];
        if (o.kind != OperandKind::Mem || insn.op == Op::Lea || insn.op == Op::Nop) continue;
        uint32_t size = std::max<uint32_t>(o.size, 1);
        if (insn.op == Op::Bound) size = 2u * insn.operand_size;
        uint64_t offset = offset_of(before, o, insn.address_size);
        // BT* with a register bit offset address the bit string beyond the operand (SDM Vol. 1
        // 3.4.3.4): signed offset / operand width, in operand-size units.
        const bool bit_string =
            insn.op == Op::Bt || insn.op == Op::Bts || insn.op == Op::Btr || insn.op == Op::Btc;
        if (bit_string && i == 0 && insn.operands[1].kind == OperandKind::Reg) {
            const uint32_t bits = register_value(before, insn.operands[1].reg, o.size);
            const int64_t index =
                o.size == 2 ? static_cast<int16_t>(bits) : static_cast<int32_t>(bits);
            const int64_t width = 8 * int64_t{o.size};
            const int64_t units = index >= 0 ? index / width : -((-index + width - 1) / width);
            offset =
                (offset + static_cast<uint64_t>(units * o.size)) & size_mask(insn.address_size);
        }
        if (offset + size - 1 > before.seg[o.segment].limit) return true;
    }
    // A near transfer with a 32-bit operand size can load an EIP past a 64 KiB CS limit.
    const bool transfer = insn.op == Op::Jmp || insn.op == Op::Call || insn.op == Op::Ret ||
                          insn.op == Op::Jcc || insn.op == Op::Loop || insn.op == Op::Loope ||
                          insn.op == Op::Loopne || insn.op == Op::Jcxz;
    if (transfer && insn.operand_size == 4 && before[Seg::CS].limit < 0xFFFFFFFF) return true;
    const uint32_t mask = size_mask(insn.address_size);
    if (is_string(insn.op) || insn.op == Op::Xlat) {
        const uint32_t si = before.gpr[6] & mask, di = before.gpr[7] & mask;
        const uint64_t bx = uint64_t{before.gpr[3] & mask} + (before.gpr[0] & 0xFF);
        const uint32_t limit = std::min(before.seg[insn.segment].limit, before[Seg::ES].limit);
        if (near_end(si, mask) || near_end(di, mask) || si > limit - 4 || di > limit - 4 ||
            bx > limit)
            return true;
        // The whole range a REP instruction walks, down when DF = 1.
        const bool rep = (insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne)) != 0;
        const uint64_t count = rep ? std::max<uint32_t>(before.gpr[1] & mask, 1) : 1;
        const uint64_t span = count * insn.operand_size;
        const bool down = (before.eflags & flags::DF) != 0;
        for (const uint32_t p : {si, di})
            if (down ? p + 1 < span : p + span - 1 > limit) return true;
    }
    if (is_stack_op(insn.op)) {
        const uint32_t stack_mask = ar::db(before[Seg::SS].access_rights) ? 0xFFFFFFFF : 0xFFFF;
        const uint32_t sp = before.gpr[4] & stack_mask, bp = before.gpr[5] & stack_mask;
        const bool frame = insn.op == Op::Leave || insn.op == Op::Enter;
        if (near_end(sp, stack_mask) || (frame && near_end(bp, stack_mask))) return true;
        // PUSHA/POPA move eight registers.
        const uint32_t all = 8u * insn.operand_size;
        if ((insn.op == Op::Pusha && sp < all) || (insn.op == Op::Popa && sp > stack_mask - all))
            return true;
        // ENTER with a nesting level reads the enclosing frame pointers below BP.
        if (insn.op == Op::Enter && insn.operand_count == 2) {
            const uint32_t level = insn.operands[1].value & 31;
            if (bp < level * insn.operand_size + 0x10 || sp < level * insn.operand_size + 0x10)
                return true;
        }
        if (sp > before[Seg::SS].limit - 0x10) return true;
    }
    return false;
}

} // namespace transit86::diff
