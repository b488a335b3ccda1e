#include "pc/pc_cmos.hpp"

#include <algorithm>

namespace transit86::pc {

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

void set_le16(CmosRtc& rtc, uint8_t index, uint64_t value) {
    rtc.set_cmos(index, static_cast<uint8_t>(value));
    rtc.set_cmos(static_cast<uint8_t>(index + 1), static_cast<uint8_t>(value >> 8));
}

// QEMU's boot_device2nibble.
uint8_t boot_nibble(char device) {
    switch (device) {
    case 'a':
    case 'b': return 0x01; // floppy
    case 'c': return 0x02; // hard disk
    case 'd': return 0x03; // CD-ROM
    case 'n': return 0x04; // network
    default: return 0;
    }
}

// cmos_init_hd: type 47 (user-defined), then the geometry block.
void set_disk(CmosRtc& rtc, uint8_t type_index, uint8_t info, const PcCmosDisk& disk) {
    rtc.set_cmos(type_index, 47);
    set_le16(rtc, info, disk.cylinders);
    rtc.set_cmos(static_cast<uint8_t>(info + 2), disk.heads);
    rtc.set_cmos(static_cast<uint8_t>(info + 3), 0xFF); // write precompensation: none
    rtc.set_cmos(static_cast<uint8_t>(info + 4), 0xFF);
    rtc.set_cmos(static_cast<uint8_t>(info + 5),
                 static_cast<uint8_t>(0xC0 | (disk.heads > 8 ? 0x08 : 0)));
    set_le16(rtc, static_cast<uint8_t>(info + 6), disk.cylinders); // landing zone
    rtc.set_cmos(static_cast<uint8_t>(info + 8), disk.sectors);
}

} // namespace

bool fill_pc_cmos(CmosRtc& rtc, const PcCmosConfig& c) {
    set_le16(rtc, 0x15, std::min<uint64_t>(c.below_4g_bytes / kKiB, 640));
    const uint64_t extended = c.below_4g_bytes > kMiB ? (c.below_4g_bytes - kMiB) / kKiB : 0;
    set_le16(rtc, 0x17, std::min<uint64_t>(extended, 65535));
    set_le16(rtc, 0x30, std::min<uint64_t>(extended, 65535));
    const uint64_t above_16m =
        c.below_4g_bytes > 16 * kMiB ? (c.below_4g_bytes - 16 * kMiB) / (64 * kKiB) : 0;
    set_le16(rtc, 0x34, std::min<uint64_t>(above_16m, 65535));
    const uint64_t above_4g = c.above_4g_bytes / (64 * kKiB);
    set_le16(rtc, 0x5B, above_4g);
    rtc.set_cmos(0x5D, static_cast<uint8_t>(above_4g >> 16));
    rtc.set_cmos(0x5F, static_cast<uint8_t>(c.cpus > 255 ? 0 : c.cpus - 1));

    // FPU, PS/2 mouse and, as QEMU's pc_cmos_init_floppy, one floppy drive when there is one.
    rtc.set_cmos(0x14, static_cast<uint8_t>(0x02 | 0x04 | (c.floppy_type ? 0x01 : 0x00)));
    rtc.set_cmos(0x10, static_cast<uint8_t>(c.floppy_type << 4));

    uint8_t first_bus = 0;
    if (c.disks[0]) {
        set_disk(rtc, 0x19, 0x1B, *c.disks[0]);
        first_bus |= 0xF0;
    }
    if (c.disks[1]) {
        set_disk(rtc, 0x1A, 0x24, *c.disks[1]);
        first_bus |= 0x0F;
    }
    rtc.set_cmos(0x12, first_bus);
    uint8_t translation = 0;
    for (unsigned i = 0; i < c.disks.size(); ++i)
        if (c.disks[i])
            translation |= static_cast<uint8_t>((c.disks[i]->translation & 3) << (2 * i));
    rtc.set_cmos(0x39, translation);

    if (c.boot_order.size() > 3) return false;
    std::array<uint8_t, 3> devices{};
    for (size_t i = 0; i < c.boot_order.size(); ++i)
        if ((devices[i] = boot_nibble(c.boot_order[i])) == 0) return false;
    rtc.set_cmos(0x3D, static_cast<uint8_t>(devices[1] << 4 | devices[0]));
    rtc.set_cmos(0x38, static_cast<uint8_t>(devices[2] << 4 | (c.floppy_boot_check ? 0 : 1)));
    return true;
}

} // namespace transit86::pc
