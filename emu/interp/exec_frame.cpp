// High-level-language support (SDM Vol. 1 7.3.15: ENTER, LEAVE, BOUND) and XLAT.
#include "emu/interp/handlers.hpp"

namespace transit86::emu {

namespace {

// enter imm16, imm8 (SDM ENTER, "Operation", non-64-bit modes)
template <class T>
bool enter(Cpu& cpu, const Insn& insn) {
    const auto alloc = static_cast<uint16_t>(insn.operands[0].value);
    const uint32_t nesting = insn.operands[1].value % 32;
    const uint32_t stack_mask = cpu.stack32() ? ~0u : 0xFFFFu;
    const uint32_t old_esp = cpu.s[Gpr::ESP]; // a fault leaves ESP as it was
    const auto fail = [&] {
        cpu.s[Gpr::ESP] = old_esp;
        return false;
    };
    if (!cpu.push<T>(cpu.reg<T>(static_cast<uint8_t>(Gpr::EBP)))) return false;
    // FrameTemp is ESP for a 32-bit operand and SP for a 16-bit one, whatever the stack
    // size (SDM ENTER, Operation); the cast to T below keeps the width.
    const uint32_t frame = cpu.s[Gpr::ESP];
    if (nesting > 0) {
        uint32_t bp = cpu.s[Gpr::EBP] & stack_mask;
        for (uint32_t i = 1; i < nesting; ++i) {
            bp = (bp - uint32_t{sizeof(T)}) & stack_mask;
            T value;
            if (!cpu.read<T>(Seg::SS, bp, value) || !cpu.push<T>(value)) return fail();
        }
        if (!cpu.push<T>(static_cast<T>(frame))) return fail();
    }
    // The new stack top must be writable, by the segment and by paging: #SS or #PF when a
    // write at the final stack pointer would fault (SDM ENTER, Protected Mode Exceptions).
    const uint32_t new_sp = (cpu.stack_pointer() - alloc) & stack_mask;
    uint32_t linear;
    PhysicalAccess probe;
    if (alloc != 0 && (!cpu.linearize(Seg::SS, new_sp, 1, true, linear) ||
                       !cpu.translate(linear, 1, AccessKind::Write, Accessor::Program, probe)))
        return fail();
    cpu.set_reg<T>(static_cast<uint8_t>(Gpr::EBP), static_cast<T>(frame));
    cpu.set_stack_pointer(new_sp);
    return true;
}

// leave
template <class T>
bool leave(Cpu& cpu) {
    cpu.set_stack_pointer(cpu.s[Gpr::EBP]);
    T value;
    if (!cpu.pop<T>(value)) return false;
    cpu.set_reg<T>(static_cast<uint8_t>(Gpr::EBP), value);
    return true;
}

// bound r16, m16&16 ; bound r32, m32&32 — #BR when the signed index is out of range
template <class T>
bool bound(Cpu& cpu, const Insn& insn) {
    const Operand& bounds = insn.operands[1];
    if (bounds.kind != OperandKind::Mem) return cpu.raise(vec::UD);
    using S = std::make_signed_t<T>;
    const Address a = cpu.address_of(insn, bounds);
    T lower, upper;
    if (!cpu.read<T>(a.seg, a.offset, lower) ||
        !cpu.read<T>(a.seg, a.offset + uint32_t{sizeof(T)}, upper))
        return false;
    const auto index = static_cast<S>(cpu.reg<T>(insn.operands[0].reg));
    if (index < static_cast<S>(lower) || index > static_cast<S>(upper)) return cpu.raise(vec::BR);
    return true;
}

} // namespace

bool exec_frame(Cpu& cpu, const Insn& insn) {
    const uint8_t osz = insn.operand_size == 4 ? 4 : 2;
    switch (insn.op) {
    case Op::Enter: return by_width(osz, [&]<class T>(T) { return enter<T>(cpu, insn); });
    case Op::Leave: return by_width(osz, [&]<class T>(T) { return leave<T>(cpu); });
    case Op::Bound: return by_width(osz, [&]<class T>(T) { return bound<T>(cpu, insn); });
    case Op::Xlat: { // xlat m8 — AL := [seg:(E)BX + AL]
        uint32_t offset = cpu.s[Gpr::EBX] + cpu.reg<uint8_t>(0);
        if (insn.address_size == 2) offset &= 0xFFFF;
        uint8_t value;
        if (!cpu.read<uint8_t>(static_cast<Seg>(insn.segment), offset, value)) return false;
        cpu.set_reg<uint8_t>(0, value);
        return true;
    }
    default: return cpu.unsupported("frame operation");
    }
}

} // namespace transit86::emu
