// A boot on transit86 is reproducible byte for byte (issue 13: virtual time from retired
// instructions, HLT skipping to the next timer event, no host input): the same boot twice gives
// the same console, census and final state, and stopping a boot and going on from there changes
// nothing. SeaBIOS's POST is the workload: it programs the PIT, takes timer interrupts, halts,
// reads the RTC and the PM timer, and switches between real and protected mode thousands of
// times. Skips, with the reason, when Debian's seabios is missing.
#include <gtest/gtest.h>

#include <boot_files.hpp>

#include <string>
#include <vector>

#include "tools/boot/boot_config.hpp"
#include "tools/boot/boot_machine.hpp"
#include "tools/formats/state_json.hpp"

namespace transit86::tools {
namespace {

namespace files = transit86::boot_files;

constexpr const char* kMarker = "No bootable device.";

struct BootRecord {
    std::string console;
    std::vector<std::string> windows; // "first..last failing" per window
    uint64_t instructions = 0;
    uint64_t virtual_ns = 0;
    std::string final_state;
};

class SeaBiosBoot : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!files::seabios_skip_reason.empty()) GTEST_SKIP() << files::seabios_skip_reason;
        options_.machine.bios = std::string(files::seabios_bin);
    }

    std::unique_ptr<BootMachine> make_machine() {
        auto machine = std::make_unique<BootMachine>(make_platform_config(options_),
                                                     options_.preset, options_.profile);
        machine->on_serial = [this](const std::string& bytes) { console_ += bytes; };
        return machine;
    }

    BootRecord record(const BootMachine& machine) {
        BootRecord r{.console = console_,
                     .windows = {},
                     .instructions = machine.instructions(),
                     .virtual_ns = machine.virtual_ns(),
                     .final_state = dump_json(state_to_json(machine.emulator().state()))};
        for (const CensusWindow& w : machine.census().windows())
            r.windows.push_back(std::to_string(w.first.index) + ".." +
                                std::to_string(w.last.index) + " " + w.first.text + " " +
                                std::to_string(w.failing.size()));
        console_.clear();
        return r;
    }

    BootRecord boot_to_marker() {
        auto machine = make_machine();
        const BootEnd end = machine->run({.stop_at_console = kMarker});
        EXPECT_EQ(end.kind, BootEnd::Kind::ConsoleText) << end.detail;
        return record(*machine);
    }

    BootOptions options_;
    std::string console_;
};

TEST_F(SeaBiosBoot, TheSameBootTwiceIsIdentical) {
    const BootRecord first = boot_to_marker();
    const BootRecord second = boot_to_marker();
    EXPECT_NE(first.console.find(kMarker), std::string::npos);
    EXPECT_GT(first.windows.size(), 10u);
    EXPECT_EQ(first.console, second.console);
    EXPECT_EQ(first.windows, second.windows);
    EXPECT_EQ(first.instructions, second.instructions);
    EXPECT_EQ(first.virtual_ns, second.virtual_ns);
    EXPECT_EQ(first.final_state, second.final_state);
}

// A host that stops the boot (a budget, a debugger) and resumes it must not perturb it: the
// platform's timers are driven by the instruction count, never by how the runs are cut.
TEST_F(SeaBiosBoot, StoppingAndResumingChangesNothing) {
    const BootRecord whole = boot_to_marker();
    auto machine = make_machine();
    for (const uint64_t pause : {1'000'003u, 1'523'310u, 3'333'333u}) {
        const BootEnd end = machine->run({.budget = pause, .stop_at_console = kMarker});
        ASSERT_EQ(end.kind, BootEnd::Kind::Budget) << end.detail;
        ASSERT_EQ(machine->instructions(), pause);
    }
    const BootEnd end = machine->run({.stop_at_console = kMarker});
    EXPECT_EQ(end.kind, BootEnd::Kind::ConsoleText) << end.detail;
    const BootRecord resumed = record(*machine);
    EXPECT_EQ(resumed.console, whole.console);
    EXPECT_EQ(resumed.instructions, whole.instructions);
    EXPECT_EQ(resumed.virtual_ns, whole.virtual_ns);
    EXPECT_EQ(resumed.final_state, whole.final_state);
    // A pause inside a window closes it there ("stopped: budget") and the resumed run opens the
    // rest as a new one, so only the windows that do not straddle a pause compare one to one.
    EXPECT_GE(resumed.windows.size(), whole.windows.size());
    EXPECT_LE(resumed.windows.size(), whole.windows.size() + 3);
}

} // namespace
} // namespace transit86::tools
