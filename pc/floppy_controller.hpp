// The PC's floppy disk controller: an 82077AA-compatible FDC at 0x3F0 (QEMU's isa-fdc, which
// QEMU's pc machine always has) with at most one 3.5"/5.25" drive as drive 0 (A:), IRQ 6 and
// ISA DMA channel 2 (pc/i8237.hpp).
//
// Registers (AT mode): 0x3F0/0x3F1 status A/B (QEMU's values: A bit 7 = interrupt pending and
// bit 6 = no second drive, B 0xC0), 0x3F2 DOR (drive select, nRESET, DMA/IRQ gate, motors), 0x3F3
// tape drive register (storage), 0x3F4 MSR (read: RQM, DIO, NON-DMA, busy) / DSR (write: software
// reset, data rate), 0x3F5 the FIFO, 0x3F7 DIR (read: disk change) / CCR (write: data rate). 0x3F6
// is the primary IDE channel's device control register, not this device's.
//
// Commands (82077AA datasheet, 8.0 "Command Set"): READ DATA, WRITE DATA and VERIFY (MT, SK;
// by DMA or, with SPECIFY's ND bit, through the FIFO), READ ID, FORMAT TRACK (the sector IDs by
// DMA), RECALIBRATE, SEEK, RELATIVE SEEK, SENSE INTERRUPT STATUS, SENSE DRIVE STATUS, SPECIFY,
// CONFIGURE (implied seek), VERSION (0x90), DUMPREG, PERPENDICULAR MODE, LOCK and QEMU's
// 82078 PART ID (0x41). READ/WRITE DELETED DATA, READ TRACK and the SCAN commands are logged and
// answered as an invalid command (ST0 0x80), as QEMU answers the ones it does not implement.
//
// The medium: a raw image of a standard format, chosen by its size (floppy_format_for): 160K,
// 180K, 320K, 360K, 1.2M, 720K, 1.44M, 2.88M. Its sectors carry IDs C = track, H = head,
// R = 1..sectors per track, N = 2 (512 bytes), read at the format's data rate. A command whose
// C/H/R/N or data rate does not find its sector ends the way a real drive's does: no ID on the
// track (ND, with WC/BC for a wrong cylinder), or no address mark at all (MA: wrong data rate,
// no medium, a second side the medium does not have).
//
// Timing: every command completes at once (seeks included; drive busy bits never show). The
// result phase follows READ/WRITE/READ ID/FORMAT with IRQ 6; RECALIBRATE and SEEK raise it for
// SENSE INTERRUPT STATUS; leaving reset raises it for four SENSE INTERRUPT STATUS answers
// (ST0 0xC0 + drive, the 82077's polling emulation). The IRQ line is INT gated by DOR bit 3.
//
// Differences from QEMU, each as the 82077AA datasheet has it: a transfer that reaches the end
// of its track (EOT) without the DMA's terminal count, and every non-DMA transfer (which cannot
// see TC), ends with ST0 abnormal termination and ST1 "end of cylinder" (QEMU: success); the
// IRQ is gated by DOR bit 3 (QEMU raises it regardless); a DMA transfer the channel does not
// take (masked, mistyped) ends with "overrun" (QEMU waits for the channel); TC in the middle of
// a WRITE sector fills the rest of that sector with zeros; RECALIBRATE without a drive reports
// equipment check. Not modelled: drives 1-3, media changes, write protection (an image is
// writable: writes go to the block backend, a private copy unless asked otherwise), the
// perpendicular and power-down modes (stored), deleted-data marks, FIFO thresholds and
// overruns in PIO mode (the host is always fast enough), per-byte interrupts in PIO mode (one
// at the start of the execution phase, as QEMU).
//
// References: Intel 82077AA CHMOS single-chip floppy disk controller datasheet (290166);
// QEMU hw/block/fdc.c, hw/block/fdc-isa.c; SeaBIOS src/hw/floppy.c, src/hw/dma.c (what the
// BIOS sends).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "pc/block_backend.hpp"
#include "pc/device.hpp"
#include "pc/i8237.hpp"

namespace transit86::pc {

// A standard floppy format: its geometry, the data rate its sectors are read at (the CCR/DSR
// encoding: 0 500 Kb/s, 1 300, 2 250, 3 1 Mb/s) and the CMOS drive type of a drive for it
// (byte 0x10: 1 360K 5.25", 2 1.2M 5.25", 3 720K 3.5", 4 1.44M 3.5", 5 2.88M 3.5").
struct FloppyFormat {
    uint8_t cylinders;
    uint8_t heads;
    uint8_t sectors_per_track;
    uint8_t data_rate;
    uint8_t cmos_type;
    const char* name;
    uint64_t sector_count() const { return uint64_t{cylinders} * heads * sectors_per_track; }
};

// The format of an image of `sectors` 512-byte sectors, or nullopt.
std::optional<FloppyFormat> floppy_format_for(uint64_t sectors);
// "160K, 180K, ..., 2.88M": the sizes floppy_format_for knows, for messages.
std::string floppy_format_names();
// The smallest format an image of `sectors` sectors fits in, or nullopt (over 2.88M).
std::optional<FloppyFormat> floppy_format_holding(uint64_t sectors);
// A diskette image of no standard size the way QEMU's -fda takes one: its sectors, then zeros
// up to floppy_format_holding()'s size, in memory (written sectors stay there). `image` as it
// is when it already has a standard size; nullptr when it is larger than 2.88M or unreadable.
std::unique_ptr<BlockBackend> diskette_of_standard_size(std::unique_ptr<BlockBackend> image);

class FloppyController final : public IoDevice {
  public:
    static constexpr uint16_t kBase = 0x3F0;
    static constexpr uint16_t kDigitalInput = 0x3F7;
    static constexpr unsigned kIrq = 6;
    static constexpr unsigned kDmaChannel = 2;

