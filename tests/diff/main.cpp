// transit86-diff — differential testing of transit86 against KVM or Unicorn on random
// instruction streams in real mode and 32-bit protected mode (docs/differential.md).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "diff/campaign.hpp"
#include "diff/case_runner.hpp"
#include "diff/oracle.hpp"
#include "diff/rng.hpp"

using namespace transit86;
using namespace transit86::diff;

namespace {

constexpr int kExitDifferences = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSkipped = 77; // ctest SKIP_RETURN_CODE

struct FailedOp {
    uint64_t cases = 0;
    std::map<std::string, uint64_t> fields;
    uint64_t first_seed = 0;
};

struct ModeStats {
    uint64_t cases = 0, passed = 0, failed = 0, explained = 0, skipped_ours = 0, skipped_oracle = 0,
             errors = 0, compared = 0;
    std::map<std::string, FailedOp> failed_ops;
    std::map<std::string, uint64_t> explained_ids, ours_unsupported, oracle_cannot, endings;

    void add(const CaseResult& r, uint64_t seed) {
        ++cases;
        compared += r.compared;
        switch (r.status) {
        case CaseStatus::Passed: ++passed, ++endings[r.end]; break;
        case CaseStatus::Failed: {
            ++failed;
            FailedOp& op = failed_ops[r.op];
            if (op.cases++ == 0) op.first_seed = seed;
            for (const auto& f : r.fields)
                ++op.fields[f];
            break;
        }
        case CaseStatus::Explained: ++explained, ++explained_ids[r.end]; break;
        case CaseStatus::SkippedOurs: ++skipped_ours, ++ours_unsupported[r.op]; break;
        case CaseStatus::SkippedOracle: ++skipped_oracle, ++oracle_cannot[r.op]; break;
        case CaseStatus::Error: ++errors; break;
        }
    }
};

std::string counts(const std::map<std::string, uint64_t>& m) {
    std::string out;
    for (const auto& [name, n] : m)
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
    return out.empty() ? "none" : out;
}

void print_summary(Mode mode, const ModeStats& s) {
    fmt::print("{}: {} cases: {} passed, {} failed, {} explained, {} skipped (transit86 "
               "unsupported), {} skipped (oracle cannot), {} errors; {} instructions compared\n",
               to_string(mode), s.cases, s.passed, s.failed, s.explained, s.skipped_ours,
               s.skipped_oracle, s.errors, s.compared);
    if (!s.failed_ops.empty()) {
        fmt::print("  differences by op (the first differing instruction of each failed case):\n");
        fmt::print("    {:<12} {:>6}  {:<40} {}\n", "op", "cases", "fields", "first case");
        for (const auto& [op, f] : s.failed_ops)
            fmt::print("    {:<12} {:>6}  {:<40} {:#018x}\n", op, f.cases, counts(f.fields),
                       f.first_seed);
    }
    if (!s.explained_ids.empty())
        fmt::print("  explained by known oracle inaccuracies: {}\n", counts(s.explained_ids));
    if (!s.ours_unsupported.empty())
        fmt::print("  skipped, transit86 Unsupported, by op: {}\n", counts(s.ours_unsupported));
    if (!s.oracle_cannot.empty())
        fmt::print("  skipped, oracle cannot run, by op: {}\n", counts(s.oracle_cannot));
    fmt::print("  passed cases ended by: {}\n", counts(s.endings));
}

Mode parse_mode(const std::string& text) {
    return text == "real" ? Mode::Real : Mode::Pm32;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"transit86-diff: transit86 against KVM or Unicorn on random instruction streams"};
    std::string oracle_name = "unicorn", mode_name = "both";
    uint64_t cases = 1000, seed = 1, max_diffs = 20, replay = 0, progress = 0, first = 0;
    uint32_t insns = 8;
    bool verbose = false, skip_unavailable = false, coverage = false, in_process = false;
    app.add_option("--oracle", oracle_name, "kvm or unicorn (default unicorn)")
        ->check(CLI::IsMember({"kvm", "unicorn"}));
    app.add_option("--mode", mode_name, "real, pm32 or both (default both: cases alternate)")
        ->check(CLI::IsMember({"real", "pm32", "both"}));
    app.add_option("--cases", cases, "Number of cases (default 1000)");
    app.add_option("--seed", seed, "Run seed; case i uses case_seed(seed, i) (default 1)");
    app.add_option("--first", first, "Index of the first case: runs first .. first+cases-1 (0)");
    app.add_option("--insns-per-case", insns, "Instructions generated per case (default 8)")
        ->check(CLI::Range(1, 64));
    app.add_option("--max-diffs", max_diffs, "Print at most this many difference reports (20)");
    auto* replay_opt = app.add_option("--replay", replay, "Run the one case with this case seed");
    app.add_flag("--verbose", verbose, "Print every case and instruction");
    app.add_flag("--skip-if-unavailable", skip_unavailable,
                 "Exit 77 (skipped) when the oracle cannot be opened here");
    app.add_flag("--coverage", coverage, "Print the instructions compared, by op");
    app.add_option("--progress", progress, "Print a progress line every N cases (stderr)");
    bool paging = false;
    app.add_flag("--paging", paging,
                 "pm32 cases run under 32-bit paging, 4-MByte pages identity-mapping 4 GiB");
    app.add_flag("--in-process", in_process,
                 "Run Unicorn in this process (for a debugger; a Unicorn abort ends the run)");
    CLI11_PARSE(app, argc, argv);
    set_identity_paging(paging);
    if (*replay_opt && mode_name == "both") {
        fmt::print(stderr, "transit86-diff: --replay needs --mode real or --mode pm32\n");
        return kExitUsage;
    }

