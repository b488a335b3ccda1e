#include "pc/ata_disk.hpp"

#include <algorithm>

namespace transit86::pc {

namespace {

// The most sectors CHS can address (ATA-6 6.2.1: 16,383 x 16 x 63).
constexpr uint64_t kChsSectorLimit = 16383ull * 16 * 63;

} // namespace

AtaDisk::Geometry AtaDisk::default_geometry(uint64_t sectors) {
    const uint64_t cylinders = std::clamp<uint64_t>(sectors / (16 * 63), 2, 16383);
    return {static_cast<uint16_t>(cylinders), 16, 63};
}

AtaDisk::AtaDisk(BlockBackend& image, IrqLines& irq, DeviceLog* log)
    : AtaDisk(image, default_geometry(image.sector_count()), irq, log) {}

AtaDisk::AtaDisk(BlockBackend& image, Geometry geometry, IrqLines& irq, DeviceLog* log)
    : IdeDrive(kPrimaryIdeChannel, false, "ata", irq, log), image_(image),
      default_geometry_(geometry) {
    reset();
}

void AtaDisk::reset() {
    reset_registers();
    software_reset_done();
    current_ = default_geometry_;
    features_ = AtaIdentity{};
    after_block_ = AfterBlock::Stop;
}

void AtaDisk::software_reset_done() {
    // QEMU ide_reset: LBA48 off, READ/WRITE MULTIPLE back to 16 sectors, no DMA pending.
    dma_pending_ = DmaPending::None;
    lba48_ = false;
    multiple_sectors_ = kAtaMaxMultipleSectors;
}

void AtaDisk::begin_block(Transfer direction, uint32_t bytes, AfterBlock after) {
    after_block_ = after;
    begin_transfer(direction, bytes);
}

void AtaDisk::block_done() {
    switch (after_block_) {
    case AfterBlock::ReadNext: read_block(); break;
    case AfterBlock::WriteBlock: write_block(); break;
    case AfterBlock::Stop: halt_transfer(); break;
    }
}

// --- addressing ---------------------------------------------------------------------------------

void AtaDisk::set_whole_count(bool lba48) {
    // A count of 0 means 256 sectors (28-bit commands) or 65536 (48-bit commands); a 48-bit
    // count is the HOB byte and the current one (QEMU ide_cmd_lba48_transform).
    lba48_ = lba48;
    TaskFile& task = regs();
    if (!lba48) {
        if (task.count == 0) task.count = 256;
    } else if (task.count == 0 && task.hob_count == 0) {
        task.count = 65536;
    } else {
        task.count = (uint32_t{task.hob_count} << 8) | task.count;
    }
}

bool AtaDisk::address(uint64_t& lba) const {
    const TaskFile& task = regs();
    if (task.device & kLbaMode) {
        lba = (uint64_t{task.lba_high} << 16) | (uint64_t{task.lba_mid} << 8) | task.lba_low;
        if (lba48_) {
            lba |= (uint64_t{task.hob_lba_high} << 40) | (uint64_t{task.hob_lba_mid} << 32) |
                   (uint64_t{task.hob_lba_low} << 24);
        } else {
            lba |= uint64_t{task.device & 0x0Fu} << 24;
        }
        return true;
    }
    // CHS through the current translation; sectors count from 1.
    if (task.lba_low == 0 || current_.heads == 0 || current_.sectors_per_track == 0) return false;
    const uint64_t cylinder = (uint64_t{task.lba_high} << 8) | task.lba_mid;
    const uint64_t head = task.device & 0x0Fu;
    lba = (cylinder * current_.heads + head) * current_.sectors_per_track + task.lba_low - 1;
    return true;
}

void AtaDisk::set_address(uint64_t lba) {
    TaskFile& task = regs();
    if (task.device & kLbaMode) {
        task.lba_low = static_cast<uint8_t>(lba);
        task.lba_mid = static_cast<uint8_t>(lba >> 8);
        task.lba_high = static_cast<uint8_t>(lba >> 16);
        if (lba48_) {
            task.hob_lba_low = static_cast<uint8_t>(lba >> 24);
            task.hob_lba_mid = static_cast<uint8_t>(lba >> 32);
            task.hob_lba_high = static_cast<uint8_t>(lba >> 40);
        } else {
            task.device = static_cast<uint8_t>((task.device & 0xF0) | ((lba >> 24) & 0x0F));
        }
        return;
    }
    const uint64_t per_cylinder = uint64_t{current_.heads} * current_.sectors_per_track;
    if (per_cylinder == 0) return;
    const uint64_t cylinder = lba / per_cylinder;
    const uint64_t rest = lba % per_cylinder;
    task.lba_high = static_cast<uint8_t>(cylinder >> 8);
    task.lba_mid = static_cast<uint8_t>(cylinder);
    task.device =
        static_cast<uint8_t>((task.device & 0xF0) | ((rest / current_.sectors_per_track) & 0x0F));
    task.lba_low = static_cast<uint8_t>(rest % current_.sectors_per_track + 1);
}

bool AtaDisk::range_ok(uint64_t lba, uint64_t count) const {
    const uint64_t total = image_.sector_count();
    return lba <= total && count <= total - lba;
}

// --- transfers ----------------------------------------------------------------------------------

void AtaDisk::read_block() {
    // QEMU ide_sector_read: the next block (up to block_sectors_) is read into the buffer, the
    // registers advance past it, DRQ and INTRQ announce it. After the last block: done.
    status_ = kReady | kSeekComplete;
    error_ = 0;
    TaskFile& task = regs();
    if (task.count == 0) {
        halt_transfer();
        return;
    }
    const uint32_t sectors = std::min(task.count, block_sectors_);
    uint64_t lba = 0;
    if (!address(lba) || !range_ok(lba, sectors) ||
        !image_.read_sectors(lba, std::span(buffer_.data(), sectors * BlockBackend::kSectorSize))) {
        abort_command();
        raise_interrupt();
        return;
    }
    set_address(lba + sectors);
    task.count -= sectors;
    begin_block(Transfer::ToHost, sectors * BlockBackend::kSectorSize, AfterBlock::ReadNext);
    raise_interrupt();
}

void AtaDisk::write_block() {
    // QEMU ide_sector_write: the block the host just filled goes to the image; then DRQ for the
    // next block, or done; INTRQ either way.
    status_ = kReady | kSeekComplete;
    TaskFile& task = regs();
    const uint32_t sectors = std::min(task.count, block_sectors_);
    uint64_t lba = 0;
    if (!address(lba) || !range_ok(lba, sectors) ||
        !image_.write_sectors(
            lba, std::span<const uint8_t>(buffer_.data(), sectors * BlockBackend::kSectorSize))) {
        abort_command();
        raise_interrupt();
        return;
    }
    task.count -= sectors;
    set_address(lba + sectors);
    if (task.count == 0) {
        halt_transfer();
    } else {
        const uint32_t next = std::min(task.count, block_sectors_);
        begin_block(Transfer::FromHost, next * BlockBackend::kSectorSize, AfterBlock::WriteBlock);
    }
    raise_interrupt();
}

bool AtaDisk::prepare_pio(bool lba48, bool multiple) {
    if (multiple && multiple_sectors_ == 0) {
        abort_command(); // READ/WRITE MULTIPLE while SET MULTIPLE MODE has it disabled
        return false;
    }
    set_whole_count(lba48);
    block_sectors_ = multiple ? multiple_sectors_ : 1;
    return true;
}

AtaDisk::Outcome AtaDisk::read_command(bool lba48, bool multiple) {
    if (!prepare_pio(lba48, multiple)) return Outcome::Done;
    read_block();
    return Outcome::Transferring;
}

AtaDisk::Outcome AtaDisk::write_command(bool lba48, bool multiple) {
    if (!prepare_pio(lba48, multiple)) return Outcome::Done;
    status_ = kReady | kSeekComplete;
    const uint32_t sectors = std::min(regs().count, block_sectors_);
    begin_block(Transfer::FromHost, sectors * BlockBackend::kSectorSize, AfterBlock::WriteBlock);
    return Outcome::Transferring;
}

// --- DMA (ATA-6 9.9: the DMA protocol; the data moves through the bus master) ------------------

AtaDisk::Outcome AtaDisk::dma_command(uint8_t command, bool lba48, bool to_memory) {
    if (!bus_master_) {
        log_unmodelled("DMA command " + hex_byte(command) + " (no bus-master engine)");
        return Outcome::Unsupported;
    }
    set_whole_count(lba48);
    uint64_t lba = 0;
    if (!address(lba) || !range_ok(lba, regs().count)) {
        abort_command();
        return Outcome::Done;
    }
    dma_pending_ = to_memory ? DmaPending::ToMemory : DmaPending::FromMemory;
    if (await_bus_master()) run_dma();
    return Outcome::Transferring;
}

void AtaDisk::bus_master_started() {
    if (dma_pending_ != DmaPending::None) run_dma();
}

void AtaDisk::run_dma() {
    // The whole command at once, a buffer of sectors at a time, each checked against the image
    // (the range was checked at the command) and moved through the PRD table.
    const bool to_memory = dma_pending_ == DmaPending::ToMemory;
    dma_pending_ = DmaPending::None;
    TaskFile& task = regs();
    uint64_t lba = 0;
    bool ok = address(lba);
    while (ok && task.count > 0) {
        const uint32_t sectors = std::min<uint32_t>(task.count, kAtaMaxMultipleSectors);
        const std::span<uint8_t> block(buffer_.data(), sectors * BlockBackend::kSectorSize);
        ok = to_memory ? image_.read_sectors(lba, block) &&
                             bus_master_->transfer(bus_master_channel_, block, true)
                       : bus_master_->transfer(bus_master_channel_, block, false) &&
                             image_.write_sectors(lba, block);
        if (!ok) break;
        lba += sectors;
        task.count -= sectors;
    }
    set_address(lba);
    if (ok) {
        status_ = kReady | kSeekComplete;
        error_ = 0;
    } else {
        abort_command();
    }
    bus_master_->end_command(bus_master_channel_);
    raise_interrupt();
}

// --- commands -----------------------------------------------------------------------------------

AtaIdentity AtaDisk::identity() const {
    AtaIdentity id = features_;
    id.total_sectors = image_.sector_count();
    id.cylinders = default_geometry_.cylinders;
    id.heads = default_geometry_.heads;
    id.sectors_per_track = default_geometry_.sectors_per_track;
    id.current_cylinders = current_.cylinders;
    id.current_heads = current_.heads;
    id.current_sectors_per_track = current_.sectors_per_track;
    id.multiple_sectors = multiple_sectors_;
    return id;
}

void AtaDisk::identify_device() {
    const auto words = ata_identify_device(identity());
    for (size_t i = 0; i < words.size(); ++i) {
        buffer_[2 * i] = static_cast<uint8_t>(words[i]);
        buffer_[2 * i + 1] = static_cast<uint8_t>(words[i] >> 8);
    }
    status_ = kReady | kSeekComplete;
    begin_block(Transfer::ToHost, BlockBackend::kSectorSize, AfterBlock::Stop);
    raise_interrupt();
}

void AtaDisk::execute_device_diagnostic() {
    // QEMU cmd_exec_dev_diagnostic: the signature, DRDY, diagnostic code 01 in the error
    // register (not an error: ERR stays clear), an interrupt.
    TaskFile& task = regs();
    task.count = 1;
    task.lba_low = 1;
    task.lba_mid = task.lba_high = 0;
    task.device &= 0xF0;
    status_ = kReady | kSeekComplete;
    error_ = 0x01;
    raise_interrupt();
}

void AtaDisk::read_native_max_address(bool lba48) {
    if (image_.sector_count() == 0) { // nothing addressable (QEMU refuses the same way)
        abort_command();
        return;
    }
    set_whole_count(lba48);
    set_address(image_.sector_count() - 1);
}

void AtaDisk::verify(bool lba48) {
    // READ VERIFY SECTORS transfers nothing; an address past the end aborts.
    set_whole_count(lba48);
    uint64_t lba = 0;
    if (!address(lba) || !range_ok(lba, regs().count)) abort_command();
}

void AtaDisk::set_multiple_mode() {
    // 0 disables READ/WRITE MULTIPLE; otherwise a power of two up to 16 (QEMU
    // cmd_set_multiple_mode, MAX_MULT_SECTORS).
    const uint32_t count = regs().count & 0xFF;
    if (count != 0 && (count > kAtaMaxMultipleSectors || (count & (count - 1)) != 0)) {
        abort_command();
        return;
    }
    multiple_sectors_ = static_cast<uint8_t>(count);
}

void AtaDisk::initialize_device_parameters() {
    // ATA-6 8.16: sectors per track from the sector count, heads from device/head bits 3-0
    // plus one; the cylinders follow (6.2.1). QEMU ignores this command; a BIOS that
    // translates for itself expects the disk to honour it.
    const uint16_t sectors = static_cast<uint16_t>(regs().count & 0xFF);
    const uint16_t heads = static_cast<uint16_t>((regs().device & 0x0F) + 1);
    if (sectors == 0) {
        abort_command();
        return;
    }
    const uint64_t addressable = std::min(image_.sector_count(), kChsSectorLimit);
    const uint64_t cylinders = std::min<uint64_t>(addressable / (uint64_t{heads} * sectors), 65535);
    current_ = {static_cast<uint16_t>(cylinders), heads, sectors};
}

void AtaDisk::set_features() {
    const uint8_t count = static_cast<uint8_t>(regs().count);
    switch (regs().feature) {
    case 0x02: features_.write_cache = true; return;
    case 0x82: features_.write_cache = false; return;
    case 0x03: { // set transfer mode: mode class in count bits 7-3, the mode in bits 2-0
        const uint16_t selected = static_cast<uint16_t>(1u << ((count & 7) + 8));
        features_.single_word_dma = 0x07;
        features_.multiword_dma = 0x07;
        features_.ultra_dma = 0x3F;
        switch (count >> 3) {
        case 0x00:
        case 0x01: return; // PIO default / PIO flow control mode
        case 0x02: features_.single_word_dma |= selected; return;
        case 0x04: features_.multiword_dma |= selected; return;
        case 0x08: features_.ultra_dma |= selected; return;
        default: break;
        }
        break;
    }
    // Accepted and ignored, as QEMU does: power-on defaults, read look-ahead, advanced power
    // management, automatic acoustic management, vendor no-ops.
    case 0xCC:
    case 0x66:
    case 0xAA:
    case 0x55:
    case 0x05:
    case 0x85:
    case 0x69:
    case 0x67:
    case 0x96:
    case 0x9A:
    case 0x42:
    case 0xC2: return;
    default: break;
    }
    abort_command();
}

AtaDisk::Outcome AtaDisk::run_command(uint8_t command) {
    switch (command) {
    case 0x20: // READ SECTORS (with and without retry)
    case 0x21: return read_command(false, false);
    case 0x24: return read_command(true, false); // READ SECTORS EXT
    case 0xC4: return read_command(false, true); // READ MULTIPLE
    case 0x29: return read_command(true, true);  // READ MULTIPLE EXT
    case 0x30:                                   // WRITE SECTORS (with and without retry)
    case 0x31: return write_command(false, false);
    case 0x34: return write_command(true, false); // WRITE SECTORS EXT
    case 0xC5: return write_command(false, true); // WRITE MULTIPLE
    case 0x39: return write_command(true, true);  // WRITE MULTIPLE EXT
    case 0x40:                                    // READ VERIFY SECTORS (with and without retry)
    case 0x41: verify(false); return Outcome::DoneWithSeek;
    case 0x42: verify(true); return Outcome::DoneWithSeek;
    case 0xEC: identify_device(); return Outcome::Transferring;
    case 0x90: execute_device_diagnostic(); return Outcome::Transferring;
    case 0x91: initialize_device_parameters(); return Outcome::DoneWithSeek;
    case 0xC6: set_multiple_mode(); return Outcome::DoneWithSeek;
    case 0xEF: set_features(); return Outcome::DoneWithSeek;
    case 0x10: // RECALIBRATE
    case 0x70: // SEEK
    case 0xE7: // FLUSH CACHE
    case 0xEA: // FLUSH CACHE EXT
        return Outcome::DoneWithSeek;
    case 0xF8: read_native_max_address(false); return Outcome::DoneWithSeek;
    case 0x27: read_native_max_address(true); return Outcome::DoneWithSeek;
    case 0xA1: return Outcome::Unsupported; // IDENTIFY PACKET DEVICE: not a packet device
    case 0xC8:                              // READ DMA (with and without retry)
    case 0xC9: return dma_command(command, false, true);
    case 0x25: return dma_command(command, true, true); // READ DMA EXT
    case 0xCA:                                          // WRITE DMA (with and without retry)
    case 0xCB: return dma_command(command, false, false);
    case 0x35: return dma_command(command, true, false); // WRITE DMA EXT
    default: log_unmodelled("command " + hex_byte(command)); return Outcome::Unsupported;
    }
}

} // namespace transit86::pc
