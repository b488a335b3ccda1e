// The guest-physical memory map of QEMU's i440FX "pc" machine as far as boot code sees it:
// RAM (the VGA window 0xA0000-0xBFFFF too: no VGA device, the RAM beneath as in QEMU), the BIOS
// area 0xC0000-0xFFFFF switched between RAM and ROM by the PAM registers, and the BIOS ROM at
// the top of 4 GiB.
//
// QEMU (hw/i386/pc_sysfw.c, hw/pci-host/pam.c): the BIOS image is mapped read-only just below
// 4 GiB, and its last 128 KiB ("isa-bios") below 1 MiB, at 0xE0000 for a 128 KiB image. Each
// PAM region of 0xC0000-0xFFFFF reads and writes RAM or "PCI" according to its setting; PCI
// there is the isa-bios ROM where it covers the region and nothing (all ones) elsewhere.
// SeaBIOS makes the area writable RAM, copies itself from the 4 GiB alias, and later makes it
// read-only (src/fw/shadow.c).
//
// The map is expressed as RAM slots for the CPU (transit86::RamSlot, or KVM memory regions):
// RAM, read-only RAM and ROM are slots; everything else is an MMIO exit that handle_mmio()
// completes: writes to read-only RAM or ROM are dropped, write-only regions write RAM, holes
// read all ones. RAM and the BIOS image are page-aligned in host memory, so that every slot
// can also be a KVM memory region (KVM_SET_USER_MEMORY_REGION wants userspace_addr aligned to
// the page size).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "pc/device.hpp"
#include "pc/i440fx.hpp"
#include "transit86/emulator.hpp"

namespace transit86::pc {

// Storage aligned to the host's 4 KiB page (x86-64), for guest memory that a hypervisor maps.
template <class T>
struct PageAlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t kPage{4096};
    PageAlignedAllocator() = default;
    template <class U>
    PageAlignedAllocator(const PageAlignedAllocator<U>&) noexcept {}
    T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kPage)); }
    void deallocate(T* p, size_t) noexcept { ::operator delete(p, kPage); }
    friend bool operator==(const PageAlignedAllocator&, const PageAlignedAllocator&) = default;
};
using PageAlignedBytes = std::vector<uint8_t, PageAlignedAllocator<uint8_t>>;

class PcMemoryMap final : public DmaMemory {
  public:
    static constexpr uint64_t kVgaWindowBase = 0xA0000;
    static constexpr uint64_t kBiosAreaBase = 0xC0000;
    static constexpr uint64_t kHighMemoryBase = 0x100000;
    static constexpr uint64_t kIsaBiosMax = 128 * 1024;
    static constexpr uint64_t kFourGiB = uint64_t{1} << 32;
    // transit86's PC keeps all RAM below the PCI hole (QEMU splits above 3.5 GiB).
    static constexpr uint64_t kMaxRam = uint64_t{3} << 30;

    // Throws std::invalid_argument (one line) for a RAM size under 2 MiB or over kMaxRam, or a
    // BIOS image that is empty, over 16 MiB or not a multiple of 64 KiB (QEMU's rule).
    PcMemoryMap(uint64_t ram_bytes, std::vector<uint8_t> bios);

    uint64_t ram_size() const { return ram_size_; }
    uint8_t* ram() { return ram_.get(); }
    std::span<const uint8_t> bios() const { return bios_; }

    // The current map as slots, sorted, adjacent ones of the same kind merged. Valid until the
    // next set_pam().
    std::span<const RamSlot> slots() const { return slots_; }
    // Changes with every set_pam() that changed the map: a host compares it to reload slots.
    uint64_t generation() const { return generation_; }

    void set_pam(const std::array<PamMode, I440fxHostBridge::kPamRegions>& modes);

    // True if `gpa` is in a region this map answers (the BIOS area, the ROM);
    // then the access is completed here. A write to read-only RAM or ROM is dropped; a read
    // of nothing gives all ones.
    bool handle_mmio(uint64_t gpa, uint8_t size, bool write, uint64_t& data);

    // DmaMemory: guest RAM only, bounds-checked.
    bool dma_read(uint64_t gpa, std::span<uint8_t> out) override;
    bool dma_write(uint64_t gpa, std::span<const uint8_t> in) override;
    // Counts dma_write() calls: the platform tells the CPU whether a port access wrote RAM.
    uint64_t dma_writes() const { return dma_writes_; }

  private:
    void rebuild_slots();
    // The PAM region holding `gpa` (0xC0000-0xFFFFF), or -1.
    static int pam_region_of(uint64_t gpa);
    // Host bytes of the isa-bios ROM at `gpa`, or nullptr where it does not reach.
    const uint8_t* isa_bios_at(uint64_t gpa) const;

    // Anonymous pages from the kernel: page-aligned (a hypervisor maps them as they are) and
    // zero on demand, so a guest that touches a few MiB of 128 costs a few MiB, not a 128 MiB
    // clear at start-up.
    struct Unmap {
        size_t size; // no initializer: the enclosing class is not complete here
        void operator()(uint8_t* p) const;
    };
    std::unique_ptr<uint8_t[], Unmap> ram_;
    uint64_t ram_size_ = 0;
    uint64_t dma_writes_ = 0;
    PageAlignedBytes bios_;
    std::array<PamMode, I440fxHostBridge::kPamRegions> pam_{}; // power-on: all disabled
    std::vector<RamSlot> slots_;
    uint64_t generation_ = 0;
};

} // namespace transit86::pc
