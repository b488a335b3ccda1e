// WindowCensus over a running Emulator (include/transit86/census.hpp): the instruction a window
// begins with is read from guest memory each time, also when the census reuses the description
// of an earlier window at the same place (a boot opens the same windows thousands of times).
#include <gtest/gtest.h>

#include <algorithm>

#include "guest.hpp"
#include "transit86/census.hpp"

namespace transit86::test {
namespace {

// kEnterAndLeaveWindow (guest.hpp) from stale_ss_state(): the run stops where the window
// begins, at the AND after the first `mov cr0, eax`.
constexpr uint32_t kWindowStart = kCode + 8;

class CensusOverEmulator : public ::testing::Test {
  protected:
    void SetUp() override {
        guest.load(kCode, kEnterAndLeaveWindow);
        VcpuState state = stale_ss_state();
        const Exit exit = emu.run(state, RunLimits{.budget = 0,
                                                   .stop_when_valid = std::nullopt,
                                                   .stop_when_invalid = vmx::Profile::Kvm});
        ASSERT_EQ(exit.reason, ExitReason::GuestStateInvalid);
    }
    // Opens one window at the current state in `c`, counts `length` instructions in it and
    // closes it (nothing runs: its last instruction is its first).
    const CensusWindow& window(WindowCensus& c, uint64_t length = 0) {
        c.begin(emu, emu.state(), c.count() + 1);
        c.add(length);
        c.end(emu, emu.last_interpreted(), c.count(), "valid");
        return *c.last();
    }
    const CensusWindow& window() { return window(census); }

    Guest guest;
    Emulator emu{guest.slots()};
    WindowCensus census{vmx::Profile::Kvm};
};

TEST_F(CensusOverEmulator, WindowBeginsWithTheInstructionAtCsEip) {
    const CensusWindow& w = window();
    EXPECT_EQ(w.first.linear, kWindowStart);
    EXPECT_EQ(w.first.text, "and al, 0xfe");
    EXPECT_EQ(w.first.length, 2u);
    EXPECT_NE(std::find(w.failing.begin(), w.failing.end(), "ss.rpl-eq-cs.rpl"), w.failing.end());
}

TEST_F(CensusOverEmulator, SamePlaceSameBytesGiveTheSameDescription) {
    const InstructionRef first = window().first;
    const InstructionRef again = window().first;
    EXPECT_EQ(again.index, 2u);
    EXPECT_EQ(again.text, first.text);
    EXPECT_EQ(again.bytes, first.bytes);
    EXPECT_EQ(census.windows()[1].failing, census.windows()[0].failing);
}

TEST_F(CensusOverEmulator, RewrittenCodeAtTheSamePlaceIsDescribedAnew) {
    EXPECT_EQ(window().first.text, "and al, 0xfe");
    const uint8_t or_al_fe[] = {0x0C, 0xFE};
    ASSERT_TRUE(emu.write_physical(kWindowStart, or_al_fe, sizeof or_al_fe));
    EXPECT_EQ(window().first.text, "or al, 0xfe");
    const uint8_t mov_al[] = {0xB0, 0x01, 0x90}; // one byte longer than before
    ASSERT_TRUE(emu.write_physical(kWindowStart, mov_al, sizeof mov_al));
    const CensusWindow& w = window();
    EXPECT_EQ(w.first.text, "mov al, 0x01");
    EXPECT_EQ(w.first.length, 2u);
}

// A census keeps the first `kept` windows; the counts, the longest and the last cover all.
TEST_F(CensusOverEmulator, WindowsBeyondTheKeptOnesAreCountedNotKept) {
    WindowCensus kept_two{vmx::Profile::Kvm, 2};
    for (const uint64_t length : {3, 1, 7, 7, 2})
        window(kept_two, length);
    EXPECT_EQ(kept_two.count(), 5u);
    ASSERT_EQ(kept_two.windows().size(), 2u);
    EXPECT_EQ(kept_two.windows()[1].length, 1u);
    EXPECT_EQ(kept_two.last()->number, 5u);
    EXPECT_EQ(kept_two.last()->length, 2u);
    EXPECT_EQ(kept_two.instructions_in_windows(), 20u);
    EXPECT_EQ(kept_two.longest()->number, 3u); // the first of the two of 7
    EXPECT_EQ(kept_two.longest()->length, 7u);
}

// Back to a mark (a debugger's reverse execution): the windows, counts, longest and last as
// they were, also for an open window that grew after the mark.
TEST_F(CensusOverEmulator, RewindGoesBackToTheMark) {
    for (const uint64_t kept : {uint64_t{10}, uint64_t{1}}) {
        WindowCensus c{vmx::Profile::Kvm, kept};
        window(c, 4);
        c.begin(emu, emu.state(), 10);
        c.add(2);
        const WindowCensus::Mark mark = c.mark();
        c.add(9);
        c.end(emu, emu.last_interpreted(), 20, "valid");
        window(c, 30);
        c.rewind(mark);
        EXPECT_EQ(c.count(), 2u) << kept;
        EXPECT_TRUE(c.in_window());
        EXPECT_EQ(c.windows().size(), std::min<uint64_t>(2, kept));
        EXPECT_EQ(c.last()->number, 2u);
        EXPECT_EQ(c.last()->length, 2u);
        EXPECT_EQ(c.last()->ended_by, "");
        EXPECT_EQ(c.instructions_in_windows(), 6u);
        EXPECT_EQ(c.longest()->number, 1u);
        c.add(5); // the open window now the longest
        EXPECT_EQ(c.longest()->number, 2u);
    }
}

} // namespace
} // namespace transit86::test
