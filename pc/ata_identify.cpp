#include "pc/ata_identify.hpp"

#include <cstring>

namespace transit86::pc {

namespace {

// ATA strings: two characters a word, the first in the high byte, padded with spaces.
void put_string(std::array<uint16_t, 256>& words, unsigned first_word, unsigned length,
                const char* text) {
    const size_t text_length = std::strlen(text);
    for (unsigned i = 0; i < length; i += 2) {
        const auto high = static_cast<uint8_t>(i < text_length ? text[i] : ' ');
        const auto low = static_cast<uint8_t>(i + 1 < text_length ? text[i + 1] : ' ');
        words[first_word + i / 2] = static_cast<uint16_t>((high << 8) | low);
    }
}

void put_dword(std::array<uint16_t, 256>& words, unsigned first_word, uint32_t value) {
    words[first_word] = static_cast<uint16_t>(value);
    words[first_word + 1] = static_cast<uint16_t>(value >> 16);
}

} // namespace

std::array<uint16_t, 256> ata_identify_device(const AtaIdentity& id) {
    std::array<uint16_t, 256> w{};
    w[0] = 0x0040; // fixed device, not removable
    w[1] = id.cylinders;
    w[3] = id.heads;
    w[4] = static_cast<uint16_t>(512 * id.sectors_per_track); // retired; QEMU fills it
    w[5] = 512;                                               // retired
    w[6] = id.sectors_per_track;
    put_string(w, 10, 20, kAtaSerial);
    w[20] = 3;   // retired buffer type
    w[21] = 512; // retired buffer size
    w[22] = 4;   // obsolete ECC bytes
    put_string(w, 23, 8, kAtaFirmware);
    put_string(w, 27, 40, kAtaModel);
    w[47] = 0x8000 | kAtaMaxMultipleSectors;
    w[48] = 1;                                  // dword I/O (QEMU)
    w[49] = (1u << 11) | (1u << 9) | (1u << 8); // IORDY, LBA, DMA (as QEMU)
    w[51] = 0x200;                              // PIO cycle timing
    w[52] = 0x200;                              // DMA cycle timing
    w[53] = 0x0007;                             // words 54-58, 64-70 and 88 valid
    w[54] = id.current_cylinders;
    w[55] = id.current_heads;
    w[56] = id.current_sectors_per_track;
    put_dword(w, 57,
              static_cast<uint32_t>(id.current_cylinders) * id.current_heads *
                  id.current_sectors_per_track);
    if (id.multiple_sectors != 0) w[59] = 0x0100 | id.multiple_sectors;
    put_dword(
        w, 60,
        static_cast<uint32_t>(id.total_sectors < (1u << 28) ? id.total_sectors : (1u << 28) - 1));
    w[62] = id.single_word_dma;
    w[63] = id.multiword_dma;
    w[64] = 0x0003; // PIO modes 3 and 4
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x00F0; // ATA-4 to ATA-7
    w[81] = 0x0016;
    // Word 82: NOP (14), write cache (5). QEMU also claims SMART (bit 0); SMART is not
    // implemented here, so it is not claimed.
    w[82] = (1u << 14) | (1u << 5);
    w[83] = (1u << 14) | (1u << 13) | (1u << 12) | (1u << 10); // FLUSH CACHE (EXT), 48-bit
    w[84] = 1u << 14;
    w[85] = (1u << 14) | (id.write_cache ? (1u << 5) : 0);
    w[86] = (1u << 13) | (1u << 12) | (1u << 10);
    w[87] = 1u << 14;
    w[88] = id.ultra_dma;
    w[93] = 1 | (1u << 14) | 0x2000; // hardware reset result (QEMU's value)
    for (unsigned i = 0; i < 4; ++i)
        w[100 + i] = static_cast<uint16_t>(id.total_sectors >> (16 * i));
    return w;
}

std::array<uint16_t, 256> atapi_identify_packet_device() {
    std::array<uint16_t, 256> w{};
    // Word 0: ATAPI (10b), CD-ROM device type 05h, removable, DRQ within 50 us of PACKET, 12-byte
    // packets: 0x85C0, as QEMU.
    w[0] = (2u << 14) | (0x05u << 8) | (1u << 7) | (2u << 5);
    put_string(w, 10, 20, kAtaSerial);
    put_string(w, 23, 8, kAtaFirmware);
    put_string(w, 27, 40, kAtapiModel);
    w[48] = 1;                     // dword I/O
    w[49] = (1u << 9) | (1u << 8); // LBA, DMA
    w[53] = 0x0006;                // words 64-70 and 88 valid
    w[62] = 0x0007;                // single-word DMA 0-2 (QEMU's values, nothing selected)
    w[63] = 0x0007;                // multiword DMA 0-2
    w[88] = 0x003F;                // Ultra DMA 0-5
    w[64] = 0x0003;                // PIO modes 3 and 4
    w[65] = 0xB4;                  // cycle times in ns (QEMU's values)
    w[66] = 0xB4;
    w[67] = 0x12C;
    w[68] = 0xB4;
    w[71] = 30;       // typical PACKET to bus release, in ns
    w[72] = 30;       // typical SERVICE to BSY clear
    w[80] = 0x001E;   // ATA/ATAPI-1 to -4
    w[82] = 1u << 4;  // the PACKET feature set
    w[83] = 1u << 14; // bit 14 of words 83, 84 and 87: the words are valid
    w[84] = 1u << 14;
    w[85] = 1u << 4;
    w[87] = 1u << 14;
    return w;
}

} // namespace transit86::pc
