// Data transfer: MOV in all its forms, segment-register moves (incl. unreal mode), XCHG,
// MOVZX/MOVSX, LEA, CBW/CWDE/CWD/CDQ, LES. Expected values from the SDM Vol. 2 pages named
// in each test.
#include "machine.hpp"

namespace transit86::test {

// ---- MOV (SDM Vol. 2B MOV—Move)

TEST(Mov, RegToMem8) {
    Machine m;
    m.load_code({0x88, 0x1E, 0x00, 0x20}); // mov [0x2000], bl
    m.gpr(Gpr::EBX) = 0x5A;
    m.run(1);
    EXPECT_EQ(m.read8(0x2000), 0x5A);
    EXPECT_EQ(m.eip(), 0x1004u);
}

TEST(Mov, MemToReg16) {
    Machine m;
    m.load_code({0x8B, 0x0E, 0x00, 0x20}); // mov cx, [0x2000]
    m.write16(0x2000, 0xBEEF);
    m.gpr(Gpr::ECX) = 0x11110000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x1111BEEFu); // a 16-bit destination keeps ECX[31:16]
}

TEST(Mov, HighByteRegisters) {
    Machine m;
    m.load_code({0x88, 0xFC}); // mov ah, bh — reg 7 = BH, r/m 4 = AH (SDM Vol. 2A Table 2-1)
    m.gpr(Gpr::EBX) = 0x1234;
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFF12FFu);
}

TEST(Mov, ImmToReg16KeepsUpperHalf) {
    Machine m;
    m.load_code({0xB8, 0x34, 0x12}); // mov ax, 0x1234
    m.gpr(Gpr::EAX) = 0xAAAA0000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xAAAA1234u);
    EXPECT_EQ(m.eip(), 0x1003u);
}

TEST(Mov, ImmToReg32WithOperandSizePrefixInRealMode) {
    Machine m;
    m.load_code({0x66, 0xB8, 0x78, 0x56, 0x34, 0x12}); // mov eax, 0x12345678
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x12345678u);
    EXPECT_EQ(m.eip(), 0x1006u);
}

TEST(Mov, ImmToReg32InProtectedMode) {
    Machine m(Mode::Protected32);
    m.load_code({0xB8, 0x78, 0x56, 0x34, 0x12}); // mov eax, 0x12345678
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x12345678u);
    EXPECT_EQ(m.eip(), 0x1005u);
}

TEST(Mov, ImmToMem16BasedIndexedDisp8) {
    Machine m;
    m.load_code({0xC7, 0x40, 0x04, 0x34, 0x12}); // mov word [bx+si+4], 0x1234
    m.gpr(Gpr::EBX) = 0x2000;
    m.gpr(Gpr::ESI) = 0x10;
    m.run(1);
    EXPECT_EQ(m.read16(0x2014), 0x1234);
}

TEST(Mov, ImmToMem8InProtectedMode) {
    Machine m(Mode::Protected32);
    m.load_code({0xC6, 0x05, 0x00, 0x20, 0x00, 0x00, 0x5A}); // mov byte [0x2000], 0x5A
    m.run(1);
    EXPECT_EQ(m.read8(0x2000), 0x5A);
    EXPECT_EQ(m.read8(0x2001), 0x00);
}

TEST(Mov, MoffsToAccumulator16) {
    Machine m;
    m.load_code({0xA1, 0x00, 0x30}); // mov ax, [0x3000]
    m.write16(0x3000, 0xCAFE);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFFFF, 0xCAFEu);
}

TEST(Mov, AccumulatorToMoffs32) {
    Machine m(Mode::Protected32);
    m.load_code({0xA3, 0x00, 0x30, 0x00, 0x00}); // mov [0x3000], eax
    m.gpr(Gpr::EAX) = 0xDEADBEEF;
    m.run(1);
    EXPECT_EQ(m.read32(0x3000), 0xDEADBEEFu);
}

TEST(Mov, SegmentOverrideUsesThatSegmentsBase) {
    Machine m;
    m.load_code({0x26, 0xA0, 0x10, 0x00}); // mov al, es:[0x10]
    m.seg(Seg::ES).selector = 0x0200;
    m.seg(Seg::ES).base = 0x2000;
    m.write8(0x2010, 0x77);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFF, 0x77u);
}

TEST(Mov, AddressSizePrefixInRealModeUses32BitRegisters) {
    Machine m;
    m.load_code({0x67, 0x8B, 0x04, 0x33}); // mov ax, [ebx+esi]
    m.gpr(Gpr::EBX) = 0x2000;
    m.gpr(Gpr::ESI) = 0x0234;
    m.write16(0x2234, 0x4321);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFFFF, 0x4321u);
}

