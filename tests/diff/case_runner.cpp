#include "diff/case_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "diff/known_differences.hpp"
#include "oracle/state_diff.hpp"

namespace transit86::diff {

namespace {

const RunLimits kStepToHost{
    .budget = 0, .stop_when_valid = std::nullopt, .single_step = true, .exceptions_to_host = true};
const RunLimits kStepDelivering{
    .budget = 0, .stop_when_valid = std::nullopt, .single_step = true, .exceptions_to_host = false};

// The handler stubs run with this CS (layout.hpp).
uint16_t stub_selector(Mode mode) {
    return mode == Mode::Real ? 0 : kCodeSel;
}

// Where KVM is after delivering `vector` and running the stub's NOP.
bool at_stub_after_nop(const CpuState& s, Mode mode, uint32_t vector) {
    return s[Seg::CS].selector == stub_selector(mode) && s.eip == kStubBase + vector + 1;
}

std::optional<uint32_t> stub_vector(const CpuState& s, Mode mode) {
    if (s[Seg::CS].selector != stub_selector(mode)) return std::nullopt;
    if (s.eip <= kStubBase || s.eip > kStubBase + 256) return std::nullopt;
    return s.eip - kStubBase - 1;
}

// "eflags ours=.. oracle=.." -> "eflags"; "memory[0x1234..] ..." -> "memory".
std::string field_name(const std::string& line) {
    return line.substr(0, std::min(line.find(' '), line.find('[')));
}

std::string state_line(const CpuState& s) {
    return fmt::format("eax={:08x} ecx={:08x} edx={:08x} ebx={:08x} esp={:08x} ebp={:08x} "
                       "esi={:08x} edi={:08x} fl={:05x} es={:04x} cs={:04x} ss={:04x} ds={:04x} "
                       "fs={:04x} gs={:04x} eip={:08x}",
                       s.gpr[0], s.gpr[1], s.gpr[2], s.gpr[3], s.gpr[4], s.gpr[5], s.gpr[6],
                       s.gpr[7], s.eflags, s.seg[0].selector, s.seg[1].selector, s.seg[2].selector,
                       s.seg[3].selector, s.seg[4].selector, s.seg[5].selector, s.eip);
}

// The first bytes where the two memories differ, as report lines (empty when equal).
std::vector<std::string> memory_difference(std::span<const uint8_t> ours,
                                           std::span<const uint8_t> theirs) {
    const size_t n = std::min(ours.size(), theirs.size());
    size_t at = 0;
    for (; at < n; at += 4096) {
        const size_t len = std::min<size_t>(4096, n - at);
        if (std::memcmp(&ours[at], &theirs[at], len) != 0) break;
    }
    if (at >= n) return {};
    while (ours[at] == theirs[at])
        ++at;
    const size_t end = std::min(n, at + 16);
    std::string a, b;
    for (size_t i = at; i < end; ++i) {
        a += fmt::format("{:02x}", ours[i]);
        b += fmt::format("{:02x}", theirs[i]);
    }
    return {fmt::format("memory[{:#x}..] ours={} oracle={}", at, a, b)};
}

// KVM pushes its own single-step TF into the FLAGS image of a delivered exception
// (kvm_stepper.hpp): clear it in the oracle's memory. `s` is KVM's state after the stub's NOP.
void clear_pushed_tf(std::span<uint8_t> memory, const CpuState& s, Mode mode, uint8_t vector) {
    const bool big = ar::db(s[Seg::SS].access_rights);
    const uint32_t offset = mode == Mode::Real ? 4 : (has_error_code(vector) ? 12 : 8);
    const uint32_t sp = (s.gpr[4] + offset) & (big ? 0xFFFFFFFFu : 0xFFFFu);
    const uint64_t at = (s[Seg::SS].base + sp) & 0xFFFFFFFF;
    if (at + 2 <= memory.size()) memory[at + 1] &= static_cast<uint8_t>(~(flags::TF >> 8));
}

} // namespace

// One pass over a case: transit86 and the oracle started from the same state and memory.
struct CaseRunner::Session {
    CaseRunner& self;
    const Case& c;
    bool memory_each_step;
    Emulator& emu;
    CaseResult result;
    uint32_t step = 0;
    bool delivered_last = false; // the last step delivered an exception on both sides

    std::span<uint8_t> theirs_ram() { return self.oracle_.memory().first(kRamSize); }

    std::vector<std::string> compare(const CpuState& ours, CpuState theirs, uint32_t ignore) {
        self.oracle_.fill_unobservable(ours, theirs);
        oracle::CompareOptions options;
        options.eflags_ignore = flags::RF | flags::TF | ignore;
        options.compare_interruptibility = self.oracle_.reports_interruptibility();
        return oracle::diff_states(ours, theirs, options);
    }

