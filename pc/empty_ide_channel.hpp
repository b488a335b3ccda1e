// An IDE channel with no drive on it, as QEMU's PIIX3 IDE presents the secondary channel
// (0x170-0x177, 0x376) without a CD-ROM and the primary one without a disk: every register reads 0
// and writes go nowhere. QEMU hw/ide/core.c: ide_ioport_read() and ide_status_read() return 0 for
// the status, error and task-file registers when neither device of the bus has a drive;
// ide_data_readw() returns 0 without DRQ; a command for a missing drive is ignored.
//
// So firmware that polls BSY finds the channel idle at once, and its probe (write the sector
// count and number registers, read them back) finds no device. A channel nothing decodes would
// float at 0xFF instead, which U-Boot takes for a drive that stays busy (60 s of waiting).
#pragma once

#include <cstdint>

#include "pc/device.hpp"

namespace transit86::pc {

class EmptyIdeChannel final : public IoDevice {
  public:
    uint32_t io_read(uint16_t, uint8_t) override { return 0; }
    void io_write(uint16_t, uint8_t, uint32_t) override {}
};

} // namespace transit86::pc
