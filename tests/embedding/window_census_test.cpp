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
    // Opens and closes one window at the current state (nothing runs in it).
    const CensusWindow& window() {
        census.begin(emu, emu.state(), census.windows().size() + 1);
        census.end(emu, emu.last_interpreted(), census.windows().size(), "valid");
        return census.windows().back();
    }

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

} // namespace
} // namespace transit86::test
