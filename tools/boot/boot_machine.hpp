// A PC booting on transit86: the emulator as the CPU, pc/'s PcPlatform as everything else, and
// the window census kept on the way. The loop is the one a VMM runs around KVM_RUN — exits for
// MMIO, interrupt windows, HLT, the platform's requests — with virtual time derived from the
// instructions retired (pc/device.hpp VirtualClock: 1 instruction = 1 ns, HLT skips ahead to
// the next timer event), so a boot is reproducible byte for byte.
//
// Runs go up to the next timer event (block engine included), with
// RunLimits::stop_when_invalid marking where a window begins and stop_when_valid where it
// ends; Emulator::last_interpreted() names the instruction that ended it. A trace
// single-steps what it shows (the windows, or everything).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "pc/platform.hpp"
#include "tools/commands.hpp"
#include "transit86/census.hpp"
#include "transit86/emulator.hpp"

namespace transit86::tools {

struct BootLimits {
    uint64_t budget = 0; // instructions; 0 = no limit
    std::span<const uint64_t> breakpoints{};
    // The breakpoints take effect once the serial console has shown this text (empty: from
    // the start). A loader's marker before it starts a kernel: GRUB runs its own decompressed
    // code at 0x100000 first, the address a Linux kernel's 32-bit entry uses.
    std::string arm_breakpoints_at_console{};
    bool stop_when_window_ends = false; // --stop-at valid: the first window's end
    std::string stop_at_console;        // stop once the serial console has shown this text
    // Typed on COM1's line, step by step, each once the console has shown its text (the
    // first steps without one at the start). The match is looked for in what the console
    // showed after the previous step's, at each serial write, so a boot types at the same
    // instruction every time.
    std::span<const ConsoleInput> console_input{};
    uint64_t console_input_gap_ns = pc::kTypingGapNs; // a typed byte every this often at most
    uint64_t timeout_ns = 0;                          // virtual time; 0 = no limit
    // For a debugger driving the boot (boot_target.hpp):
    uint64_t until_position = 0; // pause once position() reaches this; 0 = never
    // Pause (as Position) once virtual time reaches this; 0 = never. A halted CPU whose timer
    // interrupts are masked skips time forever without a position: this bounds a run there.
    uint64_t until_virtual_ns = 0;
    bool stop_at_window_edges = false; // pause where a window begins or ends
    // End with FaultLoop once the same instruction raised the same exception this many times in
    // a row with the same registers (Emulator::repeated_fault); 0: never.
    uint64_t fault_loop_repeats = 1'000'000;
    // A signal number stored asynchronously (the CLI's SIGINT/SIGTERM handler): the run ends
    // with Interrupted at its next check, at most kLongestRun instructions later.
    const std::atomic<int>* interrupted = nullptr;
    // A breakpoint, a position or a window edge pauses the run: the census window stays open
    // and run() goes on from there when called again. Otherwise (the `boot` command) every
    // stop ends the run and the window with it.
    bool resumable = false;
};

// How a boot ended.
struct BootEnd {
    enum class Kind : uint8_t {
        Reset,      // the guest reset the machine (QEMU with -no-reboot stops the same way)
        PowerOff,   // ACPI S5
        DebugExit,  // isa-debug-exit
        Halted,     // HLT with interrupts disabled, or with no timer left to wake it
        Budget,     // BootLimits::budget instructions retired
        Timeout,    // BootLimits::timeout_ns of virtual time passed
        Breakpoint, // at one of BootLimits::breakpoints
        WindowEnded,
        ConsoleText, // BootLimits::stop_at_console seen
        Unsupported, // the emulator stopped: an instruction or mode it does not model
        TripleFault,
        MmioFetch,  // code fetched from outside RAM
        Position,   // BootLimits::until_position or until_virtual_ns reached
        WindowEdge, // BootLimits::stop_at_window_edges: the census window began or ended
        // The same instruction raised the same exception BootLimits::fault_loop_repeats times
        // in a row with the same registers (Emulator::repeated_fault): its handler returns to
        // it and the guest would loop there for ever, as on a processor.
        FaultLoop,
        Interrupted, // BootLimits::interrupted: a signal (Ctrl-C, `timeout`, `kill`)
    };
    Kind kind = Kind::Budget;
    std::string detail; // one line
    uint32_t debug_exit_value = 0;
};

class BootMachine {
  public:
    // `preset`: the CPU's reset state (the SDM's power-up state, or KVM's vCPU reset).
    // `census_kept`: the windows the census keeps (WindowCensus; 0 when only its counts,
    // longest and last window are read, as by a boot that prints each window as it ends).
    BootMachine(pc::PcConfig config, ResetPreset preset, vmx::Profile profile,
                uint64_t census_kept = WindowCensus::kKeptWindows);

