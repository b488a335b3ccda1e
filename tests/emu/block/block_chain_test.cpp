// Block chaining (emu/block/block_engine.hpp, Block::successors): a block remembers the blocks
// that ran after it, and the next one is taken from there instead of the table. A link must
// not be followed once its block's bytes may have changed (a new epoch) or the block in its
// place was translated for another code segment. Each test first runs a block A that jumps to
// a block B, so that A links to B, then changes what B should be and enters A again; the
// interpreter (block_pair.hpp) says what the right result is. An interpreted store ends the
// epoch only when it reaches code the epoch has checked (GuestMemory::take_written), or any
// code when two slots share host memory; a port access ends it unless the device promises it
// wrote no guest memory (PortAccess::guest_memory_untouched).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "block/block_pair.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

namespace {

using namespace block_test;

constexpr RunLimits budget(uint64_t instructions) {
    return RunLimits{.budget = instructions, .stop_when_valid = std::nullopt};
}

// A: inc bx ; jmp B  (at kCode)
// B: add ax, 1 ; dec cx ; jnz A ; hlt  (at kCode + 0x10; the immediate at kCode + 0x12)
void load_a_jumps_to_b(Pair& p) {
    p.load(kCode, {0x43, 0xEB, 0x0D});
    p.load(kCode + 0x10, {0x83, 0xC0, 0x01, 0x49, 0x75, 0xEA, 0xF4});
}

// The same state with CS:EIP moved (the hidden base set directly, as a host may).
CpuState entered_at(const CpuState& from, uint32_t cs_base, uint32_t eip) {
    CpuState s = from;
    s[Seg::CS].base = cs_base;
    s.eip = eip;
    return s;
}

// The host rewrites B's immediate between two runs: a run is a new epoch, so A's link to B
// is not followed until B has been compared with memory again.
TEST(BlockChain, SuccessorRewrittenBetweenRunsIsComparedAgain) {
    Pair p;
    load_a_jumps_to_b(p);
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 1000;
    p.set_state(s);
    p.run(budget(300));
    p.load(kCode + 0x12, {0x05}); // add ax, 5
    p.set_state(entered_at(p.blocks.emu.state(), 0, kCode));
    const uint32_t ax_before = p.blocks.emu.state()[Gpr::EAX];
    p.run(budget(300));
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX] - ax_before, 5u * 60); // 60 passes of 5
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 400u);
}

// An interpreted XCHG in the loop rewrites B's immediate on every pass (5, 1, 5, ...): the
// epoch ends after it, and the block A ran before B must not lead into B's old translation.
// X: xchg [B + 2], dl ; A: inc bx ; jmp B ; B: add ax, 1 ; dec cx ; jnz X ; hlt
TEST(BlockChain, SuccessorRewrittenByAnInterpretedStoreIsComparedAgain) {
    Pair p;
    p.load(kCode, {0x86, 0x16, 0x12, 0x10, 0x43, 0xEB, 0x09});
    p.load(kCode + 0x10, {0x83, 0xC0, 0x01, 0x49, 0x75, 0xEA, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 200;
    s[Gpr::EDX] = 5;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 100u * 5 + 100u * 1);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 400u);
}

// A device that writes guest memory during a port access (DMA): the 30th OUT rewrites B's
// immediate. It says so by leaving PortAccess::guest_memory_untouched false for that access
// only (every other access promises it wrote nothing): the epoch ends after that OUT, and the
// link into B's old translation is not followed.
class DmaOnThirtiethOut final : public PortHandler {
  public:
    Result access(PortAccess& access) override {
        if (++outs == 30) (*ram)[host_offset(kCode + 0x12)] = 0x05; // add ax, 5
        access.guest_memory_untouched = outs != 30;
        return Result::Handled;
    }
    std::vector<uint8_t>* ram = nullptr;
    int outs = 0;
};

