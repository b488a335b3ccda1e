#include "pc/floppy_controller.hpp"

#include <algorithm>
#include <stdexcept>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

// The standard formats, by image size (QEMU's fd_formats for these sizes; SeaBIOS's
// FloppyInfo for the drive types and data rates).
constexpr FloppyFormat kFormats[] = {
    {40, 1, 8, 2, 1, "160K"},   {40, 1, 9, 1, 1, "180K"},   {40, 2, 8, 2, 1, "320K"},
    {40, 2, 9, 1, 1, "360K"},   {80, 2, 9, 2, 3, "720K"},   {80, 2, 15, 0, 2, "1.2M"},
    {80, 2, 18, 0, 4, "1.44M"}, {80, 2, 36, 3, 5, "2.88M"},
};

// Registers, as offsets from 0x3F0.
constexpr uint16_t kStatusA = 0, kStatusB = 1, kDigitalOutput = 2, kTapeDrive = 3, kMainStatus = 4,
                   kFifo = 5, kDirCcr = 7;

// DOR bits.
constexpr uint8_t kDorNotReset = 0x04, kDorDmaGate = 0x08;
// MSR bits.
constexpr uint8_t kMsrRqm = 0x80, kMsrDio = 0x40, kMsrNonDma = 0x20, kMsrBusy = 0x10;
// ST0 bits.
constexpr uint8_t kSt0Abnormal = 0x40, kSt0Invalid = 0x80, kSt0ReadyChange = 0xC0,
                  kSt0SeekEnd = 0x20, kSt0EquipmentCheck = 0x10;
// ST1 bits.
constexpr uint8_t kSt1EndOfCylinder = 0x80, kSt1DataError = 0x20, kSt1Overrun = 0x10,
                  kSt1NoData = 0x04, kSt1MissingAddressMark = 0x01;
// ST2 bits.
constexpr uint8_t kSt2DataErrorInData = 0x20, kSt2WrongCylinder = 0x10, kSt2BadCylinder = 0x02;
// CONFIGURE bits.
constexpr uint8_t kConfigImpliedSeek = 0x40, kConfigPollingDisabled = 0x10;

constexpr uint8_t kSizeCode512 = 2;
constexpr size_t kSectorBytes = 512;

enum class Op : uint8_t {
    ReadData,
    WriteData,
    Verify,
    ReadId,
    Format,
    Recalibrate,
    Seek,
    RelativeSeek,
    SenseInterrupt,
    SenseDrive,
    Specify,
    Configure,
    Version,
    DumpRegisters,
    Perpendicular,
    Lock,
    PartId,
    NotModelled,
};

// A command byte matches a row when (byte & mask) == value; the first row that matches wins.
struct Row {
    uint8_t mask, value, parameters;
    Op op;
    const char* name;
};
constexpr Row kCommands[] = {
    {0xFF, 0x03, 2, Op::Specify, "SPECIFY"},
    {0xFF, 0x04, 1, Op::SenseDrive, "SENSE DRIVE STATUS"},
    {0xFF, 0x07, 1, Op::Recalibrate, "RECALIBRATE"},
    {0xFF, 0x08, 0, Op::SenseInterrupt, "SENSE INTERRUPT STATUS"},
    {0xFF, 0x0E, 0, Op::DumpRegisters, "DUMPREG"},
    {0xFF, 0x0F, 2, Op::Seek, "SEEK"},
    {0xFF, 0x10, 0, Op::Version, "VERSION"},
    {0xFF, 0x12, 1, Op::Perpendicular, "PERPENDICULAR MODE"},
    {0xFF, 0x13, 3, Op::Configure, "CONFIGURE"},
    {0xFF, 0x18, 0, Op::PartId, "PART ID"},
    {0x7F, 0x14, 0, Op::Lock, "LOCK"},
    {0xBF, 0x8F, 2, Op::RelativeSeek, "RELATIVE SEEK"},
    {0x1F, 0x06, 8, Op::ReadData, "READ DATA"},
    {0x3F, 0x05, 8, Op::WriteData, "WRITE DATA"},
    {0x1F, 0x16, 8, Op::Verify, "VERIFY"},
    {0xBF, 0x0A, 1, Op::ReadId, "READ ID"},
    {0xBF, 0x0D, 5, Op::Format, "FORMAT TRACK"},
    {0x1F, 0x0C, 8, Op::NotModelled, "READ DELETED DATA"},
    {0x3F, 0x09, 8, Op::NotModelled, "WRITE DELETED DATA"},
    {0xBF, 0x02, 8, Op::NotModelled, "READ TRACK"},
    {0x1F, 0x11, 8, Op::NotModelled, "SCAN EQUAL"},
    {0x1F, 0x19, 8, Op::NotModelled, "SCAN LOW OR EQUAL"},
    {0x1F, 0x1D, 8, Op::NotModelled, "SCAN HIGH OR EQUAL"},
};

