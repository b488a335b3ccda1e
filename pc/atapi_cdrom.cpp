#include "pc/atapi_cdrom.hpp"

#include <algorithm>
#include <string_view>

#include "pc/ata_identify.hpp"

namespace transit86::pc {

namespace {

// Interrupt reason, in the sector count register during a packet command (ATA-6 9.8).
constexpr uint8_t kReasonCommand = 0x01; // CoD
constexpr uint8_t kReasonToHost = 0x02;  // IO
// Sense keys and additional sense codes (SPC-2 tables 107 and 108).
constexpr uint8_t kIllegalRequest = 0x05;
constexpr uint8_t kMediumError = 0x03;
constexpr uint8_t kAbortedCommand = 0x0B;
constexpr uint8_t kInvalidOpcode = 0x20;
constexpr uint8_t kLbaOutOfRange = 0x21;
constexpr uint8_t kInvalidField = 0x24;
constexpr uint8_t kSavingNotSupported = 0x39;
constexpr uint8_t kUnrecoveredReadError = 0x11;
// The most 2048-byte sectors a CD holds (QEMU CD_MAX_SECTORS: 80 minutes); beyond, a DVD.
constexpr uint64_t kCdMaxSectors = 80ull * 60 * 75;

uint32_t be16(std::span<const uint8_t, 12> cdb, size_t at) {
    return (uint32_t{cdb[at]} << 8) | cdb[at + 1];
}
uint32_t be32(std::span<const uint8_t, 12> cdb, size_t at) {
    return (be16(cdb, at) << 16) | be16(cdb, at + 2);
}
void put_be16(uint8_t* out, uint32_t value) {
    out[0] = static_cast<uint8_t>(value >> 8);
    out[1] = static_cast<uint8_t>(value);
}
void put_be32(uint8_t* out, uint32_t value) {
    put_be16(out, value >> 16);
    put_be16(out + 2, value);
}
// A TOC address: an LBA, or minutes/seconds/frames counted from the 2-second pre-gap.
void put_toc_address(uint8_t* out, uint64_t lba, bool msf) {
    if (!msf) {
        put_be32(out, static_cast<uint32_t>(lba));
        return;
    }
    const uint64_t frames = lba + 150;
    out[0] = 0;
    out[1] = static_cast<uint8_t>(frames / (75 * 60));
    out[2] = static_cast<uint8_t>(frames / 75 % 60);
    out[3] = static_cast<uint8_t>(frames % 75);
}

} // namespace

AtapiCdrom::AtapiCdrom(BlockBackend& disc, IrqLines& irq, DeviceLog* log, IdeChannelPorts channel)
    : IdeDrive(channel, true, "atapi", irq, log), disc_(disc) {
    reset();
}

void AtapiCdrom::reset() {
    reset_registers();
    software_reset_done();
}

void AtapiCdrom::software_reset_done() {
    phase_ = Phase::Idle;
    remaining_ = 0;
    sense_key_ = additional_sense_ = 0;
}

// --- the ATA commands -----------------------------------------------------------------------

AtapiCdrom::Outcome AtapiCdrom::run_command(uint8_t command) {
    switch (command) {
    case 0xA0: return packet();
    case 0xA1: { // IDENTIFY PACKET DEVICE
        const auto words = atapi_identify_packet_device();
        for (size_t i = 0; i < words.size(); ++i) {
            buffer_[2 * i] = static_cast<uint8_t>(words[i]);
            buffer_[2 * i + 1] = static_cast<uint8_t>(words[i] >> 8);
        }
        status_ = kReady | kSeekComplete;
        phase_ = Phase::Idle;
        begin_transfer(Transfer::ToHost, 512);
        raise_interrupt();
        return Outcome::Transferring;
    }
    case 0x08: return device_reset();
    case 0x90: // EXECUTE DEVICE DIAGNOSTIC: the signature, code 01 (passed, no device 1)
        put_own_signature();
        status_ = kReady | kSeekComplete;
        error_ = 0x01;
        return Outcome::Done;
    case 0xEF: // SET FEATURES: accepted, as QEMU does (every transfer mode is alike here)
        return Outcome::DoneWithSeek;
    case 0xEC: // IDENTIFY DEVICE and READ SECTORS (ATA-6 8.15.5, 8.27.5: signature, abort)
    case 0x20:
    case 0x21:
    case 0x24:
    case 0xC4:
    case 0x29: put_own_signature(); return Outcome::Unsupported;
    default: log_unmodelled("command " + hex_byte(command)); return Outcome::Unsupported;
    }
}

AtapiCdrom::Outcome AtapiCdrom::device_reset() {
    // ATA-6 8.10: stop what runs, the signature, status 00h, diagnostic code 01; no interrupt.
    halt_transfer();
    phase_ = Phase::Idle;
    put_own_signature();
    status_ = 0;
    error_ = 0x01;
    return Outcome::Transferring;
}

AtapiCdrom::Outcome AtapiCdrom::packet() {
    // Features bit 0: the data phase by DMA, through the bus master.
    dma_ = (regs().feature & 0x01) != 0;
    if (dma_ && !bus_master_) {
        log_unmodelled("PACKET with DMA (no bus-master engine)");
        return Outcome::Unsupported;
    }
    byte_count_limit_ = static_cast<uint16_t>((regs().lba_high << 8) | regs().lba_mid);
    phase_ = Phase::CommandPacket;
    regs().count = kReasonCommand;
    status_ = kReady | kSeekComplete;
    begin_transfer(Transfer::FromHost, 12);
    return Outcome::Transferring;
}

void AtapiCdrom::block_done() {
    if (phase_ == Phase::CommandPacket) {
        std::array<uint8_t, 12> cdb{};
        std::copy_n(buffer_.begin(), cdb.size(), cdb.begin());
        execute_packet(cdb);
    } else if (phase_ == Phase::DataIn) {
        if (remaining_ > 0)
            send_next_block();
        else
            complete();
    } else {
        halt_transfer(); // IDENTIFY PACKET DEVICE's one block: no completion interrupt
    }
}

// --- the packet phases --------------------------------------------------------------------------

void AtapiCdrom::complete() {
    phase_ = Phase::Idle;
    halt_transfer();
    status_ = kReady | kSeekComplete;
    error_ = 0;
    regs().count = kReasonCommand | kReasonToHost;
    raise_interrupt();
}

void AtapiCdrom::check_condition(uint8_t sense_key, uint8_t additional_sense) {
    phase_ = Phase::Idle;
    halt_transfer();
    sense_key_ = sense_key;
    additional_sense_ = additional_sense;
    status_ = kReady | kError;
    error_ = static_cast<uint8_t>(sense_key << 4);
    regs().count = kReasonCommand | kReasonToHost;
    raise_interrupt();
}

void AtapiCdrom::reply(std::span<const uint8_t> data, uint32_t allocation_length) {
    std::copy(data.begin(), data.end(), reply_.begin());
    from_disc_ = false;
    reply_pos_ = 0;
    remaining_ = std::min<uint64_t>(data.size(), allocation_length);
    if (remaining_ == 0) {
        complete();
        return;
    }
    start_data();
}

void AtapiCdrom::read_sectors(uint64_t lba, uint64_t count) {
    if (lba > capacity() || count > capacity() - lba) {
        check_condition(kIllegalRequest, kLbaOutOfRange);
        return;
    }
    from_disc_ = true;
    disc_offset_ = lba * kSectorSize;
    remaining_ = count * kSectorSize;
    if (remaining_ == 0) {
        complete();
        return;
    }
    start_data();
}

void AtapiCdrom::send_next_block() {
    // The block is what is left, cut at the byte count limit (even when more follows) and at the
    // buffer.
    uint32_t limit = byte_count_limit_ == 0xFFFF ? 0xFFFE : byte_count_limit_;
    if (limit == 0) {
        log_unmodelled("byte count limit 0 (taken as the buffer size)");
        limit = kBufferBytes;
    }
    uint32_t size = static_cast<uint32_t>(std::min<uint64_t>(remaining_, limit));
    if (size < remaining_) size &= ~1u;
    size = std::min(size, kBufferBytes);
    if (!fill_buffer(size)) {
        check_condition(kMediumError, kUnrecoveredReadError);
        return;
    }
    regs().lba_mid = static_cast<uint8_t>(size);
    regs().lba_high = static_cast<uint8_t>(size >> 8);
    regs().count = kReasonToHost;
    status_ = kReady | kSeekComplete;
    begin_transfer(Transfer::ToHost, size);
    raise_interrupt();
}

bool AtapiCdrom::fill_buffer(uint32_t size) {
    const std::span<uint8_t> block(buffer_.data(), size);
    if (from_disc_) {
        if (!read_disc(disc_offset_, block)) return false;
        disc_offset_ += size;
    } else {
        std::copy_n(reply_.begin() + reply_pos_, size, block.begin());
        reply_pos_ += size;
    }
    remaining_ -= size;
    return true;
}

void AtapiCdrom::start_data() {
    if (!dma_) {
        phase_ = Phase::DataIn;
        send_next_block();
        return;
    }
    phase_ = Phase::DmaWait;
    if (await_bus_master()) run_dma();
}

void AtapiCdrom::bus_master_started() {
    if (phase_ == Phase::DmaWait) run_dma();
}

void AtapiCdrom::run_dma() {
    // All of the data through the PRD table, a buffer at a time; then the packet's completion.
    while (remaining_ > 0) {
        const uint32_t size = static_cast<uint32_t>(std::min<uint64_t>(remaining_, kBufferBytes));
        if (!fill_buffer(size)) {
            bus_master_->end_command(bus_master_channel_);
            check_condition(kMediumError, kUnrecoveredReadError);
            return;
        }
        if (!bus_master_->transfer(bus_master_channel_, std::span(buffer_.data(), size), true)) {
            bus_master_->end_command(bus_master_channel_);
            check_condition(kAbortedCommand, 0);
            return;
        }
    }
    bus_master_->end_command(bus_master_channel_);
    complete();
}

bool AtapiCdrom::read_disc(uint64_t offset, std::span<uint8_t> out) {
    // The medium has 512-byte sectors; a block need not start or end on one.
    constexpr uint64_t kUnit = BlockBackend::kSectorSize;
    std::array<uint8_t, kUnit> partial{};
    while (!out.empty()) {
        const uint64_t within = offset % kUnit;
        if (within == 0 && out.size() >= kUnit) {
            const size_t whole = out.size() / kUnit * kUnit;
            if (!disc_.read_sectors(offset / kUnit, out.first(whole))) return false;
            out = out.subspan(whole);
            offset += whole;
            continue;
        }
        if (!disc_.read_sectors(offset / kUnit, partial)) return false;
        const size_t n = std::min<size_t>(kUnit - within, out.size());
        std::copy_n(partial.begin() + static_cast<ptrdiff_t>(within), n, out.begin());
        out = out.subspan(n);
        offset += n;
    }
    return true;
}

// --- the SCSI commands --------------------------------------------------------------------------

void AtapiCdrom::execute_packet(std::span<const uint8_t, 12> cdb) {
    const uint8_t opcode = cdb[0];
    // The sense data describe the last command; REQUEST SENSE reports them (SPC-2 4.5).
    if (opcode != 0x03) sense_key_ = additional_sense_ = 0;
    switch (opcode) {
    case 0x00: complete(); return; // TEST UNIT READY: the disc is always in and ready
    case 0x03: request_sense(cdb); return;
    case 0x12: inquiry(cdb); return;
    case 0x1B: // START STOP UNIT
        if ((cdb[4] & 0x03) == 0x02) log_unmodelled("eject (the disc stays in)");
        complete();
        return;
    case 0x1E: complete(); return; // PREVENT ALLOW MEDIUM REMOVAL: nothing opens anyway
    case 0x25: read_capacity(); return;
    case 0x28: read_sectors(be32(cdb, 2), be16(cdb, 7)); return; // READ(10)
    case 0xA8: read_sectors(be32(cdb, 2), be32(cdb, 6)); return; // READ(12)
    case 0x2B:                                                   // SEEK(10)
        if (be32(cdb, 2) >= capacity())
            check_condition(kIllegalRequest, kLbaOutOfRange);
        else
            complete();
        return;
    case 0x43: read_toc(cdb); return;
    case 0x51: read_disc_information(cdb); return;
    case 0x5A: mode_sense(cdb); return;
    case 0x46: get_configuration(cdb); return;
    case 0x4A: get_event_status(cdb); return;
    case 0xBD: { // MECHANISM STATUS: no changer, no slots
        const std::array<uint8_t, 8> status{};
        reply(status, be16(cdb, 8));
        return;
    }
    case 0xBB: complete(); return; // SET CD SPEED: every speed is the same here
    default:
        log_unmodelled("packet command " + hex_byte(opcode));
        check_condition(kIllegalRequest, kInvalidOpcode);
        return;
    }
}

void AtapiCdrom::request_sense(std::span<const uint8_t, 12> cdb) {
    // Fixed-format sense data, current errors (SPC-2 7.20.2); reading them clears them.
    std::array<uint8_t, 18> sense{};
    sense[0] = 0x70;
    sense[2] = sense_key_;
    sense[7] = 10; // additional sense length
    sense[12] = additional_sense_;
    sense_key_ = additional_sense_ = 0;
    reply(sense, cdb[4]);
}

void AtapiCdrom::inquiry(std::span<const uint8_t, 12> cdb) {
    if (cdb[1] & 0x01) { // vital product data pages: none
        check_condition(kIllegalRequest, kInvalidField);
        return;
    }
    // Standard data (SPC-2 7.3.2): a removable CD/DVD device, ATAPI response format.
    std::array<uint8_t, 36> data{};
    data[0] = 0x05;
    data[1] = 0x80;
    data[3] = 0x21;
    data[4] = static_cast<uint8_t>(data.size() - 5);
    constexpr std::string_view kIdentification = "TRANSIT ATAPI CD-ROM    1.0 ";
    std::copy(kIdentification.begin(), kIdentification.end(), data.begin() + 8);
    reply(data, cdb[4]);
}

void AtapiCdrom::read_capacity() {
    std::array<uint8_t, 8> data{};
    put_be32(data.data(), static_cast<uint32_t>(std::max<uint64_t>(capacity(), 1) - 1));
    put_be32(data.data() + 4, kSectorSize);
    reply(data, static_cast<uint32_t>(data.size()));
}

void AtapiCdrom::read_toc(std::span<const uint8_t, 12> cdb) {
    // MMC-3 5.23: one data track (ADR 1, control 4) from LBA 0, the lead-out after the disc.
    // The format is in byte 2, or in the top bits of byte 9 (the older SFF-8020 place).
    const bool msf = (cdb[1] & 0x02) != 0;
    const uint8_t format = (cdb[2] & 0x0F) != 0 ? (cdb[2] & 0x0F) : cdb[9] >> 6;
    const uint8_t start_track = cdb[6];
    std::array<uint8_t, 20> toc{};
    size_t length = 4;
    toc[2] = toc[3] = 1; // first and last track (or session)
    if (format == 0) {
        if (start_track > 1 && start_track != 0xAA) {
            check_condition(kIllegalRequest, kInvalidField);
            return;
        }
        if (start_track <= 1) {
            toc[length + 1] = 0x14;
            toc[length + 2] = 1;
            put_toc_address(&toc[length + 4], 0, msf);
            length += 8;
        }
        toc[length + 1] = 0x16;
        toc[length + 2] = 0xAA;
        put_toc_address(&toc[length + 4], capacity(), msf);
        length += 8;
    } else if (format == 1) { // multi-session information: one session, its first track
        toc[length + 1] = 0x14;
        toc[length + 2] = 1;
        put_toc_address(&toc[length + 4], 0, msf);
        length += 8;
    } else {
        check_condition(kIllegalRequest, kInvalidField);
        return;
    }
    put_be16(toc.data(), static_cast<uint32_t>(length - 2));
    reply(std::span(toc.data(), length), be16(cdb, 7));
}

void AtapiCdrom::read_disc_information(std::span<const uint8_t, 12> cdb) {
    // MMC-3 5.18, standard disc information: a finalized single-session disc with track 1.
    if ((cdb[1] & 0x07) != 0) { // track resources / POW resources: not kept
        check_condition(kIllegalRequest, kInvalidField);
        return;
    }
    std::array<uint8_t, 34> info{};
    put_be16(info.data(), static_cast<uint32_t>(info.size() - 2));
    info[2] = 0x0E; // last session complete, disc complete
    info[3] = 1;    // first track on the disc
    info[4] = 1;    // sessions
    info[5] = 1;    // first and last track of the last session
    info[6] = 1;
    reply(info, be16(cdb, 7));
}

void AtapiCdrom::mode_sense(std::span<const uint8_t, 12> cdb) {
    const uint8_t page_control = cdb[2] >> 6;
    const uint8_t page = cdb[2] & 0x3F;
    if (page_control == 3) {
        check_condition(kIllegalRequest, kSavingNotSupported);
        return;
    }
    if (page != 0x01 && page != 0x2A && page != 0x3F) {
        check_condition(kIllegalRequest, kInvalidField);
        return;
    }
    std::array<uint8_t, 36> data{};
    size_t length = 8;                         // the mode parameter header; no block descriptors
    data[2] = 0x01;                            // medium type: 120 mm CD-ROM, data only
    const bool changeable = page_control == 1; // nothing can be changed: all zeros
    if (page == 0x01 || page == 0x3F) {        // read error recovery
        data[length] = 0x01;
        data[length + 1] = 6;
        if (!changeable) data[length + 3] = 5; // read retry count
        length += 8;
    }
    if (page == 0x2A || page == 0x3F) { // CD capabilities and mechanical status (MMC-3 6.3.11)
        uint8_t* p = &data[length];
        p[0] = 0x2A;
        p[1] = 18;
        if (!changeable) {
            p[6] = 0x29;           // tray loading, eject, lock supported
            put_be16(p + 8, 706);  // maximum read speed, kB/s (4x)
            put_be16(p + 10, 2);   // volume levels
            put_be16(p + 12, 512); // buffer size, KiB
            put_be16(p + 14, 706); // current read speed
        }
        length += 20;
    }
    put_be16(data.data(), static_cast<uint32_t>(length - 2));
    reply(std::span(data.data(), length), be16(cdb, 7));
}

void AtapiCdrom::get_configuration(std::span<const uint8_t, 12> cdb) {
    // MMC-3 5.5: the header with the current profile; from feature 0 on, the profile list.
    const bool dvd = capacity() > kCdMaxSectors;
    const uint16_t current = dvd ? 0x0010 : 0x0008;
    std::array<uint8_t, 20> data{};
    size_t length = 8;
    put_be16(&data[6], current);
    if (be16(cdb, 2) == 0) {
        data[length + 2] = 0x03; // version 0, persistent, current
        data[length + 3] = 8;
        put_be16(&data[length + 4], 0x0010);
        data[length + 6] = dvd ? 1 : 0;
        put_be16(&data[length + 8], 0x0008);
        data[length + 10] = dvd ? 0 : 1;
        length += 12;
    }
    put_be32(data.data(), static_cast<uint32_t>(length - 4));
    reply(std::span(data.data(), length), be16(cdb, 7));
}

void AtapiCdrom::get_event_status(std::span<const uint8_t, 12> cdb) {
    // MMC-3 5.6, polled only: the media class says "no change, disc present"; any other class
    // requested has no event (NEA).
    if (!(cdb[1] & 0x01)) {
        check_condition(kIllegalRequest, kInvalidField);
        return;
    }
    std::array<uint8_t, 8> data{};
    size_t length = 4;
    data[3] = 0x10; // supported classes: media
    if (cdb[4] & 0x10) {
        data[2] = 0x04;
        data[5] = 0x02; // media present, tray closed
        length = 8;
    } else {
        data[2] = 0x80;
    }
    put_be16(data.data(), static_cast<uint32_t>(length - 2));
    reply(std::span(data.data(), length), be16(cdb, 7));
}

} // namespace transit86::pc
