// Control transfer: JMP (short, near, far, indirect), CALL/RET near and far, LOOP/LOOPE/
// LOOPNE/JCXZ, INT n. SDM Vol. 2A CALL, INT n, Jcc, JMP, LOOP/LOOPcc; Vol. 2B RET.
// Jcc's sixteen conditions are in condition_test.cpp.
#include "machine.hpp"

namespace transit86::test {

// ---- JMP near (SDM JMP: the target is masked to 16 bits with a 16-bit operand size and
// must lie within the CS limit)

TEST(Jmp, ShortForward) {
    Machine m;
    m.load_code({0xEB, 0x10}); // jmp short $+0x12
    m.run(1);
    EXPECT_EQ(m.eip(), kCode + 0x12);
}

TEST(Jmp, ShortToItself) {
    Machine m;
    m.load_code({0xEB, 0xFE}); // jmp short $
    m.run(3);
    EXPECT_EQ(m.eip(), kCode);
}

TEST(Jmp, NearRel16) {
    Machine m;
    m.load_code({0xE9, 0x00, 0x10}); // jmp near $+0x1003
    m.run(1);
    EXPECT_EQ(m.eip(), 0x2003u);
}

TEST(Jmp, NearRel16WrapsIpAt64K) {
    Machine m;
    m.load_code({0xE9, 0x00, 0xF0}); // jmp near: 0x1003 + 0xF000 = 0x10003
    m.run(1);
    EXPECT_EQ(m.eip(), 0x0003u);
}

TEST(Jmp, NearRel32) {
    Machine m(Mode::Protected32);
    m.load_code({0xE9, 0x00, 0x10, 0x00, 0x00}); // jmp near $+0x1005
    m.run(1);
    EXPECT_EQ(m.eip(), 0x2005u);
}

TEST(Jmp, NearIndirectReg16) {
    Machine m;
    m.load_code({0xFF, 0xE0}); // jmp ax
    m.gpr(Gpr::EAX) = 0xFFFF3456;
    m.run(1);
    EXPECT_EQ(m.eip(), 0x3456u);
}

TEST(Jmp, NearIndirectMem32) {
    Machine m(Mode::Protected32);
    m.load_code({0xFF, 0x25, 0x00, 0x20, 0x00, 0x00}); // jmp [0x2000]
    m.write32(0x2000, 0x00012345);
    m.run(1);
    EXPECT_EQ(m.eip(), 0x00012345u);
}

TEST(Jmp, NearBeyondCsLimitRaisesGP0) {
    Machine m(Mode::Protected32);
    m.seg(Seg::CS).limit = 0x1FFF;
    m.load_code({0xE9, 0xFB, 0x1F, 0x00, 0x00}); // jmp near 0x3000
    const Exit e = m.run(1);
    EXPECT_TRUE(is_exception(e, vec::kGP, 0));
    EXPECT_EQ(m.eip(), kCode);
}

// ---- JMP far

TEST(Jmp, FarRealModeLoadsSelectorAndBaseOnly) {
    // SDM JMP, real-address mode: CS selector and base change, EIP = offset.
    Machine m;
    m.load_code({0xEA, 0x34, 0x12, 0x00, 0x20}); // jmp 0x2000:0x1234
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS), segment_cache(0x2000, 0x20000, 0xFFFF, 0x9B));
    EXPECT_EQ(m.eip(), 0x1234u);
}

TEST(Jmp, FarIndirectMem16) {
    Machine m;
    m.load_code({0xFF, 0x2E, 0x00, 0x20}); // jmp far [0x2000]
    m.write16(0x2000, 0x5678);
    m.write16(0x2002, 0x0300);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0300);
    EXPECT_EQ(m.seg(Seg::CS).base, 0x3000u);
    EXPECT_EQ(m.eip(), 0x5678u);
}

