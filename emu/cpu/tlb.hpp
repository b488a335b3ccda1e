// The software TLB: linear page -> physical page translations the page walker
// (emu/system/paging.cpp) has made, with the access rights the walk found, so an access that
// hits needs no walk (SDM Vol. 3A 4.10.2).
//
// An entry caches one 4-KByte page, also for 4-MByte and 2-MByte pages (the entry keeps the
// large page's mask so INVLPG anywhere in it removes all its pieces, SDM 4.10.4.1). Which
// accesses it allows is one bit per access class, computed at fill time from the entries'
// U/S, R/W, XD and dirty flags, CR0.WP and EFER.NXE; a change of WP or NXE flushes the TLB,
// so the bits stay true. A write is allowed only once the dirty flag is set: a write to a
// clean page walks again and sets it (SDM 4.8).
//
// Flushing everything is O(1): a tag is the linear page with a 12-bit generation in its low
// bits, and a flush moves to the next generation.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace transit86::emu {

enum class AccessKind : uint8_t { Read = 0, Write = 1, Fetch = 2 };

// Who makes an access: the program at the current privilege level, or the processor itself
// on a system structure (GDT, LDT, IDT, TSS), which paging treats as a supervisor-mode
// access whatever the CPL ("implicit supervisor-mode access", SDM Vol. 3A 4.6).
enum class Accessor : uint8_t { Program, System };

// Bit of TlbEntry::allow for an access kind by a supervisor-mode or user-mode access.
constexpr uint32_t access_bit(AccessKind kind, bool user) {
    return 1u << (static_cast<uint32_t>(kind) + (user ? 3u : 0u));
}

struct TlbEntry {
    uint32_t tag;        // linear page | generation; 0 never matches
    uint32_t allow;      // access_bit()s the translation permits without a walk
    uint32_t large_mask; // linear bits of the page the walk mapped (4 KiB, 2 MiB or 4 MiB)
    bool global;         // G = 1 with CR4.PGE: kept by CR3 loads (SDM 4.10.2.4)
    uint64_t frame;      // physical address of the 4-KByte page, A20 applied
    uint8_t* host;       // the page in a RAM slot, or nullptr (MMIO, split over slots)
    uint8_t* host_write; // the same when the slot is writable, or nullptr
};

class Tlb {
  public:
    static constexpr uint32_t kEntries = 512;
    static constexpr uint32_t kPageSize = 0x1000;
    static constexpr uint32_t kPageMask = ~(kPageSize - 1);

    // The entry for `linear` if cached and it allows `bit`; nullptr otherwise.
    const TlbEntry* hit(uint32_t linear, uint32_t bit) const {
        const TlbEntry& e = entries_[index(linear)];
        return e.tag == ((linear & kPageMask) | generation_) && (e.allow & bit) ? &e : nullptr;
    }

    // Installs a translation for the page of `linear` (the walker fills frame, allow, ...).
    void fill(uint32_t linear, const TlbEntry& entry) {
        TlbEntry& e = entries_[index(linear)];
        e = entry;
        e.tag = (linear & kPageMask) | generation_;
        if (e.global) globals_ = true;
        if (e.large_mask != kPageMask) large_ = true;
    }

    // Counts the flushes and invalidations: the block engine compares its code again after
    // one (a translation it relied on may be gone), emu/block/block_engine.hpp.
    uint64_t invalidations() const { return invalidations_; }

    // Every entry, global ones included (MOV to CR0/CR4 changing paging, CR4.PGE, ...).
    void flush_all() {
        ++invalidations_;
        if (!ready_ || ++generation_ == kGenerations) {
            for (TlbEntry& e : entries_)
                e.tag = 0;
            generation_ = 1;
            ready_ = true;
        }
        globals_ = large_ = false;
    }

    // Every entry but the global ones (MOV to CR3, a task switch's CR3 load; SDM 4.10.4.1).
    void flush_non_global() {
        if (!globals_) return flush_all();
        ++invalidations_;
        const uint32_t old = generation_;
        if (++generation_ == kGenerations) generation_ = 1;
        for (TlbEntry& e : entries_) {
            const bool current = (e.tag & ~kPageMask) == old && e.tag != 0;
            e.tag = current && e.global ? (e.tag & kPageMask) | generation_ : 0;
        }
    }

    // The entries for the page holding `linear`, whatever its size (INVLPG, SDM 4.10.4.1).
    void invalidate(uint32_t linear) {
        if (!ready_) return; // nothing cached yet (INVLPG before paging was ever on)
        ++invalidations_;
        TlbEntry& e = entries_[index(linear)];
        if ((e.tag & kPageMask) == (linear & kPageMask)) e.tag = 0;
        if (!large_) return;
        for (TlbEntry& other : entries_)
            if (other.tag != 0 && ((other.tag ^ linear) & other.large_mask) == 0) other.tag = 0;
    }

  private:
    static constexpr uint32_t kGenerations = 1u << 12;
    // The page number folded with its higher bits: buffers 2 MiB apart (a copy from 2 MiB to
    // 4 MiB) would otherwise share every slot of a direct-mapped table and walk at each access.
    static uint32_t index(uint32_t linear) {
        const uint32_t page = linear >> 12;
        return (page ^ (page >> 9) ^ (page >> 18)) & (kEntries - 1);
    }

    // Left uninitialized until the first flush_all(), which paging's first use makes: an
    // emulator that never pages pays nothing for the table (the cold window).
    std::array<TlbEntry, kEntries> entries_;
    uint32_t generation_ = 1;
    uint64_t invalidations_ = 0;
    bool ready_ = false;
    bool globals_ = false; // a global entry may be cached
    bool large_ = false;   // an entry from a large page may be cached
};

} // namespace transit86::emu
