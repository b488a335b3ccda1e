#include "pc/ide_bus_master.hpp"

#include <algorithm>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

// A PRD table may not cross a 64 KiB boundary (SFF-8038i 1.2): at most 8,192 entries.
constexpr uint32_t kMaxEntries = 0x10000 / 8;

uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

} // namespace

uint8_t IdeBusMaster::read_byte(unsigned channel, unsigned offset) const {
    const Channel& c = channels_[channel];
    switch (offset) {
    case 0: return c.command;
    case 2: return c.status;
    case 4:
    case 5:
    case 6:
    case 7: return static_cast<uint8_t>(c.table >> (8 * (offset - 4)));
    default: return 0; // reserved
    }
}

void IdeBusMaster::write_byte(unsigned channel, unsigned offset, uint8_t value) {
    Channel& c = channels_[channel];
    switch (offset) {
    case 0: { // QEMU bmdma_cmd_writeb: start and direction are the only bits
        const bool was_started = (c.command & kStart) != 0;
        c.command = value & (kStart | kWritesMemory);
        if (!(value & kStart)) {
            c.status &= static_cast<uint8_t>(~kActive);
        } else if (!was_started) {
            c.status |= kActive;
            if (c.drive) c.drive->bus_master_started();
        }
        return;
    }
    case 2: // drive capable bits kept, error and interrupt cleared by writing 1, active read only
        c.status = static_cast<uint8_t>((value & 0x60) | (c.status & kActive) |
                                        (c.status & ~value & (kError | kInterrupt)));
        return;
    case 4:
    case 5:
    case 6:
    case 7: {
        const unsigned shift = 8 * (offset - 4);
        c.table = (c.table & ~(0xFFu << shift)) | (uint32_t{value} << shift);
        c.table &= ~3u;
        return;
    }
    default: return;
    }
}

uint32_t IdeBusMaster::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) -> uint8_t {
        const unsigned offset = p % kSize; // BMIBA is 16-byte aligned
        return read_byte(offset / 8, offset % 8);
    });
}

void IdeBusMaster::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t v) {
        const unsigned offset = p % kSize;
        write_byte(offset / 8, offset % 8, v);
    });
}

void IdeBusMaster::begin_command(unsigned channel) {
    Channel& c = channels_[channel];
    c.entry = 0;
    c.entry_used = 0;
    c.table_ended = false;
}

bool IdeBusMaster::fail(Channel& c, const char* why) {
    c.status |= kError;
    c.table_ended = true;
    if (log_) log_->unmodelled("ide-bus-master", why);
    return false;
}

bool IdeBusMaster::transfer(unsigned channel, std::span<uint8_t> data, bool to_memory) {
    Channel& c = channels_[channel];
    if (to_memory != ((c.command & kWritesMemory) != 0))
        return fail(c, "the command's direction is not the drive's transfer");
    size_t done = 0;
    while (done < data.size()) {
        if (c.table_ended || c.entry >= kMaxEntries)
            return fail(c, "the PRD table ends before the drive's data");
        std::array<uint8_t, 8> prd{};
        if (!memory_.dma_read(uint64_t{c.table} + 8ull * c.entry, prd))
            return fail(c, "a PRD entry outside guest RAM");
        const uint64_t address = le32(prd.data()) & ~1u;
        const uint32_t length =
            (le32(prd.data() + 4) & 0xFFFE) == 0 ? 0x10000 : le32(prd.data() + 4) & 0xFFFE;
        const bool last = (prd[7] & 0x80) != 0;
        const size_t n = std::min<size_t>(length - c.entry_used, data.size() - done);
        const std::span<uint8_t> part = data.subspan(done, n);
        const bool ok = to_memory ? memory_.dma_write(address + c.entry_used, part)
                                  : memory_.dma_read(address + c.entry_used, part);
        if (!ok) return fail(c, "a PRD buffer outside guest RAM");
        done += n;
        c.entry_used += static_cast<uint32_t>(n);
        if (c.entry_used == length) {
            c.entry_used = 0;
            if (last)
                c.table_ended = true;
            else
                ++c.entry;
        }
    }
    return true;
}

void IdeBusMaster::end_command(unsigned channel) {
    Channel& c = channels_[channel];
    c.status = static_cast<uint8_t>((c.status | kInterrupt) & ~kActive);
}

} // namespace transit86::pc
