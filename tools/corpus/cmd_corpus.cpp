// `transit86 corpus run|rebase`: the scenario corpus against its oracle-produced goldens.
#include <fmt/format.h>
#include <fstream>
#include <map>

#include "tools/commands.hpp"
#include "tools/corpus/chain_case.hpp"
#include "tools/corpus/corpus_engine.hpp"
#include "tools/formats/state_json.hpp"

namespace transit86::tools {

namespace {

constexpr int kExitSkipped = 77;

// The plain cases and the boot chains (docs/corpus-format.md) a run selected.
struct Selection {
    std::vector<CorpusCase> cases;
    std::vector<ChainCase> chains;
};

Selection load_selection(const CorpusOptions& o) {
    Selection selected;
    const ChainPaths paths = default_chain_paths();
    for (const auto& file : find_cases(o.directory)) {
        if (file.stem().string().ends_with(".golden")) continue;
        if (!o.filter.empty() && file.stem().string().find(o.filter) == std::string::npos) continue;
        if (auto chain = load_chain_case(file, paths))
            selected.chains.push_back(std::move(*chain));
        else
            selected.cases.push_back(load_case(file));
    }
    if (selected.cases.empty() && selected.chains.empty())
        throw CorpusError(fmt::format("{}: no corpus cases found", o.directory));
    return selected;
}

std::vector<CorpusCase> load_selected(const CorpusOptions& o) {
    return load_selection(o).cases;
}

// Shows at most three differences unless verbose.
void print_diffs(const std::vector<std::string>& diffs, bool verbose) {
    const size_t shown = verbose ? diffs.size() : std::min<size_t>(diffs.size(), 3);
    for (size_t i = 0; i < shown; ++i)
        fmt::print("    {}\n", diffs[i]);
    if (shown < diffs.size()) fmt::print("    ... {} more (-v)\n", diffs.size() - shown);
}

// Boots each chain; a chain whose files are missing is skipped with the reason.
void run_chains(const std::vector<ChainCase>& chains, bool verbose, size_t& passed, size_t& failed,
                size_t& skipped) {
    for (const ChainCase& chain : chains) {
        if (!chain.skip_reason.empty()) {
            fmt::print("{:<34} {:<12} {:<18} {:>6}  SKIP: {}\n", chain.name, "chain", "-", "-",
                       chain.skip_reason);
            ++skipped;
            continue;
        }
        const ChainResult ours = run_chain(chain);
        std::vector<std::string> diffs;
        bool have_golden = std::filesystem::exists(chain.golden_file());
        if (have_golden)
            diffs = compare_chain(ours, load_chain_golden(chain));
        else
            diffs.push_back("no golden (-v prints this run as a draft for a person to check)");
        const bool ok = diffs.empty();
        (ok ? passed : failed)++;
        fmt::print("{:<34} {:<12} {:<18} {:>6}  {} ({:.1f} s)\n", chain.name, "chain",
                   ours.end.substr(0, 18), ours.instructions, ok ? "PASS" : "FAIL",
                   ours.wall_seconds);
        if (!ok) print_diffs(diffs, verbose);
        if (!have_golden && verbose)
            fmt::print("{}\n", dump_json(chain_golden_draft(ours), 2));
        else if (ok && verbose)
            fmt::print("    {}\n", chain.description);
    }
}

std::unique_ptr<CaseEngine> make_oracle_engine(GoldenOracle oracle, std::string& why) {
    switch (oracle) {
    case GoldenOracle::Kvm: return make_kvm_engine(why);
    case GoldenOracle::Unicorn: return make_unicorn_engine(why);
    case GoldenOracle::Qemu: return make_qemu_engine(why);
    case GoldenOracle::SdmByHand: break;
    }
    why = "sdm-by-hand goldens have no engine";
    return nullptr;
}

int corpus_run(const CorpusOptions& o) {
    const Selection selection = load_selection(o);
    const auto& cases = selection.cases;
    size_t passed = 0, failed = 0, skipped = 0;
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
        if (!ok)
            print_diffs(diffs, o.verbose);
        else if (o.verbose)
            fmt::print("    {}\n", c.description);
    }
    run_chains(selection.chains, o.verbose, passed, failed, skipped);
    if (skipped)
        fmt::print("{} passed, {} failed, {} skipped\n", passed, failed, skipped);
    else
        fmt::print("{} passed, {} failed\n", passed, failed);
    // 77: everything selected was skipped (ctest's SKIP_RETURN_CODE for the chain tests).
    if (failed == 0 && passed == 0 && skipped > 0) return kExitSkipped;
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

// `rebase --check`: the oracle's run of every selected case with a golden, compared with that
// golden whoever wrote it (docs/corpus-format.md: re-checking Unicorn goldens on QEMU).
int corpus_check_goldens(const CorpusOptions& o, GoldenOracle wanted) {
    size_t agree = 0, differ = 0;
    std::string why;
    for (const CorpusCase& c : load_selected(o)) {
        GoldenOracle oracle{};
        const auto golden = load_golden(c, oracle);
        if (!golden) continue;
        auto engine = make_oracle_engine(wanted, why);
        if (!engine) { // a test that re-checks goldens skips where the oracle is absent
            fmt::print("SKIP: {} is not usable here: {}\n", o.oracle, why);
            return kExitSkipped;
        }
        const CaseResult result = run_case(c, *engine);
        const std::vector<std::string> diffs = compare_results(result, *golden);
        (diffs.empty() ? agree : differ)++;
        fmt::print("{:<34} {:<12} {:<18} {:>6}  {}\n", c.name, to_string(oracle),
                   result.exit.substr(0, 18), result.instructions,
                   diffs.empty() ? "AGREES" : "DIFFERS");
        print_diffs(diffs, o.verbose);
    }
    fmt::print("{} agree, {} differ\n", agree, differ);
    return differ == 0 ? 0 : 1;
}

int corpus_rebase(const CorpusOptions& o) {
    if (o.refresh_verdicts) return corpus_refresh_verdicts(o);
    const std::map<std::string, GoldenOracle> oracles = {{"kvm", GoldenOracle::Kvm},
                                                         {"unicorn", GoldenOracle::Unicorn},
                                                         {"qemu", GoldenOracle::Qemu}};
    const auto named = oracles.find(o.oracle);
    if (named == oracles.end())
        throw CorpusError(fmt::format("--oracle {}: kvm, unicorn or qemu", o.oracle));
    const GoldenOracle wanted = named->second;
    if (o.check) return corpus_check_goldens(o, wanted);
    const auto cases = load_selected(o);
    std::string why;
    size_t written = 0, skipped = 0, errors = 0;
    for (const CorpusCase& c : cases) {
        if (c.oracle != wanted) {
            fmt::print("{:<34} skipped: its golden comes from {}\n", c.name, to_string(c.oracle));
            ++skipped;
            continue;
        }
        auto engine = make_oracle_engine(wanted, why);
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
