// The stack: PUSH/POP (registers, memory, immediates, segment registers), PUSHA/POPA,
// PUSHF/POPF. SDM Vol. 2B PUSH, POP, PUSHA/PUSHAD, POPA/POPAD, PUSHF/PUSHFD, POPF/POPFD.
#include "machine.hpp"

namespace transit86::test {

// ---- PUSH

TEST(Push, Reg16DecrementsSpByTwo) {
    Machine m;
    m.load_code({0x50}); // push ax
    m.gpr(Gpr::EAX) = 0xAAAA1234;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 2);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x1234);
}

TEST(Push, Reg32DecrementsEspByFour) {
    Machine m(Mode::Protected32);
    m.load_code({0x50}); // push eax
    m.gpr(Gpr::EAX) = 0xDEADBEEF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 4);
    EXPECT_EQ(m.read32(kStackTop - 4), 0xDEADBEEFu);
}

TEST(Push, Imm16) {
    Machine m;
    m.load_code({0x68, 0x34, 0x12}); // push 0x1234
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 2);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x1234);
}

TEST(Push, Imm8SignExtendedToOperandSize) {
    Machine m(Mode::Protected32);
    m.load_code({0x6A, 0xFE}); // push -2
    m.run(1);
    EXPECT_EQ(m.read32(kStackTop - 4), 0xFFFFFFFEu);
}

TEST(Push, Mem16) {
    Machine m;
    m.load_code({0xFF, 0x36, 0x00, 0x20}); // push word [0x2000]
    m.write16(0x2000, 0xBEEF);
    m.run(1);
    EXPECT_EQ(m.read16(kStackTop - 2), 0xBEEF);
}

TEST(Push, MemoryOperandAddressedByEspUsesEspBeforeThePush) {
    // SDM PUSH: "If a PUSH instruction uses a memory operand in which the ESP register is
    // used for computing the operand address, the address of the operand is computed before
    // the ESP register is decremented" — the source is read at the original ESP + 4.
    Machine m(Mode::Protected32);
    m.load_code({0xFF, 0x74, 0x24, 0x04}); // push dword [esp+4]
    m.write32(kStackTop + 4, 0xFEEDFACE);
    m.run(1);
    EXPECT_EQ(m.read32(kStackTop - 4), 0xFEEDFACEu);
}

TEST(Push, EspPushesTheValueBeforeThePush) {
    // SDM PUSH: "The PUSH ESP instruction pushes the value of the ESP register as it existed
    // before the instruction was executed."
    Machine m(Mode::Protected32);
    m.load_code({0x54}); // push esp
    m.run(1);
    EXPECT_EQ(m.read32(kStackTop - 4), kStackTop);
}

TEST(Push, SpInRealModePushesTheValueBeforeThePush) {
    Machine m;
    m.load_code({0x54}); // push sp
    m.run(1);
    EXPECT_EQ(m.read16(kStackTop - 2), kStackTop);
}

TEST(Push, SixteenBitStackWrapsSp) {
    Machine m;
    m.load_code({0x50}); // push ax
    m.gpr(Gpr::ESP) = 0x12340000;
    m.gpr(Gpr::EAX) = 0x5678;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x1234FFFEu); // SS.B = 0: only SP changes, modulo 64K
    EXPECT_EQ(m.read16(0xFFFE), 0x5678);
}

TEST(Push, SregWithOperandSize32WritesSixteenBitsAndMovesEspByFour) {
    // SDM PUSH: a 32-bit push of a segment register on recent processors "perform[s] a 16-bit
    // move, leaving the upper portion of the stack location unmodified".
    Machine m(Mode::Protected32);
    m.load_code({0x1E}); // push ds
    m.write32(kStackTop - 4, 0xAAAAAAAA);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 4);
    EXPECT_EQ(m.read32(kStackTop - 4), 0xAAAA0000u | kData32);
}

TEST(Push, Sreg16) {
    Machine m;
    m.load_code({0x06}); // push es
    m.seg(Seg::ES).selector = 0x1234;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 2);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x1234);
}

// ---- POP

TEST(Pop, Reg16) {
    Machine m;
    m.load_code({0x59}); // pop cx
    m.gpr(Gpr::ESP) = 0x7FFE;
    m.write16(0x7FFE, 0xBEEF);
    m.gpr(Gpr::ECX) = 0x11110000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x1111BEEFu);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

TEST(Pop, EspLoadsThePoppedValue) {
    // SDM POP: "POP ESP increments the stack pointer before the popped data is written".
    Machine m(Mode::Protected32);
    m.load_code({0x5C}); // pop esp
    m.gpr(Gpr::ESP) = 0x7FFC;
    m.write32(0x7FFC, 0x00005000);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x5000u);
}

