#include "pc/machine_files.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "pc/atapi_cdrom.hpp"
#include "pc/block_backend.hpp"
#include "pc/floppy_controller.hpp"
#include "pc/linux_loader.hpp"
#include "pc/multiboot_loader.hpp"

namespace transit86::pc {

namespace {

constexpr uint64_t kMaxBios = 16u << 20;
constexpr uint64_t kMaxKernel = 512u << 20;

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

// A whole input file, not empty and at most `max_size` bytes.
std::vector<uint8_t> read_input(const std::string& path, std::string_view what, uint64_t max_size) {
    std::vector<uint8_t> bytes = read_whole_file(path, max_size, what);
    if (bytes.size() > max_size)
        throw MachineFileError(std::string(what) + " " + quoted(path) + " is larger than " +
                               std::to_string(max_size >> 20) + " MiB");
    if (bytes.empty()) throw MachineFileError(std::string(what) + " " + quoted(path) + " is empty");
    return bytes;
}

// QEMU's -initrd for a multiboot kernel: modules separated by commas (",," is a comma in a
// name), each "PATH ARGS" — the whole of it the module's command line, PATH the file.
std::vector<MultibootModule> multiboot_modules(const std::string& option) {
    std::vector<MultibootModule> modules;
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

std::unique_ptr<BlockBackend> open_medium(const std::string& path, std::string_view what) {
    BlockBackendOrError opened = open_image_file(path);
    if (!opened.backend) throw MachineFileError(std::string(what) + " " + opened.error);
    return std::move(opened.backend);
}

// -kernel as QEMU takes it: a Linux setup header first, else a multiboot header; the loader's
// option ROM at boot index 0.
void add_kernel(const MachineFiles& f, PcConfig& config) {
    std::vector<uint8_t> kernel = read_input(f.kernel, "kernel", kMaxKernel);
    const bool linux_setup = has_linux_setup_header(kernel);
    const bool multiboot = !linux_setup && has_multiboot_header(kernel);
    if (!linux_setup && !multiboot)
        throw MachineFileError("kernel " + quoted(f.kernel) +
                               ": neither a bzImage (no Linux setup header, \"HdrS\" at 0x202) "
                               "nor a multiboot kernel (no multiboot header in its first 8 KiB)");
    try {
        if (multiboot) {
            config.multiboot = load_multiboot(kernel, f.kernel, f.append,
                                              multiboot_modules(f.initrd), config.ram_bytes);
        } else {
            std::vector<uint8_t> initrd;
            if (!f.initrd.empty()) initrd = read_input(f.initrd, "initrd", kMaxKernel);
            LinuxImage linux =
                load_linux(std::move(kernel), std::move(initrd), f.append, config.ram_bytes);
            config.linux_boot = std::move(linux.items);
            config.kernel_64bit = linux.kernel_64bit;
        }
    } catch (const std::invalid_argument& e) {
        throw MachineFileError("kernel " + quoted(f.kernel) + ": " + e.what());
    }
    const char* rom = multiboot ? "multiboot_dma.bin" : "linuxboot_dma.bin";
    config.option_roms.emplace_back(
        rom, read_input(multiboot ? f.multiboot_rom : f.linuxboot_rom, "option ROM", kMaxBios));
    config.boot_order.insert(config.boot_order.begin(), std::string("/rom@genroms/") + rom);
}

} // namespace

std::vector<uint8_t> read_whole_file(const std::string& path, uint64_t max_size,
                                     std::string_view what) {
    if (struct stat st{}; ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw MachineFileError(std::string(what) + " " + quoted(path) + ": is a directory");
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) { // the OS's reason: a missing file and an unreadable one need different fixes
        const int reason = errno;
        throw MachineFileError("cannot open " + std::string(what) + " " + quoted(path) +
                               (reason != 0 ? std::string(": ") + std::strerror(reason) : ""));
    }
    std::vector<uint8_t> bytes;
    char chunk[65536];
    for (;;) {
        in.read(chunk, sizeof chunk);
        const auto got = static_cast<size_t>(in.gcount());
        bytes.insert(bytes.end(), chunk, chunk + got);
        if (bytes.size() > max_size || got < sizeof chunk) break;
    }
    // A directory opens but fails the first read: badbit, or failbit with nothing read.
    if (in.bad() || (in.fail() && !in.eof()))
        throw MachineFileError("cannot read " + std::string(what) + " " + quoted(path));
    return bytes;
}

std::optional<std::string> boot_order_error(std::string_view order) {
    const bool letters = order.find_first_not_of("acd") == std::string_view::npos;
    bool once = true;
    for (size_t i = 0; i < order.size(); ++i)
        once = once && order.find(order[i], i + 1) == std::string_view::npos;
    if (!order.empty() && letters && once) return std::nullopt;
    return "c (the disk), a (the floppy) and d (the CD-ROM), each at most once, not " +
           quoted(order);
}

std::string describe_machine(const MachineFiles& f, size_t bios_bytes) {
    std::string text = "bios " + f.bios + " (" + std::to_string(bios_bytes >> 10) + " KiB)";
    for (const auto& [label, path] :
         {std::pair{", disk ", &f.disk}, std::pair{", cdrom ", &f.cdrom},
          std::pair{", floppy ", &f.floppy}, std::pair{", kernel ", &f.kernel},
          std::pair{", initrd ", &f.initrd}})
        if (!path->empty()) text += label + *path;
    if (!f.append.empty()) text += ", append " + quoted(f.append);
    if (!f.rtc_base.empty()) text += ", rtc base " + f.rtc_base;
    if (f.icount_shift != 0) text += ", icount shift " + std::to_string(f.icount_shift);
    return text;
}

std::optional<RtcDateTime> parse_rtc_base(std::string_view text, std::string& error) {
    RtcDateTime t;
    if (text == "now") {
        const std::time_t now = std::time(nullptr);
        std::tm utc{};
        if (!gmtime_r(&now, &utc)) {
            error = "the host's clock cannot be read";
            return std::nullopt;
        }
        t = {utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
             utc.tm_hour,        utc.tm_min,     std::min(utc.tm_sec, 59)};
    } else {
        const auto digits = [&](size_t at, size_t count, int& out) {
            if (at + count > text.size()) return false;
            out = 0;
            for (size_t i = at; i < at + count; ++i) {
                if (text[i] < '0' || text[i] > '9') return false;
                out = out * 10 + (text[i] - '0');
            }
            return true;
        };
        const bool date = text.size() >= 10 && digits(0, 4, t.year) && text[4] == '-' &&
                          digits(5, 2, t.month) && text[7] == '-' && digits(8, 2, t.day);
        const bool time =
            text.size() == 10 ||
            (text.size() == 19 && text[10] == 'T' && digits(11, 2, t.hour) && text[13] == ':' &&
             digits(14, 2, t.minute) && text[16] == ':' && digits(17, 2, t.second));
        if (!date || !time) {
            error =
                "\"" + std::string(text) + "\" is not now, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)";
            return std::nullopt;
        }
    }
    static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (t.year % 4 == 0 && t.year % 100 != 0) || t.year % 400 == 0;
    const bool valid = t.year >= 1980 && t.year <= 2099 && t.month >= 1 && t.month <= 12 &&
                       t.day >= 1 && t.day <= (t.month == 2 && !leap ? 28 : kDays[t.month - 1]) &&
                       t.hour <= 23 && t.minute <= 59 && t.second <= 59;
    if (!valid) {
        error = "\"" + std::string(text) + "\" is no date and time from 1980 to 2099";
        return std::nullopt;
    }
    return t;
}

PcConfig read_machine_files(const MachineFiles& f) {
    if (const std::optional<std::string> error = boot_order_error(f.boot_order))
        throw MachineFileError("--boot: " + *error);
    PcConfig config;
    if (!f.rtc_base.empty()) {
        std::string error;
        const std::optional<RtcDateTime> base = parse_rtc_base(f.rtc_base, error);
        if (!base) throw MachineFileError("--rtc-base: " + error);
        config.rtc_base = *base;
    }
    config.ram_bytes = f.memory_mib << 20;
    config.icount_shift = f.icount_shift;
    config.bios = read_input(f.bios, "BIOS", kMaxBios);
    if (!f.disk.empty()) config.disk = open_medium(f.disk, "disk");
    if (!f.cdrom.empty()) {
        config.cdrom = open_medium(f.cdrom, "CD-ROM");
        if (!AtapiCdrom::holds_a_sector(*config.cdrom))
            throw MachineFileError("CD-ROM image " + quoted(f.cdrom) + " is smaller than one " +
                                   std::to_string(AtapiCdrom::kSectorSize) + "-byte sector");
    }
    if (!f.floppy.empty()) {
        std::unique_ptr<BlockBackend> diskette = open_medium(f.floppy, "floppy");
        const uint64_t bytes = diskette->sector_count() * BlockBackend::kSectorSize;
        // A smaller image is read as the smallest format it fits in, as QEMU's -fda does.
        config.floppy = diskette_of_standard_size(std::move(diskette));
        if (!config.floppy)
            throw MachineFileError("floppy image " + quoted(f.floppy) +
                                   " is larger than a 2.88M diskette (" + std::to_string(bytes) +
                                   " bytes; formats: " + floppy_format_names() + ")");
    }
    // The drives in the order given, each as QEMU's bootindex would name it.
    for (const char device : f.boot_order) {
        if (device == 'c' && config.disk) config.boot_order.emplace_back(kDiskBootPath);
        if (device == 'a' && config.floppy) config.boot_order.emplace_back(kFloppyBootPath);
        if (device == 'd' && config.cdrom) config.boot_order.emplace_back(kCdromBootPath);
    }
    if (!f.kernel.empty()) add_kernel(f, config);
    return config;
}

} // namespace transit86::pc
