// Booting a multiboot (version 1) kernel the way QEMU's -kernel does (hw/i386/multiboot.c): a
// kernel without a Linux setup header but with a multiboot header in its first 8 KiB (magic
// 0x1BADB002, flags, checksum) is laid out in one buffer — the kernel (an ELF32's PT_LOAD
// segments by physical address, or the header's a.out-kludge addresses), the module records,
// the command lines, the boot loader name "qemu", then each module page-aligned — and handed
// with the multiboot information structure (MBI) to the multiboot_dma.bin option ROM (Debian's
// qemu-system-data) through fw_cfg: KERNEL_ENTRY/ADDR/SIZE/DATA the buffer, INITRD_ADDR/SIZE/
// DATA the MBI (at 0x9500). The ROM fills the memory map at 0x9000 from INT 15h E820, copies
// both into place and enters the kernel in 32-bit protected mode with EAX = 0x2BADB002 and
// EBX = the MBI.
//
// As QEMU: the kernel's command line is "KERNEL_PATH CMDLINE"; each module's is "PATH ARGS" as
// given; the MBI flags are memory, boot device (0x8000FFFF), command line, modules, memory map
// and boot loader name; mem_lower 640 and mem_upper the KiB above 1 MiB. VBE requests (header
// flag 2) are not honoured (QEMU: "multiboot knows VBE. we don't."). Refused, with one line:
// an x86-64 ELF, an ELF with no loadable segment or a segment outside the file, a.out-kludge
// addresses that contradict each other or the file.
//
// References: the Multiboot Specification 0.6.96 (3.1 header, 3.3 boot information); QEMU
// hw/i386/multiboot.c, pc-bios/optionrom/multiboot.S.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pc/fw_cfg.hpp"

namespace transit86::pc {

struct MultibootModule {
    std::string command_line; // "PATH ARGS", as QEMU's -initrd gives it
    std::vector<uint8_t> bytes;
};

struct FwCfgMultiboot {
    uint32_t entry = 0;
    uint32_t load_addr = 0;
    std::vector<uint8_t> image; // kernel, module records, command lines, modules
    uint32_t info_addr = 0;
    std::vector<uint8_t> info; // the MBI
};

// Whether `kernel` has a multiboot header with a valid checksum in its first 8192 bytes.
bool has_multiboot_header(std::span<const uint8_t> kernel);

// The fw_cfg items QEMU builds for this kernel; throws std::invalid_argument (one line) for a
// kernel it would refuse.
FwCfgMultiboot load_multiboot(std::span<const uint8_t> kernel, std::string_view kernel_path,
                              std::string_view command_line, std::vector<MultibootModule> modules,
                              uint64_t ram_below_4g);

void install_multiboot(FwCfg& fw_cfg, const FwCfgMultiboot& boot);

} // namespace transit86::pc
