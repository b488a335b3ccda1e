#include "pc/memory_map.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace transit86::pc {

namespace {

bool same_kind_and_adjacent(const RamSlot& a, const RamSlot& b) {
    return a.read_only == b.read_only && a.guest_phys + a.size == b.guest_phys &&
           a.host + a.size == b.host;
}

} // namespace

PcMemoryMap::PcMemoryMap(uint64_t ram_bytes, std::vector<uint8_t> bios) : bios_(bios.size()) {
    // One memcpy: a range constructor with another allocator copies byte by byte.
    if (!bios.empty()) std::memcpy(bios_.data(), bios.data(), bios.size());
    if (ram_bytes < (uint64_t{2} << 20) || ram_bytes > kMaxRam)
        throw std::invalid_argument("memory size must be between 2 MiB and 3072 MiB");
    if (bios_.empty() || bios_.size() > (16u << 20) || bios_.size() % 0x10000 != 0)
        throw std::invalid_argument(
            "a BIOS image must be a non-empty multiple of 64 KiB, at most 16 MiB (this one is " +
            std::to_string(bios_.size()) + " bytes)");
    void* pages =
        mmap(nullptr, ram_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    // A hint: the 2 MiB ranges a guest touches are filled at once (a GRUB boot took ~490
    // page faults fewer, each ~10 us in this VM); ranges it never touches still cost nothing.
    madvise(pages, ram_bytes, MADV_HUGEPAGE);
#endif
    ram_ = std::unique_ptr<uint8_t[], Unmap>(static_cast<uint8_t*>(pages), Unmap{ram_bytes});
    ram_size_ = ram_bytes;
    rebuild_slots();
}

void PcMemoryMap::Unmap::operator()(uint8_t* p) const {
    if (p) munmap(p, size);
}

int PcMemoryMap::pam_region_of(uint64_t gpa) {
    if (gpa < kBiosAreaBase || gpa >= kHighMemoryBase) return -1;
    if (gpa >= 0xF0000) return 0;
    return 1 + static_cast<int>((gpa - kBiosAreaBase) / 0x4000);
}

const uint8_t* PcMemoryMap::isa_bios_at(uint64_t gpa) const {
    const uint64_t isa_size = std::min<uint64_t>(bios_.size(), kIsaBiosMax);
    const uint64_t isa_base = kHighMemoryBase - isa_size;
    if (gpa < isa_base || gpa >= kHighMemoryBase) return nullptr;
    return bios_.data() + (bios_.size() - isa_size) + (gpa - isa_base);
}

void PcMemoryMap::set_pam(const std::array<PamMode, I440fxHostBridge::kPamRegions>& modes) {
    if (modes == pam_) return;
    pam_ = modes;
    rebuild_slots();
}

void PcMemoryMap::rebuild_slots() {
    std::vector<RamSlot> slots;
    const auto add = [&](uint64_t base, uint64_t size, uint8_t* host, bool read_only) {
        if (size == 0) return;
        const RamSlot slot{.guest_phys = base, .size = size, .host = host, .read_only = read_only};
        if (!slots.empty() && same_kind_and_adjacent(slots.back(), slot))
            slots.back().size += size;
        else
            slots.push_back(slot);
    };
    // RAM to 0xC0000: the VGA window 0xA0000-0xBFFFF has no device (QEMU's -nodefaults), and
    // QEMU's empty PCI window there lets the RAM beneath show through (qemu-system-i386 7.2:
    // B800:0000 reads back what was written). Linux's vgacon probes it so, and takes the CGA
    // text console that QEMU's boot log shows.
    add(0, kBiosAreaBase, ram_.get(), false);
    // The BIOS area in 16 KiB steps, each from its PAM region's setting.
    for (uint64_t gpa = kBiosAreaBase; gpa < kHighMemoryBase; gpa += 0x4000) {
        const PamMode mode = pam_[static_cast<size_t>(pam_region_of(gpa))];
        if (mode == PamMode::read_write || mode == PamMode::read_only) {
            add(gpa, 0x4000, ram_.get() + gpa, mode == PamMode::read_only);
        } else if (const uint8_t* rom = isa_bios_at(gpa)) {
            // Reads come from the ROM ("PCI"); writes exit and are dropped or go to RAM.
            add(gpa, 0x4000, const_cast<uint8_t*>(rom), true);
        }
    }
    add(kHighMemoryBase, ram_size_ - kHighMemoryBase, ram_.get() + kHighMemoryBase, false);
    add(kFourGiB - bios_.size(), bios_.size(), bios_.data(), true);
    slots_ = std::move(slots);
    ++generation_;
}

bool PcMemoryMap::handle_mmio(uint64_t gpa, uint8_t size, bool write, uint64_t& data) {
    if (gpa >= kFourGiB - bios_.size() && gpa < kFourGiB) { // the ROM: writes dropped
        if (!write) data = 0;
        return true;
    }
    if (gpa < kBiosAreaBase || gpa >= kHighMemoryBase) return false;
    // Accesses that straddle two regions are completed byte by byte; the bytes of one that runs
    // past 0xFFFFF are RAM above 1 MiB (RAM is at least 2 MiB).
    uint64_t value = 0;
    for (uint8_t i = 0; i < size; ++i) {
        const uint64_t at = gpa + i;
        const int at_region = pam_region_of(at);
        const PamMode mode =
            at_region < 0 ? PamMode::read_write : pam_[static_cast<size_t>(at_region)];
        const bool ram_reads = mode == PamMode::read_write || mode == PamMode::read_only;
        const bool ram_writes = mode == PamMode::read_write || mode == PamMode::write_only;
        if (write) {
            if (ram_writes) ram_[at] = static_cast<uint8_t>(data >> (8 * i));
        } else {
            const uint8_t* rom = isa_bios_at(at);
            const uint8_t byte = ram_reads ? ram_[at] : rom ? *rom : 0xFF;
            value |= uint64_t{byte} << (8 * i);
        }
    }
    if (!write) data = value;
    return true;
}

bool PcMemoryMap::dma_read(uint64_t gpa, std::span<uint8_t> out) {
    if (gpa > ram_size_ || out.size() > ram_size_ - gpa) return false;
    std::memcpy(out.data(), ram_.get() + gpa, out.size());
    return true;
}

bool PcMemoryMap::dma_write(uint64_t gpa, std::span<const uint8_t> in) {
    ++dma_writes_;
    if (gpa > ram_size_ || in.size() > ram_size_ - gpa) return false;
    std::memcpy(ram_.get() + gpa, in.data(), in.size());
    return true;
}

} // namespace transit86::pc
