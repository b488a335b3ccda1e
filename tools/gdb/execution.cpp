#include "tools/gdb/execution.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <tuple>

#include "decoder/decoder.hpp"
#include "tools/formats/vmx_report.hpp"
#include "tools/gdb/registers.hpp"

namespace transit86::gdb {

namespace {

bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
    return a0 < b1 && b0 < a1;
}

bool is_string_op(decoder::Op op) {
    using decoder::Op;
    return op == Op::Movs || op == Op::Cmps || op == Op::Stos || op == Op::Lods || op == Op::Scas ||
           op == Op::Ins || op == Op::Outs;
}

std::string window_message(const CpuState& after, uint64_t linear, vmx::Profile profile,
                           bool valid) {
    std::string text = fmt::format("window: the instruction at {:#x} makes the state {} under {}",
                                   linear, valid ? "VALID" : "INVALID", vmx::to_string(profile));
    if (valid) return text + ": KVM would hand the state back to the VMM here\n";
    return text + "\n" + tools::format_violations(vmx::evaluate(after, profile), profile);
}

} // namespace

Execution::Execution(GdbTarget& target, ReverseHistory::Limits limits)
    : target_(target), history_(target, limits) {
    history_.start(0);
}

bool Execution::insert_breakpoint(uint64_t linear, bool hardware) {
    auto& set = hardware ? hardware_breaks_ : software_breaks_;
    if (set.size() >= kMaxBreakpoints && !set.count(linear)) return false;
    set.insert(linear);
    update_break_list();
    return true;
}

bool Execution::remove_breakpoint(uint64_t linear, bool hardware) {
    (hardware ? hardware_breaks_ : software_breaks_).erase(linear);
    update_break_list();
    return true; // removing one that is not there is not an error (GDB may retry)
}

void Execution::update_break_list() {
    break_list_.assign(software_breaks_.begin(), software_breaks_.end());
    break_list_.insert(break_list_.end(), hardware_breaks_.begin(), hardware_breaks_.end());
    std::sort(break_list_.begin(), break_list_.end());
    break_list_.erase(std::unique(break_list_.begin(), break_list_.end()), break_list_.end());
}

Stop::Kind Execution::break_kind(uint64_t pc) const {
    return hardware_breaks_.count(pc) ? Stop::Kind::HardwareBreak : Stop::Kind::SoftwareBreak;
}

std::string Execution::window_stop_message(uint64_t changed_by) const {
    const CpuState& after = target_.state();
    const vmx::Profile profile = target_.profile();
    return window_message(after, changed_by, profile, vmx::is_valid(after, profile));
}

bool Execution::insert_watchpoint(const Watchpoint& w) {
    if (w.length == 0 || w.length > kMaxWatchLength || w.address > UINT32_MAX ||
        w.address + w.length > (uint64_t{1} << 32))
        return false;
    if (std::find(watchpoints_.begin(), watchpoints_.end(), w) != watchpoints_.end()) return true;
    if (watchpoints_.size() >= kMaxWatchpoints) return false;
    watchpoints_.push_back(w);
    refresh_watch_values();
    return true;
}

bool Execution::remove_watchpoint(const Watchpoint& w) {
    const auto it = std::find(watchpoints_.begin(), watchpoints_.end(), w);
    if (it != watchpoints_.end()) watchpoints_.erase(it);
    refresh_watch_values();
    return true;
}

void Execution::refresh_watch_values() {
    watch_values_.resize(watchpoints_.size());
    for (size_t i = 0; i < watchpoints_.size(); ++i) {
        watch_values_[i].assign(watchpoints_[i].length, 0);
        target_.read_linear(watchpoints_[i].address, watch_values_[i]);
    }
}

// The linear ranges the instruction at CS:EIP reads or writes through its memory operands and
// the string registers; the stack is added by the caller from the change of ESP. Accesses the
// processor makes on its own (descriptor tables, the IVT, a TSS) are not listed: watchpoints
// see those through the value changes only (docs/gdb.md).
std::vector<Execution::Range> Execution::instruction_accesses(const CpuState& s) const {
    std::vector<Range> out;
    uint8_t bytes[15] = {};
    const size_t n = target_.read_linear(linear_pc(s), bytes);
    decoder::Insn insn;
    const decoder::FetchMode mode{.protected_mode = s.protected_mode(),
                                  .code32 = ar::db(s[Seg::CS].access_rights),
                                  .v86 = s.v86()};
    if (decoder::decode(bytes, n, mode, insn) != decoder::DecodeStatus::Ok) return out;
    const uint64_t addr_mask = insn.address_size == 2 ? 0xFFFF : 0xFFFFFFFF;
    for (uint8_t i = 0; i < insn.operand_count && i < 3; ++i) {
        const decoder::Operand& o = insn.operands[i];
        if (o.kind != decoder::OperandKind::Mem) continue;
        uint64_t ea = o.value;
        if (o.base != decoder::kNoReg && o.base < 8) ea += s.gpr[o.base];
        if (o.index != decoder::kNoReg && o.index < 8) ea += uint64_t{s.gpr[o.index]} * o.scale;
        const uint64_t linear = (s.seg[o.segment % kNumSegs].base + (ea & addr_mask)) & 0xFFFFFFFF;
        out.push_back({linear, linear + std::max<uint8_t>(o.size, 1)});
    }
    if (is_string_op(insn.op)) {
        const uint64_t size = std::max<uint8_t>(insn.operand_size, 1);
        uint64_t count = 1;
        if (insn.prefixes & (decoder::prefix::Rep | decoder::prefix::Repne))
            count = std::clamp<uint64_t>(s[Gpr::ECX] & addr_mask, 1, uint64_t{1} << 20);
        const bool down = (s.eflags & flags::DF) != 0;
        auto span = [&](uint64_t seg_base, uint32_t reg) {
            const uint64_t first = seg_base + (reg & addr_mask);
            const uint64_t lo = down ? first - (count - 1) * size : first;
            out.push_back({lo & 0xFFFFFFFF, (lo & 0xFFFFFFFF) + count * size});
        };
        span(s.seg[insn.segment % kNumSegs].base, s[Gpr::ESI]);
        span(s[Seg::ES].base, s[Gpr::EDI]);
    }
    return out;
}

