// Random page-table cases for the paging-walk differential (docs/differential.md, "Random page
// tables against QEMU"): what one case holds, how it is drawn from its seed, and the binary table
// the guest harness (harness.asm) reads. The offsets here mirror harness.asm's C_* and F_* names.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace transit86::diff::paging {

// Guest-physical layout shared with harness.asm.
inline constexpr uint32_t kCaseTable = 0x2000000; // header (1024 bytes), then the cases
inline constexpr uint32_t kCaseSize = 1024;
inline constexpr uint32_t kTableMagic = 0x54574750; // "PGWT"
inline constexpr uint32_t kPd32 = 0x5000;           // root page directory, 32-bit modes
inline constexpr uint32_t kPdpt = 0x6000;           // PAE PDPT
inline constexpr uint32_t kPaePd0 = 0x7000;         // PAE directories of PDPTE 0..3
inline constexpr uint32_t kScratchAlias = 0x100000; // linear alias of scratch page 0
inline constexpr unsigned kScratchPages = 8;
inline constexpr uint32_t kGuestRamBytes = 64u << 20; // QEMU -m 64

// Scratch page k: 4-MByte block 4 + k / 2, page k % 2 — the pages an entry-like value can name.
constexpr uint32_t scratch_page(unsigned k) {
    return ((4 + k / 2) << 22) | ((k & 1) << 12);
}

// Capacities of one case record.
inline constexpr unsigned kMaxEntries = 24, kMaxOps = 24, kMaxWatch = 32, kMaxPages = 16;

enum class PagingMode : uint8_t { Bits32 = 0, Bits32Pse = 1, Pae = 2 };
const char* to_string(PagingMode mode);

enum class OpKind : uint8_t {
    Read = 1,
    Write = 2,
    Fetch = 3, // CALL to the address; runs where the probe (a CPL-0 byte read) before it saw RET
    Edit = 4,  // store an entry while paging is on (through its identity or scratch alias)
    InvlpgAll = 5, // INVLPG every linear page the case uses
    Cr3Reload = 6,
    Flush = 7, // toggle CR4.PGE when set (drops global entries too), else reload CR3
    Invlpg = 8,
};
const char* to_string(OpKind kind);

struct Op {
    OpKind kind = OpKind::Read;
    uint8_t size = 0; // Read/Write: 1, 2 or 4
    uint8_t cpl = 0;  // Read/Write/Fetch: 0 or 3
    uint32_t linear = 0;
    uint32_t value = 0; // Write: the value; Edit: bits 31:0 of the entry
    uint32_t aux = 0;   // Edit: bits 63:32 (PAE)
    uint32_t entry = 0; // Edit: the entry's physical address (not in the record)
};

struct Entry {
    uint32_t address = 0; // physical
    uint64_t value = 0;
};

struct Case {
    uint64_t seed = 0;
    uint32_t index = 0;
    PagingMode mode = PagingMode::Bits32;
    bool nxe = false, wp = false, pge = false, dump = false;
    uint32_t cr3 = 0;
    uint32_t fill = 1; // xorshift32 seed of the scratch contents
    std::vector<Entry> entries;
    std::vector<Op> ops;
    std::vector<uint32_t> watch; // physical addresses of every entry written, reported at the end
    std::vector<uint32_t> pages; // linear pages the accesses use (InvlpgAll)
    // Known-difference rules (docs/known-differences.md, "Paging") this case may trigger: a
    // difference in such a case is explained by the first.
    std::vector<std::string> rules;

    bool pae() const { return mode == PagingMode::Pae; }
};

// Case `index` of a table, drawn from `seed` alone.
Case generate_case(uint64_t seed, uint32_t index);

// The table the harness reads at kCaseTable: a header, then one record per case.
std::vector<uint8_t> encode_table(std::span<const Case> cases);

// Bytes the harness writes for a case (without the dump), for parsing the port-0xE9 stream.
uint32_t result_size(const Case& c);

// Text of a case for reports.
std::string describe(const Case& c);

uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

} // namespace transit86::diff::paging
