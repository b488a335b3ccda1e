// The 8259A pair, driven through ports 0x20/0x21, 0xA0/0xA1 and 0x4D0/0x4D1. Expected values
// from the Intel 8259A datasheet and QEMU hw/intc/i8259.c (cited per test).
#include <gtest/gtest.h>

#include "fake_platform.hpp"
#include "pc/i8259.hpp"

namespace transit86::pc {
namespace {

constexpr uint8_t kMasterBase = 0x08;
constexpr uint8_t kSlaveBase = 0x70;

class I8259Test : public ::testing::Test {
  protected:
    // The BIOS initialisation: edge triggered, cascade, ICW4 (8086 mode).
    void initialise(uint8_t icw4 = 0x01) {
        pic.io_write(0x20, 1, 0x11);
        pic.io_write(0x21, 1, kMasterBase);
        pic.io_write(0x21, 1, 0x04); // slave on IR2
        pic.io_write(0x21, 1, icw4);
        pic.io_write(0xA0, 1, 0x11);
        pic.io_write(0xA1, 1, kSlaveBase);
        pic.io_write(0xA1, 1, 0x02); // slave identity 2
        pic.io_write(0xA1, 1, icw4);
    }
    uint8_t master_isr() {
        pic.io_write(0x20, 1, 0x0B); // OCW3: read ISR
        return static_cast<uint8_t>(pic.io_read(0x20, 1));
    }
    uint8_t slave_isr() {
        pic.io_write(0xA0, 1, 0x0B);
        return static_cast<uint8_t>(pic.io_read(0xA0, 1));
    }
    void pulse(unsigned irq) { pic.pulse_irq(irq); }

    testing::RecordingLog log;
    I8259Pair pic{&log};
};

// 8259A datasheet, "Initialization Command Words": ICW1 clears IMR; ICW2 gives T7-T3 of the
// vector, the IR number fills bits 2-0.
TEST_F(I8259Test, InitSequenceSetsVectorBase) {
    pic.io_write(0x21, 1, 0xFF);
    initialise();
    EXPECT_EQ(pic.io_read(0x21, 1), 0u); // IMR cleared by ICW1
    pulse(3);
    ASSERT_TRUE(pic.interrupt_pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
    EXPECT_FALSE(pic.interrupt_pending());
}

// ICW2 bits 2-0 are ignored in 8086 mode (QEMU: irq_base = val & 0xf8).
TEST_F(I8259Test, VectorBaseIgnoresLowThreeBits) {
    pic.io_write(0x20, 1, 0x11);
    pic.io_write(0x21, 1, 0x27);
    pic.io_write(0x21, 1, 0x04);
    pic.io_write(0x21, 1, 0x01);
    pulse(1);
    EXPECT_EQ(pic.acknowledge(), 0x21);
}

// Fully nested mode: IR0 highest, IR7 lowest; a request is held while a higher or equal
// priority is in service, and goes through after the EOI.
TEST_F(I8259Test, LowerNumberHasPriorityAndInServiceBlocksLower) {
    initialise();
    pulse(3);
    pulse(1);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 1);
    EXPECT_FALSE(pic.interrupt_pending()); // IR3 is lower than IR1 in service
    pic.io_write(0x20, 1, 0x20);           // non-specific EOI
    ASSERT_TRUE(pic.interrupt_pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
}

// A higher-priority request interrupts a lower one in service (nesting).
TEST_F(I8259Test, HigherPriorityNestsOverInService) {
    initialise();
    pulse(5);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 5);
    pulse(2 + 1); // IR3
    ASSERT_TRUE(pic.interrupt_pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
    EXPECT_EQ(master_isr(), 0x28);
}

// OCW2 non-specific EOI clears the highest-priority ISR bit only.
TEST_F(I8259Test, NonSpecificEoiClearsHighestInServiceBit) {
    initialise();
    pulse(5);
    pic.acknowledge();
    pulse(3);
    pic.acknowledge();
    ASSERT_EQ(master_isr(), 0x28);
    pic.io_write(0x20, 1, 0x20);
    EXPECT_EQ(master_isr(), 0x20);
}

// OCW2 specific EOI (0x60 | level) clears the named ISR bit.
TEST_F(I8259Test, SpecificEoiClearsNamedInServiceBit) {
    initialise();
    pulse(5);
    pic.acknowledge();
    pulse(3);
    pic.acknowledge();
    pic.io_write(0x20, 1, 0x65);
    EXPECT_EQ(master_isr(), 0x08);
}

// OCW1 masks a line: the request stays in IRR but raises no INTR until unmasked.
TEST_F(I8259Test, MaskedRequestWaitsInIrr) {
    initialise();
    pic.io_write(0x21, 1, 0x10);
    pulse(4);
    EXPECT_FALSE(pic.interrupt_pending());
    pic.io_write(0x20, 1, 0x0A); // OCW3: read IRR
    EXPECT_EQ(pic.io_read(0x20, 1), 0x10u);
    pic.io_write(0x21, 1, 0x00);
    EXPECT_TRUE(pic.interrupt_pending());
}

// The slave's INT drives master IR2; the INTA cycle returns the slave's vector and both chips
// take the request into service (QEMU pic_read_irq).
TEST_F(I8259Test, CascadeDeliversSlaveVector) {
    initialise();
    pulse(12);
    ASSERT_TRUE(pic.interrupt_pending());
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 4);
    EXPECT_EQ(master_isr(), 0x04);
    EXPECT_EQ(slave_isr(), 0x10);
}

// A request that vanished before INTA gives IR7 of the master, without setting ISR (8259A
// datasheet, "Interrupt Sequence": the default IR7 vector).
TEST_F(I8259Test, SpuriousIrq7WhenRequestVanishes) {
    initialise();
    pic.io_write(0x4D0, 1, 0x20); // IRQ 5 level triggered
    pic.set_irq(5, true);
    ASSERT_TRUE(pic.interrupt_pending());
    pic.set_irq(5, false);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 7);
    EXPECT_EQ(master_isr(), 0x00);
}

// On the slave the same gives IRQ 15; the master still puts IR2 in service, so the handler
// must EOI the master (QEMU pic_read_irq: irq2 = 7, then pic_intack(master, 2)).
TEST_F(I8259Test, SpuriousIrq15FromSlaveStillServicesCascade) {
    initialise();
    pic.io_write(0x4D1, 1, 0x04); // IRQ 10 level triggered
    pic.set_irq(10, true);
    pic.set_irq(10, false); // master IR2 latched the edge already
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 7);
    EXPECT_EQ(master_isr(), 0x04);
    EXPECT_EQ(slave_isr(), 0x00);
}

