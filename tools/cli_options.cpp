// The transit86 command line: every subcommand's options, parsed into CommandLine.
#include "tools/cli_options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <map>

#include "pc/machine_files.hpp"
#include "tools/formats/state_json.hpp"
#include "tools/gdb/gdb_server.hpp"

namespace transit86::tools {

namespace {

// "07c0:0000" -> selector and offset.
void parse_cs_ip(const std::string& text, uint16_t& cs, uint32_t& ip) {
    const auto colon = text.find(':');
    if (colon == std::string::npos)
        throw StateFormatError(fmt::format("--start \"{}\" is not CS:IP", text));
    auto hex = [](const std::string& s) { return s.rfind("0x", 0) == 0 ? s : "0x" + s; };
    const std::string selector = text.substr(0, colon), offset = text.substr(colon + 1);
    auto is_hex = [](const std::string& s) {
        const std::string digits = s.rfind("0x", 0) == 0 ? s.substr(2) : s;
        return !digits.empty() &&
               digits.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    };
    if (!is_hex(selector) || !is_hex(offset))
        throw StateFormatError(
            fmt::format("--start \"{}\" is not CS:IP in hex (e.g. 07c0:0000)", text));
    cs = static_cast<uint16_t>(parse_number_text(hex(selector), "--start selector", 0xFFFF));
    ip = static_cast<uint32_t>(parse_number_text(hex(offset), "--start offset", 0xFFFFFFFF));
}

const std::map<std::string, vmx::Profile> kProfiles = {
    {"kvm", vmx::Profile::Kvm},
    {"sdm", vmx::Profile::Sdm},
    {"unrestricted", vmx::Profile::Unrestricted}};

// CLI11 reads "-1" into an unsigned option as 2^64 - 1: refuse the sign first.
const CLI::Validator kUnsigned(
    [](std::string& text) {
        return text.rfind('-', 0) == 0 ? std::string("must not be negative") : std::string();
    },
    "UINT");

CommandLine usage_error(std::ostream& err, const std::string& message) {
    err << "transit86: error: " << one_line(message) << "\n";
    CommandLine line;
    line.command = CommandLine::Command::Exit;
    line.exit_status = kExitUsage;
    return line;
}

// Option text CLI11 reads as strings, turned into typed options after the parse.
struct RawOptions {
    std::string load_address = "0x7c00", start, preset = "intel", profile = "kvm",
                stop_at = "valid";
    std::string check_profile = "kvm";
    std::string boot_census = "windows";
    std::string boot_preset = "kvm", boot_profile = "kvm", boot_stop_at, boot_trace = "none",
                boot_cpu = "transit86";
    std::vector<std::string> boot_breaks;
    std::vector<std::string> boot_expects, boot_sends;
    CLI::Option* boot_expect_opt = nullptr;
    CLI::Option* boot_send_opt = nullptr;
    bool explain_unrestricted = false, explain_restricted = false;
    std::string explain_cr4_fixed1;
    double min_pass_rate = 0;
    CLI::Option* min_rate_opt = nullptr;
    std::string gdb, boot_gdb;
    CLI::Option* gdb_opt = nullptr;
    CLI::Option* boot_gdb_opt = nullptr;
    CLI::Option* boot_timeout_opt = nullptr;
    CLI::Option* budget_opt = nullptr;
};

// The --expect and --send options in command-line order (pc/console_script.hpp).
std::vector<ConsoleInput> console_input_script(const CLI::App& cmd, const RawOptions& raw) {
    pc::ConsoleScriptBuilder script;
    size_t expects = 0, sends = 0;
    for (const CLI::Option* option : cmd.parse_order()) {
        if (option == raw.boot_expect_opt) script.expect(raw.boot_expects.at(expects++));
        if (option == raw.boot_send_opt) script.send(raw.boot_sends.at(sends++));
    }
    return script.finish();
}

CLI::App* add_step(CLI::App& app, StepOptions& step, RawOptions& raw) {
    auto* step_cmd =
        app.add_subcommand("step", "Step through a boot image, one instruction a line");
    step_cmd->add_option("image", step.image, "Raw image to load")->required();
    step_cmd->add_option("--load-address", raw.load_address,
                         "Physical load address (default 0x7c00)");
    step_cmd->add_option("--start", raw.start, "Start at CS:IP, hex (default 0000:<load address>)");
    step_cmd
        ->add_option("--preset", raw.preset, "Reset state: intel (SDM) or kvm (KVM's vCPU reset)")
        ->check(CLI::IsMember({"intel", "kvm"}));
    step_cmd
        ->add_option("--profile", raw.profile,
                     "VM-entry checks: kvm (KVM guest_state_valid), sdm (SDM 26.3.1), unrestricted "
                     "(SDM with unrestricted guest)")
        ->check(CLI::IsMember({"kvm", "sdm", "unrestricted"}));
    step_cmd
        ->add_option("--stop-at", raw.stop_at,
                     "Stop when the state turns valid, at HLT, or at the budget")
        ->check(CLI::IsMember({"valid", "halt", "budget"}));
    raw.budget_opt = step_cmd
                         ->add_option("--budget", step.budget,
                                      "Instruction budget, 0 for none (default 130, as KVM; "
                                      "none with --gdb)")
                         ->check(kUnsigned);
    step_cmd->add_flag("--hlt-resume", step.hlt_resume,
                       "Continue after HLT with IF=1, as if an interrupt woke the CPU");
    step_cmd->add_flag("--json", step.json, "JSON Lines output");
    step_cmd->add_flag("--a20-off", step.a20_off, "Model gate A20 off (addresses wrap at 1 MiB)");
    step_cmd->add_flag(
        "--kvm-fixup", step.kvm_fixup,
        "After each invalid state, what KVM's fix-up path (emulate_invalid_guest_state=0) "
        "would silently change");
    step_cmd->add_option("--memory", step.memory_mib, "Guest RAM in MiB (default 16)")
        ->check(CLI::Range(1, 4095));
    raw.gdb_opt = step_cmd->add_option(
        "--gdb", raw.gdb,
        "Wait for GDB on [HOST:]PORT (host 127.0.0.1 unless given; port 0 picks a free one) "
        "and serve it instead of printing a trace (docs/gdb.md)");

    return step_cmd;
}

CLI::App* add_boot(CLI::App& app, BootOptions& boot, RawOptions& raw) {
    auto* cmd = app.add_subcommand(
        "boot",
        "Boot a PC (SeaBIOS, a disk, a CD, a Linux kernel) and list every window (docs/boot.md)");
    cmd->add_option("--bios", boot.machine.bios,
                    "Firmware image (default Debian's SeaBIOS bios.bin)");
    cmd->add_option("--disk", boot.machine.disk, "Raw disk image for the primary master ATA disk");
    cmd->add_option("--cdrom", boot.machine.cdrom,
                    "ISO image for the secondary master ATAPI CD-ROM (2048-byte sectors)");
    cmd->add_option("--floppy", boot.machine.floppy,
                    "Raw diskette image for floppy drive A: (160K to 2.88M, by its size)");
    cmd->add_option("--boot", boot.machine.boot_order,
                    "Boot order as QEMU's -boot: c the disk, a the floppy, d the CD-ROM "
                    "(default cad)")
        ->check(
            [](const std::string& order) {
                return pc::boot_order_error(order).value_or(std::string());
            },
            "ORDER");
    cmd->add_option("--kernel", boot.machine.kernel,
                    "Linux bzImage or multiboot kernel, booted through fw_cfg as QEMU does");
    cmd->add_option("--initrd", boot.machine.initrd,
                    "Initial ramdisk for --kernel (a multiboot kernel: modules \"PATH ARGS,...\")");
    cmd->add_option("--append", boot.machine.append, "Kernel command line for --kernel");
    cmd->add_option("--multiboot-rom", boot.machine.multiboot_rom,
                    "The option ROM that loads a multiboot --kernel (default qemu-system-data's "
                    "multiboot_dma.bin)");
    cmd->add_option("--linuxboot-rom", boot.machine.linuxboot_rom,
                    "The option ROM that loads --kernel (default qemu-system-data's "
                    "linuxboot_dma.bin)");
    cmd->add_option("--memory", boot.machine.memory_mib, "Guest RAM in MiB (default 128)")
        ->check(CLI::Range(2, 3072));
    cmd->add_option("--icount-shift", boot.machine.icount_shift,
                    "Each instruction takes 2^N ns of virtual time, as QEMU's -icount shift=N "
                    "(default 0: 1 ns): a guest waiting on its clock (a menu's timeout, a prompt) "
                    "waits 2^N times fewer instructions")
        ->check(CLI::Range(0u, pc::kMaxIcountShift));
    cmd->add_option("--rtc-base", boot.machine.rtc_base,
                    "The RTC at power-on, as QEMU's -rtc base=: YYYY-MM-DD[THH:MM:SS] (UTC) or now "
                    "(the host's time: runs then differ; default 2026-01-01T00:00:00)")
        ->check(
            [](const std::string& text) {
                std::string error;
                return pc::parse_rtc_base(text, error) ? std::string() : error;
            },
            "DATE");
    cmd->add_option("--preset", raw.boot_preset,
                    "CPU reset state: kvm (default: KVM's vCPU reset) or intel (SDM power-up)")
        ->check(CLI::IsMember({"intel", "kvm"}));
    cmd->add_option("--profile", raw.boot_profile, "VM-entry checks: kvm, sdm or unrestricted")
        ->check(CLI::IsMember({"kvm", "sdm", "unrestricted"}));
    cmd->add_option("--cpu", raw.boot_cpu,
                    "CPUID model: transit86 (what is emulated) or x86-64 (also reports long mode "
                    "and SSE2, for 64-bit kernels' 16/32-bit boot code)")
        ->check(CLI::IsMember({"transit86", "x86-64"}));
    cmd->add_option("--stop-at", raw.boot_stop_at,
                    "valid (the end of the first window), halt or budget")
        ->check(CLI::IsMember({"valid", "halt", "budget"}));
    cmd->add_option("--budget", boot.budget, "Stop after this many instructions (default: none)")
        ->check(kUnsigned);
    raw.boot_timeout_opt =
        cmd->add_option("--timeout", boot.timeout_seconds,
                        "Stop after this much virtual time, in seconds (default 600, none with "
                        "--gdb; 0: none)")
            ->check(kUnsigned);
    cmd->add_option("--until", boot.until, "Stop once the serial console has shown TEXT");
    raw.boot_expect_opt =
        cmd->add_option(
               "--expect", raw.boot_expects,
               "Wait until the serial console shows TEXT before the next --send (escapes: \\r \\n "
               "\\t \\b \\e \\xHH \\\\)")
            ->allow_extra_args(false);
    raw.boot_send_opt =
        cmd->add_option(
               "--send", raw.boot_sends,
               "Type TEXT on the serial line (COM1) once the --expect texts before it have shown; "
               "without one, at power-on")
            ->allow_extra_args(false);
    cmd->add_option("--send-gap", boot.send_gap_ms,
                    "Milliseconds from one typed byte to the next (default 5; 0: at the line's "
                    "rate)")
        ->check(CLI::Range(uint64_t{0}, uint64_t{60'000}));
    cmd->add_option("--break", raw.boot_breaks, "Stop before the instruction at linear ADDR");
    cmd->add_option("--break-after", boot.break_after,
                    "The --break addresses take effect once the serial console has shown TEXT "
                    "(a loader's message before it starts a kernel)");
    cmd->add_option("--trace", raw.boot_trace,
                    "none (console and census), window (the step trace inside windows) or all")
        ->check(CLI::IsMember({"none", "window", "all"}));
    cmd->add_option("--census", raw.boot_census,
                    "windows (every window as it ends) or shapes (only the first window of each "
                    "shape; the shape table and the summary count them all)")
        ->check(CLI::IsMember({"windows", "shapes"}));
    cmd->add_flag("--json", boot.json, "JSON Lines output");
    cmd->add_flag("--no-debugcon", boot.quiet_debugcon,
                  "Do not print the firmware's debug log (port 0x402)");
    cmd->add_flag("--screen", boot.screen,
                  "At the end, print the 80x25 text screen: the text buffer at 0xB8000, which "
                  "no VGA device shows (what memtest86+, Linux's vgacon or a boot sector wrote "
                  "there)");
    raw.boot_gdb_opt = cmd->add_option(
        "--gdb", raw.boot_gdb,
        "Wait for GDB on [HOST:]PORT (host 127.0.0.1 unless given; port 0 picks a free one) "
        "and let it drive the boot (docs/gdb.md)");
    return cmd;
}

CLI::App* add_check(CLI::App& app, CheckOptions& check, RawOptions& raw) {
    auto* check_cmd = app.add_subcommand("check", "Judge a state file against the VM-entry checks");
    check_cmd->add_option("state", check.state_file, "State JSON file, or - for standard input")
        ->required();
    check_cmd->add_option("--profile", raw.check_profile, "kvm, sdm or unrestricted")
        ->check(CLI::IsMember({"kvm", "sdm", "unrestricted"}));
    check_cmd->add_flag("--json", check.json, "JSON output");
    check_cmd->add_flag(
        "--compare", check.compare,
        "Also list where the kvm and sdm verdicts differ, and what KVM approximates");
    check_cmd->add_flag(
        "--kvm-fixup", check.kvm_fixup,
        "Also show what KVM with emulate_invalid_guest_state=0 would write instead");
    return check_cmd;
}

CLI::App* add_explain(CLI::App& app, ExplainOptions& explain, RawOptions& raw) {
    auto* explain_cmd = app.add_subcommand(
        "explain", "Explain a kvm_intel, Xen or QEMU register dump from a failed VM entry");
    explain_cmd->add_option("dump", explain.dump_file, "Dump as pasted from a log, or - for stdin")
        ->required();
    auto* unrestricted_flag = explain_cmd->add_flag("--unrestricted", raw.explain_unrestricted,
                                                    "Judge as if the guest had unrestricted guest");
    explain_cmd
        ->add_flag("--no-unrestricted", raw.explain_restricted, "Judge as if it ran without it")
        ->excludes(unrestricted_flag);
    explain_cmd->add_option("--cr4-fixed1", raw.explain_cr4_fixed1,
                            "The host's IA32_VMX_CR4_FIXED1 (e.g. 0x3727ff), to judge CR4");
    explain_cmd
        ->add_option("--maxphyaddr", explain.maxphyaddr,
                     "The host's MAXPHYADDR, to judge CR3's reserved bits")
        ->check(CLI::Range(32, 52));
    explain_cmd->add_flag("--json", explain.json, "JSON output");
    return explain_cmd;
}

CLI::App* add_sst(CLI::App& app, SstOptions& sst, RawOptions& raw) {
    auto* sst_cmd = app.add_subcommand(
        "sst", "Run SingleStepTests 80286 files (*.json, *.json.gz, *.jsonl.gz)");
    sst_cmd->add_option("paths", sst.paths, "Test files or folders of them")->required();
    sst_cmd->add_flag("-v,--verbose", sst.verbose,
                      "Show the first failures of each file with a diff");
    sst_cmd->add_option("--show", sst.show, "Failures shown per file with -v (default 3)")
        ->check(kUnsigned);
    raw.min_rate_opt =
        sst_cmd
            ->add_option("--min-pass-rate", raw.min_pass_rate,
                         "Exit 0 when at least PCT percent of the compared tests pass")
            ->check(CLI::Range(0.0, 100.0));
    sst_cmd->add_option("--index", sst.index, "Run only the test with this idx")->check(kUnsigned);
    sst_cmd->add_flag("--strict", sst.strict,
                      "Apply no 286-vs-386 mask beyond metadata.json's flags-mask");
    sst_cmd->add_flag("--skip-if-missing", sst.skip_if_missing,
                      "Exit 77 (skipped) instead of failing when a path does not exist");
    sst_cmd->add_flag("--json", sst.json, "One JSON summary instead of text");
    return sst_cmd;
}

#ifdef TRANSIT86_WITH_CORPUS
CLI::App* add_corpus(CLI::App& app, CorpusOptions& corpus, CLI::App*& rebase) {
    auto* corpus_cmd = app.add_subcommand("corpus", "The scenario corpus and its oracle goldens");
    corpus_cmd->require_subcommand(1);
    auto* corpus_run_cmd =
        corpus_cmd->add_subcommand("run", "Run every case; compare with its golden");
    auto* corpus_rebase_cmd = corpus_cmd->add_subcommand(
        "rebase", "Rewrite goldens from an oracle (never from transit86)");
    for (auto* sub : {corpus_run_cmd, corpus_rebase_cmd}) {
        sub->add_option("dir", corpus.directory, "Corpus folder (default corpus/cases)");
        sub->add_option("--filter", corpus.filter, "Only cases whose name contains this");
        sub->add_flag("-v,--verbose", corpus.verbose,
                      "Every difference, and each case's description");
    }
    corpus_rebase_cmd->add_option("--oracle", corpus.oracle, "Oracle that writes the goldens")
        ->check(CLI::IsMember({"kvm", "unicorn", "qemu"}));
    corpus_rebase_cmd->add_flag("--check", corpus.check,
                                "Run the oracle on every selected case whatever its golden's "
                                "oracle and compare with the committed golden; write nothing");
    corpus_rebase_cmd->add_flag(
        "--refresh-verdicts", corpus.refresh_verdicts,
        "sdm-by-hand goldens: recompute the sdm/unrestricted verdicts when all else matches");
    rebase = corpus_rebase_cmd;
    return corpus_cmd;
}
#endif

} // namespace

CommandLine parse_command_line(int argc, const char* const* argv, std::ostream& out,
                               std::ostream& err) {
    CommandLine line;
    CLI::App app{"transit86: x86 real/protected-mode transition emulator and VM-entry checker"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "transit86 " TRANSIT86_VERSION);

    // Only the subcommand named first gets its options: building CLI11's options is most of
    // the parse's cost, and the others cannot match anyway. Anything else (no subcommand,
    // --help first, a typo) gets them all, for the help text and the error.
    const std::string first = argc > 1 ? argv[1] : "";
    constexpr std::array kSubcommands{"step", "boot", "check", "explain", "sst", "corpus"};
    const bool one =
        std::find(kSubcommands.begin(), kSubcommands.end(), first) != kSubcommands.end();
    if (!one && !first.empty() && first[0] != '-')
        return usage_error(err, fmt::format("unknown subcommand \"{}\" (expected step, boot, "
                                            "check, explain, sst or corpus; see --help)",
                                            first));
    auto wanted = [&](const char* name) { return !one || first == name; };
    RawOptions raw;
    CLI::App* step_cmd = wanted("step") ? add_step(app, line.step, raw) : nullptr;
    CLI::App* boot_cmd = wanted("boot") ? add_boot(app, line.boot, raw) : nullptr;
    CLI::App* check_cmd = wanted("check") ? add_check(app, line.check, raw) : nullptr;
    CLI::App* explain_cmd = wanted("explain") ? add_explain(app, line.explain, raw) : nullptr;
    CLI::App* sst_cmd = wanted("sst") ? add_sst(app, line.sst, raw) : nullptr;
#ifdef TRANSIT86_WITH_CORPUS
    CLI::App* corpus_rebase_cmd = nullptr;
    CLI::App* corpus_cmd =
        wanted("corpus") ? add_corpus(app, line.corpus, corpus_rebase_cmd) : nullptr;
#endif
    auto parsed = [](const CLI::App* cmd) { return cmd != nullptr && cmd->parsed(); };

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        line.exit_status = app.exit(e, out, err);
        return line;
    } catch (const CLI::CallForAllHelp& e) {
        line.exit_status = app.exit(e, out, err);
        return line;
    } catch (const CLI::CallForVersion& e) {
        line.exit_status = app.exit(e, out, err);
        return line;
    } catch (const CLI::ParseError& e) {
        std::string what = e.what();
        if (what.empty()) what = "invalid command line";
        return usage_error(err, what + " (see --help)");
    } catch (const std::exception& e) {
        return usage_error(err, e.what());
    }

    // What CLI11 cannot check: numbers in hex and CS:IP.
    try {
        if (parsed(step_cmd)) {
            StepOptions& step = line.step;
            line.command = CommandLine::Command::Step;
            step.load_address = parse_number_text(raw.load_address, "--load-address", 0xFFFFFFFF);
            // Default entry: 0000:ADDR like a BIOS boot sector, or SEG:low nibble above 64 KiB.
            const bool low = step.load_address <= 0xFFFF;
            step.start_cs = low ? 0 : static_cast<uint16_t>(step.load_address >> 4);
            step.start_ip =
                static_cast<uint32_t>(low ? step.load_address : step.load_address & 0xF);
            if (!raw.start.empty()) parse_cs_ip(raw.start, step.start_cs, step.start_ip);
            step.preset = raw.preset == "kvm" ? ResetPreset::Kvm : ResetPreset::Intel;
            step.profile = kProfiles.at(raw.profile);
            step.stop_at = raw.stop_at == "halt"     ? StopAt::Halt
                           : raw.stop_at == "budget" ? StopAt::Budget
                                                     : StopAt::Valid;
            if (*raw.gdb_opt) {
                const gdb::ServerAddress address = gdb::parse_server_address(raw.gdb);
                step.gdb = true;
                step.gdb_host = address.host;
                step.gdb_port = address.port;
                if (!*raw.budget_opt) step.budget = 0;
            }
            return line;
        }
        if (parsed(boot_cmd)) {
            BootOptions& boot = line.boot;
            line.command = CommandLine::Command::Boot;
            boot.preset = raw.boot_preset == "kvm" ? ResetPreset::Kvm : ResetPreset::Intel;
            boot.profile = kProfiles.at(raw.boot_profile);
            boot.cpu = raw.boot_cpu == "x86-64" ? BootCpu::X86_64 : BootCpu::Transit86;
            if (!raw.boot_stop_at.empty())
                boot.stop_at = raw.boot_stop_at == "halt"     ? StopAt::Halt
                               : raw.boot_stop_at == "budget" ? StopAt::Budget
                                                              : StopAt::Valid;
            boot.census_shapes_only = raw.boot_census == "shapes";
            boot.trace = raw.boot_trace == "all"      ? TraceMode::All
                         : raw.boot_trace == "window" ? TraceMode::Window
                                                      : TraceMode::None;
            for (const std::string& text : raw.boot_breaks)
                boot.breaks.push_back(parse_number_text(text, "--break", 0xFFFFFFFF));
            for (const auto& [name, text] :
                 {std::pair{"--until", &boot.until}, std::pair{"--break-after", &boot.break_after}})
                if (boot_cmd->count(name) != 0 && text->empty())
                    throw StateFormatError(std::string(name) + ": the text is empty");
            if (!boot.break_after.empty() && boot.breaks.empty())
                throw StateFormatError("--break-after needs --break");
            if (!boot.machine.initrd.empty() && boot.machine.kernel.empty())
                throw StateFormatError("--initrd needs --kernel");
            if (!boot.machine.append.empty() && boot.machine.kernel.empty())
                throw StateFormatError("--append needs --kernel");
            boot.input = console_input_script(*boot_cmd, raw);
            if (*raw.boot_gdb_opt) {
                // GDB decides where to stop and shows the console itself.
                if (!boot.breaks.empty() || !raw.boot_stop_at.empty() || !boot.until.empty() ||
                    boot.trace != TraceMode::None || boot.json || !boot.input.empty() ||
                    boot.screen)
                    throw StateFormatError(
                        "--gdb: GDB sets the breakpoints and stops; --break, --stop-at, --until, "
                        "--expect, --send, --trace, --json and --screen are not used");
                const gdb::ServerAddress address = gdb::parse_server_address(raw.boot_gdb);
                boot.gdb = true;
                boot.gdb_host = address.host;
                boot.gdb_port = address.port;
                if (!*raw.boot_timeout_opt) boot.timeout_seconds = 0;
            }
            return line;
        }
#ifdef TRANSIT86_WITH_CORPUS
        if (parsed(corpus_cmd)) {
            line.command = CommandLine::Command::Corpus;
            line.corpus.rebase = parsed(corpus_rebase_cmd);
            return line;
        }
#endif
        if (parsed(sst_cmd)) {
            line.command = CommandLine::Command::Sst;
            if (*raw.min_rate_opt) line.sst.min_pass_rate = raw.min_pass_rate;
            return line;
        }
        if (parsed(explain_cmd)) {
            ExplainOptions& explain = line.explain;
            line.command = CommandLine::Command::Explain;
            if (raw.explain_unrestricted || raw.explain_restricted)
                explain.unrestricted = raw.explain_unrestricted;
            if (!raw.explain_cr4_fixed1.empty())
                explain.cr4_fixed1 =
                    parse_number_text(raw.explain_cr4_fixed1, "--cr4-fixed1", ~uint64_t{0});
            return line;
        }
        if (parsed(check_cmd)) {
            line.command = CommandLine::Command::Check;
            line.check.profile = kProfiles.at(raw.check_profile);
            return line;
        }
        return usage_error(err, "a subcommand is required (see --help)"); // not reached
    } catch (const std::exception& e) {
        return usage_error(err, e.what());
    }
}

} // namespace transit86::tools
