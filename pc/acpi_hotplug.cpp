#include "pc/acpi_hotplug.hpp"

#include <string>

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

// Offsets in the PCI hotplug block (QEMU hw/acpi/pcihp.c); PCIU at 0x00 and PCID at 0x04 read 0.
constexpr uint16_t kEject = 0x08, kRemovable = 0x0C, kSelect = 0x10;

uint8_t byte_of(uint32_t value, unsigned index) {
    return static_cast<uint8_t>(value >> (8 * index));
}

} // namespace

AcpiHotplug::AcpiHotplug(uint32_t builtin_slots, unsigned cpus, DeviceLog* log)
    : removable_slots_(~builtin_slots), log_(log) {
    for (unsigned cpu = 0; cpu < cpus && cpu < 8 * kCpuHotplugSize; ++cpu)
        cpus_present_[cpu / 8] |= static_cast<uint8_t>(1u << (cpu % 8));
}

uint8_t AcpiHotplug::read_byte(uint16_t port) const {
    if (port >= kGpe0Base && port < kGpe0Base + kGpe0Size) {
        const unsigned i = port - kGpe0Base;
        return i < 2 ? gpe_status_[i] : gpe_enable_[i - 2];
    }
    if (port >= kCpuHotplugBase && port < kCpuHotplugBase + kCpuHotplugSize)
        return cpus_present_[port - kCpuHotplugBase];
    const unsigned offset = port - kPciHotplugBase;
    const unsigned lane = offset % 4;
    switch (offset - lane) {
    case kRemovable: return selected_bus_ == 0 ? byte_of(removable_slots_, lane) : 0;
    case kSelect: return byte_of(selected_bus_, lane);
    default: return 0; // no slot was added or asked to go; B0EJ reads 0
    }
}

void AcpiHotplug::write_byte(uint16_t port, uint8_t value) {
    if (port >= kGpe0Base && port < kGpe0Base + kGpe0Size) {
        const unsigned i = port - kGpe0Base;
        if (i < 2)
            gpe_status_[i] &= static_cast<uint8_t>(~value); // write 1 to clear
        else
            gpe_enable_[i - 2] = value;
        return;
    }
    if (port >= kCpuHotplugBase && port < kCpuHotplugBase + kCpuHotplugSize) return; // read only
    const unsigned offset = port - kPciHotplugBase;
    const unsigned lane = offset % 4;
    switch (offset - lane) {
    case kEject:
        if (value != 0 && log_)
            log_->unmodelled("acpi-hotplug",
                             "B0EJ: eject request for PCI slots " + hex_byte(value) + " << " +
                                 std::to_string(8 * lane) + " (nothing here can be unplugged)");
        return;
    case kSelect:
        selected_bus_ = (selected_bus_ & ~(0xFFu << (8 * lane))) | (uint32_t{value} << (8 * lane));
        return;
    default: return; // PCIU, PCID and RMV are read only
    }
}

uint32_t AcpiHotplug::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) { return read_byte(p); });
}

void AcpiHotplug::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t v) { write_byte(p, v); });
}

} // namespace transit86::pc
