// One drive as device 0 of a legacy IDE channel: the parts of ATA/ATAPI-6 that an ATA disk
// (pc/ata_disk.hpp) and an ATAPI CD-ROM (pc/atapi_cdrom.hpp) share. The command block
// registers with their 48-bit HOB bytes, status, alternate status, error, device control (nIEN,
// SRST, HOB), the PIO data port (16- and 32-bit transfers, one DRQ block at a time) and INTRQ.
// Device 1 is absent. The power management commands (CHECK POWER MODE, IDLE, STANDBY, SLEEP)
// are no-ops for either drive; the drive itself decides what any other command does
// (run_command) and what comes after a data block (block_done).
//
// As QEMU's hw/ide/core.c: commands complete at once (no BSY period to poll through); register
// writes are ignored while BSY or DRQ is set; with device 1 selected, status, alternate status
// and error read 0 and commands are ignored, while the other registers read device 1's copy
// (the host writes both devices' registers). Reading the status register or writing a command
// clears a pending interrupt. INTRQ follows nIEN; no interrupt after SRST (ATA-6 9.2).
//
// References: ATA/ATAPI-6 (T13 1410D): 7 (registers), 9 (protocols: PIO data-in and data-out,
// non-data, packet, software reset), 9.12 (signatures); QEMU hw/ide/core.c.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "pc/device.hpp"
#include "pc/ide_bus_master.hpp"

namespace transit86::pc {

// Where a legacy channel decodes: 8 command block ports, the device control port, its IRQ.
struct IdeChannelPorts {
    uint16_t command_block;
    uint16_t device_control;
    unsigned irq;
};
inline constexpr IdeChannelPorts kPrimaryIdeChannel{0x1F0, 0x3F6, 14};
inline constexpr IdeChannelPorts kSecondaryIdeChannel{0x170, 0x376, 15};

class IdeDrive : public IoDevice, public BusMasterDrive {
  public:
    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    const IdeChannelPorts& channel() const { return channel_; }
    // The PIIX bus-master engine that serves this drive's channel (0 primary, 1 secondary);
    // without one, DMA commands abort.
    void attach_bus_master(IdeBusMaster& bus_master, unsigned bus_master_channel) {
        bus_master_ = &bus_master;
        bus_master_channel_ = bus_master_channel;
        bus_master.attach(bus_master_channel, this);
    }
    void bus_master_started() override {}

  protected:
    // Status register (ATA-6 7.15).
    static constexpr uint8_t kBusy = 0x80;
    static constexpr uint8_t kReady = 0x40;
    static constexpr uint8_t kSeekComplete = 0x10;
    static constexpr uint8_t kDataRequest = 0x08;
    static constexpr uint8_t kError = 0x01;
    // Error register: command aborted.
    static constexpr uint8_t kAbort = 0x04;
    // Device/head register (7.10).
    static constexpr uint8_t kLbaMode = 0x40;
    // The largest DRQ block: 16 sectors of READ/WRITE MULTIPLE, four CD sectors.
    static constexpr uint32_t kBufferBytes = 16 * 512;

    // One device's copy of the command block registers; each 48-bit register keeps its
    // previous value (the HOB byte).
    struct TaskFile {
        uint8_t feature = 0;
        uint8_t hob_feature = 0;
        uint32_t count = 0; // 8 bits as written; the whole count (up to 65536) during a command
        uint8_t hob_count = 0;
        uint8_t lba_low = 0;
        uint8_t hob_lba_low = 0;
        uint8_t lba_mid = 0;
        uint8_t hob_lba_mid = 0;
        uint8_t lba_high = 0;
        uint8_t hob_lba_high = 0;
        uint8_t device = 0xA0;
    };
    enum class Transfer : uint8_t { None, ToHost, FromHost };
    // How a command handler left things: done (the common completion raises the interrupt,
    // with DSC for some commands), still transferring or completed by the handler itself
    // (it set status and interrupt), or not a command this drive implements (aborted).
    enum class Outcome : uint8_t { Done, DoneWithSeek, Transferring, Unsupported };

    // `packet_device`: the ATAPI signature (ATA-6 9.12), DRDY clear after a reset, DEVICE RESET
    // accepted while busy. `log_name` names the drive in logged lines ("ata", "atapi").
    IdeDrive(IdeChannelPorts channel, bool packet_device, const char* log_name, IrqLines& irq,
             DeviceLog* log);
    IdeDrive(const IdeDrive&) = default;
    ~IdeDrive() override = default;

    // Hardware reset (power-on) of the shared registers; the drive resets its own state.
    void reset_registers();

    virtual Outcome run_command(uint8_t command) = 0;
    // The host has moved the last byte of the current DRQ block (DRQ is already clear).
    virtual void block_done() = 0;
    // SRST released: the drive puts its own state back (the registers are done).
    virtual void software_reset_done() {}

    TaskFile& regs() { return task_[0]; }
    const TaskFile& regs() const { return task_[0]; }
    void put_own_signature();
    // A DMA command's data phase begins: DRDY DSC DRQ while the transfer is set up (QEMU
    // ide_sector_start_dma, ide_atapi_cmd_read_dma), the PRD table walked from its start. True
    // when the host has started the bus master already: move the data now; else the drive's
    // bus_master_started() moves it.
    bool await_bus_master() {
        status_ = kReady | kSeekComplete | kDataRequest;
        bus_master_->begin_command(bus_master_channel_);
        return bus_master_->started(bus_master_channel_);
    }
    void begin_transfer(Transfer direction, uint32_t bytes);
    void halt_transfer();
    void abort_command();
    void raise_interrupt();
    void log_unmodelled(const std::string& what) const;

    uint8_t status_ = 0;
    uint8_t error_ = 0;
    std::array<uint8_t, kBufferBytes> buffer_{};
    IdeBusMaster* bus_master_ = nullptr;
    unsigned bus_master_channel_ = 0;

  private:
    bool device1_selected() const { return unit_ == 1; }
    uint8_t status() const;
    uint8_t read_register(uint16_t port);
    void write_register(uint16_t port, uint8_t value);
    void write_device_control(uint8_t value);
    uint32_t read_data(uint8_t size);
    void write_data(uint8_t size, uint32_t value);
    void end_of_block();
    void execute(uint8_t command);
    // The power management commands, no-ops for both kinds of drive (as in QEMU): what they
    // did, or nullopt for another command.
    std::optional<Outcome> power_command(uint8_t command);
    void finish_software_reset();
    static void put_signature(TaskFile& task, bool present, bool packet);
    void update_irq_line();

    IdeChannelPorts channel_;
    bool packet_device_;
    const char* log_name_;
    IrqLines& irq_;
    DeviceLog* log_;
    std::array<TaskFile, 2> task_{}; // device 0 (this drive), device 1 (absent)
    unsigned unit_ = 0;              // DEV of the last device/head write
    uint8_t device_control_ = 0;
    bool in_software_reset_ = false;
    bool interrupt_pending_ = false;
    bool irq_level_ = false;
    Transfer transfer_ = Transfer::None;
    uint32_t data_pos_ = 0;
    uint32_t data_end_ = 0;
};

} // namespace transit86::pc
