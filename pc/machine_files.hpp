// machine_files: the PC a command line names by its files — firmware, disk, CD, diskette, the
// boot order, a Linux or multiboot kernel with its initrd and command line — read into a
// PcConfig. `transit86 boot`, the corpus's boot chains and examples/kvm-vmm --pc build their
// machine here, so the same options give the same machine (docs/boot.md, "Options").
//
// Every file is checked before the machine exists: a missing, unreadable, empty or oversized
// file, a disk image of no whole number of sectors, a CD image smaller than a sector, a
// diskette of no standard size, a kernel that is neither a bzImage nor a multiboot kernel (or
// one the loaders refuse) is a MachineFileError with one line naming the file.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pc/platform.hpp"

namespace transit86::pc {

struct MachineFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct MachineFiles {
    std::string bios = "/usr/share/seabios/bios.bin"; // Debian's seabios package
    std::string disk, cdrom, floppy;                  // "": none
    std::string boot_order = "cad"; // QEMU's -boot letters: c the disk, a the floppy, d the CD
    std::string kernel, initrd, append;
    std::string linuxboot_rom = "/usr/share/qemu/linuxboot_dma.bin"; // qemu-system-data
    std::string multiboot_rom = "/usr/share/qemu/multiboot_dma.bin"; // qemu-system-data
    uint64_t memory_mib = 128;
    // The RTC's date and time at power-on (QEMU's -rtc base=, parse_rtc_base); "": the fixed
    // default, 2026-01-01T00:00:00 UTC.
    std::string rtc_base;
    unsigned icount_shift = 0; // PcConfig::icount_shift
};

// The machine; throws MachineFileError.
PcConfig read_machine_files(const MachineFiles& files);

// The machine in one line, for a report's header: `bios PATH (N KiB), disk PATH, cdrom PATH,
// floppy PATH, kernel PATH, initrd PATH, append "TEXT", rtc base DATE, icount shift N` (what
// is not given left out).
std::string describe_machine(const MachineFiles& files, size_t bios_bytes);

// QEMU's -rtc base=: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (UTC, years 1980-2099, the CMOS's
// two BCD digits and century), or "now": the host's UTC time when the machine is built, which
// makes a boot differ from run to run. The reason when `text` is none of these.
std::optional<RtcDateTime> parse_rtc_base(std::string_view text, std::string& error);

// Why `order` is not a boot order (letters c, a, d, each at most once), or nullopt.
std::optional<std::string> boot_order_error(std::string_view order);

// A file's bytes, at most `max_size` + 1 of them, so that an endless file (/dev/zero) or one
// too large is found out without being read whole: the caller says what is too large. Throws
// MachineFileError naming it by `what`: "cannot open BIOS \"PATH\": No such file or
// directory", "cannot read image \"/\"" (a directory).
std::vector<uint8_t> read_whole_file(const std::string& path, uint64_t max_size,
                                     std::string_view what);

} // namespace transit86::pc
