#include "pc/piix3_ide.hpp"

namespace transit86::pc {

namespace {
constexpr uint16_t k82371sbIde = 0x7010;
constexpr uint32_t kLegacyIdeClass = 0x010180;
constexpr uint8_t kBmiba = 0x20;
constexpr uint8_t kCommand = 0x04;
} // namespace

Piix3Ide::Piix3Ide() : PciFunction(kIntelVendorId, k82371sbIde, 0x00, kLegacyIdeClass, 0x00) {
    set_word(0x06, 0x0280); // fast back-to-back capable, DEVSEL medium
    define_io_bar(kBusMasterBar, kBusMasterSize);
}

uint16_t Piix3Ide::bus_master_base() const {
    return static_cast<uint16_t>(dword(kBmiba) & 0xFFF0);
}

void Piix3Ide::config_written(uint8_t offset, uint8_t size) {
    if (!touches(offset, size, kBmiba, 4) && !touches(offset, size, kCommand, 2)) return;
    const uint16_t window = (word(kCommand) & 1) != 0 ? bus_master_base() : 0;
    if (window == window_) return;
    window_ = window;
    if (on_bus_master_window_change) on_bus_master_window_change(window_);
}

} // namespace transit86::pc
