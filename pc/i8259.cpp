#include "pc/i8259.hpp"

#include "pc/byte_lanes.hpp"

namespace transit86::pc {

namespace {

// The highest priority in `mask` as a distance from the rotating base (0 = highest), 8 when
// the mask is empty (QEMU get_priority).
int priority_of(uint8_t mask, uint8_t priority_add) {
    if (mask == 0) return 8;
    int priority = 0;
    while ((mask & (1u << ((priority + priority_add) & 7))) == 0)
        ++priority;
    return priority;
}

// ELCR bits that can be set: IRQ 0, 1, 2 on the master and 8, 13 on the slave are wired edge
// triggered on the PIIX (82371SB datasheet, ELCR1/ELCR2; QEMU elcr_mask 0xF8 / 0xDE).
constexpr uint8_t kMasterElcrMask = 0xF8;
constexpr uint8_t kSlaveElcrMask = 0xDE;

// ICW1 / OCW bits (8259A datasheet).
constexpr uint8_t kIcw1 = 0x10;
constexpr uint8_t kIcw1NeedIcw4 = 0x01;
constexpr uint8_t kIcw1Single = 0x02;
constexpr uint8_t kIcw1LevelTriggered = 0x08;
constexpr uint8_t kOcw3 = 0x08;
constexpr uint8_t kOcw3Poll = 0x04;
constexpr uint8_t kOcw3ReadRegister = 0x02;
constexpr uint8_t kOcw3SpecialMaskValid = 0x40;
constexpr uint8_t kIcw4AutoEoi = 0x02;
constexpr uint8_t kIcw4SpecialFullyNested = 0x10;

constexpr uint8_t bit(unsigned line) {
    return static_cast<uint8_t>(1u << line);
}
void clear(uint8_t& bits, uint8_t mask) {
    bits = static_cast<uint8_t>(bits & ~mask);
}

} // namespace

void I8259Pair::Chip::initialise_registers() {
    // QEMU pic_reset_common: everything but ELCR (ICW1 does the same, as the datasheet's
    // "initialisation sequence" clears IMR, ISR and the edge-sense latches).
    irr = imr = isr = last_irr = 0;
    priority_add = irq_base = 0;
    init_state = 0;
    read_isr = poll = special_mask = auto_eoi = rotate_on_auto_eoi = false;
    special_fully_nested = expect_icw4 = single = level_triggered_mode = false;
}

bool I8259Pair::Chip::line_is_level(unsigned line) const {
    return level_triggered_mode || (elcr & bit(line)) != 0;
}

int I8259Pair::Chip::requested_line() const {
    const int priority = priority_of(irr & ~imr, priority_add);
    if (priority == 8) return -1;
    // In special mask mode a masked line's ISR bit does not block lower priorities; in special
    // fully nested mode the master lets the cascade line interrupt its own service.
    uint8_t in_service = isr;
    if (special_mask) clear(in_service, imr);
    if (special_fully_nested && is_master) clear(in_service, bit(kCascadeIrq));
    if (priority < priority_of(in_service, priority_add)) return (priority + priority_add) & 7;
    return -1;
}

void I8259Pair::Chip::set_line(unsigned line, bool level) {
    const uint8_t mask = bit(line);
    if (line_is_level(line)) {
        if (level) {
            irr |= mask;
            last_irr |= mask;
        } else {
            clear(irr, mask);
            clear(last_irr, mask);
        }
        return;
    }
    if (level) {
        if ((last_irr & mask) == 0) irr |= mask; // a rising edge
        last_irr |= mask;
    } else {
        clear(last_irr, mask);
    }
}

void I8259Pair::Chip::acknowledge_line(unsigned line) {
    if (auto_eoi) {
        if (rotate_on_auto_eoi) priority_add = static_cast<uint8_t>((line + 1) & 7);
    } else {
        isr |= bit(line);
    }
    // A level-triggered request stays in IRR while the line is high (QEMU pic_intack).
    if (!line_is_level(line)) clear(irr, bit(line));
}

void I8259Pair::Chip::write_command(uint8_t value) {
    if (value & kIcw1) {
        initialise_registers();
        init_state = 1;
        expect_icw4 = value & kIcw1NeedIcw4;
        single = value & kIcw1Single;
        level_triggered_mode = value & kIcw1LevelTriggered;
        return;
    }
    if (value & kOcw3) {
        if (value & kOcw3Poll) poll = true;
        if (value & kOcw3ReadRegister) read_isr = value & 1;
        if (value & kOcw3SpecialMaskValid) special_mask = (value >> 5) & 1;
        return;
    }
    // OCW2: R, SL, EOI in bits 7-5, the level in bits 2-0.
    const unsigned command = value >> 5;
    const unsigned level = value & 7;
    switch (command) {
    case 0: // rotate in automatic EOI mode: clear
    case 4: // rotate in automatic EOI mode: set
        rotate_on_auto_eoi = command == 4;
        break;
    case 1:   // non-specific EOI
    case 5: { // rotate on non-specific EOI
        const int priority = priority_of(isr, priority_add);
        if (priority == 8) break;
        const unsigned line = (priority + priority_add) & 7;
        clear(isr, bit(line));
        if (command == 5) priority_add = static_cast<uint8_t>((line + 1) & 7);
        break;
    }
    case 3: // specific EOI
        clear(isr, bit(level));
        break;
    case 6: // set priority: `level` becomes the lowest
        priority_add = static_cast<uint8_t>((level + 1) & 7);
        break;
    case 7: // rotate on specific EOI
        clear(isr, bit(level));
        priority_add = static_cast<uint8_t>((level + 1) & 7);
        break;
    default: // 2: no operation
        break;
    }
}

void I8259Pair::Chip::write_data(uint8_t value) {
    switch (init_state) {
    case 0: imr = value; break; // OCW1
    case 1:                     // ICW2: vector base (bits 7-3)
        irq_base = value & 0xF8;
        init_state = single ? (expect_icw4 ? 3 : 0) : 2;
        break;
    case 2: // ICW3: the cascade wiring is fixed on a PC, the value only advances the sequence
        init_state = expect_icw4 ? 3 : 0;
        break;
    default: // ICW4
        special_fully_nested = value & kIcw4SpecialFullyNested;
        auto_eoi = value & kIcw4AutoEoi;
        init_state = 0;
        break;
    }
}

uint8_t I8259Pair::Chip::read(bool data_port) {
    if (poll) {
        // Poll command: the next read of either port is the acknowledge, as a byte with bit 7
        // set and the level in bits 2-0, or 0 when nothing is requested (8259A datasheet).
        poll = false;
        const int line = requested_line();
        if (line < 0) return 0;
        acknowledge_line(line);
        return static_cast<uint8_t>(0x80 | line);
    }
    if (data_port) return imr;
    return read_isr ? isr : irr;
}

I8259Pair::I8259Pair(DeviceLog* log) : log_(log) {
    master_.is_master = true;
    master_.elcr_mask = kMasterElcrMask;
    slave_.elcr_mask = kSlaveElcrMask;
    reset();
}

void I8259Pair::reset() {
    for (Chip* chip : {&master_, &slave_}) {
        chip->initialise_registers();
        chip->elcr = 0;
    }
}

void I8259Pair::update_cascade() {
    master_.set_line(kCascadeIrq, slave_.requested_line() >= 0);
}

void I8259Pair::set_irq(unsigned irq, bool level) {
    if (irq >= 16) {
        if (log_) log_->unmodelled("i8259", "IRQ line above 15");
        return;
    }
    if (irq < 8) {
        master_.set_line(irq, level);
    } else {
        slave_.set_line(irq - 8, level);
        update_cascade();
    }
}

bool I8259Pair::interrupt_pending() const {
    return master_.requested_line() >= 0;
}

uint8_t I8259Pair::acknowledge() {
    const int line = master_.requested_line();
    if (line < 0) return static_cast<uint8_t>(master_.irq_base + 7); // spurious IRQ 7
    uint8_t vector = 0;
    if (line == static_cast<int>(kCascadeIrq)) {
        const int slave_line = slave_.requested_line();
        if (slave_line >= 0) {
            slave_.acknowledge_line(slave_line);
            vector = static_cast<uint8_t>(slave_.irq_base + slave_line);
        } else {
            vector = static_cast<uint8_t>(slave_.irq_base + 7); // spurious IRQ 15
        }
    } else {
        vector = static_cast<uint8_t>(master_.irq_base + line);
    }
    // The master takes IR2 into service for a slave interrupt, spurious or not: the handler of
    // IRQ 15 must still send the master its EOI.
    master_.acknowledge_line(line);
    update_cascade();
    return vector;
}

uint8_t I8259Pair::read_byte(uint16_t port) {
    switch (port) {
    case kMasterCommand: return master_.read(false);
    case kMasterData: return master_.read(true);
    case kSlaveCommand:
    case kSlaveData: {
        const uint8_t value = slave_.read(port == kSlaveData);
        update_cascade(); // a poll read acknowledges
        return value;
    }
    case kElcrMaster: return master_.elcr;
    case kElcrSlave: return slave_.elcr;
    default:
        if (log_)
            log_->unmodelled("i8259", "read of a port outside 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1");
    }
    return 0xFF;
}

void I8259Pair::write_byte(uint16_t port, uint8_t value) {
    switch (port) {
    case kMasterCommand: master_.write_command(value); break;
    case kMasterData: master_.write_data(value); break;
    case kSlaveCommand: slave_.write_command(value); break;
    case kSlaveData: slave_.write_data(value); break;
    case kElcrMaster: master_.elcr = value & master_.elcr_mask; break;
    case kElcrSlave: slave_.elcr = value & slave_.elcr_mask; break;
    default:
        if (log_)
            log_->unmodelled("i8259", "write to a port outside 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1");
        return;
    }
    update_cascade();
}

uint32_t I8259Pair::io_read(uint16_t port, uint8_t size) {
    return read_byte_lanes(port, size, [this](uint16_t p) { return read_byte(p); });
}

void I8259Pair::io_write(uint16_t port, uint8_t size, uint32_t value) {
    write_byte_lanes(port, size, value, [this](uint16_t p, uint8_t v) { write_byte(p, v); });
}

} // namespace transit86::pc
