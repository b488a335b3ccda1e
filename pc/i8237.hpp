// i8237: the PC's two Intel 8237A DMA controllers, as the PIIX3 integrates them and QEMU's
// hw/dma/i8257.c models them for the "pc" machine (created with high_page_enable = 0).
//
// Ports. DMA1 (channels 0-3, 8-bit) at 0x00-0x0F, one register a port; DMA2 (channels 4-7,
// 16-bit) at 0xC0-0xDF, register (port - 0xC0) >> 1, so an odd port is the even register below
// it. Registers 0-7 are the channels' address (even) and count (odd) registers, read and written
// a byte at a time through the controller's byte pointer flip-flop, low byte first; 8-15 are the
// command/status, request, single mask, mode, clear flip-flop, master clear/temporary, clear all
// masks and write all masks registers. The page registers (bits 23-16 of a transfer's physical
// address) are at 0x87, 0x83, 0x81, 0x82 (channels 0-3) and 0x8F, 0x8B, 0x89, 0x8A (4-7); the
// other ports of 0x80-0x8F are not this device (0x80 is the POST port). No high-page registers.
//
// Modelled: base and current address/count registers (a write sets both, a read gives the
// current one); the status register (terminal count bits 0-3, cleared by the read; request bits
// 4-7); the request register as storage (a software DREQ starts nothing; TC and master clear
// clear it); single, clear-all and write-all masks; the mode register (transfer type, autoinit,
// address decrement, the mode select only for cascade); command bit 2 (controller disable); master
// clear; DMA1 cascaded into DMA2 channel 4 (a DMA1 channel moves data only while channel 4 is
// unmasked and in cascade mode and DMA2 is enabled — "masking DMA channel 4 will automatically
// mask DMA channels [3:0]", 82378 SIO / PIIX family; SeaBIOS's dma_setup sets this up).
//
// Transfers are synchronous: an ISA device (the floppy controller on channel 2) calls transfer()
// with its buffer, and the channel moves as much of it as it is programmed for, at once. Single,
// demand and block modes all behave this way (no timing, no DREQ/DACK, no bus arbitration between
// channels). At terminal count — the current count passing 0 -> 0xFFFF, so N + 1 units for a
// programmed N — the status TC bit and (datasheet) the request bit are updated; with autoinit the
// current address and count are reloaded from the base registers and the channel stays unmasked,
// without it the channel masks itself (8237A datasheet, "Mask Register"). QEMU does neither: its
// channel stays unmasked and keeps its end position (its count reads 0xFFFF either way).
//
// Not modelled: memory-to-memory transfers (command bit 0, with bit 1's channel 0 address hold:
// logged), compressed timing, extended write, rotating priority, DREQ/DACK polarity (command bits
// 3-7: stored, logged, no effect), the timing of demand and block modes, software DREQ beyond
// storage, the temporary register (reads 0: it only ever holds a memory-to-memory byte).
//
// Differences from QEMU's i8257.c, besides TC masking and autoinit reload above:
// - the current address wraps within its page as the 8237's 16-bit counter does (64 KiB for
//   channels 0-3, 128 KiB for 5-7); QEMU adds the position to the page base without wrapping;
// - 16-bit channels drop page bit 0, as the AT is wired: physical = ((page & 0xFE) << 16) |
//   address << 1; QEMU ORs the whole page over the shifted address;
// - a write of either byte of an address or count register goes to base and current (datasheet);
//   QEMU stores the byte in the base register only and, on a high byte, reloads the channel's
//   current address and count from base;
// - a command with unmodelled bits is stored and logged; QEMU drops the whole write;
// - writing the request register leaves the channel's TC status bit alone (QEMU clears it);
// - DMA1 channels wait for the cascade through DMA2 channel 4 (QEMU ignores it), and command
//   bit 2 stops the controller (QEMU stores it and transfers anyway);
// - decrement mode puts unit k of the device's data at address - k; QEMU's copy reverses the
//   buffer (only half of it on a read from memory) and does not handle 16-bit channels.
// Reads the datasheet calls illegal return what QEMU returns: register 9 the mask register as
// last written (0xFF after reset), registers 10, 11, 12, 14 and 15 zero.
//
// References: Intel 8237A High Performance Programmable DMA Controller datasheet (231466);
// Intel 82371SB (PIIX3) datasheet, DMA controller registers; Intel 82378 SIO datasheet 3.2
// (channel 4 masking DMA1); QEMU hw/dma/i8257.c, hw/i386/pc.c (i8257_dma_init); SeaBIOS
// src/hw/dma.c (dma_setup, dma_floppy).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "pc/device.hpp"

