// ALU instructions with their exact status flags at 8, 16 and 32 bits: ADD, ADC, SUB, SBB,
// AND, OR, XOR, CMP, TEST, INC, DEC, NEG, NOT. Flag definitions: SDM Vol. 1 3.4.3.1 and
// Appendix A (EFLAGS Cross-Reference); each instruction's "Flags Affected" in Vol. 2.
// PF reflects the low byte of the result only; AF is the carry/borrow out of bit 3.
#include "machine.hpp"

namespace transit86::test {

namespace {

constexpr uint32_t CF = flags::CF, PF = flags::PF, AF = flags::AF, ZF = flags::ZF, SF = flags::SF,
                   OF = flags::OF;
constexpr uint32_t kNone = 0;
// AND/OR/XOR/TEST leave AF undefined (SDM "Flags Affected"): compare the others only.
constexpr uint32_t kLogicMask = flags::Status & ~flags::AF;

struct Outcome {
    uint32_t eax;
    uint32_t eflags;
};

// Runs one instruction in 32-bit protected mode with EAX, EBX and the status flags given.
Outcome run_alu(std::initializer_list<uint8_t> code, uint32_t eax, uint32_t ebx,
                uint32_t status_in = 0) {
    Machine m(Mode::Protected32);
    m.load(kCode, code);
    m.gpr(Gpr::EAX) = eax;
    m.gpr(Gpr::EBX) = ebx;
    m.state().eflags = flags::Fixed1 | status_in;
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    return {m.gpr(Gpr::EAX), m.state().eflags};
}

} // namespace

// ---- ADD (SDM Vol. 2A ADD)

TEST(Add, ByteCarryOutToZero) {
    const Outcome r = run_alu({0x00, 0xD8}, 0xFF, 0x01); // add al, bl
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | ZF));
}

TEST(Add, ByteSignedOverflow) {
    const Outcome r = run_alu({0x00, 0xD8}, 0x7F, 0x01); // add al, bl
    EXPECT_EQ(r.eax, 0x80u);
    EXPECT_TRUE(status_flags_are(r.eflags, AF | SF | OF)); // 0x80 has one bit set: PF = 0
}

TEST(Add, ByteCarryAndOverflowTogether) {
    const Outcome r = run_alu({0x00, 0xD8}, 0x80, 0x80); // add al, bl
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | ZF | OF));
}

TEST(Add, ByteAuxiliaryCarryOnly) {
    const Outcome r = run_alu({0x00, 0xD8}, 0x08, 0x08); // add al, bl
    EXPECT_EQ(r.eax, 0x10u);
    EXPECT_TRUE(status_flags_are(r.eflags, AF));
}

TEST(Add, WordParityFromLowByteOnly) {
    const Outcome r = run_alu({0x66, 0x01, 0xD8}, 0x7FFF, 0x0001); // add ax, bx
    EXPECT_EQ(r.eax, 0x8000u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | SF | OF)); // low byte 0x00: PF = 1
}

TEST(Add, WordCarryOutKeepsUpperHalf) {
    const Outcome r = run_alu({0x66, 0x01, 0xD8}, 0xABCDFFFF, 0x0001); // add ax, bx
    EXPECT_EQ(r.eax, 0xABCD0000u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | ZF));
}

TEST(Add, DwordSignedOverflow) {
    const Outcome r = run_alu({0x01, 0xD8}, 0x7FFFFFFF, 0x00000001); // add eax, ebx
    EXPECT_EQ(r.eax, 0x80000000u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | SF | OF));
}

TEST(Add, DwordCarryWithoutOverflow) {
    const Outcome r = run_alu({0x01, 0xD8}, 0xFFFFFFFF, 0xFFFFFFFF); // add eax, ebx
    EXPECT_EQ(r.eax, 0xFFFFFFFEu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | AF | SF)); // 0xFE: seven bits, PF = 0
}

TEST(Add, ImmToMemDword) {
    Machine m(Mode::Protected32);
    m.load_code({0x83, 0x05, 0x00, 0x20, 0x00, 0x00, 0x10}); // add dword [0x2000], 0x10
    m.write32(0x2000, 0xFFFFFFF0);
    m.run(1);
    EXPECT_EQ(m.read32(0x2000), 0u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, CF | PF | ZF)); // low nibbles 0 + 0: AF = 0
}