// ---- MOV from a segment register

TEST(MovFromSreg, ToReg16) {
    Machine m;
    m.load_code({0x8C, 0xD8}); // mov ax, ds
    m.seg(Seg::DS).selector = 0x1234;
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFF1234u);
}

TEST(MovFromSreg, ToReg32ZeroExtends) {
    // SDM MOV: with a 32-bit register destination the selector is zero-extended (P6+).
    Machine m;
    m.load_code({0x66, 0x8C, 0xD8}); // mov eax, ds
    m.seg(Seg::DS).selector = 0x1234;
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x00001234u);
}

TEST(MovFromSreg, ToMemoryWritesSixteenBitsWhateverTheOperandSize) {
    // SDM MOV: to memory, the selector is stored as 16 bits regardless of operand size.
    Machine m;
    m.load_code({0x66, 0x8C, 0x1E, 0x00, 0x20}); // o32 mov [0x2000], ds
    m.seg(Seg::DS).selector = 0x1234;
    m.write32(0x2000, 0xAAAAAAAA);
    m.run(1);
    EXPECT_EQ(m.read32(0x2000), 0xAAAA1234u);
}

// ---- MOV to a segment register

TEST(MovToSreg, RealModeSetsSelectorAndBase) {
    // SDM Vol. 3A 20.1.1: in real mode the base is selector * 16.
    Machine m;
    m.load_code({0x8E, 0xD8}); // mov ds, ax
    m.gpr(Gpr::EAX) = 0x1234;
    m.run(1);
    EXPECT_EQ(m.seg(Seg::DS).selector, 0x1234);
    EXPECT_EQ(m.seg(Seg::DS).base, 0x12340u);
}

TEST(MovToSreg, RealModeKeepsHiddenLimitAndAttributes) {
    // Unreal mode: a real-mode load changes selector and base only; the limit and attributes
    // cached by an earlier protected-mode load stay (SDM Vol. 3A "Switching Back to Real-Address
    // Mode", 20.1.1).
    Machine m;
    m.load_code({
        0x8E, 0xD8,             // mov ds, ax
        0x66, 0x67, 0x8B, 0x0E, // mov ecx, [esi]
    });
    m.seg(Seg::DS) = segment_cache(0x10, 0, 0xFFFFFFFF, 0xC093);
    m.gpr(Gpr::EAX) = 0x0000;
    m.gpr(Gpr::ESI) = 0x100000;
    m.write32(0x100000, 0x600DF00D);
    m.run(2);
    EXPECT_EQ(m.seg(Seg::DS), segment_cache(0x0000, 0, 0xFFFFFFFF, 0xC093));
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x600DF00Du);
}

TEST(MovToSreg, UnrealModeEnteredThroughProtectedMode) {
    // The classic sequence: load a 4 GiB data segment in protected mode, return to real mode,
    // reload DS: the 4 GiB limit survives and offsets above 64K work (SDM Vol. 3A "Switching Back
    // to Real-Address Mode").
    Machine m;
    m.install_flat_gdt();
    m.write16(0x1100, kGdtLimit);
    m.write32(0x1102, kGdtBase);
    m.load_code({
        0x0F, 0x01, 0x16, 0x00, 0x11, // lgdt [0x1100]
        0x0F, 0x20, 0xC0,             // mov eax, cr0
        0x0C, 0x01,                   // or al, 1
        0x0F, 0x22, 0xC0,             // mov cr0, eax
        0xBB, 0x10, 0x00,             // mov bx, 0x10
        0x8E, 0xDB,                   // mov ds, bx
        0x24, 0xFE,                   // and al, 0xFE
        0x0F, 0x22, 0xC0,             // mov cr0, eax
        0x31, 0xDB,                   // xor bx, bx
        0x8E, 0xDB,                   // mov ds, bx
        0x66, 0x67, 0x8B, 0x0E,       // mov ecx, [esi]
    });
    m.gpr(Gpr::ESI) = 0x100000;
    m.write32(0x100000, 0x600DF00D);
    const Exit e = m.run(11);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_FALSE(m.state().protected_mode());
    // Flat data descriptor: base 0, limit FFFFF with G = 1, access 93, flags C.
    EXPECT_EQ(m.seg(Seg::DS), segment_cache(0x0000, 0, 0xFFFFFFFF, 0xC093));
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x600DF00Du);
}

