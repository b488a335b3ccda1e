// Booting a Linux bzImage the way QEMU's -kernel does (hw/i386/x86.c, x86_load_linux): the
// setup sectors, the protected-mode kernel, the initrd and the command line become fw_cfg
// items, the setup header is patched as a boot loader would (Documentation/x86/boot.rst:
// type_of_loader, CAN_USE_HEAP and heap_end_ptr, cmd_line_ptr, ramdisk_image/size), and the
// linuxboot_dma.bin option ROM (Debian's qemu-system-data) loads them through fw_cfg DMA and
// enters the setup code at real_addr + 0x200 with CS = real_addr / 16 + 0x20.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pc/fw_cfg.hpp"

namespace transit86::pc {

// The boot protocol's setup header fields this loader reads or writes (boot.rst, offsets
// from the start of the image).
namespace setup_header {
inline constexpr size_t kSetupSects = 0x1F1;
inline constexpr size_t kHeaderMagic = 0x202; // "HdrS"
inline constexpr size_t kVersion = 0x206;
inline constexpr size_t kTypeOfLoader = 0x210;
inline constexpr size_t kLoadFlags = 0x211;
inline constexpr size_t kRamdiskImage = 0x218;
inline constexpr size_t kRamdiskSize = 0x21C;
inline constexpr size_t kHeapEndPtr = 0x224;
inline constexpr size_t kCmdLinePtr = 0x228;
inline constexpr size_t kInitrdAddrMax = 0x22C;
inline constexpr size_t kXLoadFlags = 0x236;
inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint8_t kCanUseHeap = 0x80;
inline constexpr uint16_t kKernel64 = 0x01;           // xloadflags: a 64-bit entry at 0x200
inline constexpr uint16_t kCanBeLoadedAbove4G = 0x02; // xloadflags
inline constexpr uint8_t kQemuLoaderType = 0xB0;      // what QEMU writes
} // namespace setup_header

struct LinuxImage {
    FwCfgLinuxBoot items; // for install_linux_boot()
    uint16_t protocol = 0;
    uint32_t setup_bytes = 0;
    // A 64-bit kernel (XLF_KERNEL_64, boot protocol 2.12+): its setup code refuses a CPU
    // without long mode (arch/x86/boot/cpucheck.c).
    bool kernel_64bit = false;
};

// Whether `image` has the boot protocol's setup header ("HdrS" at 0x202): QEMU's -kernel takes
// it as a Linux kernel, else looks for a multiboot header (pc/multiboot_loader.hpp).
bool has_linux_setup_header(std::span<const uint8_t> image);

// Reads a bzImage and lays it out for a machine with `ram_below_4g` bytes of RAM. Throws
// std::invalid_argument with one line for an image that is not a bzImage (no "HdrS", a boot
// protocol before 2.00 or a zImage that loads low), a broken header, or an initrd that does
// not fit under the kernel's initrd_addr_max.
LinuxImage load_linux(std::vector<uint8_t> image, std::vector<uint8_t> initrd,
                      const std::string& cmdline, uint64_t ram_below_4g);

} // namespace transit86::pc
