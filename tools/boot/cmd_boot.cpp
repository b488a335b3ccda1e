// `transit86 boot`: a PC with firmware, a disk or a kernel (pc/), run to the end of the boot
// with the guest's console as text lines and the window census (docs/boot.md).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <thread>
#include <unistd.h>

#include "tools/boot/boot_config.hpp"
#include "tools/boot/boot_machine.hpp"
#include "tools/boot/boot_target.hpp"
#include "tools/boot/census_report.hpp"
#include "tools/commands.hpp"
#include "tools/formats/console_lines.hpp"
#include "tools/formats/state_json.hpp"
#include "tools/formats/step_trace.hpp"
#include "tools/gdb/gdb_server.hpp"
#include "tools/guest_image.hpp"

namespace transit86::tools {

namespace {

// Ctrl-C, `timeout` or `kill` end the boot as any other end does: the console so far, the
// census and its summary, exit status 128 + the signal. A second signal kills at once.
std::atomic<int> interrupting_signal{0};

void note_interrupt(int signal) {
    interrupting_signal.store(signal, std::memory_order_relaxed);
}

// Standard output into a pipe or a file is block-buffered, and a boot may print a line and
// then run for minutes without another (a kernel's 30 s "press a key" prompt, a decompressor):
// `transit86 boot ... | tee log` would hold that line back. While the boot runs, a thread
// flushes standard output four times a second (stdio locks the stream); a terminal is
// line-buffered already.
class PeriodicFlush {
  public:
    PeriodicFlush() {
        if (isatty(fileno(stdout))) return;
        thread_ = std::jthread([](std::stop_token stop) {
            std::mutex mutex;
            std::condition_variable_any wake;
            std::unique_lock lock(mutex);
            for (;;) {
                wake.wait_for(lock, stop, std::chrono::milliseconds(250),
                              [&] { return stop.stop_requested(); });
                if (stop.stop_requested()) return;
                std::fflush(stdout);
            }
        });
    }

  private:
    std::jthread thread_;
};

void end_boot_on_signals() {
    struct sigaction action {};
    action.sa_handler = note_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

// --gdb: the same machine, driven by GDB (tools/boot/boot_target.hpp, docs/gdb.md).
int serve_boot_gdb(const BootOptions& o, BootMachine& machine, size_t bios_size) {
    CensusReport(false, o.profile).header(o, bios_size);
    BootTarget target(machine, {.budget = o.budget,
                                .timeout_ns = o.timeout_seconds * 1'000'000'000ull,
                                .debugcon = !o.quiet_debugcon});
    const gdb::ServeResult result = gdb::serve_gdb(target, {o.gdb_host, o.gdb_port}, {}, stdout);
    fmt::print("{}", gdb::end_line(result, machine.instructions(), target.ended()));
    std::fflush(stdout);
    return 0;
}

} // namespace

int run_boot(const BootOptions& o) {
    const auto wall_start = std::chrono::steady_clock::now();
    pc::PcConfig config = make_platform_config(o);
    const size_t bios_size = config.bios.size();
    const bool kernel_needs_long_mode = config.kernel_64bit && o.cpu != BootCpu::X86_64;
    std::unique_ptr<BootMachine> machine;
    try {
        // Printed as they end, the windows need keeping only for GDB's `monitor census`.
        machine = std::make_unique<BootMachine>(std::move(config), o.preset, o.profile,
                                                o.gdb ? WindowCensus::kKeptWindows : 0);
    } catch (const std::invalid_argument& e) {
        throw ImageError(fmt::format("BIOS \"{}\": {}", o.machine.bios, e.what()));
    }
    machine->emulator().set_cpu_model(cpu_model_for(o.cpu));
    if (o.gdb) return serve_boot_gdb(o, *machine, bios_size);
    CensusReport report(o.json, o.profile, o.census_shapes_only);
    ConsoleLines serial("serial", o.json), debugcon("debugcon", o.json);
    machine->on_serial = [&](const std::string& s) { serial.feed(s); };
    if (!o.quiet_debugcon) machine->on_debugcon = [&](const std::string& s) { debugcon.feed(s); };
    machine->on_device_log = [&](const std::string& line) { report.device_log(line); };
    machine->on_window_end = [&](const CensusWindow& w) { report.window(w); };
    machine->on_console_input = [&](const ConsoleInput& step) {
        serial.flush_partial();
        debugcon.flush_partial();
        report.typed(step);
    };
    StepTrace trace(o.json, o.profile);
    if (o.trace != TraceMode::None) {
        machine->trace_everything = o.trace == TraceMode::All;
        machine->on_step = [&](const CpuState& before, const Exit& exit) {
            serial.flush_partial();
            debugcon.flush_partial();
            trace.line(machine->emulator(), before, exit);
        };
    }

    const PeriodicFlush flush_while_booting;
    report.header(o, bios_size);
    if (kernel_needs_long_mode)
        report.note("the kernel is 64-bit (xloadflags XLF_KERNEL_64) and the CPU model reports "
                    "no long mode: a Linux kernel's setup code refuses such a CPU (\"This kernel "
                    "requires an x86-64 CPU\"); --cpu x86-64 reports long mode, and the boot "
                    "goes on to where the kernel enables it");
    BootLimits limits{.budget = o.budget,
                      .breakpoints = o.breaks,
                      .arm_breakpoints_at_console = o.break_after,
                      .stop_when_window_ends = o.stop_at == StopAt::Valid,
                      .stop_at_console = o.until,
                      .console_input = o.input,
                      .console_input_gap_ns = o.send_gap_ms * 1'000'000,
                      .timeout_ns = o.timeout_seconds * 1'000'000'000ull,
                      .interrupted = &interrupting_signal};
    end_boot_on_signals();
    const BootEnd end = machine->run(limits);
    serial.flush_partial();
    debugcon.flush_partial();
    report.not_typed(std::span(o.input).subspan(machine->console_input_typed()));
    if (o.screen) report.screen(*machine);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    report.end(end, *machine, wall);

    // Exit status: 0 when the boot ended the way --stop-at asked (or, without it, by the
    // guest's own doing: reset, power-off, debug exit, the --until text), 1 otherwise.
    bool as_asked = false;
    switch (end.kind) {
    case BootEnd::Kind::Reset:
    case BootEnd::Kind::PowerOff:
    case BootEnd::Kind::ConsoleText: as_asked = !o.stop_at; break;
    case BootEnd::Kind::DebugExit:
        std::fflush(stdout);
        return pc::DebugExit::exit_status_for(end.debug_exit_value);
    case BootEnd::Kind::WindowEnded: as_asked = o.stop_at == StopAt::Valid; break;
    case BootEnd::Kind::Halted: as_asked = o.stop_at == StopAt::Halt; break;
    case BootEnd::Kind::Budget: as_asked = o.stop_at == StopAt::Budget; break;
    case BootEnd::Kind::Interrupted:
        std::fflush(stdout);
        return 128 + interrupting_signal.load(std::memory_order_relaxed);
    default: break;
    }
    std::fflush(stdout);
    return as_asked ? 0 : 1;
}

} // namespace transit86::tools
