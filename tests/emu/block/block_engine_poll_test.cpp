// Polling loops (docs/architecture.md, "Polling loops"): IN from a port whose PortHandler
// promises a steady value runs in the block engine, and a loop that returns to the state it
// started from is retired whole iterations at a time. Both must give exactly what the
// interpreter gives when it performs every IN through access(): the same exits, instruction
// counts, CpuState and RAM, and the same values read at the same instruction counts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "block/block_pair.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

namespace {

using namespace block_test;

// A port that reads `before` until the CPU's TSC reaches `change_at`, then `after` (GRUB's
// PIT wait: port 0x61 bit 5 rises when channel 2 counts out). Time is the TSC of the emulator
// it serves, so the value an IN reads depends only on the instructions retired before it.
class TimedPort final : public PortHandler {
  public:
    TimedPort(uint16_t port, uint8_t before, uint8_t after, uint64_t change_at)
        : port_(port), before_(before), after_(after), change_at_(change_at) {}
    void attach(const Emulator& emulator) { emulator_ = &emulator; }

    Result access(PortAccess& access) override {
        ++accesses;
        reads.push_back(now());
        access.data = access.port == port_ ? value_at(now()) : 0xFF;
        return Result::Handled;
    }
    uint64_t steady_read(PortAccess& access) override {
        ++promises;
        if (access.port != port_ || access.size != 1) return 0;
        access.data = value_at(now());
        return now() < change_at_ ? change_at_ - now() : uint64_t{1} << 40;
    }

    uint64_t accesses = 0;
    uint64_t promises = 0;
    std::vector<uint64_t> reads; // the TSC of each access()

  private:
    uint64_t now() const { return emulator_->state().tsc; }
    uint8_t value_at(uint64_t tsc) const { return tsc < change_at_ ? before_ : after_; }

    uint16_t port_;
    uint8_t before_, after_;
    uint64_t change_at_;
    const Emulator* emulator_ = nullptr;
};

// The pair of block_pair.hpp, each machine with its own TimedPort.
struct PolledPair {
    PolledPair(uint64_t change_at)
        : block_port(0x61, 0x00, 0x20, change_at), interpreter_port(0x61, 0x00, 0x20, change_at),
          blocks(true, &block_port), interpreter(false, &interpreter_port) {
        block_port.attach(blocks.emu);
        interpreter_port.attach(interpreter.emu);
    }
    void load(const std::vector<uint8_t>& bytes) {
        for (Machine* m : {&blocks, &interpreter})
            std::memcpy(m->ram.data() + host_offset(kCode), bytes.data(), bytes.size());
    }
    void set_state(const CpuState& s) {
        blocks.emu.state() = s;
        interpreter.emu.state() = s;
    }
    Exit run(const RunLimits& limits) { return run_both(blocks, interpreter, limits); }

    TimedPort block_port, interpreter_port;
    Machine blocks, interpreter;
};

// L: in al, 0x61 ; test al, 0x20 ; je L ; hlt
const std::vector<uint8_t> kPitWait = {0xE4, 0x61, 0xA8, 0x20, 0x74, 0xFA, 0xF4};

TEST(PollingLoop, PitWaitRetiresTheSameInstructionsWithFewAccesses) {
    for (const uint64_t change_at : {0ull, 1ull, 2ull, 5ull, 1000ull, 1'999'999ull}) {
        PolledPair p(change_at);
        p.load(kPitWait);
        p.set_state(start_state(Mode::Real16));
        const Exit exit = p.run(kRunToHost);
        EXPECT_EQ(exit.reason, ExitReason::Halt) << change_at;
        // The last IN is the first to read the new value: it starts at or after change_at,
        // less than one iteration (3 instructions) later.
        ASSERT_FALSE(p.interpreter_port.reads.empty());
        const uint64_t last_read = p.interpreter_port.reads.back();
        EXPECT_GE(last_read, change_at);
        EXPECT_LT(last_read, change_at + 3);
        EXPECT_EQ(p.block_port.reads.back(), last_read) << change_at;
        // Every iteration went through access() in the interpreter; with the promise, only a
        // few did (the first, and the one that read the new value).
        EXPECT_EQ(p.interpreter_port.accesses, last_read / 3 + 1);
        EXPECT_LE(p.block_port.accesses, 3u) << change_at;
        if (change_at > 1000) {
            EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, change_at / 2);
        }
    }
}