    Emulator& emulator() { return emulator_; }
    const Emulator& emulator() const { return emulator_; }
    pc::PcPlatform& platform() { return platform_; }
    const pc::PcPlatform& platform() const { return platform_; }
    const WindowCensus& census() const { return census_; }
    uint64_t instructions() const { return retired_; }
    // Virtual time: the instructions retired (2^icount_shift ns each, pc::PcConfig) plus what
    // HLT skipped.
    uint64_t virtual_ns() const { return (retired_ << shift()) + skipped_ns_; }
    // Instructions retired plus interrupts delivered: a debugger's steps.
    uint64_t position() const { return retired_ + interrupts_delivered_; }

    // Everything but guest RAM, for reverse execution (boot_target.hpp): the CPU state, the
    // platform (pc::PcPlatform::Snapshot), virtual time, the run loop's state and the census's
    // mark (WindowCensus::Mark).
    struct Snapshot {
        pc::PcPlatform::Snapshot platform;
        CpuState state;
        uint64_t retired = 0, interrupts_delivered = 0, skipped_ns = 0, tsc_at_run_start = 0;
        bool halted = false;
        std::string serial_seen;
        std::optional<pc::ConsoleScript> script;
        bool breakpoints_armed = false;
        WindowCensus::Mark census;
        size_t bytes() const;
    };
    // nullptr between an I/O or MMIO exit and the run that completes it (a stop the guest
    // ended there: a debug exit, a reset): the emulator cannot save that.
    std::unique_ptr<Snapshot> save() const;
    // Back to a snapshot this machine saved, earlier in the same run.
    void restore(const Snapshot& snapshot);

    // Serial bytes, debugcon bytes and platform log lines as they come.
    std::function<void(const std::string&)> on_serial;
    std::function<void(const std::string&)> on_debugcon;
    std::function<void(const std::string&)> on_device_log;
    // Called before and after every single-stepped instruction when set (a trace); with
    // `trace_everything` every instruction is single-stepped, not only those in windows.
    std::function<void(const CpuState& before, const Exit& exit)> on_step;
    bool trace_everything = false;
    // Called when a ConsoleInput step's text is typed.
    std::function<void(const ConsoleInput&)> on_console_input;
    // The ConsoleInput steps typed so far.
    size_t console_input_typed() const { return script_ ? script_->typed() : 0; }
    // Called when a window begins and ends (the census has the details).
    std::function<void(const CensusWindow&)> on_window_begin;
    std::function<void(const CensusWindow&)> on_window_end;

    BootEnd run(const BootLimits& limits);

  private:
    std::optional<BootEnd> take_platform_request();
    std::optional<BootEnd> deliver_interrupt();
    std::optional<BootEnd> handle_exit(const Exit& exit);
    void drain_output();
    void type_console_input(std::string_view output);
    void end_window(const std::string& why);
    bool at_breakpoint(const BootLimits& limits) const;
    std::span<const uint64_t> breakpoints_in_effect(const BootLimits& limits) const;
    static bool watches_console(const BootLimits& limits);
    // log2 of the nanoseconds an instruction takes (pc::PcConfig::icount_shift).
    unsigned shift() const { return platform_.icount_shift(); }

    pc::PcPlatform platform_;
    Emulator emulator_;
    WindowCensus census_;
    uint64_t retired_ = 0;
    uint64_t interrupts_delivered_ = 0;
    uint64_t skipped_ns_ = 0;       // virtual time HLT skipped
    uint64_t tsc_at_run_start_ = 0; // the CPU's TSC when the current run began
    uint64_t memory_generation_ = 0;
    bool halted_ = false;
    std::string serial_seen_;        // the tail of the serial output, for the console texts
    bool breakpoints_armed_ = false; // BootLimits::arm_breakpoints_at_console was seen
    std::optional<pc::ConsoleScript> script_; // BootLimits::console_input, from the first run
    const BootLimits* limits_ = nullptr;
};

const char* to_string(BootEnd::Kind kind);

} // namespace transit86::tools