TEST(Jmp, FarPtr16_32FromSixteenBitCodeLoadsThirtyTwoBitCs) {
    // After CR0.PE is set the CS cache still holds the real-mode segment (16-bit code), so
    // 66 EA takes a ptr16:32. The load reads the descriptor (SDM JMP, protected mode: CS
    // cache = base, limit, attributes of the descriptor, RPL = CPL) and sets its accessed
    // bit both in the cache and in the GDT (SDM Vol. 3A 3.4.5.1).
    Machine m;
    load_protected_mode_entry(m);
    const Exit e = m.run(5);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    // Descriptor 1: base 0, limit FFFFF with G = 1, access 9A -> 9B, flags C (G, D).
    EXPECT_EQ(m.seg(Seg::CS), segment_cache(0x0008, 0, 0xFFFFFFFF, 0xC09B));
    EXPECT_EQ(m.eip(), kPeSwitchJumpTarget);
    EXPECT_EQ(m.read8(kGdtBase + 8 + 5), 0x9B);
}

TEST(Jmp, FarInProtectedModeToSixteenBitCode) {
    Machine m(Mode::Protected32);
    m.load_code({0xEA, 0x00, 0x20, 0x00, 0x00, 0x18, 0x00}); // jmp 0x18:0x2000
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS), segment_cache(kCode16, 0, 0xFFFF, 0x009B));
    EXPECT_EQ(m.eip(), 0x2000u);
}

// ---- CALL / RET near

TEST(Call, NearRel16PushesReturnIp) {
    Machine m;
    m.load_code({0xE8, 0x00, 0x10}); // call $+0x1003
    m.run(1);
    EXPECT_EQ(m.eip(), 0x2003u);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 2);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x1003);
}

TEST(Call, NearRel32PushesReturnEip) {
    Machine m(Mode::Protected32);
    m.load_code({0xE8, 0x00, 0x01, 0x00, 0x00}); // call $+0x105
    m.run(1);
    EXPECT_EQ(m.eip(), 0x1105u);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 4);
    EXPECT_EQ(m.read32(kStackTop - 4), 0x1005u);
}

TEST(Call, NearIndirectReg16) {
    Machine m;
    m.load_code({0xFF, 0xD0}); // call ax
    m.gpr(Gpr::EAX) = 0x3000;
    m.run(1);
    EXPECT_EQ(m.eip(), 0x3000u);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x1002);
}

TEST(Call, NearIndirectReg32) {
    Machine m(Mode::Protected32);
    m.load_code({0xFF, 0xD0}); // call eax
    m.gpr(Gpr::EAX) = 0x00023456;
    m.run(1);
    EXPECT_EQ(m.eip(), 0x00023456u);
    EXPECT_EQ(m.read32(kStackTop - 4), 0x1002u);
}

TEST(Ret, NearPopsIp) {
    Machine m;
    m.load_code({0xC3}); // ret
    m.gpr(Gpr::ESP) = 0x7FFE;
    m.write16(0x7FFE, 0x2345);
    m.run(1);
    EXPECT_EQ(m.eip(), 0x2345u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

TEST(Ret, NearImm16ReleasesParameterBytes) {
    Machine m;
    m.load_code({0xC2, 0x04, 0x00}); // ret 4
    m.gpr(Gpr::ESP) = 0x7FFA;
    m.write16(0x7FFA, 0x2345);
    m.run(1);
    EXPECT_EQ(m.eip(), 0x2345u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u); // 0x7FFA + 2 + 4
}

TEST(Ret, NearPopsEip) {
    Machine m(Mode::Protected32);
    m.load_code({0xC3}); // ret
    m.gpr(Gpr::ESP) = 0x7FFC;
    m.write32(0x7FFC, 0x00012345);
    m.run(1);
    EXPECT_EQ(m.eip(), 0x00012345u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

// ---- CALL / RET far

TEST(Call, FarRealModePushesCsThenIp) {
    Machine m;
    m.seg(Seg::CS) = segment_cache(0x0100, 0x1000, 0xFFFF, 0x9B);
    m.state().eip = 0;
    m.load_code({0x9A, 0x00, 0x00, 0x00, 0x20}); // call 0x2000:0x0000
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x2000);
    EXPECT_EQ(m.seg(Seg::CS).base, 0x20000u);
    EXPECT_EQ(m.eip(), 0u);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 4);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x0100); // CS
    EXPECT_EQ(m.read16(kStackTop - 4), 0x0005); // IP of the next instruction
}

TEST(Call, FarIndirectMem16) {
    Machine m;
    m.load_code({0xFF, 0x1E, 0x00, 0x20}); // call far [0x2000]
    m.write16(0x2000, 0x0010);
    m.write16(0x2002, 0x0300);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0300);
    EXPECT_EQ(m.eip(), 0x0010u);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x0000);
    EXPECT_EQ(m.read16(kStackTop - 4), 0x1004);
}

