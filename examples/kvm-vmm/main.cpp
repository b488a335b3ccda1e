// kvm-vmm: boot on /dev/kvm, with transit86 for the windows where VM entry would fail.
//
//   kvm-vmm [--kvm-only] [--quiet] [--load ADDRESS] IMAGE
//       A raw image at 0000:ADDRESS (default 0x7C00), with the debug ports of pc/pc_ports.hpp.
//       Prints the hand-overs between KVM and transit86, the guest's console output and the
//       final state.
//   kvm-vmm --pc [--bios FILE] [--disk IMG] [--cdrom ISO] [--floppy IMG] [--boot ORDER]
//               [--kernel FILE [--initrd FILE] [--append TEXT]] [--memory MIB]
//               [--until TEXT] [--expect TEXT | --send TEXT]... [--send-gap MS]
//           [--timeout SECONDS] [--step-all] [--no-debugcon] [--verbose]
//       The PC of `transit86 boot` (SeaBIOS, an ATA disk, an ATAPI CD-ROM, pc/'s devices) from
//       the reset vector.
//       Prints the console as lines, each window of the census as it ends (the text of
//       `transit86 boot`), the end and the census summary (pc_vmm.hpp).
//
// Exit status as QEMU's isa-debug-exit gives it ((code << 1) | 1); 0 after HLT (raw image)
// or when the guest reset or powered off the PC or --until was met; 1 on an error or another
// end; 2 for bad arguments or unreadable files; 77 when KVM is not available.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "kvm_vm.hpp"
#include "pc/block_backend.hpp"
#include "pc/debug_exit.hpp"
#include "pc/pc_ports.hpp"
#include "pc_arguments.hpp"
#include "pc_report.hpp"
#include "pc_vmm.hpp"
#include "vmm.hpp"

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: kvm-vmm [--kvm-only] [--quiet] [--load ADDRESS] IMAGE\n"
                 "       kvm-vmm --pc [--bios FILE] [--disk IMG] [--cdrom ISO] [--floppy IMG]\n"
                 "               [--boot ORDER] [--kernel FILE [--initrd FILE] [--append TEXT]]\n"
                 "               [--memory MIB] [--rtc-base DATE] [--until TEXT]\n"
                 "               [--expect TEXT | --send TEXT]...\n"
                 "               [--send-gap MS]\n"
                 "               [--timeout SECONDS] [--step-all] [--no-debugcon] [--verbose]\n");
    return 2;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

int kvm_unavailable() {
    if (const auto why = kvm_vmm::KvmVm::unavailable_reason()) {
        std::fprintf(stderr, "kvm-vmm: KVM unavailable: %s\n", why->c_str());
        return 77;
    }
    return 0;
}

int raw_image_main(int argc, char** argv) {
    kvm_vmm::VmmOptions options;
    bool quiet = false;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--kvm-only")
            options.mode = kvm_vmm::Mode::KvmOnly;
        else if (arg == "--quiet")
            quiet = true;
        else if (arg == "--load" && i + 1 < argc)
            options.load_address = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 0));
        else if (!arg.empty() && arg[0] != '-' && path.empty())
            path = arg;
        else
            return usage();
    }
    if (path.empty()) return usage();
    const std::vector<uint8_t> image = read_file(path);
    if (image.empty()) {
        std::fprintf(stderr, "kvm-vmm: cannot read %s\n", path.c_str());
        return 1;
    }
    if (const int status = kvm_unavailable()) return status;
    if (!quiet)
        options.log = [](std::string_view line) {
            std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
        };

    std::printf("kvm-vmm: %s, %zu bytes at %#x, %s\n", path.c_str(), image.size(),
                options.load_address,
                options.mode == kvm_vmm::Mode::Hybrid
                    ? "KVM + transit86 while VM entry would fail (profile kvm)"
                    : "KVM only");
    kvm_vmm::VmmResult result;
    try {
        result = kvm_vmm::run_image(image, options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kvm-vmm: %s\n", e.what());
        return 1;
    }
    std::printf("console:\n%s", result.console.c_str());
    if (!result.console.empty() && result.console.back() != '\n') std::printf("\n");
    std::printf("stop: %s", result.stop.c_str());
    if (result.debug_exit_code) std::printf(" (code %#x)", *result.debug_exit_code);
    std::printf("\nfinal state:\n%s\n", kvm_vmm::describe_state(result.final_state).c_str());
    std::printf("KVM exits %llu (single steps %llu), transit86 instructions %llu, hand-overs "
                "to transit86 %u, to KVM %u\n",
                static_cast<unsigned long long>(result.kvm_exits),
                static_cast<unsigned long long>(result.kvm_single_steps),
                static_cast<unsigned long long>(result.emulated_instructions), result.to_transit86,
                result.to_kvm);
    if (!result.finished) return 1;
    if (result.debug_exit_code)
        return transit86::pc::PcPorts::exit_status_for(*result.debug_exit_code);
    return 0;
}

