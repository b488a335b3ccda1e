#include "pc/linux_loader.hpp"

#include <cstring>
#include <stdexcept>

namespace transit86::pc {

namespace {

// QEMU's pc machines reserve this much at the top of low RAM for ACPI tables
// (acpi_data_size: 128 KiB + 32 KiB); the initrd goes below it.
constexpr uint64_t kAcpiDataSize = 0x20000 + 0x8000;
// Where a protocol >= 2.02 kernel's pieces go (x86_load_linux: "High and recent kernel").
constexpr uint32_t kRealAddr = 0x10000;
constexpr uint32_t kCmdlineAddr = 0x20000;
constexpr uint32_t kProtAddr = 0x100000;

uint16_t le16(const std::vector<uint8_t>& b, size_t at) {
    return static_cast<uint16_t>(b[at] | b[at + 1] << 8);
}
uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
    return uint32_t{le16(b, at)} | uint32_t{le16(b, at + 2)} << 16;
}
void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v);
    b[at + 1] = static_cast<uint8_t>(v >> 8);
}
void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    put16(b, at, static_cast<uint16_t>(v));
    put16(b, at + 2, static_cast<uint16_t>(v >> 16));
}

} // namespace

bool has_linux_setup_header(std::span<const uint8_t> image) {
    using setup_header::kHeaderMagic;
    return image.size() >= kHeaderMagic + 4 && std::memcmp(&image[kHeaderMagic], "HdrS", 4) == 0;
}

LinuxImage load_linux(std::vector<uint8_t> image, std::vector<uint8_t> initrd,
                      const std::string& cmdline, uint64_t ram_below_4g) {
    using namespace setup_header;
    if (image.size() < 0x400 || !has_linux_setup_header(image))
        throw std::invalid_argument("not a bzImage: no Linux setup header (\"HdrS\" at 0x202)");
    LinuxImage out;
    out.protocol = le16(image, kVersion);
    if (out.protocol < 0x200 || !(image[kLoadFlags] & kLoadedHigh))
        throw std::invalid_argument(
            "not a bzImage: a zImage that loads below 1 MiB (boot protocol " +
            std::to_string(out.protocol >> 8) + "." + std::to_string(out.protocol & 0xFF) + ")");
    if (out.protocol < 0x202)
        throw std::invalid_argument("boot protocol before 2.02 is not supported (a kernel "
                                    "older than 2.4)");

    out.kernel_64bit = out.protocol >= 0x20C && (le16(image, kXLoadFlags) & kKernel64);
    // The highest address the initrd may end at, below the ACPI area (x86_load_linux).
    uint64_t initrd_max = 0x37FFFFFF;
    if (out.protocol >= 0x20C && (le16(image, kXLoadFlags) & kCanBeLoadedAbove4G))
        initrd_max = 0xFFFFFFFF;
    else if (out.protocol >= 0x203)
        initrd_max = le32(image, kInitrdAddrMax);
    if (initrd_max >= ram_below_4g - kAcpiDataSize) initrd_max = ram_below_4g - kAcpiDataSize - 1;

    put32(image, kCmdLinePtr, kCmdlineAddr);
    image[kTypeOfLoader] = kQemuLoaderType;
    image[kLoadFlags] |= kCanUseHeap;
    put16(image, kHeapEndPtr, static_cast<uint16_t>(kCmdlineAddr - kRealAddr - 0x200));
    if (!initrd.empty()) {
        if (initrd.size() >= initrd_max)
            throw std::invalid_argument("the initrd (" + std::to_string(initrd.size()) +
                                        " bytes) does not fit below the kernel's limit");
        const uint32_t initrd_addr =
            static_cast<uint32_t>((initrd_max - initrd.size()) & ~uint64_t{0xFFF});
        put32(image, kRamdiskImage, initrd_addr);
        put32(image, kRamdiskSize, static_cast<uint32_t>(initrd.size()));
        out.items.initrd_addr = initrd_addr;
        out.items.initrd = std::move(initrd);
    }

    const uint32_t setup_sects = image[kSetupSects] ? image[kSetupSects] : 4;
    out.setup_bytes = (setup_sects + 1) * 512;
    if (out.setup_bytes >= image.size())
        throw std::invalid_argument("broken bzImage: " + std::to_string(setup_sects) +
                                    " setup sectors but only " + std::to_string(image.size()) +
                                    " bytes");
    out.items.setup_addr = kRealAddr;
    out.items.setup.assign(image.begin(), image.begin() + out.setup_bytes);
    out.items.kernel_addr = kProtAddr;
    out.items.kernel.assign(image.begin() + out.setup_bytes, image.end());
    out.items.cmdline_addr = kCmdlineAddr;
    out.items.cmdline = cmdline;
    return out;
}

} // namespace transit86::pc
