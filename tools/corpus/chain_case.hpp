// Boot chains in the corpus (docs/corpus-format.md, "Boot chains"): real firmware, loaders and
// kernels from Debian packages booted on the PC platform as `transit86 boot` boots them, their
// console and window census compared with a golden. The console of a golden comes from QEMU
// on the same clock (scripts/qemu-reference.sh --icount); its window shapes are checked by hand
// against the source of the code each window steps, named in the golden.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/commands.hpp"

namespace transit86::tools {

// Where a chain case's "${name}" placeholders point: the images the build makes and the
// kernel `make linux-kernel` fetches.
struct ChainPaths {
    std::filesystem::path boot_images;  // ${boot_images}
    std::filesystem::path linux_kernel; // ${linux_kernel}
};
// The build's own paths, with $TRANSIT86_LINUX_KERNEL taking precedence for the kernel.
ChainPaths default_chain_paths();

struct ChainCase {
    std::filesystem::path file;
    std::string name;
    std::string description;
    BootOptions boot;                // what `transit86 boot` would be given
    std::string skip_reason;         // a file the chain needs is missing: why, and what provides it
    std::string stop_console;        // stop once the console shows this text
    std::vector<uint64_t> breaks;    // stop before an instruction at one of these linear addresses
    std::string break_after_console; // the breaks take effect once the console shows this
    uint64_t budget = 0;             // instructions at most; 0 = none

    std::filesystem::path golden_file() const;
};

// True when `doc` is a chain case (it has a "chain" key).
bool is_chain_case(const nlohmann::json& doc);
// The chain case in `file`, or nullopt when the file is a plain corpus case.
std::optional<ChainCase> load_chain_case(const std::filesystem::path& file,
                                         const ChainPaths& paths);
// Reads and validates a chain case; throws CorpusError naming the file and key.
ChainCase chain_case_from_json(const nlohmann::json& doc, const std::filesystem::path& file,
                               const ChainPaths& paths);

struct ChainShape {
    uint64_t count = 0;      // windows of this shape
    std::string first, last; // "000fd108 jmp far 0xf000:0xd10d"
    std::vector<std::string> failing;
    std::string source; // golden only: the lines of the guest's source the window steps
};

struct ChainResult {
    std::string end;                  // how the boot ended, as `transit86 boot` says it
    std::vector<std::string> console; // serial lines, terminal control removed
    uint64_t instructions = 0;
    uint64_t windows = 0;
    uint64_t instructions_in_windows = 0;
    std::vector<ChainShape> shapes; // in the order their first window ended
    double wall_seconds = 0;
};

ChainResult run_chain(const ChainCase& chain);

// The golden beside the case; throws CorpusError when it cannot be read.
ChainResult load_chain_golden(const ChainCase& chain);
// A golden document for `result`, for a person to check and complete ("source" of each shape,
// the oracle lines) — never written over a golden by the tools.
nlohmann::json chain_golden_draft(const ChainResult& result);
// Field-by-field differences; empty when they agree.
std::vector<std::string> compare_chain(const ChainResult& ours, const ChainResult& golden);

} // namespace transit86::tools
