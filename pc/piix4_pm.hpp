// The PIIX4 power-management function at 00:01.3 (QEMU's pc machine puts a PIIX4 PM next to
// the PIIX3): 8086:7113, class 0x068000, revision 3, and its ACPI register block.
//
// Configuration: PMBA (0x40, bits 15-6 the I/O base of a 64-byte block, bit 0 reads 1) and
// PMREGMISC (0x80, bit 0 enables the block). SeaBIOS writes 0x601 and 0x01 (src/fw/pciinit.c,
// piix4_pm_config_setup) and then reads the ACPI PM timer at 0x608 for every delay. The block
// moves when PMBA changes: io_base()/io_enabled() say where it is, on_io_window_change tells
// the platform, and pm_registers() is the IoDevice to route there (it takes absolute ports).
// SMBBA (0x90) and SMBHSTCFG (0xD2) are storage; no SMBus controller is modelled. 0x5B reads
// 0x02 as in QEMU without SMM ("APMC enable": SeaBIOS then leaves SMM alone).
//
// The block (ACPI 1.0 fixed hardware registers, PIIX4 layout):
//   +0 PM1_STS  TMR_STS (bit 0) set when bit 23 of the timer changes; write 1 to clear
//   +2 PM1_EN   TMR_EN (bit 0), GBL_EN, PWRBTN_EN, RTC_EN: storage, used for the SCI
//   +4 PM1_CNT  SCI_EN (bit 0), SLP_TYP (12-10), SLP_EN (13, write-only): on_sleep(SLP_TYP)
//   +8 PM_TMR   24-bit counter at 3,579,545 Hz from VirtualClock, read-only
// The SCI is IRQ 9 (QEMU wires it there), high while a status bit and its enable are both set.
// The APM ports 0xB2/0xB3 (apm_ports()) take the FADT's ACPI enable/disable commands (0xF1 /
// 0xF0 set / clear SCI_EN, QEMU apm_ctrl_changed); no SMI is raised.
//
// References: Intel 82371AB (PIIX4) datasheet, power management configuration and I/O
// registers; ACPI 1.0b, 4.7.3 (PM1 event / control, PM timer); QEMU hw/acpi/piix4.c
// (pm_io_space_update: base = PMBA & 0xFFC0, enabled by 0x80 bit 0; piix4_pm_reset) and
// hw/acpi/core.c (acpi_pm_tmr_get, acpi_pm1_evt_get_sts / write_sts, acpi_pm1_cnt_write).
#pragma once

#include <cstdint>
#include <functional>

#include "pc/device.hpp"
#include "pc/pci_bus.hpp"

namespace transit86::pc {

class Piix4Pm final : public PciFunction, public TimedDevice {
  public:
    static constexpr uint8_t kPmba = 0x40;
    static constexpr uint8_t kPmRegMisc = 0x80;
    static constexpr uint8_t kSmbba = 0x90;
    static constexpr uint16_t kBlockSize = 64;
    static constexpr uint64_t kTimerHz = 3579545;
    static constexpr unsigned kSciIrq = 9;
    static constexpr uint16_t kApmControl = 0xB2;
    static constexpr uint16_t kApmStatus = 0xB3;

    Piix4Pm(const VirtualClock& clock, IrqLines& irq, DeviceLog* log = nullptr);
    // A copy (a snapshot, or a restore in place: pc/device.hpp restore_device) has its own
    // register windows, answering for the copy, not for the device copied.
    Piix4Pm(const Piix4Pm& other);
    Piix4Pm& operator=(const Piix4Pm&) = delete;

    uint16_t io_base() const;
    bool io_enabled() const;
    IoDevice& pm_registers() { return pm_registers_; }
    IoDevice& apm_ports() { return apm_ports_; }

    // After PMBA or PMREGMISC changed where (or whether) the block decodes.
    std::function<void(bool enabled, uint16_t base)> on_io_window_change;
    // The guest set SLP_EN; QEMU treats SLP_TYP 0 as soft off (S5) and 1 as S3.
    std::function<void(unsigned sleep_type)> on_sleep;

    // TMR_STS on bit 23 of the timer changing, and the SCI it raises when TMR_EN is set.
    void advance() override;
    uint64_t next_event_ns() const override;

  private:
    class PmRegisters final : public IoDevice {
      public:
        explicit PmRegisters(Piix4Pm& pm) : pm_(pm) {}
        uint32_t io_read(uint16_t port, uint8_t size) override;
        void io_write(uint16_t port, uint8_t size, uint32_t value) override;

      private:
        Piix4Pm& pm_;
    };
    class ApmPorts final : public IoDevice {
      public:
        explicit ApmPorts(Piix4Pm& pm) : pm_(pm) {}
        uint32_t io_read(uint16_t port, uint8_t size) override;
        void io_write(uint16_t port, uint8_t size, uint32_t value) override;

      private:
        Piix4Pm& pm_;
    };

    void config_written(uint8_t offset, uint8_t size) override;
    uint64_t timer_ticks() const;
    uint16_t event_status();
    uint8_t read_block_byte(uint16_t offset);
    void write_block_byte(uint16_t offset, uint8_t value);
    void write_control(uint16_t value);
    void clear_status(uint16_t bits);
    void update_sci();

    const VirtualClock& clock_;
    IrqLines& irq_;
    DeviceLog* log_;
    PmRegisters pm_registers_{*this};
    ApmPorts apm_ports_{*this};
    uint16_t status_ = 0;
    uint16_t enable_ = 0;
    uint16_t control_ = 0;
    uint64_t overflow_tick_ = 0; // the next timer tick at which bit 23 changes
    uint8_t apm_control_ = 0;
    uint8_t apm_status_ = 0;
    bool sci_level_ = false;
    bool window_enabled_ = false;
    uint16_t window_base_ = 0;
};

} // namespace transit86::pc
