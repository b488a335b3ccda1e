// The block engine against the interpreter it stands in for: the same programs, the same
// run() calls, on an emulator with the engine and one with set_decode_cache(false) (every
// instruction interpreted). The interpreter is the reference the differential campaigns check
// against KVM, Unicorn and the 80286 vectors; here every exit, the whole CpuState and all of
// RAM must be identical after each run() — exits, budgets and faults included.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "block/block_pair.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

namespace {

using namespace block_test;

// ---- named behaviours

// mov ecx, N ; L: add eax, ebx ; dec ecx ; jnz L ; hlt   (the register loop of bench/)
TEST(BlockEngine, RegisterLoopRunsInBlocksWithTheInterpretersResult) {
    Pair p;
    p.load(kCode, {0x66, 0xB9, 0x10, 0x27, 0, 0, 0x66, 0x01, 0xD8, 0x66, 0x49, 0x75, 0xF9, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::EBX] = 3;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(exit.instructions, 1u + 3 * 10000 + 1);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 30000u);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 29000u);
    EXPECT_EQ(p.interpreter.emu.engine_stats().in_blocks, 0u);
}

// Every budget from 1 to 40 stops at the same instruction, blocks or not (the engine runs a
// block only when it fits in what is left).
TEST(BlockEngine, BudgetStopsAtTheSameInstructionAsTheInterpreter) {
    for (uint64_t budget = 1; budget <= 40; ++budget) {
        Pair p;
        p.load(kCode, {0x66, 0xB9, 0x10, 0, 0, 0, 0x66, 0x01, 0xD8, 0x66, 0x49, 0x75, 0xF9, 0xF4});
        p.set_state(start_state(Mode::Real16));
        for (int run = 0; run < 3; ++run) // warm, then from the middle of the loop
            p.run(RunLimits{.budget = budget, .stop_when_valid = std::nullopt});
    }
}

// L: inc ax ; test al, 1 ; jz skip ; add bx, ax ; skip: dec cx ; jnz L ; hlt
// The block runs on past a JZ it does not take and leaves at the JZ when taken (a side exit):
// every budget stops at the same instruction, and the sums are the interpreter's.
TEST(BlockEngine, JccInsideABlockLeavesItWhenTaken) {
    const std::vector<uint8_t> code{0x40, 0xA8, 0x01, 0x74, 0x02, 0x01,
                                    0xC3, 0x49, 0x75, 0xF6, 0xF4};
    for (uint64_t budget = 1; budget <= 40; ++budget) {
        Pair p;
        p.load(kCode, code);
        CpuState s = start_state(Mode::Real16);
        s[Gpr::ECX] = 20;
        p.set_state(s);
        for (int run = 0; run < 3; ++run)
            p.run(RunLimits{.budget = budget, .stop_when_valid = std::nullopt});
    }
    Pair p;
    p.load(kCode, code);
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 1000;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EBX], 250000u & 0xFFFF); // 1 + 3 + ... + 999 in BX
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 4000u);
}

// L: mov ax, ds ; add bx, ax ; mov esi, es ; dec dx ; jnz L ; hlt
// MOV from a segment register runs in blocks: the selector, zero-extended into ESI.
TEST(BlockEngine, MovFromSegmentRegisterRunsInBlocks) {
    Pair p;
    p.load(kCode, {0x8C, 0xD8, 0x01, 0xC3, 0x66, 0x8C, 0xC6, 0x4A, 0x75, 0xF6, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Seg::DS].selector = 0x1234;
    s[Seg::DS].base = 0x12340;
    s[Seg::ES].selector = 0x0042;
    s[Seg::ES].base = 0x420;
    s[Gpr::ESI] = 0xFFFF0000;
    s[Gpr::EDX] = 100;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EBX], (100u * 0x1234) & 0xFFFF);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ESI], 0x42u);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 400u);
}

