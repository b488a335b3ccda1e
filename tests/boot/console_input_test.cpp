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

// A BIOS (handmade_bios.hpp) that sets COM1 to 115200 8N1, prints '>', then echoes every byte
// the UART receives (polling LSR.DR); after a carriage return it prints '>' again, after a 'q'
// it halts with interrupts off.
std::vector<uint8_t> echo_bios() {
    const std::vector<uint8_t> code = {
        0xBA, 0xFB, 0x03, // E000 mov dx, 0x3fb      (LCR)
        0xB0, 0x80,       // E003 mov al, 0x80       (DLAB)
        0xEE,             // E005 out dx, al
        0xBA, 0xF8, 0x03, // E006 mov dx, 0x3f8      (DLL)
        0xB0, 0x01,       // E009 mov al, 1          (115200 baud: 86.8 us a byte at 8N1)
        0xEE,             // E00B out dx, al
        0xBA, 0xFB, 0x03, // E00C mov dx, 0x3fb
        0xB0, 0x03,       // E00F mov al, 3          (8N1, DLAB off)
        0xEE,             // E011 out dx, al
        0xBA, 0xF8, 0x03, // E012 mov dx, 0x3f8
        0xB0, 0x3E,       // E015 mov al, '>'
        0xEE,             // E017 out dx, al
        0xBA, 0xFD, 0x03, // E018 mov dx, 0x3fd      (LSR)
        0xEC,             // E01B in al, dx
        0xA8, 0x01,       // E01C test al, 1         (data ready)
        0x74, 0xF8,       // E01E jz 0xe018
        0xBA, 0xF8, 0x03, // E020 mov dx, 0x3f8
        0xEC,             // E023 in al, dx          (RBR)
        0xEE,             // E024 out dx, al         (echo)
        0x3C, 0x0D,       // E025 cmp al, 0x0d
        0x74, 0xE9,       // E027 je 0xe012
        0x3C, 0x71,       // E029 cmp al, 'q'
        0x75, 0xEB,       // E02B jne 0xe018
        0xFA,             // E02D cli
        0xF4};            // E02E hlt
    return testing::handmade_bios(code);
}

struct TypedRun {
    BootEnd end;
    std::string console;
    std::vector<uint64_t> output_at;             // the instruction count at each console write
    std::vector<std::string> console_when_typed; // the console so far, at each step typed
    size_t typed = 0;
};

// A byte comes off the line every 86,800 instructions (1,041,660 before the BIOS sets the rate).
// Typed back to back (the line's rate) unless `gap_ns` says otherwise.
TypedRun run_typing(const std::vector<ConsoleInput>& steps, uint64_t budget = 20'000'000,
                    uint64_t gap_ns = 0) {
    pc::PcConfig config;
    config.bios = echo_bios();
    BootMachine machine(std::move(config), ResetPreset::Kvm, vmx::Profile::Kvm);
    TypedRun run;
    machine.on_serial = [&](const std::string& bytes) {
        run.console += bytes;
        run.output_at.push_back(machine.instructions());
    };
    machine.on_console_input = [&](const ConsoleInput&) {
        run.console_when_typed.push_back(run.console);
    };
    BootLimits limits;
    limits.budget = budget;
    limits.console_input = steps;
    limits.console_input_gap_ns = gap_ns;
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
    const TypedRun run = run_typing({{">", "a"}, {"never shown", "\r"}, {">", "q"}}, 2'000'000);
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

// --send-gap: typed bytes come a gap apart (200 us here, longer than 115200 baud's 86.8 us); the
// BIOS echoes each as it comes (one instruction is one nanosecond).
TEST(ConsoleInput, TypedBytesComeTheGapApart) {
    const TypedRun run = run_typing({{">", "abq"}}, 20'000'000, 200'000);
    EXPECT_EQ(run.end.kind, BootEnd::Kind::Halted) << run.end.detail;
    EXPECT_EQ(run.console, ">abq");
    ASSERT_EQ(run.output_at.size(), 4u);
    for (size_t i = 2; i < 4; ++i) {
        const uint64_t apart = run.output_at[i] - run.output_at[i - 1];
        EXPECT_GE(apart, 200'000u - 20) << i;
        EXPECT_LE(apart, 200'000u + 20) << i;
    }
}

} // namespace
} // namespace transit86::tools
