// Block-engine handlers for control transfers and the stack: Jcc, JMP, CALL and RET near,
// LOOP/LOOPE/LOOPNE, JCXZ, PUSH and POP of a register, and the carry-flag instructions.
// Semantics are the interpreter's (exec_control.cpp, exec_data.cpp). A control transfer is the
// last operation of its block and sets BlockContext::next_eip; a target beyond the CS limit
// declines, and the interpreter raises the #GP(0) before anything changes (SDM JMP, Jcc, CALL,
// RET, LOOP).
#include <array>
#include <utility>

#include "emu/block/block_operands.hpp"

namespace transit86::emu::block {

namespace {

using Handler = BlockOp::Handler;
using decoder::Op;
using decoder::OperandKind;

constexpr uint8_t kSs = 2; // Seg::SS

// SP or ESP by SS.B, and its update (the other half of ESP kept with a 16-bit stack).
uint32_t stack_pointer(const BlockContext& c) {
    return c.gpr[4] & c.stack_mask;
}
void set_stack_pointer(BlockContext& c, uint32_t sp) {
    c.gpr[4] = (c.gpr[4] & ~c.stack_mask) | (sp & c.stack_mask);
}

// Pushes a T (the operand size) onto SS:SP or SS:ESP.
template <class T>
bool push_value(BlockContext& c, T value) {
    const uint32_t sp = (stack_pointer(c) - uint32_t{sizeof(T)}) & c.stack_mask;
    uint8_t* p = host_at<T, true>(c, kSs, sp);
    if (!p) return false;
    store<T>(p, value);
    set_stack_pointer(c, sp);
    return true;
}

// jcc rel
template <uint8_t Cc>
bool jcc(BlockContext& c, const BlockOp& op) {
    if (!c.flags.condition(Cc)) {
        c.next_eip = op.disp;
        return true;
    }
    if (op.imm > c.cs_limit) return false;
    c.next_eip = op.imm;
    return true;
}

// jmp rel
bool jmp(BlockContext& c, const BlockOp& op) {
    if (op.imm > c.cs_limit) return false;
    c.next_eip = op.imm;
    return true;
}

// call rel16 ; call rel32 — the return address (op.disp) is pushed with the operand size
template <class T>
bool call(BlockContext& c, const BlockOp& op) {
    if (op.imm > c.cs_limit || !push_value<T>(c, static_cast<T>(op.disp))) return false;
    c.next_eip = op.imm;
    return true;
}

// ret ; ret imm16 — op.imm is the number of bytes released above the return address
template <class T>
bool ret(BlockContext& c, const BlockOp& op) {
    const uint32_t sp = stack_pointer(c);
    const uint8_t* p = host_at<T, false>(c, kSs, sp);
    if (!p) return false;
    const uint32_t target = load<T>(p); // T is the operand size: a 16-bit RET wraps to 64 KiB
    if (target > c.cs_limit) return false;
    set_stack_pointer(c, sp + uint32_t{sizeof(T)} + op.imm);
    c.next_eip = target;
    return true;
}

// loop rel8 ; loope rel8 ; loopne rel8 ; jcxz rel8 — the counter is CX or ECX by the address
// size (op.address_mask). The branch is checked before the counter changes.
enum class CountKind : uint8_t { Loop, Loope, Loopne, Jcxz };

template <CountKind K>
bool count_branch(BlockContext& c, const BlockOp& op) {
    const uint32_t count = c.gpr[1] & op.address_mask;
    bool taken;
    if constexpr (K == CountKind::Jcxz) {
        taken = count == 0;
    } else {
        taken = ((count - 1) & op.address_mask) != 0;
        if constexpr (K == CountKind::Loope) taken = taken && c.flags.zf();
        if constexpr (K == CountKind::Loopne) taken = taken && !c.flags.zf();
    }
    if (taken && op.imm > c.cs_limit) return false;
    if constexpr (K != CountKind::Jcxz)
        c.gpr[1] = (c.gpr[1] & ~op.address_mask) | ((count - 1) & op.address_mask);
    c.next_eip = taken ? op.imm : op.disp;
    return true;
}

// push r16 ; push r32 — PUSH ESP pushes the value before the push (SDM PUSH)
template <class T>
bool push(BlockContext& c, const BlockOp& op) {
    return push_value<T>(c, get_reg<T>(c, op.src));
}

// pop r16 ; pop r32 — the stack pointer moves first, so POP ESP loads the popped value
template <class T>
bool pop(BlockContext& c, const BlockOp& op) {
    const uint32_t sp = stack_pointer(c);
    const uint8_t* p = host_at<T, false>(c, kSs, sp);
    if (!p) return false;
    const T value = load<T>(p);
    set_stack_pointer(c, sp + uint32_t{sizeof(T)});
    set_reg<T>(c, op.dst, value);
    return true;
}

// clc ; stc ; cmc
template <int Carry> // 0 clear, 1 set, -1 complement
bool set_carry(BlockContext& c, const BlockOp&) {
    const bool carry = Carry < 0 ? !c.flags.cf() : Carry == 1;
    if (carry != c.flags.cf()) c.flags.aux ^= LazyFlags::kCarryBits; // OF kept
    return true;
}

template <size_t... Cc>
constexpr auto make_jcc_table(std::index_sequence<Cc...>) {
    return std::array<Handler, sizeof...(Cc)>{&jcc<static_cast<uint8_t>(Cc)>...};
}
constexpr auto kJccHandlers = make_jcc_table(std::make_index_sequence<16>{});

Handler count_handler(Op op) {
    switch (op) {
    case Op::Loop: return &count_branch<CountKind::Loop>;
    case Op::Loope: return &count_branch<CountKind::Loope>;
    case Op::Loopne: return &count_branch<CountKind::Loopne>;
    default: return &count_branch<CountKind::Jcxz>;
    }
}

// Stack forms move 2 or 4 bytes (a PUSH/POP has no byte form).
template <class Pick>
Handler by_stack_width(uint8_t size, Pick pick) {
    switch (size) {
    case 2: return pick(uint16_t{});
    case 4: return pick(uint32_t{});
    default: return nullptr;
    }
}

} // namespace

bool lower_flow_op(const decoder::Insn& insn, uint32_t eip, BlockOp& out, bool& ends_block) {
    const uint8_t size = insn.operand_size;
    const decoder::Operand& a = insn.operands[0];
    const uint32_t next_eip = eip + insn.length;
    // Relative targets wrap to the operand size (SDM Jcc, JMP, CALL: EIP AND 0000FFFFH).
    const uint32_t ip_mask = size == 4 ? ~0u : 0xFFFFu;
    switch (insn.op) {
    case Op::Jcc:
    case Op::Jmp:
    case Op::Call:
    case Op::Loop:
    case Op::Loope:
    case Op::Loopne:
    case Op::Jcxz:
        if (insn.operand_count != 1 || a.kind != OperandKind::Rel) return false;
        out.imm = (next_eip + a.value) & ip_mask;
        out.disp = next_eip;
        out.address_mask = address_mask_of(insn);
        out.registers_only = insn.op != Op::Call;
        ends_block = true;
        switch (insn.op) {
        case Op::Jcc: out.handler = kJccHandlers[insn.cc & 15]; break;
        case Op::Jmp: out.handler = &jmp; break;
        case Op::Call:
            out.handler = by_stack_width(size, []<class T>(T) -> Handler { return &call<T>; });
            break;
        default: out.handler = count_handler(insn.op); break;
        }
        return out.handler != nullptr;
    case Op::Ret:
        if (insn.operand_count > 1 || (insn.operand_count == 1 && a.kind != OperandKind::Imm))
            return false;
        out.imm = insn.operand_count ? a.value & 0xFFFF : 0;
        out.handler = by_stack_width(size, []<class T>(T) -> Handler { return &ret<T>; });
        ends_block = true;
        return out.handler != nullptr;
    case Op::Push:
    case Op::Pop:
        if (insn.operand_count != 1 || a.kind != OperandKind::Reg) return false;
        out.src = out.dst = register_byte_offset(a.reg, size);
        out.handler = insn.op == Op::Push
                          ? by_stack_width(size, []<class T>(T) -> Handler { return &push<T>; })
                          : by_stack_width(size, []<class T>(T) -> Handler { return &pop<T>; });
        return out.handler != nullptr;
    case Op::Clc:
    case Op::Stc:
    case Op::Cmc:
        out.handler = insn.op == Op::Clc   ? &set_carry<0>
                      : insn.op == Op::Stc ? &set_carry<1>
                                           : &set_carry<-1>;
        out.registers_only = true;
        return true;
    default: return false;
    }
}

} // namespace transit86::emu::block
