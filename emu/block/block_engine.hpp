// The block engine: the run loop's fast tier for straight-line code and loops.
//
// It translates a run of consecutive simple instructions (MOV, ALU, INC/DEC, LEA, NOP, ...)
// ending at a JMP, CALL, RET or a Jcc back to its start (a Jcc elsewhere is a side exit the
// block leaves by when it is taken) into an array of BlockOps (emu/block/block_ops.hpp), keyed
// by CS.base, EIP and fetch mode, and runs whole blocks with EFLAGS kept lazily, the budget spent
// per block and registers in a local file. Like the decode cache, a block keeps the bytes it came
// from and compares them with guest memory each time it is entered; a store into the running block
// declines, so self-modifying code and host writes take effect exactly as in the interpreter.
// Under paging, code and data are reached through the TLB's translations (BlockContext::tlb);
// a block stays within one page and the checked code is tracked by guest-physical address.
//
// The engine retires only instructions the interpreter would retire with the same result: any
// instruction it does not translate, and any that declines (faults, MMIO, ...), is left at
// EIP for Emulator's step(). Emulator::set_decode_cache(false) turns it off with the cache.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "emu/block/block_ops.hpp"
#include "emu/cpu/guest_memory.hpp"
#include "emu/cpu/huge_table.hpp"
#include "emu/interp/decode_cache.hpp"
#include "transit86/cpu_state.hpp"

namespace transit86::emu {

class BlockEngine {
  public:
    static constexpr uint32_t kMaxOps = 16;
    static constexpr uint32_t kMaxBytes = 64;
    static constexpr uint32_t kBlocks = 8192;

    // Runs whole blocks from CS:EIP while they exist (or can be built), their bytes are
    // unchanged and they fit in `max_instructions`. Returns the instructions retired; the
    // state is then at an instruction boundary with EFLAGS, EIP and the TSC up to date.
    // The caller guarantees what the engine does not check per instruction: A20 on, TF = 0,
    // no interrupt shadow, no pending I/O or MMIO completion.
    // `breakpoints` (linear addresses): a block that holds one runs not at all, so that the
    // caller's per-instruction check sees the instruction there (a block starting at one is
    // left to the interpreter too: the caller runs the first instruction of a run past it).
    // `seen` (the interpreter's decode cache) says which code has run before: a block is
    // built only where the interpreter has been, so code that runs once is not translated.
    // `steady`: what the PortHandler promised about one port (size 0: nothing), for IN.
    // `segment_loads`: a real-mode MOV Sreg, r16 may run (block_ops.cpp); then
    // loaded_segments() says whether one did. A run that stops right after a MOV SS sets
    // blocking by MOV SS in state.interruptibility, as the interpreter does.
    // `tlb`: with CR0.PG = 1, the interpreter's TLB; the engine reads translations from it
    // and declines where it holds none (it never walks), nullptr without paging.
    uint64_t run(CpuState& state, const GuestMemory& memory, const Tlb* tlb,
                 const DecodeCache& seen, uint64_t max_instructions, const SteadyPort& steady,
                 bool segment_loads, std::span<const uint64_t> breakpoints = {});
    bool loaded_segments() const { return loaded_segments_; }

    // Whole iterations of a loop that returns to the state it started from are retired at
    // once (on by default; off runs every iteration, for the tests that compare both).
    void set_skip_fixed_points(bool enabled) { skip_fixed_points_ = enabled; }

    // The model CPUID answers from (the emulator's, which outlives the engine and changes only
    // in place, between runs).
    void set_cpu_model(const CpuModel* model) { model_ = model; }

    void clear() {
        valid_.fill(0);
        code_slot_ = {};
        new_epoch();
    }
    // Blocks are compared with guest memory again before they next run: the caller says guest
    // memory may have changed other than through the engine's own (checked) stores — a new
    // run, an interpreted instruction that wrote into checked code (holds_checked_code) or
    // reached a device, a serializing instruction. Within one epoch a block's bytes are
    // compared once.
    void new_epoch() {
        ++epoch_;
        code_first_ = UINT64_MAX;
        code_end_ = 0;
    }
    uint64_t translations() const { return translations_; }
    // Whether guest-physical [first, end) overlaps a block compared with memory in this
    // epoch: a write anywhere else leaves every such block as it was compared.
    bool holds_checked_code(uint64_t first, uint64_t end) const {
        return end > code_first_ && first < code_end_;
    }

  private:
    struct Block {
        uint32_t eip;
        uint32_t cs_base;
        uint8_t mode;
        uint64_t checked_in_run; // the epoch_ that last compared its bytes
        uint8_t op_count;        // 0: the first instruction is not translated (a negative entry)
        uint8_t length;          // bytes covered (of the first instruction for a negative entry)
        // It may branch to itself and touches nothing but registers, flags and steady ports:
        // an iteration that ends in the state it began from repeats it (run()).
        bool closed_loop;
        uint8_t last_port_read; // 1 + the index of its last IN, or 0
        // The blocks that ran after it most recently, newest first (block chaining): the next
        // block is looked for here before the table. A link is only a hint, used when the
        // block it names starts at the EIP the block left at and was checked in this epoch
        // (then it is the block the table holds for that EIP), so a successor evicted,
        // retranslated or found under another code segment or mode is never followed.
        // &kUnlinked when there is none.
        Block* successors[2];
        uint8_t bytes[kMaxBytes];
        BlockOp ops[kMaxOps + 1]; // then end_of_block or fall_through
    };
    // What an empty successor link names: a block no epoch has checked.
    static Block kUnlinked;

    // The block for (CS.base, EIP, mode), translated now if needed; nullptr when there is
    // nothing to run there.
    Block* find(const CpuState& state, BlockContext& c, uint8_t mode, const DecodeCache& seen);
    void mark_checked(Block& b, BlockContext& c, uint64_t physical);
    static bool holds_breakpoint(const Block& b, std::span<const uint64_t> breakpoints);
    void translate(Block& b, const CpuState& state, const BlockContext& c, uint8_t mode);
    // Iterations of the closed loop `b` that can be retired at once from here on, with
    // `room` instructions left in the budget.
    static uint64_t repeatable_iterations(const Block& b, const BlockContext& c, uint64_t room);

    bool holds(uint32_t index) const { return valid_[index / 64] >> (index % 64) & 1; }

    // Two-way sets (block_set() in block_engine.cpp); which entries hold a block: valid_.
    HugePageTable<Block, kBlocks> table_;
    std::array<uint64_t, kBlocks / 64> valid_{};
    uint64_t translations_ = 0;
    uint64_t epoch_ = 1; // a block checked in this epoch is current (new_epoch()); never 0
    // The guest-physical range of every block checked in this epoch (BlockContext::
    // code_first), and the code segment, mode, privilege level and TLB invalidation count
    // (UINT64_MAX without paging) the epoch's blocks were found under.
    uint64_t code_first_ = UINT64_MAX;
    uint64_t code_end_ = 0;
    uint32_t epoch_cs_base_ = 0;
    uint32_t epoch_cs_limit_ = 0;
    uint8_t epoch_mode_ = 0xFF;
    bool epoch_user_ = false;
    uint64_t epoch_translations_ = UINT64_MAX;
    bool skip_fixed_points_ = true;
    const CpuModel* model_ = nullptr;
    bool loaded_segments_ = false;
    RamWindow code_slot_{}; // the slot the last run's code was in (cleared with the slots)
};

} // namespace transit86::emu
