// PortAccess::guest_memory_untouched as PcPlatform sets it: the emulator compares translated
// code with guest memory again after a port access unless the platform says the access wrote
// none. Of the PC's devices only fw_cfg's DMA interface writes guest RAM (docs/specs/fw_cfg.rst,
// "DMA interface": the write of the address's low half, port 0x518, runs the transfer).
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "pc/fw_cfg.hpp"
#include "pc/platform.hpp"

namespace transit86::pc {
namespace {

PcConfig two_mib_pc() {
    PcConfig c;
    c.ram_bytes = 2u << 20;
    c.bios.assign(64 * 1024, 0xF4);
    return c;
}

PortAccess access(PcPlatform& platform, uint16_t port, uint8_t size, bool is_in, uint32_t data) {
    PortAccess a{.port = port, .size = size, .is_in = is_in, .data = data};
    platform.access(a);
    return a;
}

uint32_t be32(uint32_t v) {
    return __builtin_bswap32(v);
}

TEST(PortAccessMemory, RegisterAccessesLeaveGuestMemoryUntouched) {
    PcPlatform platform(two_mib_pc());
    EXPECT_TRUE(access(platform, 0x70, 1, false, 0x0F).guest_memory_untouched); // CMOS index
    EXPECT_TRUE(access(platform, 0x71, 1, true, 0).guest_memory_untouched);
    EXPECT_TRUE(access(platform, FwCfg::kSelectorPort, 2, false, 0).guest_memory_untouched);
    EXPECT_TRUE(access(platform, FwCfg::kDataPort, 1, true, 0).guest_memory_untouched);
    EXPECT_TRUE(access(platform, 0x1F7, 1, true, 0).guest_memory_untouched); // ATA status
    EXPECT_TRUE(access(platform, 0x3F8, 1, false, 'x').guest_memory_untouched);
    EXPECT_TRUE(access(platform, 0x1234, 4, true, 0).guest_memory_untouched); // no device
}

TEST(PortAccessMemory, FwCfgDmaTransferWritesGuestMemory) {
    PcPlatform platform(two_mib_pc());
    // Descriptor at 0x1000 (big-endian control, length, address): select the signature and
    // read 4 bytes of it to 0x2000.
    std::array<uint8_t, 16> descriptor{};
    const uint32_t control = be32(FwCfg::kDmaSelect | FwCfg::kDmaRead);
    const uint32_t length = be32(4);
    const uint32_t address_low = be32(0x2000);
    std::memcpy(&descriptor[0], &control, 4);
    std::memcpy(&descriptor[4], &length, 4);
    std::memcpy(&descriptor[12], &address_low, 4);
    ASSERT_TRUE(platform.memory().dma_write(0x1000, descriptor));
    EXPECT_TRUE(access(platform, FwCfg::kDmaAddressPort, 4, false, 0).guest_memory_untouched);
    EXPECT_FALSE(
        access(platform, FwCfg::kDmaAddressLowPort, 4, false, be32(0x1000)).guest_memory_untouched);
    std::array<uint8_t, 4> read{};
    ASSERT_TRUE(platform.memory().dma_read(0x2000, read));
    EXPECT_EQ(std::string(read.begin(), read.end()), "QEMU");
}

} // namespace
} // namespace transit86::pc