TEST(MovToSreg, ProtectedModeLoadsDescriptorAndSetsAccessedBit) {
    // SDM MOV, Operation: the descriptor is loaded into the hidden part; SDM Vol. 3A 3.4.5.1:
    // the processor sets the accessed bit in the descriptor in memory.
    Machine m(Mode::Protected32);
    m.set_descriptor(5, 0x12345, 0xABCD, access::kDataRW, 0x4); // B = 1, G = 0
    m.load_code({
        0x66, 0xB8, 0x28, 0x00, // mov ax, 0x28
        0x8E, 0xD8,             // mov ds, ax
    });
    m.run(2);
    EXPECT_EQ(m.seg(Seg::DS), segment_cache(0x28, 0x12345, 0xABCD, 0x4093));
    EXPECT_EQ(m.read8(kGdtBase + 5 * 8 + 5), 0x93);
}

TEST(MovToSreg, ProtectedModeNullSelectorMakesDataSegmentUnusable) {
    // SDM MOV: DS/ES/FS/GS may be loaded with a null selector; the segment is marked unusable.
    Machine m(Mode::Protected32);
    m.load_code({0x8E, 0xE0}); // mov fs, ax
    m.gpr(Gpr::EAX) = 0x0003;
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(m.seg(Seg::FS).selector, 0x0003);
    EXPECT_TRUE(ar::unusable(m.seg(Seg::FS).access_rights));
}

TEST(MovToSreg, CsRaisesUD) {
    // SDM MOV: "If the destination operand is the CS register, #UD."
    Machine m(Mode::Protected32);
    m.load_code({0x8E, 0xC8}); // mov cs, ax
    const Exit e = m.run(1);
    EXPECT_TRUE(is_exception(e, vec::kUD));
    EXPECT_EQ(m.eip(), kCode);
    EXPECT_EQ(m.seg(Seg::CS).selector, kCode32);
}

TEST(MovToSreg, CsInRealModeRaisesUDThroughTheIvt) {
    Machine m;
    m.set_ivt(6, 0x0400, 0x0020);
    m.load_code({0x8E, 0xC8}); // mov cs, ax
    m.gpr(Gpr::EAX) = 0x1234;
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0400);
    EXPECT_EQ(m.eip(), 0x0020u);
    EXPECT_EQ(m.read16(kStackTop - 6), kCode); // #UD is a fault: the MOV's own IP
}

TEST(MovToSreg, SsSetsBlockingByMovSsForOneInstruction) {
    // SDM MOV: loading SS inhibits interrupts until after the next instruction (VMX:
    // blocking by MOV SS, SDM Vol. 3C Table 24-3).
    Machine m;
    m.load_code({
        0x8E, 0xD0, // mov ss, ax
        0x90,       // nop
    });
    m.run(1);
    EXPECT_EQ(m.state().interruptibility, interruptibility::BlockingByMovSs);
    m.run(1);
    EXPECT_EQ(m.state().interruptibility, 0u);
}

// ---- A20: real-mode addresses may carry into bit 20 (up to 10FFEFH, SDM Vol. 3A 20.1.1);
// gate A20 off masks that bit, modelling the 8086 wrap at 1 MiB

TEST(A20, DisabledWrapsAtOneMiB) {
    Machine m;
    m.seg(Seg::DS).selector = 0xFFFF;
    m.seg(Seg::DS).base = 0xFFFF0;
    m.write8(0x000000, 0x11);
    m.write8(0x100000, 0x22);
    m.load_code({0xA0, 0x10, 0x00, 0xA0, 0x10, 0x00}); // mov al, [0x10] ; mov al, [0x10]
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x22u); // FFFF:0010 = 0x100000
    m.emulator().set_a20(false);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x11u); // bit 20 masked: 0x000000
}

// ---- LES (SDM Vol. 2A LDS/LES/LFS/LGS/LSS)

TEST(Les, RealModeLoadsOffsetAndSegment) {
    Machine m;
    m.load_code({0xC4, 0x1E, 0x00, 0x20}); // les bx, [0x2000]
    m.write16(0x2000, 0x5678);
    m.write16(0x2002, 0x0300);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EBX) & 0xFFFF, 0x5678u);
    EXPECT_EQ(m.seg(Seg::ES).selector, 0x0300);
    EXPECT_EQ(m.seg(Seg::ES).base, 0x3000u);
}

// ---- XCHG (SDM Vol. 2B XCHG)

TEST(Xchg, AccumulatorShortForm16) {
    Machine m;
    m.load_code({0x93}); // xchg ax, bx
    m.gpr(Gpr::EAX) = 0x11112222;
    m.gpr(Gpr::EBX) = 0x33334444;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x11114444u);
    EXPECT_EQ(m.gpr(Gpr::EBX), 0x33332222u);
}