// L: mov ax, dx ; mov ds, ax ; add bl, [0x10] ; inc dx ; dec cx ; jnz L ; hlt
// L: mov ax, dx ; mov ds, ax ; add bl, [0x10] ; inc dx ; dec cx ; jnz L ; hlt — 60 passes,
// each through another DS, loaded at the start of the pair's run.
void load_segment_loop(Pair& p) {
    p.load(kCode, {0x89, 0xD0, 0x8E, 0xD8, 0x02, 0x1E, 0x10, 0x00, 0x42, 0x49, 0x75, 0xF4, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 60;
    s[Gpr::EDX] = 0x400;
    p.set_state(s);
}

// A real-mode MOV DS runs in blocks when the run does not stop at a valid state, and the next
// access through DS uses the new base (each pass reads another byte).
TEST(BlockEngine, RealModeSegmentLoadTakesEffectAtTheNextAccess) {
    std::vector<uint8_t> data(0x400);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<uint8_t>(i * 7 + i / 16);
    for (const bool watch_validity : {false, true}) {
        Pair p;
        p.load(0x4000, data);
        load_segment_loop(p);
        RunLimits limits = kRunToHost;
        if (watch_validity) limits.stop_when_invalid = vmx::Profile::Kvm;
        const Exit exit = p.run(limits);
        EXPECT_EQ(exit.reason, ExitReason::Halt);
        uint8_t sum = 0;
        for (uint32_t i = 0; i < 60; ++i)
            sum = static_cast<uint8_t>(sum + data[i * 16 + 0x10]);
        EXPECT_EQ(p.blocks.emu.state()[Gpr::EBX] & 0xFF, sum);
        EXPECT_EQ(p.blocks.emu.state()[Seg::DS].base, (0x400u + 59) << 4);
        EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 300u);
    }
}

// The same loop watched under the sdm and unrestricted profiles: blocks run (their checks read
// nothing a block changes), the segment loads left to the interpreter (those profiles' segment
// rules are not kvm's), and each run stops where the interpreter's does.
TEST(BlockEngine, OtherProfilesRunBlocksWithoutSegmentLoads) {
    for (const vmx::Profile profile : {vmx::Profile::Sdm, vmx::Profile::Unrestricted}) {
        for (const bool watch_valid : {false, true}) {
            Pair p;
            load_segment_loop(p);
            RunLimits limits = kRunToHost;
            if (watch_valid)
                limits.stop_when_valid = profile;
            else
                limits.stop_when_invalid = profile;
            const Exit exit = p.run(limits);
            // Real mode: never valid under sdm (CR0.PE = 0), valid under unrestricted.
            const bool stops_at_once =
                watch_valid ? profile == vmx::Profile::Unrestricted : profile == vmx::Profile::Sdm;
            if (stops_at_once) {
                EXPECT_EQ(exit.instructions, 0u);
                continue;
            }
            EXPECT_EQ(exit.reason, ExitReason::Halt);
            EXPECT_EQ(p.blocks.emu.state()[Seg::DS].base, (0x400u + 59) << 4);
            EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 200u) << "profile watched";
            EXPECT_LE(p.blocks.emu.engine_stats().in_blocks, 60u * 5) << "MOV DS interpreted";
        }
    }
}

// Breakpoints no longer keep the engine out: a block that holds one does not run, so each run
// stops at the breakpoint exactly where the interpreter's does, and resumes past it; code
// without one runs in blocks. The register loop with a breakpoint in it (hit every pass), then
// one on the HLT after it (blocks run the whole loop first).
TEST(BlockEngine, BreakpointsStopWhereTheInterpretersDoAndBlocksRunElsewhere) {
    const std::vector<uint8_t> code{0x66, 0xB9, 0x10, 0x27, 0,    0,    0x66,
                                    0x01, 0xD8, 0x66, 0x49, 0x75, 0xF9, 0xF4};
    // On the ADD, where the loop's block starts, and on the DEC inside it (a block entered at
    // its start may hold a breakpoint further on).
    for (const uint32_t offset : {6u, 9u}) {
        Pair p;
        p.load(kCode, code);
        p.set_state(start_state(Mode::Real16));
        const std::array<uint64_t, 1> breakpoint{kCode + offset};
        RunLimits limits = kRunToHost;
        limits.breakpoints = breakpoint;
        for (int pass = 0; pass < 50; ++pass) {
            const Exit exit = p.run(limits);
            ASSERT_EQ(exit.reason, ExitReason::Breakpoint) << "pass " << pass;
            ASSERT_EQ(exit.instructions, pass == 0 ? offset / 3 - 1 : 3u) << "pass " << pass;
        }
    }
    Pair p;
    p.load(kCode, code);
    p.set_state(start_state(Mode::Real16));
    const std::array<uint64_t, 1> hlt{kCode + 13};
    RunLimits limits = kRunToHost;
    limits.breakpoints = hlt;
    const Exit exit = p.run(limits);
    EXPECT_EQ(exit.reason, ExitReason::Breakpoint);
    EXPECT_EQ(exit.instructions, 1u + 3 * 10000);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 29000u);
    EXPECT_EQ(p.run(limits).reason, ExitReason::Halt) << "resumes past it";
}

// MOV SS, r16 in real mode runs in blocks too: each pass switches to another stack segment and
// pushes there. L: mov ss, dx ; mov sp, 0x100 ; push cx ; inc dx ; dec cx ; jnz L ; hlt
TEST(BlockEngine, RealModeStackSwitchRunsInBlocks) {
    Pair p;
    p.load(kCode, {0x8E, 0xD2, 0xBC, 0x00, 0x01, 0x51, 0x42, 0x49, 0x75, 0xF6, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 100;
    s[Gpr::EDX] = 0x300;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Seg::SS].base, (0x300u + 99) << 4);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 400u);
}

// A run that stops right after a MOV SS leaves the next instruction in its shadow (SDM Vol. 3A
// 6.8.3), as the interpreter does: here the IN after it declines in the block (no steady
// port) and exits to the host. L: mov ss, dx ; in al, 0x80 ; inc dx ; dec cx ; jnz L ; hlt
// POP m addressed through ESP: the address is computed with ESP already incremented (SDM POP),
// so `pop dword [esp]` moves the top of the stack one slot up. The loop pushes ECX and 7 and
// pops twice: EAX is 7 every time.
// mov ecx, 100 ; xor ebx, ebx ; L: push ecx ; push 7 ; pop dword [esp] ; pop eax ;
// add ebx, eax ; loop L ; hlt
TEST(BlockEngine, PopToMemoryThroughEspUsesTheIncrementedEsp) {
    Pair p;
    p.load(kCode, {0xB9, 100, 0, 0, 0, 0x31, 0xDB, 0x51, 0x6A, 0x07, 0x8F, 0x04, 0x24, 0x58, 0x01,
                   0xC3, 0xE2, 0xF5, 0xF4});
    p.set_state(start_state(Mode::Protected32));
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EBX], 700u);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 400u);
}

