// Direct windows (emu/block/block_ops.hpp, DirectWindow): an access the checked path let
// through opens a range of its segment that later accesses reach without the checks. What
// decided the first access must still hold for the whole range when a later one uses it; the
// interpreter (block_pair.hpp) says what the right result is.
#include <gtest/gtest.h>

#include <vector>

#include "block/block_pair.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

namespace {

using namespace block_test;

// X: lidt [0x2000]                        (serializing: each pass starts a new epoch at A)
// A: mov [di], al ; inc al ; jmp B         (DI = B's immediate)
// B: add bx, imm8 ; dec dx ; jnz A ; mov dx, 2 ; dec cx ; jnz X ; hlt
// In each epoch, A's first store comes before B is compared with memory: it opens a write
// window over B. Comparing B makes it checked code, and the window must close, so that A's
// second store declines (the interpreter runs it, and B is compared again) instead of
// rewriting B behind its translation.
TEST(DirectWindow, WriteWindowClosesWhenTheCheckedCodeGrowsOverIt) {
    Pair p;
    p.load(0x2000, {0xFF, 0x03, 0, 0, 0, 0}); // the IDTR real mode starts with
    p.load(kCode, {0x0F, 0x01, 0x1E, 0x00, 0x20, 0x88, 0x05, 0xFE, 0xC0, 0xEB, 0x05});
    p.load(kCode + 0x10,
           {0x83, 0xC3, 0x00, 0x4A, 0x75, 0xEF, 0xBA, 0x02, 0x00, 0x49, 0x75, 0xE4, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::EAX] = 1;
    s[Gpr::ECX] = 50;
    s[Gpr::EDX] = 2;
    s[Gpr::EDI] = kCode + 0x12;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EBX], 100u * 101 / 2); // 1 + 2 + ... + 100
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 200u);
}

// L: mov [bx], al ; inc bx ; add al, [si] ; inc si ; dec cx ; jnz L ; hlt
// With DS.base 0xE1000, the store walks from RAM into the read-only slot at kRomBase (BX =
// 0xF000) and the load follows: the stores before it run through the window the first one
// opened, and each one there leaves it (an MMIO exit the host completes); the loads read on
// in the other slot.
TEST(DirectWindow, AccessesLeaveTheWindowAtTheSlotsEnd) {
    Pair p;
    p.load(kCode, {0x88, 0x07, 0x43, 0x02, 0x04, 0x46, 0x49, 0x75, 0xF7, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Seg::DS] = cache(0xE100, 0xE1000, 0xFFFF, 0x93);
    s[Gpr::EBX] = 0xEF00;
    s[Gpr::ESI] = 0xEF80;
    s[Gpr::ECX] = 0x180;
    p.set_state(s);
    int mmio_exits = 0;
    for (Exit e = p.run(kRunToHost); e.reason == ExitReason::Mmio; e = p.run(kRunToHost)) {
        EXPECT_TRUE(e.mmio_write);
        p.complete_mmio(0);
        if (++mmio_exits > 0x100) break;
    }
    EXPECT_EQ(mmio_exits, 0x80);                     // BX = 0xF000 .. 0xF07F
    EXPECT_EQ(p.blocks.emu.state().eip, kCode + 10); // after the HLT
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 500u);
}

} // namespace

} // namespace transit86
