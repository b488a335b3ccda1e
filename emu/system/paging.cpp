// Paging: the walk (SDM Vol. 3A 4.3 32-bit paging, 4.4 PAE paging), access rights (4.6), page
// faults (4.7), accessed and dirty flags (4.8), and the control-register writes around them.
#include "emu/system/paging.hpp"

namespace transit86::emu {

namespace {

// Paging-structure entry bits (SDM Vol. 3A Tables 4-4..4-11).
namespace entry {
inline constexpr uint64_t P = 1u << 0;
inline constexpr uint64_t RW = 1u << 1;
inline constexpr uint64_t US = 1u << 2;
inline constexpr uint64_t A = 1u << 5;
inline constexpr uint64_t D = 1u << 6;
inline constexpr uint64_t PS = 1u << 7;
inline constexpr uint64_t G = 1u << 8;
inline constexpr uint64_t XD = 1ull << 63;
} // namespace entry

constexpr uint32_t kA20Bit = 1u << 20;
constexpr uint32_t k4K = 0xFFFFF000u;
constexpr uint32_t k2M = 0xFFE00000u;
constexpr uint32_t k4M = 0xFFC00000u;

// Bits MAXPHYADDR..62 of a PAE entry, reserved (Tables 4-8..4-11: "Reserved (must be 0)").
constexpr uint64_t kPaeHighReserved =
    ((uint64_t{1} << 63) - 1) & ~((uint64_t{1} << kMaxPhysicalAddressBits) - 1);
constexpr uint64_t kPaeAddress = ((uint64_t{1} << kMaxPhysicalAddressBits) - 1) & ~uint64_t{0xFFF};
// Table 4-8: a PDPTE reserves bits 2:1, 8:5 and 63:MAXPHYADDR (bit 63 included).
constexpr uint64_t kPdpteReserved = 0x1E6 | kPaeHighReserved | entry::XD;
// Table 4-4: without PSE-36, bits 21:13 of a PDE that maps a 4-MByte page are reserved.
constexpr uint64_t kPde4MReserved = 0x3FE000;
// Table 4-9: bits 20:13 of a PDE that maps a 2-MByte page are reserved.
constexpr uint64_t kPde2MReserved = 0x1FE000;

uint64_t a20_mask(const Cpu& cpu) {
    return cpu.a20 ? ~uint64_t{0} : ~uint64_t{kA20Bit};
}

// A paging-structure entry, read from guest-physical memory like any other access; a table
// outside RAM cannot be walked here (the host would have to answer each read).
bool read_entry(Cpu& cpu, uint64_t address, bool wide, uint64_t& value) {
    value = 0;
    if (cpu.mem.read(address & a20_mask(cpu), &value, wide ? 8 : 4)) return true;
    return cpu.unsupported("paging structure outside guest RAM");
}

// Sets the accessed (and dirty) flags of an entry, in its low doubleword. A read-only slot
// ignores the write, as ROM does.
void set_flags(Cpu& cpu, uint64_t address, uint64_t value, uint64_t bits) {
    if ((value & bits) == bits) return;
    const auto low = static_cast<uint32_t>(value | bits);
    cpu.mem.write(address & a20_mask(cpu), &low, 4);
}

bool page_fault(Cpu& cpu, uint32_t linear, uint32_t error) {
    cpu.raise(vec::PF, error);
    cpu.fault.address = linear;
    return false;
}

// What one walk found on its way to the page.
struct Walk {
    uint64_t leaf = 0;         // the entry that maps the page (PTE, or PDE with PS = 1)
    uint64_t leaf_address = 0; // where it is
    uint64_t table = 0;        // the PDE that referenced a page table (for its A flag), if any
    uint64_t table_address = 0;
    bool through_table = false;
    uint64_t frame = 0; // physical base of the page
    uint32_t large_mask = k4K;
    bool writable = true;   // R/W = 1 in every entry controlling the translation (4.6)
    bool user = true;       // U/S = 1 in every entry
    bool executable = true; // XD = 0 in every entry (with NXE)