TEST(BlockEngine, StopRightAfterMovSsKeepsItsInterruptShadow) {
    Pair p;
    p.load(kCode, {0x8E, 0xD2, 0xE4, 0x80, 0x42, 0x49, 0x75, 0xF8, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 20;
    s[Gpr::EDX] = 0x300;
    p.set_state(s);
    for (int pass = 0; pass < 20; ++pass) {
        const Exit exit = p.run(kRunToHost);
        ASSERT_EQ(exit.reason, ExitReason::Io) << "pass " << pass;
        EXPECT_EQ(p.blocks.emu.state().interruptibility, interruptibility::BlockingByMovSs)
            << "pass " << pass;
        p.blocks.emu.complete_io(0);
        p.interpreter.emu.complete_io(0);
    }
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 40u);
}

// L: std ; movsb ; cld ; movsb ; cli ; inc si ; inc di ; dec cx ; jnz L ; hlt
// CLD and STD in blocks turn the string operations after them; a real-mode CLI clears IF.
TEST(BlockEngine, DirectionAndInterruptFlagsChangeInsideBlocks) {
    Pair p;
    std::vector<uint8_t> data(0x100);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<uint8_t>(i * 5 + 3);
    p.load(0x3000, data);
    p.load(kCode, {0xFD, 0xA4, 0xFC, 0xA4, 0xFA, 0x46, 0x47, 0x49, 0x75, 0xF6, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ESI] = 0x3000;
    s[Gpr::EDI] = 0x5000;
    s[Gpr::ECX] = 50;
    s.eflags |= flags::IF;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ESI], 0x3000u + 50);
    EXPECT_EQ(p.blocks.emu.state().eflags & (flags::IF | flags::DF), 0u);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 300u);
}

// L: mov byte [cs:patch+1], al ; inc al ; patch: mov bl, 0 ; add cl, bl ; dec dx ; jnz L ; hlt
// The store rewrites an immediate later in its own block: each pass must use the new byte.
TEST(BlockEngine, StoreIntoTheRunningBlockTakesEffectAtOnce) {
    Pair p;
    p.load(kCode,
           {0x2E, 0xA2, 0x07, 0x10, 0xFE, 0xC0, 0xB3, 0x00, 0x00, 0xD9, 0x4A, 0x75, 0xF3, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::EAX] = 1;
    s[Gpr::EDX] = 10;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ECX] & 0xFF, 1u + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10);
}

// The host rewrites the loop body between two runs (as a VMM loading code would).
TEST(BlockEngine, HostWriteBetweenRunsTakesEffect) {
    Pair p;
    // L: add ax, 1 ; dec cx ; jnz L ; hlt
    p.load(kCode, {0x83, 0xC0, 0x01, 0x49, 0x75, 0xFA, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 100;
    p.set_state(s);
    p.run(kRunToHost);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 100u);
    p.load(kCode + 2, {0x05}); // add ax, 5
    s[Gpr::EAX] = 0;
    p.set_state(s);
    p.run(kRunToHost);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 500u);
}

// L: mov ax, [si] ; inc si ; jmp L — the word at SI = FFFF crosses the 64 KiB limit: #GP(0)
// at the load, with every earlier iteration retired (SDM Vol. 3A 20.1.1).
TEST(BlockEngine, LimitFaultInsideABlockIsPreciseWithTheInterpreter) {
    Pair p;
    p.load(kCode, {0x8B, 0x04, 0x46, 0xEB, 0xFB});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ESI] = 0xFF00;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception);
    EXPECT_EQ(exit.vector, 13);
    EXPECT_EQ(p.blocks.emu.state().eip, kCode);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ESI], 0xFFFFu);
}

// L: mov [di], al ; inc di ; jmp L with ES:DI walking into the read-only slot: an MMIO write
// exit at the first byte there, resumed by the host, then the next.
TEST(BlockEngine, StoreIntoReadOnlyMemoryExitsAsMmioAtTheSameInstruction) {
    Pair p;
    p.load(kCode, {0x26, 0x88, 0x05, 0x47, 0xEB, 0xFA});
    CpuState s = start_state(Mode::Real16);
    s[Seg::ES] = cache(0xE010, 0xE0100, 0xFFFF, 0x93);
    s[Gpr::EDI] = 0xFEF0; // 16 stores below the read-only slot
    s[Gpr::EAX] = 0x5A;
    p.set_state(s);
    Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, kRomBase);
    EXPECT_TRUE(exit.mmio_write);
    p.complete_mmio(0);
    exit = p.run(RunLimits{.budget = 4, .stop_when_valid = std::nullopt});
    EXPECT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, kRomBase + 1);
}

