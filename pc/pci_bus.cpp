#include "pc/pci_bus.hpp"

namespace transit86::pc {

namespace {

// Header offsets (PCI 3.0, 6.1).
constexpr uint8_t kVendorId = 0x00;
constexpr uint8_t kDeviceId = 0x02;
constexpr uint8_t kCommand = 0x04;
constexpr uint8_t kStatus = 0x06;
constexpr uint8_t kRevision = 0x08;
constexpr uint8_t kClassCode = 0x09;
constexpr uint8_t kCacheLineSize = 0x0C;
constexpr uint8_t kHeaderType = 0x0E;
constexpr uint8_t kSubsystemVendorId = 0x2C;
constexpr uint8_t kSubsystemId = 0x2E;
constexpr uint8_t kBar0 = 0x10;
constexpr uint8_t kInterruptLine = 0x3C;
constexpr uint8_t kDeviceSpecific = 0x40;

// QEMU pci_init_wmask: I/O, memory and bus-master enable, SERR# enable, interrupt disable.
constexpr uint16_t kCommandWritable = 0x0001 | 0x0002 | 0x0004 | 0x0100 | 0x0400;
// QEMU pci_init_w1cmask: master data parity error, signalled/received target abort, received
// master abort, signalled system error, detected parity error.
constexpr uint16_t kStatusWriteOneToClear = 0x0100 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000;

} // namespace

PciFunction::PciFunction(uint16_t vendor, uint16_t device, uint8_t revision, uint32_t class_code,
                         uint8_t header_type) {
    set_word(kVendorId, vendor);
    set_word(kDeviceId, device);
    set_byte(kRevision, revision);
    set_byte(kClassCode, static_cast<uint8_t>(class_code));
    set_byte(kClassCode + 1, static_cast<uint8_t>(class_code >> 8));
    set_byte(kClassCode + 2, static_cast<uint8_t>(class_code >> 16));
    set_byte(kHeaderType, header_type);
    // QEMU gives every function that names no subsystem of its own Red Hat's vendor ID and
    // "QEMU virtual machine" (hw/pci/pci.c pci_set_default_subsystem_id); SeaBIOS's
    // qemu_detect() reads them at 00:00.0 to decide it runs on QEMU ("Running on QEMU
    // (i440fx)"), and then takes the boot order from the CMOS and moves the PM base to 0x600.
    set_word(kSubsystemVendorId, kQemuSubsystemVendorId);
    set_word(kSubsystemId, kQemuSubsystemId);
    set_write_mask(kCommand, static_cast<uint8_t>(kCommandWritable));
    set_write_mask(kCommand + 1, static_cast<uint8_t>(kCommandWritable >> 8));
    set_clear_mask_word(kStatus, kStatusWriteOneToClear);
    set_write_mask(kCacheLineSize, 0xFF);
    set_write_mask(kInterruptLine, 0xFF);
    for (unsigned offset = kDeviceSpecific; offset < 256; ++offset)
        set_write_mask(static_cast<uint8_t>(offset), 0xFF);
}

uint16_t PciFunction::word(uint8_t offset) const {
    return static_cast<uint16_t>(config_[offset] | (config_[(offset + 1) & 0xFF] << 8));
}

uint32_t PciFunction::dword(uint8_t offset) const {
    return word(offset) | (uint32_t{word(static_cast<uint8_t>(offset + 2))} << 16);
}

void PciFunction::set_word(uint8_t offset, uint16_t value) {
    config_[offset] = static_cast<uint8_t>(value);
    config_[(offset + 1) & 0xFF] = static_cast<uint8_t>(value >> 8);
}

void PciFunction::set_dword(uint8_t offset, uint32_t value) {
    set_word(offset, static_cast<uint16_t>(value));
    set_word(static_cast<uint8_t>(offset + 2), static_cast<uint16_t>(value >> 16));
}

void PciFunction::set_write_mask_dword(uint8_t offset, uint32_t mask) {
    for (unsigned i = 0; i < 4; ++i)
        write_mask_[(offset + i) & 0xFF] = static_cast<uint8_t>(mask >> (8 * i));
}

void PciFunction::set_clear_mask_word(uint8_t offset, uint16_t mask) {
    clear_mask_[offset] = static_cast<uint8_t>(mask);
    clear_mask_[(offset + 1) & 0xFF] = static_cast<uint8_t>(mask >> 8);
}

void PciFunction::define_io_bar(unsigned index, uint32_t size) {
    const auto offset = static_cast<uint8_t>(kBar0 + 4 * index);
    // Bit 0 set: I/O space indicator (read-only); bit 1 reserved; the address bits below the
    // size read 0, so the sizing write of all ones reads back ~(size - 1) | 1.
    set_dword(offset, 0x00000001);
    set_write_mask_dword(offset, ~(size - 1) & ~uint32_t{3});
}

uint32_t PciFunction::config_read(uint8_t offset, uint8_t size) const {
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i)
        value |= uint32_t{config_[(offset + i) & 0xFF]} << (8 * i);
    return value;
}

