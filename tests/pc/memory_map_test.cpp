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

// The VGA hole has no device (-vga none): a read gives all ones of the access's width, as the
// platform's other unassigned addresses do (fuzz_platform found 64 one bits for a byte).
TEST(PcMemoryMap, VgaHoleReadsAllOnesOfTheAccessWidth) {
    PcMemoryMap map(2u << 20, bios_of(0));
    for (const auto& [size, expected] :
         {std::pair<uint8_t, uint64_t>{1, 0xFF}, {2, 0xFFFF}, {4, 0xFFFFFFFF}, {8, ~0ull}}) {
        uint64_t data = 0;
        ASSERT_TRUE(map.handle_mmio(0xA0000, size, false, data));
        EXPECT_EQ(data, expected) << "size " << int(size);
    }
}

} // namespace
} // namespace transit86::pc
