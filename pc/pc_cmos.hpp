// pc_cmos: the bytes the PC BIOS reads from CMOS, filled the way QEMU's pc_cmos_init,
// pc_cmos_init_late and rtc_set_cpus_count (hw/i386/pc.c) fill them:
//   0x10        floppy drive types: drive A: in bits 7-4 (none: 0)
//   0x12        hard disks present on the first IDE bus (0xF0 master, 0x0F slave), with
//               type 47 at 0x19/0x1A and the geometry at 0x1B-0x23 / 0x24-0x2C
//   0x14        equipment byte: FPU (0x02), PS/2 mouse (0x04), floppy drives (bit 0 and
//               bits 7-6 = drives - 1)
//   0x15/0x16   base memory in KiB, at most 640
//   0x17/0x18   KiB above 1 MiB below 4 GiB, at most 65535 (again at 0x30/0x31)
//   0x34/0x35   64 KiB units above 16 MiB below 4 GiB (the PCI hole), at most 65535
//   0x38        third boot device (bits 7-4), bit 0 set = skip the floppy boot-sector check
//   0x39        BIOS CHS translation of the four IDE disks, two bits each
//   0x3D        first (bits 3-0) and second (bits 7-4) boot device: 1 floppy, 2 disk, 3 CD,
//               4 network
//   0x5B-0x5D   64 KiB units above 4 GiB
//   0x5F        CPU count - 1 (0 when above 255: firmware must use fw_cfg then)
// The century byte 0x32 is the clock's own (CmosRtc keeps it in BCD, as QEMU's RTC does).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "pc/cmos_rtc.hpp"

namespace transit86::pc {

struct PcCmosDisk {
    uint16_t cylinders = 0;
    uint8_t heads = 0;
    uint8_t sectors = 0;
    // QEMU's BIOS_ATA_TRANSLATION_* - 1: 0 none, 1 LBA, 2 large, 3 rechs.
    uint8_t translation = 0;
};

struct PcCmosConfig {
    uint64_t below_4g_bytes = 0;
    uint64_t above_4g_bytes = 0;
    unsigned cpus = 1;
    std::string_view boot_order = "cad"; // QEMU's default for the pc machines
    bool floppy_boot_check = true;       // QEMU's fd_bootchk
    uint8_t floppy_type = 0;             // drive A:'s CMOS type (FloppyFormat::cmos_type), 0: none
    // ide0 master, ide0 slave, ide1 master, ide1 slave.
    std::array<std::optional<PcCmosDisk>, 4> disks{};
};

// False (and nothing written for the boot order) if `boot_order` has more than three devices
// or a letter other than a, b, c, d, n — QEMU refuses to start then.
bool fill_pc_cmos(CmosRtc& rtc, const PcCmosConfig& config);

} // namespace transit86::pc
