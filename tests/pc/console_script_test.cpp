// The expect-style script of `transit86 boot --expect/--send` and kvm-vmm --pc
// (pc/console_script.hpp): which steps are due for which output, the command-line form.
#include "pc/console_script.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace transit86::pc {
namespace {

std::vector<std::string> sends(const std::vector<ConsoleStep>& steps) {
    std::vector<std::string> out;
    for (const ConsoleStep& step : steps)
        out.push_back(step.send);
    return out;
}

using Sends = std::vector<std::string>;

TEST(ConsoleScript, StepsWithoutTextAreDueAtOnceAndStopAtTheFirstThatWaits) {
    ConsoleScript script({{"", "a"}, {"", "b"}, {"> ", "c"}, {"", "d"}});
    EXPECT_EQ(sends(script.due("")), (Sends{"a", "b"}));
    EXPECT_EQ(script.typed(), 2u);
    EXPECT_EQ(sends(script.due("x>")), Sends{});
    EXPECT_EQ(sends(script.due(" y")), (Sends{"c", "d"})); // "> " across two outputs
    EXPECT_TRUE(script.finished());
    EXPECT_EQ(sends(script.due("> ")), Sends{});
}

TEST(ConsoleScript, EachTextIsLookedForAfterThePreviousMatch) {
    ConsoleScript script({{"grub> ", "1"}, {"grub> ", "2"}, {"grub> ", "3"}});
    // Two prompts in one output: two steps; the third waits for a third prompt.
    EXPECT_EQ(sends(script.due("grub> set\ngrub> ")), (Sends{"1", "2"}));
    EXPECT_EQ(sends(script.due("echo")), Sends{});
    EXPECT_EQ(sends(script.due("\ngrub> ")), Sends{"3"});
}

TEST(ConsoleScript, OutputBeforeAMatchIsNotSearchedAgain) {
    ConsoleScript script({{"A", "1"}, {"B", "2"}});
    EXPECT_EQ(sends(script.due("B..A")), Sends{"1"}); // the B came before the A
    EXPECT_EQ(sends(script.due("..")), Sends{});
    EXPECT_EQ(sends(script.due("B")), Sends{"2"});
}

TEST(ConsoleScript, NotTypedAreTheStepsLeft) {
    ConsoleScript script({{"x", "1"}, {"never", "2"}, {"", "3"}});
    script.due("x");
    ASSERT_EQ(script.not_typed().size(), 2u);
    EXPECT_EQ(not_typed_line(script.not_typed()),
              "input: 2 steps not typed: the console never showed \"never\"\n");
    EXPECT_EQ(not_typed_line({}), "");
}

TEST(ConsoleScriptBuilder, SendsTakeTheExpectsBeforeThem) {
    ConsoleScriptBuilder b;
    b.send("boot\\r");
    b.expect("A");
    b.expect("B"); // waited for in turn
    b.send("\\e[B");
    const std::vector<ConsoleStep> steps = b.finish();
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_EQ(steps[0].expect, "");
    EXPECT_EQ(steps[0].send, "boot\r");
    EXPECT_EQ(steps[1].expect, "A");
    EXPECT_EQ(steps[1].send, "");
    EXPECT_EQ(steps[2].expect, "B");
    EXPECT_EQ(steps[2].send, "\x1b[B");
    EXPECT_EQ(typed_line(steps[1]), "input: saw \"A\"\n");
    EXPECT_EQ(typed_line(steps[2]), "input: typed \"\\e[B\" after \"B\"\n");
    EXPECT_EQ(typed_line(steps[0]), "input: typed \"boot\\r\" at once\n");
}

TEST(ConsoleScriptBuilder, RefusesWhatTypesNothingOrCannotBeRead) {
    auto message = [](auto&& build) {
        try {
            ConsoleScriptBuilder b;
            build(b);
            b.finish();
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(message([](ConsoleScriptBuilder& b) { b.expect("grub> "); }),
              "--expect \"grub> \" has no --send after it");
    EXPECT_EQ(message([](ConsoleScriptBuilder& b) { b.expect(""); }),
              "--expect: the text is empty");
    EXPECT_EQ(message([](ConsoleScriptBuilder& b) { b.send(""); }), "--send: the text is empty");
    EXPECT_EQ(message([](ConsoleScriptBuilder& b) { b.send("\\q"); }),
              "--send \"\\q\": unknown escape \"\\q\" (\\r \\n \\t \\b \\e \\xHH \\\\)");
    EXPECT_EQ(message([](ConsoleScriptBuilder& b) { b.send("\\x4"); }),
              "--send \"\\x4\": \\x needs two hex digits");
    EXPECT_EQ(message([](ConsoleScriptBuilder& b) { b.send("a\\"); }),
              "--send \"a\\\": ends with a lone \\ (\\\\ types a backslash)");
}

TEST(ConsoleScriptBuilder, EscapesGiveTheirBytes) {
    EXPECT_EQ(decode_console_escapes("\\r\\n\\t\\b\\e\\\\\\x02\\x7F", "--send"),
              std::string("\r\n\t\b\x1b\\\x02\x7f"));
    EXPECT_EQ(typed_line({"", std::string("\x02\x7f", 2)}),
              "input: typed \"\\x02\\x7f\" at once\n");
}

} // namespace
} // namespace transit86::pc