bool Execution::checked_step(Stop& hit, bool& stopped) {
    const vmx::Profile profile = target_.profile();
    bool want_accesses = false;
    for (const Watchpoint& w : watchpoints_)
        want_accesses |= w.kind != WatchKind::Write;
    const CpuState before = target_.state();
    std::vector<Range> accesses;
    if (want_accesses) accesses = instruction_accesses(before);
    const bool valid_before = window_watch_ && vmx::is_valid(before, profile);
    const bool live = position_ >= frontier_;

    StepResult r = target_.step();
    partial_ = !r.retired && r.event.empty();
    if (r.retired) {
        ++position_;
        frontier_ = std::max(frontier_, position_);
        history_.after_step(position_);
    }
    if (live) hit.console += r.console;
    if (!r.event.empty()) {
        stopped = true;
        hit.kind = Stop::Kind::HostEvent;
        hit.message = r.event + "\n";
        return r.retired;
    }
    const CpuState& after = target_.state();
    if (want_accesses && after[Gpr::ESP] != before[Gpr::ESP]) {
        const uint64_t lo = std::min(after[Gpr::ESP], before[Gpr::ESP]);
        const uint64_t hi = std::max(after[Gpr::ESP], before[Gpr::ESP]);
        if (hi - lo <= 64)
            accesses.push_back({before[Seg::SS].base + lo, before[Seg::SS].base + hi});
    }
    std::vector<uint8_t> now;
    for (size_t i = 0; i < watchpoints_.size(); ++i) {
        const Watchpoint& w = watchpoints_[i];
        now.assign(w.length, 0);
        target_.read_linear(w.address, now);
        const bool changed = now != watch_values_[i];
        watch_values_[i] = now;
        bool touched = false;
        for (const Range& a : accesses)
            touched |= overlaps(a.begin, a.end, w.address, w.address + w.length);
        const bool fires = w.kind == WatchKind::Write  ? changed
                           : w.kind == WatchKind::Read ? touched && !changed
                                                       : changed || touched;
        if (fires && !stopped) {
            stopped = true;
            hit.kind = Stop::Kind::Watch;
            hit.watch = w.kind;
            hit.watch_address = w.address;
        }
    }
    if (window_watch_ && !stopped) {
        const bool valid_after = vmx::is_valid(after, profile);
        if (valid_after != valid_before) {
            stopped = true;
            hit.kind = Stop::Kind::Window;
            hit.message = window_message(after, linear_pc(before), profile, valid_after);
        }
    }
    return r.retired;
}

Stop Execution::forward(bool single_step, const std::function<bool()>& interrupted) {
    Stop stop;
    refresh_watch_values();
    if (!single_step && watchpoints_.empty()) return run_forward(interrupted);
    for (uint64_t n = 1;; ++n) {
        bool stopped = false;
        checked_step(stop, stopped);
        if (stopped) return stop;
        if (single_step) {
            stop.kind = Stop::Kind::Step;
            return stop;
        }
        const uint64_t pc = linear_pc(target_.state());
        if (hardware_breaks_.count(pc)) {
            stop.kind = Stop::Kind::HardwareBreak;
            return stop;
        }
        if (software_breaks_.count(pc)) {
            stop.kind = Stop::Kind::SoftwareBreak;
            return stop;
        }
        if ((n & 0xFFF) == 0 && interrupted && interrupted()) {
            stop.kind = Stop::Kind::Interrupted;
            return stop;
        }
    }
}

