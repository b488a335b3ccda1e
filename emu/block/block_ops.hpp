// The block engine's pre-decoded operations (emu/block_engine.hpp).
//
// A BlockOp is one guest instruction lowered at translation time to a handler specialised for
// its operation, operand form and width (Bochs's ADD_EwGw split, templated over the width), with
// its operands resolved: register operands as byte offsets into the register file, memory
// operands as segment, base, index, scale and displacement. Handlers never inspect an Insn.
//
// A handler either completes its instruction or declines it *before changing anything* (a
// fault, an access outside the RAM window, a store into the running block): the engine then
// stops at that instruction and the interpreter executes it with full semantics. So the fast
// path needs no fault, MMIO or rollback logic of its own.
#pragma once

#include <cstdint>

#include "decoder/insn.hpp"
#include "emu/block/lazy_flags.hpp"
#include "emu/cpu/segment_window.hpp"
#include "transit86/cpu_model.hpp"
#include "transit86/cpu_state.hpp"

namespace transit86::emu {

class GuestMemory;
class Tlb;

// Guest RAM as the engine reaches it: accesses of `n` bytes at linear `l` with
// l - base + n <= size (write_size for a write: 0 in a read-only slot). Without paging a whole
// RAM slot (base = phys, its guest-physical start); under paging one page the TLB translates.
struct RamWindow {
    uint8_t* host = nullptr;
    uint64_t base = 0;
    uint64_t size = 0;
    uint64_t write_size = 0;
    uint64_t phys = 0; // the guest-physical address of host[0]
};

// The offsets [first, end) of a segment that reach host memory with nothing left to check:
// inside the segment's limit and type, inside one RAM window, below 4 GiB - 1, and (for
// writes) outside the code checked in this epoch. Offset o is the host byte at host_bias + o (an
// integer: the bias alone may point anywhere). Empty (first = end = 0) until an access through
// the checked path opens it around itself (block_operands.hpp, host_at).
struct DirectWindow {
    uintptr_t host_bias = 0;
    uint32_t first = 0;
    uint32_t end = 0;
};

// N windows of a run's context, left uninitialised when the context is made: clearing all of
// them (432 bytes, three REP STOS) at each of a boot's 600,000 engine entries cost more than
// many of those entries ran. BlockContext::close_windows() empties what the accessors test;
// a segment window is read only once its seg_loaded bit is set.
template <class W, unsigned N>
struct UninitialisedWindows {
    union {
        W at[N];
    };
    UninitialisedWindows() {} // deliberately leaves `at` uninitialised
    W& operator[](unsigned i) { return at[i]; }
    const W& operator[](unsigned i) const { return at[i]; }
};

struct BlockContext {
    static constexpr uint8_t kZeroRegister = 8;
    uint32_t gpr[9]; // EAX..EDI, then a register that reads as 0 (absent base / index)
    LazyFlags flags;
    // Segment windows, computed from `state` on first use (host_at): a block run touches few.
    UninitialisedWindows<SegmentWindow, 6> seg;
    uint8_t seg_loaded = 0; // bit i: seg[i] holds segment_window(*state, i)
    // The state of the run: segment registers (read by windows, written by a real-mode MOV
    // Sreg), EFLAGS' other bits; EIP, EFLAGS' status flags and the GPRs are written at the end.
    CpuState* state = nullptr;
    // The RAM slot the block runs in; under paging, its page.
    RamWindow ram;
    // Per segment register, the RAM slot its last access reached: the stack, the code's own
    // data and a buffer above 1 MiB are often in three slots (SeaBIOS runs from the BIOS area
    // with its stack in low RAM). Looked up in `memory` on a miss.
    UninitialisedWindows<RamWindow, 6> data;
    // Per segment register, what its reads and writes reach without the checks above. Closed
    // again when the segment is loaded, and the writes' when the checked code grows.
    UninitialisedWindows<DirectWindow, 6> direct_read;
    UninitialisedWindows<DirectWindow, 6> direct_write;
    const GuestMemory* memory = nullptr;
    // With CR0.PG = 1, the translations the interpreter's accesses have made: the engine uses
    // those that allow the access (present, the rights, the dirty flag for a write) and
    // declines on a miss, so the interpreter walks and raises #PF. `user`: CPL 3.
    const Tlb* tlb = nullptr;
    bool user = false;
    // What CPUID answers (BlockEngine::set_cpu_model); null: CPUID declines.
    const CpuModel* model = nullptr;
    // The guest-physical range spanning every block checked against guest memory in this
    // epoch (BlockEngine::new_epoch): a store into it (through any linear address) declines,
    // so the interpreter runs it and the epoch ends. Blocks checked once in an epoch need no
    // second check.
    uint64_t code_first = UINT64_MAX;
    uint64_t code_end = 0;
    uint32_t cs_limit = 0;
    uint32_t stack_mask = 0;  // SS.B: ESP (~0) or SP (0xFFFF), SDM Vol. 3A 6.2.3
    bool string_down = false; // EFLAGS.DF: string instructions step ESI/EDI downwards
    // EFLAGS without the status flags: changed only by CLD, STD and a real-mode CLI, which
    // write them to the state as well.
    uint32_t eflags_fixed = 0;
    // A real-mode MOV Sreg may run (BlockEngine::run): the run loop is not watching for the
    // state to become valid; set when one loaded a segment register.
    bool segment_loads = false;
    bool loaded_segment = false;
    // The run's retired count right after its last MOV SS: when the run stops there, the
    // next instruction is in that MOV's interrupt shadow (BlockEngine::run). 0: none.
    uint64_t after_mov_ss = 0;
    uint32_t next_eip = 0; // set by the block's branch, else the block's end
    uint64_t retired = 0;  // instructions retired in this run before the current block
    const struct BlockOp* stopped_at = nullptr; // the operation that declined (chained())
    // A port the PortHandler promised reads `steady_value` (PortHandler::steady_read) for IN
    // instructions that start before `retired` + the op's position reaches `steady_until`.
    uint16_t steady_port = 0;
    uint8_t steady_size = 0; // 0: no promise, every IN declines
    uint32_t steady_value = 0;
    uint64_t steady_until = 0;