TEST(Ret, FarRealModePopsIpThenCs) {
    Machine m;
    m.load_code({0xCB}); // retf
    m.gpr(Gpr::ESP) = 0x7FFC;
    m.write16(0x7FFC, 0x0010);
    m.write16(0x7FFE, 0x0200);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0200);
    EXPECT_EQ(m.seg(Seg::CS).base, 0x2000u);
    EXPECT_EQ(m.eip(), 0x0010u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

TEST(Ret, FarImm16ReleasesParameterBytes) {
    Machine m;
    m.load_code({0xCA, 0x04, 0x00}); // retf 4
    m.gpr(Gpr::ESP) = 0x7FF8;
    m.write16(0x7FF8, 0x0010);
    m.write16(0x7FFA, 0x0200);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0200);
    EXPECT_EQ(m.eip(), 0x0010u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u); // 0x7FF8 + 4 + 4
}

TEST(Call, FarProtectedMode32PushesCsAndEip) {
    // SDM CALL: with a 32-bit operand size the return CS takes a 4-byte slot; only its low
    // word is checked here (the upper word is "padded", its content not relied upon).
    Machine m(Mode::Protected32);
    m.load_code({0x9A, 0x00, 0x30, 0x00, 0x00, 0x08, 0x00}); // call 0x08:0x3000
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, kCode32);
    EXPECT_EQ(m.eip(), 0x3000u);
    EXPECT_EQ(m.gpr(Gpr::ESP), kStackTop - 8);
    EXPECT_EQ(m.read16(kStackTop - 4), kCode32);
    EXPECT_EQ(m.read32(kStackTop - 8), 0x1007u);
}

TEST(Ret, FarProtectedMode32LoadsCsFromTheGdt) {
    Machine m(Mode::Protected32);
    m.load_code({0xCB}); // retf
    m.gpr(Gpr::ESP) = 0x7FF8;
    m.write32(0x7FF8, 0x2000);
    m.write32(0x7FFC, kCode16);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS), segment_cache(kCode16, 0, 0xFFFF, 0x009B));
    EXPECT_EQ(m.eip(), 0x2000u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

// ---- LOOP / LOOPcc / JCXZ: the counter is CX or ECX by the address size (SDM LOOP/LOOPcc)

TEST(Loop, DecrementsCxAndBranchesWhileNonzero) {
    Machine m;
    m.load_code({0xE2, 0xFE}); // loop $
    m.gpr(Gpr::ECX) = 0xAAAA0002;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0xAAAA0001u);
    EXPECT_EQ(m.eip(), kCode);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0xAAAA0000u);
    EXPECT_EQ(m.eip(), kCode + 2);
}

TEST(Loop, AddressSize32InRealModeCountsEcx) {
    Machine m;
    m.load_code({0x67, 0xE2, 0xFD}); // a32 loop $
    m.gpr(Gpr::ECX) = 0x00010001;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x00010000u);
    EXPECT_EQ(m.eip(), kCode); // ECX != 0: taken
}

TEST(Loop, AddressSize16InProtectedModeCountsCx) {
    Machine m(Mode::Protected32);
    m.load_code({0x67, 0xE2, 0xFD}); // a16 loop $
    m.gpr(Gpr::ECX) = 0x00010001;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0x00010000u);
    EXPECT_EQ(m.eip(), kCode + 3); // CX = 0: not taken
}

