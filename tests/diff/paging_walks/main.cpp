// transit86-paging-diff — random page tables against qemu-system-i386 (TCG): a guest harness
// runs batches of cases in one QEMU process and in transit86, and every access's outcome, every
// entry the case wrote and a digest of the scratch pages are compared (docs/differential.md,
// "Random page tables against QEMU").
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include "diff/paging_walks/case_table.hpp"
#include "diff/paging_walks/results.hpp"
#include "diff/paging_walks/runners.hpp"
#include "diff/rng.hpp"

using namespace transit86::diff;
using namespace transit86::diff::paging;

namespace {

constexpr int kExitDifferences = 1, kExitUsage = 2, kExitSkipped = 77;

struct Stats {
    uint64_t cases = 0, passed = 0, failed = 0, explained = 0, whole_case = 0;
    std::map<std::string, uint64_t> rules, modes, outcomes;
    std::map<std::string, uint64_t> failed_fields;

    void tally(const Case& c, const CaseReport& oracle) {
        ++modes[fmt::format("{}{}", to_string(c.mode), c.nxe ? "+NXE" : "")];
        if (oracle.setup.vector != kNoFault) ++outcomes["setup fault"];
        for (size_t i = 0; i < c.ops.size(); ++i) {
            const OpKind kind = c.ops[i].kind;
            if (kind != OpKind::Read && kind != OpKind::Write && kind != OpKind::Fetch) continue;
            const Slot& s = oracle.ops[i];
            const std::string what = s.vector == kNoFault   ? "ok"
                                     : s.vector == kSkipped ? "skipped"
                                     : s.vector == 14       ? fmt::format("#PF/{:x}", s.error_code)
                                                            : fmt::format("vector {}", s.vector);
            ++outcomes[fmt::format("{} {}", to_string(kind), what)];
        }
    }
};

std::string counts(const std::map<std::string, uint64_t>& m) {
    std::string out;
    for (const auto& [name, n] : m)
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
    return out.empty() ? "none" : out;
}

std::vector<Case> make_cases(uint64_t seed, uint64_t first, uint64_t count) {
    std::vector<Case> cases;
    cases.reserve(count);
    for (uint64_t i = first; i < first + count; ++i)
        cases.push_back(generate_case(case_seed(seed, i), static_cast<uint32_t>(i)));
    return cases;
}

uint32_t table_crc(uint64_t seed, uint64_t first, uint64_t count) {
    uint32_t crc = 0;
    for (uint64_t at = first; at < first + count; at += 4096) {
        const auto cases = make_cases(seed, at, std::min<uint64_t>(4096, first + count - at));
        const auto table = encode_table(cases);
        crc = crc32(std::span(table).subspan(kCaseSize), crc);
    }
    return crc;
}

// A golden line: the case, the CRC of QEMU's normalized report, and either the rule that makes
// the whole case incomparable or the watch indexes whose A flag is masked.
std::string golden_line(const Case& c, const CaseReport& oracle, const Comparison& cmp) {
    // A case that may hit a case-wide rule is skipped even where this run agreed: e.g.
    // transit86's fetch window translates the next page only on a decode-cache miss, so the
    // outcome depends on the cases run before it.
    if (!c.rules.empty())
        return fmt::format("{} {:08x} {}\n", c.index, normalized_crc(c, oracle, {}),
                           c.rules.front());
    std::string masked;
    for (const size_t i : cmp.accessed_on_fault)
        masked += fmt::format("{}{}", masked.empty() ? " a=" : ",", i);
    return fmt::format("{} {:08x}{}\n", c.index, normalized_crc(c, oracle, cmp.accessed_on_fault),
                       masked);
}

std::string header_value(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    std::string line;
    const std::string prefix = "# " + key + ": ";
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    return {};
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"transit86-paging-diff: random page tables against qemu-system-i386 (TCG)"};
    uint64_t cases = 1000, seed = 1, first = 0, batch = 5000, max_diffs = 10, replay = 0;
    std::string qemu_path, harness_path = TRANSIT86_PAGING_HARNESS, write_golden, check_golden;
    bool skip_unavailable = false, progress = false;
    app.add_option("--cases", cases, "Number of cases (default 1000)");
    app.add_option("--seed", seed, "Run seed; case i uses case_seed(seed, i) (default 1)");
    app.add_option("--first", first, "Index of the first case (default 0)");
    app.add_option("--batch", batch, "Cases per QEMU process (default 5000)")
        ->check(CLI::Range(1, 30000));
    app.add_option("--max-diffs", max_diffs, "Print at most this many failed cases (10)");
    auto* replay_opt = app.add_option("--replay", replay, "Run the one case with this case seed");
    app.add_option("--qemu", qemu_path, "qemu-system-i386 to use (default: from PATH)");
    app.add_option("--harness", harness_path, "The assembled harness (64 KiB)");
    app.add_flag("--skip-if-unavailable", skip_unavailable,
                 "Exit 77 (skipped) when qemu-system-i386 is not installed");
    app.add_flag("--progress", progress, "A line per batch on stderr");
    app.add_option("--write-golden", write_golden,
                   "Write QEMU's per-case CRC32s to this file (needs 0 failures)");
    app.add_option("--check-golden", check_golden,
                   "Compare transit86 with a golden file's CRC32s (no QEMU needed)");
    std::string dump_table;
    app.add_option("--dump-table", dump_table, "Write the case table (for running QEMU by hand)");
    CLI11_PARSE(app, argc, argv);
    if (!dump_table.empty()) {
        const auto table = encode_table(make_cases(seed, first, cases));
        std::ofstream(dump_table, std::ios::binary)
            .write(reinterpret_cast<const char*>(table.data()),
                   static_cast<std::streamsize>(table.size()));
        return 0;
    }

