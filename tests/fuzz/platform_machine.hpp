// The machine under fuzz_platform (fuzz_platform.cpp): the PC platform of a script header's
// configuration with its disk, kept per configuration for the whole process and put back to
// power-on after each input, and fingerprints of its RAM and disk for the determinism checks.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "pc/platform.hpp"
#include "platform_script.hpp"

namespace transit86::fuzz {

using pc::BlockBackend;
using pc::FwCfgLinuxBoot;
using pc::make_memory_image;
using pc::PcConfig;
using pc::PcPlatform;

constexpr uint64_t kRamBytes = 2ull << 20;
constexpr size_t kPage = 4096;

inline void check(bool condition) {
    if (!condition) __builtin_trap();
}

inline uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDull;
}

inline uint64_t mix_bytes(uint64_t h, const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t word = 0;
        std::memcpy(&word, p + i, std::min<size_t>(8, n - i));
        h = mix(h, word);
    }
    return h;
}

// A disk too large to hold (LBA48 sizes, over 1024 cylinders): sector n reads n in its first
// 8 bytes until written.
class SyntheticDisk final : public BlockBackend {
  public:
    explicit SyntheticDisk(uint64_t sectors) : sectors_(sectors) {}
    uint64_t sector_count() const override { return sectors_; }
    bool read_sectors(uint64_t first, std::span<uint8_t> out) override {
        if (!in_range(first, out.size())) return false;
        for (size_t i = 0; i < out.size() / kSectorSize; ++i) {
            std::span<uint8_t> sector = out.subspan(i * kSectorSize, kSectorSize);
            auto written = written_.find(first + i);
            if (written != written_.end())
                std::copy(written->second.begin(), written->second.end(), sector.begin());
            else
                pattern(first + i, sector);
        }
        return true;
    }
    // A sector written back to its pattern (the journal undoing a write) is forgotten, so that
    // the map is empty again after each input: libFuzzer runs a leak check whenever an input
    // ends with more blocks allocated than it started with.
    bool write_sectors(uint64_t first, std::span<const uint8_t> in) override {
        if (!in_range(first, in.size())) return false;
        std::array<uint8_t, kSectorSize> original;
        for (size_t i = 0; i < in.size() / kSectorSize; ++i) {
            auto bytes = in.subspan(i * kSectorSize, kSectorSize);
            pattern(first + i, original);
            if (std::equal(bytes.begin(), bytes.end(), original.begin()))
                written_.erase(first + i);
            else
                written_[first + i].assign(bytes.begin(), bytes.end());
        }
        return true;
    }

  private:
    static void pattern(uint64_t sector, std::span<uint8_t> out) {
        std::fill(out.begin(), out.end(), 0);
        std::memcpy(out.data(), &sector, sizeof sector);
    }
    uint64_t sectors_;
    std::map<uint64_t, std::vector<uint8_t>> written_;
};

// The medium between the ATA disk (through the platform's journal) and the image: keeps the
// numbers of the sectors written, for the disk's fingerprint.
class TrackedDisk final : public BlockBackend {
  public:
    explicit TrackedDisk(std::unique_ptr<BlockBackend> medium) : medium_(std::move(medium)) {}
    uint64_t sector_count() const override { return medium_->sector_count(); }
    bool read_sectors(uint64_t first, std::span<uint8_t> out) override {
        return medium_->read_sectors(first, out);
    }
    bool write_sectors(uint64_t first, std::span<const uint8_t> in) override {
        const bool ok = medium_->write_sectors(first, in);
        if (ok)
            for (uint64_t s = first; s < first + in.size() / kSectorSize; ++s)
                written_.insert(s);
        return ok;
    }
    void forget_writes() { written_.clear(); }
    uint64_t fingerprint() {
        uint64_t h = 0;
        std::vector<uint8_t> sector(kSectorSize);
        for (uint64_t s : written_) {
            check(medium_->read_sectors(s, sector));
            h = mix_bytes(mix(h, s), sector.data(), sector.size());
        }
        return h;
    }