const Row* find_command(uint8_t byte) {
    for (const Row& row : kCommands)
        if ((byte & row.mask) == row.value) return &row;
    return nullptr;
}

} // namespace

std::optional<FloppyFormat> floppy_format_for(uint64_t sectors) {
    for (const FloppyFormat& f : kFormats)
        if (f.sector_count() == sectors) return f;
    return std::nullopt;
}

std::string floppy_format_names() {
    std::string names;
    for (const FloppyFormat& f : kFormats)
        names += (names.empty() ? "" : ", ") + std::string(f.name);
    return names;
}

std::optional<FloppyFormat> floppy_format_holding(uint64_t sectors) {
    for (const FloppyFormat& f : kFormats)
        if (f.sector_count() >= sectors) return f; // kFormats runs from small to large
    return std::nullopt;
}

std::unique_ptr<BlockBackend> diskette_of_standard_size(std::unique_ptr<BlockBackend> image) {
    if (floppy_format_for(image->sector_count())) return image;
    const std::optional<FloppyFormat> format = floppy_format_holding(image->sector_count());
    if (!format) return nullptr;
    std::vector<uint8_t> bytes(format->sector_count() * BlockBackend::kSectorSize, 0);
    if (!image->read_sectors(
            0, std::span(bytes).first(image->sector_count() * BlockBackend::kSectorSize)))
        return nullptr;
    return std::make_unique<MemoryBlockBackend>(std::move(bytes));
}

FloppyController::FloppyController(BlockBackend* medium, IrqLines& irq, I8237Dma& dma,
                                   DeviceLog* log)
    : medium_(medium), irq_(irq), dma_(dma), log_(log) {
    if (medium_) {
        format_ = floppy_format_for(medium_->sector_count());
        if (!format_)
            throw std::invalid_argument("a floppy image must have the size of a standard format (" +
                                        floppy_format_names() + ")");
    }
}

uint32_t FloppyController::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) { return read_byte(p); });
}

void FloppyController::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t b) { write_byte(p, b); });
}

uint8_t FloppyController::read_byte(uint16_t port) {
    switch (port - kBase) {
    case kStatusA: return (interrupt_ ? 0x80 : 0x00) | 0x40; // QEMU: INTPEND, nDRV2 (no drive 1)
    case kStatusB: return 0xC0;                              // QEMU's value
    case kDigitalOutput: return dor_;
    case kTapeDrive: return tdr_;
    case kMainStatus: return main_status();
    case kFifo: return read_fifo();
    case kDirCcr: return disk_changed_ && medium_ && (dor_ & 3) == 0 ? 0x80 : 0x00;
    default: return 0xFF; // 0x3F6 is the IDE channel's
    }
}

