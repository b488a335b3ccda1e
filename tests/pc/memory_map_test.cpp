// PcMemoryMap's MMIO completion (the accesses the CPU cannot do through a slot): QEMU's pc
// memory map (hw/i386/pc_sysfw.c, hw/pci-host/pam.c) with QEMU's rule for an access that
// spans two memory regions: each part goes to its own region (softmmu/memory.c splits it).
#include <gtest/gtest.h>

#include <vector>

#include "pc/memory_map.hpp"

namespace transit86::pc {
namespace {

std::vector<uint8_t> bios_of(uint8_t fill) {
    return std::vector<uint8_t>(0x10000, fill);
}

// An 8-byte access at 0xFFFFC with the BIOS area at power-on (PAM disabled: the ROM) covers
// four ROM bytes and the first four bytes of RAM above 1 MiB (the byte past 0xFFFFF used to
// index the PAM table with region -1; seen while fixing the next test's finding).
TEST(PcMemoryMap, AccessRunningPastTheBiosAreaReachesRamAboveOneMiB) {
    PcMemoryMap map(2u << 20, bios_of(0xAB));
    uint64_t data = 0x1122334455667788;
    ASSERT_TRUE(map.handle_mmio(0xFFFFC, 8, true, data));
    EXPECT_EQ(map.ram()[0x100000], 0x44); // the ROM part is dropped, the RAM part written
    EXPECT_EQ(map.ram()[0x100003], 0x11);
    EXPECT_EQ(map.ram()[0xFFFFF], 0x00);
    data = 0;
    ASSERT_TRUE(map.handle_mmio(0xFFFFC, 8, false, data));
    EXPECT_EQ(data, 0x11223344ABABABABu); // ROM bytes below 1 MiB, RAM above
}

// The VGA window has no device (-nodefaults): QEMU's empty PCI window lets the RAM beneath show
// through, so 0xA0000-0xBFFFF is RAM, one slot with the RAM below it (qemu-system-i386 7.2
// reads B800:0000 back as written; Linux's vgacon probes it there).
TEST(PcMemoryMap, VgaWindowWithoutAVgaDeviceIsRam) {
    PcMemoryMap map(2u << 20, bios_of(0));
    ASSERT_FALSE(map.slots().empty());
    EXPECT_EQ(map.slots()[0].guest_phys, 0u);
    EXPECT_EQ(map.slots()[0].size, PcMemoryMap::kBiosAreaBase);
    EXPECT_FALSE(map.slots()[0].read_only);
    EXPECT_EQ(map.slots()[0].host + PcMemoryMap::kVgaWindowBase,
              map.ram() + PcMemoryMap::kVgaWindowBase);
    uint64_t data = 0;
    EXPECT_FALSE(map.handle_mmio(0xB8000, 2, false, data)); // a slot, not MMIO
}

} // namespace
} // namespace transit86::pc
