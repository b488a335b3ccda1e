// Runs one differential case on transit86 and on an oracle, instruction by instruction, and
// reports the first difference (docs/differential.md, "What one case does").
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "decoder/insn.hpp"
#include "diff/generator.hpp"
#include "diff/oracle.hpp"
#include "diff/semantics.hpp"
#include "transit86/emulator.hpp"

namespace transit86::diff {

enum class CaseStatus : uint8_t {
    Passed,        // every compared instruction agreed, and memory at the end
    Failed,        // an unexplained difference
    Explained,     // a difference a known oracle inaccuracy accounts for (known_differences)
    SkippedOurs,   // transit86 reported Unsupported
    SkippedOracle, // the oracle cannot run the instruction (KVM emulation failure)
    Error,         // the oracle could not start or step
};

struct CaseResult {
    CaseStatus status = CaseStatus::Passed;
    uint32_t compared = 0;           // instructions that ran on both and agreed
    std::string op;                  // the instruction's op (not Passed)
    std::string end;                 // Passed: why the case ended; Explained: the known id
    std::vector<std::string> fields; // Failed / Explained: the differing fields' names
    std::string report;              // Failed / Explained / Skipped* / Error: text for the log
    std::vector<decoder::Op> compared_ops; // the op of each instruction compared
};

struct RunnerOptions {
    uint32_t instructions = 8; // generated per case; at most 2 * instructions + 4 run
    bool verbose = false;      // print each case and each step
    std::string replay_hint;   // command-line options to repeat in the "replay:" line
};

class CaseRunner {
  public:
    CaseRunner(Oracle& oracle, RunnerOptions options);

    CaseResult run(uint64_t seed, Mode mode);

  private:
    struct Session; // one pass over a case (case_runner.cpp)
    CaseResult run_case(const Case& c);
    CaseResult run_once(const Case& c, bool memory_each_step, bool& memory_differs);
    void load_case(const Case& c);
    std::vector<uint8_t>& pristine(Mode mode);

    Oracle& oracle_;
    RunnerOptions options_;
    std::vector<uint8_t> ram_; // transit86's RAM
    std::array<std::vector<uint8_t>, 2> pristine_;
    bool oracle_needs_reset_ = false; // the last step ended abnormally (Oracle::reset)
};

} // namespace transit86::diff
