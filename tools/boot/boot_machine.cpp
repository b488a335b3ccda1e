#include "tools/boot/boot_machine.hpp"

#include <csignal>

#include <algorithm>
#include <fmt/format.h>
#include <memory>

namespace transit86::tools {

namespace {

// A run's budget when no timer event is due sooner: bounded so that the loop looks at the
// platform's requests and the limits now and then.
constexpr uint64_t kLongestRun = 50'000'000;

} // namespace

const char* to_string(BootEnd::Kind kind) {
    switch (kind) {
    case BootEnd::Kind::Reset: return "reset";
    case BootEnd::Kind::PowerOff: return "power-off";
    case BootEnd::Kind::DebugExit: return "debug-exit";
    case BootEnd::Kind::Halted: return "halted";
    case BootEnd::Kind::Budget: return "budget";
    case BootEnd::Kind::Timeout: return "timeout";
    case BootEnd::Kind::Breakpoint: return "breakpoint";
    case BootEnd::Kind::WindowEnded: return "window-ended";
    case BootEnd::Kind::ConsoleText: return "console-text";
    case BootEnd::Kind::Unsupported: return "unsupported";
    case BootEnd::Kind::TripleFault: return "triple-fault";
    case BootEnd::Kind::MmioFetch: return "mmio-fetch";
    case BootEnd::Kind::Position: return "position";
    case BootEnd::Kind::WindowEdge: return "window-edge";
    case BootEnd::Kind::FaultLoop: return "fault-loop";
    case BootEnd::Kind::Interrupted: return "interrupted";
    }
    return "?";
}

BootMachine::BootMachine(pc::PcConfig config, ResetPreset preset, vmx::Profile profile,
                         uint64_t census_kept)
    : platform_(std::move(config)), emulator_(platform_.slots(), &platform_),
      census_(profile, census_kept) {
    memory_generation_ = platform_.memory_generation();
    emulator_.state() = reset_state(preset);
    emulator_.set_a20(platform_.a20());
    platform_.on_a20 = [this](bool enabled) { emulator_.set_a20(enabled); };
    // Inside a run the TSC counts the instructions retired so far (one per instruction).
    platform_.time_source = [this] {
        return virtual_ns() + ((emulator_.state().tsc - tsc_at_run_start_) << shift());
    };
}

void BootMachine::drain_output() {
    if (std::string s = platform_.take_serial(); !s.empty()) {
        if (limits_ && watches_console(*limits_)) {
            serial_seen_ += s;
            const std::string& arm = limits_->arm_breakpoints_at_console;
            if (!arm.empty() && serial_seen_.find(arm) != std::string::npos)
                breakpoints_armed_ = true;
            const size_t keep = std::max(limits_->stop_at_console.size(), arm.size()) * 2 + 64;
            if (serial_seen_.size() > keep * 2) serial_seen_.erase(0, serial_seen_.size() - keep);
        }
        if (on_serial) on_serial(s);
        type_console_input(s);
    }
    if (std::string s = platform_.take_debugcon(); !s.empty() && on_debugcon) on_debugcon(s);
    for (const std::string& line : platform_.take_log())
        if (on_device_log) on_device_log(line);
}

// Types the steps of the script that `output` made due (pc/console_script.hpp).
void BootMachine::type_console_input(std::string_view output) {
    if (!script_ || script_->finished() || !limits_) return;
    for (const ConsoleInput& step : script_->due(output)) {
        platform_.serial_input(step.send, limits_->console_input_gap_ns);
        if (on_console_input) on_console_input(step);
    }
}

void BootMachine::end_window(const std::string& why) {
    if (!census_.in_window()) return;
    census_.end(emulator_, emulator_.last_interpreted(), retired_, why);
    if (on_window_end) on_window_end(*census_.last());
}

std::optional<BootEnd> BootMachine::take_platform_request() {
    const pc::PlatformRequest request = platform_.request();
    if (request == pc::PlatformRequest::None) return std::nullopt;
    platform_.clear_request();
    switch (request) {
    case pc::PlatformRequest::Reset:
        return BootEnd{BootEnd::Kind::Reset, "the guest reset the machine"};
    case pc::PlatformRequest::PowerOff:
        return BootEnd{BootEnd::Kind::PowerOff, "the guest powered off (ACPI S5)"};
    case pc::PlatformRequest::DebugExit: {
        const uint32_t value = platform_.debug_exit_value().value_or(0);
        return BootEnd{BootEnd::Kind::DebugExit, fmt::format("isa-debug-exit wrote {:#x}", value),
                       value};
    }
    case pc::PlatformRequest::None: break;
    }
    return std::nullopt;
}

// The 8259's INTR with IF = 1 and no shadow: the INTA cycle and the delivery (SDM Vol. 3A 6.8).
std::optional<BootEnd> BootMachine::deliver_interrupt() {
    const uint8_t vector = platform_.acknowledge_interrupt();
    const std::optional<Exit> failed =
        emulator_.deliver_event({.kind = InjectedEvent::Kind::ExternalInterrupt, .vector = vector});
    halted_ = false;
    if (!failed) {
        ++interrupts_delivered_;
        return std::nullopt;
    }
    if (failed->reason == ExitReason::TripleFault)
        return BootEnd{BootEnd::Kind::TripleFault,
                       fmt::format("triple fault delivering interrupt {:#x}", vector)};
    return BootEnd{BootEnd::Kind::Unsupported,
                   fmt::format("interrupt {:#x} could not be delivered: {}", vector,
                               failed->detail ? failed->detail : to_string(failed->reason))};
}

std::optional<BootEnd> BootMachine::handle_exit(const Exit& exit) {
    const CpuState& s = emulator_.state();
    switch (exit.reason) {
    case ExitReason::Step:
    case ExitReason::Budget: return std::nullopt;
    case ExitReason::Io:
        // The platform ended the run after this access (PcPlatform::access); an IN retires
        // with the value it read, an OUT is done.
        if (exit.io.is_in) emulator_.complete_io(exit.io.data);
        return std::nullopt;
    case ExitReason::GuestStateInvalid:
        census_.begin(emulator_, s, retired_ + 1);
        if (on_window_begin) on_window_begin(*census_.last());
        return std::nullopt;
    case ExitReason::GuestStateValid: end_window("valid"); return std::nullopt;
    case ExitReason::InterruptWindow: return deliver_interrupt();
    case ExitReason::Halt: halted_ = true; return std::nullopt;
    case ExitReason::Mmio: {
        if (exit.mmio_size == 0)
            return BootEnd{BootEnd::Kind::MmioFetch,
                           fmt::format("{} at {:#x}",
                                       exit.detail ? exit.detail : "fetch outside RAM",
                                       exit.mmio_address)};
        uint64_t data = exit.mmio_data;
        platform_.mmio(exit.mmio_address, exit.mmio_size, exit.mmio_write, data);
        if (!exit.mmio_write) emulator_.complete_mmio(data);
        return std::nullopt;
    }
    case ExitReason::Breakpoint:
        return BootEnd{BootEnd::Kind::Breakpoint,
                       fmt::format("breakpoint at linear {:#x}", s[Seg::CS].base + s.eip)};
    case ExitReason::TripleFault:
        // The emulator leaves the state at the instruction whose fault could not be delivered
        // (or in the new task, when a task switch faulted after committing). The state run()
        // kept before calling the emulator is where that call began, often thousands of
        // instructions earlier.
        return BootEnd{BootEnd::Kind::TripleFault,
                       fmt::format("triple fault at {:04x}:{:x}", s[Seg::CS].selector, s.eip)};
    case ExitReason::Unsupported: {
        std::string bytes;
        for (uint8_t i = 0; i < exit.byte_count; ++i)
            bytes += fmt::format("{}{:02x}", i ? " " : "", exit.bytes[i]);
        return BootEnd{BootEnd::Kind::Unsupported,
                       fmt::format("unsupported at linear {:#x} [{}]: {}", exit.linear_address,
                                   bytes, exit.detail ? exit.detail : "")};
    }
    case ExitReason::Exception:
        return BootEnd{BootEnd::Kind::Unsupported,
                       fmt::format("exception {} handed to the host", exit.vector)};
    }
    return std::nullopt;
}

// A run that looks for text on the console stops at each serial write to look at once.
bool BootMachine::watches_console(const BootLimits& limits) {
    return !limits.stop_at_console.empty() || !limits.arm_breakpoints_at_console.empty() ||
           !limits.console_input.empty();
}

BootEnd BootMachine::run(const BootLimits& limits) {
    limits_ = &limits;
    platform_.set_exit_on_serial(watches_console(limits));
    if (!script_ && !limits.console_input.empty())
        script_.emplace(std::vector(limits.console_input.begin(), limits.console_input.end()));
    type_console_input(""); // the steps that wait for no text
    CpuState& s = emulator_.state();
    const vmx::Profile profile = census_.profile();
    if (!census_.in_window() && !vmx::is_valid(s, profile)) {
        census_.begin(emulator_, s, retired_ + 1);
        if (on_window_begin) on_window_begin(*census_.last());
    }
    const uint64_t start_position = position();
    const auto finish = [&](BootEnd end) {
        drain_output();
        const bool pause = limits.resumable && (end.kind == BootEnd::Kind::Breakpoint ||
                                                end.kind == BootEnd::Kind::Position ||
                                                end.kind == BootEnd::Kind::WindowEdge);
        if (!pause) end_window(std::string("stopped: ") + to_string(end.kind));
        limits_ = nullptr;
        return end;
    };
    for (;;) {
        platform_.advance_to(virtual_ns());
        drain_output();
        if (limits.interrupted)
            if (const int signal = limits.interrupted->load(std::memory_order_relaxed))
                return finish({BootEnd::Kind::Interrupted,
                               fmt::format("interrupted by {}", signal == SIGINT    ? "SIGINT"
                                                                : signal == SIGTERM ? "SIGTERM"
                                                                                    : "a signal")});
        if (std::optional<BootEnd> end = take_platform_request()) return finish(*end);
        if (!limits.stop_at_console.empty() &&
            serial_seen_.find(limits.stop_at_console) != std::string::npos)
            return finish({BootEnd::Kind::ConsoleText,
                           fmt::format("the console showed \"{}\"", limits.stop_at_console)});
        if (limits.budget != 0 && retired_ >= limits.budget)
            return finish({BootEnd::Kind::Budget,
                           fmt::format("budget of {} instructions spent", limits.budget)});
        if (limits.timeout_ns != 0 && virtual_ns() >= limits.timeout_ns)
            return finish({BootEnd::Kind::Timeout, fmt::format("{} s of virtual time passed",
                                                               limits.timeout_ns / 1'000'000'000)});
        if ((limits.until_position != 0 && position() >= limits.until_position) ||
            (limits.until_virtual_ns != 0 && virtual_ns() >= limits.until_virtual_ns))
            return finish({BootEnd::Kind::Position, ""});
        // The emulator never stops at the instruction a run starts at: here, a breakpoint
        // reached through an exit or an interrupt delivery.
        if (position() != start_position && at_breakpoint(limits))
            return finish({BootEnd::Kind::Breakpoint,
                           fmt::format("breakpoint at linear {:#x}", s[Seg::CS].base + s.eip)});
        if (platform_.memory_generation() != memory_generation_) {
            memory_generation_ = platform_.memory_generation();
            emulator_.set_ram_slots(platform_.slots());
        }
        const uint64_t now = virtual_ns();
        const uint64_t next_event = platform_.next_event_ns();
        const bool can_take_interrupt =
            (s.eflags & flags::IF) && !(s.interruptibility & (interruptibility::BlockingBySti |
                                                              interruptibility::BlockingByMovSs));

        if (halted_) {
            // HLT: nothing runs until an interrupt; virtual time jumps to the next timer event.
            if (platform_.interrupt_pending() && (s.eflags & flags::IF)) {
                if (std::optional<BootEnd> end = deliver_interrupt()) return finish(*end);
                continue;
            }
            if (!(s.eflags & flags::IF) || next_event == pc::TimedDevice::kNever)
                return finish(
                    {BootEnd::Kind::Halted,
                     fmt::format("halted at {:04x}:{:x} with {}", s[Seg::CS].selector, s.eip,
                                 (s.eflags & flags::IF) ? "no timer left to wake it"
                                                        : "interrupts disabled")});
            const uint64_t skip = std::max<uint64_t>(next_event, now) - now;
            // The TSC keeps counting while the CPU is halted, a tick per 2^shift ns of it.
            s.tsc += ((skipped_ns_ + skip) >> shift()) - (skipped_ns_ >> shift());
            skipped_ns_ += skip;
            tsc_at_run_start_ = s.tsc;
            continue;
        }
        if (platform_.interrupt_pending() && can_take_interrupt &&
            !emulator_.completion_pending()) {
            if (std::optional<BootEnd> end = deliver_interrupt()) return finish(*end);
            continue;
        }

        // The instructions until virtual time reaches `ns` (at least one): time is instructions
        // while the CPU runs, 2^shift ns each.
        const auto instructions_until = [&](uint64_t ns) {
            const uint64_t span = ns > now ? ns - now : 1;
            return std::clamp<uint64_t>(((span - 1) >> shift()) + 1, 1, kLongestRun);
        };
        uint64_t budget =
            next_event == pc::TimedDevice::kNever ? kLongestRun : instructions_until(next_event);
        if (limits.budget != 0) budget = std::min(budget, limits.budget - retired_);
        // A timeout ends the run where it falls.
        if (limits.timeout_ns != 0)
            budget = std::min(budget, instructions_until(limits.timeout_ns));
        if (limits.until_position != 0)
            budget = std::min(budget, limits.until_position - position());
        // A trace single-steps what it shows: the windows, or everything.
        const bool stepping = on_step && (census_.in_window() || trace_everything);
        RunLimits run{
            .budget = stepping ? 1 : budget,
            .stop_when_valid = census_.in_window() ? std::optional(profile) : std::nullopt,
            .single_step = stepping,
            .interrupt_pending = platform_.interrupt_pending(),
            .breakpoints = breakpoints_in_effect(limits),
            .stop_when_invalid = census_.in_window() ? std::nullopt : std::optional(profile)};
        const CpuState before = s;
        tsc_at_run_start_ = s.tsc;
        platform_.begin_run(run.budget > (UINT64_MAX - now) >> shift()
                                ? UINT64_MAX
                                : now + (run.budget << shift()));
        const Exit exit = emulator_.run(run);
        tsc_at_run_start_ = s.tsc; // time is virtual_ns() again
        census_.add(exit.instructions);
        retired_ += exit.instructions;
        if (stepping && on_step && exit.reason != ExitReason::GuestStateValid &&
            exit.reason != ExitReason::GuestStateInvalid &&
            exit.reason != ExitReason::InterruptWindow)
            on_step(before, exit);
        if (std::optional<BootEnd> end = handle_exit(exit)) return finish(*end);
        if (const Emulator::RepeatedFault fault = emulator_.repeated_fault();
            limits.fault_loop_repeats != 0 && fault.times >= limits.fault_loop_repeats)
            return finish(
                {BootEnd::Kind::FaultLoop,
                 fmt::format("exception {} raised {} times in a row at {:04x}:{:x} (linear {:#x}) "
                             "with the same registers: its handler returns to the instruction "
                             "without removing the cause",
                             fault.vector, fault.times, fault.at.cs, fault.at.eip,
                             fault.at.linear)});
        if (limits.stop_at_window_edges && position() != start_position &&
            (exit.reason == ExitReason::GuestStateValid ||
             exit.reason == ExitReason::GuestStateInvalid))
            return finish({BootEnd::Kind::WindowEdge, ""});
        if (limits.stop_when_window_ends && census_.count() != 0 && !census_.in_window())
            return finish({BootEnd::Kind::WindowEnded,
                           fmt::format("window {} ended: the state is valid under {}",
                                       census_.count(), vmx::to_string(profile))});
    }
}

std::span<const uint64_t> BootMachine::breakpoints_in_effect(const BootLimits& limits) const {
    if (!limits.arm_breakpoints_at_console.empty() && !breakpoints_armed_) return {};
    return limits.breakpoints;
}

bool BootMachine::at_breakpoint(const BootLimits& limits) const {
    const std::span<const uint64_t> breakpoints = breakpoints_in_effect(limits);
    if (breakpoints.empty() || halted_ || emulator_.completion_pending()) return false;
    const CpuState& s = emulator_.state();
    const uint64_t pc = (s[Seg::CS].base + s.eip) & 0xFFFFFFFF;
    return std::find(breakpoints.begin(), breakpoints.end(), pc) != breakpoints.end();
}

size_t BootMachine::Snapshot::bytes() const {
    return sizeof(*this) + platform.bytes() + serial_seen.size() +
           2048; // the census's last and longest windows' strings, roughly
}

std::unique_ptr<BootMachine::Snapshot> BootMachine::save() const {
    // A MOV SS may hold debug traps for the next instruction that no CpuState carries (SDM
    // Vol. 3A 6.8.3): no snapshot there.
    if (emulator_.completion_pending() || emulator_.debug_traps_held()) return nullptr;
    return std::make_unique<Snapshot>(Snapshot{.platform = platform_.save(),
                                               .state = emulator_.state(),
                                               .retired = retired_,
                                               .interrupts_delivered = interrupts_delivered_,
                                               .skipped_ns = skipped_ns_,
                                               .tsc_at_run_start = tsc_at_run_start_,
                                               .halted = halted_,
                                               .serial_seen = serial_seen_,
                                               .script = script_,
                                               .breakpoints_armed = breakpoints_armed_,
                                               .census = census_.mark()});
}

void BootMachine::restore(const Snapshot& snapshot) {
    // A pending I/O or MMIO completion, or a MOV SS's held traps, belong to the state being
    // replaced.
    emulator_.forget_pending();
    platform_.restore(snapshot.platform); // calls on_a20: the emulator's A20 follows
    memory_generation_ = platform_.memory_generation();
    emulator_.set_ram_slots(platform_.slots());
    emulator_.set_a20(platform_.a20());
    emulator_.state() = snapshot.state;
    retired_ = snapshot.retired;
    interrupts_delivered_ = snapshot.interrupts_delivered;
    skipped_ns_ = snapshot.skipped_ns;
    tsc_at_run_start_ = snapshot.tsc_at_run_start;
    halted_ = snapshot.halted;
    serial_seen_ = snapshot.serial_seen;
    script_ = snapshot.script;
    breakpoints_armed_ = snapshot.breakpoints_armed;
    census_.rewind(snapshot.census);
}

} // namespace transit86::tools