    const OracleFactory make_oracle = [&](std::string& why) {
        return oracle_name == "kvm" ? make_kvm_oracle(why) : make_unicorn_oracle(why);
    };
    std::string error;
    // KVM: one VM in this process (a VM belongs to its process). Unicorn: child processes,
    // as Unicorn 2.0.1 aborts the process on some encodings (campaign.hpp).
    const bool isolated = oracle_name == "unicorn" && !in_process;
    std::unique_ptr<Oracle> oracle;
    if (!isolated) {
        oracle = make_oracle(error);
        if (oracle == nullptr) {
            fmt::print(stderr, "transit86-diff: {} unavailable: {}\n", oracle_name, error);
            return skip_unavailable ? kExitSkipped : kExitUsage;
        }
    }
    RunnerOptions options;
    options.instructions = insns;
    options.verbose = verbose;
    options.replay_hint = insns != 8 ? fmt::format(" --insns-per-case {}", insns) : "";

    ModeStats stats[2];
    std::map<decoder::Op, uint64_t> coverage_by_op;
    uint64_t printed = 0;
    const auto started = std::chrono::steady_clock::now();
    const uint64_t total = *replay_opt ? 1 : cases;
    const SpecAt spec_at = [&](uint64_t i) {
        const uint64_t index = first + i;
        const Mode mode = mode_name == "both" ? (index % 2 == 0 ? Mode::Real : Mode::Pm32)
                                              : parse_mode(mode_name);
        return CaseSpec{i, *replay_opt ? replay : case_seed(seed, index), mode};
    };
    const ResultSink sink = [&](const CaseSpec& spec, const CaseResult& r) {
        stats[static_cast<int>(spec.mode)].add(r, spec.seed);
        for (const auto op : r.compared_ops)
            ++coverage_by_op[op];
        const bool reportable = r.status == CaseStatus::Failed || r.status == CaseStatus::Error ||
                                (verbose && r.status != CaseStatus::Passed);
        if (reportable && printed < max_diffs) {
            ++printed;
            fmt::print("{}", r.report);
            if (r.report.empty() || r.report.back() != '\n') fmt::print("\n");
            std::fflush(stdout);
        }
        if (progress != 0 && (spec.index + 1) % progress == 0) {
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            fmt::print(stderr, "{} / {} cases, {:.0f} s, {} failed\n", spec.index + 1, total, secs,
                       stats[0].failed + stats[1].failed);
        }
    };
    if (isolated) {
        if (!run_isolated(make_oracle, options, total, spec_at, sink, error)) {
            fmt::print(stderr, "transit86-diff: {} unavailable: {}\n", oracle_name, error);
            return skip_unavailable ? kExitSkipped : kExitUsage;
        }
    } else {
        run_in_process(*oracle, options, total, spec_at, sink);
    }

    fmt::print("transit86-diff: oracle {}, seed {}, {} instructions per case\n", oracle_name, seed,
               insns);
    uint64_t passed = 0, failed = 0;
    for (Mode mode : {Mode::Real, Mode::Pm32}) {
        const ModeStats& s = stats[static_cast<int>(mode)];
        if (s.cases == 0) continue;
        print_summary(mode, s);
        passed += s.passed;
        failed += s.failed + s.errors;
    }
    if (coverage) {
        fmt::print("instructions compared, by op:");
        for (const auto& [op, n] : coverage_by_op)
            fmt::print(" {} {}", decoder::op_name(op), n);
        fmt::print("\n");
    }
    fmt::print("{} passed, {} failed\n", passed, failed);
    return failed == 0 ? 0 : kExitDifferences;
}
