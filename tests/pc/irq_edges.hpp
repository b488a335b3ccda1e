// Rising edges of one line in what a RecordingIrqLines saw: how many interrupts an
// edge-triggered 8259 input would have latched.
#pragma once

#include "fake_platform.hpp"

namespace transit86::pc::testing {

inline unsigned rising_edges(const RecordingIrqLines& lines, unsigned irq) {
    unsigned edges = 0;
    bool level = false;
    for (const auto& change : lines.changes) {
        if (change.irq != irq) continue;
        if (change.level && !level) ++edges;
        level = change.level;
    }
    return edges;
}

} // namespace transit86::pc::testing