// The same loop running from the read-only slot itself (firmware code in ROM): the engine
// runs in that slot's window, and its stores there must still exit.
TEST(BlockEngine, StoreFromRomCodeIntoRomExitsAsMmio) {
    Pair p;
    p.load(kRomBase + 0x1000, {0x26, 0x88, 0x05, 0x47, 0xEB, 0xFA});
    CpuState s = start_state(Mode::Real16);
    s[Seg::CS] = cache(0xF000, kRomBase, 0xFFFF, 0x9B);
    s[Seg::ES] = cache(0xE010, 0xE0100, 0xFFFF, 0x93);
    s[Gpr::EDI] = 0xFEF0; // the last RAM byte, just below the slot the code runs in, included
    s[Gpr::EAX] = 0x5A;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, kRomBase);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 0u);
}

// jnz to a target beyond a small CS limit: #GP(0) at the Jcc (SDM Jcc), after the loop ran.
TEST(BlockEngine, BranchBeyondTheCsLimitFaultsAtTheBranch) {
    Pair p;
    // L: dec cx ; jz out ; jmp L    out is 0x2000, beyond CS.limit 0x1FFF
    p.load(kCode, {0x49, 0x0F, 0x84, 0xFB, 0x0F, 0xEB, 0xF9});
    CpuState s = start_state(Mode::Real16);
    s[Seg::CS].limit = 0x1FFF;
    s[Gpr::ECX] = 50;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception);
    EXPECT_EQ(exit.vector, 13);
    EXPECT_EQ(p.blocks.emu.state().eip, kCode + 1);
}

// LOOP whose target is beyond the CS limit: #GP(0) at the LOOP with CX not yet decremented
// (SDM LOOP: the check comes before the counter changes EIP; the interpreter rolls it back).
TEST(BlockEngine, LoopBeyondTheCsLimitFaultsWithTheCounterUnchanged) {
    Pair p;
    // L: inc ax ; loop L+0x82 ; mov cx, dx ; dec dx ; jnz L ; hlt   (at 1F00, CS.limit 1F80)
    p.load(0x1F00, {0x40, 0xE2, 0x7F, 0x89, 0xD1, 0x4A, 0x75, 0xF8, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s.eip = 0x1F00;
    s[Seg::CS].limit = 0x1F80;
    s[Gpr::ECX] = 1;
    s[Gpr::EDX] = 5;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception);
    EXPECT_EQ(exit.vector, 13);
    EXPECT_EQ(p.blocks.emu.state().eip, 0x1F01u);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ECX], 5u);
}

// A loop in the invalid window (CS still a real-mode data-type cache under CR0.PE = 1) that
// ends with the far jump making the state valid: the kvm profile stops at the same boundary,
// blocks or not.
TEST(BlockEngine, StopWhenValidStopsAtTheSameBoundary) {
    Pair p;
    // L: inc ax ; cmp ax, 300 ; jne L ; jmp far 0x08:0x1020 ; (0x1020) hlt
    p.load(kCode, {0x40, 0x3D, 0x2C, 0x01, 0x75, 0xFA, 0xEA, 0x20, 0x10, 0x08, 0x00});
    p.load(kCode + 0x20, {0xF4});
    p.load(0x600, {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0});
    CpuState s = start_state(Mode::Real16);
    s.cr0 |= cr0::PE;
    s[Seg::CS].access_rights = 0x93;
    s.gdtr = {.base = 0x600, .limit = 0xF};
    p.set_state(s);
    const Exit exit = p.run(RunLimits{.budget = 0, .stop_when_valid = vmx::Profile::Kvm});
    EXPECT_EQ(exit.reason, ExitReason::GuestStateValid);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 300u);
    EXPECT_EQ(p.blocks.emu.state().eip, kCode + 0x20);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 500u);
}

// ---- random programs

// Random encodings of the forms the engine translates (and some it does not), with random
// ModRM bytes, displacements, prefixes and registers, looping back to the start; segments with
// random bases, limits and types. Memory operands land in the code (self-modifying stores),
// in the read-only slot, beyond RAM (MMIO) and beyond the limits (faults).
class ProgramGenerator {
  public:
    ProgramGenerator(uint32_t seed, Mode mode) : engine_(seed), mode_(mode) {}

    std::vector<uint8_t> program() {
        std::vector<uint8_t> code;
        const int count = 4 + static_cast<int>(rng_() % 14);
        for (int i = 0; i < count; ++i)
            append_instruction(code);
        // jmp start (rel16/rel32 by the code size; in 32-bit code rel32)
        const bool code32 = block_test::code32(mode_);
        const auto rel = static_cast<int32_t>(-(code.size() + (code32 ? 5 : 3)));
        code.push_back(0xE9);
        for (int b = 0; b < (code32 ? 4 : 2); ++b)
            code.push_back(static_cast<uint8_t>(rel >> (8 * b)));
        return code;
    }

    CpuState state() {
        CpuState s = start_state(mode_);
        for (uint32_t& r : s.gpr)
            r = register_value();
        s[Gpr::ESP] = 0x8000;
        s.eflags |= static_cast<uint32_t>(rng_()) & flags::Status;
        for (Seg seg : {Seg::DS, Seg::ES, Seg::SS, Seg::FS, Seg::GS})
            randomize(s, seg);
        return s;
    }

    uint64_t budget() { return 1 + rng_() % 3000; }

