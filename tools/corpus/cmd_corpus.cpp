// `transit86 corpus run|rebase`: the scenario corpus against its oracle-produced goldens.
#include <fmt/format.h>
#include <fstream>

#include "tools/commands.hpp"
#include "tools/corpus/corpus_engine.hpp"
#include "tools/formats/state_json.hpp"

namespace transit86::tools {

namespace {

std::vector<CorpusCase> load_selected(const CorpusOptions& o) {
    std::vector<CorpusCase> cases;
    for (const auto& file : find_cases(o.directory)) {
        if (file.stem().string().ends_with(".golden")) continue;
        if (!o.filter.empty() && file.stem().string().find(o.filter) == std::string::npos) continue;
        cases.push_back(load_case(file));
    }
    if (cases.empty()) throw CorpusError(fmt::format("{}: no corpus cases found", o.directory));
    return cases;
}

int corpus_run(const CorpusOptions& o) {
    const auto cases = load_selected(o);
    size_t passed = 0, failed = 0;
    fmt::print("{:<34} {:<12} {:<18} {:>6}  {}\n", "case", "golden", "exit", "insns", "result");
    for (const CorpusCase& c : cases) {
        auto engine = make_transit86_engine();
        const CaseResult ours = run_case(c, *engine);
        GoldenOracle oracle{};
        const auto golden = load_golden(c, oracle);
        std::vector<std::string> diffs;
        if (!golden)
            diffs.push_back("no golden: run `transit86 corpus rebase` with its oracle");
        else
            diffs = compare_results(ours, *golden);
        const bool ok = diffs.empty();
        (ok ? passed : failed)++;
        fmt::print("{:<34} {:<12} {:<18} {:>6}  {}\n", c.name, golden ? to_string(oracle) : "-",
                   ours.exit.substr(0, 18), ours.instructions, ok ? "PASS" : "FAIL");
        if (!ok) {
            const size_t shown = o.verbose ? diffs.size() : std::min<size_t>(diffs.size(), 3);
            for (size_t i = 0; i < shown; ++i)
                fmt::print("    {}\n", diffs[i]);
            if (shown < diffs.size()) fmt::print("    ... {} more (-v)\n", diffs.size() - shown);
        } else if (o.verbose) {
            fmt::print("    {}\n", c.description);
        }
    }
    fmt::print("{} passed, {} failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

// Refreshes the sdm= and unrestricted= verdicts of hand-written goldens after a change to
// the check tables. The verdicts are functions of the state; the hand-written part — the
// CS:IP sequence, the kvm verdicts, the exit, the console and the final state — must match a
// transit86 run exactly, step by step, or nothing is rewritten.
int corpus_refresh_verdicts(const CorpusOptions& o) {
    size_t refreshed = 0, refused = 0;
    for (const CorpusCase& c : load_selected(o)) {
        if (c.oracle != GoldenOracle::SdmByHand) continue;
        GoldenOracle oracle{};
        auto golden = load_golden(c, oracle);
        if (!golden) continue;
        auto engine = make_transit86_engine();
        const CaseResult ours = run_case(c, *engine);
        auto head = [](const std::string& step) { return step.substr(0, step.find(" sdm=")); };
        bool same = ours.steps.size() == golden->steps.size() && ours.exit == golden->exit &&
                    ours.console == golden->console;
        for (size_t i = 0; same && i < ours.steps.size(); ++i)
            same = head(ours.steps[i]) == head(golden->steps[i]);
        CaseResult check = ours;
        check.steps = golden->steps;
        same = same && compare_results(check, *golden).empty();
        if (!same) {
            fmt::print("{:<34} refused: the run differs from the hand-written golden\n", c.name);
            ++refused;
            continue;
        }
        golden->steps = ours.steps;
        std::ofstream out(c.golden_file());
        out << dump_json(golden_to_json(*golden, oracle), 2) << '\n';
        fmt::print("{:<34} verdicts refreshed\n", c.name);
        ++refreshed;
    }
    fmt::print("{} refreshed, {} refused\n", refreshed, refused);
    return refused == 0 ? 0 : 1;
}

int corpus_rebase(const CorpusOptions& o) {
    if (o.refresh_verdicts) return corpus_refresh_verdicts(o);
    if (o.oracle != "kvm" && o.oracle != "unicorn")
        throw CorpusError(fmt::format("--oracle {}: kvm or unicorn", o.oracle));
    const GoldenOracle wanted = o.oracle == "kvm" ? GoldenOracle::Kvm : GoldenOracle::Unicorn;
    const auto cases = load_selected(o);
    std::string why;
    size_t written = 0, skipped = 0, errors = 0;
    for (const CorpusCase& c : cases) {
        if (c.oracle != wanted) {
            fmt::print("{:<34} skipped: its golden comes from {}\n", c.name, to_string(c.oracle));
            ++skipped;
            continue;
        }
        auto engine = wanted == GoldenOracle::Kvm ? make_kvm_engine(why) : make_unicorn_engine(why);
        if (!engine) throw CorpusError(fmt::format("{} is not usable here: {}", o.oracle, why));
        const CaseResult result = run_case(c, *engine);
        if (result.exit.starts_with("error")) {
            fmt::print("{:<34} NOT written: the oracle stopped ({})\n", c.name, result.exit);
            ++errors;
            continue;
        }
        std::ofstream out(c.golden_file());
        out << dump_json(golden_to_json(result, wanted), 2) << '\n';
        if (!out) throw CorpusError(fmt::format("{}: cannot write", c.golden_file().string()));
        fmt::print("{:<34} written: {} after {} instructions\n", c.name, result.exit,
                   result.instructions);
        ++written;
    }
    fmt::print("{} written, {} skipped, {} not written\n", written, skipped, errors);
    return errors == 0 ? 0 : 1;
}

} // namespace

int run_corpus(const CorpusOptions& o) {
    return o.rebase ? corpus_rebase(o) : corpus_run(o);
}

} // namespace transit86::tools
