#include "pc/piix3.hpp"

namespace transit86::pc {

namespace {
constexpr uint16_t k82371sbIsa = 0x7000;
constexpr uint32_t kIsaBridgeClass = 0x060100;
constexpr uint8_t kMultiFunction = 0x80;
constexpr uint8_t kRouteDisabled = 0x80;
constexpr uint8_t kResetCpu = 0x04;
constexpr uint8_t kSystemResetType = 0x02;
} // namespace

Piix3IsaBridge::Piix3IsaBridge(DeviceLog* log)
    : PciFunction(kIntelVendorId, k82371sbIsa, 0x00, kIsaBridgeClass, kMultiFunction), log_(log) {
    // QEMU piix_reset.
    set_word(0x04, 0x0007); // bus master, memory and I/O space enabled
    set_word(0x06, 0x0200); // DEVSEL medium
    set_byte(0x4C, 0x4D);
    set_byte(0x4E, 0x03);
    for (uint8_t i = 0; i < 4; ++i)
        set_byte(static_cast<uint8_t>(kPirqRoute + i), kRouteDisabled);
    set_byte(0x69, 0x02);
    set_byte(0x70, 0x80);
    set_byte(0x76, 0x0C);
    set_byte(0x77, 0x0C);
    set_byte(0x78, 0x02);
    set_byte(0xA0, 0x08);
    set_byte(0xA8, 0x0F);
}

std::optional<unsigned> Piix3IsaBridge::pirq_route(unsigned pirq) const {
    if (pirq >= 4) return std::nullopt;
    const uint8_t route = byte(static_cast<uint8_t>(kPirqRoute + pirq));
    if ((route & kRouteDisabled) || (route & 0x0F) >= 16) return std::nullopt;
    return route & 0x0Fu;
}

uint32_t Piix3IsaBridge::io_read(uint16_t port, uint8_t size) {
    if (port != kResetControlPort || size != 1) {
        if (log_) log_->unmodelled("piix3", "reset control access other than one byte at 0xCF9");
        return all_ones(size);
    }
    return reset_control_;
}

void Piix3IsaBridge::io_write(uint16_t port, uint8_t size, uint32_t value) {
    if (port != kResetControlPort || size != 1) {
        if (log_) log_->unmodelled("piix3", "reset control access other than one byte at 0xCF9");
        return;
    }
    if (value & kResetCpu) {
        if (on_reset_request) on_reset_request();
        return;
    }
    reset_control_ = static_cast<uint8_t>(value & kSystemResetType);
}

} // namespace transit86::pc
