#include "pc_vmm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "kvm_vm.hpp"
#include "transit86/emulator.hpp"
#include "vcpu_view.hpp"

namespace kvm_vmm {

namespace {

using transit86::Exit;
using transit86::ExitReason;
using transit86::VcpuState;
namespace pc = transit86::pc;

// transit86's budget per run inside a window: KVM's count per exit in
// handle_invalid_guest_state, so the loop looks at timers and requests as often.
constexpr uint64_t kWindowBudget = 130;
// A free KVM run ends, at the latest, after this much host time (the kick), so that the loop
// looks at the limits even when no timer event is due; and never sooner than the shortest.
constexpr uint64_t kLongestFreeRunNs = 50'000'000;
constexpr uint64_t kShortestKickNs = 10'000;

bool interrupts_enabled(const VcpuState& s) {
    return (s.regs.rflags & transit86::flags::IF) != 0;
}

class PcVmm {
  public:
    PcVmm(pc::PcConfig config, const PcVmmOptions& options, KvmVcpu& kvm);
    PcVmmResult run();

  private:
    using End = std::pair<PcEnd, std::string>;
    uint64_t virtual_ns() const;
    uint64_t instructions() const;
    void drain_output();
    void type_console_input(std::string_view output);
    std::optional<End> take_platform_request();
    std::optional<End> check_limits();
    void reload_memory_if_changed();
    std::optional<End> wake_or_skip();
    std::optional<End> run_kvm();
    std::optional<End> serve_kvm_exit();
    std::optional<End> run_transit86();
    std::optional<End> run_instruction_on_transit86(uint64_t& count,
                                                    std::optional<uint8_t> interrupt = {});
    void take_from_kvm();
    Exit emulate(const transit86::RunLimits& limits);
    void give_to_kvm();
    std::optional<End> serve_transit86_exit(const Exit& exit);
    void complete_kvm_access();
    bool must_step(std::optional<uint8_t> opcode) const;
    void open_window(WindowStart how);
    void close_window(const std::string& why);
    PcVmmResult finish(End end);
    template <class... Args>
    void log(fmt::format_string<Args...> format, Args&&... args) {
        if (options_.log) options_.log(fmt::format(format, std::forward<Args>(args)...));
    }