namespace transit86::pc {

// Which way a transfer goes, from the ISA device's side: it writes guest memory (a disk read,
// transfer type 01 "write") or reads it (type 10 "read").
enum class DmaDirection : uint8_t { ToMemory, FromMemory };

// What a transfer() did: the bytes of the device's buffer it used (moved, or counted in verify
// mode), and whether the channel reached terminal count.
struct DmaTransfer {
    size_t bytes = 0;
    bool terminal_count = false;
};

class I8237Dma final : public IoDevice {
  public:
    static constexpr uint16_t kDma1Base = 0x00;
    static constexpr uint16_t kDma1Size = 0x10;
    static constexpr uint16_t kDma2Base = 0xC0;
    static constexpr uint16_t kDma2Size = 0x20;
    // The page register of each channel 0-7 (each one port, read/write).
    static constexpr std::array<uint16_t, 8> kPagePorts = {0x87, 0x83, 0x81, 0x82,
                                                           0x8F, 0x8B, 0x89, 0x8A};
    static constexpr unsigned kChannels = 8;

    // Power-on state as QEMU's reset (a master clear of both controllers): every channel masked,
    // command, status, request and flip-flops clear; address, count, mode and page registers 0.
    explicit I8237Dma(DmaMemory& memory, DeviceLog* log = nullptr);

    // Absolute ports; a wider access is that many byte accesses at consecutive ports.
    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // Whether `channel` (0-7) would move data now: unmasked, its controller enabled (command bit
    // 2 clear), not in cascade mode, and for channels 0-3 the cascade through DMA2 channel 4 open.
    bool ready(unsigned channel) const;

    // Moves data between the device's buffer and guest memory as `channel` is programmed, from
    // its current address (incrementing or decrementing, within its page) for as many units as
    // fit in `data` and its current count, stopping at terminal count (see the top comment).
    // Channels 0-3 move bytes; 4-7 move words (data.size() is still bytes; an odd last byte is
    // not used). Type 01 (write) needs ToMemory, 10 (read) FromMemory; type 00 (verify) accesses
    // no memory and leaves `data` alone but counts as if it moved it. Nothing happens (bytes 0)
    // when the channel is not ready(); a type that contradicts `direction`, or type 11, is also
    // logged. Every memory access goes through DmaMemory: a refused one is logged and the
    // transfer stops there, the registers and `bytes` counting the units moved before it.
    DmaTransfer transfer(unsigned channel, std::span<uint8_t> data, DmaDirection direction);

  private:
    struct Channel {
        uint16_t base_address = 0;
        uint16_t base_count = 0;
        uint16_t address = 0; // current address (words for 16-bit channels)
        uint16_t count = 0;   // current count: units left minus one
        uint8_t mode = 0;
        uint8_t page = 0;
    };
    struct Controller {
        std::array<Channel, 4> channels{};
        uint8_t command = 0;
        uint8_t terminal_count = 0; // status bits 0-3
        uint8_t request = 0;        // request register, status bits 4-7
        uint8_t mask = 0;           // bits 0-3 the masks; the whole byte as written (QEMU)
        bool flip_flop = false;     // false: the next channel register access is the low byte
    };

    uint8_t read_byte(uint16_t port);
    void write_byte(uint16_t port, uint8_t value);
    uint8_t read_register(Controller& dma, unsigned reg);
    void write_register(Controller& dma, unsigned reg, uint8_t value);
    void write_command(Controller& dma, uint8_t value);
    static void master_clear(Controller& dma);

    // Moves `units` units of `data` starting at the channel's current address, upwards; returns
    // the units moved (fewer when memory refuses an access).
    size_t move_run(unsigned channel, const Channel& c, std::span<uint8_t> data, size_t units,
                    DmaDirection direction);
    uint64_t physical(unsigned channel, const Channel& c, uint16_t address) const;
    void reach_terminal_count(Controller& dma, unsigned index);
    void note(std::string_view what) const;

    DmaMemory& memory_;
    DeviceLog* log_;
    std::array<Controller, 2> controllers_{};
};

} // namespace transit86::pc