TEST(Loope, TakenOnlyWhileZfIsSet) {
    Machine m;
    m.load_code({0xE1, 0xFE}); // loope $
    m.gpr(Gpr::ECX) = 5;
    m.state().eflags |= flags::ZF;
    m.run(1);
    EXPECT_EQ(m.eip(), kCode);
    m.state().eflags &= ~flags::ZF;
    m.run(1);
    EXPECT_EQ(m.eip(), kCode + 2);
    EXPECT_EQ(m.gpr(Gpr::ECX), 3u); // decremented whether taken or not
}

TEST(Loopne, TakenOnlyWhileZfIsClear) {
    Machine m;
    m.load_code({0xE0, 0xFE}); // loopne $
    m.gpr(Gpr::ECX) = 5;
    m.run(1);
    EXPECT_EQ(m.eip(), kCode);
    m.state().eflags |= flags::ZF;
    m.run(1);
    EXPECT_EQ(m.eip(), kCode + 2);
    EXPECT_EQ(m.gpr(Gpr::ECX), 3u);
}

TEST(Jcxz, TakenWhenCxIsZeroWhateverEcxUpperHalf) {
    Machine m;
    m.load_code({0xE3, 0x10}); // jcxz $+0x12
    m.gpr(Gpr::ECX) = 0x00010000;
    m.run(1);
    EXPECT_EQ(m.eip(), kCode + 0x12);
}

TEST(Jecxz, AddressSize32InRealModeTestsEcx) {
    Machine m;
    m.load_code({0x67, 0xE3, 0x0F}); // a32 jcxz (jecxz) $+0x12
    m.gpr(Gpr::ECX) = 0x00010000;
    m.run(1);
    EXPECT_EQ(m.eip(), kCode + 3);
    m.state().eip = kCode;
    m.gpr(Gpr::ECX) = 0;
    m.run(1);
    EXPECT_EQ(m.eip(), kCode + 0x12);
}

// ---- INT n in real mode (SDM INT n, real-address mode: push FLAGS, CS, IP of the next
// instruction; clear IF, TF, AC; CS:IP from the IVT)

TEST(Int, RealModePushesNextIpAndVectorsThroughIvt) {
    Machine m;
    m.set_ivt(0x21, 0x0300, 0x0040);
    m.load_code({0xCD, 0x21}); // int 0x21
    m.state().eflags = flags::Fixed1 | flags::IF | flags::CF;
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0300);
    EXPECT_EQ(m.seg(Seg::CS).base, 0x3000u);
    EXPECT_EQ(m.eip(), 0x0040u);
    EXPECT_EQ(m.read16(kStackTop - 2), 0x0203);
    EXPECT_EQ(m.read16(kStackTop - 4), 0x0000);
    EXPECT_EQ(m.read16(kStackTop - 6), kCode + 2);
    EXPECT_EQ(m.state().eflags, flags::Fixed1 | flags::CF);
}

TEST(Iret, RealModePopsIpCsAndFlags) {
    // SDM IRET, real-address mode: EIP <- Pop(); CS <- Pop(); EFLAGS[15:0] <- Pop().
    Machine m;
    m.load_code({0xCF}); // iret
    m.gpr(Gpr::ESP) = 0x7FFA;
    m.write16(0x7FFA, 0x0040);
    m.write16(0x7FFC, 0x0300);
    m.write16(0x7FFE, 0x0203);
    m.run(1);
    EXPECT_EQ(m.seg(Seg::CS).selector, 0x0300);
    EXPECT_EQ(m.seg(Seg::CS).base, 0x3000u);
    EXPECT_EQ(m.eip(), 0x0040u);
    EXPECT_EQ(m.state().eflags, 0x0203u);
    EXPECT_EQ(m.gpr(Gpr::ESP), 0x8000u);
}

} // namespace transit86::test
