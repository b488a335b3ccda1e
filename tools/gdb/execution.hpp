// Running a GdbTarget forward and backward for the GDB session: breakpoints and watchpoints
// on linear addresses, the VM-entry "window" watch, host events, Ctrl-C, and reverse
// execution over a ReverseHistory (docs/gdb.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tools/gdb/gdb_target.hpp"
#include "tools/gdb/reverse_history.hpp"

namespace transit86::gdb {

enum class WatchKind : uint8_t { Write, Read, Access }; // Z2, Z3, Z4

struct Watchpoint {
    uint64_t address = 0; // linear
    uint64_t length = 0;
    WatchKind kind = WatchKind::Write;
    friend bool operator==(const Watchpoint&, const Watchpoint&) = default;
};

// Why a run stopped.
struct Stop {
    enum class Kind : uint8_t {
        Step,          // single step done
        SoftwareBreak, // at a Z0 breakpoint
        HardwareBreak, // at a Z1 breakpoint
        Watch,         // a watchpoint: `watch` says which, `watch_address` where
        Window,        // the VM-entry verdict changed (window watch); `message` says how
        Interrupted,   // Ctrl-C
        HostEvent,     // what the host would see (HLT, I/O, MMIO, exception, triple fault)
        HistoryBegin,  // reverse execution reached the start of the recorded history
    };
    Kind kind = Kind::Step;
    WatchKind watch = WatchKind::Write;
    uint64_t watch_address = 0;
    std::string message; // one or more lines for the GDB console
    std::string console; // guest console output produced by new (not replayed) execution
};

class Execution {
  public:
    static constexpr size_t kMaxBreakpoints = 256;
    static constexpr size_t kMaxWatchpoints = 64;
    static constexpr uint64_t kMaxWatchLength = 4096;
    // Positions a run goes between looks at Ctrl-C when nothing needs each instruction.
    static constexpr uint64_t kRunChunk = 65536;

    Execution(GdbTarget& target, ReverseHistory::Limits limits);

    // Breakpoints (Z0 software, Z1 hardware: both stop before the instruction at a linear
    // address) and watchpoints. False when a limit is reached or the request is malformed.
    bool insert_breakpoint(uint64_t linear, bool hardware);
    bool remove_breakpoint(uint64_t linear, bool hardware);
    bool insert_watchpoint(const Watchpoint& w);
    bool remove_watchpoint(const Watchpoint& w);

    // The window watch: stop when the verdict under `profile` changes.
    void set_window_watch(bool on) { window_watch_ = on; }
    bool window_watch() const { return window_watch_; }

    // Forward: one instruction, or until something stops the run. `interrupted` is polled
    // now and then (Ctrl-C from GDB).
    Stop forward(bool single_step, const std::function<bool()>& interrupted);
    // Backward: one instruction, or to the last breakpoint or watchpoint hit (or window
    // change) before the current position, else to the start of the history.
    Stop reverse(bool single_step, const std::function<bool()>& interrupted);

    // The user changed registers or memory: the history after this point is dropped.
    void state_rewritten();

    uint64_t position() const { return position_; }
    const ReverseHistory& history() const { return history_; }
    GdbTarget& target() { return target_; }

  private:
    struct Range {
        uint64_t begin = 0, end = 0; // linear, [begin, end)
    };
    // One step with every check; `hit` is filled when something should stop the run there.
    // Returns false when the step did not retire.
    bool checked_step(Stop& hit, bool& stopped);
    // forward() without watchpoints: GdbTarget::run() up to each snapshot boundary.
    Stop run_forward(const std::function<bool()>& interrupted);
    // The last breakpoint or window change in [position_, end), scanning with run(): its
    // position and stop, or nullopt.
    std::optional<std::pair<uint64_t, Stop>> last_hit_before(uint64_t end);
    std::string window_stop_message(uint64_t changed_by) const;
    Stop::Kind break_kind(uint64_t pc) const;
    void update_break_list();
    void refresh_watch_values();
    std::vector<Range> instruction_accesses(const CpuState& before) const;
    // Moves to `position` (begin() <= position): restore and re-execute.
    bool go_to(uint64_t position);

    GdbTarget& target_;
    ReverseHistory history_;
    uint64_t position_ = 0;
    uint64_t frontier_ = 0; // the furthest position executed; beyond it execution is new
    // The state is inside the instruction at position_ (a REP chunk ran): stepping back
    // returns to its start, position_ itself.
    bool partial_ = false;
    std::set<uint64_t> software_breaks_, hardware_breaks_;
    std::vector<uint64_t> break_list_; // both sets, sorted, for GdbTarget::run
    std::vector<Watchpoint> watchpoints_;
    std::vector<std::vector<uint8_t>> watch_values_; // last seen bytes, per watchpoint
    bool window_watch_ = false;
};

} // namespace transit86::gdb