Stop Execution::run_forward(const std::function<bool()>& interrupted) {
    Stop stop;
    for (;;) {
        // Replayed positions show no console output: the chunk ends where new execution
        // begins, and at the next snapshot boundary after it.
        const bool live = position_ >= frontier_;
        const uint64_t limit =
            live ? history_.next_due(position_) - position_ : frontier_ - position_;
        const RunResult r = target_.run({.max_positions = std::min(limit, kRunChunk),
                                         .breakpoints = break_list_,
                                         .stop_on_verdict_change = window_watch_});
        partial_ = false;
        position_ += r.positions;
        frontier_ = std::max(frontier_, position_);
        if (r.positions != 0) history_.after_step(position_);
        if (live) stop.console += r.console;
        if (!r.event.empty()) {
            stop.kind = Stop::Kind::HostEvent;
            stop.message = r.event + "\n";
            return stop;
        }
        if (r.verdict_changed && window_watch_) {
            stop.kind = Stop::Kind::Window;
            stop.message = window_stop_message(r.changed_by);
            return stop;
        }
        if (r.at_breakpoint) {
            stop.kind = break_kind(linear_pc(target_.state()));
            return stop;
        }
        if (interrupted && interrupted()) {
            stop.kind = Stop::Kind::Interrupted;
            return stop;
        }
    }
}

bool Execution::go_to(uint64_t position) {
    const uint64_t start = history_.restore_at_or_before(position);
    if (start > position) return false;
    partial_ = false;
    position_ = start;
    while (position_ < position) {
        const RunResult r = target_.run({.max_positions = position - position_});
        position_ += r.positions;
        history_.after_step(position_);
        // Not reached: replay is deterministic, so this does not happen. (A run may return
        // without a position, e.g. a halted CPU: it goes on at the next call.)
        if (position_ < position && !r.event.empty()) return false;
    }
    return true;
}

std::optional<std::pair<uint64_t, Stop>> Execution::last_hit_before(uint64_t end) {
    std::optional<std::pair<uint64_t, Stop>> last;
    while (position_ < end) {
        if (std::binary_search(break_list_.begin(), break_list_.end(),
                               linear_pc(target_.state()))) {
            Stop hit;
            hit.kind = break_kind(linear_pc(target_.state()));
            last = {position_, hit};
        }
        const RunResult r = target_.run({.max_positions = end - position_,
                                         .breakpoints = break_list_,
                                         .stop_on_verdict_change = window_watch_});
        position_ += r.positions;
        if (r.verdict_changed && window_watch_) {
            Stop hit;
            hit.kind = Stop::Kind::Window;
            hit.message = window_stop_message(r.changed_by);
            last = {position_ - 1, hit};
        }
        if (!r.event.empty()) break;
    }
    return last;
}

Stop Execution::reverse(bool single_step, const std::function<bool()>& interrupted) {
    Stop stop;
    const uint64_t begin = history_.begin();
    auto at_begin = [&] {
        go_to(begin);
        stop.kind = Stop::Kind::HistoryBegin;
        stop.message = fmt::format(
            "reverse: the start of the recorded history ({} instructions after GDB attached)\n",
            begin);
        return stop;
    };
    if (position_ <= begin && !partial_) return at_begin();
    if (single_step) {
        go_to(partial_ ? position_ : position_ - 1);
        stop.kind = Stop::Kind::Step;
        return stop;
    }
    // Scan the history backwards one snapshot interval at a time, replaying each forward and
    // keeping the last hit before `end`: the nearest earlier one.
    uint64_t end = position_;
    const std::vector<uint64_t> snaps = history_.snapshot_positions();
    for (size_t idx = snaps.size(); idx-- > 0;) {
        if (snaps[idx] >= end) continue;
        const uint64_t seg_start = snaps[idx];
        history_.restore_at_or_before(seg_start);
        position_ = seg_start;
        refresh_watch_values();
        std::optional<uint64_t> last;
        Stop last_stop;
        if (watchpoints_.empty()) {
            if (auto hit = last_hit_before(end)) std::tie(last, last_stop) = *hit;
        }
        while (!watchpoints_.empty() && position_ < end) {
            const uint64_t p = position_;
            const uint64_t pc = linear_pc(target_.state());
            if (hardware_breaks_.count(pc) || software_breaks_.count(pc)) {
                last = p;
                last_stop = Stop{};
                last_stop.kind = hardware_breaks_.count(pc) ? Stop::Kind::HardwareBreak
                                                            : Stop::Kind::SoftwareBreak;
            }
            Stop hit;
            bool stopped = false;
            if (!checked_step(hit, stopped) && hit.kind == Stop::Kind::HostEvent) break;
            if (stopped && (hit.kind == Stop::Kind::Watch || hit.kind == Stop::Kind::Window)) {
                last = p;
                last_stop = hit;
            }
        }
        if (last) {
            go_to(*last);
            last_stop.console.clear();
            return last_stop;
        }
        if (interrupted && interrupted()) {
            stop.kind = Stop::Kind::Interrupted;
            go_to(seg_start);
            return stop;
        }
        end = seg_start;
    }
    return at_begin();
}

void Execution::state_rewritten() {
    history_.rewrite_at(position_);
    frontier_ = position_;
    refresh_watch_values();
}

} // namespace transit86::gdb