    // The PDE maps the page itself (PS = 1): a 4-MByte or 2-MByte page at `base`.
    void map_large(uint64_t pde, uint64_t address, uint64_t base, uint32_t mask) {
        leaf = pde;
        leaf_address = address;
        frame = base;
        large_mask = mask;
    }
    // The PDE references a page table: its rights count, and its A flag is set if the walk
    // ends in a translation.
    void through(uint64_t pde, uint64_t address) {
        table = pde;
        table_address = address;
        through_table = true;
        writable = (pde & entry::RW) != 0;
        user = (pde & entry::US) != 0;
    }
};

// The walks read each entry through `read(address, wide, value)`: false when the entry could
// not be read (a table outside RAM), which ends the walk.

// SDM 4.3: CR3 -> PDE -> (4-MByte page | PTE -> 4-KByte page). False: `error` says why, or
// the walk stopped (an entry could not be read).
template <class ReadEntry>
bool walk_32bit(const CpuState& s, ReadEntry&& read, uint32_t linear, Walk& w, uint32_t& error) {
    const uint64_t pde_address = (s.cr3 & k4K) | ((linear >> 20) & 0xFFC);
    uint64_t pde;
    if (!read(pde_address, false, pde)) return false;
    if (!(pde & entry::P)) return false;
    if ((pde & entry::PS) && (s.cr4 & cr4::PSE)) {
        if (pde & kPde4MReserved) return error |= pf::P | pf::RSVD, false;
        w.map_large(pde, pde_address, pde & k4M, k4M);
        return true;
    }
    w.through(pde, pde_address);
    const uint64_t pte_address = (pde & k4K) | ((linear >> 10) & 0xFFC);
    if (!read(pte_address, false, w.leaf)) return false;
    if (!(w.leaf & entry::P)) return false;
    w.leaf_address = pte_address;
    w.frame = w.leaf & k4K;
    return true;
}

// SDM 4.4.2: PDPTE register -> PDE -> (2-MByte page | PTE -> 4-KByte page), 64-bit entries.
template <class ReadEntry>
bool walk_pae(const CpuState& s, ReadEntry&& read, uint32_t linear, Walk& w, uint32_t& error) {
    const bool nxe = (s.efer & efer::NXE) != 0;
    // Bit 63 is XD with NXE, reserved without (Tables 4-9..4-11).
    const uint64_t reserved = kPaeHighReserved | (nxe ? 0 : entry::XD);
    const uint64_t pdpte = s.pdpte[linear >> 30];
    if (!(pdpte & entry::P)) return false; // its reserved bits were checked when loaded
    const uint64_t pde_address = (pdpte & kPaeAddress) | ((linear >> 18) & 0xFF8);
    uint64_t pde;
    if (!read(pde_address, true, pde)) return false;
    if (!(pde & entry::P)) return false;
    if (pde & reserved) return error |= pf::P | pf::RSVD, false;
    w.executable = !(nxe && (pde & entry::XD));
    if (pde & entry::PS) {
        if (pde & kPde2MReserved) return error |= pf::P | pf::RSVD, false;
        w.map_large(pde, pde_address, pde & kPaeAddress & k2M, k2M);
        return true;
    }
    w.through(pde, pde_address);
    const uint64_t pte_address = (pde & kPaeAddress) | ((linear >> 9) & 0xFF8);
    if (!read(pte_address, true, w.leaf)) return false;
    if (!(w.leaf & entry::P)) return false;
    if (w.leaf & reserved) return error |= pf::P | pf::RSVD, false;
    w.leaf_address = pte_address;
    w.frame = w.leaf & kPaeAddress;
    if (nxe && (w.leaf & entry::XD)) w.executable = false;
    return true;
}

} // namespace

bool page_walk(Cpu& cpu, uint32_t linear, AccessKind kind, bool user, TlbEntry& out) {
    const CpuState& s = cpu.s;
    const bool pae = (s.cr4 & cr4::PAE) != 0;
    const bool nxe = pae && (s.efer & efer::NXE) != 0;
    const bool write = kind == AccessKind::Write;
    const bool fetch = kind == AccessKind::Fetch;
    // The error code describes the access, whatever the entries say (SDM 4.7).
    uint32_t error = (write ? pf::W : 0) | (user ? pf::U : 0) | (fetch && nxe ? pf::ID : 0);
    Walk w;
    const auto read = [&cpu](uint64_t address, bool wide, uint64_t& value) {
        return read_entry(cpu, address, wide, value);
    };
    const bool found =
        pae ? walk_pae(s, read, linear, w, error) : walk_32bit(s, read, linear, w, error);
    if (cpu.stop != Stop::None) return false;
    if (!found) return page_fault(cpu, linear, error);
    w.writable = w.writable && (w.leaf & entry::RW);
    w.user = w.user && (w.leaf & entry::US);
    // SDM 4.6: user-mode accesses need U/S = 1 everywhere, and R/W = 1 everywhere to write;
    // supervisor-mode writes need R/W = 1 everywhere only with CR0.WP = 1; fetches need
    // XD = 0 everywhere (with NXE) — no SMEP/SMAP: CR4 cannot enable them here.
    const bool wp = (s.cr0 & cr0::WP) != 0;
    const bool permitted =
        (!user || w.user) && (!write || w.writable || (!user && !wp)) && (!fetch || w.executable);
    if (!permitted) return page_fault(cpu, linear, error | pf::P);
    // SDM 4.8: the accessed flag of every entry used, the dirty flag of the one that maps the
    // page on a write. A walk that faults sets none (as KVM's walker and Bochs: the
    // translation was never used; docs/known-differences.md).
    if (w.through_table) set_flags(cpu, w.table_address, w.table, entry::A);
    const uint64_t leaf_flags = entry::A | (write ? entry::D : 0);
    set_flags(cpu, w.leaf_address, w.leaf, leaf_flags);
    const bool dirty = write || (w.leaf & entry::D);

    out.large_mask = w.large_mask;
    out.global = (w.leaf & entry::G) && (s.cr4 & cr4::PGE);
    out.frame = (w.frame | (linear & ~w.large_mask & k4K)) & a20_mask(cpu);
    out.allow = access_bit(AccessKind::Read, false) |
                (w.writable || !wp ? (dirty ? access_bit(AccessKind::Write, false) : 0) : 0) |
                (w.executable ? access_bit(AccessKind::Fetch, false) : 0);
    if (w.user)
        out.allow |= access_bit(AccessKind::Read, true) |
                     (w.writable && dirty ? access_bit(AccessKind::Write, true) : 0) |
                     (w.executable ? access_bit(AccessKind::Fetch, true) : 0);
    out.host = cpu.mem.slot_bytes(out.frame, 0x1000, false);
    out.host_write = cpu.mem.slot_bytes(out.frame, 0x1000, true);
    return true;
}

bool peek_translation(const CpuState& s, const GuestMemory& mem, bool a20, uint32_t linear,
                      uint64_t& physical) {
    const uint64_t mask = a20 ? ~uint64_t{0} : ~uint64_t{kA20Bit};
    if (!(s.cr0 & cr0::PG)) {
        physical = linear & mask;
        return true;
    }
    if (unmodelled_paging_mode(s)) return false;
    const auto read = [&](uint64_t address, bool wide, uint64_t& value) {
        value = 0;
        return mem.read(address & mask, &value, wide ? 8 : 4);
    };
    Walk w;
    uint32_t error = 0;
    const bool found = (s.cr4 & cr4::PAE) ? walk_pae(s, read, linear, w, error)
                                          : walk_32bit(s, read, linear, w, error);
    if (!found) return false;
    physical = (w.frame | (linear & ~w.large_mask)) & mask;
    return true;
}

bool read_pdptes(Cpu& cpu, uint64_t cr3, std::array<uint64_t, 4>& out) {
    // SDM 4.4.1: the 32-byte table at CR3 bits 31:5; a present PDPTE with a reserved bit set
    // makes the instruction fault with #GP(0) (4.7: "and not page-fault exceptions").
    const uint64_t base = cr3 & 0xFFFFFFE0u;
    for (uint32_t i = 0; i < 4; ++i) {
        if (!read_entry(cpu, base + i * 8, true, out[i])) return false;
        if ((out[i] & entry::P) && (out[i] & kPdpteReserved)) return cpu.raise(vec::GP, 0);
    }
    return true;
}

bool write_cr0(Cpu& cpu, uint32_t value) {
    CpuState& s = cpu.s;
    value |= cr0::ET; // hardwired to 1 since the i486; KVM forces it too
    // SDM MOV CR0, "Protected Mode Exceptions": PG without PE, NW without CD.
    if ((value & cr0::PG) && !(value & cr0::PE)) return cpu.raise(vec::GP, 0);
    if ((value & cr0::NW) && !(value & cr0::CD)) return cpu.raise(vec::GP, 0);
    const auto old = static_cast<uint32_t>(s.cr0);
    const bool enabling = (value & cr0::PG) && !(old & cr0::PG);
    if (enabling && (s.efer & efer::LME)) {
        // SDM 9.8.5: IA-32e mode needs PAE first; with it, this would activate long mode.
        if (!(s.cr4 & cr4::PAE)) return cpu.raise(vec::GP, 0);
        return cpu.unsupported("long mode (EFER.LME with CR0.PG) is not modelled");
    }
    // SDM 4.4.1: PAE paging after the write, and PG, CD or NW changing -> the PDPTEs load.
    constexpr uint32_t kReload = cr0::PG | cr0::CD | cr0::NW;
    std::array<uint64_t, 4> pdptes = s.pdpte;
    if ((value & cr0::PG) && (s.cr4 & cr4::PAE) && ((old ^ value) & kReload) &&
        !read_pdptes(cpu, s.cr3, pdptes))
        return false;
    s.cr0 = value;
    s.pdpte = pdptes;
    // The TLB's rights depend on WP (tlb.hpp); clearing PG invalidates everything (4.10.4.1).
    if ((old ^ value) & (cr0::PG | cr0::WP)) cpu.tlb.flush_all();
    cpu.sync_memory_mode();
    return true;
}

bool write_cr3(Cpu& cpu, uint32_t value) {
    CpuState& s = cpu.s;
    std::array<uint64_t, 4> pdptes = s.pdpte;
    if (pae_paging(s) && !read_pdptes(cpu, value, pdptes)) return false;
    s.cr3 = value;
    s.pdpte = pdptes;
    cpu.tlb.flush_non_global(); // SDM 4.10.4.1: all but global entries
    return true;
}

bool write_cr4(Cpu& cpu, uint32_t value) {
    CpuState& s = cpu.s;
    // Bits the modelled CPU lacks are reserved: setting them raises #GP(0). We accept
    // VME, PVI, TSD, DE, PSE, PAE, MCE, PGE, PCE, OSFXSR, OSXMMEXCPT.
    constexpr uint32_t kSupported = 0x7FF;
    if (value & ~kSupported) return cpu.raise(vec::GP, 0);
    const auto old = static_cast<uint32_t>(s.cr4);
    // SDM 4.4.1: PAE paging after the write, and PAE, PGE or PSE changing -> the PDPTEs load.
    constexpr uint32_t kPagingBits = cr4::PAE | cr4::PGE | cr4::PSE;
    std::array<uint64_t, 4> pdptes = s.pdpte;
    if ((s.cr0 & cr0::PG) && (value & cr4::PAE) && ((old ^ value) & kPagingBits) &&
        !read_pdptes(cpu, s.cr3, pdptes))
        return false;
    s.cr4 = value;
    s.pdpte = pdptes;
    // SDM 4.10.4.1: a change of PGE flushes everything, global entries included; so does a
    // change of the paging mode (PAE, PSE).
    if ((old ^ value) & kPagingBits) cpu.tlb.flush_all();
    return true;
}

bool write_efer(Cpu& cpu, uint64_t value) {
    CpuState& s = cpu.s;
    if ((s.cr0 & cr0::PG) && ((s.efer ^ value) & efer::LME)) return cpu.raise(vec::GP, 0);
    if ((s.efer ^ value) & efer::NXE) cpu.tlb.flush_all(); // XD's meaning changes
    s.efer = value;
    return true;
}

void invalidate_page(Cpu& cpu, uint32_t linear) {
    cpu.tlb.invalidate(linear);
}

} // namespace transit86::emu
