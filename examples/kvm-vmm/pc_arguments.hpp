// The command line of `kvm-vmm --pc`: the options `transit86 boot` has for the same machine
// (tools/cli_options.cpp: --bios, --disk, --cdrom, --floppy, --boot, --kernel, --initrd,
// --append, --linuxboot-rom, --multiboot-rom, --memory 2-3072 (pc/machine_files.hpp), --until,
// --timeout, --expect/--send (pc/console_script.hpp), --no-debugcon),
// plus the VMM's own (--step-all, --verbose). Parsed here, apart from main(), so that the
// tests can drive it without a KVM.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pc/console_script.hpp"
#include "pc/machine_files.hpp"

namespace kvm_vmm {

struct PcArguments {
    // --bios, --disk, --cdrom, --floppy, --boot, --kernel, --initrd, --append, --linuxboot-rom,
    // --multiboot-rom, --memory: the machine, read as `transit86 boot` reads it.
    transit86::pc::MachineFiles machine;
    std::string until; // stop once the serial console has shown this text
    std::vector<transit86::pc::ConsoleStep> input;                  // --expect/--send, in order
    uint64_t send_gap_ms = transit86::pc::kTypingGapNs / 1'000'000; // --send-gap
    uint64_t timeout_seconds = 600;                                 // virtual time; 0 = no limit
    bool step_everything = false; // --step-all: single-step KVM everywhere
    bool debugcon = true;         // --no-debugcon leaves SeaBIOS's debug log out
    bool verbose = false;         // --verbose: the hand-overs between KVM and transit86
};

struct PcArgumentsOrError {
    std::optional<PcArguments> arguments;
    std::string error; // one line, when arguments is empty
};

// `arguments` are the words after the program name; "--pc" among them is skipped.
PcArgumentsOrError parse_pc_arguments(std::span<const char* const> arguments);

} // namespace kvm_vmm