  private:
    std::unique_ptr<BlockBackend> medium_;
    std::set<uint64_t> written_;
};

// Small enough for the allocator's cached size classes (a fresh mapping faults page by page).
constexpr std::array<uint64_t, 8> kMemoryDiskSectors = {1, 2, 3, 17, 63, 64, 65, 127};
constexpr std::array<uint64_t, 8> kSyntheticDiskSectors = {
    1ull << 20,        (1ull << 28) - 1,      1ull << 28,       (1ull << 28) + 1,
    16ull * 63 * 1024, 16ull * 63 * 1025 + 7, (1ull << 32) + 3, (1ull << 48) - 1};

inline const std::vector<uint8_t>& bios_image() {
    static const std::vector<uint8_t> bios = [] {
        std::vector<uint8_t> b(0x10000);
        for (size_t i = 0; i < b.size(); ++i)
            b[i] = static_cast<uint8_t>(i * 7 + (i >> 8));
        return b;
    }();
    return bios;
}

// Guest RAM as a fingerprint and as a copy to put back: every page the guest has touched
// (the RAM is anonymous memory; untouched pages are not resident and read zero) that is not
// all zero.
class RamPages {
  public:
    explicit RamPages(PcPlatform& platform)
        : ram_(platform.memory().ram()), pages_(platform.memory().ram_size() / kPage) {}

    uint64_t fingerprint() const {
        uint64_t h = 0;
        for_each_page(
            [&](size_t page, const uint8_t* bytes) { h = mix_bytes(mix(h, page), bytes, kPage); });
        return h;
    }
    // The touched pages, to restore() later.
    std::vector<std::pair<size_t, std::vector<uint8_t>>> copy() const {
        std::vector<std::pair<size_t, std::vector<uint8_t>>> out;
        for_each_page([&](size_t page, const uint8_t* bytes) {
            out.emplace_back(page, std::vector<uint8_t>(bytes, bytes + kPage));
        });
        return out;
    }
    // Zero again, by giving the pages back: the next input faults in only those it touches,
    // so every scan above (mincore, then a compare per resident page) stays as small as the
    // input. Zeroing them in place kept every page any input ever touched resident, and the
    // scans then read all 2 MiB several times per input.
    void clear() { check(madvise(ram_, pages_ * kPage, MADV_DONTNEED) == 0); }
    void restore(const std::vector<std::pair<size_t, std::vector<uint8_t>>>& saved) {
        for_each_page(
            [&](size_t page, const uint8_t*) { std::memset(ram_ + page * kPage, 0, kPage); });
        for (const auto& [page, bytes] : saved)
            std::memcpy(ram_ + page * kPage, bytes.data(), kPage);
    }

  private:
    template <class F>
    void for_each_page(F&& f) const {
        std::vector<unsigned char> resident(pages_);
        check(mincore(ram_, pages_ * kPage, resident.data()) == 0);
        for (size_t page = 0; page < pages_; ++page) {
            if (!(resident[page] & 1)) continue;
            const uint8_t* bytes = ram_ + page * kPage;
            static constexpr std::array<uint8_t, kPage> kZeros{};
            if (std::memcmp(bytes, kZeros.data(), kPage) != 0) f(page, bytes);
        }
    }
    uint8_t* ram_;
    size_t pages_;
};

struct Machine {
    PcPlatform* platform = nullptr;
    TrackedDisk* disk = nullptr;
};

