// libFuzzer target: the command line (tools::parse_command_line) and the image loader.
//
// Input: command-line words separated by '\n' up to the first NUL byte; what follows the NUL
// is the image `step` would load: it is loaded at the parsed load address and run from the
// parsed start for a few instructions. Parsing must never throw or exit; loading may only
// raise ImageError, which the CLI turns into exit status 2.
#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "tools/cli_options.hpp"
#include "tools/guest_image.hpp"
#include "pc/pc_ports.hpp"
#include "transit86/emulator.hpp"

namespace {

using namespace transit86;

void check(bool condition) {
    if (!condition) __builtin_trap();
}

void run_step_image(const tools::StepOptions& o, std::span<const uint8_t> image) {
    check(o.memory_mib >= 1 && o.memory_mib <= 4095);
    // The loader's checks are the same at any size; a few MiB keep the fuzzer fast.
    tools::GuestRam ram(std::min<uint64_t>(o.memory_mib, 1) << 20);
    try {
        ram.load(image, o.load_address, o.image);
    } catch (const tools::ImageError&) {
        return;
    }
    const RamSlot slot = ram.slot();
    pc::PcPorts ports;
    Emulator emu({&slot, 1}, &ports);
    emu.set_a20(!o.a20_off);
    ports.initial_a20(!o.a20_off);
    ports.on_a20 = [&emu](bool on) { emu.set_a20(on); };
    // As cmd_step.cpp starts a run.
    CpuState& s = emu.state();
    s = reset_state(o.preset);
    s[Seg::CS].selector = o.start_cs;
    s[Seg::CS].base = uint32_t{o.start_cs} << 4;
    s.eip = o.start_ip;
    const Exit exit = emu.run({.budget = 16, .stop_when_valid = o.profile});
    check(exit.instructions <= 16);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto* nul = std::find(data, data + size, uint8_t{0});
    std::vector<std::string> words{"transit86"};
    std::string word;
    for (const uint8_t* p = data; p != nul; ++p) {
        if (*p == '\n') {
            words.push_back(word);
            word.clear();
        } else {
            word += static_cast<char>(*p);
        }
    }
    if (!word.empty()) words.push_back(word);
    std::vector<const char*> argv;
    for (const std::string& w : words)
        argv.push_back(w.c_str());
    const std::span<const uint8_t> file(nul == data + size ? nul : nul + 1, data + size);

    std::ostringstream out, err;
    const tools::CommandLine line =
        tools::parse_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
    using Command = tools::CommandLine::Command;
    if (line.command == Command::Exit) {
        // Help (status 0), or exactly one "transit86: error: " line and status 2.
        const std::string e = err.str();
        check(line.exit_status == 0 || line.exit_status == tools::kExitUsage);
        if (line.exit_status == tools::kExitUsage)
            check(e.rfind("transit86: error: ", 0) == 0 &&
                  std::count(e.begin(), e.end(), '\n') == 1);
        return 0;
    }
    check(err.str().empty());
    if (line.command == Command::Step) run_step_image(line.step, file);
    return 0;
}