void FloppyController::write_byte(uint16_t port, uint8_t value) {
    switch (port - kBase) {
    case kDigitalOutput: write_dor(value); break;
    case kTapeDrive: tdr_ = value & 0x03; break;
    case kMainStatus: // DSR
        data_rate_ = value & 0x03;
        dsr_other_ = value & 0x7C;
        if (value & 0x80) { // software reset: self-clearing
            reset_controller();
            if (!(configure_ & kConfigPollingDisabled)) {
                set_interrupt(true);
                reset_senses_left_ = 4;
            }
        }
        break;
    case kFifo: write_fifo(value); break;
    case kDirCcr: data_rate_ = value & 0x03; break;
    default: break; // status registers A and B are read-only
    }
}

uint8_t FloppyController::main_status() const {
    if (!(dor_ & kDorNotReset)) return 0;
    switch (phase_) {
    case Phase::Command: return command_length_ ? kMsrRqm | kMsrBusy : kMsrRqm;
    case Phase::Execution:
        return kMsrRqm | kMsrNonDma | kMsrBusy | (transfer_.kind == Transfer::Write ? 0 : kMsrDio);
    case Phase::Result: return kMsrRqm | kMsrDio | kMsrBusy;
    }
    return kMsrRqm;
}

void FloppyController::write_dor(uint8_t value) {
    const uint8_t before = dor_;
    dor_ = value;
    if (!(value & kDorNotReset)) {
        if (before & kDorNotReset) reset_controller();
    } else if (!(before & kDorNotReset) && !(configure_ & kConfigPollingDisabled)) {
        // Out of reset: one interrupt for the four drives' ready-change status.
        set_interrupt(true);
        reset_senses_left_ = 4;
    }
    drive_irq_line(); // the DMA gate bit gates INT
}

void FloppyController::reset_controller() {
    phase_ = Phase::Command;
    command_length_ = 0;
    result_length_ = result_position_ = 0;
    seek_end_status_.reset();
    reset_senses_left_ = 0;
    set_interrupt(false);
    // 82077AA: a reset clears EIS and POLL; EFIFO, FIFOTHR and PRETRK survive it under LOCK.
    if (locked_) {
        configure_ &= static_cast<uint8_t>(~(kConfigImpliedSeek | kConfigPollingDisabled));
    } else {
        configure_ = 0x20;
        pretrack_ = 0;
    }
    perpendicular_ &= 0x3C; // GAP and WGATE cleared, the per-drive bits kept
}

void FloppyController::set_interrupt(bool pending) {
    if (pending) reset_senses_left_ = 0; // a new interrupt replaces the reset's (QEMU, Bochs)
    interrupt_ = pending;
    drive_irq_line();
}

void FloppyController::drive_irq_line() {
    irq_.set_irq(kIrq, interrupt_ && (dor_ & kDorDmaGate) && (dor_ & kDorNotReset));
}

void FloppyController::to_command_phase() {
    phase_ = Phase::Command;
    command_length_ = 0;
}

void FloppyController::result(std::initializer_list<uint8_t> bytes) {
    result_length_ = 0;
    for (const uint8_t b : bytes)
        result_[result_length_++] = b;
    result_position_ = 0;
    phase_ = Phase::Result;
}

void FloppyController::write_fifo(uint8_t value) {
    if (!(dor_ & kDorNotReset)) return;
    if (phase_ == Phase::Execution) {
        if (transfer_.kind != Transfer::Write) return;
        transfer_.data[transfer_.position++] = value;
        if (transfer_.position == transfer_.data.size()) finish_pio_sector();
        return;
    }
    if (phase_ == Phase::Result) {
        if (log_) log_->unmodelled("fdc", "FIFO written during the result phase (ignored)");
        return;
    }
    command_[command_length_++] = value;
    const Row* row = find_command(command_[0]);
    if (!row) {
        if (log_) log_->unmodelled("fdc", "invalid command " + hex_byte(command_[0]));
        result({kSt0Invalid});
        return;
    }
    if (command_length_ == size_t{1} + row->parameters) execute();
}

