// An ATAPI CD-ROM drive with a disc in it, as device 0 of the secondary legacy channel
// (0x170-0x177, 0x376, IRQ 15) — where QEMU's `-cdrom` puts it. The disc is a read-only image
// of 2048-byte sectors (an ISO 9660 file; a tail shorter than a sector is not addressable).
//
// ATA side (ATA/ATAPI-6 8): PACKET (0xA0; its data by PIO or, with features bit 0, by DMA through
// the PIIX bus master, pc/ide_bus_master.hpp), IDENTIFY PACKET DEVICE (0xA1), DEVICE RESET
// (0x08, the signature and status 00h, also while busy), EXECUTE DEVICE DIAGNOSTIC (0x90), SET
// FEATURES (0xEF, accepted), CHECK POWER MODE and the idle/standby/sleep no-ops. IDENTIFY
// DEVICE and the READ commands abort with the packet signature (14/EB) in the registers, as
// ATA-6 8.15 asks and QEMU does, which is how drivers tell a CD-ROM from a disk. IDENTIFY PACKET
// DEVICE claims multiword and Ultra DMA, as QEMU's.
//
// Packet protocol (ATA-6 9.8): after PACKET the drive asks for the 12-byte command (DRQ,
// interrupt reason CoD, no interrupt); data comes in DRQ blocks of at most the byte count limit
// the host wrote to LBA mid/high (0xFFFF counts as 0xFFFE, an odd limit is rounded down when
// the data goes on past it), each announced with the byte count in LBA mid/high, reason IO and
// an interrupt; the end is status DRDY|DSC, reason IO|CoD and an interrupt. A failed command
// ends with DRDY|ERR, the sense key in the error register's high nibble and the sense data kept
// for REQUEST SENSE.
//
// SCSI/MMC commands (SPC-2, MMC-3; QEMU hw/ide/atapi.c for what a drive answers): TEST UNIT
// READY, REQUEST SENSE, INQUIRY (standard data), START STOP UNIT (eject is logged, the disc
// stays), PREVENT ALLOW MEDIUM REMOVAL, READ CAPACITY, READ(10), READ(12), SEEK(10), READ TOC
// (formats 0 and 1, LBA or MSF), READ DISC INFORMATION (a finalized disc), MODE SENSE(10) (pages
// 01h, 2Ah, 3Fh), GET CONFIGURATION (the profile list: CD-ROM, or DVD-ROM for a disc larger than a
// CD), GET EVENT STATUS NOTIFICATION (polled; media class), MECHANISM STATUS, SET CD SPEED
// (accepted). Anything else fails with ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE and a
// logged line. Not modelled: a tray that opens, medium changes and their UNIT ATTENTION, audio,
// READ CD, writing. Linux 6.1's libata (ata_piix) and sr driver find the drive, mount the disc and
// read it back intact.
//
// References: ATA/ATAPI-6 (T13 1410D) 8.17, 8.21, 9.8, 9.12; SPC-2 (T10 1236-D) 7.3
// INQUIRY, 7.20 REQUEST SENSE; MMC-3 (T10 1363-D) 5 (READ TOC, GET CONFIGURATION, GET EVENT
// STATUS NOTIFICATION, mode page 2Ah); QEMU hw/ide/atapi.c, hw/ide/core.c.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "pc/block_backend.hpp"
#include "pc/ide_drive.hpp"

namespace transit86::pc {

class AtapiCdrom final : public IdeDrive {
  public:
    static constexpr uint32_t kSectorSize = 2048;

    AtapiCdrom(BlockBackend& disc, IrqLines& irq, DeviceLog* log = nullptr,
               IdeChannelPorts channel = kSecondaryIdeChannel);

    // Hardware reset (power-on).
    void reset();
    // Whether an image holds at least one 2048-byte sector (a smaller one is refused).
    static bool holds_a_sector(const BlockBackend& disc) {
        return disc.sector_count() >= kSectorSize / BlockBackend::kSectorSize;
    }
    // The disc's size in 2048-byte sectors.
    uint64_t capacity() const { return disc_.sector_count() / (kSectorSize / 512); }

  private:
    enum class Phase : uint8_t { Idle, CommandPacket, DataIn, DmaWait };

    Outcome run_command(uint8_t command) override;
    void block_done() override;
    void software_reset_done() override;
    Outcome packet();
    Outcome device_reset();

    void execute_packet(std::span<const uint8_t, 12> cdb);
    void reply(std::span<const uint8_t> data, uint32_t allocation_length);
    void read_sectors(uint64_t lba, uint64_t count);
    void send_next_block();
    bool fill_buffer(uint32_t size);
    void start_data();
    void bus_master_started() override;
    void run_dma();
    void complete();
    void check_condition(uint8_t sense_key, uint8_t additional_sense);
    bool read_disc(uint64_t offset, std::span<uint8_t> out);

    void request_sense(std::span<const uint8_t, 12> cdb);
    void inquiry(std::span<const uint8_t, 12> cdb);
    void read_capacity();
    void read_toc(std::span<const uint8_t, 12> cdb);
    void read_disc_information(std::span<const uint8_t, 12> cdb);
    void mode_sense(std::span<const uint8_t, 12> cdb);
    void get_configuration(std::span<const uint8_t, 12> cdb);
    void get_event_status(std::span<const uint8_t, 12> cdb);

    BlockBackend& disc_;
    Phase phase_ = Phase::Idle;
    bool dma_ = false; // the current packet's data phase is by DMA
    uint16_t byte_count_limit_ = 0;
    // What the current data-in phase still has to send: bytes of reply_ from reply_pos_, or
    // bytes of the disc from disc_offset_.
    bool from_disc_ = false;
    uint64_t disc_offset_ = 0;
    uint32_t reply_pos_ = 0;
    uint64_t remaining_ = 0;
    std::array<uint8_t, 64> reply_{};
    // Sense data of the last command (SPC-2 4.5): key, additional sense code.
    uint8_t sense_key_ = 0;
    uint8_t additional_sense_ = 0;
};

} // namespace transit86::pc