    PcVmmOptions options_;
    pc::PcPlatform platform_;
    KvmVcpu& kvm_;
    transit86::Emulator emu_; // the same slots and devices as KVM
    PcVmmResult result_;
    VcpuState state_{}; // the current state, whichever side holds it
    uint64_t memory_generation_ = 0;
    bool halted_ = false;
    std::chrono::steady_clock::time_point start_;
    uint64_t skipped_ns_ = 0; // virtual time HLT skipped
    uint32_t tsc_khz_ = 0;    // 0: unknown, the TSC is not moved on HLT skips
    // The vCPU counts its instructions (KvmVcpu::instructions_retired): time is instructions,
    // as in `transit86 boot`, instead of host time.
    bool instruction_clock_ = false;
    bool in_transit86_run_ = false;
    uint64_t tsc_at_run_start_ = 0; // transit86's TSC when its current run began
    transit86::Msrs msrs_taken_{};  // the MSRs take_from_kvm() read, to write back changes
    std::string serial_seen_;       // the tail of the serial output, for stop_at_console
    pc::ConsoleScript script_;      // options_.console_input
};

PcVmm::PcVmm(pc::PcConfig config, const PcVmmOptions& options, KvmVcpu& kvm)
    : options_(options), platform_(std::move(config)), kvm_(kvm),
      emu_(platform_.slots(), &platform_), script_(options.console_input) {
    memory_generation_ = platform_.memory_generation();
    kvm_.set_memory(platform_.slots());
    kvm_.set_cpuid(emu_.cpu_model()); // one CPU model on both sides
    tsc_khz_ = kvm_.tsc_khz();
    instruction_clock_ = kvm_.instructions_retired().has_value();
    // KVM has no A20 gate (QEMU ignores A20 under KVM too): only transit86 wraps at 1 MiB.
    emu_.set_a20(platform_.a20());
    platform_.on_a20 = [this](bool enabled) { emu_.set_a20(enabled); };
    platform_.time_source = [this] { return virtual_ns(); };
}

uint64_t PcVmm::virtual_ns() const {
    if (instruction_clock_) return instructions() + skipped_ns_;
    const auto host = std::chrono::steady_clock::now() - start_;
    return static_cast<uint64_t>(std::chrono::nanoseconds(host).count()) + skipped_ns_;
}

// With an instruction clock, every instruction retired so far on either side (inside a
// transit86 run, its TSC counts the ones that run retired: one per instruction); otherwise
// the ones this VMM saw retire (KVM's single steps and transit86's).
uint64_t PcVmm::instructions() const {
    if (!instruction_clock_) return result_.instructions;
    const uint64_t in_run = in_transit86_run_ ? emu_.state().tsc - tsc_at_run_start_ : 0;
    return *kvm_.instructions_retired() + result_.emulated_instructions + in_run;
}

void PcVmm::drain_output() {
    if (std::string s = platform_.take_serial(); !s.empty()) {
        result_.serial += s;
        if (!options_.stop_at_console.empty()) {
            serial_seen_ += s;
            const size_t keep = options_.stop_at_console.size() * 2 + 64;
            if (serial_seen_.size() > keep * 2) serial_seen_.erase(0, serial_seen_.size() - keep);
        }
        if (options_.on_serial) options_.on_serial(s);
        type_console_input(s);
    }
    if (std::string s = platform_.take_debugcon(); !s.empty() && options_.on_debugcon)
        options_.on_debugcon(s);
    for (const std::string& line : platform_.take_log())
        if (options_.on_device_log) options_.on_device_log(line);
}

// The steps of the script `output` made due, typed on COM1's line (pc/console_script.hpp).
void PcVmm::type_console_input(std::string_view output) {
    if (script_.finished()) return;
    for (const pc::ConsoleStep& step : script_.due(output)) {
        platform_.serial_input(step.send, options_.console_input_gap_ns);
        if (options_.on_console_input) options_.on_console_input(step);
    }
}

std::optional<PcVmm::End> PcVmm::take_platform_request() {
    const pc::PlatformRequest request = platform_.request();
    platform_.clear_request();
    switch (request) {
    case pc::PlatformRequest::Reset: return End{PcEnd::Reset, "the guest reset the machine"};
    case pc::PlatformRequest::PowerOff:
        return End{PcEnd::PowerOff, "the guest powered off (ACPI S5)"};
    case pc::PlatformRequest::DebugExit:
        result_.debug_exit_value = platform_.debug_exit_value().value_or(0);
        return End{PcEnd::DebugExit,
                   fmt::format("isa-debug-exit wrote {:#x}", *result_.debug_exit_value)};
    case pc::PlatformRequest::None: break;
    }
    return std::nullopt;
}

std::optional<PcVmm::End> PcVmm::check_limits() {
    if (!options_.stop_at_console.empty() &&
        serial_seen_.find(options_.stop_at_console) != std::string::npos)
        return End{PcEnd::ConsoleText,
                   fmt::format("the console showed \"{}\"", options_.stop_at_console)};
    if (options_.timeout_ns != 0 && virtual_ns() >= options_.timeout_ns)
        return End{PcEnd::Timeout,
                   fmt::format("{} s of virtual time passed", options_.timeout_ns / 1'000'000'000)};
    return std::nullopt;
}

void PcVmm::reload_memory_if_changed() {
    if (platform_.memory_generation() == memory_generation_) return;
    memory_generation_ = platform_.memory_generation();
    kvm_.set_memory(platform_.slots());
    emu_.set_ram_slots(platform_.slots());
}

// The open window's census entry and the hand-over to transit86, with the whole state (x87
// included) and the TSC where KVM has it, so RDTSC inside the window continues from there.
void PcVmm::open_window(WindowStart how) {
    reload_memory_if_changed(); // the exit just served may have remapped the BIOS area
    take_from_kvm();
    result_.census.begin(emu_, transit86::to_cpu_state(state_), instructions() + 1);
    result_.window_starts.push_back(how);
    ++result_.to_transit86;
    log("[kvm]       {} {}, not valid for VM entry ({}; {}) -> transit86", position(state_),
        mode_name(state_), first_failure(state_), to_string(how));
}

void PcVmm::close_window(const std::string& why) {
    if (!result_.census.in_window()) return;
    result_.census.end(emu_, emu_.last_interpreted(), instructions(), why);
    if (options_.on_window_end) options_.on_window_end(*result_.census.last());
}

// Real mode, virtual-8086 mode and 16-bit protected mode are where windows open (PE set, or
// cleared from 16-bit code): there every instruction boundary is checked. Not over a HLT
// (`opcode`, the next instruction's), which KVM reports only when it is not stepping.
bool PcVmm::must_step(std::optional<uint8_t> opcode) const {
    if (opcode == kHltOpcode) return false;
    if (options_.step_everything || real_mode(state_)) return true;
    return (state_.regs.rflags & transit86::flags::VM) != 0 || state_.sregs.cs.db == 0;
}

// HLT: nothing runs until an interrupt; virtual time jumps to the next timer event.
std::optional<PcVmm::End> PcVmm::wake_or_skip() {
    const bool in_window = result_.census.in_window();
    if (platform_.interrupt_pending() && interrupts_enabled(state_)) {
        // transit86 delivers it before the next instruction inside a window; else the next
        // KVM run has KVM inject it, or transit86 where KVM is stepped (run_kvm).
        if (in_window)
            state_.events.interrupt = {.pending = 1, .vector = platform_.acknowledge_interrupt()};
        halted_ = false;
        return std::nullopt;
    }
    const uint64_t now = virtual_ns();
    const uint64_t next_event = platform_.next_event_ns();
    if (!interrupts_enabled(state_) || next_event == pc::TimedDevice::kNever)
        return End{PcEnd::Halted,
                   fmt::format("halted at {} with {}", position(state_),
                               interrupts_enabled(state_) ? "no timer left to wake it"
                                                          : "interrupts disabled")};
    const uint64_t skip = std::max(next_event, now) - now;
    skipped_ns_ += skip;
    // The TSC keeps counting while the CPU is halted (KVM's at its own rate; transit86's, read
    // from KVM's when a window opens, alike).
    if (tsc_khz_ != 0) {
        const uint64_t ticks = skip * tsc_khz_ / 1'000'000;
        kvm_.set_tsc(kvm_.tsc() + ticks);
        emu_.state().tsc += ticks;
    }
    return std::nullopt;
}

// An I/O or MMIO exit served by the platform, and KVM finishing the instruction without
// entering the guest again (kvm_run.immediate_exit). A string instruction may come back with
// its next element's exit. An OUT that changed the memory map is completed like any other and
// the loop remaps before the next run; one that asked for a stop is left unretired.
void PcVmm::complete_kvm_access() {
    kvm_run& r = kvm_.exit();
    while (r.exit_reason == KVM_EXIT_IO || r.exit_reason == KVM_EXIT_MMIO) {
        if (r.exit_reason == KVM_EXIT_MMIO) {
            const uint8_t size = static_cast<uint8_t>(std::min<uint32_t>(r.mmio.len, 8));
            uint64_t data = 0;
            if (r.mmio.is_write != 0) std::memcpy(&data, r.mmio.data, size);
            platform_.mmio(r.mmio.phys_addr, size, r.mmio.is_write != 0, data);
            if (r.mmio.is_write == 0) std::memcpy(r.mmio.data, &data, size);
        } else {
            serve_kvm_pio(r, platform_);
        }
        // A reset, power-off or debug exit ends the machine here: the vCPU is not resumed to
        // retire the instruction, as `transit86 boot` does not retire it either.
        if (platform_.request() != pc::PlatformRequest::None) break;
        if (kvm_.run(/*complete_only=*/true) == -EINTR) break;
        ++result_.kvm_exits;
        // Single-stepping, KVM reports the step of the completed instruction here.
        if (r.exit_reason == KVM_EXIT_DEBUG) ++result_.kvm_single_steps, ++result_.instructions;
    }
}

std::optional<PcVmm::End> PcVmm::run_kvm() {
    kvm_run& r = kvm_.exit();
    // No in-kernel irqchip: the 8259's INTR is injected here, when KVM says the guest can
    // take an interrupt, or KVM is asked to exit as soon as it can.
    r.request_interrupt_window = 0;
    const bool interrupt_now =
        platform_.interrupt_pending() && r.ready_for_interrupt_injection != 0 && r.if_flag != 0;
    // The next instruction, read once; none when an interrupt's handler runs first.
    const std::optional<uint8_t> opcode = interrupt_now ? std::nullopt : opcode_at(state_, kvm_);
    const bool step = must_step(opcode);
    // Where KVM is stepped, transit86 delivers the interrupt and runs the handler's first
    // instruction: KVM steps by the guest's TF, which its delivery would push (a handler's
    // IRET after the stepping ended would trap into the guest) and clear (the handler would
    // run unstepped, and a window opening in it would be seen late).
    if (step && interrupt_now)
        return run_instruction_on_transit86(result_.interrupts_on_transit86,
                                            platform_.acknowledge_interrupt());
    if (interrupt_now)
        kvm_.interrupt(platform_.acknowledge_interrupt());
    else if (platform_.interrupt_pending())
        r.request_interrupt_window = 1;
    if (step && stores_flags(opcode))
        return run_instruction_on_transit86(result_.flags_stores_on_transit86);
    kvm_.set_single_step(step);
    // A timer event due while the guest runs without exits must end the run.
    const uint64_t now = virtual_ns();
    const uint64_t next_event = platform_.next_event_ns();
    const uint64_t until = next_event > now ? next_event - now : 0;
    // An instruction clock has the run end exactly there; host time, not too often.
    kvm_.kick_after(std::clamp(until, instruction_clock_ ? 1 : kShortestKickNs, kLongestFreeRunNs));
    const int rc = kvm_.run(/*complete_only=*/false);
    kvm_.kick_after(0);
    if (rc != -EINTR) { // else the kick, or a signal: no exit to serve
        ++result_.kvm_exits;
        if (std::optional<End> end = serve_kvm_exit()) return end;
        if (result_.census.in_window()) return std::nullopt; // handed over at a failed entry
    }
    state_ = kvm_.state(/*with_fpu=*/false);
    if (!valid_for_entry(state_))
        open_window(step ? WindowStart::SingleStep : WindowStart::KvmExit);
    return std::nullopt;
}

// The exit KVM_RUN returned with; the end of the run if it is one.
std::optional<PcVmm::End> PcVmm::serve_kvm_exit() {
    kvm_run& r = kvm_.exit();
    switch (r.exit_reason) {
    case KVM_EXIT_IO:
    case KVM_EXIT_MMIO: complete_kvm_access(); break;
    case KVM_EXIT_DEBUG:
        ++result_.kvm_single_steps;
        ++result_.instructions;
        break;
    case KVM_EXIT_HLT: halted_ = true; break;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_INTR: break;
    case KVM_EXIT_SHUTDOWN:
        state_ = kvm_.state(/*with_fpu=*/true);
        return End{PcEnd::TripleFault,
                   fmt::format("triple fault at {} (in KVM)", position(state_))};
    case KVM_EXIT_FAIL_ENTRY: {
        // VT-x refused the state. Exit reason 0x80000021 (invalid guest state) is the same
        // hand-over as a failed check, unless transit86's checks pass the state: then handing
        // it over would come straight back here, so the run ends and says what VT-x refused.
        const uint64_t reason = r.fail_entry.hardware_entry_failure_reason;
        state_ = kvm_.state(/*with_fpu=*/false);
        if (reason != kEntryFailureInvalidGuestState || valid_for_entry(state_))
            return End{PcEnd::Unsupported,
                       fmt::format("VM entry failed (hardware reason {:#x}) at {} in {}, a state "
                                   "transit86's checks ({}) pass",
                                   reason, position(state_), mode_name(state_),
                                   to_string(kProfile))};
        open_window(WindowStart::FailedEntry);
        return std::nullopt;
    }
    case KVM_EXIT_INTERNAL_ERROR:
        state_ = kvm_.state(/*with_fpu=*/true);
        if (r.internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
            return End{PcEnd::Unsupported, fmt::format("KVM internal error (suberror {}) at {}",
                                                       r.internal.suberror, position(state_))};
        // KVM's emulator stopped at an instruction it cannot run, the vCPU unchanged. In an
        // invalid state (KVM without unrestricted guest emulates those itself) that is a window
        // to hand over; in a valid one (an MMIO instruction it cannot decode; every
        // instruction where KVM emulates everything, as kvm_pvm does) transit86 runs that
        // instruction alone and KVM goes on after it.
        if (!valid_for_entry(state_)) {
            open_window(WindowStart::KvmCannotEmulate);
            return std::nullopt;
        }
        log("[kvm]       {} {}: KVM could not emulate the instruction -> transit86 for it",
            position(state_), mode_name(state_));
        return run_instruction_on_transit86(result_.kvm_could_not_emulate);
    default:
        state_ = kvm_.state(/*with_fpu=*/true);
        return End{PcEnd::Unsupported,
                   fmt::format("KVM exit {} at {}", r.exit_reason, position(state_))};
    }
    return std::nullopt;
}

// transit86 runs the window until VM entry would accept the state, on the same devices.
std::optional<PcVmm::End> PcVmm::run_transit86() {
    const Exit exit = emulate({.budget = kWindowBudget,
                               .stop_when_valid = kProfile,
                               .interrupt_pending = platform_.interrupt_pending()});
    result_.census.add(exit.instructions);
    switch (exit.reason) {
    case ExitReason::GuestStateValid:
        close_window("valid");
        log("[transit86] {}: valid for VM entry: KVM_SET_SREGS, KVM_SET_REGS, "
            "KVM_SET_VCPU_EVENTS",
            position(state_));
        give_to_kvm();
        ++result_.to_kvm;
        return std::nullopt;
    case ExitReason::InterruptWindow: // delivered by the next run, before its first instruction
        state_.events.interrupt = {.pending = 1, .vector = platform_.acknowledge_interrupt()};
        return std::nullopt;
    case ExitReason::Halt: halted_ = true; return std::nullopt;
    default: return serve_transit86_exit(exit);
    }
}

// The exits of a transit86 run that any run has: an access to serve and complete, or the end.
std::optional<PcVmm::End> PcVmm::serve_transit86_exit(const Exit& exit) {
    switch (exit.reason) {
    case ExitReason::Io:
        // The platform ended the run after this access (PcPlatform::access: the memory map
        // changed, a stop, INTR rose, a timer due): an IN retires with the value it read.
        if (exit.io.is_in) emu_.complete_io(exit.io.data);
        return std::nullopt;
    case ExitReason::Mmio: {
        if (exit.mmio_size == 0)
            return End{PcEnd::MmioFetch,
                       fmt::format("{} at {:#x}", exit.detail ? exit.detail : "fetch outside RAM",
                                   exit.mmio_address)};
        uint64_t data = exit.mmio_data;
        platform_.mmio(exit.mmio_address, exit.mmio_size, exit.mmio_write, data);
        if (!exit.mmio_write) emu_.complete_mmio(data);
        return std::nullopt;
    }
    case ExitReason::TripleFault:
        return End{PcEnd::TripleFault,
                   fmt::format("triple fault at {} (in transit86)", position(state_))};
    case ExitReason::Unsupported:
        return End{PcEnd::Unsupported,
                   fmt::format("unsupported at linear {:#x}: {}", exit.linear_address,
                               exit.detail ? exit.detail : "")};
    case ExitReason::Exception:
        return End{PcEnd::Unsupported, fmt::format("exception {} handed to the host", exit.vector)};
    default: return std::nullopt; // budget, step, breakpoint, guest state invalid: run on
    }
}

// One instruction in a valid state that KVM must not or cannot run, on transit86: one that
// stores FLAGS (stores_flags) where the VMM steps KVM (KVM steps by setting TF in the guest's
// RFLAGS, so the image stored would have TF = 1, and a POPF or IRET of it after the stepping
// ended would trap into the guest), an interrupt's delivery and its handler's first
// instruction there (`interrupt`, its vector), or one KVM's emulator gave up on. It is no
// window; KVM goes on after it (or a window opens, if the state it left is one). `count`
// counts it.
std::optional<PcVmm::End> PcVmm::run_instruction_on_transit86(uint64_t& count,
                                                              std::optional<uint8_t> interrupt) {
    take_from_kvm();
    if (interrupt) state_.events.interrupt = {.pending = 1, .vector = *interrupt};
    uint64_t retired = 0;
    for (int attempt = 0; retired == 0 && attempt < 4; ++attempt) {
        const Exit exit = emulate({.budget = 1, .stop_when_valid = std::nullopt});
        retired += exit.instructions;
        if (std::optional<End> end = serve_transit86_exit(exit)) return end;
    }
    // None retired (a timer due first, say): the state is KVM's as it was, and the loop comes
    // back to the instruction after it has served the timer.
    if (retired != 0) ++count;
    give_to_kvm();
    if (!valid_for_entry(state_)) open_window(WindowStart::SingleStep);
    return std::nullopt;
}

// The state, the TSC and the MSRs where KVM has them, for a transit86 run (run(VcpuState&)
// keeps the emulator's TSC and MSRs, so RDTSC and RDMSR continue from KVM's).
void PcVmm::take_from_kvm() {
    state_ = kvm_.state(/*with_fpu=*/true);
    emu_.state().tsc = kvm_.tsc();
    kvm_.get_msrs(emu_.state().msrs);
    msrs_taken_ = emu_.state().msrs;
}

// One transit86 run on the state, its instructions counted; a timer due within its budget
// ends it.
Exit PcVmm::emulate(const transit86::RunLimits& limits) {
    platform_.begin_run(virtual_ns() + limits.budget);
    tsc_at_run_start_ = emu_.state().tsc;
    in_transit86_run_ = true;
    const Exit exit = emu_.run(state_, limits);
    in_transit86_run_ = false;
    result_.instructions += exit.instructions;
    result_.emulated_instructions += exit.instructions;
    return exit;
}

// The state transit86 left, back to KVM, with the MSRs if it wrote any. KVM's TSC ran on in host
// time during the run; a counting vCPU's stood still and takes transit86's, so that the TSC counts
// every instruction as in `transit86 boot`. The last KVM_RUN (immediate exit) refreshes kvm_run's
// interrupt flags for the new state.
void PcVmm::give_to_kvm() {
    kvm_.set_state(state_);
    if (emu_.state().msrs != msrs_taken_) kvm_.set_msrs(emu_.state().msrs);
    if (instruction_clock_) kvm_.set_tsc(emu_.state().tsc);
    kvm_.run(/*complete_only=*/true);
}

PcVmmResult PcVmm::finish(End end) {
    drain_output();
    close_window(std::string("stopped: ") + to_string(end.first));
    result_.end = end.first;
    result_.detail = std::move(end.second);
    result_.final_state = state_;
    result_.virtual_ns = virtual_ns();
    result_.instructions = instructions();
    result_.instruction_clock = instruction_clock_;
    result_.unclaimed_ports = platform_.unclaimed_ports();
    result_.unassigned_pages = platform_.unassigned_pages();
    result_.block_engine_instructions = emu_.engine_stats().in_blocks;
    result_.not_typed.assign(script_.not_typed().begin(), script_.not_typed().end());
    return std::move(result_);
}

PcVmmResult PcVmm::run() {
    start_ = std::chrono::steady_clock::now();
    state_ = kvm_.state(/*with_fpu=*/false); // KVM's vCPU reset: F000:FFF0, the reset vector
    log("[kvm]       {} {}: the reset vector", position(state_), mode_name(state_));
    if (!valid_for_entry(state_)) open_window(WindowStart::Reset);
    type_console_input(""); // the steps that wait for no text
    for (uint64_t runs = 0;; ++runs) {
        platform_.advance_to(virtual_ns());
        drain_output();
        if (std::optional<End> end = take_platform_request()) return finish(*end);
        if (std::optional<End> end = check_limits()) return finish(*end);
        if (runs == options_.max_runs)
            return finish({PcEnd::TooManyRuns, fmt::format("{} runs", options_.max_runs)});
        reload_memory_if_changed();
        std::optional<End> end = halted_                      ? wake_or_skip()
                                 : result_.census.in_window() ? run_transit86()
                                                              : run_kvm();
        if (end) return finish(*end);
    }
}

} // namespace

const char* to_string(WindowStart start) {
    switch (start) {
    case WindowStart::Reset: return "at reset";
    case WindowStart::SingleStep: return "seen after a single step";
    case WindowStart::KvmExit: return "first seen at a KVM exit";
    case WindowStart::FailedEntry: return "VM entry failed";
    case WindowStart::KvmCannotEmulate: return "KVM could not emulate it";
    }
    return "?";
}

const char* to_string(PcEnd end) {
    switch (end) {
    case PcEnd::Reset: return "reset";
    case PcEnd::PowerOff: return "power-off";
    case PcEnd::DebugExit: return "debug-exit";
    case PcEnd::Halted: return "halted";
    case PcEnd::Timeout: return "timeout";
    case PcEnd::ConsoleText: return "console-text";
    case PcEnd::Unsupported: return "unsupported";
    case PcEnd::TripleFault: return "triple-fault";
    case PcEnd::MmioFetch: return "mmio-fetch";
    case PcEnd::TooManyRuns: return "too-many-runs";
    }
    return "?";
}

PcVmmResult run_pc(pc::PcConfig config, const PcVmmOptions& options, KvmVcpu& kvm) {
    PcVmm vmm(std::move(config), options, kvm);
    return vmm.run();
}

PcVmmResult run_pc(pc::PcConfig config, const PcVmmOptions& options) {
    KvmVm kvm(0); // the platform's slots are the memory
    return run_pc(std::move(config), options, kvm);
}

} // namespace kvm_vmm