    // Paged modes: random rights and accessed and dirty flags over the first 4 MiB; pages that
    // alias the code (kCodeAlias, and all of RAM through the 4-MByte page at kLargeAlias),
    // pages that are not present, read-only (CR0.WP at random) or supervisor-only, RAM, ROM
    // and MMIO behind them. The tables themselves are not mapped: translations never change
    // under the program, so both machines see the same walks whatever their TLBs keep (the
    // SDM lets a TLB keep a stale entry, 4.10.4.3).
    // With PAE, some pages have XD set, and EFER.NXE is set at random (without it XD is a
    // reserved bit: #PF with RSVD).
    void load_random_page_tables(Pair& p, CpuState& s) {
        using namespace pte;
        const bool pae = mode_ == Mode::PagedPae32;
        const auto flags = [this] { return (rng_() % 2 ? A : 0) | (rng_() % 2 ? D : 0); };
        const uint32_t pde = P | RW | US | (rng_() % 2 ? A : 0);
        const uint32_t large = P | RW | US | flags();
        load_page_tables(p, s, pae, pde, large, [&](uint32_t page) -> uint64_t {
            uint32_t frame = page << 12;
            uint32_t rights = P | RW | US;
            const uint32_t pick = rng_() % 16;
            if (page == kCodeAlias >> 12) {
                frame = kCode;
            } else if (page == kCode >> 12 || page == 0x7) {
                // the code and the stack: present, the program's
            } else if (page_table_page(page) || pick == 0) {
                return 0;
            } else if (page >= 0x100 && pick < 12) {
                return 0; // mostly nothing above 1 MiB (MMIO where there is)
            } else if (pick == 1) {
                rights &= ~RW;
            } else if (pick == 2) {
                rights &= ~US;
            } else if (pick == 3) {
                frame = (rng_() % 0x100) << 12; // another page of the first MiB
            } else if (pae && pick == 4) {
                return frame | rights | flags() | XD;
            }
            return frame | rights | flags();
        });
        if (rng_() % 2) s.cr0 |= cr0::WP;
        if (pae && rng_() % 4 != 0) s.efer |= efer::NXE;
    }

  private:
    uint32_t register_value() {
        if (paged(mode_) && rng_() % 3 == 0) {
            switch (rng_() % 3) { // stores into the code through other linear addresses
            case 0: return kCodeAlias + rng_() % 0x40;
            case 1: return kLargeAlias + kCode + rng_() % 0x40;
            default: return kLargeAlias + rng_() % 0x100000;
            }
        }
        switch (rng_() % 5) {
        case 0: return rng_() % 0x400;
        case 1: return 0xFFF0 + rng_() % 0x20;
        case 2: return kCode + rng_() % 0x40; // the code: self-modifying stores
        case 3: return 0xE0000 + rng_() % 0x20000;
        default: return static_cast<uint32_t>(rng_());
        }
    }

    void randomize(CpuState& s, Seg seg) {
        SegmentCache& sc = s[seg];
        const uint32_t choice = rng_() % 10;
        sc.base = choice < 4 ? 0 : (rng_() % 0x10) << 16 | (rng_() % 0x10) << 4;
        if (choice == 9)
            sc.limit = 0xFFFFFFFF; // unreal / flat
        else if (choice == 8)
            sc.limit = rng_() % 0x2000;
        const bool protected_mode =
            mode_ == Mode::Protected32 || mode_ == Mode::Protected16 || paged(mode_);
        if (protected_mode && seg != Seg::SS) {
            const uint32_t types[] = {0x93, 0x93, 0x91, 0x9B, 0x99, 0x97, ar::kUnusable};
            sc.access_rights = types[rng_() % std::size(types)] | (sc.access_rights & 0xC000);
        } else if (rng_() % 12 == 0) {
            sc.access_rights = (sc.access_rights & ~0xFu) | 0x7; // expand-down data
        }
    }

    uint8_t byte() { return static_cast<uint8_t>(rng_()); }

    // A ModRM byte and the displacement its mod/rm select (16- or 32-bit addressing).
    void modrm(std::vector<uint8_t>& code, bool address32, int forced_reg = -1) {
        uint8_t m = byte();
        if (forced_reg >= 0) m = static_cast<uint8_t>((m & 0xC7) | (forced_reg << 3));
        code.push_back(m);
        const uint8_t mod = m >> 6, rm = m & 7;
        if (mod == 3) return;
        int disp = mod == 1 ? 1 : mod == 2 ? (address32 ? 4 : 2) : 0;
        if (address32 && rm == 4) { // SIB
            const uint8_t sib = byte();
            code.push_back(sib);
            if (mod == 0 && (sib & 7) == 5) disp = 4;
        }
        if (mod == 0 && !address32 && rm == 6) disp = 2;
        if (mod == 0 && address32 && rm == 5) disp = 4;
        for (int i = 0; i < disp; ++i)
            code.push_back(i == 0 ? byte() : static_cast<uint8_t>(rng_() % 3 == 0 ? byte() : 0));
    }

    void immediate(std::vector<uint8_t>& code, int bytes) {
        for (int i = 0; i < bytes; ++i)
            code.push_back(byte());
    }

