#include "pc/multiboot_loader.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace transit86::pc {

namespace {

constexpr uint32_t kHeaderMagic = 0x1BADB002;
constexpr size_t kHeaderSearch = 8192; // the header lies in the first 8 KiB, 4-byte aligned
constexpr uint32_t kFlagAoutKludge = 0x00010000;
constexpr uint32_t kPage = 4096;

// QEMU's fixed places (hw/i386/multiboot.c): the E820 map the ROM builds, then the MBI.
constexpr uint32_t kE820MapAddr = 0x9000;
constexpr uint32_t kInfoAddr = kE820MapAddr + 0x500;

// The MBI (Multiboot Specification 3.3): the fields QEMU fills, by offset.
constexpr size_t kInfoSize = 88;
constexpr size_t kInfoFlags = 0, kInfoMemLower = 4, kInfoMemUpper = 8, kInfoBootDevice = 12,
                 kInfoCmdline = 16, kInfoModsCount = 20, kInfoModsAddr = 24, kInfoMmapAddr = 48,
                 kInfoBootLoaderName = 64;
constexpr uint32_t kInfoHasMemory = 1u << 0, kInfoHasBootDevice = 1u << 1,
                   kInfoHasCmdline = 1u << 2, kInfoHasMods = 1u << 3, kInfoHasMmap = 1u << 6,
                   kInfoHasBootLoaderName = 1u << 9;
constexpr size_t kModuleRecord = 16; // mod_start, mod_end, string, reserved
constexpr std::string_view kBootLoaderName = "qemu";

uint32_t le32(std::span<const uint8_t> bytes, size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, bytes.data() + at, 4);
    return v;
}
uint16_t le16(std::span<const uint8_t> bytes, size_t at) {
    uint16_t v = 0;
    std::memcpy(&v, bytes.data() + at, 2);
    return v;
}
void put32(std::vector<uint8_t>& bytes, size_t at, uint32_t value) {
    std::memcpy(bytes.data() + at, &value, 4);
}
uint64_t page_align(uint64_t n) {
    return (n + kPage - 1) / kPage * kPage;
}
[[noreturn]] void refuse(const std::string& why) {
    throw std::invalid_argument("multiboot: " + why);
}

// The offset of the first header whose checksum holds, or -1.
long header_offset(std::span<const uint8_t> kernel) {
    const size_t end = std::min(kernel.size(), kHeaderSearch);
    for (size_t i = 0; i + 12 <= end; i += 4)
        if (le32(kernel, i) == kHeaderMagic &&
            static_cast<uint32_t>(kHeaderMagic + le32(kernel, i + 4) + le32(kernel, i + 8)) == 0)
            return static_cast<long>(i);
    return -1;
}

struct LoadedKernel {
    uint32_t load_addr = 0;
    uint32_t entry = 0;
    std::vector<uint8_t> bytes; // from load_addr, bss included (zeros)
};

