#include "pc/i8237.hpp"

#include <algorithm>
#include <string>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

// Command register (8237A datasheet, "Command Register").
constexpr uint8_t kMemoryToMemory = 0x01;
constexpr uint8_t kChannel0AddressHold = 0x02;
constexpr uint8_t kControllerDisable = 0x04;

// Mode register: bits 1-0 the channel, 3-2 the transfer type, 4 autoinit, 5 decrement, 7-6 the
// mode select.
constexpr uint8_t kTypeMask = 0x0C;
constexpr uint8_t kTypeVerify = 0x00;
constexpr uint8_t kTypeWrite = 0x04; // device -> memory
constexpr uint8_t kTypeRead = 0x08;  // memory -> device
constexpr uint8_t kAutoinit = 0x10;
constexpr uint8_t kDecrement = 0x20;
constexpr uint8_t kModeSelectMask = 0xC0;
constexpr uint8_t kCascade = 0xC0;

// Register numbers 8-15 of a controller.
enum Register : unsigned {
    kCommandStatus = 8,
    kRequest = 9,
    kSingleMask = 10,
    kMode = 11,
    kClearFlipFlop = 12,
    kMasterClearTemporary = 13,
    kClearMasks = 14,
    kWriteMasks = 15,
};

std::string hex(uint64_t value) {
    constexpr char kDigits[] = "0123456789ABCDEF";
    std::string digits;
    do {
        digits.insert(digits.begin(), kDigits[value & 0xF]);
        value >>= 4;
    } while (value != 0);
    return "0x" + digits;
}

std::string channel_name(unsigned channel) {
    return "channel " + std::to_string(channel);
}

} // namespace

I8237Dma::I8237Dma(DmaMemory& memory, DeviceLog* log) : memory_(memory), log_(log) {
    for (Controller& dma : controllers_)
        master_clear(dma); // QEMU i8257_reset
}

uint32_t I8237Dma::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) { return read_byte(p); });
}

void I8237Dma::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t b) { write_byte(p, b); });
}

uint8_t I8237Dma::read_byte(uint16_t port) {
    if (port < kDma1Base + kDma1Size) return read_register(controllers_[0], port - kDma1Base);
    if (port >= kDma2Base && port < kDma2Base + kDma2Size)
        return read_register(controllers_[1], (port - kDma2Base) >> 1u);
    for (unsigned channel = 0; channel < kChannels; ++channel)
        if (kPagePorts[channel] == port)
            return controllers_[channel / 4].channels[channel % 4].page;
    return 0xFF; // not one of this device's ports
}

void I8237Dma::write_byte(uint16_t port, uint8_t value) {
    if (port < kDma1Base + kDma1Size)
        return write_register(controllers_[0], port - kDma1Base, value);
    if (port >= kDma2Base && port < kDma2Base + kDma2Size)
        return write_register(controllers_[1], (port - kDma2Base) >> 1u, value);
    for (unsigned channel = 0; channel < kChannels; ++channel)
        if (kPagePorts[channel] == port)
            controllers_[channel / 4].channels[channel % 4].page = value;
}

uint8_t I8237Dma::read_register(Controller& dma, unsigned reg) {
    if (reg < 8) { // current address (even) or current count (odd), through the flip-flop
        const Channel& c = dma.channels[reg >> 1];
        const uint16_t value = (reg & 1) ? c.count : c.address;
        const bool high = dma.flip_flop;
        dma.flip_flop = !high;
        return static_cast<uint8_t>(high ? value >> 8 : value);
    }
    switch (reg) {
    case kCommandStatus: {
        const auto status = static_cast<uint8_t>(dma.terminal_count | dma.request << 4);
        dma.terminal_count = 0; // TC bits clear on each status read; request bits stay
        return status;
    }
    // Illegal in the datasheet; QEMU's i8257_read_cont returns the mask register here.
    case kRequest: return dma.mask;
    // The temporary register holds the last byte of a memory-to-memory transfer, never done
    // here; master clear zeroes it, so it always reads 0 (as QEMU).
    case kMasterClearTemporary: return 0;
    // Registers 10, 11, 12, 14, 15: illegal reads in the datasheet, 0 in QEMU.
    default: return 0;
    }
}

void I8237Dma::write_register(Controller& dma, unsigned reg, uint8_t value) {
    if (reg < 8) { // the byte goes to the base and the current register alike
        Channel& c = dma.channels[reg >> 1];
        uint16_t& base = (reg & 1) ? c.base_count : c.base_address;
        uint16_t& current = (reg & 1) ? c.count : c.address;
        const bool high = dma.flip_flop;
        dma.flip_flop = !high;
        const uint16_t keep = high ? 0x00FF : 0xFF00;
        const auto byte = static_cast<uint16_t>(high ? value << 8 : value);
        base = static_cast<uint16_t>((base & keep) | byte);
        current = static_cast<uint16_t>((current & keep) | byte);
        return;
    }
    const unsigned index = value & 3u;
    const auto bit = static_cast<uint8_t>(1u << index);
    switch (reg) {
    case kCommandStatus: write_command(dma, value); return;
    case kRequest: // bit 2 sets, clear clears; storage only (no transfer starts)
        dma.request = static_cast<uint8_t>((value & 0x04) ? dma.request | bit : dma.request & ~bit);
        return;
    case kSingleMask:
        dma.mask = static_cast<uint8_t>((value & 0x04) ? dma.mask | bit : dma.mask & ~bit);
        return;
    case kMode: dma.channels[index].mode = value; return;
    case kClearFlipFlop: dma.flip_flop = false; return;
    case kMasterClearTemporary: master_clear(dma); return;
    case kClearMasks: dma.mask = 0; return;
    case kWriteMasks: dma.mask = value; return; // QEMU keeps the whole byte (read at 9)
    default: return;
    }
}