TEST(Pop, MemoryDestinationAddressedByEspUsesTheIncrementedEsp) {
    // SDM POP: "If the ESP register is used as a base register for addressing a destination
    // operand in memory, the POP instruction computes the effective address of the operand
    // after it increments the ESP register."
    Machine m(Mode::Protected32);
    m.load_code({0x8F, 0x04, 0x24}); // pop dword [esp]
    m.gpr(Gpr::ESP) = 0x7FFC;
    m.write32(0x7FFC, 0x12345678);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
    EXPECT_EQ(m.read32(0x8000), 0x12345678u);
}

TEST(Pop, SregInRealModeSetsSelectorAndBase) {
    Machine m;
    m.load_code({0x07}); // pop es
    m.gpr(Gpr::ESP) = 0x7FFE;
    m.write16(0x7FFE, 0x0300);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::ES).selector, 0x0300);
    EXPECT_EQ(m.seg(Seg::ES).base, 0x3000u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

TEST(Pop, SregInProtectedModeLoadsTheDescriptor) {
    Machine m(Mode::Protected32);
    m.set_descriptor(5, 0x40000, 0xFFFF, access::kDataRW, 0x4);
    m.load_code({0x1F}); // pop ds
    m.gpr(Gpr::ESP) = 0x7FFC;
    m.write32(0x7FFC, 0x28);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::DS), segment_cache(0x28, 0x40000, 0xFFFF, 0x4093));
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

TEST(Pop, SsSetsBlockingByMovSs) {
    // SDM POP: loading SS with POP inhibits interrupts until after the next instruction.
    Machine m;
    m.load_code({0x17}); // pop ss
    m.gpr(Gpr::ESP) = 0x7FFE;
    m.run(1);
    EXPECT_EQ(m.state().interruptibility, interruptibility::BlockingByMovSs);
}

TEST(Pop, SsMovesTheStackPointerByTheSizeOfTheStackItPoppedFrom) {
    // SDM POP, Operation: SP, not ESP, moves when the stack-address size (SS.B of the stack
    // the selector is read from) is 16, even when the loaded SS is a 32-bit segment.
    Machine m(Mode::Protected32);
    m.set_descriptor(5, 0, 0xFFFFF, access::kDataRW, kFlat32Flags);
    m.seg(Seg::SS).access_rights &= ~0x4000u; // B = 0: a 16-bit stack
    m.load_code({0x17});                      // pop ss (32-bit operand size)
    m.gpr(Gpr::ESP) = 0x0001FFFC;
    m.write32(0xFFFC, 0x28);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::SS).selector, 0x28);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x00010000u); // SP wrapped to 0, ESP's upper half kept
}

// ---- ENTER

TEST(Enter, ThirtyTwoBitOperandOnSixteenBitStackSetsEbpToTheWholeEsp) {
    // SDM ENTER, Operation: with OperandSize = 32, FrameTemp <- ESP (all 32 bits) and
    // EBP <- FrameTemp, whatever the stack size; only the pushes and the final
    // SP <- SP - AllocSize follow the 16-bit stack.
    Machine m(Mode::Protected32);
    m.seg(Seg::SS).access_rights &= ~0x4000u; // B = 0: a 16-bit stack
    m.load_code({0xC8, 0x08, 0x00, 0x00});    // enter 8, 0
    m.gpr(Gpr::ESP) = 0x00010000;
    m.gpr(Gpr::EBP) = 0x12345678;
    m.run(1);
    EXPECT_EQ(m.read32(0xFFFC), 0x12345678u);
    EXPECT_EQ(m.gpr(Gpr::EBP), 0x0001FFFCu);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x0001FFF4u);
}

// ---- PUSHA / POPA

TEST(Pusha, PushesAxCxDxBxOriginalSpBpSiDi) {
    Machine m;
    m.load_code({0x60}); // pusha
    for (uint32_t r = 0; r < 8; ++r)
        if (r != 4) m.state().gpr[r] = 0xAAAA0000u | (0x1111u * (r + 1));
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 16);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x1111);  // AX
    EXPECT_EQ(m.read16(kStackTop - 4), 0x2222);  // CX
    EXPECT_EQ(m.read16(kStackTop - 6), 0x3333);  // DX
    EXPECT_EQ(m.read16(kStackTop - 8), 0x4444);  // BX
    EXPECT_EQ(m.read16(kStackTop - 10), 0x8000); // SP before PUSHA
    EXPECT_EQ(m.read16(kStackTop - 12), 0x6666); // BP
    EXPECT_EQ(m.read16(kStackTop - 14), 0x7777); // SI
    EXPECT_EQ(m.read16(kStackTop - 16), 0x8888); // DI
}

