// The transit86 command line, parsed into the options of one subcommand. Parsing never exits
// the process, never opens a file and never throws: tests/fuzz/fuzz_cli.cpp calls it.
#pragma once

#include <cstdint>
#include <ostream>

#include "tools/commands.hpp"

namespace transit86::tools {

struct CommandLine {
    enum class Command : uint8_t { Exit, Step, Boot, Check, Explain, Sst, Corpus };
    Command command = Command::Exit;
    // Command::Exit: the status to exit with at once (0 after --help, kExitUsage for a bad
    // command line, whose one-line message went to `err`).
    int exit_status = 0;
    StepOptions step;
    BootOptions boot;
    CheckOptions check;
    ExplainOptions explain;
    SstOptions sst;
    CorpusOptions corpus; // only with TRANSIT86_WITH_CORPUS
};

// Help goes to `out`, a usage error to `err` as "transit86: error: ...".
CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out,
                               std::ostream& err);

// Runs the parsed subcommand; returns the process exit status (docs/cli.md).
int run_command(const CommandLine& line);

// The whole program: main() is this.
int transit86_main(int argc, char** argv);

} // namespace transit86::tools
