// kvm-vmm: boot on /dev/kvm, with transit86 for the windows where VM entry would fail.
//
//   kvm-vmm [--kvm-only] [--quiet] [--load ADDRESS] IMAGE
//       A raw image at 0000:ADDRESS (default 0x7C00), with the debug ports of pc/pc_ports.hpp.
//       Prints the hand-overs between KVM and transit86, the guest's console output and the
//       final state.
//   kvm-vmm --pc [--bios FILE] [--disk IMG] [--memory MIB] [--until TEXT] [--timeout SECONDS]
//           [--step-all] [--no-debugcon] [--verbose]
//       The PC of `transit86 boot` (SeaBIOS, an ATA disk, pc/'s devices) from the reset vector.
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
#include <vector>

#include "kvm_vm.hpp"
#include "pc/block_backend.hpp"
#include "pc/debug_exit.hpp"
#include "pc/pc_ports.hpp"
#include "pc_vmm.hpp"
#include "vmm.hpp"

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: kvm-vmm [--kvm-only] [--quiet] [--load ADDRESS] IMAGE\n"
                 "       kvm-vmm --pc [--bios FILE] [--disk IMG] [--memory MIB] [--until TEXT]\n"
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

// Console bytes as "label: line" lines, the way `transit86 boot` prints them: terminal escape
// sequences (ESC [ ... final byte) and control characters other than tab are left out.
class ConsoleLinePrinter {
  public:
    explicit ConsoleLinePrinter(const char* label) : label_(label) {}
    void feed(const std::string& bytes) {
        for (const char c : bytes) {
            const auto byte = static_cast<unsigned char>(c);
            if (state_ == State::AfterEsc) {
                state_ = byte == '[' ? State::InCsi : State::Text;
            } else if (state_ == State::InCsi) {
                if (byte >= 0x40 && byte <= 0x7E) state_ = State::Text;
            } else if (byte == 0x1B) {
                state_ = State::AfterEsc;
            } else if (byte == '\n') {
                flush();
            } else if (byte == '\t' || (byte >= 0x20 && byte != 0x7F)) {
                line_.push_back(c);
            }
        }
    }
    void flush() {
        std::printf("%s: %s\n", label_, line_.c_str());
        line_.clear();
    }
    void flush_partial() {
        if (!line_.empty()) flush();
    }

  private:
    enum class State { Text, AfterEsc, InCsi };
    const char* label_;
    std::string line_;
    State state_ = State::Text;
};

int pc_main(int argc, char** argv) {
    std::string bios_path = "/usr/share/seabios/bios.bin"; // Debian's seabios package
    std::string disk_path;
    uint64_t memory_mib = 128;
    bool debugcon = true, verbose = false;
    kvm_vmm::PcVmmOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--pc")
            continue;
        else if (arg == "--bios" && has_value)
            bios_path = argv[++i];
        else if (arg == "--disk" && has_value)
            disk_path = argv[++i];
        else if (arg == "--memory" && has_value)
            memory_mib = std::strtoull(argv[++i], nullptr, 0);
        else if (arg == "--until" && has_value)
            options.stop_at_console = argv[++i];
        else if (arg == "--timeout" && has_value)
            options.timeout_ns = std::strtoull(argv[++i], nullptr, 0) * 1'000'000'000ull;
        else if (arg == "--step-all")
            options.step_everything = true;
        else if (arg == "--no-debugcon")
            debugcon = false;
        else if (arg == "--verbose")
            verbose = true;
        else
            return usage();
    }
    std::vector<uint8_t> bios = read_file(bios_path);
    if (bios.empty()) {
        std::fprintf(stderr, "kvm-vmm: cannot read BIOS %s\n", bios_path.c_str());
        return 2;
    }
    std::unique_ptr<transit86::pc::BlockBackend> disk;
    if (!disk_path.empty()) {
        transit86::pc::BlockBackendOrError opened = transit86::pc::open_image_file(disk_path);
        if (!opened.backend) {
            std::fprintf(stderr, "kvm-vmm: disk %s\n", opened.error.c_str());
            return 2;
        }
        disk = std::move(opened.backend);
    }
    if (const int status = kvm_unavailable()) return status;

    const size_t bios_size = bios.size();
    std::printf("kvm-vmm: --pc, bios %s (%zu KiB)%s%s, %llu MiB, KVM + transit86 while VM entry "
                "would fail (profile kvm)%s\n",
                bios_path.c_str(), bios_size >> 10, disk_path.empty() ? "" : ", disk ",
                disk_path.c_str(), static_cast<unsigned long long>(memory_mib),
                options.step_everything ? ", KVM single-stepped everywhere" : "");
    ConsoleLinePrinter serial("serial"), debug_log("debugcon");
    options.on_serial = [&](const std::string& s) { serial.feed(s); };
    if (debugcon) options.on_debugcon = [&](const std::string& s) { debug_log.feed(s); };
    options.on_device_log = [](const std::string& line) {
        std::printf("platform: %s\n", line.c_str());
    };
    transit86::CensusText census_text; // the text of `transit86 boot`'s census
    options.on_window_end = [&](const transit86::CensusWindow& w) {
        serial.flush_partial();
        debug_log.flush_partial();
        std::fputs(census_text.window(w).c_str(), stdout);
    };
    if (verbose)
        options.log = [](std::string_view line) {
            std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
        };

    const auto wall_start = std::chrono::steady_clock::now();
    kvm_vmm::PcVmmResult r;
    try {
        r = kvm_vmm::run_pc(kvm_vmm::pc_config(std::move(bios), std::move(disk), memory_mib),
                            options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kvm-vmm: %s\n", e.what());
        return 1;
    }
    serial.flush_partial();
    debug_log.flush_partial();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    std::fputs((census_text.shape_table() +
                transit86::format_census_end(r.detail, r.instructions, r.virtual_ns))
                   .c_str(),
               stdout);
    std::fputs(transit86::format_census_summary(
                   r.census, {.instructions = r.instructions,
                              .block_engine_instructions = r.block_engine_instructions,
                              .wall_seconds = wall})
                   .c_str(),
               stdout);
    size_t late = 0;
    for (const kvm_vmm::WindowStart start : r.window_starts)
        late += start == kvm_vmm::WindowStart::KvmExit ? 1 : 0;
    std::printf("KVM exits %llu (single steps %llu), transit86 instructions %llu, hand-overs to "
                "transit86 %u (windows first seen at a KVM exit: %zu), to KVM %u; instruction "
                "numbers count KVM's single steps and transit86's instructions, not KVM's free "
                "runs\n",
                static_cast<unsigned long long>(r.kvm_exits),
                static_cast<unsigned long long>(r.kvm_single_steps),
                static_cast<unsigned long long>(r.emulated_instructions), r.to_transit86, late,
                r.to_kvm);
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
