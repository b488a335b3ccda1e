#include "tools/boot/boot_config.hpp"

#include <fmt/format.h>
#include <stdexcept>

#include "pc/linux_loader.hpp"
#include "tools/guest_image.hpp"

namespace transit86::tools {

namespace {

constexpr uint64_t kMaxBios = 16u << 20;
constexpr uint64_t kMaxKernel = 512u << 20;

// A whole input file, or a one-line ImageError naming what it was for.
std::vector<uint8_t> read_input(const std::string& path, const char* what, uint64_t max_size) {
    std::vector<uint8_t> bytes = read_image_file(path, max_size, what);
    if (bytes.size() > max_size)
        throw ImageError(
            fmt::format("{} \"{}\" is larger than {} MiB", what, path, max_size >> 20));
    if (bytes.empty()) throw ImageError(fmt::format("{} \"{}\" is empty", what, path));
    return bytes;
}

// QEMU's -initrd for a multiboot kernel: modules separated by commas (",," is a comma in a
// name), each "PATH ARGS" — the whole of it the module's command line, PATH the file.
std::vector<pc::MultibootModule> multiboot_modules(const std::string& option) {
    std::vector<pc::MultibootModule> modules;
    if (option.empty()) return modules;
    std::string spec;
    for (size_t i = 0; i <= option.size(); ++i) {
        if (i < option.size() && option[i] == ',' && i + 1 < option.size() &&
            option[i + 1] == ',') {
            spec += ',';
            ++i;
        } else if (i == option.size() || option[i] == ',') {
            const std::string path = spec.substr(0, spec.find(' '));
            modules.push_back({spec, read_input(path, "multiboot module", kMaxKernel)});
            spec.clear();
        } else {
            spec += option[i];
        }
    }
    return modules;
}

} // namespace

pc::PcConfig make_platform_config(const BootOptions& o) {
    pc::PcConfig config;
    config.ram_bytes = o.memory_mib << 20;
    config.bios = read_input(o.bios, "BIOS", kMaxBios);
    if (!o.disk.empty()) {
        pc::BlockBackendOrError disk = pc::open_image_file(o.disk);
        if (!disk.backend) throw ImageError("disk " + disk.error);
        config.disk = std::move(disk.backend);
    }
    if (!o.cdrom.empty()) {
        pc::BlockBackendOrError disc = pc::open_image_file(o.cdrom);
        if (!disc.backend) throw ImageError("CD-ROM " + disc.error);
        if (!pc::AtapiCdrom::holds_a_sector(*disc.backend))
            throw ImageError(fmt::format("CD-ROM image \"{}\" is smaller than one {}-byte sector",
                                         o.cdrom, pc::AtapiCdrom::kSectorSize));
        config.cdrom = std::move(disc.backend);
    }
    if (!o.floppy.empty()) {
        pc::BlockBackendOrError diskette = pc::open_image_file(o.floppy);
        if (!diskette.backend) throw ImageError("floppy " + diskette.error);
        const uint64_t bytes = diskette.backend->sector_count() * pc::BlockBackend::kSectorSize;
        // A smaller image is read as the smallest format it fits in, as QEMU's -fda does.
        config.floppy = pc::diskette_of_standard_size(std::move(diskette.backend));
        if (!config.floppy)
            throw ImageError(fmt::format("floppy image \"{}\" is larger than a 2.88M diskette "
                                         "({} bytes; formats: {})",
                                         o.floppy, bytes, pc::floppy_format_names()));
    }
    // --boot: the drives in the order given, each as QEMU's bootindex would name it.
    for (const char device : o.boot_order) {
        if (device == 'c' && config.disk) config.boot_order.emplace_back(pc::kDiskBootPath);
        if (device == 'a' && config.floppy) config.boot_order.emplace_back(pc::kFloppyBootPath);
        if (device == 'd' && config.cdrom) config.boot_order.emplace_back(pc::kCdromBootPath);
    }
    if (!o.kernel.empty()) {
        std::vector<uint8_t> kernel = read_input(o.kernel, "kernel", kMaxKernel);
        // As QEMU's -kernel: a Linux setup header first, else a multiboot header.
        const bool multiboot =
            !pc::has_linux_setup_header(kernel) && pc::has_multiboot_header(kernel);
        try {
            if (multiboot) {
                config.multiboot = pc::load_multiboot(
                    kernel, o.kernel, o.append, multiboot_modules(o.initrd), config.ram_bytes);
            } else {
                std::vector<uint8_t> initrd;
                if (!o.initrd.empty()) initrd = read_input(o.initrd, "initrd", kMaxKernel);
                pc::LinuxImage linux = pc::load_linux(std::move(kernel), std::move(initrd),
                                                      o.append, config.ram_bytes);
                config.linux_boot = std::move(linux.items);
            }
        } catch (const std::invalid_argument& e) {
            throw ImageError(fmt::format("kernel \"{}\": {}", o.kernel, e.what()));
        }
        const char* rom = multiboot ? "multiboot_dma.bin" : "linuxboot_dma.bin";
        config.option_roms.emplace_back(
            rom, read_input(multiboot ? o.multiboot_rom : o.linuxboot_rom, "option ROM", kMaxBios));
        // QEMU gives the -kernel option ROM boot index 0.
        config.boot_order.insert(config.boot_order.begin(), std::string("/rom@genroms/") + rom);
    }
    return config;
}

CpuModel cpu_model_for(BootCpu cpu) {
    CpuModel model;
    if (cpu == BootCpu::X86_64) {
        // What a 64-bit Linux kernel's setup code requires before it goes on
        // (arch/x86/boot/cpucheck.c against asm/required-features.h for CONFIG_X86_64): the
        // paging features, FXSR, SSE, SSE2 and long mode (the default model has the paging
        // features and FXSR already). The 16- and 32-bit boot code
        // executes none of the SSE instructions or long mode; if a guest does, transit86 stops
        // with Unsupported naming it.
        model.features_edx |= cpuid_edx::PSE | cpuid_edx::PAE | cpuid_edx::PGE | cpuid_edx::FXSR |
                              cpuid_edx::SSE | cpuid_edx::SSE2;
        model.extended_features_edx |= cpuid_ext_edx::LM | cpuid_ext_edx::SYSCALL;
    }
    return model;
}

} // namespace transit86::tools