// An ELF32 i386 executable: its PT_LOAD segments at their physical addresses (QEMU's load_elf
// without an address translation), entered at e_entry.
LoadedKernel load_elf(std::span<const uint8_t> file, uint64_t ram) {
    constexpr uint16_t kEm386 = 3, kEmX86_64 = 62;
    if (file.size() < 52) refuse("the ELF header is cut short");
    if (le16(file, 18) == kEmX86_64) refuse("an x86-64 ELF kernel; give a 32-bit one (as QEMU)");
    if (file[4] != 1 || le16(file, 18) != kEm386) refuse("not a 32-bit i386 ELF kernel");
    const uint32_t phoff = le32(file, 28);
    const uint16_t phentsize = le16(file, 42), phnum = le16(file, 44);
    if (phentsize < 32 || uint64_t{phoff} + uint64_t{phentsize} * phnum > file.size())
        refuse("the ELF program headers lie outside the file");
    struct Segment {
        uint32_t offset, paddr, filesz, memsz;
    };
    std::vector<Segment> segments;
    uint64_t low = UINT64_MAX, high = 0;
    for (uint16_t i = 0; i < phnum; ++i) {
        const size_t ph = phoff + size_t{i} * phentsize;
        if (le32(file, ph) != 1 /* PT_LOAD */) continue;
        const Segment s{le32(file, ph + 4), le32(file, ph + 12), le32(file, ph + 16),
                        le32(file, ph + 20)};
        if (s.memsz == 0) continue; // QEMU skips empty segments too
        if (s.filesz > s.memsz || uint64_t{s.offset} + s.filesz > file.size())
            refuse("an ELF segment lies outside the file");
        low = std::min<uint64_t>(low, s.paddr);
        high = std::max<uint64_t>(high, uint64_t{s.paddr} + s.memsz);
        segments.push_back(s);
    }
    if (segments.empty()) refuse("the ELF kernel has no loadable segment");
    if (high > UINT32_MAX) refuse("an ELF segment ends above 4 GiB");
    if (high > ram) refuse("the ELF kernel's segments end past the end of RAM");
    LoadedKernel k{.load_addr = static_cast<uint32_t>(low),
                   .entry = le32(file, 24),
                   .bytes = std::vector<uint8_t>(high - low, 0)};
    for (const Segment& s : segments)
        std::copy_n(file.begin() + s.offset, s.filesz, k.bytes.begin() + (s.paddr - low));
    return k;
}

// The header's a.out-kludge addresses (flag 16): the file from the header's place on, loaded
// at load_addr up to load_end_addr (0: the end of the file), zeros up to bss_end_addr.
LoadedKernel load_aout_kludge(std::span<const uint8_t> file, size_t at, uint64_t ram) {
    if (file.size() < at + 32) refuse("the header's address fields are cut short");
    const uint32_t header_addr = le32(file, at + 12), load_addr = le32(file, at + 16),
                   load_end = le32(file, at + 20), bss_end = le32(file, at + 24);
    if (header_addr < load_addr) refuse("header_addr lies below load_addr");
    if (header_addr - load_addr > at) refuse("load_addr lies before the start of the file");
    const size_t text_offset = at - (header_addr - load_addr);
    uint64_t load_size = file.size() - text_offset;
    if (load_end != 0) {
        if (load_end < load_addr) refuse("load_end_addr lies below load_addr");
        load_size = load_end - load_addr;
    }
    if (text_offset + load_size > file.size())
        refuse("load_end_addr lies past the end of the file");
    if (load_size > UINT32_MAX - load_addr) refuse("the kernel does not fit below 4 GiB");
    uint64_t kernel_size = load_size;
    if (bss_end != 0) {
        if (bss_end < load_addr + load_size)
            refuse("bss_end_addr lies below the loaded image's end");
        kernel_size = bss_end - load_addr;
    }
    // Before anything is allocated: a header may name up to 4 GiB.
    if (uint64_t{load_addr} + kernel_size > ram) refuse("the kernel ends past the end of RAM");
    LoadedKernel k{.load_addr = load_addr,
                   .entry = le32(file, at + 28),
                   .bytes = std::vector<uint8_t>(kernel_size, 0)};
    std::copy_n(file.begin() + static_cast<ptrdiff_t>(text_offset), load_size, k.bytes.begin());
    return k;
}

} // namespace

bool has_multiboot_header(std::span<const uint8_t> kernel) {
    return header_offset(kernel) >= 0;
}