// The platform of a header's configuration, constructed into `storage`.
inline Machine make_machine(std::optional<PcPlatform>& storage, uint8_t disk, uint8_t flags) {
    PcConfig config;
    config.ram_bytes = kRamBytes;
    config.bios = bios_image();
    Machine m;
    if (!(disk & 0x10)) {
        std::unique_ptr<BlockBackend> medium;
        if (disk & 0x08) {
            medium = std::make_unique<SyntheticDisk>(kSyntheticDiskSectors[disk & 7]);
        } else {
            std::vector<uint8_t> bytes(kMemoryDiskSectors[disk & 7] * BlockBackend::kSectorSize);
            for (size_t s = 0; s < bytes.size() / BlockBackend::kSectorSize; ++s)
                bytes[s * BlockBackend::kSectorSize] = static_cast<uint8_t>(s + 1);
            medium = make_memory_image(std::move(bytes)).backend;
            check(medium != nullptr);
        }
        auto tracked = std::make_unique<TrackedDisk>(std::move(medium));
        m.disk = tracked.get();
        config.disk = std::move(tracked);
    }
    if (disk & 0x20) { // a disc of three CD sectors and a partial one (not addressable)
        std::vector<uint8_t> bytes(3 * 2048 + 512);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i * 13 + (i >> 11));
        config.cdrom = make_memory_image(std::move(bytes)).backend;
        check(config.cdrom != nullptr);
    }
    if (disk & 0x40) { // a 1.44M diskette, each sector numbered
        std::vector<uint8_t> bytes(2880 * BlockBackend::kSectorSize);
        for (size_t s = 0; s < 2880; ++s)
            bytes[s * BlockBackend::kSectorSize] = static_cast<uint8_t>(s * 5 + 1);
        config.floppy = make_memory_image(std::move(bytes)).backend;
        check(config.floppy != nullptr);
    }
    if (flags & kLinuxBootItems) {
        config.linux_boot = FwCfgLinuxBoot{.setup_addr = 0x10000,
                                           .setup = std::vector<uint8_t>(1024, 0x5A),
                                           .kernel_addr = 0x100000,
                                           .kernel = std::vector<uint8_t>(4096, 0xC3),
                                           .initrd_addr = 0x1F0000,
                                           .initrd = std::vector<uint8_t>(700, 0x17),
                                           .cmdline_addr = 0x20000,
                                           .cmdline = "console=ttyS0"};
    }
    if (flags & kBootFiles) {
        config.boot_order = {"/pci@i0cf8/ide@1,1/drive@0/disk@0", "HALT"};
        config.option_roms = {{"linuxboot_dma.bin", std::vector<uint8_t>(512, 0x55)}};
    }
    m.platform = &storage.emplace(std::move(config));
    m.platform->set_exit_on_serial(flags & kExitOnSerial);
    return m;
}

// One platform per configuration (disk, fw_cfg items) for the whole process, with its
// power-on snapshot.
struct CachedMachine {
    std::optional<PcPlatform> storage;
    Machine machine;
    std::optional<PcPlatform::Snapshot> power_on;
};

inline CachedMachine& cached_machine(uint8_t disk, uint8_t flags) {
    static std::map<unsigned, std::unique_ptr<CachedMachine>> cache;
    const unsigned key = (disk & 0x7Fu) << 8 | (flags & (kLinuxBootItems | kBootFiles));
    std::unique_ptr<CachedMachine>& cached = cache[key];
    if (!cached) {
        cached = std::make_unique<CachedMachine>();
        cached->machine = make_machine(cached->storage, disk, flags);
        cached->machine.platform->journal_disk_writes();
        cached->power_on.emplace(cached->machine.platform->save());
    }
    cached->machine.platform->set_exit_on_serial(flags & kExitOnSerial);
    return *cached;
}

// Puts a cached platform back to power-on, at the end of each input: then the input ends with
// as many heap blocks as it started with (the devices' queues, the log, the probed ports); an
// input that ends with more is run again by libFuzzer to look for a leak.
inline void power_off(CachedMachine& cached) {
    PcPlatform& p = *cached.machine.platform;
    p.on_a20 = nullptr; // the driver is going
    p.time_source = nullptr;
    p.restore(*cached.power_on);
    // The output buffers' storage too (restore keeps a string's capacity).
    p.take_serial();
    p.take_debugcon();
    p.take_log();
    RamPages(p).clear();
    if (cached.machine.disk) cached.machine.disk->forget_writes();
}

} // namespace transit86::fuzz
