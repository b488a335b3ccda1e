// The reference for examples/kvm-vmm's PC mode: the same PC booted by `transit86 boot`'s
// machine (tools/boot BootMachine) from KVM's reset state under the kvm profile, in process;
// and the helpers the PC tests share (the PC of the boot chains, console text lines, running
// a program for its output).
#pragma once

#include <boot_files.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "pc/machine_files.hpp"
#include "pc/platform.hpp"
#include "pc_vmm.hpp"
#include "tools/boot/boot_machine.hpp"

namespace kvm_vmm::testing_pc {

namespace files = transit86::boot_files;

inline constexpr uint64_t kTimeoutNs = 300'000'000'000; // virtual time, either side
// SeaBIOS alone prints "No bootable device" after 6 ms of virtual time and then waits for a
// key with HLT. A run that ends by looking at the console ends when the host looks, which
// differs between a loop that steps and one that runs to the next timer event; a timeout
// ends both in the same HLT, so SeaBIOS-alone comparisons that count instructions end so.
inline constexpr uint64_t kSeabiosAloneNs = 2'000'000'000;

// The PC of `transit86 boot --bios seabios [--disk grub-echo.img]`.
inline transit86::pc::PcConfig seabios_pc(bool with_grub_disk) {
    transit86::pc::MachineFiles machine;
    machine.bios = files::seabios_bin;
    if (with_grub_disk) machine.disk = files::grub_echo_img;
    return transit86::pc::read_machine_files(machine);
}

struct ReferenceBoot {
    std::string serial;
    std::vector<transit86::CensusWindow> windows;
    transit86::tools::BootEnd end;
    uint64_t instructions = 0;
    uint64_t virtual_ns = 0;
};

// transit86 alone, from KVM's reset state, under the kvm profile (`--preset kvm`).
inline ReferenceBoot boot_on_transit86(bool with_grub_disk, const std::string& until,
                                       uint64_t timeout_ns = kTimeoutNs) {
    transit86::tools::BootMachine machine(seabios_pc(with_grub_disk), transit86::ResetPreset::Kvm,
                                          transit86::vmx::Profile::Kvm);
    ReferenceBoot boot;
    machine.on_serial = [&](const std::string& s) { boot.serial += s; };
    boot.end = machine.run({.stop_at_console = until, .timeout_ns = timeout_ns});
    boot.windows = machine.census().windows();
    boot.instructions = machine.instructions();
    boot.virtual_ns = machine.virtual_ns();
    return boot;
}

// The console as text lines: terminal escape sequences (ESC [ ... final byte), carriage
// returns and other control characters left out, empty lines dropped.
inline std::vector<std::string> text_lines(const std::string& serial) {
    std::vector<std::string> lines(1);
    for (size_t i = 0; i < serial.size(); ++i) {
        const auto byte = static_cast<unsigned char>(serial[i]);
        if (byte == 0x1B && i + 1 < serial.size() && serial[i + 1] == '[') {
            for (i += 2; i < serial.size() && (serial[i] < 0x40 || serial[i] > 0x7E); ++i) {
            }
        } else if (byte == '\n') {
            if (!lines.back().empty()) lines.emplace_back();
        } else if (byte == '\t' || (byte >= 0x20 && byte != 0x7F)) {
            lines.back().push_back(serial[i]);
        }
    }
    if (lines.back().empty()) lines.pop_back();
    return lines;
}

// The census text of `windows` (at most `limit`), for failure messages.
inline std::string census_text(const std::vector<transit86::CensusWindow>& windows,
                               size_t limit = 40) {
    std::string text;
    for (size_t i = 0; i < windows.size() && i < limit; ++i)
        text += transit86::format_window(windows[i]);
    return text;
}

struct ProgramOutput {
    std::string out; // standard output
    int status = -1; // exit status, -1 if it did not exit
};

// Runs `command` with /bin/sh and collects its standard output.
inline ProgramOutput run_program(const std::string& command) {
    ProgramOutput result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[65536];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        result.out.append(buffer, n);
    const int status = ::pclose(pipe);
    if (WIFEXITED(status)) result.status = WEXITSTATUS(status);
    return result;
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
        lines.push_back(text.substr(start, end - start));
    if (start < text.size()) lines.push_back(text.substr(start));
    return lines;
}

} // namespace kvm_vmm::testing_pc