    // Record a difference: Failed, or Explained when a known oracle inaccuracy matches.
    void differ(const Fetched& f, const CpuState& before, std::vector<std::string> lines,
                StepFacts facts) {
        for (const auto& line : lines)
            if (line.front() != '(') facts.fields.push_back(field_name(line)); // not a note
        facts.mode = c.mode;
        facts.oracle = self.oracle_.name();
        facts.insn = &f.insn;
        facts.bytes = std::span<const uint8_t>(f.bytes.data(), f.length);
        facts.before = &before;
        if (identity_paging() && c.mode == Mode::Pm32) {
            const std::vector<uint8_t>& p = self.pristine(c.mode);
            facts.page_directory_changed =
                std::memcmp(&self.ram_[kPageDirectory], &p[kPageDirectory], 4096) != 0;
        }
        const KnownDifference* known = find_known_difference(facts);
        result.status = known != nullptr ? CaseStatus::Explained : CaseStatus::Failed;
        result.fields = facts.fields;
        if (known != nullptr) result.end = known->id;
        std::string text =
            fmt::format("{} {}/{} case {:#018x} step {}: {}\n", known ? "KNOWN" : "FAIL",
                        to_string(c.mode), self.oracle_.name(), c.seed, step, describe(f, before));
        for (const auto& line : lines)
            text += "  " + line + "\n";
        if (known != nullptr) text += fmt::format("  known: {}: {}\n", known->id, known->why);
        text += fmt::format("  before: {}\n", state_line(before));
        text +=
            fmt::format("  replay: transit86-diff --oracle {} --mode {} --replay {:#x}{} "
                        "--verbose\n",
                        self.oracle_.name(), to_string(c.mode), c.seed, self.options_.replay_hint);
        result.report = std::move(text);
    }

    // The instruction raised `vector` on transit86 (handed to us, not delivered).
    bool judge_our_exception(const Fetched& f, const CpuState& before, const Exit& ours,
                             const OracleStep& theirs) {
        const uint8_t v = ours.vector;
        StepFacts facts;
        facts.our_vector = v;
        facts.oracle_outcome = theirs.outcome;
        facts.oracle_vector = theirs.vector;
        if (!self.oracle_.delivers_exceptions()) {
            if (theirs.outcome == OracleOutcome::Exception && theirs.vector == v) {
                result.end = fmt::format("exception #{}", v);
                return false;
            }
            const std::string what = theirs.outcome == OracleOutcome::Exception
                                         ? fmt::format("#{}", theirs.vector)
                                         : "none (" + state_line(theirs.state) + ")";
            differ(f, before, {fmt::format("exception ours=#{} oracle={}", v, what)}, facts);
            return false;
        }
        if (theirs.outcome == OracleOutcome::Shutdown) {
            // The oracle's delivery escalated to a triple fault: ours must too.
            const Exit delivered = emu.run(kStepDelivering);
            if (delivered.reason == ExitReason::TripleFault) {
                result.end = fmt::format("exception #{} -> triple fault", v);
                return false;
            }
            if (delivered.reason == ExitReason::Mmio) { // the frame would go outside RAM
                result.end = fmt::format("exception #{} -> frame outside RAM", v);
                return false;
            }
            differ(f, before,
                   {fmt::format("delivery of #{} ours={} oracle=shutdown", v,
                                to_string(delivered.reason))},
                   facts);
            return false;
        }
        if (theirs.outcome != OracleOutcome::Retired ||
            !at_stub_after_nop(theirs.state, c.mode, v)) {
            const auto other = stub_vector(theirs.state, c.mode);
            const std::string what =
                other ? fmt::format("#{}", *other) : "none (" + state_line(theirs.state) + ")";
            differ(f, before, {fmt::format("exception ours=#{} oracle={}", v, what)}, facts);
            return false;
        }
        // Deliver it on transit86 too and run the stub's NOP, as KVM's step did.
        const Exit delivered = emu.run(kStepDelivering);
        const Exit nop =
            delivered.reason == ExitReason::Step ? emu.run(kStepDelivering) : delivered;
        if (nop.reason != ExitReason::Step) {
            differ(
                f, before,
                {fmt::format("delivery of #{} ours={} oracle=delivered", v, to_string(nop.reason))},
                facts);
            return false;
        }
        clear_pushed_tf(theirs_ram(), theirs.state, c.mode, v);
        const auto lines = compare(emu.state(), theirs.state, 0);
        if (!lines.empty()) {
            std::vector<std::string> all{fmt::format("(after delivering #{})", v)};
            all.insert(all.end(), lines.begin(), lines.end());
            facts.ours = &emu.state();
            facts.theirs = &theirs.state;
            facts.delivered = true;
            differ(f, before, all, facts);
            return false;
        }
        result.end = fmt::format("exception #{} (delivery compared)", v);
        delivered_last = true;
        return false;
    }

