// The scenario corpus: one case a JSON file (docs/corpus-format.md), one golden beside it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "transit86/cpu_state.hpp"

namespace transit86::tools {

// Thrown for a case or golden that cannot be read; what() is one line naming file and field.
struct CorpusError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class CaseStop : uint8_t { Valid, Halt, Budget };

// Who produced a golden (docs/corpus-format.md, "Oracles").
enum class GoldenOracle : uint8_t { Kvm, Unicorn, Qemu, SdmByHand };
const char* to_string(GoldenOracle oracle);

struct CorpusCase {
    std::filesystem::path file; // the case's .json
    std::string name;           // file stem
    std::string description;    // one line: what it exercises
    std::vector<uint8_t> image; // assembled source or inline bytes
    uint64_t load_address = 0;
    CpuState start{};
    uint64_t budget = 500;
    CaseStop stop = CaseStop::Valid;
    GoldenOracle oracle = GoldenOracle::Kvm; // which oracle rebase asks
    bool a20 = true;

    std::filesystem::path golden_file() const;
};

// Reads a case: validates every field, assembles "source" with nasm into memory.
CorpusCase load_case(const std::filesystem::path& file);

// Turns a case's "source" (a path beside the case file) into its image, or throws CorpusError.
using SourceAssembler = std::function<std::vector<uint8_t>(const std::filesystem::path& source)>;
// load_case on a document already parsed: `file` names the case in errors and places its
// source; `assemble` stands in for nasm (tests/fuzz passes one that runs no program).
CorpusCase case_from_json(const nlohmann::json& doc, const std::filesystem::path& file,
                          const SourceAssembler& assemble);

// Every *.json case under `dir` (goldens excluded), sorted by name.
std::vector<std::filesystem::path> find_cases(const std::filesystem::path& dir);

// What a run of a case produced, on transit86 or on an oracle.
struct CaseResult {
    std::vector<std::string> steps; // "CS:IP MODE kvm=... sdm=... unrestricted=..." per step
    std::string exit;               // "valid", "halt", "budget", "debug-exit 0x10", "error: ..."
    uint64_t instructions = 0;
    std::string console;
    CpuState final_state{};
};

nlohmann::json golden_to_json(const CaseResult& result, GoldenOracle oracle);
// The golden beside the case, if any; its oracle field is returned in `oracle`.
std::optional<CaseResult> load_golden(const CorpusCase& c, GoldenOracle& oracle);
// A golden from its parsed document; `where` names it in errors.
CaseResult golden_from_json(const nlohmann::json& doc, const std::string& where,
                            GoldenOracle& oracle);

// Field-by-field differences between a run and its golden; empty when they agree.
std::vector<std::string> compare_results(const CaseResult& ours, const CaseResult& golden);

} // namespace transit86::tools
