// Block-engine handlers for string instructions: one iteration of MOVS, STOS, LODS, CMPS and
// SCAS without a REP prefix, and REP MOVS / REP STOS of up to 1024 elements (a longer REP, and
// REP LODS/CMPS/SCAS, run in the interpreter, which stops and resumes them in chunks). Semantics
// are exec_string.cpp's: the source is seg:SI/ESI with seg DS or the override, the destination
// ES:DI/EDI; both pointers are used and stepped under the address size, by the operand size,
// downwards when EFLAGS.DF = 1 (SDM MOVS/STOS/LODS/CMPS/SCAS).
#include "emu/block/block_operands.hpp"

namespace transit86::emu::block {

namespace {

using Handler = BlockOp::Handler;
using decoder::Op;

constexpr uint8_t kEs = 0; // Seg::ES
constexpr uint8_t kEcx = 1, kEsi = 6, kEdi = 7;

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

// rep movs m, m ; rep stos m — a whole REP of at most 1024 elements, the most the interpreter
// runs in one step (exec_string.cpp stops every 1024 iterations, as KVM does, and each stop
// costs a unit of the budget): larger counts, and ranges that wrap, cross a segment limit, leave
// one RAM slot or overlap checked code, decline. Elements are copied one at a time in the
// direction of DF, so overlapping MOVS ranges repeat as on the processor (SDM MOVS, REP).
template <class T, StringKind K>
bool string_repeat(BlockContext& c, const BlockOp& op) {
    constexpr uint32_t kChunk = 1024;
    const uint32_t count = c.gpr[kEcx] & op.address_mask;
    if (count > kChunk) return false;
    if (count == 0) return true;
    const uint32_t bytes = count * uint32_t{sizeof(T)};
    // The lowest offset of a range that starts at `first`, or decline if it wraps.
    const auto lowest = [&](uint32_t first, uint32_t& lo) {
        const int64_t low = c.string_down ? int64_t{first} - (bytes - sizeof(T)) : int64_t{first};
        lo = static_cast<uint32_t>(low);
        return low >= 0 && uint64_t(low) + bytes - 1 <= op.address_mask;
    };
    uint32_t destination_lo, source_lo = 0;
    if (!lowest(c.gpr[kEdi] & op.address_mask, destination_lo)) return false;
    uint8_t* destination = host_range_at(c, kEs, destination_lo, bytes, true);
    if (!destination) return false;
    const uint8_t* source = nullptr;
    if constexpr (K == StringKind::Movs) {
        if (!lowest(c.gpr[kEsi] & op.address_mask, source_lo)) return false;
        source = host_range_at(c, op.seg, source_lo, bytes, false);
        if (!source) return false;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const uint32_t at = (c.string_down ? count - 1 - i : i) * uint32_t{sizeof(T)};
        if constexpr (K == StringKind::Movs) store<T>(destination + at, load<T>(source + at));
        if constexpr (K == StringKind::Stos) store<T>(destination + at, get_reg<T>(c, 0));
    }
    const uint32_t delta = c.string_down ? 0u - bytes : bytes;
    const auto advance = [&](uint8_t reg) {
        c.gpr[reg] = (c.gpr[reg] & ~op.address_mask) | ((c.gpr[reg] + delta) & op.address_mask);
    };
    if constexpr (K == StringKind::Movs) advance(kEsi);
    advance(kEdi);
    c.gpr[kEcx] &= ~op.address_mask;
    return true;
}

template <StringKind K>
Handler string_handler(uint8_t size) {
    return by_width(size, []<class T>(T) -> Handler { return chain<&string_once<T, K>>; });
}

} // namespace

bool lower_string_op(const decoder::Insn& insn, BlockOp& out) {
    if (insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne)) {
        // F2 and F3 both repeat MOVS and STOS (exec_string.cpp); REP LODS, CMPS and SCAS
        // are left to the interpreter.
        if (insn.op != Op::Movs && insn.op != Op::Stos) return false;
        const bool movs = insn.op == Op::Movs;
        out.handler = by_width(insn.operand_size, [movs]<class T>(T) -> Handler {
            return movs ? chain<&string_repeat<T, StringKind::Movs>>
                        : chain<&string_repeat<T, StringKind::Stos>>;
        });
        out.seg = insn.segment;
        out.address_mask = address_mask_of(insn);
        return out.handler != nullptr;
    }
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
