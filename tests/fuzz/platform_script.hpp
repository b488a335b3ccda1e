// The script language of fuzz_platform (docs/fuzzing.md, "fuzz_platform"): what a guest can
// do to the PC platform, one operation after another, as its CPU would do it (port I/O, loads
// and stores, MMIO, time passing, the INTA cycle). Shared by the fuzz target, which reads
// scripts, and fuzz_seeds, which writes the hand-made seeds with PlatformScriptWriter.
//
// A script is a 3-byte header, then operations: an opcode byte (taken modulo the number of
// operations) and its operands. Every read past the end gives 0, so any byte string is a
// script. Multi-byte operands are little-endian.
//
// Header: [disk] bits 0-2 size index, bit 3 a large synthetic disk (LBA48 sizes), bit 4 no
//         disk, bit 5 a CD-ROM on the secondary channel, bit 6 a 1.44M diskette in drive A:;
//         [flags] PlatformFlag bits; [save] the step
//         after which the platform is saved (and later restored and the rest replayed); past the
//         last step: at the end.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace transit86::fuzz {

enum class PlatformOp : uint8_t {
    PortRead,     // [port][size]
    PortWrite,    // [port][size][u32 value]
    MmioRead,     // [region][u16 offset][size] (raw region: + u32 address)
    MmioWrite,    // [region][u16 offset][size][u64 value]
    RamStore,     // [address][n] then n bytes, stored as the CPU would (slots, else MMIO)
    RamLoad,      // [address][n]: n bytes loaded as the CPU would
    FwCfgDma,     // [control][key][length][target address][descriptor address]
    FwCfgRead,    // [key][n]: select key at 0x510, read n + 1 bytes from 0x511
    Advance,      // [mode][mantissa]: virtual time passes (mode: PlatformAdvance)
    Acknowledge,  // [spurious]: the INTA cycle when INTR is high (or anyway if spurious & 1)
    AtaCommand,   // [flags][feature][count][lba0][lba1][lba2][device][command] (+ HOB bytes)
    AtaData,      // [mode][n]: (n % 32 + 1) * 16 data-port accesses; mode bit 0 write, bit 1 dword
                  // (both: flags / mode bit 2 for the secondary channel)
    PciConfig,    // [device/function][register][flags][u32 value]
    Take,         // the serial, debugcon and log output so far
    SteadyRead,   // [port][size]: PcPlatform::steady_read
    Deadline,     // [mantissa][exponent]: begin_run(now + delta), exponent 0xFF: never
    ClearRequest, // clear_request()
    AtapiPacket,  // [flags][u16 byte count limit][12 command bytes] on the secondary channel
    Count,
};

// Header flag bits.
enum PlatformFlag : uint8_t {
    kLinuxBootItems = 0x01, // fw_cfg carries -kernel items (setup, kernel, initrd, cmdline)
    kBootFiles = 0x02,      // fw_cfg carries "bootorder" and a genroms/ option ROM
    kFreshRerun = 0x44,     // both bits: a second platform, built from nothing, runs the whole
                            // script and must observe the same (one input in four: it costs 5x)
    kReplayTwice = 0x08,    // the snapshot is restored (and the rest replayed) twice
    kExitOnSerial = 0x10,   // set_exit_on_serial(true)
    kTimeSource = 0x20,     // time_source follows the script's clock (accesses move time)
};

// Advance mode bits: delta = mantissa << (4 * (mode & 7)) ns, or to next_event_ns().
enum PlatformAdvance : uint8_t {
    kToNextEvent = 0x80,   // HLT: skip to the next timer event (if any, within 100 s)
    kInterruptFlag = 0x40, // then, if INTR is high, acknowledge (IF = 1)
    kLazy = 0x20,          // only the script's clock moves; the platform sees it at the next
                           // access through time_source (when set)
};

