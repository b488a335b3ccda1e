// The cascaded 8259A pair of a PC (master at 0x20/0x21, slave at 0xA0/0xA1 on master IRQ 2)
// with the PIIX edge/level control registers (ELCR) at 0x4D0/0x4D1.
//
// References: Intel 8259A datasheet (ICW1-ICW4, OCW1-OCW3, priority resolution, poll command,
// special mask mode, automatic EOI, spurious IR7); Intel 82371SB (PIIX3) datasheet, ELCR1/ELCR2
// (IRQ 0, 1, 2, 8 and 13 are always edge triggered); QEMU hw/intc/i8259.c, whose behaviour this
// follows register for register: the priority resolution (get_priority / pic_get_irq), the
// acknowledge cycle (pic_read_irq: cascade through IRQ 2, spurious IRQ 7 on either chip), the
// edge detector (last_irr), ICW1 resetting IRR, IMR and ISR, LTIM (ICW1 bit 3) making every
// line level triggered, and the ELCR masks 0xF8 / 0xDE.
//
// The CPU side: interrupt_pending() is the master's INTR output; acknowledge() is the INTA
// cycle and returns the vector.
#pragma once

#include <cstdint>

#include "pc/device.hpp"

namespace transit86::pc {

class I8259Pair final : public IoDevice, public IrqLines {
  public:
    static constexpr uint16_t kMasterCommand = 0x20;
    static constexpr uint16_t kMasterData = 0x21;
    static constexpr uint16_t kSlaveCommand = 0xA0;
    static constexpr uint16_t kSlaveData = 0xA1;
    static constexpr uint16_t kElcrMaster = 0x4D0;
    static constexpr uint16_t kElcrSlave = 0x4D1;
    static constexpr unsigned kCascadeIrq = 2;

    explicit I8259Pair(DeviceLog* log = nullptr);

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

    // ISA lines 0-15 (8-15 on the slave). Edge or level as ELCR / LTIM say.
    void set_irq(unsigned irq, bool level) override;

    // INTR: the master has an unmasked request of higher priority than any in service.
    bool interrupt_pending() const;
    // The INTA cycle: the vector of the highest-priority request, with ISR/IRR updated (and the
    // slave acknowledged through the cascade); IRQ 7 of the chip when the request vanished.
    uint8_t acknowledge();

    // Hardware reset: both chips uninitialised, ELCR cleared (QEMU pic_reset).
    void reset();

    // IRR, IMR and ISR of one chip, read without the side effects of a port read (poll,
    // OCW3's register select): for invariant checks (tests/fuzz/fuzz_platform.cpp).
    struct Registers {
        uint8_t irr = 0;
        uint8_t imr = 0;
        uint8_t isr = 0;
    };
    Registers registers(bool slave) const {
        const Chip& chip = slave ? slave_ : master_;
        return {chip.irr, chip.imr, chip.isr};
    }

  private:
    struct Chip {
        uint8_t irr = 0;
        uint8_t imr = 0;
        uint8_t isr = 0;
        uint8_t last_irr = 0; // line levels as last seen, for edge detection
        uint8_t priority_add = 0;
        uint8_t irq_base = 0;
        uint8_t elcr = 0;
        uint8_t elcr_mask = 0;
        uint8_t init_state = 0; // 0: ready; 1, 2, 3: waiting for ICW2, ICW3, ICW4
        bool read_isr = false;
        bool poll = false;
        bool special_mask = false;
        bool auto_eoi = false;
        bool rotate_on_auto_eoi = false;
        bool special_fully_nested = false;
        bool expect_icw4 = false;
        bool single = false;
        bool level_triggered_mode = false; // ICW1 LTIM
        bool is_master = false;

        void initialise_registers();
        bool line_is_level(unsigned line) const;
        // The IR number (0-7) to raise INT for, or -1.
        int requested_line() const;
        void set_line(unsigned line, bool level);
        void acknowledge_line(unsigned line);
        void write_command(uint8_t value);
        void write_data(uint8_t value);
        uint8_t read(bool data_port);
    };

    uint8_t read_byte(uint16_t port);
    void write_byte(uint16_t port, uint8_t value);
    // The slave's INT output drives the master's IR2.
    void update_cascade();

    DeviceLog* log_;
    Chip master_;
    Chip slave_;
};

} // namespace transit86::pc