TEST(PollingLoop, BudgetsStopAtTheSameInstructionInsideASkippedStretch) {
    PolledPair p(100'000);
    p.load(kPitWait);
    p.set_state(start_state(Mode::Real16));
    for (const uint64_t budget :
         {1ull, 7ull, 100ull, 3001ull, 50'000ull, 47'000ull, 1'000'000ull}) {
        const Exit exit = p.run(RunLimits{
            .budget = budget, .stop_when_valid = std::nullopt, .exceptions_to_host = true});
        if (exit.reason == ExitReason::Halt) break;
        EXPECT_EQ(exit.reason, ExitReason::Budget);
        EXPECT_EQ(exit.instructions, budget);
    }
    EXPECT_EQ(p.blocks.emu.state().eip, kCode + 7);
    EXPECT_EQ(p.block_port.reads.back(), p.interpreter_port.reads.back());
}

// L: in al, dx ; dec cx ; jnz L ; hlt — the loop's state changes every iteration (CX), so it
// is never retired in bulk, but its INs run in blocks on the promise.
TEST(PollingLoop, CountingLoopReadsThePortInBlocks) {
    PolledPair p(5000);
    p.load({0xEC, 0x49, 0x75, 0xFC, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::EDX] = 0x61;
    s[Gpr::ECX] = 3000;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(exit.instructions, 3u * 3000 + 1);
    EXPECT_EQ(p.interpreter_port.accesses, 3000u);
    EXPECT_LT(p.block_port.accesses, 10u);
}

// L: jmp L with interrupts off: a closed loop with no input runs to the budget at once.
TEST(PollingLoop, SpinLoopRunsToTheBudget) {
    PolledPair p(0);
    p.load({0xEB, 0xFE});
    p.set_state(start_state(Mode::Protected32));
    const Exit exit = p.run(RunLimits{.budget = 2'345'678, .stop_when_valid = std::nullopt});
    EXPECT_EQ(exit.reason, ExitReason::Budget);
    EXPECT_EQ(exit.instructions, 2'345'678u);
    EXPECT_EQ(p.blocks.emu.state().tsc, p.interpreter.emu.state().tsc);
    // Far more than the block engine could run one by one in a test's time.
    const Exit more =
        p.blocks.emu.run(RunLimits{.budget = 123'456'789'000, .stop_when_valid = std::nullopt});
    EXPECT_EQ(more.reason, ExitReason::Budget);
    EXPECT_EQ(more.instructions, 123'456'789'000u);
}

// Another port in the same loop: the promise is for 0x61 only; 0x60 goes through access().
TEST(PollingLoop, OtherPortsAreNotCovered) {
    PolledPair p(2000);
    // L: in al, 0x60 ; in al, 0x61 ; test al, 0x20 ; je L ; hlt
    p.load({0xE4, 0x60, 0xE4, 0x61, 0xA8, 0x20, 0x74, 0xF8, 0xF4});
    p.set_state(start_state(Mode::Real16));
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.block_port.reads, p.interpreter_port.reads);
}

// TRANSIT86_NO_FAST_FORWARD: no promise is asked for, every IN calls access().
TEST(PollingLoop, EnvironmentSwitchTurnsItOff) {
    ASSERT_EQ(setenv("TRANSIT86_NO_FAST_FORWARD", "1", 1), 0);
    PolledPair p(3000);
    ASSERT_EQ(unsetenv("TRANSIT86_NO_FAST_FORWARD"), 0);
    p.load(kPitWait);
    p.set_state(start_state(Mode::Real16));
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.block_port.promises, 0u);
    EXPECT_EQ(p.block_port.reads, p.interpreter_port.reads);
}

// Above IOPL in protected mode the I/O permission bit map decides: no promise is used, the
// interpreter checks every IN (here the map allows the port).
TEST(PollingLoop, NoPromiseAboveIopl) {
    PolledPair p(900);
    p.load(kPitWait);
    CpuState s = start_state(Mode::Protected32);
    s[Seg::CS].access_rights |= 0x60; // DPL 3 code, CPL 3 with SS
    s[Seg::SS].access_rights |= 0x60;
    s[Seg::CS].selector |= 3;
    s[Seg::SS].selector |= 3;
    s.tr = cache(0x28, 0x9000, 0x2067, 0x8B); // a 32-bit TSS whose map base is 0 (zeros)
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception); // HLT at CPL 3: #GP, handed to the host
    EXPECT_EQ(p.block_port.promises, 0u);
    EXPECT_EQ(p.block_port.reads, p.interpreter_port.reads);
}

} // namespace

} // namespace transit86