TEST(Pushad, PushesEightDwords) {
    Machine m(Mode::Protected32);
    m.load_code({0x60}); // pushad
    m.gpr(Gpr::EAX) = 0xA0A0A0A0;
    m.gpr(Gpr::EDI) = 0xD1D1D1D1;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 32);
    EXPECT_EQ(m.read32(kStackTop - 4), 0xA0A0A0A0u);
    EXPECT_EQ(m.read32(kStackTop - 20), kStackTop); // ESP before PUSHAD
    EXPECT_EQ(m.read32(kStackTop - 32), 0xD1D1D1D1u);
}

TEST(Popa, RestoresAllButSpAndSkipsTheSavedSp) {
    // SDM POPA: "The value on the stack for the SP register is ignored."
    Machine m;
    m.load_code({0x61}); // popa
    m.gpr(Gpr::ESP) = 0x7FF0;
    const uint16_t image[8] = {0xD1, 0x51, 0xB9, 0x5555, 0xB8, 0xD8, 0xC8, 0xA8}; // DI..AX
    for (uint32_t i = 0; i < 8; ++i)
        m.write16(0x7FF0 + 2 * i, image[i]);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0xD1u);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x51u);
    EXPECT_EQ(m.gpr(Gpr::EBP), 0xB9u);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0xB8u);
    EXPECT_EQ(m.gpr(Gpr::EDX), 0xD8u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0xC8u);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xA8u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

TEST(Popad, RestoresEightDwords) {
    Machine m(Mode::Protected32);
    m.load_code({0x61}); // popad
    m.gpr(Gpr::ESP) = 0x7FE0;
    for (uint32_t i = 0; i < 8; ++i)
        m.write32(0x7FE0 + 4 * i, 0x11111111u * (8 - i));
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x88888888u);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x11111111u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

// ---- PUSHF / POPF

TEST(Pushf, Pushes16BitFlags) {
    Machine m;
    m.load_code({0x9C}); // pushf
    m.state().eflags = 0x0ED7;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 2);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x0ED7);
}

TEST(Pushfd, ClearsRfAndVmInTheImage) {
    // SDM PUSHF: "the VM and RF flags (bits 16 and 17) are not copied; instead, the values
    // for these flags are cleared in the EFLAGS image stored on the stack."
    Machine m(Mode::Protected32);
    m.load_code({0x9C}); // pushfd
    m.state().eflags = flags::Fixed1 | flags::RF | flags::AC | flags::CF;
    m.run(1);
    EXPECT_EQ(m.read32(kStackTop - 4), flags::Fixed1 | flags::AC | flags::CF);
}

TEST(Popf, RealModeLoadsAllNonReservedFlags) {
    // SDM POPF: real mode (privilege 0 equivalent), 16-bit: all non-reserved flags change;
    // bits 3, 5 and 15 stay 0 and bit 1 stays 1.
    Machine m;
    m.load_code({0x9D}); // popf
    m.gpr(Gpr::ESP) = 0x7FFE;
    m.write16(0x7FFE, 0xFFFF);
    m.run(1);
    EXPECT_EQ(m.state().eflags, 0x7FD7u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

TEST(Popfd, CplZeroLoadsAllButVmRfVifVip) {
    // SDM POPF, Operation (CPL = 0, 32-bit): "All non-reserved flags except RF, VIP, VIF, and
    // VM can be modified; VIP, VIF, VM, and all reserved bits are unaffected. RF is cleared."
    Machine m(Mode::Protected32);
    m.load_code({0x9D}); // popfd
    m.gpr(Gpr::ESP) = 0x7FFC;
    m.write32(0x7FFC, 0xFFFFFFFF);
    m.run(1);
    EXPECT_EQ(m.state().eflags, 0x00247FD7u); // ID | AC | NT | IOPL | OF..CF | bit 1
}

TEST(Popfd, CplThreeKeepsIoplAndIf) {
    // SDM POPF: at CPL > 0 IOPL is unchanged; with CPL > IOPL, IF is unchanged too (no fault
    // in protected mode).
    Machine m(Mode::Protected32);
    m.drop_to_cpl3();
    m.load_code({0x9D}); // popfd
    m.gpr(Gpr::ESP) = 0x7FFC;
    m.write32(0x7FFC, flags::IOPL | flags::IF | flags::CF | flags::Fixed1);
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(m.state().eflags, flags::CF | flags::Fixed1);
}

} // namespace transit86::test