uint8_t FloppyController::read_fifo() {
    if (!(dor_ & kDorNotReset)) return 0;
    if (phase_ == Phase::Execution) {
        if (transfer_.kind == Transfer::Write) return 0;
        const uint8_t value = transfer_.data[transfer_.position++];
        if (transfer_.position == transfer_.data.size()) finish_pio_sector();
        return value;
    }
    if (phase_ != Phase::Result) return 0; // QEMU: "not ready for reading"
    if (result_position_ == 0) set_interrupt(false);
    const uint8_t value = result_[result_position_++];
    if (result_position_ == result_length_) to_command_phase();
    return value;
}

void FloppyController::execute() {
    const Row& row = *find_command(command_[0]);
    switch (row.op) {
    case Op::ReadData: return read_write_verify(Transfer::Read);
    case Op::WriteData: return read_write_verify(Transfer::Write);
    case Op::Verify: return read_write_verify(Transfer::Verify);
    case Op::ReadId: return read_id();
    case Op::Format: return format_track();
    case Op::Recalibrate: return recalibrate();
    case Op::Seek: return seek(false);
    case Op::RelativeSeek: return seek(true);
    case Op::SenseInterrupt: return sense_interrupt_status();
    case Op::SenseDrive: return sense_drive_status();
    case Op::Specify: return specify();
    case Op::Configure: return configure();
    case Op::Version: return result({0x90}); // 82077AA (enhanced)
    case Op::DumpRegisters: return dump_registers();
    case Op::Perpendicular:
        // OW (bit 7) set: the per-drive bits D0-D3 change too; GAP and WGATE always.
        perpendicular_ =
            static_cast<uint8_t>((command_[1] & 0x80 ? command_[1] & 0x3C : perpendicular_ & 0x3C) |
                                 (command_[1] & 0x03));
        return to_command_phase();
    case Op::Lock:
        locked_ = (command_[0] & 0x80) != 0;
        return result({static_cast<uint8_t>(locked_ ? 0x10 : 0x00)});
    case Op::PartId: return result({0x41}); // QEMU's controller is an 82078
    case Op::NotModelled: return invalid(row.name);
    }
}

void FloppyController::invalid(const char* name) {
    if (log_) log_->unmodelled("fdc", std::string(name) + " (answered as an invalid command)");
    result({kSt0Invalid});
}

bool FloppyController::medium_readable(uint8_t drive, uint8_t head) const {
    return drive == 0 && medium_ && data_rate_ == format_->data_rate && head < format_->heads &&
           track_[0] < format_->cylinders;
}

bool FloppyController::find_sector(uint8_t c, uint8_t h, uint8_t r, uint8_t n, uint8_t head,
                                   uint8_t& st1, uint8_t& st2) const {
    st1 = st2 = 0;
    if (c != track_[0]) {
        st1 = kSt1NoData;
        st2 = c == 0xFF ? kSt2BadCylinder : kSt2WrongCylinder;
        return false;
    }
    if (h != head || r < 1 || r > format_->sectors_per_track || n != kSizeCode512) {
        st1 = kSt1NoData;
        return false;
    }
    return true;
}

uint64_t FloppyController::lba(uint8_t head, uint8_t sector) const {
    return (uint64_t{track_[0]} * format_->heads + head) * format_->sectors_per_track + sector - 1;
}

void FloppyController::implied_seek(uint8_t cylinder) {
    if (!(configure_ & kConfigImpliedSeek) || track_[command_[1] & 3] == cylinder) return;
    track_[command_[1] & 3] = cylinder;
    if ((command_[1] & 3) == 0 && medium_) disk_changed_ = false;
    st0_ |= kSt0SeekEnd;
}