void I8237Dma::write_command(Controller& dma, uint8_t value) {
    dma.command = value;
    const std::string name =
        std::string(&dma == &controllers_[0] ? "DMA1" : "DMA2") + " command " + hex_byte(value);
    if (value & (kMemoryToMemory | kChannel0AddressHold))
        note(name + ": memory-to-memory transfers are not modelled");
    else if (value & 0xF8)
        note(name + ": timing, priority and DREQ/DACK polarity bits have no effect");
}

void I8237Dma::master_clear(Controller& dma) {
    // Datasheet: command, status, request, temporary and flip-flop cleared, mask set. QEMU sets
    // the whole mask byte (register 9 then reads 0xFF).
    dma.command = 0;
    dma.terminal_count = 0;
    dma.request = 0;
    dma.flip_flop = false;
    dma.mask = 0xFF;
}

bool I8237Dma::ready(unsigned channel) const {
    if (channel >= kChannels) return false;
    const auto open = [this](unsigned ch) {
        const Controller& dma = controllers_[ch / 4];
        return !(dma.mask & (1u << (ch % 4))) && !(dma.command & kControllerDisable) &&
               (dma.channels[ch % 4].mode & kModeSelectMask) != kCascade;
    };
    if (!open(channel)) return false;
    if (channel >= 4) return true;
    // DMA1's requests reach the bus through DMA2 channel 4, which must be unmasked, enabled and
    // in cascade mode.
    const Controller& dma2 = controllers_[1];
    return !(dma2.mask & 1u) && !(dma2.command & kControllerDisable) &&
           (dma2.channels[0].mode & kModeSelectMask) == kCascade;
}

uint64_t I8237Dma::physical(unsigned channel, const Channel& c, uint16_t address) const {
    if (channel < 4) return uint64_t{c.page} << 16 | address;
    // 16-bit channels: the address register gives A16-A1, page bits 7-1 give A23-A17.
    return uint64_t{c.page & 0xFEu} << 16 | uint64_t{address} << 1;
}

size_t I8237Dma::move_run(unsigned channel, const Channel& c, std::span<uint8_t> data, size_t units,
                          DmaDirection direction) {
    const size_t unit = channel >= 4 ? 2 : 1;
    const uint64_t gpa = physical(channel, c, c.address);
    const auto access = [&](uint64_t at, std::span<uint8_t> bytes) {
        return direction == DmaDirection::ToMemory
                   ? memory_.dma_write(at, std::span<const uint8_t>(bytes))
                   : memory_.dma_read(at, bytes);
    };
    if (access(gpa, data.first(units * unit))) return units;
    // Refused somewhere: move unit by unit up to the first unit memory refuses.
    for (size_t k = 0; k < units; ++k)
        if (!access(gpa + k * unit, data.subspan(k * unit, unit))) return k;
    return units;
}

void I8237Dma::reach_terminal_count(Controller& dma, unsigned index) {
    Channel& c = dma.channels[index];
    const auto bit = static_cast<uint8_t>(1u << index);
    dma.terminal_count |= bit;
    dma.request = static_cast<uint8_t>(dma.request & ~bit);
    if (c.mode & kAutoinit) {
        c.address = c.base_address;
        c.count = c.base_count;
    } else {
        dma.mask |= bit;
    }
}

DmaTransfer I8237Dma::transfer(unsigned channel, std::span<uint8_t> data, DmaDirection direction) {
    if (!ready(channel)) return {};
    Controller& dma = controllers_[channel / 4];
    Channel& c = dma.channels[channel % 4];
    const uint8_t type = c.mode & kTypeMask;
    if (type == kTypeMask) {
        note(channel_name(channel) + ": mode " + hex_byte(c.mode) +
             " has the illegal transfer type 11; nothing moved");
        return {};
    }
    if ((type == kTypeWrite && direction != DmaDirection::ToMemory) ||
        (type == kTypeRead && direction != DmaDirection::FromMemory)) {
        note(channel_name(channel) + ": mode " + hex_byte(c.mode) +
             (type == kTypeWrite ? " writes memory but the device reads it"
                                 : " reads memory but the device writes it") +
             "; nothing moved");
        return {};
    }

    const size_t unit = channel >= 4 ? 2 : 1;
    const size_t units = data.size() / unit;
    const bool decrement = (c.mode & kDecrement) != 0;
    size_t done = 0;
    bool terminal_count = false;
    while (done < units && !terminal_count) {
        // A run of units at consecutive addresses: up to terminal count, the end of the page
        // (the 16-bit address counter wraps), and the end of the data. Decrementing goes one
        // unit at a time, each below the previous.
        const size_t to_terminal_count = size_t{c.count} + 1;
        const size_t to_wrap = decrement ? 1 : 0x10000u - c.address;
        const size_t n = std::min({units - done, to_terminal_count, to_wrap});
        const size_t moved =
            type == kTypeVerify ? n : move_run(channel, c, data.subspan(done * unit), n, direction);
        c.address = static_cast<uint16_t>(decrement ? c.address - moved : c.address + moved);
        c.count = static_cast<uint16_t>(c.count - moved);
        done += moved;
        terminal_count = moved == to_terminal_count;
        if (moved < n) {
            note(channel_name(channel) + ": guest memory refused an access at " +
                 hex(physical(channel, c, c.address)) + "; transfer stopped after " +
                 std::to_string(done * unit) + " bytes");
            break;
        }
    }
    if (terminal_count) reach_terminal_count(dma, channel % 4);
    return {done * unit, terminal_count};
}

void I8237Dma::note(std::string_view what) const {
    if (log_) log_->unmodelled("dma", what);
}

} // namespace transit86::pc
