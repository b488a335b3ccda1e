// What the GDB server drives: one machine (a vCPU, its RAM and its devices) that can execute
// one instruction at a time, be read and written, and be saved and restored for reverse
// execution. `transit86 step` implements it in step_target.cpp; `transit86 boot` implements
// it over its PC platform. Everything GDB-specific (packets, breakpoints, watchpoints, the
// window watch, the reverse history, monitor commands common to both) lives above it, in
// gdb_session.cpp and execution.cpp, and is shared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86::gdb {

// What one forward step did.
struct StepResult {
    // The instruction retired (or an event was delivered in its place, as the Emulator counts
    // it): the machine is one position further. False when it stopped before retiring
    // (an I/O or MMIO exit, an exception handed to the host, a triple fault, an unsupported
    // instruction): the state is the one before it. Also false, with no event, for a step
    // that made progress inside one instruction without finishing it (a chunk of a REP
    // string instruction): the server steps again.
    bool retired = false;
    // The machine cannot go forward from here (what ends `transit86 step`: HLT, an exit the
    // host would see, a triple fault, the --budget). Further forward steps do nothing and
    // report the same event again; reverse execution still works.
    bool ended = false;
    // What the host would see, for the user, one line ("isa-debug-exit wrote 0x10", "hlt at
    // 0008:7c5e", "triple fault (fault while delivering #DF)"). Empty for a plain retire; the
    // run stops at a step with an event.
    std::string event;
    // Console output (port 0xE9, COM1) the step produced.
    std::string console;
};

// What GdbTarget::run() is asked for: a stretch of execution with nothing to watch but
// breakpoints and (optionally) the VM-entry verdict, which a target can run at full speed.
struct RunRequest {
    uint64_t max_positions = 1; // stop once this many positions are done
    // Stop before an instruction at one of these linear addresses (sorted), except the one the
    // run starts at.
    std::span<const uint64_t> breakpoints{};
    // Stop after the position that changed vmx::is_valid under profile().
    bool stop_on_verdict_change = false;
};

struct RunResult {
    uint64_t positions = 0; // instructions retired and events delivered
    bool ended = false;     // as StepResult
    std::string event;      // as StepResult: the run stopped there
    std::string console;
    bool at_breakpoint = false;
    bool verdict_changed = false;
    uint64_t changed_by = 0; // verdict_changed: linear address of the instruction that did it
};

// Everything of a machine that the RAM slots do not hold, saved by the target: the CpuState,
// the run loop's pending state, the devices, the target's own flags. Opaque to the server.
class MachineSnapshot {
  public:
    virtual ~MachineSnapshot() = default;
    // Host memory it holds, for the history's bound.
    virtual size_t bytes() const = 0;
};

class GdbTarget {
  public:
    virtual ~GdbTarget() = default;

    // --- registers: the whole CpuState (docs/gdb.md maps it to GDB's registers).
    virtual const CpuState& state() const = 0;
    // Register writes from GDB (G, P packets) and $pc changes. The target keeps anything
    // derived from the state consistent (e.g. a fetch cache).
    virtual void set_state(const CpuState& state) = 0;

    // --- memory by linear address (GDB's addresses, docs/gdb.md). The target applies what
    // lies between linear and physical (A20, the guest's page tables when CR0.PG = 1, without
    // setting accessed or dirty flags). Returns how many bytes from the start were readable /
    // written; a short count stops at the first byte outside RAM or in an unmapped page. Never
    // touches devices (no MMIO side effects from a GDB read).
    virtual size_t read_linear(uint64_t linear, std::span<uint8_t> out) const = 0;
    virtual size_t write_linear(uint64_t linear, std::span<const uint8_t> in) = 0;

    // --- execution: exactly one instruction (or delivered event) forward. Deterministic:
    // from the same restored snapshot the same steps give the same states, RAM and console.
    virtual StepResult step() = 0;

    // --- many steps at once: what step() would do until the request stops it, ending at an
    // instruction boundary. The default calls step(); a target with a faster way (the block
    // engine) overrides it. The server uses it when no watchpoint needs each instruction. It
    // may also return early with nothing to report (a boot target's CPU halted for a long
    // stretch of virtual time), so that the server can look at Ctrl-C: the server calls again.
    virtual RunResult run(const RunRequest& request);

    // --- snapshots for reverse execution. The history copies the RAM slots itself (as page
    // differences); the target saves the rest. save_machine() is called only at an
    // instruction boundary after a retired step (or at the start); it may return nullptr
    // when it cannot save there (an I/O completion pending), and the history takes the next
    // boundary instead. restore_machine() gets a snapshot this target saved; the RAM has
    // already been restored when it is called.
    virtual std::span<const RamSlot> ram_slots() const = 0;
    virtual std::unique_ptr<MachineSnapshot> save_machine() const = 0;
    virtual void restore_machine(const MachineSnapshot& snapshot) = 0;

    // --- monitor commands the target adds or answers itself: nullopt when it does not know
    // `command` (the session then answers the common ones: vmx, sregs, gdt, idt, kvm-fixup,
    // window-watch, history, help). `census` belongs here: only `boot` has windows to count.
    virtual std::optional<std::string> monitor(std::string_view command) = 0;
    // One help line per command monitor() answers, for `monitor help`.
    virtual std::string monitor_help() const = 0;
    // The VM-entry profile the run was started with (--profile).
    virtual vmx::Profile profile() const = 0;
};

} // namespace transit86::gdb