FwCfgMultiboot load_multiboot(std::span<const uint8_t> kernel, std::string_view kernel_path,
                              std::string_view command_line, std::vector<MultibootModule> modules,
                              uint64_t ram_below_4g) {
    const long at = header_offset(kernel);
    if (at < 0) refuse("no multiboot header in the first 8 KiB");
    const uint32_t flags = le32(kernel, static_cast<size_t>(at) + 4);
    // A video mode request (flag 2) is not honoured, as in QEMU.
    LoadedKernel k = (flags & kFlagAoutKludge)
                         ? load_aout_kludge(kernel, static_cast<size_t>(at), ram_below_4g)
                         : load_elf(kernel, ram_below_4g);

    // QEMU's layout of one buffer at load_addr: the kernel, page-aligned; a record per
    // module; the command lines (modules' first, then the kernel's); the boot loader name;
    // page-aligned; then each module, page-aligned.
    const uint64_t records_at = page_align(k.bytes.size());
    uint64_t command_lines_bytes = kernel_path.size() + 1 + command_line.size() + 1;
    for (const MultibootModule& m : modules)
        command_lines_bytes += m.command_line.size() + 1;
    const uint64_t strings_at = records_at + kModuleRecord * modules.size();
    const uint64_t name_at = strings_at + command_lines_bytes;
    uint64_t size = page_align(name_at + kBootLoaderName.size() + 1);
    std::vector<uint64_t> module_at;
    for (const MultibootModule& m : modules) {
        module_at.push_back(size);
        size = page_align(size + m.bytes.size());
    }
    if (uint64_t{k.load_addr} + size > ram_below_4g)
        refuse("the kernel and its modules (" + std::to_string(size) + " bytes at " +
               std::to_string(k.load_addr) + ") do not fit in RAM");

    FwCfgMultiboot boot{.entry = k.entry,
                        .load_addr = k.load_addr,
                        .image = std::move(k.bytes),
                        .info_addr = kInfoAddr,
                        .info = std::vector<uint8_t>(kInfoSize, 0)};
    boot.image.resize(size, 0);
    uint64_t string_at = strings_at;
    const auto add_string = [&](std::string_view text) {
        std::copy(text.begin(), text.end(), boot.image.begin() + static_cast<ptrdiff_t>(string_at));
        const auto address = static_cast<uint32_t>(boot.load_addr + string_at);
        string_at += text.size() + 1;
        return address;
    };
    for (size_t i = 0; i < modules.size(); ++i) {
        const uint32_t string = add_string(modules[i].command_line);
        std::copy(modules[i].bytes.begin(), modules[i].bytes.end(),
                  boot.image.begin() + static_cast<ptrdiff_t>(module_at[i]));
        const size_t record = records_at + kModuleRecord * i;
        put32(boot.image, record, static_cast<uint32_t>(boot.load_addr + module_at[i]));
        put32(boot.image, record + 4,
              static_cast<uint32_t>(boot.load_addr + module_at[i] + modules[i].bytes.size()));
        put32(boot.image, record + 8, string);
    }
    const uint32_t cmdline = add_string(std::string(kernel_path) + " " + std::string(command_line));
    string_at = name_at;
    const uint32_t name = add_string(kBootLoaderName);

    put32(boot.info, kInfoFlags,
          kInfoHasMemory | kInfoHasBootDevice | kInfoHasCmdline | kInfoHasMods | kInfoHasMmap |
              kInfoHasBootLoaderName);
    put32(boot.info, kInfoMemLower, 640);
    put32(boot.info, kInfoMemUpper, static_cast<uint32_t>(ram_below_4g / 1024 - 1024));
    put32(boot.info, kInfoBootDevice, 0x8000FFFF);
    put32(boot.info, kInfoCmdline, cmdline);
    put32(boot.info, kInfoModsCount, static_cast<uint32_t>(modules.size()));
    put32(boot.info, kInfoModsAddr, static_cast<uint32_t>(boot.load_addr + records_at));
    put32(boot.info, kInfoMmapAddr, kE820MapAddr);
    put32(boot.info, kInfoBootLoaderName, name);
    return boot;
}

void install_multiboot(FwCfg& fw_cfg, const FwCfgMultiboot& boot) {
    fw_cfg.set_le32(FwCfg::kKernelEntry, boot.entry);
    fw_cfg.set_le32(FwCfg::kKernelAddr, boot.load_addr);
    fw_cfg.set_le32(FwCfg::kKernelSize, static_cast<uint32_t>(boot.image.size()));
    fw_cfg.set_item(FwCfg::kKernelData, boot.image);
    fw_cfg.set_le32(FwCfg::kInitrdAddr, boot.info_addr);
    fw_cfg.set_le32(FwCfg::kInitrdSize, static_cast<uint32_t>(boot.info.size()));
    fw_cfg.set_item(FwCfg::kInitrdData, boot.info);
}

} // namespace transit86::pc
