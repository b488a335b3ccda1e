// FNSTENV, FLDENV, FNSAVE, FRSTOR: the x87 environment and state images in the four layouts
// of SDM Vol. 1 8.1.10 (Figures 8-9 to 8-12): 32- or 16-bit by the operand-size attribute,
// protected-mode or real-mode by the processor mode (virtual-8086 mode uses the real-mode
// layouts). The host's FNSAVE writes only the 32-bit protected-mode one, so these are built
// here; the reserved halves are written as the host writes them, all ones.
#include <cstring>

#include "emu/interp/handlers.hpp"
#include "emu/interp/x87.hpp"
#include "emu/interp/x87_host.hpp"

namespace transit86::emu {

using decoder::X87Op;

namespace {

struct Layout {
    bool wide;      // 32-bit: 28-byte environment; else 14 bytes
    bool real_mode; // real-address or virtual-8086 mode
    uint32_t environment_size() const { return wide ? 28 : 14; }
};

// The two-bit tags of FSTENV/FSAVE, derived from the registers (SDM Vol. 1 8.1.7).
uint16_t full_tag_word(const X87State& x87) {
    uint16_t tags = 0;
    for (unsigned i = 0; i < 8; ++i) {
        const unsigned tag = (x87.ftw & (1u << i)) ? x87_tag_of(x87.r[i]) : 3;
        tags |= static_cast<uint16_t>(tag << (2 * i));
    }
    return tags;
}

// Real-mode images hold 20-bit (16-bit format) or 32-bit linear pointers: selector * 16 +
// offset (Figures 8-10, 8-12).
uint32_t real_pointer(uint16_t selector, uint32_t offset) {
    return (uint32_t{selector} << 4) + offset;
}

void store_environment(const X87State& x87, Layout layout, uint8_t* image) {
    const uint32_t ip = layout.real_mode ? real_pointer(x87.fcs, x87.fip) : x87.fip;
    const uint32_t dp = layout.real_mode ? real_pointer(x87.fds, x87.fdp) : x87.fdp;
    const uint16_t fsw = normalized_fsw(x87.fsw, x87.fcw);
    if (!layout.wide) {
        put16(image + 0, x87.fcw);
        put16(image + 2, fsw);
        put16(image + 4, full_tag_word(x87));
        put16(image + 6, ip);
        put16(image + 10, dp);
        if (layout.real_mode) { // Figure 8-12: pointer bits 19:16 in 15:12, the opcode in 10:0
            put16(image + 8, ((ip >> 16) & 0xF) << 12 | x87.fop);
            put16(image + 12, ((dp >> 16) & 0xF) << 12);
        } else { // Figure 8-11
            put16(image + 8, x87.fcs);
            put16(image + 12, x87.fds);
        }
        return;
    }
    constexpr uint32_t kReservedHigh = 0xFFFF0000;
    put32(image + 0, kReservedHigh | x87.fcw);
    put32(image + 4, kReservedHigh | fsw);
    put32(image + 8, kReservedHigh | full_tag_word(x87));
    if (layout.real_mode) { // Figure 8-10: pointer bits 31:16 in 27:12, the opcode in 10:0
        put32(image + 12, kReservedHigh | (ip & 0xFFFF));
        put32(image + 16, (ip >> 16) << 12 | x87.fop);
        put32(image + 20, kReservedHigh | (dp & 0xFFFF));
        put32(image + 24, (dp >> 16) << 12);
    } else { // Figure 8-9
        put32(image + 12, ip);
        put32(image + 16, uint32_t{x87.fop} << 16 | x87.fcs);
        put32(image + 20, dp);
        put32(image + 24, kReservedHigh | x87.fds);
    }
}

void load_environment(X87State& x87, Layout layout, const uint8_t* image) {
    uint32_t tags;
    if (!layout.wide) {
        x87.fcw = static_cast<uint16_t>(get16(image + 0));
        x87.fsw = static_cast<uint16_t>(get16(image + 2));
        tags = get16(image + 4);
        if (layout.real_mode) {
            const uint32_t ip_high = get16(image + 8);
            x87.fip = get16(image + 6) | (ip_high >> 12) << 16;
            x87.fop = static_cast<uint16_t>(ip_high & 0x7FF);
            x87.fdp = get16(image + 10) | (get16(image + 12) >> 12) << 16;
        } else { // the 16-bit protected-mode image has no opcode field
            x87.fip = get16(image + 6);
            x87.fcs = static_cast<uint16_t>(get16(image + 8));
            x87.fdp = get16(image + 10);
            x87.fds = static_cast<uint16_t>(get16(image + 12));
            x87.fop = 0;
        }
    } else {
        x87.fcw = static_cast<uint16_t>(get32(image + 0));
        x87.fsw = static_cast<uint16_t>(get32(image + 4));
        tags = get32(image + 8) & 0xFFFF;
        if (layout.real_mode) {
            const uint32_t ip_high = get32(image + 16);
            x87.fip = (get32(image + 12) & 0xFFFF) | ((ip_high >> 12) & 0xFFFF) << 16;
            x87.fop = static_cast<uint16_t>(ip_high & 0x7FF);
            x87.fdp = (get32(image + 20) & 0xFFFF) | ((get32(image + 24) >> 12) & 0xFFFF) << 16;
        } else {
            x87.fip = get32(image + 12);
            const uint32_t selector_opcode = get32(image + 16);
            x87.fcs = static_cast<uint16_t>(selector_opcode);
            x87.fop = static_cast<uint16_t>((selector_opcode >> 16) & 0x7FF);
            x87.fdp = get32(image + 20);
            x87.fds = static_cast<uint16_t>(get32(image + 24));
        }
    }
    if (layout.real_mode) { // a real-mode image holds linear pointers: no selector to keep
        x87.fcs = 0;
        x87.fds = 0;
    }
    x87.ftw = abridged_tags(static_cast<uint16_t>(tags));
    x87.fsw = normalized_fsw(x87.fsw, x87.fcw);
}

// FNINIT's state (SDM FINIT/FNINIT "Operation"); the registers keep their contents.
void initialize(X87State& x87) {
    x87.fcw = 0x037F;
    x87.fsw = 0;
    x87.ftw = 0;
    x87.fip = x87.fdp = 0;
    x87.fcs = x87.fds = x87.fop = 0;
}

} // namespace

bool exec_x87_environment(Cpu& cpu, const Insn& insn, const Operand& memory) {
    const X87Op op = insn.x87;
    const bool state = op == X87Op::Fnsave || op == X87Op::Frstor;
    // Zydis sizes the operand by the operand-size attribute: 14/94 bytes for 16 bits, 28/108
    // for 32.
    const Layout layout{.wide = memory.size == 28 || memory.size == 108,
                        .real_mode = !cpu.s.protected_mode() || cpu.s.v86()};
    const uint32_t size = layout.environment_size() + (state ? 80 : 0);
    const Address at = cpu.address_of(insn, memory);
    uint8_t image[108] = {};
    X87State x87 = cpu.s.x87;
    switch (op) {
    case X87Op::Fnstenv: // fnstenv m14/28byte: then every exception is masked (SDM FSTENV)
    case X87Op::Fnsave:  // fnsave m94/108byte: then the FPU is initialised (SDM FSAVE)
        store_environment(x87, layout, image);
        if (state)
            for (unsigned i = 0; i < 8; ++i)
                put_register(image + layout.environment_size() + 10 * i, x87.st(i));
        if (!write_guest_bytes(cpu, at, image, size)) return false;
        if (state) {
            initialize(x87);
        } else {
            x87.fcw |= fsw::Exceptions;
            x87.fsw = normalized_fsw(x87.fsw, x87.fcw);
        }
        break;
    case X87Op::Fldenv: // fldenv m14/28byte
    case X87Op::Frstor: // frstor m94/108byte: the registers in stack order after the image
        if (!read_guest_bytes(cpu, at, image, size)) return false;
        load_environment(x87, layout, image);
        if (state)
            for (unsigned i = 0; i < 8; ++i)
                x87.st(i) = get_register(image + layout.environment_size() + 10 * i);
        break;
    default: return cpu.unsupported("not an x87 environment instruction");
    }
    cpu.s.x87 = x87;
    return true;
}

} // namespace transit86::emu
