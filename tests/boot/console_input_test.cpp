// Typing on the serial line (BootLimits::console_input, `transit86 boot --expect/--send`), on
// firmware written here byte by byte: each step is typed at the serial write that completes
// its text, in order, once; a step whose text never shows is never typed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/boot/handmade_bios.hpp"
#include "tools/boot/boot_machine.hpp"

namespace transit86::tools {
namespace {

// A BIOS (handmade_bios.hpp) that prints '>' on COM1, then echoes every byte the UART receives
// (polling LSR.DR); after a carriage return it prints '>' again, after a 'q' it halts with
// interrupts off.
std::vector<uint8_t> echo_bios() {
    const std::vector<uint8_t> code = {0xBA, 0xF8, 0x03, // E000 mov dx, 0x3f8
                                       0xB0, 0x3E,       // E003 mov al, '>'
                                       0xEE,             // E005 out dx, al
                                       0xBA, 0xFD, 0x03, // E006 mov dx, 0x3fd      (LSR)
                                       0xEC,             // E009 in al, dx
                                       0xA8, 0x01,       // E00A test al, 1         (data ready)
                                       0x74, 0xF8,       // E00C jz 0xe006
                                       0xBA, 0xF8, 0x03, // E00E mov dx, 0x3f8
                                       0xEC,             // E011 in al, dx          (RBR)
                                       0xEE,             // E012 out dx, al         (echo)
                                       0x3C, 0x0D,       // E013 cmp al, 0x0d
                                       0x74, 0xE9,       // E015 je 0xe000
                                       0x3C, 0x71,       // E017 cmp al, 'q'
                                       0x75, 0xEB,       // E019 jne 0xe006
                                       0xFA,             // E01B cli
                                       0xF4};            // E01C hlt
    return testing::handmade_bios(code);
}

struct TypedRun {
    BootEnd end;
    std::string console;
    std::vector<std::string> console_when_typed; // the console so far, at each step typed
    size_t typed = 0;
};

TypedRun run_typing(const std::vector<ConsoleInput>& steps) {
    pc::PcConfig config;
    config.bios = echo_bios();
    BootMachine machine(std::move(config), ResetPreset::Kvm, vmx::Profile::Kvm);
    TypedRun run;
    machine.on_serial = [&](const std::string& bytes) { run.console += bytes; };
    machine.on_console_input = [&](const ConsoleInput&) {
        run.console_when_typed.push_back(run.console);
    };
    BootLimits limits;
    limits.budget = 1'000'000;
    limits.console_input = steps;
    run.end = machine.run(limits);
    run.typed = machine.console_input_typed();
    return run;
}

TEST(ConsoleInput, EachStepIsTypedWhenItsTextHasShownAfterThePreviousStep) {
    // The second ">" is looked for after the first one's match: typed before it, "q" would
    // reach the UART with "ab\r" and be echoed in the same place, but at the wrong time.
    const TypedRun run = run_typing({{">", "ab\r"}, {">", "q"}});
    EXPECT_EQ(run.end.kind, BootEnd::Kind::Halted) << run.end.detail;
    EXPECT_EQ(run.console, ">ab\r>q");
    EXPECT_EQ(run.console_when_typed, (std::vector<std::string>{">", ">ab\r>"}));
    EXPECT_EQ(run.typed, 2u);
}

TEST(ConsoleInput, StepsWithoutTextAreTypedAtPowerOn) {
    const TypedRun run = run_typing({{"", "x"}, {"", "q"}});
    EXPECT_EQ(run.end.kind, BootEnd::Kind::Halted) << run.end.detail;
    EXPECT_EQ(run.console, ">xq");
    EXPECT_EQ(run.console_when_typed, (std::vector<std::string>{"", ""}));
}

TEST(ConsoleInput, AStepWhoseTextNeverShowsIsNotTypedNorAnyAfterIt) {
    const TypedRun run = run_typing({{">", "a"}, {"never shown", "\r"}, {">", "q"}});
    EXPECT_EQ(run.end.kind, BootEnd::Kind::Budget) << run.end.detail;
    EXPECT_EQ(run.console, ">a");
    EXPECT_EQ(run.typed, 1u);
}

TEST(ConsoleInput, TextSplitAcrossSerialWritesIsFound) {
    // "b\r>" spans three writes (echo, echo, prompt).
    const TypedRun run = run_typing({{"", "ab\r"}, {"b\r>", "q"}});
    EXPECT_EQ(run.end.kind, BootEnd::Kind::Halted) << run.end.detail;
    EXPECT_EQ(run.console, ">ab\r>q");
    EXPECT_EQ(run.console_when_typed.back(), ">ab\r>");
}

} // namespace
} // namespace transit86::tools