    // call sub ; jmp short over ; sub: <one register instruction> ; ret [imm16] ; over:
    void append_subroutine_call(std::vector<uint8_t>& code, bool operand32) {
        const bool ret_imm = rng_() % 4 == 0;
        const uint8_t body = static_cast<uint8_t>(2 + (ret_imm ? 3 : 1));
        code.push_back(0xE8); // call rel16/rel32 (with the operand size), to sub
        for (int b = 0; b < (operand32 ? 4 : 2); ++b)
            code.push_back(b == 0 ? 2 : 0);
        code.push_back(0xEB); // jmp short over
        code.push_back(body);
        code.push_back(static_cast<uint8_t>((rng_() % 8) << 3 | 1)); // add/or/.. r, r
        code.push_back(static_cast<uint8_t>(0xC0 | (rng_() % 64)));
        if (ret_imm) {
            code.push_back(0xC2);
            code.push_back(static_cast<uint8_t>(rng_() % 3 * 2));
            code.push_back(0);
        } else {
            code.push_back(0xC3);
        }
    }

    void append_instruction(std::vector<uint8_t>& code) {
        const bool code32 = block_test::code32(mode_);
        bool operand32 = code32, address32 = code32;
        if (rng_() % 8 == 0) {
            code.push_back(0x66);
            operand32 = !operand32;
        }
        if (rng_() % 10 == 0) {
            code.push_back(0x67);
            address32 = !address32;
        }
        if (rng_() % 6 == 0) {
            const uint8_t overrides[] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
            code.push_back(overrides[rng_() % 6]);
        }
        const int imm_v = operand32 ? 4 : 2;
        switch (rng_() % 31) {
        case 0:
        case 1: // add/or/adc/sbb/and/sub/xor/cmp r/m, r and r, r/m
            code.push_back(static_cast<uint8_t>((rng_() % 8) << 3 | (rng_() % 4)));
            modrm(code, address32);
            break;
        case 2: { // 80 / 81 / 83 group 1 with an immediate
            const uint8_t op = std::array<uint8_t, 3>{0x80, 0x81, 0x83}[rng_() % 3];
            code.push_back(op);
            modrm(code, address32);
            immediate(code, op == 0x81 ? imm_v : 1);
            break;
        }
        case 3:
        case 4: // mov r/m, r ; mov r, r/m
            code.push_back(static_cast<uint8_t>(0x88 + rng_() % 4));
            modrm(code, address32);
            break;
        case 5: { // mov r/m, imm
            const bool byte_form = rng_() % 2;
            code.push_back(byte_form ? 0xC6 : 0xC7);
            modrm(code, address32, 0);
            immediate(code, byte_form ? 1 : imm_v);
            break;
        }
        case 6: // mov r, imm ; inc r ; dec r
            if (rng_() % 2) {
                const uint8_t op = static_cast<uint8_t>(0xB0 + rng_() % 16);
                code.push_back(op);
                immediate(code, op < 0xB8 ? 1 : imm_v);
            } else {
                code.push_back(static_cast<uint8_t>(0x40 + rng_() % 16));
            }
            break;
        case 7: // inc r/m ; dec r/m
            code.push_back(rng_() % 2 ? 0xFE : 0xFF);
            modrm(code, address32, static_cast<int>(rng_() % 2));
            break;
        case 8: // lea r, m
            code.push_back(0x8D);
            modrm(code, address32);
            if ((code[code.size() - 1] >> 6) == 3) code.back() &= 0x3F;
            break;
        case 9: // test r/m, r ; test al/eax, imm
            if (rng_() % 2) {
                code.push_back(rng_() % 2 ? 0x84 : 0x85);
                modrm(code, address32);
            } else {
                code.push_back(rng_() % 2 ? 0xA8 : 0xA9);
                immediate(code, code.back() == 0xA8 ? 1 : imm_v);
            }
            break;
        case 10: // jcc rel8 over 0..2 bytes (a block end that falls through or skips a nop)
            code.push_back(static_cast<uint8_t>(0x70 + rng_() % 16));
            code.push_back(0);
            break;
        case 11: // mov al/ax, moffs ; mov moffs, al/ax
            code.push_back(static_cast<uint8_t>(0xA0 + rng_() % 4));
            immediate(code, address32 ? 4 : 2);
            break;
        case 12: { // flags: sahf, lahf, clc, stc, cmc, nop
            const uint8_t ops[] = {0x9E, 0x9F, 0xF8, 0xF9, 0xF5, 0x90};
            code.push_back(ops[rng_() % std::size(ops)]);
            break;
        }
        case 13: { // xchg r, r/m (with memory: an atomic exchange), push imm8/imm, push m
            const uint32_t pick = rng_() % 4;
            if (pick == 0) {
                code.push_back(static_cast<uint8_t>(0x86 + rng_() % 2));
                modrm(code, address32);
            } else if (pick == 1) {
                code.push_back(0x6A);
                code.push_back(byte());
            } else if (pick == 2) {
                code.push_back(0x68);
                immediate(code, imm_v);
            } else {
                code.push_back(0xFF);
                modrm(code, address32, 6);
            }
            break;
        }
        case 14: // call a subroutine of one instruction: call sub ; jmp short over ; sub: ... ret
            append_subroutine_call(code, operand32);
            break;
        case 15: // push r ; pop r (any register, ESP included)
            code.push_back(static_cast<uint8_t>(0x50 + rng_() % 8));
            if (rng_() % 2) code.push_back(static_cast<uint8_t>(0x58 + rng_() % 8));
            break;
        case 16: // loop / loope / loopne / jcxz +0
            code.push_back(static_cast<uint8_t>(0xE0 + rng_() % 4));
            code.push_back(0);
            break;
        case 17: { // movzx / movsx r, r/m8|16
            const uint8_t ops[] = {0xB6, 0xB7, 0xBE, 0xBF};
            code.push_back(0x0F);
            code.push_back(ops[rng_() % 4]);
            modrm(code, address32);
            break;
        }
        case 18: { // xchg r, r ; clc ; stc ; cmc ; ret (to whatever the stack holds) ; leave
            // (to whatever EBP holds) ; rdtsc
            const uint8_t ops[] = {0x87, 0x86, 0xF8, 0xF9, 0xF5, 0xC3, 0xC9, 0x31};
            const uint8_t op = ops[rng_() % std::size(ops)];
            if (op == 0x31) code.push_back(0x0F);
            code.push_back(op);
            if (op == 0x87 || op == 0x86) code.push_back(static_cast<uint8_t>(0xC0 | rng_() % 64));
            break;
        }
        case 19: { // movs / cmps / stos / lods / scas, sometimes with REP, sometimes after STD
            const uint8_t ops[] = {0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF};
            if (rng_() % 6 == 0) code.push_back(rng_() % 2 ? 0xFD : 0xFC); // std / cld
            if (rng_() % 5 == 0) code.push_back(rng_() % 2 ? 0xF3 : 0xF2);
            code.push_back(ops[rng_() % std::size(ops)]);
            break;
        }
        case 20: { // rol/ror/rcl/rcr/shl/shr/sal/sar r/m, 1|cl|imm8 (C0 C1 D0 D1 D2 D3)
            const uint8_t ops[] = {0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3};
            const uint8_t op = ops[rng_() % std::size(ops)];
            code.push_back(op);
            modrm(code, address32);
            if (op <= 0xC1)
                code.push_back(rng_() % 4 == 0 ? byte() : static_cast<uint8_t>(rng_() % 9));
            break;
        }
        case 21: // not/neg/mul/imul/div/idiv r/m (F6 F7 /2../7; a #DE is the interpreter's)
            code.push_back(rng_() % 2 ? 0xF6 : 0xF7);
            modrm(code, address32, static_cast<int>(2 + rng_() % 6));
            break;
        case 22: // imul r, r/m ; imul r, r/m, imm8|imm
            if (rng_() % 2) {
                code.push_back(0x0F);
                code.push_back(0xAF);
                modrm(code, address32);
            } else {
                const bool imm8 = rng_() % 2;
                code.push_back(imm8 ? 0x6B : 0x69);
                modrm(code, address32);
                immediate(code, imm8 ? 1 : imm_v);
            }
            break;
        case 23: // setcc r/m8 ; cmovcc r, r/m
            code.push_back(0x0F);
            code.push_back(static_cast<uint8_t>((rng_() % 2 ? 0x90 : 0x40) + rng_() % 16));
            modrm(code, address32);
            break;
        case 24: { // cbw/cwde ; cwd/cdq ; pushf ; popf ; pushf ; (a random status image) popf
            const uint32_t pick = rng_() % 5;
            if (pick < 2) {
                code.push_back(pick == 0 ? 0x98 : 0x99);
            } else if (pick == 2) {
                code.push_back(0x9C);
                code.push_back(0x9D);
            } else if (pick == 3) {
                code.push_back(0x9D); // whatever the stack holds: often other flags, declined
            } else { // pushf ; pop eax ; xor eax, status ; push eax ; popf (the default size)
                code.push_back(0x9C);
                code.push_back(0x58);
                code.push_back(0x35);
                const uint32_t status = rng_() & 0x8D5; // OF SF ZF AF PF CF
                for (int b = 0; b < (code32 ? 4 : 2); ++b)
                    code.push_back(static_cast<uint8_t>(status >> (8 * b)));
                code.push_back(0x50);
                code.push_back(0x9D);
            }
            break;
        }
        case 25: // jmp r/m ; call r/m (near, indirect): mostly away from the loop
            if (rng_() % 4 != 0) return append_instruction(code);
            code.push_back(0xFF);
            modrm(code, address32, rng_() % 2 ? 2 : 4);
            break;
        case 26: { // in al|ax|eax, imm8|dx (no steady port here: always interpreted)
            const uint8_t ops[] = {0xE4, 0xE5, 0xEC, 0xED};
            const uint8_t op = ops[rng_() % std::size(ops)];
            code.push_back(op);
            if (op < 0xEC) code.push_back(byte());
            break;
        }
        case 27: { // shld/shrd r/m, r, imm8|cl (0F A4 0F A5 0F AC 0F AD)
            const uint8_t ops[] = {0xA4, 0xA5, 0xAC, 0xAD};
            const uint8_t op = ops[rng_() % std::size(ops)];
            code.push_back(0x0F);
            code.push_back(op);
            modrm(code, address32);
            if (op == 0xA4 || op == 0xAC)
                code.push_back(rng_() % 4 == 0 ? byte() : static_cast<uint8_t>(rng_() % 17));
            break;
        }
        case 28: // pusha ; popa (often right after: the registers back) ; pop m (8F /0)
            if (rng_() % 3 == 0) {
                code.push_back(0x8F);
                modrm(code, address32, 0);
                break;
            }
            code.push_back(0x60);
            if (rng_() % 2) code.push_back(0x61);
            break;
        case 29: { // push Sreg ; pop Sreg ; mov m16, Sreg ; mov ES/FS/GS, m16 (loads in real mode)
            const bool real = mode_ == Mode::Real16 || mode_ == Mode::RealCode32;
            const uint8_t sreg = static_cast<uint8_t>(rng_() % 6);
            const uint32_t pick = rng_() % 4;
            if (pick == 0 || (!real && pick != 2)) { // push es/cs/ss/ds/fs/gs
                const uint8_t pushes[][2] = {{0x06}, {0x0E},       {0x16},
                                             {0x1E}, {0x0F, 0xA0}, {0x0F, 0xA8}};
                code.push_back(pushes[sreg][0]);
                if (pushes[sreg][1]) code.push_back(pushes[sreg][1]);
            } else if (pick == 1) { // push ds ; pop es, or push ss ; pop ss (its shadow)
                const bool ss = rng_() % 3 == 0;
                code.push_back(ss ? 0x16 : 0x1E);
                code.push_back(ss ? 0x17 : 0x07);
            } else if (pick == 2) {
                code.push_back(0x8C);
                modrm(code, address32, sreg);
            } else {
                const uint8_t loads[] = {0, 4, 5}; // ES, FS, GS: the stack and DS stay put
                code.push_back(0x8E);
                modrm(code, address32, loads[rng_() % 3]);
            }
            break;
        }
        case 30: { // cpuid, after xor eax, eax (leaf 0) and inc eax (leaf 1), or on any EAX
            const uint32_t pick = rng_() % 3;
            if (pick < 2) {
                code.push_back(0x31);
                code.push_back(0xC0);
                if (pick == 1) code.push_back(0x40);
            }
            code.push_back(0x0F);
            code.push_back(0xA2);
            break;
        }
        default: // the common loop forms: register ALU and moves
            code.push_back(static_cast<uint8_t>((rng_() % 8) << 3 | 1));
            code.push_back(static_cast<uint8_t>(0xC0 | (rng_() % 64)));
            break;
        }
    }

