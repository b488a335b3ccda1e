// The PIIX3 IDE controller at 00:01.1: 8086:7010, class 0x010180 (IDE, programming interface
// 0x80: both channels in legacy ("compatibility") mode at 0x1F0/0x3F6 IRQ 14 and 0x170/0x376
// IRQ 15, bus mastering capable).
//
// The legacy ports are fixed, so the controller has no BAR 0-3 (they read 0); BAR 4 (BMIBA,
// 0x20) is the 16-byte I/O block of the bus-master DMA registers: bit 0 reads 1, bits 3-1
// read 0, so sizing reads back 0xFFFFFFF1. The engine behind it is pc/ide_bus_master.hpp; the
// block decodes at BMIBA while the command register's I/O space bit is set
// (on_bus_master_window_change). SeaBIOS drives ATA by PIO (its ATA_DMA option defaults to
// off); Linux's ata_piix uses DMA. IDE timing 0x40-0x43 and the rest are storage (SeaBIOS
// writes 0x8000 to 0x40 and 0x42 to enable both channels' decode).
//
// References: Intel 82371SB (PIIX3) datasheet, IDE configuration registers (BMIBA, IDETIM);
// QEMU hw/ide/piix.c (piix3_reset: command 0, status 0x0280, BMIBA 0x00000001; the BAR is
// registered with 16 bytes).
#pragma once

#include <cstdint>
#include <functional>

#include "pc/pci_bus.hpp"

namespace transit86::pc {

class Piix3Ide final : public PciFunction {
  public:
    static constexpr uint8_t kBusMasterBar = 4;
    static constexpr uint32_t kBusMasterSize = 16;

    Piix3Ide();

    // The I/O base programmed into BMIBA (bits 15-4), whether or not decoding is enabled.
    uint16_t bus_master_base() const;
    // Where the bus-master block decodes: BMIBA while the command register's I/O space bit is
    // set, else nowhere (0). Called when that changes.
    std::function<void(uint16_t base)> on_bus_master_window_change;

  private:
    void config_written(uint8_t offset, uint8_t size) override;
    uint16_t window_ = 0;
};

} // namespace transit86::pc