// A port operand: one byte, an index into kPlatformPorts below 0xC0, else a raw u16 follows.
inline constexpr uint8_t kRawPort = 0xC0;
inline constexpr std::array<uint16_t, 127> kPlatformPorts = {
    0x20,   0x21,   0xA0,   0xA1,   0x4D0,  0x4D1,  0x40,   0x41,   0x42,   0x43,   0x61,   0x60,
    0x64,   0x70,   0x71,   0x92,   0x3F8,  0x3F9,  0x3FA,  0x3FB,  0x3FC,  0x3FD,  0x3FE,  0x3FF,
    0x402,  0x510,  0x511,  0x514,  0x515,  0x516,  0x517,  0x518,  0x519,  0x51A,  0x51B,  0x1F0,
    0x1F1,  0x1F2,  0x1F3,  0x1F4,  0x1F5,  0x1F6,  0x1F7,  0x3F6,  0xCF8,  0xCF9,  0xCFA,  0xCFB,
    0xCFC,  0xCFD,  0xCFE,  0xCFF,  0xB2,   0xB3,   0x600,  0x601,  0x602,  0x603,  0x604,  0x605,
    0x608,  0x609,  0x60A,  0x60B,  0x610,  0x620,  0x63F,  0x640,  0x501,  0x502,  0xE9,   0xF4,
    0x80,   0x3F7,  0x1F8,  0x5FF,  0xB000, 0xB004, 0xB008, 0xFFFF, 0x170,  0x171,  0x172,  0x173,
    0x174,  0x175,  0x176,  0x177,  0x376,  0xAE00, 0xAE08, 0xAE0C, 0xAE10, 0xAF00, 0xAFE0, 0xAFE2,
    0xC000, 0xC002, 0xC004, 0xC008, 0xC00A, 0xC00C, 0x3F0,  0x3F1,  0x3F2,  0x3F3,  0x3F4,  0x3F5,
    0x00,   0x02,   0x04,   0x05,   0x08,   0x0A,   0x0B,   0x0C,   0x0D,   0x0E,   0x0F,   0x81,
    0x87,   0xC0,   0xC4,   0xD0,   0xD4,   0xD6,   0xDA,
};

// MMIO regions: the local APIC, the I/O APIC, the BIOS area (offset * 4), the VGA window (RAM), the
// top of 4 GiB (the BIOS alias), the end of RAM (offset & 0xFF below and past it), raw u32.
enum PlatformRegion : uint8_t {
    kLocalApic,
    kIoApic,
    kBiosArea,
    kVgaWindow,
    kHighBios,
    kRamEnd,
    kRawAddress,
    kRegionCount
};

// An address operand: [kind] then, by kind % 5: u16 << 4 (low RAM); the end of RAM minus a
// byte; 0xC0000 + u16 * 4 (BIOS area); raw u32; raw u64.
enum PlatformAddress : uint8_t { kLowRam, kBelowRamEnd, kBiosAddress, kRaw32, kRaw64, kKinds };

// fw_cfg key operand: below 0x40 the key itself, 0x40-0x7F arch-local (0x8000 | k & 0x3F),
// else a raw u16 follows. Length operand: [kind] then u8, u16, u32, or u8 * 16.
class PlatformScriptWriter {
  public:
    PlatformScriptWriter(uint8_t disk, uint8_t flags, uint8_t save_step)
        : bytes_{disk, flags, save_step} {}
    const std::vector<uint8_t>& bytes() const { return bytes_; }