// ELCR: a level-triggered request stays in IRR while the line is high, so after the EOI it is
// delivered again; an edge-triggered one needs a new edge (PIIX3 datasheet, ELCR).
TEST_F(I8259Test, ElcrLevelRequestPersistsWhileLineHigh) {
    initialise();
    pic.io_write(0x4D1, 1, 0x08); // IRQ 11 level
    pic.set_irq(11, true);
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 3);
    pic.io_write(0xA0, 1, 0x20);
    pic.io_write(0x20, 1, 0x20);
    ASSERT_TRUE(pic.interrupt_pending());
    EXPECT_EQ(pic.acknowledge(), kSlaveBase + 3);

    pic.set_irq(11, false); // the device deasserts before the EOIs
    pic.io_write(0xA0, 1, 0x20);
    pic.io_write(0x20, 1, 0x20);
    EXPECT_FALSE(pic.interrupt_pending());

    pic.set_irq(4, true); // IRQ 4 edge triggered: one request, though the line stays high
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 4);
    pic.io_write(0x20, 1, 0x20);
    EXPECT_FALSE(pic.interrupt_pending());
}

// ELCR bits for IRQ 0, 1, 2, 8 and 13 are read-only 0 (edge): masks 0xF8 and 0xDE.
TEST_F(I8259Test, ElcrForcesEdgeOnIrq0128And13) {
    pic.io_write(0x4D0, 1, 0xFF);
    pic.io_write(0x4D1, 1, 0xFF);
    EXPECT_EQ(pic.io_read(0x4D0, 1), 0xF8u);
    EXPECT_EQ(pic.io_read(0x4D1, 1), 0xDEu);
}

// OCW3 poll: the next read returns 0x80 | the highest request and acknowledges it; 0 when none.
TEST_F(I8259Test, PollModeReadsAndAcknowledgesHighestRequest) {
    initialise();
    pic.io_write(0x21, 1, 0xFF); // polling works with INTR masked off
    pic.io_write(0x21, 1, 0x00);
    pulse(6);
    pic.io_write(0x20, 1, 0x0C);
    EXPECT_EQ(pic.io_read(0x20, 1), 0x86u);
    EXPECT_EQ(master_isr(), 0x40);
    pic.io_write(0x20, 1, 0x0C);
    EXPECT_EQ(pic.io_read(0x20, 1), 0x00u); // IR6 in service, nothing else requested
}

// ICW4 AEOI: the INTA cycle clears ISR itself, so a lower request follows at once.
TEST_F(I8259Test, AutoEoiLeavesIsrClear) {
    initialise(0x03);
    pulse(1);
    pulse(3);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 1);
    EXPECT_EQ(master_isr(), 0x00);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 3);
}

// OCW2 rotate on non-specific EOI: the serviced level becomes the lowest priority.
TEST_F(I8259Test, RotateOnEoiMakesServicedLevelLowest) {
    initialise();
    pulse(1);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 1);
    pic.io_write(0x20, 1, 0xA0); // rotate on non-specific EOI: IR2 now highest, IR1 lowest
    pulse(0);
    pulse(4);
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 4);
}

// OCW3 special mask mode: a masked in-service level no longer blocks lower priorities.
TEST_F(I8259Test, SpecialMaskModeLetsLowerPrioritiesThrough) {
    initialise();
    pulse(2 + 1);
    pic.acknowledge();           // IR3 in service
    pic.io_write(0x21, 1, 0x08); // mask IR3
    pic.io_write(0x20, 1, 0x68); // OCW3: set special mask
    pulse(6);
    ASSERT_TRUE(pic.interrupt_pending());
    EXPECT_EQ(pic.acknowledge(), kMasterBase + 6);
}

// A byte-wide device given a word access sees two byte accesses (QEMU memory core).
TEST_F(I8259Test, WordWriteSplitsIntoBothPorts) {
    initialise();
    pic.io_write(0x20, 2, 0xF00B); // 0x0B to 0x20 (read ISR), 0xF0 to 0x21 (IMR)
    EXPECT_EQ(pic.io_read(0x21, 1), 0xF0u);
}

} // namespace
} // namespace transit86::pc