TEST(Xchg, MemWithReg8) {
    Machine m;
    m.load_code({0x86, 0x0E, 0x00, 0x20}); // xchg [0x2000], cl
    m.write8(0x2000, 0xAB);
    m.gpr(Gpr::ECX) = 0x12;
    m.run(1);
    EXPECT_EQ(m.read8(0x2000), 0x12);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0xABu);
}

// ---- MOVZX / MOVSX (SDM Vol. 2B)

TEST(Movzx, ByteToDword) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0xB6, 0x05, 0x00, 0x20, 0x00, 0x00}); // movzx eax, byte [0x2000]
    m.write8(0x2000, 0x80);
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x00000080u);
}

TEST(Movzx, WordToDword) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0xB7, 0x05, 0x00, 0x20, 0x00, 0x00}); // movzx eax, word [0x2000]
    m.write16(0x2000, 0xFFFF);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x0000FFFFu);
}

TEST(Movsx, ByteToDword) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0xBE, 0x05, 0x00, 0x20, 0x00, 0x00}); // movsx eax, byte [0x2000]
    m.write8(0x2000, 0x80);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFFFF80u);
}

TEST(Movsx, WordToDword) {
    Machine m(Mode::Protected32);
    m.load_code({0x0F, 0xBF, 0x05, 0x00, 0x20, 0x00, 0x00}); // movsx eax, word [0x2000]
    m.write16(0x2000, 0x8000);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFF8000u);
}

TEST(Movsx, ByteToWordKeepsUpperHalf) {
    Machine m;
    m.load_code({0x0F, 0xBE, 0xCB}); // movsx cx, bl
    m.gpr(Gpr::EBX) = 0xF0;
    m.gpr(Gpr::ECX) = 0xAAAA5555;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0xAAAAFFF0u);
}

// ---- LEA (SDM Vol. 2A LEA, Table 3-54)

TEST(Lea, SixteenBitAddressWrapsAt64K) {
    Machine m;
    m.load_code({0x8D, 0x40, 0x10}); // lea ax, [bx+si+0x10]
    m.gpr(Gpr::EBX) = 0xFFF0;
    m.gpr(Gpr::ESI) = 0x0020;
    m.gpr(Gpr::EAX) = 0x12340000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x12340020u); // 0xFFF0 + 0x20 + 0x10 = 0x10020 -> 0x0020
}

TEST(Lea, ThirtyTwoBitScaledIndex) {
    Machine m(Mode::Protected32);
    m.load_code({0x8D, 0x44, 0x8B, 0x08}); // lea eax, [ebx+ecx*4+8]
    m.gpr(Gpr::EBX) = 0x1000;
    m.gpr(Gpr::ECX) = 0x10;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x1048u);
}

TEST(Lea, SixteenBitOperandTruncates32BitAddress) {
    Machine m(Mode::Protected32);
    m.load_code({0x66, 0x8D, 0x04, 0x0B}); // lea ax, [ebx+ecx]
    m.gpr(Gpr::EBX) = 0x12340000;
    m.gpr(Gpr::ECX) = 0x5678;
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFF5678u);
}

TEST(Lea, ThirtyTwoBitOperandZeroExtends16BitAddress) {
    Machine m;
    m.load_code({0x66, 0x8D, 0x00}); // lea eax, [bx+si]
    m.gpr(Gpr::EBX) = 0xFFFF;
    m.gpr(Gpr::ESI) = 0x0002;
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x00000001u);
}

// ---- CBW/CWDE, CWD/CDQ (SDM Vol. 2A)

TEST(Cbw, SignExtendsAlIntoAx) {
    Machine m;
    m.load_code({0x98}); // cbw
    m.gpr(Gpr::EAX) = 0x12345680;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x1234FF80u);
}

TEST(Cwde, SignExtendsAxIntoEax) {
    Machine m(Mode::Protected32);
    m.load_code({0x98}); // cwde
    m.gpr(Gpr::EAX) = 0x12348000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFF8000u);
}

TEST(Cwd, SignOfAxFillsDx) {
    Machine m;
    m.load_code({0x99, 0x99}); // cwd ; cwd
    m.gpr(Gpr::EAX) = 0x8000;
    m.gpr(Gpr::EDX) = 0xAAAA0000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EDX), 0xAAAAFFFFu);
    m.gpr(Gpr::EAX) = 0x7FFF;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EDX), 0xAAAA0000u);
}

TEST(Cdq, SignOfEaxFillsEdx) {
    Machine m(Mode::Protected32);
    m.load_code({0x99}); // cdq
    m.gpr(Gpr::EAX) = 0x80000000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EDX), 0xFFFFFFFFu);
}

} // namespace transit86::test
