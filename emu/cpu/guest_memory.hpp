// Guest-physical memory: RAM slots backed by host buffers; everything else is MMIO.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "transit86/emulator.hpp"

namespace transit86::emu {

class GuestMemory {
  public:
    explicit GuestMemory(std::span<const RamSlot> slots) : slots_(slots.begin(), slots.end()) {}

    void replace_slots(std::span<const RamSlot> slots) {
        slots_.assign(slots.begin(), slots.end());
        last_ = 0;
    }

    // Host pointer for [gpa, gpa+size) when it lies inside one slot (and, for a write, the
    // slot is writable); nullptr otherwise.
    uint8_t* host_range(uint64_t gpa, size_t size, bool write) const noexcept {
        if (write) ++write_requests_;
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

    // How many writes were asked for so far (host_range for writing, write()): the run loop
    // compares it around an interpreted instruction to know whether it may have stored into
    // code the block engine has checked (emu/block/block_engine.hpp, new_epoch()).
    uint64_t write_requests() const noexcept { return write_requests_; }

  private:
    std::vector<RamSlot> slots_;
    mutable size_t last_ = 0;
    mutable uint64_t write_requests_ = 0;
};

} // namespace transit86::emu
