// What `kvm-vmm --pc` prints against what `transit86 boot --preset kvm` prints for the same PC
// (build/bin/transit86, run as a program): the console lines and the census text go through
// the same public census text (transit86/census.hpp) and the same line layout (pc_report.hpp).
//   - On the KVM model (kvm_model.hpp: instruction clock, single-stepped everywhere) the event
//     sequence is transit86 boot's, so the output is its output line for line, but for the
//     first line (the program's own header), the wall time and block-engine share of the
//     summary (transit86's engine ran only the windows here) and the VMM's last line.
//   - On /dev/kvm (skipped where there is none) the program itself boots GRUB's disk: the same
//     console text, the same end, and every window it prints a shape of ends where one of
//     transit86 boot's shapes ends.
// And the program's bad-input paths, which need no KVM: one line and exit status 2.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "kvm_model.hpp"
#include "kvm_vm.hpp"
#include "pc_reference.hpp"
#include "pc_report.hpp"
#include "pc_vmm.hpp"

namespace kvm_vmm {
namespace {

using namespace testing_pc;

std::string shell_word(std::string_view word) {
    return "'" + std::string(word) + "'";
}

// "== census (kvm): 216 windows, ..., 5812508 instructions" without what depends on the host
// and on which engine ran the instructions: "(86.9% in the block engine), 1.10 s".
std::string without_engine_share_and_wall_time(const std::string& line) {
    if (line.rfind("== census", 0) != 0) return line;
    return line.substr(0, line.rfind(" instructions ("));
}

TEST(KvmVmmPcOutput, OnTheKvmModelSteppedEverywhereItIsTransit86BootsOutput) {
    if (!files::seabios_skip_reason.empty()) GTEST_SKIP() << files::seabios_skip_reason;
    const ProgramOutput cli = run_program(
        shell_word(TRANSIT86_CLI) + " boot --preset kvm --bios " + shell_word(files::seabios_bin) +
        " --timeout " + std::to_string(kSeabiosAloneNs / 1'000'000'000) +
        " --expect SeaBIOS --send x --expect 'Booting from' --send '\\r' --expect 'never shown'"
        " --send z 2>&1");
    ASSERT_EQ(cli.status, 1) << cli.out; // a timeout is not the end the boot asked for
    ASSERT_NE(cli.out.find("serial: No bootable device"), std::string::npos) << cli.out;
    ASSERT_NE(cli.out.find("input: typed \"\\r\" after \"Booting from\""), std::string::npos)
        << cli.out;

    std::string text;
    PcReport report([&](std::string_view s) { text += s; });
    PcVmmOptions options;
    options.step_everything = true;
    options.timeout_ns = kSeabiosAloneNs;
    options.on_serial = [&](const std::string& s) { report.serial(s); };
    options.on_debugcon = [&](const std::string& s) { report.debugcon(s); };
    options.on_device_log = [&](const std::string& line) { report.device_log(line); };
    options.on_window_end = [&](const transit86::CensusWindow& w) { report.window(w); };
    // Keys typed as the console shows text (SeaBIOS takes them as keystrokes and ignores them):
    // the input lines come at the same places.
    options.console_input = {{"SeaBIOS", "x"}, {"Booting from", "\r"}, {"never shown", "z"}};
    options.on_console_input = [&](const transit86::pc::ConsoleStep& step) { report.typed(step); };
    KvmModel model;
    const PcVmmResult result = run_pc(seabios_pc(false), options, model);
    report.end(result, 0.0);

    std::vector<std::string> expected = lines_of(cli.out), printed = lines_of(text);
    ASSERT_GE(expected.size(), 3u);
    ASSERT_GE(printed.size(), 2u);
    EXPECT_EQ(expected.front().rfind("transit86 boot: ", 0), 0u) << expected.front();
    expected.erase(expected.begin());
    EXPECT_EQ(printed.back().rfind("kvm-vmm: KVM exits ", 0), 0u) << printed.back();
    printed.pop_back();
    ASSERT_EQ(printed.size(), expected.size()) << text;
    for (size_t i = 0; i < printed.size(); ++i)
        ASSERT_EQ(without_engine_share_and_wall_time(printed[i]),
                  without_engine_share_and_wall_time(expected[i]))
            << "line " << i + 2 << " of transit86 boot's output";
}

// The lines of a program's output that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& out, const std::string& prefix) {
    std::vector<std::string> lines;
    for (const std::string& line : lines_of(out))
        if (line.rfind(prefix, 0) == 0) lines.push_back(line);
    return lines;
}

// The "last" lines of the windows printed whole, without the instruction number: where each
// shape ends.
std::set<std::string> shape_ends(const std::string& out) {
    std::set<std::string> ends;
    for (const std::string& line : lines_starting(out, "   last  #"))
        ends.insert(line.substr(line.find(' ', 10)));
    return ends;
}

TEST(KvmVmmPcOutput, OnKvmGrubsConsoleAndWindowEndsAreTransit86Boots) {
    if (!files::seabios_skip_reason.empty()) GTEST_SKIP() << files::seabios_skip_reason;
    if (!files::grub_echo_skip_reason.empty()) GTEST_SKIP() << files::grub_echo_skip_reason;
    if (auto why = KvmVm::unavailable_reason()) GTEST_SKIP() << *why;
    const std::string machine =
        " --bios " + shell_word(files::seabios_bin) + " --disk " + shell_word(files::grub_echo_img);
    const ProgramOutput cli =
        run_program(shell_word(TRANSIT86_CLI) + " boot --preset kvm --no-debugcon" + machine);
    const ProgramOutput vmm =
        run_program(shell_word(KVM_VMM_PROGRAM) + " --pc --no-debugcon" + machine);
    ASSERT_EQ(cli.status, 0) << cli.out;
    ASSERT_EQ(vmm.status, 0) << vmm.out;
    // SeaBIOS's last characters before GRUB takes the serial port over come with its timer
    // (src/sercon.c, sercon_lazy_flush): the lines are compared from GRUB's first marker on,
    // and SeaBIOS's before it as text without that last line.
    const std::vector<std::string> cli_console = lines_starting(cli.out, "serial: ");
    const std::vector<std::string> vmm_console = lines_starting(vmm.out, "serial: ");
    const auto from_grub = [](const std::vector<std::string>& lines) {
        for (size_t i = 0; i < lines.size(); ++i)
            if (lines[i].find("transit86-grub-marker") != std::string::npos)
                return std::vector<std::string>(lines.begin() + static_cast<long>(i) + 1,
                                                lines.end());
        return std::vector<std::string>();
    };
    EXPECT_FALSE(from_grub(cli_console).empty()) << cli.out;
    EXPECT_EQ(from_grub(vmm_console), from_grub(cli_console));
    EXPECT_EQ(lines_starting(vmm.out, "== end: ").at(0).substr(0, 40),
              lines_starting(cli.out, "== end: ").at(0).substr(0, 40));
    const std::set<std::string> expected = shape_ends(cli.out);
    for (const std::string& end : shape_ends(vmm.out))
        EXPECT_EQ(expected.count(end), 1u) << "kvm-vmm --pc printed a window ending at" << end;
}

TEST(KvmVmmPcProgram, AnUnreadableBiosOrDiskOrABadArgumentIsOneLineAndStatusTwo) {
    const std::string program = shell_word(KVM_VMM_PROGRAM);
    for (const std::string& arguments :
         {std::string(" --pc --bios /nonexistent/bios.bin"),
          " --pc --bios " + shell_word(files::seabios_bin) + " --disk /nonexistent/disk.img",
          std::string(" --pc --kernel /nonexistent/vmlinuz"), std::string(" --pc --boot n"),
          std::string(" --pc --memory 1"), std::string(" --pc --frobnicate")}) {
        const ProgramOutput out = run_program(program + arguments + " 2>&1 >/dev/null | head -1");
        const ProgramOutput status = run_program(program + arguments + " >/dev/null 2>&1; echo $?");
        EXPECT_EQ(status.out, "2\n") << arguments;
        EXPECT_EQ(out.out.rfind("kvm-vmm: ", 0), 0u) << arguments << ": " << out.out;
    }
}

} // namespace
} // namespace kvm_vmm
