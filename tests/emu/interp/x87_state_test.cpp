// The x87 state images, one TEST per layout (SDM Vol. 1 8.1.10, Figures 8-9 to 8-12):
// FNSAVE/FRSTOR and FNSTENV/FLDENV in 16- and 32-bit formats, real and protected mode; and
// the state in KVM's kvm_fpu layout. Image bytes worked out by hand from the figures.
#include "x87_support.hpp"

#include "transit86/kvm_state.hpp"

namespace transit86::test {
namespace {

void expect_one_at(const Machine& m, uint32_t address) { // 1.0 as ten bytes
    EXPECT_EQ(m.read64(address), kJ);
    EXPECT_EQ(m.read16(address + 8), 0x3FFF);
}

// Real mode, 16-bit operand size: 94 bytes, Figure 8-12; the pointers are 20-bit linear.
TEST(X87State, FnsaveFrstorRealMode16BitLayout) {
    Machine m;
    prepare_x87(m);
    // fninit ; fld1 ; fnsave [0x2000] ; frstor [0x2000]
    m.load_code({0xDB, 0xE3, 0xD9, 0xE8, 0xDD, 0x36, 0x00, 0x20, 0xDD, 0x26, 0x00, 0x20});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData + 0), 0x037F);
    EXPECT_EQ(m.read16(kData + 2), top_bits(7));
    EXPECT_EQ(m.read16(kData + 4), 0x3FFF); // R7 valid (00), the rest empty (11)
    EXPECT_EQ(m.read16(kData + 6), 0x1002); // FLD1's address, bits 15:0
    EXPECT_EQ(m.read16(kData + 8), 0x01E8); // bits 19:16 = 0, opcode D9 E8
    EXPECT_EQ(m.read16(kData + 10), 0);     // data pointer: cleared by FNINIT
    EXPECT_EQ(m.read16(kData + 12), 0);
    expect_one_at(m, kData + 14);          // ST(0)
    EXPECT_EQ(m.read64(kData + 24), 0u);   // ST(1) = R0: +0.0 since power-up
    const X87State& saved = m.state().x87; // FNSAVE then initialises (SDM FSAVE)
    EXPECT_EQ(saved.fcw, 0x037F);
    EXPECT_EQ(saved.fsw, 0);
    EXPECT_EQ(saved.ftw, 0);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    const X87State& x = m.state().x87;
    EXPECT_EQ(x.fsw, top_bits(7));
    EXPECT_EQ(x.ftw, 0x80);
    EXPECT_EQ(x.st(0), kOne);
    EXPECT_EQ(x.fip, 0x1002u);
    EXPECT_EQ(x.fop, 0x1E8);
}

// Protected mode, 32-bit operand size: 108 bytes, Figure 8-9; reserved halves all ones.
TEST(X87State, FnsaveProtectedMode32BitLayout) {
    Machine m(Mode::Protected32);
    prepare_x87(m);
    m.write64(0x2100, 0x3FF0000000000000); // 1.0
    // fninit ; fld qword [0x2100] ; fnsave [0x2000]
    m.load_code(
        {0xDB, 0xE3, 0xDD, 0x05, 0x00, 0x21, 0x00, 0x00, 0xDD, 0x35, 0x00, 0x20, 0x00, 0x00});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kData + 0), 0xFFFF037Fu);
    EXPECT_EQ(m.read32(kData + 4), 0xFFFF0000u | top_bits(7));
    EXPECT_EQ(m.read32(kData + 8), 0xFFFF3FFFu);
    EXPECT_EQ(m.read32(kData + 12), 0x1002u);     // FIP
    EXPECT_EQ(m.read32(kData + 16), 0x05050008u); // FOP DD 05 in 26:16, FCS = 08
    EXPECT_EQ(m.read32(kData + 20), 0x2100u);     // FDP
    EXPECT_EQ(m.read32(kData + 24), 0xFFFF0010u); // FDS = 10
    expect_one_at(m, kData + 28);
}

