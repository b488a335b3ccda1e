// Operand access for the block engine's handlers (block_ops.cpp, block_flow.cpp): registers by
// byte offset, memory through a segment window into the RAM window. Every check that could
// fault declines instead (nullptr), leaving the instruction to the interpreter.
#pragma once

#include <cstring>

#include "emu/block/block_ops.hpp"

namespace transit86::emu::block {

template <class T>
T get_reg(const BlockContext& c, uint8_t at) {
    T v;
    std::memcpy(&v, reinterpret_cast<const uint8_t*>(c.gpr) + at, sizeof(T));
    return v;
}
// A byte or word write leaves the rest of the register alone, as on x86.
template <class T>
void set_reg(BlockContext& c, uint8_t at, T v) {
    std::memcpy(reinterpret_cast<uint8_t*>(c.gpr) + at, &v, sizeof(T));
}

// Offsets and SI/DI/CX wrap at 64 KiB with a 16-bit address size.
inline uint32_t address_mask_of(const decoder::Insn& insn) {
    return insn.address_size == 2 ? 0xFFFFu : ~0u;
}

// A memory operand's address: displacement, base and index as register slots, scale, segment.
inline void lower_memory(const decoder::Insn& insn, const decoder::Operand& m, BlockOp& out) {
    out.disp = m.value;
    out.base = m.base == decoder::kNoReg ? BlockContext::kZeroRegister : m.base;
    out.index = m.index == decoder::kNoReg ? BlockContext::kZeroRegister : m.index;
    out.scale_shift = static_cast<uint8_t>(m.scale == 8 ? 3 : m.scale == 4 ? 2 : m.scale == 2);
    out.seg = m.segment;
    out.address_mask = address_mask_of(insn);
}

inline uint32_t offset_of(const BlockContext& c, const BlockOp& op) {
    return (op.disp + c.gpr[op.base] + (c.gpr[op.index] << op.scale_shift)) & op.address_mask;
}

// Whether `n` bytes at `at` (linear address minus the window's guest-physical start: huge
// for an address below it) lie inside a window of `size` bytes; written so nothing wraps.
inline bool inside_window(uint64_t at, uint64_t n, uint64_t size) {
    return at < size && size - at >= n;
}

// Host bytes for [linear, linear + n), an access through `seg` that missed its window
// (BlockContext::data): the slot that holds them (under paging, their page) becomes the
// segment's; nullptr for MMIO, a range straddling two slots (pages), a write to a read-only
// slot, and under paging a TLB miss or an access the entry does not allow. block_engine.cpp.
uint8_t* data_slot_at(BlockContext& c, uint8_t seg, uint32_t linear, uint32_t n, bool write);

// Host bytes for [linear, linear + n) through `seg`'s window, moved by data_slot_at() on a
// miss; nullptr as there, and for a write into code checked in this epoch, compared by
// guest-physical address: under paging a store may reach the code through another linear
// address.
inline uint8_t* ram_at(BlockContext& c, uint8_t seg, uint32_t linear, uint32_t n, bool write) {
    const RamWindow& w = c.data[seg];
    uint64_t at = uint64_t{linear} - w.base;
    if (!inside_window(at, n, write ? w.write_size : w.size)) {
        if (!data_slot_at(c, seg, linear, n, write)) return nullptr;
        at = uint64_t{linear} - w.base;
    }
    const uint64_t physical = w.phys + at;
    if (write && physical + n > c.code_first && physical < c.code_end) return nullptr;
    return w.host + at;
}
// Computes c.seg[seg] on its first use in a run; false when it was already there.
bool load_segment_window(BlockContext& c, uint8_t seg);

// Widens the segment's direct window (BlockContext::direct_read / direct_write) to the
// largest range around an access of `n` bytes at `offset` that the checked path let through:
// everything that decided it holds for the whole range. block_engine.cpp.
void open_direct_window(BlockContext& c, uint8_t seg, uint32_t offset, uint32_t n, bool write);

// The host address of a T-sized access at seg:offset, or nullptr to decline: beyond the limit
// or of the wrong type (SDM Vol. 3A 5.3, 5.4), outside guest RAM or the TLB's translations, or
// (a write) into the code this epoch has checked (ram_at). A write-checked address is
// readable. The checked path, taken when the access is outside its segment's direct window;
// the window then opens around it.
template <class T, bool Write>
[[gnu::noinline]] uint8_t* host_at_checked(BlockContext& c, uint8_t seg, uint32_t offset) {
    load_segment_window(c, seg); // on the segment's first use in the run
    const SegmentWindow& s = c.seg[seg];
    if (int64_t{offset} + int64_t{sizeof(T) - 1} > (Write ? s.write_last : s.read_last))
        return nullptr;
    const uint32_t linear = s.base + offset; // wraps at 4 GiB as Cpu::linearize does
    uint8_t* host = ram_at(c, seg, linear, sizeof(T), Write);
    if (host) open_direct_window(c, seg, offset, sizeof(T), Write);
    return host;
}

// host_at_checked() with its answer kept per segment: most accesses fall in the direct window
// an earlier one opened, and take one comparison of each end.
template <class T, bool Write>
[[gnu::always_inline]] inline uint8_t* host_at(BlockContext& c, uint8_t seg, uint32_t offset) {
    const DirectWindow& d = Write ? c.direct_write[seg] : c.direct_read[seg];
    if (offset >= d.first && uint64_t{offset} + sizeof(T) <= d.end) [[likely]]
        return reinterpret_cast<uint8_t*>(d.host_bias + offset);
    return host_at_checked<T, Write>(c, seg, offset);
}

// The host address of `bytes` bytes from seg:lo (a REP string operation's whole range; the
// caller has made sure the offsets do not wrap), or nullptr to decline, as host_at().
inline uint8_t* host_range_at(BlockContext& c, uint8_t seg, uint32_t lo, uint32_t bytes,
                              bool write) {
    load_segment_window(c, seg); // no-op once loaded
    const SegmentWindow& s = c.seg[seg];
    if (int64_t{lo} + bytes - 1 > (write ? s.write_last : s.read_last)) return nullptr;
    const uint64_t linear = uint64_t{s.base} + lo;
    if (linear + bytes > (uint64_t{1} << 32)) return nullptr;
    return ram_at(c, seg, static_cast<uint32_t>(linear), bytes, write);
}

// The same for the instruction's memory operand.
template <class T, bool Write>
[[gnu::always_inline]] inline uint8_t* host_address(BlockContext& c, const BlockOp& op) {
    return host_at<T, Write>(c, op.seg, offset_of(c, op));
}

template <class T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}
template <class T>
void store(uint8_t* p, T v) {
    std::memcpy(p, &v, sizeof(T));
}

