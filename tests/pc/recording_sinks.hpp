// Test doubles for what a device drives: IRQ lines that remember every level change, and a
// DeviceLog that remembers every line.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "pc/device.hpp"

namespace transit86::pc::test {

class RecordingIrqLines final : public IrqLines {
  public:
    void set_irq(unsigned irq, bool level) override {
        if (irq >= levels.size()) return;
        if (level && !levels[irq]) ++rising_edges[irq];
        levels[irq] = level;
    }
    std::array<bool, 16> levels{};
    std::array<unsigned, 16> rising_edges{};
};

class RecordingLog final : public DeviceLog {
  public:
    void unmodelled(std::string_view device, std::string_view what) override {
        lines.push_back(std::string(device) + ": " + std::string(what));
    }
    std::vector<std::string> lines;
};

} // namespace transit86::pc::test