TEST(Add, AccumulatorImm16InRealMode) {
    Machine m;
    m.load_code({0x05, 0x34, 0x12}); // add ax, 0x1234
    m.gpr(Gpr::EAX) = 0x1111;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x2345u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, kNone)); // 0x45: three bits, PF = 0
}

// ---- ADC (SDM Vol. 2A ADC)

TEST(Adc, ByteCarryInWrapsToZero) {
    const Outcome r = run_alu({0x10, 0xD8}, 0xFF, 0x00, CF); // adc al, bl
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | ZF));
}

TEST(Adc, WordMaxOperandsWithCarryIn) {
    const Outcome r = run_alu({0x66, 0x11, 0xD8}, 0xFFFF, 0xFFFF, CF); // adc ax, bx
    EXPECT_EQ(r.eax, 0xFFFFu);                                         // 0x1FFFF
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | SF));
}

TEST(Adc, DwordCarryInCausesOverflow) {
    const Outcome r = run_alu({0x11, 0xD8}, 0x7FFFFFFF, 0x00000000, CF); // adc eax, ebx
    EXPECT_EQ(r.eax, 0x80000000u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | SF | OF));
}

TEST(Adc, CarryClearAddsOnlyTheOperands) {
    const Outcome r = run_alu({0x10, 0xD8}, 0x01, 0x01); // adc al, bl
    EXPECT_EQ(r.eax, 0x02u);
    EXPECT_TRUE(status_flags_are(r.eflags, kNone));
}

// ---- SUB (SDM Vol. 2B SUB)

TEST(Sub, ByteBorrow) {
    const Outcome r = run_alu({0x28, 0xD8}, 0x00, 0x01); // sub al, bl
    EXPECT_EQ(r.eax, 0xFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | SF));
}

TEST(Sub, ByteSignedOverflow) {
    const Outcome r = run_alu({0x28, 0xD8}, 0x80, 0x01); // sub al, bl
    EXPECT_EQ(r.eax, 0x7Fu);
    EXPECT_TRUE(status_flags_are(r.eflags, AF | OF)); // 0x7F: seven bits, PF = 0
}

TEST(Sub, ByteEqualOperandsGiveZero) {
    const Outcome r = run_alu({0x28, 0xD8}, 0x05, 0x05); // sub al, bl
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | ZF));
}

TEST(Sub, WordSignedOverflow) {
    const Outcome r = run_alu({0x66, 0x29, 0xD8}, 0x8000, 0x0001); // sub ax, bx
    EXPECT_EQ(r.eax, 0x7FFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | OF)); // low byte 0xFF: PF = 1
}

TEST(Sub, DwordMostNegativeFromZero) {
    const Outcome r = run_alu({0x29, 0xD8}, 0x00000000, 0x80000000); // sub eax, ebx
    EXPECT_EQ(r.eax, 0x80000000u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | SF | OF));
}

TEST(Sub, ImmFromMemByte) {
    Machine m(Mode::Protected32);
    m.load_code({0x80, 0x2D, 0x00, 0x20, 0x00, 0x00, 0x01}); // sub byte [0x2000], 1
    m.write8(0x2000, 0x10);
    m.run(1);
    EXPECT_EQ(m.read8(0x2000), 0x0F);
    EXPECT_TRUE(status_flags_are(m.state().eflags, PF | AF));
}

// ---- SBB (SDM Vol. 2B SBB)

TEST(Sbb, ByteBorrowInFromZero) {
    const Outcome r = run_alu({0x18, 0xD8}, 0x00, 0x00, CF); // sbb al, bl
    EXPECT_EQ(r.eax, 0xFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | SF));
}

TEST(Sbb, WordEqualOperandsWithBorrowIn) {
    const Outcome r = run_alu({0x66, 0x19, 0xD8}, 0x1234, 0x1234, CF); // sbb ax, bx
    EXPECT_EQ(r.eax, 0xFFFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | SF));
}

