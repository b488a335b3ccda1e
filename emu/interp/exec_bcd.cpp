// BCD class: DAA, DAS, AAA, AAS, AAM, AAD — each follows the "Operation" section of its SDM
// page. Flags the SDM leaves undefined are computed as noted per handler.
#include "emu/cpu/alu.hpp"
#include "emu/interp/handlers.hpp"

namespace transit86::emu {

namespace {

uint8_t al(const Cpu& cpu) {
    return cpu.reg<uint8_t>(0);
}
uint8_t ah(const Cpu& cpu) {
    return cpu.reg<uint8_t>(4);
}

// daa ; das — OF undefined: cleared.
bool decimal_adjust(Cpu& cpu, bool subtract) {
    const uint8_t old_al = al(cpu);
    const bool old_cf = cpu.flag(flags::CF);
    uint8_t value = old_al;
    bool cf = false, af = false;
    if ((old_al & 0x0F) > 9 || cpu.flag(flags::AF)) {
        const unsigned adjusted = subtract ? old_al - 6u : old_al + 6u;
        value = static_cast<uint8_t>(adjusted);
        cf = old_cf || (adjusted > 0xFF); // carry or borrow out of AL
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        value = static_cast<uint8_t>(subtract ? value - 0x60 : value + 0x60);
        cf = true;
    } else if (!subtract) {
        cf = false; // SDM DAA: ELSE CF := 0 (DAS keeps the CF of the first step)
    }
    cpu.set_reg<uint8_t>(0, value);
    uint32_t f = flags_szp(value);
    if (cf) f |= flags::CF;
    if (af) f |= flags::AF;
    cpu.set_status(f);
    return true;
}

// aaa ; aas — OF/SF/ZF/PF undefined: set from AL as the result, OF cleared.
bool ascii_adjust(Cpu& cpu, bool subtract) {
    const bool adjust = (al(cpu) & 0x0F) > 9 || cpu.flag(flags::AF);
    if (adjust) {
        // SDM AAA: AX := AX + 106H; AAS: AX := AX - 6; AH := AH - 1 (the 386+ forms).
        uint16_t ax = cpu.reg<uint16_t>(0);
        ax = subtract ? static_cast<uint16_t>(ax - 6 - 0x100) : static_cast<uint16_t>(ax + 0x106);
        cpu.set_reg<uint16_t>(0, ax);
    }
    cpu.set_reg<uint8_t>(0, static_cast<uint8_t>(al(cpu) & 0x0F));
    uint32_t f = flags_szp(al(cpu));
    if (adjust) f |= flags::CF | flags::AF;
    cpu.set_status(f);
    return true;
}

} // namespace

bool exec_bcd(Cpu& cpu, const Insn& insn) {
    switch (insn.op) {
    case Op::Daa: return decimal_adjust(cpu, false); // daa
    case Op::Das: return decimal_adjust(cpu, true);  // das
    case Op::Aaa: return ascii_adjust(cpu, false);   // aaa
    case Op::Aas: return ascii_adjust(cpu, true);    // aas
    case Op::Aam: {                                  // aam imm8 — base 0 raises #DE
        const auto base = static_cast<uint8_t>(insn.operand_count ? insn.operands[0].value : 10);
        if (base == 0) return cpu.raise(vec::DE);
        const uint8_t value = al(cpu);
        cpu.set_reg<uint8_t>(4, static_cast<uint8_t>(value / base));
        cpu.set_reg<uint8_t>(0, static_cast<uint8_t>(value % base));
        cpu.set_status(flags_szp(al(cpu))); // OF/AF/CF undefined: cleared
        return true;
    }
    case Op::Aad: { // aad imm8
        const auto base = static_cast<uint8_t>(insn.operand_count ? insn.operands[0].value : 10);
        const auto value = static_cast<uint8_t>(al(cpu) + ah(cpu) * base);
        cpu.set_reg<uint16_t>(0, value);
        cpu.set_status(flags_szp(value));
        return true;
    }
    default: return cpu.unsupported("BCD operation");
    }
}

} // namespace transit86::emu