// Real mode with a 66 prefix: the 28-byte real-mode image, Figure 8-10: linear pointers,
// bits 31:16 in 27:12 of the next doubleword.
TEST(X87State, FnstenvRealMode32BitLayout) {
    Machine m;
    prepare_x87(m);
    m.seg(Seg::DS) = segment_cache(0x0F00, 0xF000, 0xFFFF, 0x93);
    m.write32(0xF000 + 0x1234, 0x3F800000); // 1.0f at linear 10234H
    // fninit ; fld dword [0x1234] ; fnstenv (o32) [0x2000]
    m.load_code({0xDB, 0xE3, 0xD9, 0x06, 0x34, 0x12, 0x66, 0xD9, 0x36, 0x00, 0x20});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    const uint32_t image = 0xF000 + kData;
    EXPECT_EQ(m.read32(image + 0), 0xFFFF037Fu);
    EXPECT_EQ(m.read32(image + 4), 0xFFFF0000u | top_bits(7));
    EXPECT_EQ(m.read32(image + 8), 0xFFFF3FFFu);
    EXPECT_EQ(m.read32(image + 12), 0xFFFF1002u); // instruction pointer 15:0
    EXPECT_EQ(m.read32(image + 16), 0x00000106u); // its bits 31:16 (0), opcode D9 06
    EXPECT_EQ(m.read32(image + 20), 0xFFFF0234u); // operand pointer 15:0 of 10234H
    EXPECT_EQ(m.read32(image + 24), 0x00001000u); // its bits 31:16 (1) in 27:12
}

// Protected mode with a 66 prefix: the 14-byte image of Figure 8-11 (selectors, no opcode).
TEST(X87State, FnstenvProtectedMode16BitLayout) {
    Machine m(Mode::Protected32);
    prepare_x87(m);
    m.write32(0x2100, 0x3F800000);
    // fninit ; fld dword [0x2100] ; fnstenv (o16) [0x2000]
    m.load_code(
        {0xDB, 0xE3, 0xD9, 0x05, 0x00, 0x21, 0x00, 0x00, 0x66, 0xD9, 0x35, 0x00, 0x20, 0x00, 0x00});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData + 0), 0x037F);
    EXPECT_EQ(m.read16(kData + 2), top_bits(7));
    EXPECT_EQ(m.read16(kData + 4), 0x3FFF);
    EXPECT_EQ(m.read16(kData + 6), 0x1002);
    EXPECT_EQ(m.read16(kData + 8), 0x0008);
    EXPECT_EQ(m.read16(kData + 10), 0x2100);
    EXPECT_EQ(m.read16(kData + 12), 0x0010);
    EXPECT_EQ(m.read16(kData + 14), 0); // nothing past the 14 bytes
}

// FSTENV "then masks all floating-point exceptions"; a pending error is no longer pending.
TEST(X87State, FnstenvMasksEveryException) {
    Machine m;
    prepare_x87(m);
    m.write16(kData + 0x40, 0x0360);
    // fninit ; fldcw [0x2040] ; fadd st0, st1 (unmasked stack fault) ; fnstenv [0x2000]
    m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x40, 0x20, 0xD8, 0xC1, 0xD9, 0x36, 0x00, 0x20});
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData), 0x0360);
    EXPECT_EQ(m.read16(kData + 2), fsw::B | fsw::ES | fsw::SF | fsw::IE);
    EXPECT_EQ(m.state().x87.fcw, 0x037F);
    EXPECT_EQ(m.state().x87.fsw, fsw::SF | fsw::IE);
}

// FLDENV uses a tag only for empty versus not (SDM Vol. 1 8.1.7), and an unmasked flag in the
// loaded status word is pending for the next waiting instruction.
TEST(X87State, FldenvLoadsTagsAsEmptyOrNotAndAPendingError) {
    Machine m;
    prepare_x87(m);
    m.write16(kData + 0, 0x037E);                      // IM clear
    m.write16(kData + 2, 0x0001);                      // IE set, ES clear in the image
    m.write16(kData + 4, 0x5557);                      // R0 empty, R1..R7 "zero"
    m.load_code({0xD9, 0x26, 0x00, 0x20, 0xD9, 0xE8}); // fldenv [0x2000] ; fld1
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.ftw, 0xFE);
    EXPECT_EQ(m.state().x87.fsw, fsw::B | fsw::ES | fsw::IE);
    EXPECT_TRUE(is_exception(m.run(1), 16));
}