// X: out 0x80, al ; A: inc bx ; jmp B ; B: add ax, 1 ; dec cx ; jnz X ; hlt
TEST(BlockChain, SuccessorRewrittenByADeviceIsComparedAgain) {
    DmaOnThirtiethOut block_port, interpreter_port;
    Machine blocks(true, &block_port), interpreter(false, &interpreter_port);
    block_port.ram = &blocks.ram;
    interpreter_port.ram = &interpreter.ram;
    for (Machine* m : {&blocks, &interpreter}) {
        const uint8_t a[] = {0xE6, 0x80, 0x43, 0xEB, 0x0B};
        const uint8_t b[] = {0x83, 0xC0, 0x01, 0x49, 0x75, 0xEA, 0xF4};
        std::copy(std::begin(a), std::end(a), m->ram.begin() + host_offset(kCode));
        std::copy(std::begin(b), std::end(b), m->ram.begin() + host_offset(kCode + 0x10));
        CpuState s = start_state(Mode::Real16);
        s[Gpr::ECX] = 100;
        m->emu.state() = s;
    }
    EXPECT_EQ(run_both(blocks, interpreter, kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(blocks.emu.state()[Gpr::EAX], 29u * 1 + 71u * 5);
    EXPECT_GT(blocks.emu.engine_stats().in_blocks, 300u);
}

// B's place in the block table is taken by code at the same EIP under other code segments:
// CS.base 0x2001 and then 0x4002 (linear 0x3011 and 0x5012 fall in B's set, whose two entries
// they fill; B, compared longest ago, is the one replaced): add ax, 7 ; dec cx ; jnz. Back
// under CS.base 0, A's link names a block with B's EIP that is not B.
TEST(BlockChain, SuccessorReplacedUnderAnotherCodeSegmentIsNotFollowed) {
    Pair p;
    load_a_jumps_to_b(p);
    for (const uint32_t base : {0x2001u, 0x4002u})
        p.load(base + kCode + 0x10, {0x83, 0xC0, 0x07, 0x49, 0x75, 0xFA, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 1000;
    p.set_state(s);
    p.run(budget(300));
    for (const uint32_t base : {0x2001u, 0x4002u}) {
        p.set_state(entered_at(p.blocks.emu.state(), base, kCode + 0x10));
        p.run(budget(100));
    }
    const uint64_t translated = p.blocks.emu.engine_stats().blocks_translated;
    p.set_state(entered_at(p.blocks.emu.state(), 0, kCode));
    const uint32_t ax_before = p.blocks.emu.state()[Gpr::EAX];
    p.run(budget(300));
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX] - ax_before, 60u);
    // B was translated again: a code segment's block had taken its place.
    EXPECT_GT(p.blocks.emu.engine_stats().blocks_translated, translated);
}

// Guest memory whose second 64 KiB are the first 64 KiB again (one host buffer in two slots):
// a store through the alias changes code at the other address.
struct AliasedMachine {
    static constexpr uint32_t kAlias = 0x10000;
    explicit AliasedMachine(bool block_engine)
        : ram(kAlias), slots{RamSlot{.guest_phys = 0, .size = kAlias, .host = ram.data()},
                             RamSlot{.guest_phys = kAlias, .size = kAlias, .host = ram.data()}},
          emu(slots) {
        emu.set_decode_cache(block_engine);
    }
    std::vector<uint8_t> ram;
    std::vector<RamSlot> slots;
    Emulator emu;
};

// The loop of SuccessorRewrittenByAnInterpretedStoreIsComparedAgain with DS in the alias,
// X (4 or 5 bytes: 0x90 pads it) rewriting guest-physical 0x11012, which is B's immediate at
// 0x1012, outside the code the epoch has checked by address: 1, 5, 1, ... as XCHG with DL = 5
// or XOR with 4 leave it. Where slots alias, the block engine's own stores decline.
void run_alias_loop(const std::vector<uint8_t>& x) {
    AliasedMachine blocks(true);
    AliasedMachine interpreter(false);
    CpuState s = start_state(Mode::Real16);
    s[Seg::DS] = cache(0x1000, AliasedMachine::kAlias, 0xFFFF, 0x93);
    s[Gpr::ECX] = 200;
    s[Gpr::EDX] = 5;
    for (AliasedMachine* m : {&blocks, &interpreter}) {
        std::vector<uint8_t> x_a = x; // X ; A: inc bx ; jmp B
        x_a.resize(5, 0x90);
        x_a.insert(x_a.end(), {0x43, 0xEB, 0x08});
        const std::vector<uint8_t> b{0x83, 0xC0, 0x01, 0x49, 0x75, 0xEA, 0xF4};
        std::copy(x_a.begin(), x_a.end(), m->ram.begin() + kCode);
        std::copy(b.begin(), b.end(), m->ram.begin() + kCode + 0x10);
        m->emu.state() = s;
    }
    EXPECT_EQ(blocks.emu.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(interpreter.emu.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_TRUE(blocks.emu.state() == interpreter.emu.state());
    EXPECT_EQ(blocks.emu.state()[Gpr::EAX], 100u * 5 + 100u * 1);
    EXPECT_GT(blocks.emu.engine_stats().in_blocks, 400u);
}

TEST(BlockChain, SuccessorRewrittenByXchgThroughAnAliasSlotIsComparedAgain) {
    run_alias_loop({0x86, 0x16, 0x12, 0x10}); // xchg [0x1012], dl
}

TEST(BlockChain, SuccessorRewrittenByAluStoreThroughAnAliasSlotIsComparedAgain) {
    run_alias_loop({0x80, 0x36, 0x12, 0x10, 0x04}); // xor byte [0x1012], 4
}

// The block table has two entries per set (block_engine.cpp, block_set): at kCode, 0x3001 and
// 0x5002 blocks of one fetch mode share a set (with one entry per set, the first two shared
// it and evicted each other on every pass). A: inc bx ; jmp B  B: add ax, 1 ; dec cx ;
// jnz A ; hlt
TEST(BlockTable, TwoBlocksOfOneSetStayTranslated) {
    Pair p;
    p.load(kCode, {0x43, 0xE9, 0xFD, 0x1F});
    p.load(0x3001, {0x83, 0xC0, 0x01, 0x49, 0x0F, 0x85, 0xF7, 0xDF, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 1000;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 1000u);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 4000u);
    EXPECT_LE(p.blocks.emu.engine_stats().blocks_translated, 4u);
}

// Three blocks of one set in a loop evict one another on every pass; each eviction leaves a
// successor link naming an entry that now holds another block, which must not be followed.
// A: inc bx ; jmp B  B: add ax, 1 ; jmp C  C: dec cx ; jnz A ; hlt
TEST(BlockTable, ThreeBlocksOfOneSetGiveTheInterpretersResult) {
    Pair p;
    p.load(kCode, {0x43, 0xE9, 0xFD, 0x1F});
    p.load(0x3001, {0x83, 0xC0, 0x01, 0xE9, 0xFB, 0x1F});
    p.load(0x5002, {0x49, 0x0F, 0x85, 0xF9, 0xBF, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 300;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 300u);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EBX], 300u);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 1000u);
}

} // namespace

} // namespace transit86
