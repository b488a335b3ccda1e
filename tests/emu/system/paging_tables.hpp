// Page tables for the paging tests, written into a protected-mode Machine (machine.hpp): the
// entry formats of SDM Vol. 3A Tables 4-4..4-11, built by hand.
//
// 32-bit paging: the page directory at kPd; PDE 0 -> kPt0, which identity-maps the first
// 2 MiB (the code at 1000H, the GDT at 600H, the stack below 8000H) supervisor, read/write,
// accessed and dirty; PDE 1 -> kPt1 (linear 400000H..7FFFFFH) user, read/write, empty for the
// test's own mappings. PAE paging: the PDPT at kPdpt, PDPTE 0 -> kPaePd, PDE 0 -> kPaePt0
// (identity, first 2 MiB), PDE 2 -> kPaePt1 (linear 400000H..5FFFFFH).
#pragma once

#include <cstdint>

#include "machine.hpp"

namespace transit86::test {

namespace pte { // SDM Vol. 3A Table 4-5..4-6 (32-bit), 4-8..4-11 (PAE)
inline constexpr uint32_t P = 1u << 0, RW = 1u << 1, US = 1u << 2, A = 1u << 5, D = 1u << 6,
                          PS = 1u << 7, G = 1u << 8;
inline constexpr uint64_t XD = 1ull << 63;
} // namespace pte

inline constexpr uint32_t kPd = 0x20000, kPt0 = 0x21000, kPt1 = 0x22000;
inline constexpr uint32_t kPdpt = 0x23000, kPaePd = 0x24000, kPaePt0 = 0x25000, kPaePt1 = 0x26000;
inline constexpr uint32_t kMapped = 0x400000; // the first linear page tests map themselves
inline constexpr uint8_t kPF = 14;

namespace cr4bit {
inline constexpr uint64_t PSE = 1u << 4, PAE = 1u << 5, PGE = 1u << 7;
} // namespace cr4bit
inline constexpr uint64_t kEferNxe = 1u << 11;

// 32-bit paging on a protected-mode machine, CR0.PG set in the state directly.
inline void enable_paging32(Machine& m) {
    m.exceptions_to_host = true;
    m.write32(kPd + 0, kPt0 | pte::P | pte::RW | pte::A);
    for (uint32_t i = 0; i < 512; ++i)
        m.write32(kPt0 + i * 4, (i << 12) | pte::P | pte::RW | pte::A | pte::D);
    m.write32(kPd + 4, kPt1 | pte::P | pte::RW | pte::US);
    m.state().cr3 = kPd;
    m.state().cr0 |= cr0::PG;
}

// Lets CPL 3 run the code at kCode: U/S = 1 in PDE 0 and in the code page's PTE (the GDT's
// page 0 and the rest stay supervisor).
inline void user_code32(Machine& m) {
    m.write32(kPd + 0, kPt0 | pte::P | pte::RW | pte::US | pte::A);
    m.write32(kPt0 + (kCode >> 12) * 4, kCode | pte::P | pte::RW | pte::US | pte::A | pte::D);
}

// The 32-bit PTE for linear `linear` in kPt1 (400000H..7FFFFFH).
inline void map32(Machine& m, uint32_t linear, uint32_t entry) {
    m.write32(kPt1 + ((linear >> 12) & 0x3FF) * 4, entry);
}
inline uint32_t pte32(Machine& m, uint32_t linear) {
    return m.read32(kPt1 + ((linear >> 12) & 0x3FF) * 4);
}

// PAE paging with the PDPTE registers loaded as MOV to CR3 would (the PDPT is in memory too).
inline void enable_paging_pae(Machine& m) {
    m.exceptions_to_host = true;
    m.write64(kPdpt, kPaePd | pte::P);
    m.write64(kPaePd + 0, kPaePt0 | pte::P | pte::RW | pte::A);
    for (uint32_t i = 0; i < 512; ++i)
        m.write64(kPaePt0 + i * 8, (i << 12) | pte::P | pte::RW | pte::A | pte::D);
    m.write64(kPaePd + 2 * 8, kPaePt1 | pte::P | pte::RW | pte::US);
    CpuState& s = m.state();
    s.cr3 = kPdpt;
    s.cr4 |= cr4bit::PAE;
    s.pdpte = {kPaePd | pte::P, 0, 0, 0};
    s.cr0 |= cr0::PG;
}

inline void map_pae(Machine& m, uint32_t linear, uint64_t entry) {
    m.write64(kPaePt1 + ((linear >> 12) & 0x1FF) * 8, entry);
}

// A #PF exit with `error` as its error code and `address` in CR2 (SDM Vol. 3A 4.7).
inline ::testing::AssertionResult page_fault(Machine& m, const Exit& e, uint32_t error,
                                             uint32_t address) {
    if (!is_exception(e, kPF, error)) return is_exception(e, kPF, error);
    if (m.state().cr2 != address)
        return ::testing::AssertionFailure()
               << "CR2 " << std::hex << m.state().cr2 << ", expected " << address;
    return ::testing::AssertionSuccess();
}

} // namespace transit86::test