    void port_read(uint16_t port, uint8_t size) {
        op(PlatformOp::PortRead);
        put_port(port);
        bytes_.push_back(size_code(size));
    }
    void port_write(uint16_t port, uint8_t size, uint32_t value) {
        op(PlatformOp::PortWrite);
        put_port(port);
        bytes_.push_back(size_code(size));
        put(value, 4);
    }
    void outb(uint16_t port, uint8_t value) { port_write(port, 1, value); }
    void mmio_read(PlatformRegion region, uint16_t offset, uint8_t size) {
        op(PlatformOp::MmioRead);
        bytes_.push_back(region);
        put(offset, 2);
        bytes_.push_back(mmio_size_code(size));
    }
    void mmio_write(PlatformRegion region, uint16_t offset, uint8_t size, uint64_t value) {
        op(PlatformOp::MmioWrite);
        bytes_.push_back(region);
        put(offset, 2);
        bytes_.push_back(mmio_size_code(size));
        put(value, 8);
    }
    // Low-RAM address (a multiple of 16 below 1 MiB).
    void ram_store(uint32_t low_address, const std::vector<uint8_t>& data) {
        op(PlatformOp::RamStore);
        put_low_address(low_address);
        bytes_.push_back(static_cast<uint8_t>(data.size()));
        bytes_.insert(bytes_.end(), data.begin(), data.end());
    }
    void ram_load(uint32_t low_address, uint8_t n) {
        op(PlatformOp::RamLoad);
        put_low_address(low_address);
        bytes_.push_back(n);
    }
    // A DMA transfer: descriptor and target in low RAM, a u32 length.
    void fw_cfg_dma(uint32_t control, uint16_t key, uint32_t length, uint32_t target,
                    uint32_t descriptor) {
        op(PlatformOp::FwCfgDma);
        bytes_.push_back(static_cast<uint8_t>(control));
        put_key(key);
        bytes_.push_back(2); // u32 length
        put(length, 4);
        put_low_address(target);
        put_low_address(descriptor);
    }
    void fw_cfg_read(uint16_t key, uint8_t n_minus_1) {
        op(PlatformOp::FwCfgRead);
        put_key(key);
        bytes_.push_back(n_minus_1);
    }
    void advance(uint8_t mode, uint8_t mantissa) {
        op(PlatformOp::Advance);
        bytes_.push_back(mode);
        bytes_.push_back(mantissa);
    }
    void acknowledge() {
        op(PlatformOp::Acknowledge);
        bytes_.push_back(0);
    }
    // LBA28 / CHS: device holds LBA bit, DEV and head (or LBA 27-24).
    void ata_command(uint8_t command, uint8_t count, uint32_t lba, uint8_t device,
                     uint8_t feature = 0, bool secondary = false) {
        op(PlatformOp::AtaCommand);
        bytes_.push_back(secondary ? 4 : 0);
        for (uint8_t b : {feature, count, static_cast<uint8_t>(lba), static_cast<uint8_t>(lba >> 8),
                          static_cast<uint8_t>(lba >> 16), device, command})
            bytes_.push_back(b);
    }
    // `accesses` 16-bit (or 32-bit) data-port accesses, a multiple of 16.
    void ata_data(bool write, bool dword, unsigned accesses, bool secondary = false) {
        op(PlatformOp::AtaData);
        bytes_.push_back(
            static_cast<uint8_t>((write ? 1 : 0) | (dword ? 2 : 0) | (secondary ? 4 : 0)));
        bytes_.push_back(static_cast<uint8_t>(accesses / 16 - 1));
    }
    // PACKET to the secondary master with a byte count limit, then the command bytes.
    void atapi_packet(std::array<uint8_t, 12> cdb, uint16_t limit, bool dma = false) {
        op(PlatformOp::AtapiPacket);
        bytes_.push_back(dma ? 1 : 0);
        put(limit, 2);
        bytes_.insert(bytes_.end(), cdb.begin(), cdb.end());
    }
    // A dword configuration write (bus 0).
    void pci_write(uint8_t device, uint8_t function, uint8_t reg, uint8_t size, uint32_t value) {
        op(PlatformOp::PciConfig);
        bytes_.push_back(static_cast<uint8_t>(device << 3 | function));
        bytes_.push_back(reg);
        bytes_.push_back(static_cast<uint8_t>(1 | size_code(size) << 3));
        put(value, 4);
    }
    void pci_read(uint8_t device, uint8_t function, uint8_t reg, uint8_t size) {
        op(PlatformOp::PciConfig);
        bytes_.push_back(static_cast<uint8_t>(device << 3 | function));
        bytes_.push_back(reg);
        bytes_.push_back(static_cast<uint8_t>(size_code(size) << 3));
        put(0, 4);
    }
    void take() { op(PlatformOp::Take); }

  private:
    void op(PlatformOp o) { bytes_.push_back(static_cast<uint8_t>(o)); }
    void put(uint64_t value, int n) {
        for (int i = 0; i < n; ++i)
            bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
    }
    void put_port(uint16_t port) {
        for (size_t i = 0; i < kPlatformPorts.size(); ++i)
            if (kPlatformPorts[i] == port) {
                bytes_.push_back(static_cast<uint8_t>(i));
                return;
            }
        bytes_.push_back(kRawPort);
        put(port, 2);
    }
    void put_low_address(uint32_t address) {
        bytes_.push_back(kLowRam);
        put(address >> 4, 2);
    }
    void put_key(uint16_t key) {
        if (key < 0x40) {
            bytes_.push_back(static_cast<uint8_t>(key));
        } else {
            bytes_.push_back(0xFF);
            put(key, 2);
        }
    }
    static uint8_t size_code(uint8_t size) { return size == 4 ? 2 : size == 2 ? 1 : 0; }
    static uint8_t mmio_size_code(uint8_t size) {
        return size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
    }
    std::vector<uint8_t> bytes_;
};

// The hand-written seeds (platform_seeds.cpp): name, script.
std::vector<std::pair<std::string, std::vector<uint8_t>>> platform_seed_scripts();

} // namespace transit86::fuzz
