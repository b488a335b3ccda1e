// The block engine: translation, the per-entry byte check and the block loop.
#include "emu/block/block_engine.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "decoder/decoder.hpp"
#include "emu/block/block_operands.hpp"
#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

namespace {

// The first of the two entries (ways) that may hold the block for (linear, mode). Two ways:
// with one, two blocks of a loop that hash alike evicted each other on every pass (SYSLINUX's
// idle loop, 0x8C24 in real mode and 0x1000A0 in 32-bit mode: 83,000 translations each in
// 60 M instructions).
uint32_t block_set(uint32_t linear, uint8_t mode) {
    return (linear ^ (linear >> 13) ^ (uint32_t{mode} << 10)) & (BlockEngine::kBlocks - 2);
}

// Eight bytes at a time; the last eight overlap the ones before rather than loop byte-wise.
bool same_bytes(const uint8_t* a, const uint8_t* b, uint32_t n) {
    if (n < 8) {
        for (uint32_t i = 0; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    uint64_t x, y;
    for (uint32_t i = 0; i + 8 <= n; i += 8) {
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        if (x != y) return false;
    }
    std::memcpy(&x, a + n - 8, 8);
    std::memcpy(&y, b + n - 8, 8);
    return x == y;
}

// Host bytes [linear, linear + n) in the context's RAM window, or nullptr.
const uint8_t* window_bytes(const BlockContext& c, uint32_t linear, uint32_t n) {
    const uint64_t at = uint64_t{linear} - c.ram.base;
    return block::inside_window(at, n, c.ram.size) ? c.ram.host + at : nullptr;
}

// The guest-physical address of the code byte at `linear` in the code window (without paging
// the two are equal); what the decode cache and the store check compare.
uint64_t code_physical(const BlockContext& c, uint32_t linear) {
    return c.ram.phys + (uint64_t{linear} - c.ram.base);
}

} // namespace

namespace block {

// Where writable slots alias, a store through one address may rewrite checked code at another,
// which the engine's store check (by address) cannot see: every store then declines, and the
// interpreter's written range (everything, GuestMemory::take_written) ends the epoch.
RamWindow window_of(const RamSlot& slot, const GuestMemory& memory) {
    return {.host = slot.host,
            .base = slot.guest_phys,
            .size = slot.size,
            .write_size = slot.read_only || memory.writes_may_alias() ? 0 : slot.size,
            .phys = slot.guest_phys};
}

// The page of `linear` as the TLB translates it for `kind`, or false: not cached, not allowed
// for that access by the current privilege level, or not a page of RAM. A page the entry
// lets this level write is writable in the window (unless slots alias, as window_of()).
bool page_window(const Tlb& tlb, const GuestMemory& memory, uint32_t linear, AccessKind kind,
                 bool user, RamWindow& out) {
    const TlbEntry* e = tlb.hit(linear, access_bit(kind, user));
    if (!e || !e->host) return false;
    const bool writable = e->host_write && (e->allow & access_bit(AccessKind::Write, user)) &&
                          !memory.writes_may_alias();
    out = {.host = e->host,
           .base = linear & Tlb::kPageMask,
           .size = Tlb::kPageSize,
           .write_size = writable ? Tlb::kPageSize : 0,
           .phys = e->frame};
    return true;
}

uint8_t* data_slot_at(BlockContext& c, uint8_t seg, uint32_t linear, uint32_t n, bool write) {
    RamWindow& w = c.data[seg];
    if (c.tlb) {
        if (!page_window(*c.tlb, *c.memory, linear, write ? AccessKind::Write : AccessKind::Read,
                         c.user, w))
            return nullptr;
    } else if (inside_window(uint64_t{linear} - c.ram.base, n, c.ram.size)) {
        w = c.ram;
    } else {
        const RamSlot* slot = c.memory->slot_containing(linear);
        if (!slot) return nullptr;
        w = window_of(*slot, *c.memory);
    }
    const uint64_t at = uint64_t{linear} - w.base;
    return inside_window(at, n, write ? w.write_size : w.size) ? w.host + at : nullptr;
}

void open_direct_window(BlockContext& c, uint8_t seg, uint32_t offset, uint32_t n, bool write) {
    const SegmentWindow& s = c.seg[seg];
    const RamWindow& w = c.data[seg];
    const uint64_t linear = uint64_t{s.base} + offset;
    // In linear addresses: the RAM window, below 4 GiB - 1 (no wrap, and the end fits 32
    // bits), and for a write the side of the checked code the access is on (the code's
    // guest-physical range as offsets into the window).
    uint64_t first = w.base;
    uint64_t end = std::min<uint64_t>(w.base + (write ? w.write_size : w.size), UINT32_MAX);
    if (write) {
        const uint64_t code_first = c.code_first > w.phys ? c.code_first - w.phys : 0;
        const uint64_t code_end = c.code_end > w.phys ? c.code_end - w.phys : 0;
        if (code_first < code_end) {
            if (linear - w.base + n <= code_first)
                end = std::min(end, w.base + code_first);
            else
                first = std::max(first, w.base + code_end);
        }
    }
    // In offsets: from 0 to the segment's last one.
    const auto segment_end = static_cast<uint64_t>(write ? s.write_last : s.read_last) + 1;
    first = first > s.base ? first - s.base : 0;
    end = end > s.base ? std::min(end - s.base, segment_end) : 0;
    if (offset < first || uint64_t{offset} + n > end) return; // wrapped at 4 GiB: none
    DirectWindow& d = write ? c.direct_write[seg] : c.direct_read[seg];
    d.host_bias = reinterpret_cast<uintptr_t>(w.host) - w.base + s.base;
    d.first = static_cast<uint32_t>(first);
    d.end = static_cast<uint32_t>(end);
}

bool load_segment_window(BlockContext& c, uint8_t seg) {
    const auto bit = static_cast<uint8_t>(1u << seg);
    if (c.seg_loaded & bit) return false;
    c.seg_loaded |= bit;
    c.seg[seg] = segment_window(*c.state, static_cast<Seg>(seg));
    return true;
}

} // namespace block

BlockEngine::Block BlockEngine::kUnlinked{}; // checked_in_run 0: no epoch's

void BlockEngine::translate(Block& b, const CpuState& state, const BlockContext& c, uint8_t mode) {
    const auto cs_base = static_cast<uint32_t>(state[Seg::CS].base);
    const decoder::FetchMode fetch{
        .protected_mode = (mode & 1) != 0, .code32 = (mode & 2) != 0, .v86 = (mode & 4) != 0};
    b.eip = state.eip;
    b.cs_base = cs_base;
    b.mode = mode;
    b.op_count = 0;
    b.length = 0;
    b.closed_loop = false;
    b.last_port_read = 0;
    b.successors[0] = b.successors[1] = &kUnlinked;
    bool registers_only = true;
    bool side_exits = false;
    bool ends_with_transfer = false;
    uint32_t eip = state.eip;
    uint32_t first_length = 1;
    while (b.op_count < kMaxOps && eip <= c.cs_limit) {
        const uint64_t linear = uint64_t{cs_base} + eip;
        const uint64_t at = linear - c.ram.base;
        if (linear >= (uint64_t{1} << 32) || !block::inside_window(at, 1, c.ram.size)) break;
        // The block's bytes stay contiguous in the window and within the CS limit.
        const auto available = static_cast<uint32_t>(std::min<uint64_t>(
            {15, uint64_t{c.cs_limit} - eip + 1, c.ram.size - at, (uint64_t{1} << 32) - linear}));
        decoder::Insn insn;
        if (decoder::decode(c.ram.host + at, available, fetch, insn) != decoder::DecodeStatus::Ok)
            break;
        if (b.op_count == 0) first_length = insn.length;
        if (b.length + insn.length > kMaxBytes) break;
        bool ends_block = false;
        BlockOp& op = b.ops[b.op_count];
        if (!lower_to_block_op(insn, eip, op, ends_block)) break;
        op.position = b.op_count;
        registers_only = registers_only && op.registers_only;
        if (op.reads_port) b.last_port_read = static_cast<uint8_t>(b.op_count + 1);
        // A Jcc the block goes on past when it is not taken, unless it branches back to the
        // block's start: that block stays a loop of its own (a closed loop when it qualifies).
        if (insn.op == decoder::Op::Jcc && op.imm != state.eip) {
            op.handler = block::jcc_through_handler(insn.cc);
            ends_block = false;
            side_exits = true;
        }
        if (ends_block) b.closed_loop = registers_only && !side_exits && op.imm == state.eip;
        std::memcpy(b.bytes + b.length, c.ram.host + at, insn.length);
        b.length = static_cast<uint8_t>(b.length + insn.length);
        ++b.op_count;
        eip += insn.length;
        if (ends_block) {
            ends_with_transfer = true;
            break;
        }
    }
    // A transfer sets the next EIP itself; a block that runs into the next instruction sets
    // it at its end.
    b.ops[b.op_count] = ends_with_transfer ? BlockOp{.handler = &end_of_block}
                                           : BlockOp{.handler = &fall_through, .imm = eip};
    for (uint8_t i = 0; i < b.op_count; ++i)
        b.ops[i].ops_after = static_cast<uint8_t>(b.op_count - 1 - i);
    if (b.op_count == 0) { // remember the refusal, checked against the same bytes
        const uint8_t* host = window_bytes(c, cs_base + state.eip, first_length);
        b.length = host ? static_cast<uint8_t>(first_length) : 0;
        if (host) std::memcpy(b.bytes, host, first_length);
    }
}

BlockEngine::Block* BlockEngine::find(const CpuState& state, BlockContext& c, uint8_t mode,
                                      const DecodeCache& seen) {
    const auto cs_base = static_cast<uint32_t>(state[Seg::CS].base);
    const uint32_t linear = cs_base + state.eip;
    const uint32_t set = block_set(linear, mode);
    const auto holds_key = [&](uint32_t i) {
        const Block& x = table_[i];
        return holds(i) && x.eip == state.eip && x.cs_base == cs_base && x.mode == mode;
    };
    // The way that holds this block, else the one to replace: an empty one, else the one
    // compared with memory longer ago.
    uint32_t index = set;
    bool same_key = holds_key(set);
    if (!same_key) {
        same_key = holds_key(set + 1);
        if (same_key || (holds(set) && (!holds(set + 1) || table_[set + 1].checked_in_run <
                                                               table_[set].checked_in_run)))
            index = set + 1;
    }
    Block* b = &table_[index];
    const bool found =
        same_key && b->length != 0 && uint64_t{state.eip} + b->length - 1 <= c.cs_limit;
    if (found && b->checked_in_run == epoch_) return b->op_count ? b : nullptr;
    // Under paging the code runs from its page: a block on another page than the last one
    // needs that page's translation for a fetch at this privilege level.
    if (c.tlb && !block::inside_window(uint64_t{linear} - c.ram.base, 1, c.ram.size) &&
        !block::page_window(*c.tlb, *c.memory, linear, AccessKind::Fetch, c.user, c.ram))
        return nullptr;
    const uint64_t physical = code_physical(c, linear);
    if (found) {
        if (const uint8_t* host = window_bytes(c, linear, b->length);
            host && same_bytes(host, b->bytes, b->length)) {
            mark_checked(*b, c, physical);
            return b->op_count ? b : nullptr;
        }
    }
    // Not translated yet, or its bytes changed: translate code the interpreter has run (its
    // decode cache is keyed by guest-physical address, below 4 GiB).
    if (!window_bytes(c, linear, 1) || physical > UINT32_MAX ||
        !seen.find(static_cast<uint32_t>(physical), mode))
        return nullptr;
    valid_[index / 64] |= uint64_t{1} << (index % 64);
    translate(*b, state, c, mode);
    ++translations_;
    mark_checked(*b, c, physical);
    return b->op_count ? b : nullptr;
}

// From here to the end of the epoch the block's bytes are covered by the store check.
void BlockEngine::mark_checked(Block& b, BlockContext& c, uint64_t physical) {
    b.checked_in_run = epoch_;
    if (physical >= code_first_ && physical + b.length <= code_end_) return;
    c.code_first = code_first_ = std::min(code_first_, physical);
    c.code_end = code_end_ = std::max(code_end_, physical + b.length);
    c.close_write_windows();
}

uint64_t BlockEngine::repeatable_iterations(const Block& b, const BlockContext& c, uint64_t room) {
    const uint64_t n = b.op_count;
    uint64_t iterations = room / n;
    if (b.last_port_read != 0) {
        // Iteration m reads its last port at retired + m * n + (last_port_read - 1): each
        // read must start before the promise ends.
        const uint64_t first_read = c.retired + b.last_port_read - 1;
        if (c.steady_until <= first_read) return 0;
        iterations = std::min(iterations, (c.steady_until - first_read - 1) / n + 1);
    }
    return iterations;
}

// Whether a breakpoint lies in the bytes of `b` (its code at linear cs_base + eip).
bool BlockEngine::holds_breakpoint(const Block& b, std::span<const uint64_t> breakpoints) {
    const uint64_t first = uint64_t{b.cs_base} + b.eip;
    for (const uint64_t bp : breakpoints)
        if (bp - first < b.length) return true;
    return false;
}

uint64_t BlockEngine::run(CpuState& state, const GuestMemory& memory, const Tlb* tlb,
                          const DecodeCache& seen, uint64_t max_instructions,
                          const SteadyPort& steady, bool segment_loads,
                          std::span<const uint64_t> breakpoints) {
    loaded_segments_ = false;
    const SegmentCache& cs = state[Seg::CS];
    const auto linear = static_cast<uint32_t>(cs.base + state.eip);
    const uint8_t mode =
        DecodeCache::mode_key(state.protected_mode(), ar::db(cs.access_rights), state.v86());
    const bool user = tlb && state.cpl() == 3; // what paging checks (segments do not)
    // The code's window: under paging its page, if the TLB holds a fetch translation for it
    // (else the interpreter fetches, and walks); without, its slot, usually the last run's.
    RamWindow code;
    if (tlb) {
        if (!block::page_window(*tlb, memory, linear, AccessKind::Fetch, user, code)) return 0;
    } else {
        if (!block::inside_window(uint64_t{linear} - code_slot_.base, 1, code_slot_.size)) {
            const RamSlot* slot = memory.slot_containing(linear);
            if (!slot) return 0;
            code_slot_ = block::window_of(*slot, memory);
        }
        code = code_slot_;
    }
    // Code the interpreter has not run, and no block: nothing to do (the common case while
    // code runs once, as in the boot window).
    const uint64_t physical = code.phys + (uint64_t{linear} - code.base);
    if (physical > UINT32_MAX || !seen.find(static_cast<uint32_t>(physical), mode)) {
        const uint32_t set = block_set(linear, mode);
        if ((!holds(set) || table_[set].eip != state.eip) &&
            (!holds(set + 1) || table_[set + 1].eip != state.eip))
            return 0;
    }
    // The next block is found by EIP alone among the blocks of this epoch: they were found
    // under one code segment and mode, and under paging at one privilege level (user or
    // supervisor, for the fetch rights) with no TLB entry invalidated since (INVLPG, a CR3
    // load: the translation a block was compared through may be gone).
    const auto cs_base = static_cast<uint32_t>(cs.base);
    const uint64_t translations = tlb ? tlb->invalidations() : UINT64_MAX;
    if (cs_base != epoch_cs_base_ || cs.limit != epoch_cs_limit_ || mode != epoch_mode_ ||
        user != epoch_user_ || translations != epoch_translations_) {
        new_epoch();
        epoch_cs_base_ = cs_base;
        epoch_cs_limit_ = cs.limit;
        epoch_mode_ = mode;
        epoch_user_ = user;
        epoch_translations_ = translations;
    }
    BlockContext c;
    c.close_windows();
    c.state = &state;
    c.ram = code;
    c.memory = &memory;
    c.tlb = tlb;
    c.model = model_;
    c.user = user;
    c.cs_limit = cs.limit;
    c.stack_mask = ar::db(state[Seg::SS].access_rights) ? ~0u : 0xFFFFu;
    c.string_down = (state.eflags & flags::DF) != 0; // CLD and STD change it with DF
    c.eflags_fixed = state.eflags & ~flags::Status;
    c.segment_loads = segment_loads;
    c.code_first = code_first_;
    c.code_end = code_end_;
    if (steady.size != 0 && steady.until_tsc > state.tsc) {
        c.steady_port = steady.port;
        c.steady_size = steady.size;
        c.steady_value = steady.value;
        c.steady_until = steady.until_tsc - state.tsc;
    }
    Block* b = find(state, c, mode, seen);
    if (!b || b->op_count > max_instructions) return 0;
    if (!breakpoints.empty() && holds_breakpoint(*b, breakpoints)) return 0;

    std::copy(state.gpr.begin(), state.gpr.end(), c.gpr);
    c.gpr[BlockContext::kZeroRegister] = 0;
    c.flags = LazyFlags::from_eflags(state.eflags);
    const uint32_t start_eip = state.eip;
    const uint64_t epoch = epoch_;
    uint32_t gpr_before[8];
    LazyFlags flags_before;
    for (;;) {
        const bool closed_loop = b->closed_loop && skip_fixed_points_;
        if (closed_loop) {
            std::copy(c.gpr, c.gpr + 8, gpr_before);
            flags_before = c.flags;
        }
        if (!b->ops[0].handler(c, b->ops[0])) { // declined: the interpreter runs this one
            c.retired += static_cast<uint64_t>(c.stopped_at - b->ops);
            state.eip = c.stopped_at->eip;
            break;
        }
        c.retired += b->op_count;
        const uint32_t eip = c.next_eip;
        state.eip = eip;
        // An iteration of a closed loop that ended where it began (registers, flags, EIP)
        // repeats exactly as long as its port reads stay steady: what the next iterations
        // would do is known, so they are retired without being run.
        if (closed_loop && eip == b->eip && flags_before == c.flags &&
            std::equal(c.gpr, c.gpr + 8, gpr_before) && max_instructions != UINT64_MAX)
            c.retired += b->op_count * repeatable_iterations(*b, c, max_instructions - c.retired);
        // The next block is usually one of the two that followed this one before (Block::
        // successors), else find() looks in the table. A block checked in this epoch was found
        // under this CS base, limit and mode, so its EIP is all there is left to compare.
        Block* next = b->successors[0];
        if (next->eip != eip) next = b->successors[1];
        if (next->eip != eip || next->checked_in_run != epoch) [[unlikely]] {
            next = find(state, c, mode, seen);
            if (!next) break;
            if (b->successors[0] != next) {
                b->successors[1] = b->successors[0];
                b->successors[0] = next;
            }
        }
        b = next;
        // A linked block may have been retranslated in this epoch into a negative entry
        // (op_count 0), which the unsigned subtraction stops at as well.
        if (uint64_t{b->op_count} - 1 >= max_instructions - c.retired) break;
        if (!breakpoints.empty() && holds_breakpoint(*b, breakpoints)) break;
    }
    const uint64_t retired = c.retired;
    loaded_segments_ = c.loaded_segment;
    if (retired == 0) {
        state.eip = start_eip;
        return 0;
    }
    std::copy(c.gpr, c.gpr + 8, state.gpr.begin());
    state.eflags = (state.eflags & ~flags::Status) | c.flags.status();
    state.tsc += retired;
    if (c.after_mov_ss == retired) state.interruptibility = interruptibility::BlockingByMovSs;
    return retired;
}

} // namespace transit86::emu