// READ DATA, WRITE DATA, VERIFY: parameters HDS/DS, C, H, R, N, EOT, GPL, DTL.
void FloppyController::read_write_verify(Transfer kind) {
    transfer_ = DataTransfer{};
    transfer_.kind = kind;
    transfer_.drive_head = command_[1] & 0x07;
    transfer_.head = (command_[1] >> 2) & 1;
    transfer_.sector = command_[4];
    transfer_.end_of_track = command_[6];
    transfer_.multi_track = (command_[0] & 0x80) != 0;
    st0_ = 0;
    implied_seek(command_[2]);
    if (!medium_readable(command_[1] & 3, transfer_.head))
        return end_transfer(kSt0Abnormal, kSt1MissingAddressMark, 0);
    if (specify_[1] & 0x01) { // ND: through the FIFO
        uint8_t st1 = 0, st2 = 0;
        if (!find_sector(command_[2], command_[3], transfer_.sector, command_[5], transfer_.head,
                         st1, st2))
            return end_transfer(kSt0Abnormal, st1, st2);
        if (kind == Transfer::Verify) return run_dma_transfer(); // nothing crosses the FIFO
        transfer_.data.assign(kSectorBytes, 0);
        if (kind == Transfer::Read &&
            !medium_->read_sectors(lba(transfer_.head, transfer_.sector), transfer_.data))
            return end_transfer(kSt0Abnormal, kSt1DataError, kSt2DataErrorInData);
        phase_ = Phase::Execution;
        set_interrupt(true); // QEMU: one interrupt as the execution phase begins
        return;
    }
    run_dma_transfer();
}

// The transfer by DMA (or VERIFY's, which moves nothing), sector after sector until the
// DMA's terminal count, the end of the track, or an error.
void FloppyController::run_dma_transfer() {
    std::vector<uint8_t> buffer(kSectorBytes);
    for (;;) {
        uint8_t st1 = 0, st2 = 0;
        if (!find_sector(command_[2], command_[3], transfer_.sector, command_[5], transfer_.head,
                         st1, st2))
            return end_transfer(kSt0Abnormal, st1, st2);
        const uint64_t at = lba(transfer_.head, transfer_.sector);
        bool terminal_count = false;
        if (transfer_.kind != Transfer::Verify) {
            const bool gate = (dor_ & kDorDmaGate) != 0;
            if (transfer_.kind == Transfer::Read) {
                if (!medium_->read_sectors(at, buffer))
                    return end_transfer(kSt0Abnormal, kSt1DataError, kSt2DataErrorInData);
                const DmaTransfer moved =
                    gate ? dma_.transfer(kDmaChannel, buffer, DmaDirection::ToMemory)
                         : DmaTransfer{};
                if (moved.bytes < buffer.size() && !moved.terminal_count)
                    return end_transfer(kSt0Abnormal, kSt1Overrun, 0);
                terminal_count = moved.terminal_count;
            } else {
                // TC within the sector: the rest of it is written as zeros (82077AA).
                std::fill(buffer.begin(), buffer.end(), uint8_t{0});
                const DmaTransfer moved =
                    gate ? dma_.transfer(kDmaChannel, buffer, DmaDirection::FromMemory)
                         : DmaTransfer{};
                if (moved.bytes < buffer.size() && !moved.terminal_count)
                    return end_transfer(kSt0Abnormal, kSt1Overrun, 0);
                if (!medium_->write_sectors(at, buffer))
                    return end_transfer(kSt0Abnormal, kSt1DataError, 0);
                terminal_count = moved.terminal_count;
            }
        }
        const bool more = next_sector();
        if (terminal_count) return end_transfer(0, 0, 0);
        if (!more) {
            // The end of the track without TC: VERIFY's normal end; a data transfer's
            // "end of cylinder" (82077AA 8.1.1).
            if (transfer_.kind == Transfer::Verify) return end_transfer(0, 0, 0);
            return end_transfer(kSt0Abnormal, kSt1EndOfCylinder, 0);
        }
    }
}

