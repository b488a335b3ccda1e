#include "pc/i440fx.hpp"

namespace transit86::pc {

namespace {
constexpr uint16_t k82441fx = 0x1237;
constexpr uint32_t kHostBridgeClass = 0x060000;
constexpr uint8_t kPamCount = 7;
// SMRAM: C_BASE_SEG (bits 2-0) is hardwired to 010 (the A0000 segment); G_SMRAME, D_LCK,
// D_CLS and D_OPEN are storage.
constexpr uint8_t kSmramReset = 0x02;
constexpr uint8_t kSmramWritable = 0x78;
} // namespace

I440fxHostBridge::I440fxHostBridge()
    : PciFunction(kIntelVendorId, k82441fx, 0x02, kHostBridgeClass, 0x00) {
    set_byte(kSmram, kSmramReset);
    set_write_mask(kSmram, kSmramWritable);
    reported_ = pam_modes();
}

PamRegion I440fxHostBridge::pam_region(unsigned index) {
    if (index == 0) return {0xF0000, 0x10000};
    return {0xC0000 + 0x4000 * (index - 1), 0x4000};
}

std::array<PamMode, I440fxHostBridge::kPamRegions> I440fxHostBridge::pam_modes() const {
    std::array<PamMode, kPamRegions> modes{};
    for (unsigned i = 0; i < kPamRegions; ++i) {
        // Region i lives in PAM register (i + 1) / 2: the high nibble for even i.
        const uint8_t reg = byte(static_cast<uint8_t>(kPam0 + (i + 1) / 2));
        const unsigned nibble = (i % 2 == 0) ? reg >> 4 : reg & 0x0F;
        modes[i] = static_cast<PamMode>(nibble & 3);
    }
    return modes;
}

void I440fxHostBridge::config_written(uint8_t offset, uint8_t size) {
    if (!touches(offset, size, kPam0, kPamCount)) return;
    const auto modes = pam_modes();
    if (modes == reported_) return;
    reported_ = modes;
    if (on_pam_change) on_pam_change(modes);
}

} // namespace transit86::pc