    uint32_t rng_() { return static_cast<uint32_t>(engine_()); }

    std::mt19937 engine_;
    Mode mode_;
};

void run_random_programs(Mode mode, uint32_t seed, int count, uint64_t& in_blocks) {
    for (int i = 0; i < count; ++i) {
        ProgramGenerator gen(seed + static_cast<uint32_t>(i), mode);
        Pair p;
        p.load(kCode, gen.program());
        CpuState s = gen.state();
        if (paged(mode)) gen.load_random_page_tables(p, s);
        p.set_state(s);
        // Several runs with random budgets; MMIO completed, anything else ends the case.
        for (int run = 0; run < 12; ++run) {
            const Exit exit = p.run(RunLimits{.budget = gen.budget(),
                                              .stop_when_valid = std::nullopt,
                                              .exceptions_to_host = true});
            if (::testing::Test::HasFailure()) {
                ADD_FAILURE() << "seed " << seed + i << ", run " << run;
                return;
            }
            if (exit.reason == ExitReason::Mmio)
                p.complete_mmio(0x1234);
            else if (exit.reason != ExitReason::Budget)
                break;
        }
        in_blocks += p.blocks.emu.engine_stats().in_blocks;
    }
}

struct RandomCase {
    const char* name;
    Mode mode;
};

