// What a device sees of the platform, recorded for the tests: interrupt lines, guest RAM for
// DMA, the unmodelled-feature log.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pc/device.hpp"

namespace transit86::pc::testing {

class RecordingIrqLines final : public IrqLines {
  public:
    struct Change {
        unsigned irq;
        bool level;
        bool operator==(const Change&) const = default;
    };
    void set_irq(unsigned irq, bool level) override {
        levels.at(irq) = level;
        changes.push_back({irq, level});
    }
    std::array<bool, 16> levels{};
    std::vector<Change> changes;
};

class RecordingLog final : public DeviceLog {
  public:
    void unmodelled(std::string_view device, std::string_view what) override {
        lines.push_back(std::string(device) + ": " + std::string(what));
    }
    std::vector<std::string> lines;
};

// Guest RAM at physical address 0 with the bounds check DmaMemory promises.
class RamDma final : public DmaMemory {
  public:
    explicit RamDma(size_t size) : ram(size, 0) {}
    bool dma_read(uint64_t gpa, std::span<uint8_t> out) override {
        if (!inside(gpa, out.size())) return false;
        std::copy_n(ram.begin() + static_cast<ptrdiff_t>(gpa), out.size(), out.begin());
        return true;
    }
    bool dma_write(uint64_t gpa, std::span<const uint8_t> in) override {
        if (!inside(gpa, in.size())) return false;
        std::copy(in.begin(), in.end(), ram.begin() + static_cast<ptrdiff_t>(gpa));
        return true;
    }
    bool inside(uint64_t gpa, size_t size) const {
        return gpa <= ram.size() && size <= ram.size() - gpa;
    }
    std::vector<uint8_t> ram;
};

} // namespace transit86::pc::testing
