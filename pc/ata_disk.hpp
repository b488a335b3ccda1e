// An ATA hard disk as device 0 of the primary legacy channel: command block 0x1F0-0x1F7,
// device control / alternate status at 0x3F6, INTRQ on IRQ 14. Device 1 is absent.
//
// Modelled: IDENTIFY DEVICE; READ/WRITE SECTORS (0x20/0x21, 0x30/0x31, EXT 0x24 /
// 0x34); READ/WRITE MULTIPLE (0xC4/0xC5, EXT 0x29/0x39) with SET MULTIPLE MODE (0xC6, 1-16 in
// powers of two, 16 at reset as in QEMU); READ VERIFY (0x40/0x41, EXT 0x42); INITIALIZE DEVICE
// PARAMETERS (0x91: the current CHS translation); SET FEATURES (0xEF: write cache, PIO transfer
// modes, the no-op subcommands QEMU accepts); RECALIBRATE (0x10), SEEK (0x70); EXECUTE DEVICE
// DIAGNOSTIC (0x90); FLUSH CACHE (0xE7/0xEA); READ NATIVE MAX ADDRESS (0xF8/0x27); CHECK POWER
// MODE and the idle/standby/sleep commands (no-ops); READ/WRITE DMA (0xC8/0xC9, 0xCA/0xCB, EXT
// 0x25/0x35) through the PIIX bus master (pc/ide_bus_master.hpp). IDENTIFY PACKET DEVICE
// (0xA1), SMART and everything else abort (ABRT). LBA28, LBA48 and CHS
// addressing; 16- and 32-bit data port transfers; status (BSY, DRDY, DSC, DRQ, ERR), alternate
// status, error, the HOB bit of device control for the 48-bit registers, nIEN and SRST (the
// signature 01/01/00/00 after a reset).
//
// As QEMU's hw/ide/core.c: the data for a read block is ready with DRQ and INTRQ when the
// command (or the previous block) completes; a write block is written when its last word
// arrives; a transfer that would touch a sector past the end of the image fails with ABRT
// before any byte moves (ide_sect_range_ok). The registers, the data port and the reset are
// the channel's (pc/ide_drive.hpp). Differences from QEMU (INTRQ follows nIEN, no interrupt
// after SRST, INITIALIZE DEVICE PARAMETERS honoured) are listed in pc/README.md.
//
// References: ATA/ATAPI-6 (T13 1410D): 6.2 (CHS translation), 7 (registers), 8 (commands),
// 9 (protocols: PIO data-in, PIO data-out, non-data, software reset); QEMU hw/ide/core.c.
#pragma once

#include <array>
#include <cstdint>

#include "pc/ata_identify.hpp"
#include "pc/block_backend.hpp"
#include "pc/ide_drive.hpp"

namespace transit86::pc {

class AtaDisk final : public IdeDrive {
  public:
    static constexpr uint16_t kCommandBlock = kPrimaryIdeChannel.command_block;
    static constexpr uint16_t kDeviceControl = kPrimaryIdeChannel.device_control;
    static constexpr unsigned kIrq = kPrimaryIdeChannel.irq;

    struct Geometry {
        uint16_t cylinders;
        uint16_t heads;
        uint16_t sectors_per_track;
    };
    // QEMU's guess without a partition table (hw/block/hd-geometry.c, guess_chs_for_size):
    // 16 heads, 63 sectors, the cylinders that fit, clamped to 2-16383.
    static Geometry default_geometry(uint64_t sectors);

    AtaDisk(BlockBackend& image, IrqLines& irq, DeviceLog* log = nullptr);
    AtaDisk(BlockBackend& image, Geometry geometry, IrqLines& irq, DeviceLog* log = nullptr);

    // Hardware reset (power-on): registers, translation and features to their defaults.
    void reset();

  private:
    enum class AfterBlock : uint8_t { Stop, ReadNext, WriteBlock };

    Outcome run_command(uint8_t command) override;
    void block_done() override;
    void software_reset_done() override;
    bool prepare_pio(bool lba48, bool multiple);
    Outcome read_command(bool lba48, bool multiple);
    Outcome write_command(bool lba48, bool multiple);
    Outcome dma_command(uint8_t command, bool lba48, bool to_memory);
    void bus_master_started() override;
    void run_dma();
    void identify_device();
    void execute_device_diagnostic();
    void read_native_max_address(bool lba48);
    void set_features();
    void set_multiple_mode();
    void initialize_device_parameters();
    void verify(bool lba48);
    void set_whole_count(bool lba48);
    bool address(uint64_t& lba) const;
    void set_address(uint64_t lba);
    bool range_ok(uint64_t lba, uint64_t count) const;

    void read_block();
    void write_block();
    void begin_block(Transfer direction, uint32_t bytes, AfterBlock after);
    AtaIdentity identity() const;

    BlockBackend& image_;
    const Geometry default_geometry_;
    bool lba48_ = false;
    uint8_t multiple_sectors_ = kAtaMaxMultipleSectors;
    uint32_t block_sectors_ = 1; // sectors per DRQ block of the current command
    Geometry current_{};
    AtaIdentity features_{}; // write cache and transfer mode words
    AfterBlock after_block_ = AfterBlock::Stop;
    enum class DmaPending : uint8_t { None, ToMemory, FromMemory };
    DmaPending dma_pending_ = DmaPending::None; // a DMA command waits for the start bit
};

} // namespace transit86::pc
