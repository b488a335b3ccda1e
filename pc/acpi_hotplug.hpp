// The ACPI hotplug registers QEMU's piix4 PM function decodes at fixed ports on every pc
// machine, which the DSDT SeaBIOS builds (and QEMU's own) reads from its GPE handlers and _STA
// methods: the GPE0 block, the PCI hotplug interface and the legacy CPU hotplug bitmap. No
// device is ever hot-plugged here, so no event is ever raised; what matters is that the
// registers read as QEMU's do with nothing happening. Read as all ones (nothing decoding),
// Linux takes every GPE as pending and every PCI slot as "removed" and ejects the PIIX3
// functions at 00:01.x, the IDE controller with them.
//
//   0xAFE0-0xAFE3 GPE0: status (bytes 0-1, write 1 to clear), enable (bytes 2-3, storage)
//   0xAE00 PCIU   slots with a device added since the last read: 0
//   0xAE04 PCID   slots with a removal requested: 0
//   0xAE08 B0EJ   write: eject the slots whose bits are set (logged, nothing is ejectable);
//                 reads 0
//   0xAE0C RMV    slots whose device could be unplugged: every slot but those of built-in
//                 devices (QEMU: all bits, less slot 0, the host bridge, and slot 1, PIIX3)
//   0xAE10 SEL    the bus the registers above describe (only bus 0 exists: another reads 0)
//   0xAF00-0xAF1F one bit per possible CPU, set when present: CPU 0
//
// References: QEMU hw/acpi/piix4.c (piix4_acpi_system_hot_add_init: GPE_BASE 0xafe0, GPE_LEN 4,
// ACPI_PCIHP_ADDR 0xae00, PIIX4_CPU_HOTPLUG_IO_BASE 0xaf00), hw/acpi/pcihp.c (pci_read,
// pci_write, acpi_pcihp_update_hotplug_bus), hw/acpi/cpu_hotplug.c (the legacy interface);
// QEMU docs/specs/acpi_pci_hotplug.rst; ACPI 6.4 5.6.4 (GPE blocks).
#pragma once

#include <array>
#include <cstdint>

#include "pc/device.hpp"

namespace transit86::pc {

class AcpiHotplug final : public IoDevice {
  public:
    static constexpr uint16_t kGpe0Base = 0xAFE0;
    static constexpr uint16_t kGpe0Size = 4;
    static constexpr uint16_t kPciHotplugBase = 0xAE00;
    static constexpr uint16_t kPciHotplugSize = 0x14;
    static constexpr uint16_t kCpuHotplugBase = 0xAF00;
    static constexpr uint16_t kCpuHotplugSize = 0x20;

    // `builtin_slots`: a bit per PCI slot on bus 0 whose device cannot be unplugged.
    AcpiHotplug(uint32_t builtin_slots, unsigned cpus, DeviceLog* log = nullptr);

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

  private:
    uint8_t read_byte(uint16_t port) const;
    void write_byte(uint16_t port, uint8_t value);

    uint32_t removable_slots_;
    std::array<uint8_t, kCpuHotplugSize> cpus_present_{};
    DeviceLog* log_;
    std::array<uint8_t, 2> gpe_status_{};
    std::array<uint8_t, 2> gpe_enable_{};
    uint32_t selected_bus_ = 0;
};

} // namespace transit86::pc