class BlockEngineRandom : public ::testing::TestWithParam<RandomCase> {};

// A number from the environment, or `fallback`: TRANSIT86_BLOCK_PROGRAMS and
// TRANSIT86_BLOCK_SEED turn this test into a longer campaign (docs/differential.md).
uint32_t from_environment(const char* name, uint32_t fallback) {
    const char* text = std::getenv(name);
    return text ? static_cast<uint32_t>(std::strtoul(text, nullptr, 0)) : fallback;
}

TEST_P(BlockEngineRandom, ProgramsMatchTheInterpreterRunByRun) {
    uint64_t in_blocks = 0;
    const uint32_t seed = from_environment("TRANSIT86_BLOCK_SEED", 0xB10C0000u) +
                          static_cast<uint32_t>(GetParam().mode) * 7919;
    const auto count = static_cast<int>(from_environment("TRANSIT86_BLOCK_PROGRAMS", 1000));
    run_random_programs(GetParam().mode, seed, count, in_blocks);
    // The comparison means something only if blocks ran: most of these loops are translated
    // (at 1000 programs 100,000 instructions in blocks is well under what every mode runs).
    EXPECT_GT(in_blocks, 100u * static_cast<uint64_t>(count));
}

INSTANTIATE_TEST_SUITE_P(Modes, BlockEngineRandom,
                         ::testing::Values(RandomCase{"Real16", Mode::Real16},
                                           RandomCase{"RealCode32", Mode::RealCode32},
                                           RandomCase{"Protected32", Mode::Protected32},
                                           RandomCase{"Protected16", Mode::Protected16},
                                           RandomCase{"Virtual8086", Mode::Virtual8086},
                                           RandomCase{"Paged32", Mode::Paged32},
                                           RandomCase{"PagedUser32", Mode::PagedUser32},
                                           RandomCase{"PagedPae32", Mode::PagedPae32}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

} // namespace

} // namespace transit86
