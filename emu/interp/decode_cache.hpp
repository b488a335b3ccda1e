// Decoded instructions cached by physical address and fetch mode (PE, CS.D, VM).
//
// An entry keeps the bytes it was decoded from, and a hit compares them with guest memory
// before use: a store into already-decoded bytes — by the guest (self-modifying code) or by
// the host writing guest RAM between runs — takes effect the next time they execute, with
// no invalidation protocol to get wrong. Direct-mapped; allocated once with the emulator.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "decoder/insn.hpp"
#include "emu/cpu/huge_table.hpp"
#include "emu/interp/execute.hpp"

namespace transit86::emu {

class DecodeCache {
  public:
    // Entries are plain data in a table left uninitialized (huge_table.hpp): which entries
    // hold something is kept in a separate bitmap that construction clears (2 KiB).
    struct Entry {
        uint32_t phys;
        uint8_t mode;
        uint8_t length;
        uint8_t bytes[15];
        decoder::Insn insn;
        Dispatch dispatch; // resolved once at decode time
    };

    // A kernel's working set: with 4,096 entries a Linux boot kept decoding the same
    // instructions again (and the block engine, which translates only code found here, kept
    // leaving them to the interpreter): docs/performance.md.
    static constexpr uint32_t kEntries = 16384;

    DecodeCache() = default;
    DecodeCache(const DecodeCache&) = delete;
    DecodeCache& operator=(const DecodeCache&) = delete;

    static uint8_t mode_key(bool protected_mode, bool code32, bool v86) {
        return static_cast<uint8_t>(protected_mode | (code32 << 1) | (v86 << 2));
    }

    // The entry decoded at (phys, mode), if any; the caller checks its bytes against memory
    // with matches() before using it.
    const Entry* find(uint32_t phys, uint8_t mode) const {
        const uint32_t i = index(phys, mode);
        if (!(valid_[i / 64] >> (i % 64) & 1)) return nullptr;
        const Entry& e = entries_[i];
        return e.phys == phys && e.mode == mode ? &e : nullptr;
    }
    static bool matches(const Entry& e, const uint8_t* host) {
        for (uint8_t i = 0; i < e.length; ++i) // most instructions are 1-4 bytes: no memcmp call
            if (host[i] != e.bytes[i]) return false;
        return true;
    }

    const Entry& store(uint32_t phys, uint8_t mode, const uint8_t* bytes,
                       const decoder::Insn& insn) {
        const uint32_t i = index(phys, mode);
        valid_[i / 64] |= uint64_t{1} << (i % 64);
        Entry& e = entries_[i];
        e.phys = phys;
        e.mode = mode;
        e.length = insn.length;
        std::memcpy(e.bytes, bytes, insn.length);
        e.insn = insn;
        e.dispatch = dispatch_for(insn);
        return e;
    }

    void clear() { valid_.fill(0); }

  private:
    static uint32_t index(uint32_t phys, uint8_t mode) {
        return (phys ^ (phys >> 12) ^ (uint32_t{mode} << 9)) & (kEntries - 1);
    }

    HugePageTable<Entry, kEntries> entries_;
    std::array<uint64_t, kEntries / 64> valid_{};
};

} // namespace transit86::emu