// Steps to the sector after the current one: R + 1, or at EOT the first sector of the other
// side (multi-track from side 0) or of the next cylinder, the IDs the result phase reports
// (82077AA table 8-5). False when the transfer has reached the end of its track.
bool FloppyController::next_sector() {
    if (transfer_.sector != transfer_.end_of_track) {
        ++transfer_.sector;
        return true;
    }
    transfer_.sector = 1;
    if (transfer_.multi_track) {
        command_[3] ^= 1; // the ID's head number, with the physical head
        if (transfer_.head == 0) {
            transfer_.head = 1;
            transfer_.drive_head |= 0x04;
            return true;
        }
    }
    ++command_[2];
    return false;
}

void FloppyController::finish_pio_sector() {
    if (transfer_.kind == Transfer::Write &&
        !medium_->write_sectors(lba(transfer_.head, transfer_.sector), transfer_.data))
        return end_transfer(kSt0Abnormal, kSt1DataError, 0);
    // Without TC, a transfer through the FIFO ends at the end of the track.
    if (!next_sector()) return end_transfer(kSt0Abnormal, kSt1EndOfCylinder, 0);
    uint8_t st1 = 0, st2 = 0;
    if (!find_sector(command_[2], command_[3], transfer_.sector, command_[5], transfer_.head, st1,
                     st2))
        return end_transfer(kSt0Abnormal, st1, st2);
    transfer_.position = 0;
    std::fill(transfer_.data.begin(), transfer_.data.end(), uint8_t{0});
    if (transfer_.kind == Transfer::Read &&
        !medium_->read_sectors(lba(transfer_.head, transfer_.sector), transfer_.data))
        return end_transfer(kSt0Abnormal, kSt1DataError, kSt2DataErrorInData);
}

// The result phase of a data command: ST0-ST2 and the C, H, R, N where it stopped.
void FloppyController::end_transfer(uint8_t st0, uint8_t st1, uint8_t st2) {
    const uint8_t status = static_cast<uint8_t>(st0_ | st0 | (transfer_.drive_head & 0x07));
    result({status, st1, st2, command_[2], command_[3], transfer_.sector, command_[5]});
    set_interrupt(true);
}

// READ ID: HDS/DS. The first ID the head finds on its track.
void FloppyController::read_id() {
    const uint8_t drive = command_[1] & 3;
    const uint8_t head = (command_[1] >> 2) & 1;
    const uint8_t status = command_[1] & 0x07;
    if (!medium_readable(drive, head))
        result({static_cast<uint8_t>(kSt0Abnormal | status), kSt1MissingAddressMark, 0,
                track_[drive], head, 1, kSizeCode512});
    else
        result({status, 0, 0, track_[drive], head, 1, kSizeCode512});
    set_interrupt(true);
}

// FORMAT TRACK: HDS/DS, N, SC, GPL, D; then C, H, R, N of each sector by DMA. The image keeps
// its format: a sector whose ID fits it is filled with D, any other ID is logged.
void FloppyController::format_track() {
    transfer_ = DataTransfer{};
    transfer_.drive_head = command_[1] & 0x07;
    transfer_.head = (command_[1] >> 2) & 1;
    const uint8_t drive = command_[1] & 3;
    st0_ = 0;
    const auto done = [this](uint8_t st0, uint8_t st1) {
        result({static_cast<uint8_t>(st0 | transfer_.drive_head), st1, 0, track_[0], transfer_.head,
                1, command_[2]});
        set_interrupt(true);
    };
    if (!medium_readable(drive, transfer_.head)) return done(kSt0Abnormal, kSt1MissingAddressMark);
    if (specify_[1] & 0x01) {
        if (log_) log_->unmodelled("fdc", "FORMAT TRACK through the FIFO (non-DMA mode)");
        return done(kSt0Abnormal, kSt1Overrun);
    }
    const std::vector<uint8_t> fill(kSectorBytes, command_[5]);
    for (unsigned i = 0; i < command_[3]; ++i) {
        std::array<uint8_t, 4> id{};
        const DmaTransfer moved = (dor_ & kDorDmaGate)
                                      ? dma_.transfer(kDmaChannel, id, DmaDirection::FromMemory)
                                      : DmaTransfer{};
        if (moved.bytes < id.size()) return done(kSt0Abnormal, kSt1Overrun);
        uint8_t st1 = 0, st2 = 0;
        if (find_sector(id[0], id[1], id[2], id[3], transfer_.head, st1, st2)) {
            if (!medium_->write_sectors(lba(transfer_.head, id[2]), fill))
                return done(kSt0Abnormal, kSt1DataError);
        } else if (log_) {
            log_->unmodelled("fdc", "FORMAT TRACK with sector IDs other than the image's format "
                                    "(those sectors are not written)");
        }
        if (moved.terminal_count && i + 1 < command_[3]) return done(0, 0);
    }
    done(0, 0);
}