TEST(Sbb, DwordBorrowInCausesOverflow) {
    const Outcome r = run_alu({0x19, 0xD8}, 0x80000000, 0x00000000, CF); // sbb eax, ebx
    EXPECT_EQ(r.eax, 0x7FFFFFFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | OF));
}

TEST(Sbb, ByteSubtrahendPlusBorrowBeyondWidth) {
    // 0xFF - (0xFF + 1): the borrow must not be lost when the subtrahend plus CF wraps.
    const Outcome r = run_alu({0x18, 0xD8}, 0xFF, 0xFF, CF); // sbb al, bl
    EXPECT_EQ(r.eax, 0xFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | SF));
}

TEST(Sbb, BorrowClearSubtractsOnlyTheOperands) {
    const Outcome r = run_alu({0x18, 0xD8}, 0x05, 0x03); // sbb al, bl
    EXPECT_EQ(r.eax, 0x02u);
    EXPECT_TRUE(status_flags_are(r.eflags, kNone));
}

// ---- AND / OR / XOR / TEST: OF = CF = 0, SF/ZF/PF from the result, AF undefined
// (SDM Vol. 2A AND, Vol. 2B OR, XOR, TEST)

TEST(And, ClearsCarryAndOverflow) {
    const Outcome r = run_alu({0x20, 0xD8}, 0xF0, 0x0F, CF | OF); // and al, bl
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | ZF, kLogicMask));
}

TEST(Or, WordSignFromBit15) {
    const Outcome r = run_alu({0x66, 0x09, 0xD8}, 0x8000, 0x0001, CF | OF); // or ax, bx
    EXPECT_EQ(r.eax, 0x8001u);
    EXPECT_TRUE(status_flags_are(r.eflags, SF, kLogicMask));
}

TEST(Xor, DwordEqualOperandsGiveZero) {
    const Outcome r = run_alu({0x31, 0xD8}, 0x12345678, 0x12345678); // xor eax, ebx
    EXPECT_EQ(r.eax, 0u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | ZF, kLogicMask));
}

TEST(Test, ByteSetsFlagsWithoutWriting) {
    const Outcome r = run_alu({0x84, 0xD8}, 0x80, 0x80, CF | OF); // test al, bl
    EXPECT_EQ(r.eax, 0x80u);
    EXPECT_TRUE(status_flags_are(r.eflags, SF, kLogicMask));
}

TEST(Test, DwordAccumulatorImm32) {
    const Outcome r = run_alu({0xA9, 0x00, 0x00, 0x00, 0x80}, 0x80000000, 0); // test eax, imm
    EXPECT_EQ(r.eax, 0x80000000u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | SF, kLogicMask));
}

// ---- CMP (SDM Vol. 2A CMP: flags as SUB, destination unchanged)

TEST(Cmp, ByteBelowUnsigned) {
    const Outcome r = run_alu({0x38, 0xD8}, 0x01, 0x02); // cmp al, bl
    EXPECT_EQ(r.eax, 0x01u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | SF));
}

TEST(Cmp, DwordPositiveMinusNegativeOverflows) {
    const Outcome r = run_alu({0x39, 0xD8}, 0x7FFFFFFF, 0xFFFFFFFF); // cmp eax, ebx
    EXPECT_EQ(r.eax, 0x7FFFFFFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | SF | OF));
}

TEST(Cmp, WordImm8IsSignExtended) {
    const Outcome r = run_alu({0x66, 0x83, 0xF8, 0xFF}, 0xFFFF, 0); // cmp ax, -1
    EXPECT_TRUE(status_flags_are(r.eflags, PF | ZF));
}

// ---- INC / DEC: CF is not affected (SDM Vol. 2A INC, DEC)

TEST(Inc, PreservesCarryFlag) {
    const Outcome r = run_alu({0xFE, 0xC0}, 0xFF, 0, CF); // inc al
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | ZF));
}

TEST(Inc, ByteWrapDoesNotSetCarry) {
    const Outcome r = run_alu({0xFE, 0xC0}, 0xFF, 0); // inc al
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | ZF));
}

