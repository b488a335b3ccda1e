// Known oracle inaccuracies, one table row each (docs/differential.md lists them with the
// evidence). A difference a row matches is counted as "explained", not as a failure. Rows
// describe where the *oracle* departs from the SDM; transit86 bugs never go here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoder/insn.hpp"
#include "diff/layout.hpp"
#include "diff/oracle.hpp"
#include "transit86/cpu_state.hpp"

namespace transit86::diff {

// What one differing step looked like.
struct StepFacts {
    Mode mode = Mode::Real;
    const char* oracle = "";
    const decoder::Insn* insn = nullptr;
    std::span<const uint8_t> bytes;    // the instruction's encoding
    const CpuState* before = nullptr;  // transit86's state before the instruction
    const CpuState* ours = nullptr;    // after it (when it retired)
    const CpuState* theirs = nullptr;  // the oracle's after it (when it retired)
    std::optional<uint8_t> our_vector; // transit86 raised this exception
    bool delivered = false;            // ours/theirs are after delivering it
    OracleOutcome oracle_outcome = OracleOutcome::Retired;
    uint8_t oracle_vector = 0;       // OracleOutcome::Exception
    std::vector<std::string> fields; // differing field names ("eflags", "exception")
    // --paging: transit86's page directory (layout.hpp) no longer holds its pristine
    // identity entries — the case stored into it.
    bool page_directory_changed = false;
};

struct KnownDifference {
    const char* id;
    const char* oracle; // "kvm", "unicorn", or "*" for both
    const char* why;    // one line: what the oracle does and what the SDM says
    bool (*matches)(const StepFacts&);
};

// The row that explains this difference, or nullptr.
const KnownDifference* find_known_difference(const StepFacts& facts);

} // namespace transit86::diff