    // Empties every data and direct window: each access then takes the checked path once.
    void close_windows() {
        for (unsigned i = 0; i < 6; ++i) {
            data[i].base = data[i].size = data[i].write_size = 0;
            close_direct_windows(i);
        }
    }
    void close_direct_windows(unsigned segment) {
        direct_read[segment].first = direct_read[segment].end = 0;
        direct_write[segment].first = direct_write[segment].end = 0;
    }
    // Empties the write windows: the checked code grew, and a write window may now reach it.
    void close_write_windows() {
        for (unsigned i = 0; i < 6; ++i)
            direct_write[i].first = direct_write[i].end = 0;
    }
};

// The run loop's promise about one port, in TSC units (Emulator, PortHandler::steady_read).
struct SteadyPort {
    uint16_t port = 0;
    uint8_t size = 0; // 0: none
    uint32_t value = 0;
    uint64_t until_tsc = 0; // an IN starting at a TSC below this reads `value`
};

struct BlockOp {
    using Handler = bool (*)(BlockContext&, const BlockOp&);
    Handler handler = nullptr;
    uint32_t eip = 0;  // where the interpreter resumes when the handler declines
    uint32_t imm = 0;  // immediate; branch target
    uint32_t disp = 0; // memory displacement; a branch's fall-through EIP
    uint32_t address_mask = 0;
    uint8_t dst = 0; // register operands: byte offset into BlockContext::gpr
    uint8_t src = 0;
    uint8_t base = BlockContext::kZeroRegister;
    uint8_t index = BlockContext::kZeroRegister;
    uint8_t scale_shift = 0;
    uint8_t seg = 0;
    uint8_t position = 0;        // its place in the block: instructions before it
    uint8_t ops_after = 0;       // operations of the block after it (a side exit skips them)
    bool registers_only = false; // reads and writes registers and flags only (no memory, stack)
    bool reads_port = false;     // an IN (block_io.cpp)
};

// Threaded dispatch: an operation that completes goes straight on to the next one of its
// block (each with its own indirect jump, which predicts better than one dispatch loop); one
// that declines records itself in BlockContext::stopped_at. A block ends with an
// end_of_block() operation after a control transfer (which set BlockContext::next_eip), a
// fall_through() one otherwise, or leaves early at a Jcc taken inside it (jcc_through(),
// block_flow.cpp), which takes the operations it skipped off BlockContext::retired. The
// lowering functions hand out chain<&handler> for every handler.
template <BlockOp::Handler H>
bool chained(BlockContext& c, const BlockOp& op) {
    if (!H(c, op)) [[unlikely]] {
        c.stopped_at = &op;
        return false;
    }
    const BlockOp& next = (&op)[1];
    return next.handler(c, next);
}
template <BlockOp::Handler H>
inline constexpr BlockOp::Handler chain = &chained<H>;
inline bool end_of_block(BlockContext&, const BlockOp&) {
    return true;
}
inline bool fall_through(BlockContext& c, const BlockOp& op) {
    c.next_eip = op.imm; // the instruction after the block
    return true;
}

// Lowers an instruction at `eip` to a BlockOp; false when the block engine does not run it
// (the block ends before it). `ends_block` is set for control transfers, which set
// BlockContext::next_eip.
bool lower_to_block_op(const decoder::Insn& insn, uint32_t eip, BlockOp& out, bool& ends_block);

} // namespace transit86::emu
