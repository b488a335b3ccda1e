// PCI configuration mechanism #1 (0xCF8 CONFIG_ADDRESS, 0xCFC-0xCFF CONFIG_DATA) on bus 0, and
// the configuration space every PCI function has.
//
// References: PCI Local Bus Specification 3.0, 3.2.2.3.2 (configuration mechanism #1: the
// enable bit 31, bus/device/function/register in bits 23-2, byte lanes of CONFIG_DATA) and 6.2
// (header: read-only IDs, writable Command, write-1-to-clear Status bits, BAR sizing by writing
// all ones); QEMU hw/pci/pci_host.c (CONFIG_ADDRESS is a dword register stored as written;
// CONFIG_DATA with the enable bit clear, or for an absent function, reads all ones) and
// hw/pci/pci.c (pci_default_write_config: each byte written through its write mask, the
// default masks of pci_init_wmask / pci_init_w1cmask).
//
// QEMU overlays PIIX's Reset Control Register on the byte at 0xCF9 (hw/isa/piix.c): a byte
// access there goes to the device given to set_reset_control(), a dword at 0xCF8 is
// CONFIG_ADDRESS. Other byte and word accesses to 0xCF8-0xCFB (the `outb(0x01, 0xCFB)` probe of
// Linux's pci_check_type1, memtest86+, SYSLINUX): writes are dropped, reads give the low bytes
// of CONFIG_ADDRESS, as QEMU's pci_host_config_read/write, which look at neither offset nor
// size but for the dword write.
#pragma once

#include <array>
#include <cstdint>

#include "pc/device.hpp"

namespace transit86::pc {

constexpr uint16_t kIntelVendorId = 0x8086;
constexpr uint16_t kQemuSubsystemVendorId = 0x1AF4; // Red Hat, Inc.
constexpr uint16_t kQemuSubsystemId = 0x1100;       // QEMU virtual machine

// One PCI function: a 256-byte configuration space, each byte written through a write mask
// (bits outside it are read-only), some status bits write-1-to-clear. Subclasses fill the
// header in their constructor and react to writes in config_written().
class PciFunction {
  public:
    virtual ~PciFunction() = default;

    // `offset` + `size` stays within one dword (the bus guarantees it); size 1, 2 or 4.
    virtual uint32_t config_read(uint8_t offset, uint8_t size) const;
    virtual void config_write(uint8_t offset, uint8_t size, uint32_t value);

  protected:
    // Header type 0x00 (0x80: multi-function device). `class_code` is base class, sub-class
    // and programming interface, e.g. 0x060000 for a host bridge.
    PciFunction(uint16_t vendor, uint16_t device, uint8_t revision, uint32_t class_code,
                uint8_t header_type);

    // BAR `index` (0-5) as an I/O BAR of `size` bytes (a power of two, at least 4): bit 0 reads
    // 1, the bits below the size read 0, so writing all ones reads back the size mask.
    void define_io_bar(unsigned index, uint32_t size);

    // Called after every write with the bytes it touched.
    virtual void config_written(uint8_t offset, uint8_t size) {
        (void)offset;
        (void)size;
    }

    static bool touches(uint8_t offset, uint8_t size, uint8_t first, uint8_t count) {
        return offset < first + count && first < offset + size;
    }

    uint8_t byte(uint8_t offset) const { return config_[offset]; }
    uint16_t word(uint8_t offset) const;
    uint32_t dword(uint8_t offset) const;
    void set_byte(uint8_t offset, uint8_t value) { config_[offset] = value; }
    void set_word(uint8_t offset, uint16_t value);
    void set_dword(uint8_t offset, uint32_t value);
    // Which bits of a byte the guest may change, and which it clears by writing 1.
    void set_write_mask(uint8_t offset, uint8_t mask) { write_mask_[offset] = mask; }
    void set_write_mask_dword(uint8_t offset, uint32_t mask);
    void set_clear_mask_word(uint8_t offset, uint16_t mask);

  private:
    std::array<uint8_t, 256> config_{};
    std::array<uint8_t, 256> write_mask_{};
    std::array<uint8_t, 256> clear_mask_{};
};

class PciBus final : public IoDevice {
  public:
    static constexpr uint16_t kConfigAddress = 0xCF8;
    static constexpr uint16_t kResetControl = 0xCF9;
    static constexpr uint16_t kConfigData = 0xCFC;
    static constexpr uint32_t kEnable = 0x80000000u;

    explicit PciBus(DeviceLog* log = nullptr);

    // Plug `function` in at 00:device.function. The bus does not own it.
    void attach(uint8_t device, uint8_t function, PciFunction& pci_function);
    // The device answering byte accesses at 0xCF9.
    void set_reset_control(IoDevice& device) { reset_control_ = &device; }

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

  private:
    // The function CONFIG_ADDRESS selects, or null (disabled, another bus, nothing there).
    PciFunction* selected() const;

    DeviceLog* log_;
    std::array<PciFunction*, 256> functions_{}; // by device << 3 | function
    IoDevice* reset_control_ = nullptr;
    uint32_t config_address_ = 0;
};

} // namespace transit86::pc
