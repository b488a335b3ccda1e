// `transit86 sst PATH...`: run SingleStepTests files (80286, real mode) on transit86 and
// count what passes, per opcode file and in total. docs/known-differences.md describes the
// run, the comparison and every mask.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

#include "tools/commands.hpp"
#include "tools/sst/sst_runner.hpp"
#include "tools/sst/sst_test.hpp"
#include "tools/formats/state_json.hpp"

namespace transit86::tools {

namespace {

namespace fs = std::filesystem;
using namespace sst;

// Thrown for a missing path when --skip-if-missing asked for a skip instead of an error.
struct MissingPath {
    std::string path;
};

struct FileResult {
    std::string name;
    std::string status; // metadata status of the file's opcode ("" when per test)
    uint64_t passed = 0;
    uint64_t failed = 0;
    uint64_t revoked = 0;
    std::array<uint64_t, kNumSkipMasks> masked{};
    std::array<uint64_t, kNumCompareMasks> narrowed{}; // passed thanks to a compare mask
    std::string failures; // -v: the first failures, printed under the file's line
    uint64_t masked_total() const {
        uint64_t n = 0;
        for (uint64_t m : masked)
            n += m;
        return n;
    }
};

// metadata.json and revocation_list.txt beside the test files, or one folder up.
struct DirectoryContext {
    Metadata metadata;
    std::set<std::string> revoked;
};

std::optional<fs::path> find_beside(const fs::path& dir, const char* name) {
    for (const fs::path& candidate : {dir / name, dir.parent_path() / name})
        if (fs::is_regular_file(candidate)) return candidate;
    return std::nullopt;
}

class SstRun {
  public:
    explicit SstRun(const SstOptions& o) : opt_(o), machine_(o.strict) {}
    int run();

  private:
    std::vector<fs::path> collect_files() const;
    const DirectoryContext& context_for(const fs::path& file);
    FileResult run_file(const fs::path& file);
    static std::string describe_failure(const Test& t, const Outcome& o, const OpcodeInfo& info);
    void print_file(const FileResult& r, size_t name_width) const;
    int summarize(const std::vector<FileResult>& results, double seconds) const;