int pc_main(int argc, char** argv) {
    const kvm_vmm::PcArgumentsOrError parsed =
        kvm_vmm::parse_pc_arguments({argv + 1, static_cast<size_t>(argc - 1)});
    if (!parsed.arguments) {
        std::fprintf(stderr, "kvm-vmm: %s\n", parsed.error.c_str());
        return usage();
    }
    const kvm_vmm::PcArguments& a = *parsed.arguments;
    const transit86::pc::MachineFiles& m = a.machine;
    transit86::pc::PcConfig config;
    try {
        config = transit86::pc::read_machine_files(m); // as `transit86 boot` reads them
    } catch (const transit86::pc::MachineFileError& e) {
        std::fprintf(stderr, "kvm-vmm: %s\n", e.what());
        return 2;
    }
    if (const int status = kvm_unavailable()) return status;

    const std::string machine = transit86::pc::describe_machine(m, config.bios.size());
    std::printf("kvm-vmm: --pc, %s, %llu MiB, KVM + transit86 while VM entry would fail (profile "
                "kvm)%s\n",
                machine.c_str(), static_cast<unsigned long long>(m.memory_mib),
                a.step_everything ? ", KVM single-stepped everywhere" : "");
    kvm_vmm::PcReport report(
        [](std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); });
    kvm_vmm::PcVmmOptions options;
    options.step_everything = a.step_everything;
    options.stop_at_console = a.until;
    options.console_input = a.input;
    options.console_input_gap_ns = a.send_gap_ms * 1'000'000;
    options.on_console_input = [&](const transit86::pc::ConsoleStep& step) { report.typed(step); };
    options.timeout_ns = a.timeout_seconds * 1'000'000'000ull;
    options.on_serial = [&](const std::string& s) { report.serial(s); };
    if (a.debugcon) options.on_debugcon = [&](const std::string& s) { report.debugcon(s); };
    options.on_device_log = [&](const std::string& line) { report.device_log(line); };
    options.on_window_end = [&](const transit86::CensusWindow& w) { report.window(w); };
    if (a.verbose)
        options.log = [](std::string_view line) {
            std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
        };

    const auto wall_start = std::chrono::steady_clock::now();
    kvm_vmm::PcVmmResult r;
    try {
        r = kvm_vmm::run_pc(std::move(config), options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kvm-vmm: %s\n", e.what());
        return 1;
    }
    report.end(
        r, std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
    std::fflush(stdout);
    switch (r.end) {
    case kvm_vmm::PcEnd::DebugExit:
        return transit86::pc::DebugExit::exit_status_for(r.debug_exit_value.value_or(0));
    case kvm_vmm::PcEnd::Reset:
    case kvm_vmm::PcEnd::PowerOff:
    case kvm_vmm::PcEnd::ConsoleText: return 0;
    default: return 1;
    }
}

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--pc") return pc_main(argc, argv);
    return raw_image_main(argc, argv);
}
