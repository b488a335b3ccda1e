#include "pc/piix3_ide.hpp"

namespace transit86::pc {

namespace {
constexpr uint16_t k82371sbIde = 0x7010;
constexpr uint32_t kLegacyIdeClass = 0x010180;
constexpr uint8_t kBmiba = 0x20;
} // namespace

Piix3Ide::Piix3Ide() : PciFunction(kIntelVendorId, k82371sbIde, 0x00, kLegacyIdeClass, 0x00) {
    set_word(0x06, 0x0280); // fast back-to-back capable, DEVSEL medium
    define_io_bar(kBusMasterBar, kBusMasterSize);
}

uint16_t Piix3Ide::bus_master_base() const {
    return static_cast<uint16_t>(dword(kBmiba) & 0xFFF0);
}

} // namespace transit86::pc