    // Both retired: adopt the oracle's undefined results, then compare.
    bool judge_retired(const Fetched& f, const CpuState& before, const Undefined& u,
                       const OracleStep& theirs) {
        CpuState& ours = emu.state();
        ours.eflags = (ours.eflags & ~u.eflags) | (theirs.state.eflags & u.eflags);
        for (int r = 0; r < 8; ++r)
            ours.gpr[r] = (ours.gpr[r] & ~u.gpr[r]) | (theirs.state.gpr[r] & u.gpr[r]);
        if (u.mem_size != 0 && u.mem_linear + u.mem_size <= kRamSize)
            std::memcpy(&self.ram_[u.mem_linear], &theirs_ram()[u.mem_linear], u.mem_size);
        std::vector<std::string> lines = compare(ours, theirs.state, u.eflags);
        if (lines.empty()) return true;
        StepFacts facts;
        facts.ours = &ours;
        facts.theirs = &theirs.state;
        if (const auto v = stub_vector(theirs.state, c.mode);
            v && self.oracle_.delivers_exceptions() && ours.eip != theirs.state.eip)
            lines.insert(lines.begin(), fmt::format("exception ours=none oracle=#{}", *v));
        differ(f, before, lines, facts);
        return false;
    }

    // Compare one step's outcomes; true to go on with the case.
    bool judge(const Fetched& f, const CpuState& before, const Undefined& u, const Exit& ours,
               const OracleStep& theirs, bool& outside_ram) {
        if (ours.reason == ExitReason::Exception)
            return judge_our_exception(f, before, ours, theirs);
        StepFacts facts;
        facts.oracle_outcome = theirs.outcome;
        facts.oracle_vector = theirs.vector;
        if (ours.reason == ExitReason::Mmio) {
            if (theirs.outcome == OracleOutcome::OutsideRam) {
                result.end = "access outside RAM";
                outside_ram = true;
                return false;
            }
            differ(f, before,
                   {fmt::format("outside-ram ours={:#x} oracle=none", ours.mmio_address)}, facts);
            return false;
        }
        if (ours.reason != ExitReason::Step) {
            differ(f, before, {fmt::format("exit ours={} oracle=retired", to_string(ours.reason))},
                   facts);
            return false;
        }
        if (theirs.outcome == OracleOutcome::Exception) {
            differ(f, before, {fmt::format("exception ours=none oracle=#{}", theirs.vector)},
                   facts);
            return false;
        }
        if (theirs.outcome == OracleOutcome::OutsideRam) {
            differ(f, before, {"outside-ram ours=none oracle=" + theirs.detail}, facts);
            return false;
        }
        if (theirs.outcome == OracleOutcome::Shutdown) {
            differ(f, before, {"exit ours=retired oracle=shutdown"}, facts);
            return false;
        }
        return judge_retired(f, before, u, theirs);
    }
};

CaseRunner::CaseRunner(Oracle& oracle, RunnerOptions options)
    : oracle_(oracle), options_(std::move(options)), ram_(kRamSize) {}

std::vector<uint8_t>& CaseRunner::pristine(Mode mode) {
    std::vector<uint8_t>& p = pristine_[static_cast<size_t>(mode)];
    if (p.empty()) {
        p.resize(kRamSize);
        build_pristine_memory(p, mode);
    }
    return p;
}

void CaseRunner::load_case(const Case& c) {
    const std::vector<uint8_t>& p = pristine(c.mode);
    std::memcpy(ram_.data(), p.data(), kRamSize);
    std::memcpy(&ram_[c.code_linear], c.code.data(), c.code.size());
    std::memcpy(oracle_.memory().data(), ram_.data(), kRamSize);
}

CaseResult CaseRunner::run_case(const Case& c) {
    bool memory_differs = false;
    CaseResult result = run_once(c, false, memory_differs);
    if (result.status == CaseStatus::Passed && memory_differs) {
        bool again = false;
        const uint32_t compared = result.compared;
        std::vector<decoder::Op> ops = std::move(result.compared_ops);
        result = run_once(c, true, again); // find the instruction that made memory differ
        result.compared = std::min(result.compared, compared);
        ops.resize(result.compared);
        result.compared_ops = std::move(ops);
    }
    return result;
}

CaseResult CaseRunner::run(uint64_t seed, Mode mode) {
    const Case c = generate_case(seed, mode, options_.instructions);
    CaseResult result = run_case(c);
    if (result.status == CaseStatus::Failed || result.status == CaseStatus::Explained) {
        // A difference ends a case with the oracle in a state nobody compared: start the next
        // case from a fresh one. A failure is run again from a fresh oracle too: if it does not
        // recur, the oracle's answer depended on earlier cases (seen with KVM after a hint NOP
        // whose single step was lost), which is no fault of transit86's.
        oracle_needs_reset_ = true;
        if (result.status == CaseStatus::Failed) {
            const CaseResult fresh = run_case(c);
            oracle_needs_reset_ = true;
            if (fresh.status != CaseStatus::Failed) {
                result.status = CaseStatus::Explained;
                result.end = "oracle-state-leak";
                result.report = "(does not recur with a fresh oracle) " + result.report;
            }
        }
    }
    return result;
}

CaseResult CaseRunner::run_once(const Case& c, bool memory_each_step, bool& memory_differs) {
    memory_differs = false;
    std::string error;
    if (oracle_needs_reset_) {
        oracle_needs_reset_ = false;
        if (!oracle_.reset(error)) {
            CaseResult r;
            r.status = CaseStatus::Error;
            r.report = fmt::format("ERROR {}/{} case {:#018x}: oracle reset: {}\n",
                                   to_string(c.mode), oracle_.name(), c.seed, error);
            return r;
        }
    }
    load_case(c);
    const RamSlot slot{.guest_phys = 0, .size = ram_.size(), .host = ram_.data()};
    Emulator emu({&slot, 1});
    emu.state() = c.start;
    Session s{*this, c, memory_each_step, emu, {}, 0};
    if (!oracle_.start(c.start, error)) {
        s.result.status = CaseStatus::Error;
        s.result.report = fmt::format("ERROR {}/{} case {:#018x}: oracle start: {}\n",
                                      to_string(c.mode), oracle_.name(), c.seed, error);
        return s.result;
    }
    if (options_.verbose && !memory_each_step)
        fmt::print("case {:#018x} {}: code at linear {:#x}\n  start: {}\n", c.seed,
                   to_string(c.mode), c.code_linear, state_line(c.start));

    const uint32_t max_steps = 2 * options_.instructions + 4;
    bool outside_ram = false;
    for (;; ++s.step) {
        if (s.step == max_steps) {
            s.result.end = "step limit";
            break;
        }
        const CpuState before = emu.state();
        const Fetched f = fetch(before, ram_);
        if (const char* why = gate(f, before, ram_, c.mode)) {
            const bool at_end = f.linear == c.code_linear + c.code.size() - 1;
            s.result.end = at_end ? "end of the code" : why;
            break;
        }
        if (options_.verbose && !memory_each_step) fmt::print("  {}\n", describe(f, before));
        const Undefined u = undefined_results(f, before, ram_);
        const Exit ours = emu.run(kStepToHost);
        s.result.op = decoder::op_name(f.insn.op);
        if (ours.reason == ExitReason::Unsupported) {
            s.result.status = CaseStatus::SkippedOurs;
            s.result.report = fmt::format("{}: {}", describe(f, before),
                                          ours.detail != nullptr ? ours.detail : "unsupported");
            return s.result;
        }
        const OracleStep theirs = oracle_.step();
        const bool abnormal = theirs.outcome == OracleOutcome::Cannot ||
                              theirs.outcome == OracleOutcome::Shutdown ||
                              theirs.outcome == OracleOutcome::Error;
        if (abnormal) oracle_needs_reset_ = true;
        if (theirs.outcome == OracleOutcome::Cannot || theirs.outcome == OracleOutcome::Error) {
            const bool cannot = theirs.outcome == OracleOutcome::Cannot;
            s.result.status = cannot ? CaseStatus::SkippedOracle : CaseStatus::Error;
            s.result.report = fmt::format("{}{}/{} case {:#018x} step {}: {}: {}\n",
                                          cannot ? "" : "ERROR ", to_string(c.mode), oracle_.name(),
                                          c.seed, s.step, describe(f, before), theirs.detail);
            return s.result;
        }
        const bool go_on = s.judge(f, before, u, ours, theirs, outside_ram);
        if (s.result.status != CaseStatus::Passed) return s.result;
        ++s.result.compared;
        s.result.compared_ops.push_back(f.insn.op);
        if (options_.verbose && !memory_each_step)
            fmt::print("    -> {}\n", state_line(emu.state()));
        if (memory_each_step && !outside_ram) {
            const auto lines = memory_difference(ram_, oracle_.memory().first(kRamSize));
            if (!lines.empty()) {
                --s.result.compared;
                s.result.compared_ops.pop_back();
                StepFacts facts;
                facts.delivered = s.delivered_last;
                s.differ(f, before, lines, facts);
                return s.result;
            }
        }
        if (!go_on) break;
    }
    if (!memory_each_step)
        memory_differs = !memory_difference(ram_, oracle_.memory().first(kRamSize)).empty();
    if (options_.verbose && !memory_each_step) fmt::print("  end: {}\n", s.result.end);
    return s.result;
}

} // namespace transit86::diff
