// Guest-physical memory: RAM slots backed by host buffers; everything else is MMIO.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "transit86/emulator.hpp"

namespace transit86::emu {

class GuestMemory {
  public:
    explicit GuestMemory(std::span<const RamSlot> slots)
        : slots_(slots.begin(), slots.end()), aliased_(writes_reach_another_slot(slots_)) {}

    void replace_slots(std::span<const RamSlot> slots) {
        slots_.assign(slots.begin(), slots.end());
        last_ = 0;
        aliased_ = writes_reach_another_slot(slots_);
    }

    // Host pointer for [gpa, gpa+size) when it lies inside one slot (and, for a write, the
    // slot is writable); nullptr otherwise.
    uint8_t* host_range(uint64_t gpa, size_t size, bool write) const noexcept {
        if (write) note_written(gpa, size);
        return slot_bytes(gpa, size, write);
    }

    // host_range() for an access that is not made now (a TLB entry's page, paging.cpp): no
    // write is recorded; the writes through the pointer later call note_written().
    uint8_t* slot_bytes(uint64_t gpa, size_t size, bool write) const noexcept {
        // Most accesses hit the slot the previous one did.
        if (last_ < slots_.size()) {
            const RamSlot& slot = slots_[last_];
            if (gpa >= slot.guest_phys && gpa - slot.guest_phys + size <= slot.size &&
                !(write && slot.read_only))
                return slot.host + (gpa - slot.guest_phys);
        }
        for (size_t i = 0; i < slots_.size(); ++i) {
            const RamSlot& slot = slots_[i];
            if (gpa >= slot.guest_phys && gpa - slot.guest_phys + size <= slot.size) {
                if (write && slot.read_only) return nullptr;
                last_ = i;
                return slot.host + (gpa - slot.guest_phys);
            }
        }
        return nullptr;
    }

    // The slot holding `gpa`, or nullptr.
    const RamSlot* slot_containing(uint64_t gpa) const noexcept {
        for (const RamSlot& slot : slots_)
            if (gpa >= slot.guest_phys && gpa - slot.guest_phys < slot.size) return &slot;
        return nullptr;
    }

    bool read(uint64_t gpa, void* out, size_t size) const noexcept {
        auto* dst = static_cast<uint8_t*>(out);
        if (const uint8_t* p = host_range(gpa, size, false)) {
            std::memcpy(dst, p, size);
            return true;
        }
        for (size_t i = 0; i < size; ++i) { // straddles slots: byte by byte
            const uint8_t* p = host_range(gpa + i, 1, false);
            if (!p) return false;
            dst[i] = *p;
        }
        return true;
    }

    // Every byte of [gpa, gpa+size) is in writable RAM (possibly over several slots).
    bool writable(uint64_t gpa, size_t size) const noexcept {
        if (host_range(gpa, size, true)) return true;
        for (size_t i = 0; i < size; ++i)
            if (!host_range(gpa + i, 1, true)) return false;
        return true;
    }

    bool write(uint64_t gpa, const void* in, size_t size) const noexcept {
        const auto* src = static_cast<const uint8_t*>(in);
        if (uint8_t* p = host_range(gpa, size, true)) {
            std::memcpy(p, src, size);
            return true;
        }
        if (!writable(gpa, size)) return false;
        for (size_t i = 0; i < size; ++i)
            *host_range(gpa + i, 1, true) = src[i];
        return true;
    }

    // A write through a host pointer host_range() or slot_bytes() gave out earlier.
    void note_written(uint64_t gpa, size_t size) const noexcept {
        written_first_ = std::min(written_first_, gpa);
        written_end_ = std::max(written_end_, gpa + size);
    }

    // The guest-physical range [first, end) spanning every write asked for (host_range for
    // writing, write(), writable()) since the last call, which forgets them; first >= end
    // when there was none. The run loop asks before it enters the block engine, to know
    // whether an interpreted instruction may have stored into code the engine has checked
    // (emu/block/block_engine.hpp, new_epoch()).
    struct WrittenRange {
        uint64_t first;
        uint64_t end;
    };
    // When a writable slot shares host bytes with another slot, a write may change any
    // guest-physical address: then the range is everything, as soon as anything was written.
    // A writable slot shares host bytes with another slot: a store to one guest-physical
    // address may change another.
    bool writes_may_alias() const noexcept { return aliased_; }
    WrittenRange take_written() noexcept {
        WrittenRange range{written_first_, written_end_};
        if (aliased_ && range.first < range.end) range = {0, UINT64_MAX};
        written_first_ = UINT64_MAX;
        written_end_ = 0;
        return range;
    }

  private:
    static bool writes_reach_another_slot(const std::vector<RamSlot>& slots) {
        const auto first = [](const RamSlot& s) { return reinterpret_cast<uintptr_t>(s.host); };
        for (const RamSlot& a : slots)
            for (const RamSlot& b : slots)
                if (&a != &b && !a.read_only && first(a) < first(b) + b.size &&
                    first(b) < first(a) + a.size)
                    return true;
        return false;
    }

    std::vector<RamSlot> slots_;
    bool aliased_ = false;
    mutable size_t last_ = 0;
    mutable uint64_t written_first_ = UINT64_MAX;
    mutable uint64_t written_end_ = 0;
};

} // namespace transit86::emu