    const auto harness = read_file_bytes(harness_path);
    if (harness.size() != 0x10000) {
        fmt::print(stderr, "transit86-paging-diff: {} is not a 64 KiB harness\n", harness_path);
        return kExitUsage;
    }
    const uint32_t harness_crc = crc32(harness);
    const auto started = std::chrono::steady_clock::now();

    if (!check_golden.empty()) {
        std::ifstream in(check_golden);
        const std::string text{std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>()};
        seed = std::stoull(header_value(text, "seed").empty() ? "0" : header_value(text, "seed"));
        const uint64_t count = std::stoull("0" + header_value(text, "cases"));
        const std::string regenerate = header_value(text, "regenerate");
        const std::string want_table = fmt::format("{:#010x}", table_crc(seed, 0, count));
        const std::string want_harness = fmt::format("{:#010x}", harness_crc);
        if (count == 0 || header_value(text, "table-crc32") != want_table ||
            header_value(text, "harness-crc32") != want_harness) {
            fmt::print("{}: generated table {} / harness {} differ from the golden's {} / {}: "
                       "the generator or harness changed; regenerate with: {}\n",
                       check_golden, want_table, want_harness, header_value(text, "table-crc32"),
                       header_value(text, "harness-crc32"), regenerate);
            return kExitDifferences;
        }
        struct GoldenCase {
            uint32_t crc = 0;
            std::string rule;           // the whole case is skipped
            std::vector<size_t> masked; // watch indexes whose A flag is masked
        };
        std::map<uint32_t, GoldenCase> golden;
        std::istringstream lines(text);
        std::string line;
        while (std::getline(lines, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::istringstream fields(line);
            uint32_t index = 0;
            std::string crc, extra;
            fields >> index >> crc >> extra;
            GoldenCase g;
            g.crc = static_cast<uint32_t>(std::stoul(crc, nullptr, 16));
            if (extra.rfind("a=", 0) == 0) {
                std::istringstream list(extra.substr(2));
                std::string item;
                while (std::getline(list, item, ','))
                    g.masked.push_back(std::stoul(item));
            } else {
                g.rule = extra;
            }
            golden[index] = std::move(g);
        }
        uint64_t passed = 0, failed = 0, skipped = 0, printed = 0;
        for (uint64_t at = 0; at < count; at += batch) {
            const auto chunk = make_cases(seed, at, std::min(batch, count - at));
            const auto run = run_on_transit86(harness, encode_table(chunk));
            std::vector<CaseReport> reports;
            std::string error = run.error;
            if (!run.ok || !parse_stream(run.stream, chunk, reports, error)) {
                fmt::print("transit86 run failed: {}\n", error);
                return kExitDifferences;
            }
            for (size_t i = 0; i < chunk.size(); ++i) {
                const auto it = golden.find(chunk[i].index);
                if (it == golden.end()) {
                    ++failed;
                    fmt::print("case {}: missing from the golden\n", chunk[i].index);
                    continue;
                }
                const GoldenCase& g = it->second;
                const uint32_t ours = normalized_crc(chunk[i], reports[i], g.masked);
                if (!g.rule.empty()) {
                    ++skipped;
                } else if (ours == g.crc) {
                    ++passed;
                } else {
                    ++failed;
                    if (printed++ < max_diffs)
                        fmt::print("case {}: transit86 CRC32 {:08x}, QEMU's {:08x}; replay: "
                                   "transit86-paging-diff --replay {:#018x}\n",
                                   chunk[i].index, ours, g.crc, chunk[i].seed);
                }
            }
        }
        fmt::print("golden {} ({}, seed {}, {} cases): {} passed, {} failed, {} skipped (a "
                   "case-wide known difference)\n",
                   check_golden, header_value(text, "oracle"), seed, count, passed, failed,
                   skipped);
        return failed == 0 ? 0 : kExitDifferences;
    }

    std::string why;
    const std::string qemu = find_qemu(qemu_path, why);
    if (qemu.empty()) {
        fmt::print(stderr, "transit86-paging-diff: QEMU unavailable: {}\n", why);
        return skip_unavailable ? kExitSkipped : kExitUsage;
    }

    if (*replay_opt) {
        Case c = generate_case(replay, 0);
        c.dump = true;
        const std::vector<Case> one{c};
        const auto table = encode_table(one);
        const auto oracle_run = run_on_qemu(qemu, harness, table, 60);
        const auto our_run = run_on_transit86(harness, table);
        std::vector<CaseReport> ours, oracle;
        std::string error;
        if (!oracle_run.ok || !our_run.ok || !parse_stream(oracle_run.stream, one, oracle, error) ||
            !parse_stream(our_run.stream, one, ours, error)) {
            fmt::print("run failed: {} {} {}\n", oracle_run.error, our_run.error, error);
            return kExitDifferences;
        }
        fmt::print("{}", describe(c));
        const Comparison cmp = compare(c, ours[0], oracle[0]);
        for (size_t i = 0; i < c.watch.size(); ++i)
            fmt::print("  entry [{:#x}] final: transit86 {:#x}, QEMU {:#x}\n", c.watch[i],
                       ours[0].watch[i], oracle[0].watch[i]);
        for (size_t i = 0; i < c.ops.size(); ++i)
            fmt::print("  op{:<2} transit86 vector {:#x} error {:#x} CR2 {:#x} value {:#x} | QEMU "
                       "vector {:#x} error {:#x} CR2 {:#x} value {:#x}\n",
                       i, ours[0].ops[i].vector, ours[0].ops[i].error_code, ours[0].ops[i].cr2,
                       ours[0].ops[i].value, oracle[0].ops[i].vector, oracle[0].ops[i].error_code,
                       oracle[0].ops[i].cr2, oracle[0].ops[i].value);
        for (size_t b = 0; b + 4 <= ours[0].dump.size(); b += 4)
            if (std::memcmp(&ours[0].dump[b], &oracle[0].dump[b], 4) != 0) {
                uint32_t a = 0, q = 0;
                std::memcpy(&a, &ours[0].dump[b], 4);
                std::memcpy(&q, &oracle[0].dump[b], 4);
                fmt::print("  scratch {:#x}: transit86 {:#010x}, QEMU {:#010x}\n",
                           scratch_page(static_cast<unsigned>(b / 4096)) + b % 4096, a, q);
            }
        fmt::print("{}{}\n", cmp.report,
                   cmp.verdict == Verdict::Passed      ? "passed"
                   : cmp.verdict == Verdict::Explained ? "explained by " + cmp.rule
                                                       : "FAILED");
        return cmp.verdict == Verdict::Failed ? kExitDifferences : 0;
    }

    Stats stats;
    std::string golden;
    uint64_t printed = 0, errors = 0;
    for (uint64_t at = first; at < first + cases; at += batch) {
        const auto chunk = make_cases(seed, at, std::min(batch, first + cases - at));
        const auto table = encode_table(chunk);
        const auto oracle_run =
            run_on_qemu(qemu, harness, table, 120 + static_cast<unsigned>(chunk.size() / 20));
        const auto our_run = run_on_transit86(harness, table);
        std::vector<CaseReport> ours, oracle;
        std::string error;
        if (!oracle_run.ok || !parse_stream(oracle_run.stream, chunk, oracle, error)) {
            fmt::print("batch at case {}: QEMU: {} {}\n", at, oracle_run.error, error);
            ++errors;
            continue;
        }
        if (!our_run.ok || !parse_stream(our_run.stream, chunk, ours, error)) {
            fmt::print("batch at case {}: transit86: {} {}\n", at, our_run.error, error);
            ++errors;
            continue;
        }
        for (size_t i = 0; i < chunk.size(); ++i) {
            const Case& c = chunk[i];
            ++stats.cases;
            stats.tally(c, oracle[i]);
            const Comparison cmp = compare(c, ours[i], oracle[i]);
            golden += golden_line(c, oracle[i], cmp);
            if (cmp.verdict == Verdict::Passed) {
                ++stats.passed;
            } else if (cmp.verdict == Verdict::Explained) {
                ++stats.explained, ++stats.rules[cmp.rule];
                stats.whole_case += cmp.whole_case;
            } else {
                ++stats.failed;
                for (const auto& f : cmp.fields)
                    ++stats.failed_fields[f.substr(0, f.find('['))];
                if (printed++ < max_diffs)
                    fmt::print("{}{}  replay: transit86-paging-diff --replay {:#018x}\n",
                               describe(c), cmp.report, c.seed);
            }
        }
        if (progress)
            fmt::print(
                stderr, "{} / {} cases, {:.0f} s, {} failed\n", at + chunk.size() - first, cases,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                stats.failed);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("transit86-paging-diff: oracle {} (-cpu {}), seed {}, cases {}..{}\n", kOracleName,
               kQemuCpu, seed, first, first + cases - 1);
    fmt::print("  modes: {}\n  oracle outcomes: {}\n", counts(stats.modes), counts(stats.outcomes));
    if (!stats.failed_fields.empty())
        fmt::print("  failed fields: {}\n", counts(stats.failed_fields));
    fmt::print("  explained by known differences: {}\n", counts(stats.rules));
    fmt::print("{} cases: {} passed, {} failed, {} explained ({} by field: every other field "
               "equal; {} whole cases), {} batch errors; {:.1f} s\n",
               stats.cases, stats.passed, stats.failed, stats.explained,
               stats.explained - stats.whole_case, stats.whole_case, errors, secs);
    if (!write_golden.empty()) {
        if (stats.failed != 0 || errors != 0 || first != 0) {
            fmt::print(stderr, "not writing {}: the run has failures or does not start at 0\n",
                       write_golden);
            return kExitDifferences;
        }
        std::ofstream out(write_golden);
        out << "# transit86-paging-diff golden: the CRC32 of each case's harness record as the "
               "oracle wrote it\n";
        out << "# oracle: " << kOracleName << "\n# cpu: " << kQemuCpu << "\n# seed: " << seed
            << "\n# cases: " << cases << "\n";
        out << fmt::format("# table-crc32: {:#010x}\n# harness-crc32: {:#010x}\n",
                           table_crc(seed, 0, cases), harness_crc);
        out << fmt::format("# regenerate: transit86-paging-diff --seed {} --cases {} "
                           "--write-golden <this file>\n",
                           seed, cases);
        out << "# lines: case index, CRC32 of the normalized report (results.hpp normalized_crc), "
               "then the known-difference rule of a case skipped whole, or a=I,J: the watch "
               "indexes whose A flag is masked (unicorn-accessed-on-fault)\n";
        out << golden;
    }
    return stats.failed == 0 && errors == 0 ? 0 : kExitDifferences;
}
