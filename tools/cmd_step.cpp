// `transit86 step IMAGE`: run boot code one instruction at a time and show, after each, what
// changed and which VM-entry checks the state fails.
#include "tools/commands.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pc/pc_ports.hpp"
#include "tools/formats/state_json.hpp"
#include "tools/formats/step_fetch.hpp"
#include "tools/formats/step_trace.hpp"
#include "tools/formats/trace_format.hpp"
#include "tools/formats/vmx_report.hpp"
#include "tools/gdb/gdb_server.hpp"
#include "tools/gdb/step_target.hpp"
#include "tools/guest_image.hpp"
#include "transit86/emulator.hpp"

namespace transit86::tools {

namespace {

class StepRun {
  public:
    explicit StepRun(const StepOptions& o) : opt_(o), ram_(o.memory_mib << 20) {}
    int run();

  private:
    int finish(const std::string& why, int status, const CpuState& s);
    int serve_gdb(const CpuState& start);

    const StepOptions& opt_;
    GuestRam ram_;
    pc::PcPorts ports_;
    FetchCache fetch_cache_;
    StepTrace trace_{opt_.json, opt_.profile, opt_.kvm_fixup};
    bool was_invalid_ = false;
    uint64_t count_ = 0;
};

int StepRun::finish(const std::string& why, int status, const CpuState& s) {
    trace_.finish();
    if (opt_.json) {
        nlohmann::json end = {{"end", why},
                              {"instructions", count_},
                              {"status", status},
                              {"state", state_to_json(s)}};
        fmt::print("{}\n", dump_json(end));
    } else {
        fmt::print("== {} after {} instructions ==\n", why, count_);
    }
    std::fflush(stdout);
    return status;
}

int StepRun::run() {
    const RamSlot slot = ram_.slot();
    Emulator emu({&slot, 1}, &ports_);
    const size_t image_size = ram_.load_file(opt_.image, opt_.load_address);
    emu.set_a20(!opt_.a20_off);
    ports_.initial_a20(!opt_.a20_off);
    ports_.on_a20 = [&emu](bool enabled) { emu.set_a20(enabled); };
    CpuState& s = emu.state();
    s = reset_state(opt_.preset);
    // Start at CS:IP the way a BIOS far jump would: selector and base change, the hidden
    // limit and attributes of the reset state stay.
    s[Seg::CS].selector = opt_.start_cs;
    s[Seg::CS].base = uint32_t{opt_.start_cs} << 4;
    s.eip = opt_.start_ip;
    // An entry point the first fetch cannot reach is a bad command line, not a guest event.
    const std::string start = fmt::format("--start {:04x}:{:04x}", opt_.start_cs, opt_.start_ip);
    if (s.eip > s[Seg::CS].limit)
        throw ImageError(fmt::format("{}: offset {:#x} is beyond the CS limit {:#x}", start, s.eip,
                                     s[Seg::CS].limit));
    const uint64_t entry = (s[Seg::CS].base + s.eip) & (opt_.a20_off ? ~uint64_t{1 << 20} : ~0ull);
    if (entry >= ram_.size())
        throw ImageError(fmt::format("{}: linear address {:#x} is outside the {} MiB of RAM", start,
                                     entry, ram_.size() >> 20));

    const char* preset = opt_.preset == ResetPreset::Intel ? "intel" : "kvm";
    if (opt_.gdb) {
        fmt::print("transit86: {} ({} bytes) at {:#x}, reset preset {}, start {:04x}:{:04x}, "
                   "profile {}\n",
                   opt_.image, image_size, opt_.load_address, preset, opt_.start_cs, opt_.start_ip,
                   vmx::to_string(opt_.profile));
        return serve_gdb(s);
    }
    if (opt_.json) {
        nlohmann::json head = {{"image", opt_.image},
                               {"load_address", opt_.load_address},
                               {"size", image_size},
                               {"preset", preset},
                               {"profile", vmx::to_string(opt_.profile)},
                               {"state", state_to_json(s)}};
        fmt::print("{}\n", dump_json(head));
    } else {
        fmt::print(
            "transit86: {} ({} bytes) at {:#x}, reset preset {}, start {:04x}:{:04x}, profile {}\n",
            opt_.image, image_size, opt_.load_address, preset, opt_.start_cs, opt_.start_ip,
            vmx::to_string(opt_.profile));
        trace_.verdict(s, vmx::is_valid(s, opt_.profile), true);
    }
    was_invalid_ = !vmx::is_valid(s, opt_.profile);

    RunLimits one_step{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    for (;;) {
        if (opt_.budget != 0 && count_ >= opt_.budget)
            return finish(fmt::format("budget of {} spent", opt_.budget),
                          opt_.stop_at == StopAt::Budget ? 0 : 1, s);
        const CpuState before = s;
        const FetchedInstruction& f = fetch_cache_.fetch(emu, before);
        const Exit exit = emu.run(one_step);
        const bool retired = exit.instructions != 0;
        if (retired) ++count_;
        const bool valid = vmx::is_valid(s, opt_.profile);

        trace_.line(emu, before, f, exit, ports_.take_console());

        switch (exit.reason) {
        case ExitReason::Step: break;
        case ExitReason::Halt:
            if (opt_.hlt_resume && (s.eflags & flags::IF)) break;
            return finish(fmt::format("hlt at {:04x}:{:x}", before[Seg::CS].selector, before.eip),
                          opt_.stop_at == StopAt::Halt ? 0 : 1, s);
        case ExitReason::Io:
            if (auto code = ports_.debug_exit_code())
                return finish(fmt::format("isa-debug-exit wrote {:#x}", *code),
                              pc::PcPorts::exit_status_for(*code), s);
            return finish(fmt::format("port {:#x} needs the host", exit.io.port), 1, s);
        case ExitReason::Exception:
            return finish(
                fmt::format("exception {} (error code {:#x}) the emulator cannot deliver: {}",
                            exit.vector, exit.error_code, exit.detail ? exit.detail : ""),
                1, s);
        case ExitReason::Unsupported:
            return finish(fmt::format("unsupported instruction [{}] at linear {:#x}: {}",
                                      hex_bytes(exit.bytes.data(), exit.byte_count),
                                      exit.linear_address, exit.detail ? exit.detail : ""),
                          1, s);
        default:
            return finish(fmt::format("{}{}", to_string(exit.reason),
                                      exit.detail ? fmt::format(" ({})", exit.detail) : ""),
                          1, s);
        }
        if (opt_.stop_at == StopAt::Valid && was_invalid_ && valid) {
            return finish(
                fmt::format("VALID under {}: hand back to the VMM", vmx::to_string(opt_.profile)),
                0, s);
        }
        was_invalid_ = was_invalid_ || !valid;
    }
}

// --gdb: the same machine, driven by GDB (tools/gdb, docs/gdb.md).
int StepRun::serve_gdb(const CpuState& start) {
    gdb::StepTarget target(ram_.slot(), ports_, start,
                           {.profile = opt_.profile,
                            .budget = opt_.budget,
                            .hlt_resume = opt_.hlt_resume,
                            .a20 = !opt_.a20_off});
    const gdb::ServeResult result =
        gdb::serve_gdb(target, {opt_.gdb_host, opt_.gdb_port}, {}, stdout);
    fmt::print("{}", gdb::end_line(result, target.retired(), target.ended()));
    std::fflush(stdout);
    return 0;
}

} // namespace

int run_step(const StepOptions& options) {
    StepRun run(options);
    return run.run();
}

} // namespace transit86::tools
