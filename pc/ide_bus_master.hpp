// The PIIX3's bus-master IDE function (SFF-8038i): the 16-byte I/O block at BMIBA (BAR 4 of
// 00:01.1) with, for each channel (primary at +0, secondary at +8), a command register (+0:
// bit 0 start/stop, bit 3 direction: set = the bus master writes memory), a status register
// (+2: bit 0 active, read only; bit 1 error and bit 2 interrupt, write 1 to clear; bits 5-6
// drive 0/1 DMA capable, storage) and the physical address of the PRD table (+4, dword
// aligned). A PRD entry is 8 bytes: a buffer's physical address (bit 0 zero), its byte count
// (bits 15-0, 0 meaning 64 KiB, bit 0 zero) and, in bit 31 of the second dword, end of table.
//
// A drive with a DMA command pending (pc/ata_disk.hpp) moves its data when the start bit is set
// (or at its command, when the start bit already is): all at once, through transfer(), which
// walks the PRD table from where the command's previous block stopped. Every guest access is
// bounds-checked by DmaMemory; a table that ends before the data does, or an address outside
// RAM, stops the transfer with the error bit (the drive then fails the command). At the end of
// the command the engine sets the interrupt bit and clears active, as QEMU's bmdma does
// (ide_set_inactive), and the drive raises its INTRQ.
//
// References: SFF-8038i rev 1.0 (Bus Master Programming Interface for IDE ATA Controllers);
// Intel 82371SB (PIIX3) datasheet, 2.7 (BMICX, BMISX, BMIDTPX); QEMU hw/ide/pci.c
// (bmdma_cmd_writeb, bmdma_prepare_buf, bmdma_rw_buf), hw/ide/core.c (ide_dma_cb,
// ide_set_inactive).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "pc/device.hpp"

namespace transit86::pc {

class IdeBusMaster;

// What the engine asks of a drive on one of its channels.
class BusMasterDrive {
  public:
    virtual ~BusMasterDrive() = default;
    // The start bit was set: move the pending DMA command's data now (if there is one).
    virtual void bus_master_started() = 0;
};

class IdeBusMaster final : public IoDevice {
  public:
    static constexpr uint16_t kSize = 16;

    IdeBusMaster(DmaMemory& memory, DeviceLog* log = nullptr) : memory_(memory), log_(log) {}

    // The drive of `channel` (0 primary, 1 secondary), or none.
    void attach(unsigned channel, BusMasterDrive* drive) { channels_[channel].drive = drive; }
    // io_read/io_write take absolute ports: BMIBA is 16-byte aligned, so the low four bits are
    // the register.

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // For a drive: whether its channel's start bit is set, and its transfer direction.
    bool started(unsigned channel) const { return (channels_[channel].command & kStart) != 0; }
    bool writes_memory(unsigned channel) const {
        return (channels_[channel].command & kWritesMemory) != 0;
    }
    // A new DMA command: the PRD table is walked from its first entry.
    void begin_command(unsigned channel);
    // Moves `data` to guest memory (a read from the drive) or fills it from guest memory,
    // through the next PRD entries. False, with the error bit set and nothing more to move,
    // when the direction is the other one, the table ends first, or memory refuses an access.
    bool transfer(unsigned channel, std::span<uint8_t> data, bool to_memory);
    // The command is over (done or failed): interrupt bit set, active cleared.
    void end_command(unsigned channel);

  private:
    static constexpr uint8_t kStart = 0x01;
    static constexpr uint8_t kWritesMemory = 0x08;
    static constexpr uint8_t kActive = 0x01;
    static constexpr uint8_t kError = 0x02;
    static constexpr uint8_t kInterrupt = 0x04;

    struct Channel {
        uint8_t command = 0;
        uint8_t status = 0;
        uint32_t table = 0;
        BusMasterDrive* drive = nullptr;
        // Where the current command is in its PRD table: the entry and the bytes of it used.
        uint32_t entry = 0;
        uint32_t entry_used = 0;
        bool table_ended = false;
    };

    uint8_t read_byte(unsigned channel, unsigned offset) const;
    void write_byte(unsigned channel, unsigned offset, uint8_t value);
    bool fail(Channel& c, const char* why);

    DmaMemory& memory_;
    DeviceLog* log_;
    std::array<Channel, 2> channels_{};
};

} // namespace transit86::pc