// The instruction's T-sized source operand: op.src's register, or its memory operand
// (`Memory`); false (decline) when the memory operand cannot be read here.
template <class T, bool Memory>
bool read_source(BlockContext& c, const BlockOp& op, T& value) {
    if constexpr (Memory) {
        const uint8_t* p = host_address<T, false>(c, op);
        if (!p) return false;
        value = load<T>(p);
    } else {
        value = get_reg<T>(c, op.src);
    }
    return true;
}

// Whether a real-mode segment load (MOV Sreg, POP Sreg) may run in this run of blocks
// (mov_to_sreg_real, block_ops.cpp): not in protected or virtual-8086 mode, not where the run
// loop watches for the state to become valid.
inline bool real_mode_loads(const BlockContext& c) {
    return c.segment_loads && !c.state->protected_mode();
}
// Loads data or stack segment `sreg` with `selector` in real mode for the operation `op` (its
// place in the block for MOV SS's interrupt shadow); the caller checked real_mode_loads().
void load_segment_real(BlockContext& c, const BlockOp& op, uint8_t sreg, uint16_t selector);

// Picks the handler for the operand width in bytes: pick(T{}) with T = uint8_t/16/32.
template <class Pick>
BlockOp::Handler by_width(uint8_t size, Pick pick) {
    switch (size) {
    case 1: return pick(uint8_t{});
    case 2: return pick(uint16_t{});
    case 4: return pick(uint32_t{});
    default: return nullptr;
    }
}

// AL..BH are bytes 0/1 of EAX..EBX; wider registers start at their own slot.
inline uint8_t register_byte_offset(uint8_t reg, uint8_t size) {
    if (size == 1 && reg >= 4) return static_cast<uint8_t>((reg - 4) * 4 + 1);
    return static_cast<uint8_t>(reg * 4);
}

// Control transfers and stack operations (block_flow.cpp): Jcc, JMP, CALL, RET, LOOP*, JCXZ,
// PUSH, POP (Sreg too), PUSHA, POPA, CLC, STC, CMC. False when `insn` is none of them or a form not
// translated.
bool lower_flow_op(const decoder::Insn& insn, uint32_t eip, BlockOp& out, bool& ends_block);
// For a Jcc lowered by lower_flow_op: the handler that lets the block go on with the next
// instruction when the branch is not taken, and leaves it (a side exit) when it is taken.
BlockOp::Handler jcc_through_handler(uint8_t cc);

// MOVS, STOS, LODS, CMPS, SCAS without a REP prefix (block_string.cpp). False otherwise.
bool lower_string_op(const decoder::Insn& insn, BlockOp& out);

// IN from a port with a steady value (block_io.cpp). False otherwise.
bool lower_io_op(const decoder::Insn& insn, BlockOp& out);

// Shifts and rotates, MUL/IMUL, NEG/NOT, SETcc, CMOVcc, CBW/CWD (block_arith.cpp). False
// otherwise.
bool lower_arith_op(const decoder::Insn& insn, BlockOp& out);

} // namespace transit86::emu::block