// kvm_fpu keeps ST(i) in fpr[i] and the FXSAVE pointer pairs (selector << 32 | offset).
TEST(X87State, KvmFpuLayoutIsStackOrder) {
    X87State x;
    x.fsw = top_bits(6);
    x.ftw = 0xC0;
    x.r[6] = kOne;
    x.r[7] = kTwo;
    x.fip = 0x1234;
    x.fcs = 0x08;
    x.fdp = 0x5678;
    x.fds = 0x10;
    x.fop = 0x1E8;
    KvmFpu fpu{};
    fpu.mxcsr = 0x1F80;
    to_kvm_fpu(x, fpu);
    EXPECT_EQ(fpu.fpr[0][7], 0x80); // ST(0) = R6 = 1.0
    EXPECT_EQ(fpu.fpr[0][8], 0xFF);
    EXPECT_EQ(fpu.fpr[0][9], 0x3F);
    EXPECT_EQ(fpu.fpr[1][9], 0x40); // ST(1) = R7 = 2.0
    EXPECT_EQ(fpu.ftwx, 0xC0);
    EXPECT_EQ(fpu.last_ip, 0x0000000800001234u);
    EXPECT_EQ(fpu.last_dp, 0x0000001000005678u);
    EXPECT_EQ(fpu.mxcsr, 0x1F80u); // not x87 state: left alone
    EXPECT_EQ(from_kvm_fpu(fpu), x);
}

TEST(X87State, ResetValues) {
    const X87State intel = reset_state(ResetPreset::Intel).x87; // SDM Vol. 3A Table 10-1
    EXPECT_EQ(intel.fcw, 0x0040);
    EXPECT_EQ(intel.fsw, 0);
    EXPECT_EQ(intel.ftw, 0xFF); // FTW 5555H: every register "zero"
    EXPECT_EQ(intel.r[0], kPlusZero);
    const X87State kvm = reset_state(ResetPreset::Kvm).x87;
    EXPECT_EQ(kvm.fcw, 0x037F);
    EXPECT_EQ(kvm.ftw, 0);
}

#if defined(__x86_64__)
// The host's own FNSTENV (64-bit mode writes the 32-bit protected-mode image) of the same
// state agrees with the guest's, except the pointers, which are the host's.
TEST(X87State, ProtectedMode32BitEnvironmentMatchesTheHostsFnstenv) {
    Machine m(Mode::Protected32);
    prepare_x87(m);
    m.write16(0x2100, 0x0B7F);
    // fninit ; fldcw [0x2100] ; fld1 ; fldpi ; fnstenv [0x2000]
    m.load_code({0xDB, 0xE3, 0xD9, 0x2D, 0x00, 0x21, 0x00, 0x00, 0xD9, 0xE8, 0xD9, 0xEB, 0xD9, 0x35,
                 0x00, 0x20, 0x00, 0x00});
    ASSERT_EQ(m.run(5).reason, ExitReason::Budget);
    uint8_t host[28];
    const uint16_t control = 0x0B7F;
    asm volatile("fninit\n\tfldcw %1\n\tfld1\n\tfldpi\n\tfnstenv %0\n\tfninit"
                 : "=m"(host)
                 : "m"(control)
                 : "memory", "st", "st(1)");
    for (int i = 0; i < 12; ++i)
        EXPECT_EQ(m.read8(kData + i), host[i]) << "byte " << i;
    EXPECT_EQ(m.read16(kData + 26), host[26] | host[27] << 8) << "reserved half";
}
#endif

} // namespace
} // namespace transit86::test
