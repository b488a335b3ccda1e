// The 512-byte IDENTIFY DEVICE data of the ATA disk (pc/ata_disk.hpp), word by word as
// ATA/ATAPI-6 (T13 1410D) 8.15 lays it out and QEMU hw/ide/core.c (ide_identify) fills it, and
// the IDENTIFY PACKET DEVICE data of the CD-ROM (pc/atapi_cdrom.hpp: 8.17, ide_atapi_identify).
#pragma once

#include <array>
#include <cstdint>

namespace transit86::pc {

struct AtaIdentity {
    uint64_t total_sectors = 0;
    // Default CHS translation (words 1, 3, 6) and the current one (words 54-58), which
    // INITIALIZE DEVICE PARAMETERS changes.
    uint16_t cylinders = 0;
    uint16_t heads = 0;
    uint16_t sectors_per_track = 0;
    uint16_t current_cylinders = 0;
    uint16_t current_heads = 0;
    uint16_t current_sectors_per_track = 0;
    uint8_t multiple_sectors = 0; // current READ/WRITE MULTIPLE block, 0 = disabled
    bool write_cache = true;
    // Words 62, 63 and 88: supported modes in the low byte, the selected one in the high byte
    // (SET FEATURES, set transfer mode).
    uint16_t single_word_dma = 0x0007;
    uint16_t multiword_dma = 0x0007;
    uint16_t ultra_dma = 0x003F | (1u << 13);
};

inline constexpr const char* kAtaModel = "transit86 ATA disk";
inline constexpr const char* kAtaSerial = "T86-0001";
inline constexpr const char* kAtaFirmware = "1.0";
inline constexpr uint8_t kAtaMaxMultipleSectors = 16;

inline constexpr const char* kAtapiModel = "transit86 ATAPI CD-ROM";

std::array<uint16_t, 256> ata_identify_device(const AtaIdentity& identity);
std::array<uint16_t, 256> atapi_identify_packet_device();

} // namespace transit86::pc
