// The register windows of the local APIC (0xFEE00000, 4 KiB) and the I/O APIC (0xFEC00000,
// IOREGSEL at 0x00, IOWIN at 0x10), as storage with the reset values of QEMU's models, so that
// firmware probing them finds what it expects. Neither delivers interrupts: there is one CPU
// and the 8259 pair (pc/i8259.hpp) drives its INTR pin, as with the local APIC's LINT0 in
// ExtINT mode, which is how SeaBIOS leaves it.
//
// What SeaBIOS does with them (src/fw/smp.c, src/fw/mptable.c, src/fw/acpi.c): reads the
// version (0x30) and ID (0x20), sets the SVR enable bit, programs LINT0 to ExtINT (0x8700) and
// LINT1 to NMI (0x8400), then sends INIT and SIPI through the ICR (0x300) and waits for the
// application processors to count themselves. There are none: the ICR writes are recorded,
// the delivery-status bit (12) always reads 0 (idle), and nothing else happens; SeaBIOS's
// wait ends because the CPU count it expects is 1.
//
// Accesses must be 32-bit and 16-byte aligned (local APIC; Intel SDM Vol. 3A 11.4.1) or
// 32-bit to IOWIN (82093AA datasheet); others are logged through DeviceLog and read 0.
//
// References: Intel SDM Vol. 3A 11.4-11.6 (local APIC registers and reset values; version
// 0x14 with 6 LVT entries); Intel 82093AA I/O APIC datasheet (IOREGSEL/IOWIN, ID, version
// 0x11 with 24 entries, redirection table masked at reset); QEMU hw/intc/apic.c and
// apic_common.c (apic_mem_read/write, apic_reset_common: every LVT masked, SVR 0xFF, DFR all
// ones) and hw/intc/ioapic.c (ioapic_mem_read/write, the read-only delivery-status and
// remote-IRR bits of a redirection entry).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "pc/device.hpp"

namespace transit86::pc {

class LocalApicWindow final : public MmioDevice {
  public:
    static constexpr uint64_t kBase = 0xFEE00000;
    static constexpr uint64_t kSize = 0x1000;
    // Version 0x14 (integrated APIC), max LVT entry 5 (QEMU APIC_LVT_NB - 1) in bits 23-16.
    static constexpr uint32_t kVersion = 0x00050014;

    explicit LocalApicWindow(uint8_t apic_id = 0, DeviceLog* log = nullptr);

    uint64_t mmio_read(uint64_t offset, uint8_t size) override;
    void mmio_write(uint64_t offset, uint8_t size, uint64_t value) override;

    // Every ICR send (a write of the low dword), with the destination dword current then.
    struct InterprocessorInterrupt {
        uint32_t command; // ICR bits 31-0: vector, delivery mode, level, shorthand
        uint32_t destination;
    };
    const std::vector<InterprocessorInterrupt>& sent_ipis() const { return sent_; }

    void reset();

  private:
    uint32_t read_register(unsigned index);
    void write_register(unsigned index, uint32_t value);

    DeviceLog* log_;
    uint8_t id_;
    uint8_t task_priority_ = 0;
    uint8_t logical_destination_ = 0;
    uint8_t destination_format_ = 0xF;
    uint16_t spurious_vector_ = 0xFF;
    uint32_t icr_low_ = 0;
    uint32_t icr_high_ = 0;
    std::array<uint32_t, 6> lvt_{}; // timer, thermal, performance, LINT0, LINT1, error
    uint32_t timer_initial_count_ = 0;
    uint32_t timer_divide_ = 0;
    std::vector<InterprocessorInterrupt> sent_;
};

// The I/O APIC version of QEMU's pc machines since 2.7 (hw/intc/ioapic.c, IOAPIC_VER_DEF):
// Linux reads it back ("IOAPIC[0]: apic_id 0, version 32").
inline constexpr uint8_t kQemuIoApicVersion = 0x20;

class IoApicWindow final : public MmioDevice {
  public:
    static constexpr uint64_t kBase = 0xFEC00000;
    static constexpr uint64_t kSize = 0x1000;
    static constexpr unsigned kPins = 24;

    // `version` 0x11 is the 82093AA; QEMU's pc machines since 2.7 default to 0x20, which adds
    // the EOI register at 0x40.
    explicit IoApicWindow(uint8_t version = 0x11, DeviceLog* log = nullptr);

    uint64_t mmio_read(uint64_t offset, uint8_t size) override;
    void mmio_write(uint64_t offset, uint8_t size, uint64_t value) override;

    void reset();

  private:
    uint32_t read_indirect();
    void write_indirect(uint32_t value);

    DeviceLog* log_;
    uint8_t version_;
    uint8_t select_ = 0;
    uint8_t id_ = 0;
    std::array<uint64_t, kPins> redirection_{};
};

} // namespace transit86::pc