// RECALIBRATE: DS. Track 0 of a drive that is there; equipment check for one that is not.
void FloppyController::recalibrate() {
    const uint8_t drive = command_[1] & 3;
    uint8_t status = kSt0SeekEnd | drive;
    if (drive == 0 && medium_) {
        track_[0] = 0;
        disk_changed_ = false;
    } else {
        status |= kSt0EquipmentCheck;
    }
    to_command_phase();
    set_interrupt(true);
    seek_end_status_ = status;
}

// SEEK: HDS/DS, NCN. RELATIVE SEEK: HDS/DS, RCN, with the direction in bit 6 of the command.
void FloppyController::seek(bool relative) {
    const uint8_t drive = command_[1] & 3;
    uint8_t& track = track_[drive];
    const uint8_t before = track;
    if (!relative)
        track = command_[2];
    else if (command_[0] & 0x40)
        track = static_cast<uint8_t>(std::min(255, track + command_[2]));
    else
        track = static_cast<uint8_t>(std::max(0, track - command_[2]));
    if (drive == 0 && medium_ && track != before) disk_changed_ = false; // a step pulse
    to_command_phase();
    set_interrupt(true);
    seek_end_status_ = static_cast<uint8_t>(kSt0SeekEnd | (command_[1] & 0x07));
}

void FloppyController::sense_interrupt_status() {
    if (reset_senses_left_ > 0) {
        const auto drive = static_cast<uint8_t>(4 - reset_senses_left_);
        const uint8_t left = reset_senses_left_ - 1;
        set_interrupt(false);
        reset_senses_left_ = left;
        return result({static_cast<uint8_t>(kSt0ReadyChange | drive), track_[drive]});
    }
    if (!seek_end_status_) return result({kSt0Invalid});
    const uint8_t status = *seek_end_status_;
    seek_end_status_.reset();
    set_interrupt(false);
    result({status, track_[status & 3]});
}

// SENSE DRIVE STATUS: HDS/DS. ST3: bits 5 and 3 read 1 on the 82077AA; track 0; head, drive.
void FloppyController::sense_drive_status() {
    const uint8_t drive = command_[1] & 3;
    result({static_cast<uint8_t>(0x28 | (track_[drive] == 0 ? 0x10 : 0) | (command_[1] & 0x07))});
}

void FloppyController::specify() {
    specify_[0] = command_[1];
    specify_[1] = command_[2];
    to_command_phase();
}

// CONFIGURE: 0, EIS/EFIFO/POLL/FIFOTHR, PRETRK.
void FloppyController::configure() {
    configure_ = command_[2] & 0x7F;
    pretrack_ = command_[3];
    to_command_phase();
}

// DUMPREG: the four PCNs, SPECIFY's two bytes, the last EOT, LOCK with the perpendicular bits,
// CONFIGURE's byte and PRETRK (82077AA 8.3.10).
void FloppyController::dump_registers() {
    result({track_[0], track_[1], track_[2], track_[3], specify_[0], specify_[1],
            transfer_.end_of_track,
            static_cast<uint8_t>((locked_ ? 0x80 : 0) | (perpendicular_ & 0x3F)), configure_,
            pretrack_});
}

} // namespace transit86::pc
