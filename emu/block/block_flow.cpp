// Block-engine handlers for control transfers and the stack: Jcc, JMP, CALL and RET near,
// LOOP/LOOPE/LOOPNE, JCXZ, PUSH and POP of a register, LEAVE, and the carry-flag instructions.
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

// Pushes a T (the operand size) onto SS:SP or SS:ESP. Inlined: a call costs about as much
// as a push through the stack's direct window.
template <class T>
[[gnu::always_inline]] inline bool push_value(BlockContext& c, T value) {
    const uint32_t sp = (stack_pointer(c) - uint32_t{sizeof(T)}) & c.stack_mask;
    uint8_t* p = host_at<T, true>(c, kSs, sp);
    if (!p) return false;
    store<T>(p, value);
    set_stack_pointer(c, sp);
    return true;
}

// The target of an indirect near branch: a register or a memory operand (`Memory`), with the
// operand size (SDM JMP/CALL: a 16-bit target is zero-extended into EIP).
template <class T, bool Memory>
bool indirect_target(BlockContext& c, const BlockOp& op, uint32_t& target) {
    T value;
    if (!read_source<T, Memory>(c, op, value)) return false;
    target = value;
    return target <= c.cs_limit;
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

// jcc rel, inside a block: a branch not taken goes on with the next operation; a taken one
// leaves the block there, with the instructions up to it retired.
template <uint8_t Cc>
bool jcc_through(BlockContext& c, const BlockOp& op) {
    if (!c.flags.condition(Cc)) {
        const BlockOp& next = (&op)[1];
        return next.handler(c, next);
    }
    if (op.imm > c.cs_limit) [[unlikely]] {
        c.stopped_at = &op;
        return false;
    }
    c.next_eip = op.imm;
    c.retired -= op.ops_after; // the run loop adds the block's op_count (modulo 2^64)
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

// jmp r/m16 ; jmp r/m32
template <class T, bool Memory>
bool jmp_indirect(BlockContext& c, const BlockOp& op) {
    uint32_t target;
    if (!indirect_target<T, Memory>(c, op, target)) return false;
    c.next_eip = target;
    return true;
}

// call r/m16 ; call r/m32 — the target is read before the return address (op.imm) is pushed
template <class T, bool Memory>
bool call_indirect(BlockContext& c, const BlockOp& op) {
    uint32_t target;
    if (!indirect_target<T, Memory>(c, op, target) || !push_value<T>(c, static_cast<T>(op.imm)))
        return false;
    c.next_eip = target;
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

// push imm16 ; push imm32 (imm8 sign-extended by the decoder)
template <class T>
bool push_immediate(BlockContext& c, const BlockOp& op) {
    return push_value<T>(c, static_cast<T>(op.imm));
}

// push m16 ; push m32 — the operand is read with ESP before the push (SDM PUSH)
template <class T>
bool push_memory(BlockContext& c, const BlockOp& op) {
    const uint8_t* p = host_address<T, false>(c, op);
    return p && push_value<T>(c, load<T>(p));
}

// pushf ; pushfd — the image has VM and RF clear (SDM PUSHF). Virtual-8086 mode (IOPL and
// CR4.VME decide) is left to the interpreter.
template <class T>
bool pushf(BlockContext& c, const BlockOp&) {
    if (c.eflags_fixed & flags::VM) return false;
    const uint32_t image = (c.eflags_fixed | c.flags.status()) & ~(flags::VM | flags::RF);
    return push_value<T>(c, static_cast<T>(image));
}

// popf ; popfd — only when the popped image differs from EFLAGS in status flags alone: then
// every mode and privilege level loads exactly those (SDM POPF: the status flags are always
// loaded). Anything else (IF, DF, TF, IOPL, ...) is the interpreter's, as it may open an
// interrupt window or trap.
template <class T>
bool popf(BlockContext& c, const BlockOp&) {
    if (c.eflags_fixed & flags::VM) return false;
    const uint32_t sp = stack_pointer(c);
    const uint8_t* p = host_at<T, false>(c, kSs, sp);
    if (!p) return false;
    const uint32_t image = load<T>(p);
    constexpr uint32_t width = sizeof(T) == 2 ? 0xFFFFu : ~0u;
    if ((image ^ c.eflags_fixed) & width & ~flags::Status) return false;
    set_stack_pointer(c, sp + uint32_t{sizeof(T)});
    c.flags = LazyFlags::from_eflags(image);
    return true;
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

// pop m16 ; pop m32 — the destination's address is computed with the stack pointer already
// moved (SDM POP); a destination that declines puts it back
template <class T>
bool pop_memory(BlockContext& c, const BlockOp& op) {
    const uint32_t sp = stack_pointer(c);
    const uint8_t* from = host_at<T, false>(c, kSs, sp);
    if (!from) return false;
    const T value = load<T>(from);
    const uint32_t esp = c.gpr[4];
    set_stack_pointer(c, sp + uint32_t{sizeof(T)});
    uint8_t* to = host_address<T, true>(c, op);
    if (!to) {
        c.gpr[4] = esp;
        return false;
    }
    store<T>(to, value);
    return true;
}

// push Sreg — the selector; a 32-bit push moves ESP by 4 and writes only the low 16 bits (P6
// and later, SDM PUSH, as the interpreter does); op.src is the Sreg
template <class T>
bool push_segment(BlockContext& c, const BlockOp& op) {
    const uint16_t selector = (*c.state)[static_cast<Seg>(op.src)].selector;
    const uint32_t sp = (stack_pointer(c) - uint32_t{sizeof(T)}) & c.stack_mask;
    uint8_t* p = host_at<uint16_t, true>(c, kSs, sp);
    if (!p) return false;
    store<uint16_t>(p, selector);
    set_stack_pointer(c, sp);
    return true;
}

// pop Sreg in real mode (DS, ES, FS, GS, SS; op.dst) — the low 16 bits of a T popped; the stack
// pointer moves by the stack it was read from (load_segment_real, block_operands.hpp)
template <class T>
bool pop_segment_real(BlockContext& c, const BlockOp& op) {
    if (!real_mode_loads(c)) return false;
    const uint32_t sp = stack_pointer(c);
    const uint8_t* p = host_at<T, false>(c, kSs, sp);
    if (!p) return false;
    const auto selector = static_cast<uint16_t>(load<T>(p));
    set_stack_pointer(c, sp + uint32_t{sizeof(T)});
    load_segment_real(c, op, op.dst, selector);
    return true;
}

// pusha ; pushad — EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI; declines unless all
// eight stores fit below the stack pointer without wrapping (then none is made)
template <class T>
bool push_all(BlockContext& c, const BlockOp&) {
    constexpr uint32_t kBytes = 8 * sizeof(T);
    const uint32_t sp = stack_pointer(c);
    const uint32_t lo = (sp - kBytes) & c.stack_mask;
    if (lo > sp) return false; // wraps: left to the interpreter
    uint8_t* p = host_range_at(c, kSs, lo, kBytes, true);
    if (!p) return false;
    for (unsigned r = 0; r < 8; ++r) // EDI at the lowest address, EAX at the highest
        store<T>(p + (7 - r) * sizeof(T), get_reg<T>(c, static_cast<uint8_t>(r * 4)));
    set_stack_pointer(c, lo);
    return true;
}

// popa ; popad — EDI, ESI, EBP, (ESP skipped), EBX, EDX, ECX, EAX; declines unless all eight
// loads fit above the stack pointer without wrapping
template <class T>
bool pop_all(BlockContext& c, const BlockOp&) {
    constexpr uint32_t kBytes = 8 * sizeof(T);
    const uint32_t sp = stack_pointer(c);
    if (uint64_t{sp} + kBytes - 1 > c.stack_mask) return false; // wraps: the interpreter's
    const uint8_t* p = host_range_at(c, kSs, sp, kBytes, false);
    if (!p) return false;
    for (unsigned r = 0; r < 8; ++r)
        if (r != 4) set_reg<T>(c, static_cast<uint8_t>(r * 4), load<T>(p + (7 - r) * sizeof(T)));
    set_stack_pointer(c, sp + kBytes);
    return true;
}

// leave — (E)SP := (E)BP by the stack's address size, then POP (E)BP by the operand size
// (SDM LEAVE); a fault on the pop declines with nothing changed.
template <class T>
bool leave(BlockContext& c, const BlockOp&) {
    constexpr uint8_t kEbp = 5 * 4; // EBP's byte offset in the register file
    const uint32_t sp = c.gpr[5] & c.stack_mask;
    const uint8_t* p = host_at<T, false>(c, kSs, sp);
    if (!p) return false;
    set_stack_pointer(c, sp + uint32_t{sizeof(T)});
    set_reg<T>(c, kEbp, load<T>(p));
    return true;
}

// clc ; stc ; cmc
template <int Carry> // 0 clear, 1 set, -1 complement
bool set_carry(BlockContext& c, const BlockOp&) {
    const bool carry = Carry < 0 ? !c.flags.cf() : Carry == 1;
    if (carry != c.flags.cf()) c.flags.aux ^= LazyFlags::kCarryBits; // OF kept
    return true;
}

// cld ; std — EFLAGS.DF, and the direction of the string operations after it in the run
template <bool Down>
bool set_direction(BlockContext& c, const BlockOp&) {
    c.string_down = Down;
    c.eflags_fixed = Down ? c.eflags_fixed | flags::DF : c.eflags_fixed & ~flags::DF;
    c.state->eflags = Down ? c.state->eflags | flags::DF : c.state->eflags & ~flags::DF;
    return true;
}

// cli in real mode: IF = 0 (SDM CLI; IOPL and VME matter only in protected mode). The run loop
// leaves for an interrupt before the engine runs when IF = 1, so a cleared IF changes nothing
// it has looked at; the kvm profile does not read IF.
bool clear_interrupt_flag_real(BlockContext& c, const BlockOp&) {
    if (c.state->protected_mode()) return false;
    c.eflags_fixed &= ~flags::IF;
    c.state->eflags &= ~flags::IF;
    return true;
}

template <size_t... Cc>
constexpr auto make_jcc_table(std::index_sequence<Cc...>) {
    return std::array<Handler, sizeof...(Cc)>{chain<&jcc<static_cast<uint8_t>(Cc)>>...};
}
constexpr auto kJccHandlers = make_jcc_table(std::make_index_sequence<16>{});
template <size_t... Cc>
constexpr auto make_jcc_through_table(std::index_sequence<Cc...>) {
    return std::array<Handler, sizeof...(Cc)>{&jcc_through<static_cast<uint8_t>(Cc)>...};
}
constexpr auto kJccThroughHandlers = make_jcc_through_table(std::make_index_sequence<16>{});

Handler count_handler(Op op) {
    switch (op) {
    case Op::Loop: return chain<&count_branch<CountKind::Loop>>;
    case Op::Loope: return chain<&count_branch<CountKind::Loope>>;
    case Op::Loopne: return chain<&count_branch<CountKind::Loopne>>;
    default: return chain<&count_branch<CountKind::Jcxz>>;
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

// jmp r/m ; call r/m (near), the last operation of a block.
bool lower_indirect_branch(const decoder::Insn& insn, uint32_t next_eip, BlockOp& out,
                           bool& ends_block) {
    const decoder::Operand& a = insn.operands[0];
    const bool memory = a.kind == OperandKind::Mem;
    if (!memory && a.kind != OperandKind::Reg) return false;
    if (memory)
        lower_memory(insn, a, out);
    else
        out.src = register_byte_offset(a.reg, insn.operand_size);
    out.imm = next_eip; // the return address (out.disp is the displacement)
    const bool jump = insn.op == Op::Jmp;
    out.handler = by_stack_width(insn.operand_size, [=]<class T>(T) -> Handler {
        if (jump) return memory ? chain<&jmp_indirect<T, true>> : chain<&jmp_indirect<T, false>>;
        return memory ? chain<&call_indirect<T, true>> : chain<&call_indirect<T, false>>;
    });
    out.registers_only = jump && !memory;
    ends_block = true;
    return out.handler != nullptr;
}

} // namespace

Handler jcc_through_handler(uint8_t cc) {
    return kJccThroughHandlers[cc & 15];
}

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
        if (insn.operand_count != 1) return false;
        if (a.kind != OperandKind::Rel)
            return (insn.op == Op::Jmp || insn.op == Op::Call) &&
                   lower_indirect_branch(insn, next_eip, out, ends_block);
        out.imm = (next_eip + a.value) & ip_mask;
        out.disp = next_eip;
        out.address_mask = address_mask_of(insn);
        out.registers_only = insn.op != Op::Call;
        ends_block = true;
        switch (insn.op) {
        case Op::Jcc: out.handler = kJccHandlers[insn.cc & 15]; break;
        case Op::Jmp: out.handler = chain<&jmp>; break;
        case Op::Call:
            out.handler =
                by_stack_width(size, []<class T>(T) -> Handler { return chain<&call<T>>; });
            break;
        default: out.handler = count_handler(insn.op); break;
        }
        return out.handler != nullptr;
    case Op::Ret:
        if (insn.operand_count > 1 || (insn.operand_count == 1 && a.kind != OperandKind::Imm))
            return false;
        out.imm = insn.operand_count ? a.value & 0xFFFF : 0;
        out.handler = by_stack_width(size, []<class T>(T) -> Handler { return chain<&ret<T>>; });
        ends_block = true;
        return out.handler != nullptr;
    case Op::Pushf:
    case Op::Popf:
        out.handler =
            insn.op == Op::Pushf
                ? by_stack_width(size, []<class T>(T) -> Handler { return chain<&pushf<T>>; })
                : by_stack_width(size, []<class T>(T) -> Handler { return chain<&popf<T>>; });
        return out.handler != nullptr;
    case Op::Push:
        if (insn.operand_count == 1 && a.kind == OperandKind::Imm) {
            out.imm = a.value;
            out.handler = by_stack_width(
                size, []<class T>(T) -> Handler { return chain<&push_immediate<T>>; });
            return out.handler != nullptr;
        }
        if (insn.operand_count == 1 && a.kind == OperandKind::Mem) {
            lower_memory(insn, a, out);
            out.handler =
                by_stack_width(size, []<class T>(T) -> Handler { return chain<&push_memory<T>>; });
            return out.handler != nullptr;
        }
        [[fallthrough]];
    case Op::Pop:
        if (insn.operand_count == 1 && a.kind == OperandKind::Sreg) {
            if (a.reg > static_cast<uint8_t>(Seg::GS)) return false;
            if (insn.op == Op::Push) {
                out.src = a.reg;
                out.handler = by_stack_width(
                    size, []<class T>(T) -> Handler { return chain<&push_segment<T>>; });
                return out.handler != nullptr;
            }
            if (a.reg == static_cast<uint8_t>(Seg::CS)) return false;
            out.dst = a.reg;
            out.handler = by_stack_width(
                size, []<class T>(T) -> Handler { return chain<&pop_segment_real<T>>; });
            return out.handler != nullptr;
        }
        if (insn.op == Op::Pop && insn.operand_count == 1 && a.kind == OperandKind::Mem) {
            lower_memory(insn, a, out);
            out.handler =
                by_stack_width(size, []<class T>(T) -> Handler { return chain<&pop_memory<T>>; });
            return out.handler != nullptr;
        }
        if (insn.operand_count != 1 || a.kind != OperandKind::Reg) return false;
        out.src = out.dst = register_byte_offset(a.reg, size);
        out.handler =
            insn.op == Op::Push
                ? by_stack_width(size, []<class T>(T) -> Handler { return chain<&push<T>>; })
                : by_stack_width(size, []<class T>(T) -> Handler { return chain<&pop<T>>; });
        return out.handler != nullptr;
    case Op::Leave:
        out.handler = by_stack_width(size, []<class T>(T) -> Handler { return chain<&leave<T>>; });
        return out.handler != nullptr;
    case Op::Pusha:
    case Op::Popa:
        out.handler =
            insn.op == Op::Pusha
                ? by_stack_width(size, []<class T>(T) -> Handler { return chain<&push_all<T>>; })
                : by_stack_width(size, []<class T>(T) -> Handler { return chain<&pop_all<T>>; });
        return out.handler != nullptr;
    case Op::Clc:
    case Op::Stc:
    case Op::Cmc:
        out.handler = insn.op == Op::Clc   ? chain<&set_carry<0>>
                      : insn.op == Op::Stc ? chain<&set_carry<1>>
                                           : chain<&set_carry<-1>>;
        out.registers_only = true;
        return true;
    case Op::Cld: out.handler = chain<&set_direction<false>>; return true;
    case Op::Std: out.handler = chain<&set_direction<true>>; return true;
    case Op::Cli: out.handler = chain<&clear_interrupt_flag_real>; return true;
    default: return false;
    }
}

} // namespace transit86::emu::block
