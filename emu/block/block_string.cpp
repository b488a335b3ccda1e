// Block-engine handlers for one iteration of a string instruction: MOVS, STOS, LODS, CMPS and
// SCAS without a REP prefix (a REP runs in the interpreter, which stops and resumes it in
// chunks). Semantics are exec_string.cpp's: the source is seg:SI/ESI with seg DS or the
// override, the destination ES:DI/EDI; both pointers are used and stepped under the address
// size, by the operand size, downwards when EFLAGS.DF = 1 (SDM MOVS/STOS/LODS/CMPS/SCAS).
#include "emu/block/block_operands.hpp"

namespace transit86::emu::block {

namespace {

using Handler = BlockOp::Handler;
using decoder::Op;

constexpr uint8_t kEs = 0; // Seg::ES
constexpr uint8_t kEsi = 6, kEdi = 7;

enum class StringKind : uint8_t { Movs, Stos, Lods, Cmps, Scas };

template <class T>
void step_index(BlockContext& c, const BlockOp& op, uint8_t reg) {
    const uint32_t delta = c.string_down ? 0u - uint32_t{sizeof(T)} : uint32_t{sizeof(T)};
    c.gpr[reg] = (c.gpr[reg] & ~op.address_mask) | ((c.gpr[reg] + delta) & op.address_mask);
}

// movs m, m ; stos m ; lods m ; cmps m, m ; scas m
template <class T, StringKind K>
bool string_once(BlockContext& c, const BlockOp& op) {
    constexpr bool reads_source =
        K == StringKind::Movs || K == StringKind::Lods || K == StringKind::Cmps;
    constexpr bool uses_destination = K != StringKind::Lods;
    const uint8_t* source = nullptr;
    uint8_t* destination = nullptr;
    if constexpr (reads_source) {
        source = host_at<T, false>(c, op.seg, c.gpr[kEsi] & op.address_mask);
        if (!source) return false;
    }
    if constexpr (uses_destination) {
        constexpr bool writes = K == StringKind::Movs || K == StringKind::Stos;
        destination = host_at<T, writes>(c, kEs, c.gpr[kEdi] & op.address_mask);
        if (!destination) return false;
    }
    if constexpr (K == StringKind::Movs) store<T>(destination, load<T>(source));
    if constexpr (K == StringKind::Stos) store<T>(destination, get_reg<T>(c, 0));
    if constexpr (K == StringKind::Lods) set_reg<T>(c, 0, load<T>(source));
    if constexpr (K == StringKind::Cmps || K == StringKind::Scas) {
        const T a = K == StringKind::Cmps ? load<T>(source) : get_reg<T>(c, 0);
        const T b = load<T>(destination);
        c.flags.set_sub<T>(a, b, static_cast<T>(a - b));
    }
    if constexpr (reads_source) step_index<T>(c, op, kEsi);
    if constexpr (uses_destination) step_index<T>(c, op, kEdi);
    return true;
}

template <StringKind K>
Handler string_handler(uint8_t size) {
    return by_width(size, []<class T>(T) -> Handler { return chain<&string_once<T, K>>; });
}

} // namespace

bool lower_string_op(const decoder::Insn& insn, BlockOp& out) {
    if (insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne)) return false;
    switch (insn.op) {
    case Op::Movs: out.handler = string_handler<StringKind::Movs>(insn.operand_size); break;
    case Op::Stos: out.handler = string_handler<StringKind::Stos>(insn.operand_size); break;
    case Op::Lods: out.handler = string_handler<StringKind::Lods>(insn.operand_size); break;
    case Op::Cmps: out.handler = string_handler<StringKind::Cmps>(insn.operand_size); break;
    case Op::Scas: out.handler = string_handler<StringKind::Scas>(insn.operand_size); break;
    default: return false;
    }
    out.seg = insn.segment;
    out.address_mask = address_mask_of(insn);
    return out.handler != nullptr;
}

} // namespace transit86::emu::block
