// The transit86 program: parse the command line, run the subcommand, and turn every error
// about the input into one line on standard error and exit status 2 (docs/bad-input.md).
#include <cstdio>
#include <fmt/format.h>
#include <iostream>

#include "tools/cli_options.hpp"
#include "tools/formats/state_json.hpp"

namespace transit86::tools {

int run_command(const CommandLine& line) {
    try {
        switch (line.command) {
        case CommandLine::Command::Exit: return line.exit_status;
        case CommandLine::Command::Step: return run_step(line.step);
        case CommandLine::Command::Boot: return run_boot(line.boot);
        case CommandLine::Command::Check: return run_check(line.check);
        case CommandLine::Command::Explain: return run_explain(line.explain);
        case CommandLine::Command::Sst: return run_sst(line.sst);
        case CommandLine::Command::Corpus:
#ifdef TRANSIT86_WITH_CORPUS
            return run_corpus(line.corpus);
#else
            break;
#endif
        }
        throw std::logic_error("this build has no corpus subcommand");
    } catch (const std::exception& e) {
        // StateFormatError, ImageError, CorpusError and the rest: what() is one line.
        std::fflush(stdout);
        fmt::print(stderr, "transit86: error: {}\n", one_line(e.what()));
        return kExitUsage;
    }
}

int transit86_main(int argc, char** argv) {
    return run_command(parse_command_line(argc, argv, std::cout, std::cerr));
}

} // namespace transit86::tools
