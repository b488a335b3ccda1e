// The transit86 subcommands. Each returns the process exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pc/console_script.hpp"
#include "pc/machine_files.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86::tools {

enum class StopAt : uint8_t { Valid, Halt, Budget };

struct StepOptions {
    std::string image;
    uint64_t load_address = 0x7C00;
    uint16_t start_cs = 0;
    uint32_t start_ip = 0x7C00;
    ResetPreset preset = ResetPreset::Intel;
    vmx::Profile profile = vmx::Profile::Kvm;
    StopAt stop_at = StopAt::Valid;
    uint64_t budget = 130;
    bool hlt_resume = false;
    bool json = false;
    bool a20_off = false;
    uint64_t memory_mib = 16;
    bool kvm_fixup = false; // after each instruction, what KVM's fix-up path would change
    // --gdb [HOST:]PORT: serve GDB's remote protocol instead of printing a trace
    // (docs/gdb.md). The budget then counts only when --budget is given.
    bool gdb = false;
    std::string gdb_host = "127.0.0.1";
    uint16_t gdb_port = 0;
};
int run_step(const StepOptions& options);

// `transit86 boot`: a PC (pc/) with firmware, a disk or a kernel, and the window census.
// One step of typing on the serial line (--expect / --send; pc/console_script.hpp).
using ConsoleInput = pc::ConsoleStep;
enum class TraceMode : uint8_t { None, Window, All };
// What CPUID reports during a boot (docs/boot.md, "CPU models").
enum class BootCpu : uint8_t {
    Transit86, // CpuModel{}: what transit86 emulates
    X86_64,    // also long mode, FXSR, SSE, SSE2: a 64-bit kernel's setup code accepts the CPU
};

struct BootOptions {
    // --bios, --disk, --cdrom, --floppy, --boot, --kernel, --initrd, --append, the option-ROM
    // paths, --memory: the machine, read by pc/machine_files as kvm-vmm --pc reads it.
    pc::MachineFiles machine;
    // KVM's vCPU reset state: the census answers what KVM without unrestricted guest would
    // emulate, so the boot starts where a VMM's vCPU does (docs/boot.md).
    ResetPreset preset = ResetPreset::Kvm;
    vmx::Profile profile = vmx::Profile::Kvm;
    BootCpu cpu = BootCpu::Transit86;
    std::optional<StopAt> stop_at;   // none: until the guest resets, halts or powers off
    uint64_t budget = 0;             // instructions; 0 = no limit
    uint64_t timeout_seconds = 600;  // virtual seconds; 0 = no limit
    std::string until;               // stop once the serial console shows this text
    std::vector<ConsoleInput> input; // typed on COM1 as the console shows each step's text
    uint64_t send_gap_ms = pc::kTypingGapNs / 1'000'000; // --send-gap: a typed byte every N ms
    std::vector<uint64_t> breaks;                        // linear addresses
    std::string break_after; // the breaks take effect once the console shows this
    TraceMode trace = TraceMode::None;
    bool json = false;
    bool quiet_debugcon = false; // do not print SeaBIOS's debug log (port 0x402)
    bool screen = false;         // at the end, the text screen at 0xB8000 (formats/text_screen)
    // --census shapes: of the windows, only the first of each shape as it ends (an idle prompt
    // that polls the BIOS opens a window every microsecond of virtual time).
    bool census_shapes_only = false;
    // --gdb [HOST:]PORT: serve GDB's remote protocol instead of running to the end
    // (docs/gdb.md). --timeout then counts only when given.
    bool gdb = false;
    std::string gdb_host = "127.0.0.1";
    uint16_t gdb_port = 0;
};
int run_boot(const BootOptions& options);

struct CheckOptions {
    std::string state_file; // "-" for standard input
    vmx::Profile profile = vmx::Profile::Kvm;
    bool json = false;
    bool compare = false;   // also list where the kvm and sdm verdicts differ, and why
    bool kvm_fixup = false; // also show what KVM with emulate_invalid_guest_state=0 writes
};
int run_check(const CheckOptions& options);

// `transit86 explain DUMP`: a kvm_intel, Xen or QEMU register dump judged (docs/explain.md).
struct ExplainOptions {
    std::string dump_file;              // "-" for standard input
    std::optional<bool> unrestricted;   // override the unrestricted-guest assumption
    std::optional<uint64_t> cr4_fixed1; // the host's IA32_VMX_CR4_FIXED1
    std::optional<unsigned> maxphyaddr; // the host's MAXPHYADDR
    bool json = false;
};
int run_explain(const ExplainOptions& options);

// `transit86 sst PATH...`: SingleStepTests 80286 files (docs/known-differences.md).
struct SstOptions {
    std::vector<std::string> paths;      // test files or folders of them
    bool verbose = false;                // show the first failures of each file
    uint64_t show = 3;                   // how many failures a file shows with -v
    std::optional<double> min_pass_rate; // percent; exit 0 when reached (default: no failure)
    std::optional<uint32_t> index;       // run only the test with this idx
    bool strict = false;                 // no 286-vs-386 masks (docs/known-differences.md)
    bool skip_if_missing = false;        // a missing path exits kExitSkipped, not an error
    bool json = false;
};
int run_sst(const SstOptions& options);

struct CorpusOptions {
    bool rebase = false; // `corpus rebase` instead of `corpus run`
    std::string directory = "corpus/cases";
    std::string filter;            // only cases whose name contains this
    std::string oracle = "kvm";    // rebase: which oracle writes the goldens
    bool refresh_verdicts = false; // rebase: only the sdm/unrestricted verdicts of hand goldens
    bool check = false; // rebase: compare the oracle's runs with the goldens, write nothing
    bool verbose = false;
};
int run_corpus(const CorpusOptions& options);

// Exit statuses shared by every subcommand.
inline constexpr int kExitUsage = 2;    // bad command line or unreadable/malformed input
inline constexpr int kExitSkipped = 77; // sst --skip-if-missing: the test data is absent

} // namespace transit86::tools