    // `medium` may be null (a controller without a drive); else its size must be a format of
    // floppy_format_for (std::invalid_argument otherwise). It outlives the controller.
    FloppyController(BlockBackend* medium, IrqLines& irq, I8237Dma& dma, DeviceLog* log = nullptr);

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // The drive's format (for the CMOS drive-type byte), or nullopt without a drive.
    const std::optional<FloppyFormat>& format() const { return format_; }

  private:
    enum class Phase : uint8_t { Command, Execution, Result };
    enum class Transfer : uint8_t { Read, Write, Verify };
    uint8_t read_byte(uint16_t port);
    void write_byte(uint16_t port, uint8_t value);
    uint8_t main_status() const;
    void write_dor(uint8_t value);
    void write_fifo(uint8_t value);
    uint8_t read_fifo();
    void reset_controller();
    void set_interrupt(bool pending);
    void drive_irq_line();
    void to_command_phase();
    void result(std::initializer_list<uint8_t> bytes);
    void execute();

    // The command handlers, by the datasheet's names.
    void read_write_verify(Transfer transfer);
    void read_id();
    void format_track();
    void recalibrate();
    void seek(bool relative);
    void sense_interrupt_status();
    void sense_drive_status();
    void specify();
    void configure();
    void dump_registers();
    void invalid(const char* name);

    // Where a data command stands: the sector under the head and what ends the transfer.
    struct DataTransfer {
        Transfer kind = Transfer::Read;
        uint8_t drive_head = 0; // the command's HDS/DS byte
        uint8_t head = 0;       // physical head
        uint8_t sector = 1;
        uint8_t end_of_track = 1;
        bool multi_track = false;
        std::vector<uint8_t> data; // PIO: the sector being moved through the FIFO
        size_t position = 0;
    };
    // Whether sector (track, head, sector) with size code `n` is on the medium as the command
    // asks for it; else fills st1/st2 with why not.
    bool find_sector(uint8_t c, uint8_t h, uint8_t r, uint8_t n, uint8_t head, uint8_t& st1,
                     uint8_t& st2) const;
    uint64_t lba(uint8_t head, uint8_t sector) const;
    bool medium_readable(uint8_t drive, uint8_t head) const;
    // Moves the current sector by DMA; false when the transfer must end (status set).
    void run_dma_transfer();
    // After a sector: the next one, or false at the end of the track (EOT).
    bool next_sector();
    void end_transfer(uint8_t st0, uint8_t st1, uint8_t st2);
    void finish_pio_sector();
    void implied_seek(uint8_t cylinder);

    BlockBackend* medium_;
    IrqLines& irq_;
    I8237Dma& dma_;
    DeviceLog* log_;
    std::optional<FloppyFormat> format_;

    uint8_t dor_ = 0x0C; // QEMU's reset value: out of reset, DMA and IRQ enabled
    uint8_t tdr_ = 0;
    uint8_t data_rate_ = 2; // 250 Kb/s after a hardware reset (82077AA; Bochs)
    uint8_t dsr_other_ = 0; // DSR precompensation and power-down bits (stored)
    Phase phase_ = Phase::Command;
    std::array<uint8_t, 16> command_{};
    size_t command_length_ = 0;
    std::array<uint8_t, 16> result_{};
    size_t result_length_ = 0, result_position_ = 0;
    bool interrupt_ = false;
    // SENSE INTERRUPT STATUS after a seek or recalibrate: its ST0, or none pending.
    std::optional<uint8_t> seek_end_status_;
    uint8_t reset_senses_left_ = 0;  // the four drive answers after a reset
    std::array<uint8_t, 4> track_{}; // present cylinder number per drive
    bool disk_changed_ = true;       // DIR bit 7 until the first step with a disk in the drive
    uint8_t specify_[2] = {0, 0};    // SRT/HUT, HLT/ND
    uint8_t configure_ = 0x20;       // EIS, EFIFO (set: FIFO disabled), POLL, FIFOTHR
    uint8_t pretrack_ = 0;
    uint8_t perpendicular_ = 0;
    bool locked_ = false;
    DataTransfer transfer_;
    uint8_t st0_ = 0; // ST0 bits a command gathers before its result (an implied seek's SE)
};

} // namespace transit86::pc
