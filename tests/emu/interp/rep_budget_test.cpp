// A REP string instruction does bounded work per unit of budget (emu/exec_string.cpp,
// docs/fuzzing.md): it stops every 1024 iterations, when the count's low 10 bits reach zero
// with iterations left, as KVM's x86_emulate_insn re-enters the guest "after each 1024
// iteration"; EIP stays at it and the next step resumes it. Each such chunk spends one unit of
// RunLimits::budget and is not counted in Exit::instructions, which counts retired instructions.
#include "machine.hpp"

namespace transit86::test {

namespace {

RunLimits limits(uint64_t budget) {
    return RunLimits{.budget = budget, .stop_when_valid = std::nullopt};
}

} // namespace

TEST(RepChunks, FirstChunkRunsToTheNextMultipleOf1024) {
    Machine m;
    m.load_code({0xF3, 0xAA, 0xF4}); // rep stosb; hlt
    m.gpr(Gpr::ECX) = 0x2345;
    m.gpr(Gpr::EDI) = 0x4000;
    const Exit exit = m.run(1);
    EXPECT_EQ(exit.reason, ExitReason::Budget);
    EXPECT_EQ(exit.instructions, 0u); // nothing retired yet
    EXPECT_EQ(m.eip(), kCode);        // the instruction restarts
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x2000u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x4345u);
}

TEST(RepChunks, ResumedChunksRetireTheInstructionOnce) {
    Machine m;
    m.load_code({0xF3, 0xAA, 0xF4}); // rep stosb; hlt
    m.gpr(Gpr::ECX) = 0x2345;
    m.gpr(Gpr::EDI) = 0x4000;
    const Exit exit = m.run(100);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(exit.instructions, 2u); // rep stosb and hlt, however many chunks
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x6345u);
}

TEST(RepChunks, EachChunkSpendsOneUnitOfBudget) {
    Machine m;
    m.load_code({0xF3, 0xAC}); // rep lodsb (16-bit addressing: CX)
    m.gpr(Gpr::ECX) = 0xFFFF;
    // 0xFFFF -> 0xFC00 (1023 iterations), then 63 chunks of 1024: 64 units in all.
    Exit exit = m.run(63);
    EXPECT_EQ(exit.reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x400u);
    exit = m.run(1);
    EXPECT_EQ(exit.instructions, 1u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
    EXPECT_EQ(m.eip(), kCode + 2);
}

TEST(RepChunks, AFullEcxIsBoundedByTheBudget) {
    Machine m(Mode::Protected32);
    m.load_code({0xF3, 0xAC}); // rep lodsb, ECX = 2^32 - 1 over a flat 4 GiB segment
    m.gpr(Gpr::ECX) = 0xFFFFFFFF;
    m.gpr(Gpr::ESI) = 0;
    const Exit exit = m.run(64);
    EXPECT_EQ(exit.reason, ExitReason::Budget);
    EXPECT_EQ(exit.instructions, 0u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0xFFFF0000u); // 1023 + 63 * 1024 iterations
    EXPECT_EQ(m.gpr(Gpr::ESI), 0xFFFFu);
}

TEST(RepChunks, RepeCompareStillEndsOnZfAfterARestart) {
    Machine m;
    m.load_code({0xF3, 0xAE, 0xF4}); // repe scasb; hlt: stops at the first byte that is not AL
    m.gpr(Gpr::ECX) = 0x2000;
    m.gpr(Gpr::EDI) = 0x4000;
    m.write8(0x4000 + 0x500, 0x01); // AL = 0 matches the zeros before it; restart at 0x1C00
    const Exit exit = m.run(10);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(exit.instructions, 2u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x2000u - 0x501u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x4501u);
}

TEST(RepChunks, SingleStepRunsEveryChunkOfOneInstruction) {
    Machine m;
    m.load_code({0xF3, 0xAA}); // rep stosb
    m.gpr(Gpr::ECX) = 0x1800;
    m.gpr(Gpr::EDI) = 0x4000;
    const Exit exit = m.emulator().run(
        RunLimits{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true});
    EXPECT_EQ(exit.reason, ExitReason::Step);
    EXPECT_EQ(exit.instructions, 1u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
}

TEST(RepChunks, ARestartDoesNotStopAtTheInstructionsOwnBreakpoint) {
    Machine m;
    m.load_code({0xF3, 0xAA, 0xF4}); // rep stosb; hlt
    m.gpr(Gpr::ECX) = 0x1800;
    m.gpr(Gpr::EDI) = 0x4000;
    const uint64_t breakpoints[] = {kCode};
    RunLimits l = limits(0);
    l.breakpoints = breakpoints;
    const Exit exit = m.emulator().run(l);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
}

} // namespace transit86::test
