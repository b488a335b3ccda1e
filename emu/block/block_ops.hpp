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

namespace transit86::emu {

class GuestMemory;

struct BlockContext {
    static constexpr uint8_t kZeroRegister = 8;
    uint32_t gpr[9]{}; // EAX..EDI, then a register that reads as 0 (absent base / index)
    LazyFlags flags{};
    SegmentWindow seg[6]{};
    // The RAM slot the block runs in; accesses elsewhere decline (MMIO, other slots).
    uint8_t* ram = nullptr;
    uint64_t ram_base = 0;
    uint64_t ram_size = 0;
    uint64_t ram_write_size = 0; // 0 for a read-only slot
    // Data outside that slot (a buffer above 1 MiB, a stack in another slot): the slot of the
    // last such access, looked up in `memory` when an access misses both.
    const GuestMemory* memory = nullptr;
    uint8_t* data_ram = nullptr;
    uint64_t data_base = 0;
    uint64_t data_size = 0;
    uint64_t data_write_size = 0;
    // The linear range spanning every block checked against guest memory during this run of
    // the engine: a store into it declines, so the interpreter runs it and the next run checks
    // each block's bytes afresh. Blocks checked once in a run need no second check.
    uint64_t code_first = UINT64_MAX;
    uint64_t code_end = 0;
    uint32_t cs_limit = 0;
    uint32_t stack_mask = 0;   // SS.B: ESP (~0) or SP (0xFFFF), SDM Vol. 3A 6.2.3
    bool string_down = false;  // EFLAGS.DF: string instructions step ESI/EDI downwards
    uint32_t eflags_fixed = 0; // EFLAGS without the status flags: no block changes them
    uint32_t next_eip = 0;     // set by the block's branch, else the block's end
    uint64_t retired = 0;      // instructions retired in this run before the current block
    // A port the PortHandler promised reads `steady_value` (PortHandler::steady_read) for IN
    // instructions that start before `retired` + the op's position reaches `steady_until`.
    uint16_t steady_port = 0;
    uint8_t steady_size = 0; // 0: no promise, every IN declines
    uint32_t steady_value = 0;
    uint64_t steady_until = 0;
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
    bool registers_only = false; // reads and writes registers and flags only (no memory, stack)
    bool reads_port = false;     // an IN (block_io.cpp)
};

// Lowers an instruction at `eip` to a BlockOp; false when the block engine does not run it
// (the block ends before it). `ends_block` is set for control transfers, which set
// BlockContext::next_eip.
bool lower_to_block_op(const decoder::Insn& insn, uint32_t eip, BlockOp& out, bool& ends_block);

} // namespace transit86::emu