void PciFunction::config_write(uint8_t offset, uint8_t size, uint32_t value) {
    for (uint8_t i = 0; i < size; ++i) {
        const size_t at = (offset + i) & 0xFF;
        const auto written = static_cast<uint8_t>(value >> (8 * i));
        uint8_t next =
            static_cast<uint8_t>((config_[at] & ~write_mask_[at]) | (written & write_mask_[at]));
        next = static_cast<uint8_t>(next & ~(written & clear_mask_[at]));
        config_[at] = next;
    }
    config_written(offset, size);
}

PciBus::PciBus(DeviceLog* log) : log_(log) {}

void PciBus::attach(uint8_t device, uint8_t function, PciFunction& pci_function) {
    functions_[((device & 0x1F) << 3) | (function & 7)] = &pci_function;
}

PciFunction* PciBus::selected() const {
    if ((config_address_ & kEnable) == 0) return nullptr;
    if (((config_address_ >> 16) & 0xFF) != 0) return nullptr; // only bus 0 exists
    return functions_[(config_address_ >> 8) & 0xFF];
}

uint32_t PciBus::io_read(uint16_t port, uint8_t size) {
    if (port == kConfigAddress && size == 4) return config_address_;
    if (port == kResetControl && size == 1 && reset_control_ != nullptr)
        return reset_control_->io_read(port, size);
    if (port >= kConfigData && port + size <= kConfigData + 4) {
        PciFunction* function = selected();
        if (function == nullptr) return all_ones(size);
        const auto offset = static_cast<uint8_t>((config_address_ & 0xFC) | (port & 3));
        return function->config_read(offset, size);
    }
    if (port + size <= kConfigData) return config_address_ & all_ones(size); // QEMU: low bytes
    if (log_) log_->unmodelled("pci", "access across CONFIG_ADDRESS and CONFIG_DATA (0xCFB-0xCFC)");
    return all_ones(size);
}

void PciBus::io_write(uint16_t port, uint8_t size, uint32_t value) {
    if (port == kConfigAddress && size == 4) {
        config_address_ = value;
        return;
    }
    if (port == kResetControl && size == 1 && reset_control_ != nullptr) {
        reset_control_->io_write(port, size, value);
        return;
    }
    if (port >= kConfigData && port + size <= kConfigData + 4) {
        PciFunction* function = selected();
        if (function == nullptr) return;
        const auto offset = static_cast<uint8_t>((config_address_ & 0xFC) | (port & 3));
        function->config_write(offset, size, value);
        return;
    }
    if (port + size <= kConfigData) return; // QEMU drops all but a dword at 0xCF8
    if (log_) log_->unmodelled("pci", "access across CONFIG_ADDRESS and CONFIG_DATA (0xCFB-0xCFC)");
}

} // namespace transit86::pc