TEST(Inc, WordSignedOverflow) {
    const Outcome r = run_alu({0x66, 0x40}, 0x7FFF, 0); // inc ax
    EXPECT_EQ(r.eax, 0x8000u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | SF | OF));
}

TEST(Inc, RegisterShortFormInRealMode) {
    Machine m;
    m.load_code({0x40}); // inc ax
    m.gpr(Gpr::EAX) = 0x000100FF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x00010100u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, PF | AF));
}

TEST(Dec, DwordSignedOverflow) {
    const Outcome r = run_alu({0x48}, 0x80000000, 0); // dec eax
    EXPECT_EQ(r.eax, 0x7FFFFFFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | AF | OF));
}

TEST(Dec, ByteToZero) {
    const Outcome r = run_alu({0xFE, 0xC8}, 0x01, 0); // dec al
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | ZF));
}

TEST(Dec, MemByteWrapPreservesCarry) {
    Machine m;
    m.load_code({0xFE, 0x0E, 0x00, 0x20}); // dec byte [0x2000]
    m.state().eflags |= CF;
    m.run(1);
    EXPECT_EQ(m.read8(0x2000), 0xFF);
    EXPECT_TRUE(status_flags_are(m.state().eflags, CF | PF | AF | SF));
}

// ---- NEG: CF = (source != 0), other flags as 0 - source (SDM Vol. 2B NEG)

TEST(Neg, ZeroClearsCarry) {
    const Outcome r = run_alu({0xF6, 0xD8}, 0x00, 0, CF); // neg al
    EXPECT_EQ(r.eax, 0x00u);
    EXPECT_TRUE(status_flags_are(r.eflags, PF | ZF));
}

TEST(Neg, ByteMostNegativeOverflows) {
    const Outcome r = run_alu({0xF6, 0xD8}, 0x80, 0); // neg al
    EXPECT_EQ(r.eax, 0x80u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | SF | OF));
}

TEST(Neg, WordMostNegativeOverflows) {
    const Outcome r = run_alu({0x66, 0xF7, 0xD8}, 0x8000, 0); // neg ax
    EXPECT_EQ(r.eax, 0x8000u);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | SF | OF));
}

TEST(Neg, DwordOne) {
    const Outcome r = run_alu({0xF7, 0xD8}, 0x00000001, 0); // neg eax
    EXPECT_EQ(r.eax, 0xFFFFFFFFu);
    EXPECT_TRUE(status_flags_are(r.eflags, CF | PF | AF | SF));
}

// ---- NOT: no flags affected (SDM Vol. 2B NOT)

TEST(Not, ByteLeavesFlags) {
    const Outcome r = run_alu({0xF6, 0xD0}, 0x0F, 0, flags::Status); // not al
    EXPECT_EQ(r.eax, 0xF0u);
    EXPECT_TRUE(status_flags_are(r.eflags, flags::Status));
}

TEST(Not, MemWord) {
    Machine m(Mode::Protected32);
    m.load_code({0x66, 0xF7, 0x15, 0x00, 0x20, 0x00, 0x00}); // not word [0x2000]
    m.write32(0x2000, 0x12345555);
    m.run(1);
    EXPECT_EQ(m.read32(0x2000), 0x1234AAAAu);
    EXPECT_TRUE(status_flags_are(m.state().eflags, kNone));
}

// ---- TZCNT on a CPU without BMI1: BSF (SDM Vol. 2B TZCNT; Linux's __ffs() is `rep bsf`)

TEST(Bsf, RepPrefixedIsBsf) {
    const Outcome found = run_alu({0xF3, 0x0F, 0xBC, 0xC3}, 0, 0x50); // rep bsf eax, ebx
    EXPECT_EQ(found.eax, 4u);                                         // TZCNT would give 4 too
    EXPECT_EQ(found.eflags & ZF, 0u);
    const Outcome zero = run_alu({0xF3, 0x0F, 0xBC, 0xC3}, 7, 0); // BSF: ZF; TZCNT: 32 and CF
    EXPECT_EQ(zero.eflags & ZF, ZF);
    EXPECT_NE(zero.eax, 32u);
}

} // namespace transit86::test