    const SstOptions& opt_;
    SstMachine machine_;
    std::map<fs::path, DirectoryContext> contexts_;
};

std::vector<fs::path> SstRun::collect_files() const {
    std::vector<fs::path> files;
    for (const std::string& arg : opt_.paths) {
        const fs::path path(arg);
        std::error_code ec;
        const fs::file_status st = fs::status(path, ec);
        if (ec || !fs::exists(st)) {
            if (opt_.skip_if_missing) throw MissingPath{arg};
            throw SstFormatError(fmt::format("\"{}\" does not exist", arg));
        }
        if (fs::is_directory(st)) {
            std::vector<fs::path> found;
            for (const auto& entry : fs::directory_iterator(path))
                if (entry.is_regular_file() && is_test_file_name(entry.path().filename().string()))
                    found.push_back(entry.path());
            if (found.empty())
                throw SstFormatError(
                    fmt::format("no test files (*.json, *.json.gz, *.jsonl.gz) in \"{}\"", arg));
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            if (!is_test_file_name(path.filename().string()))
                throw SstFormatError(
                    fmt::format("\"{}\" is not a test file (*.json, *.json.gz, *.jsonl.gz)", arg));
            files.push_back(path);
        }
    }
    return files;
}

const DirectoryContext& SstRun::context_for(const fs::path& file) {
    const fs::path dir = fs::absolute(file).parent_path();
    auto it = contexts_.find(dir);
    if (it != contexts_.end()) return it->second;
    DirectoryContext ctx;
    if (const auto m = find_beside(dir, "metadata.json"))
        ctx.metadata = Metadata::load(*m);
    else if (!opt_.json)
        fmt::print(
            "note: no metadata.json in {} or its parent: flags are compared without flags-mask\n",
            dir.string());
    if (const auto r = find_beside(dir, "revocation_list.txt"))
        ctx.revoked = load_revocation_list(*r);
    return contexts_.emplace(dir, std::move(ctx)).first->second;
}

std::string hex_bytes(const std::vector<uint8_t>& bytes) {
    std::string out;
    for (size_t i = 0; i < bytes.size(); ++i)
        out += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
    return out;
}

std::string SstRun::describe_failure(const Test& t, const Outcome& o, const OpcodeInfo& info) {
    std::string out =
        fmt::format("    FAIL #{} {}  [{}]{}\n", t.idx, t.name, hex_bytes(t.bytes),
                    t.exception ? fmt::format("  (286 took vector {})", t.exception->number) : "");
    std::string regs;
    for (int i = 0; i < kNumRegs; ++i)
        regs += fmt::format(" {}={:04x}", kRegNames[i], *t.initial[i]);
    out += fmt::format("        initial{}\n", regs);
    if (info.flags_mask != 0xFFFF)
        out += fmt::format("        undefined flags {} (flags-mask {:#06x})\n",
                           info.undefined_flags, info.flags_mask);
    for (const Mismatch& m : o.mismatches)
        out += fmt::format("        {:<22} expected {:<8} got {}\n", m.field, m.expected, m.got);
    return out;
}

FileResult SstRun::run_file(const fs::path& file) {
    const DirectoryContext& ctx = context_for(file);
    const std::vector<Test> tests = read_test_file(file);
    FileResult result;
    result.name = file.filename().string();
    const FileOpcode opcode = file_opcode(result.name);
    result.status = ctx.metadata.empty() ? "" : ctx.metadata.lookup(opcode, std::nullopt).status;
    if (result.status == "unknown") result.status.clear();
    uint64_t shown = 0;
    for (const Test& t : tests) {
        if (opt_.index && t.idx != *opt_.index) continue;
        if (!t.hash.empty() && ctx.revoked.contains(t.hash)) {
            ++result.revoked;
            continue;
        }
        const OpcodeInfo info =
            ctx.metadata.lookup(opcode, modrm_reg_field(t.bytes, opcode.key.size() / 2));
        const Outcome o = machine_.run(t, info);
        switch (o.verdict) {
        case Outcome::Verdict::Pass:
            ++result.passed;
            for (int i = 0; i < kNumCompareMasks; ++i)
                result.narrowed[i] += o.relied_on[i] ? 1 : 0;
            break;
        case Outcome::Verdict::Masked: ++result.masked[static_cast<int>(o.skip)]; break;
        case Outcome::Verdict::Fail:
            ++result.failed;
            if (opt_.verbose && !opt_.json && shown < opt_.show) {
                result.failures += describe_failure(t, o, info);
                ++shown;
            }
            break;
        }
    }
    return result;
}

void SstRun::print_file(const FileResult& r, size_t name_width) const {
    std::string line =
        fmt::format("{:<{}}  passed {:>5}  failed {:>5}", r.name, name_width, r.passed, r.failed);
    if (const uint64_t m = r.masked_total()) line += fmt::format("  masked {}", m);
    if (r.revoked) line += fmt::format("  revoked {}", r.revoked);
    if (!r.status.empty() && r.status != "normal") line += fmt::format("  [{}]", r.status);
    fmt::print("{}\n{}", line, r.failures);
}

double pass_rate(uint64_t passed, uint64_t failed) {
    const uint64_t compared = passed + failed;
    return compared == 0 ? 100.0
                         : 100.0 * static_cast<double>(passed) / static_cast<double>(compared);
}

// "id n, id n" for the non-zero counts.
template <size_t N>
std::string tally(const std::array<uint64_t, N>& counts, const MaskRule (&rules)[N]) {
    std::string out;
    for (size_t i = 0; i < N; ++i)
        if (counts[i])
            out += fmt::format("{}{} {}", out.empty() ? "" : ", ", rules[i].id, counts[i]);
    return out;
}

template <size_t N>
nlohmann::json tally_json(const std::array<uint64_t, N>& counts, const MaskRule (&rules)[N]) {
    nlohmann::json out = nlohmann::json::object();
    for (size_t i = 0; i < N; ++i)
        if (counts[i]) out[rules[i].id] = counts[i];
    return out;
}

int SstRun::summarize(const std::vector<FileResult>& results, double seconds) const {
    uint64_t passed = 0, failed = 0, revoked = 0;
    std::array<uint64_t, kNumSkipMasks> masked{};
    std::array<uint64_t, kNumCompareMasks> narrowed{};
    for (const FileResult& r : results) {
        passed += r.passed;
        failed += r.failed;
        revoked += r.revoked;
        for (int i = 0; i < kNumSkipMasks; ++i)
            masked[i] += r.masked[i];
        for (int i = 0; i < kNumCompareMasks; ++i)
            narrowed[i] += r.narrowed[i];
    }
    uint64_t skipped = revoked;
    for (uint64_t m : masked)
        skipped += m;
    const double rate = pass_rate(passed, failed);
    const bool ok = opt_.min_pass_rate ? rate >= *opt_.min_pass_rate : failed == 0;

    if (opt_.json) {
        nlohmann::json files = nlohmann::json::array();
        for (const FileResult& r : results)
            files.push_back({{"file", r.name},
                             {"status", r.status},
                             {"passed", r.passed},
                             {"failed", r.failed},
                             {"masked", tally_json(r.masked, kSkipMasks)},
                             {"passed_under", tally_json(r.narrowed, kCompareMasks)},
                             {"revoked", r.revoked}});
        nlohmann::json out = {{"files", files},
                              {"strict", opt_.strict},
                              {"passed", passed},
                              {"failed", failed},
                              {"skipped", skipped},
                              {"masked", tally_json(masked, kSkipMasks)},
                              {"passed_under", tally_json(narrowed, kCompareMasks)},
                              {"revoked", revoked},
                              {"pass_rate", rate},
                              {"seconds", seconds},
                              {"ok", ok}};
        if (opt_.min_pass_rate) out["min_pass_rate"] = *opt_.min_pass_rate;
        fmt::print("{}\n", dump_json(out, 1));
        return ok ? 0 : 1;
    }
    if (const std::string m = tally(masked, kSkipMasks); !m.empty())
        fmt::print("skipped by mask (docs/known-differences.md): {}\n", m);
    if (const std::string n = tally(narrowed, kCompareMasks); !n.empty())
        fmt::print("passed only under a compare mask: {}\n", n);
    if (revoked) fmt::print("skipped as revoked (revocation_list.txt): {}\n", revoked);
    fmt::print("{} files, {:.1f} s; pass rate {:.2f}% of {} compared{}{}\n", results.size(),
               seconds, rate, passed + failed,
               opt_.min_pass_rate ? fmt::format(" (required {}%)", *opt_.min_pass_rate) : "",
               opt_.strict ? "; --strict: no 286-vs-386 masks" : "");
    fmt::print("{} passed, {} failed{}\n", passed, failed,
               skipped ? fmt::format(", {} skipped", skipped) : "");
    return ok ? 0 : 1;
}

int SstRun::run() {
    const std::vector<fs::path> files = collect_files();
    size_t name_width = 0;
    for (const fs::path& f : files)
        name_width = std::max(name_width, f.filename().string().size());
    const auto start = std::chrono::steady_clock::now();
    std::vector<FileResult> results;
    for (const fs::path& file : files) {
        results.push_back(run_file(file));
        if (!opt_.json) print_file(results.back(), name_width);
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    return summarize(results, elapsed.count());
}

} // namespace

int run_sst(const SstOptions& options) {
    try {
        SstRun run(options);
        return run.run();
    } catch (const MissingPath& missing) {
        fmt::print(stderr, "transit86: sst: skipped: \"{}\" does not exist\n", missing.path);
        return kExitSkipped;
    } catch (const SstFormatError& e) {
        fmt::print(stderr, "transit86: error: {}\n", e.what());
        return kExitUsage;
    }
}

} // namespace transit86::tools
