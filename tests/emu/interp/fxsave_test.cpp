// FXSAVE and FXRSTOR, one TEST per rule of SDM Vol. 2A FXSAVE/FXRSTOR: the non-64-bit image
// (Table 3-43: FCW 0, FSW 2, abridged FTW 4, FOP 6, FIP 8, FCS 12, FDP 16, FDS 20, MXCSR 24,
// MXCSR_MASK 28, ST(i) at 32 + 16i in stack order, XMMi at 160 + 16i), what is not written,
// the 16-byte alignment #GP, MXCSR's reserved bits, #NM and #UD. Values worked out by hand.
#include <cstring>

#include "transit86/cpu_model.hpp"
#include "x87_support.hpp"

namespace transit86::test {
namespace {

constexpr uint8_t kNM = 7, kMF = 16;
constexpr uint32_t kImage = 0x2000;

// A state whose every field differs from reset: TOP = 3, so ST(0) is R3.
X87State sample_x87() {
    X87State x;
    x.fcw = 0x027F;
    x.fsw = static_cast<uint16_t>(top_bits(3) | fsw::C1 | fsw::PE);
    x.ftw = 0x18; // R3 and R4 hold values
    x.fop = 0x0123;
    x.fip = 0x00001234;
    x.fcs = 0x0100;
    x.fdp = 0x00005678;
    x.fds = 0x0200;
    x.r[3] = kOne;
    x.r[4] = kMinusOne;
    return x;
}

SseState sample_sse() {
    SseState s;
    s.mxcsr = 0x9FC0; // FZ, every exception masked, DAZ (SDM Vol. 1 Figure 10-3)
    for (unsigned i = 0; i < 8; ++i)
        for (unsigned b = 0; b < 16; ++b)
            s.xmm[i][b] = static_cast<uint8_t>(0x10 * i + b);
    return s;
}

void fill(Machine& m, uint32_t address, uint32_t size, uint8_t value) {
    for (uint32_t i = 0; i < size; ++i)
        m.write8(address + i, value);
}

X87Register read_register(Machine& m, uint32_t address) {
    return {m.read64(address), m.read16(address + 8)};
}

TEST(Fxsave, StoresTheNonSixtyFourBitImage) {
    Machine m;
    prepare_x87(m);
    m.state().x87 = sample_x87();
    m.state().sse = sample_sse();
    fill(m, kImage, 512, 0xAA);
    m.load_code({0x0F, 0xAE, 0x06, 0x00, 0x20}); // fxsave [0x2000]
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kImage + 0), 0x027F);
    EXPECT_EQ(m.read16(kImage + 2), top_bits(3) | fsw::C1 | fsw::PE); // PE masked: no ES
    EXPECT_EQ(m.read8(kImage + 4), 0x18);
    EXPECT_EQ(m.read8(kImage + 5), 0);
    EXPECT_EQ(m.read16(kImage + 6), 0x0123);
    EXPECT_EQ(m.read32(kImage + 8), 0x1234u);
    EXPECT_EQ(m.read32(kImage + 12), 0x0100u); // FCS, then two reserved bytes
    EXPECT_EQ(m.read32(kImage + 16), 0x5678u);
    EXPECT_EQ(m.read32(kImage + 20), 0x0200u);
    EXPECT_EQ(m.read32(kImage + 24), 0x9FC0u);
    EXPECT_EQ(m.read32(kImage + 28), 0xFFFFu);           // MXCSR_MASK: DAZ supported
    EXPECT_EQ(read_register(m, kImage + 32), kOne);      // ST(0) = R3
    EXPECT_EQ(read_register(m, kImage + 48), kMinusOne); // ST(1) = R4
    EXPECT_EQ(m.read16(kImage + 32 + 10), 0);            // a slot's upper 6 bytes
    EXPECT_EQ(m.read32(kImage + 32 + 12), 0u);
    EXPECT_EQ(m.read8(kImage + 160), 0x00);
    EXPECT_EQ(m.read8(kImage + 160 + 16 * 7 + 15), 0x7F);
    for (uint32_t i = 288; i < 512; ++i) // reserved, then left to software: not written
        ASSERT_EQ(m.read8(kImage + i), 0xAA) << "byte " << i;
    EXPECT_EQ(m.state().x87, sample_x87()); // kept, unlike FNSAVE
}

// FXRSTOR takes FOP's low 11 bits and derives ES and B from the loaded flags and masks; it
// raises nothing itself, the next waiting instruction takes the pending #MF.
TEST(Fxrstor, LoadsTheImageAndLeavesAnUnmaskedExceptionPending) {
    Machine m;
    prepare_x87(m);
    fill(m, kImage, 512, 0);
    m.write16(kImage + 0, 0x037E); // IM clear
    m.write16(kImage + 2, static_cast<uint16_t>(top_bits(6) | fsw::IE));
    m.write8(kImage + 4, 0x40); // R6 holds a value
    m.write16(kImage + 6, 0xFFFF);
    m.write32(kImage + 8, 0x00AB0000);
    m.write16(kImage + 12, 0x0300);
    m.write32(kImage + 24, 0x1F80);
    m.write64(kImage + 32, kTwo.significand); // ST(0) = R6
    m.write16(kImage + 32 + 8, kTwo.sign_exponent);
    m.write8(kImage + 160 + 16 * 3, 0x5A);
    m.load_code({0x0F, 0xAE, 0x0E, 0x00, 0x20, // fxrstor [0x2000]
                 0xD9, 0xE8});                 // fld1
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    const X87State& x = m.state().x87;
    EXPECT_EQ(x.fcw, 0x037E);
    EXPECT_EQ(x.fsw, top_bits(6) | fsw::IE | fsw::ES | fsw::B);
    EXPECT_EQ(x.ftw, 0x40);
    EXPECT_EQ(x.fop, 0x7FF);
    EXPECT_EQ(x.fip, 0x00AB0000u);
    EXPECT_EQ(x.fcs, 0x0300);
    EXPECT_EQ(x.r[6], kTwo);
    EXPECT_EQ(m.state().sse.xmm[3][0], 0x5A);
    EXPECT_EQ(m.state().sse.mxcsr, 0x1F80u);
    EXPECT_TRUE(is_exception(m.run(1), kMF));
}

TEST(Fxrstor, RestoresWhatFxsaveStored) {
    Machine m;
    prepare_x87(m);
    m.state().x87 = sample_x87();
    m.state().sse = sample_sse();
    m.load_code({0x0F, 0xAE, 0x06, 0x00, 0x20,   // fxsave [0x2000]
                 0xDB, 0xE3,                     // fninit
                 0x0F, 0xAE, 0x0E, 0x00, 0x20}); // fxrstor [0x2000]
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    m.state().sse = SseState{};
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87, sample_x87());
    EXPECT_EQ(m.state().sse, sample_sse());
}

TEST(Fxsave, MisalignedImageRaisesGp0) {
    Machine m(Mode::Protected32);
    prepare_x87(m);
    fill(m, kImage, 528, 0xAA);
    m.load_code({0x0F, 0xAE, 0x05, 0x08, 0x20, 0x00, 0x00}); // fxsave [0x2008]
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.read8(kImage + 8), 0xAA);
    EXPECT_EQ(m.eip(), kCode);
}

// The segment's base counts: DS base 8 makes offset 2008H the aligned linear 2010H.
TEST(Fxsave, AlignmentIsOfTheLinearAddress) {
    Machine m(Mode::Protected32);
    prepare_x87(m);
    m.seg(Seg::DS).base = 8;
    m.load_code({0x0F, 0xAE, 0x05, 0x08, 0x20, 0x00, 0x00}); // fxsave [0x2008]
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(0x2010), m.state().x87.fcw);
}

// The whole 512-byte operand is checked against the limit, although only 288 bytes are written.
TEST(Fxsave, OperandBeyondTheLimitRaisesGp0AndStoresNothing) {
    Machine m(Mode::Protected32);
    prepare_x87(m);
    m.seg(Seg::DS).limit = kImage + 0x1FE; // 511 bytes from kImage
    fill(m, kImage, 512, 0xAA);
    m.load_code({0x0F, 0xAE, 0x05, 0x00, 0x20, 0x00, 0x00}); // fxsave [0x2000]
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.read8(kImage), 0xAA);
}

TEST(Fxrstor, ReservedMxcsrBitRaisesGp0AndLoadsNothing) {
    Machine m(Mode::Protected32);
    prepare_x87(m);
    fill(m, kImage, 512, 0);
    m.write32(kImage + 24, 0x00011F80); // bit 16 is reserved
    const CpuState before = m.state();
    m.load_code({0x0F, 0xAE, 0x0D, 0x00, 0x20, 0x00, 0x00}); // fxrstor [0x2000]
    EXPECT_TRUE(is_exception(m.run(1), vec::kGP, 0));
    EXPECT_EQ(m.state().x87, before.x87);
    EXPECT_EQ(m.state().sse, before.sse);
}

TEST(Fxsave, Cr0TsOrEmRaisesNm) {
    for (const uint32_t bit : {cr0::TS, cr0::EM}) {
        Machine m;
        prepare_x87(m);
        m.state().cr0 |= bit;
        m.load_code({0x0F, 0xAE, 0x06, 0x00, 0x20}); // fxsave [0x2000]
        EXPECT_TRUE(is_exception(m.run(1), kNM)) << "CR0 bit " << bit;
    }
}

// FXSAVE is not a waiting instruction: a pending x87 error stays pending.
TEST(Fxsave, DoesNotTakeAPendingError) {
    Machine m;
    prepare_x87(m);
    X87State x = sample_x87();
    x.fcw = 0x037E;
    x.fsw = static_cast<uint16_t>(x.fsw | fsw::IE);
    m.state().x87 = x;
    m.load_code({0x0F, 0xAE, 0x06, 0x00, 0x20}); // fxsave [0x2000]
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kImage + 2) & (fsw::ES | fsw::B), fsw::ES | fsw::B);
}

TEST(Fxsave, UndefinedWithoutCpuidFxsr) {
    Machine m;
    prepare_x87(m);
    CpuModel model;
    model.features_edx &= ~cpuid_edx::FXSR;
    m.emulator().set_cpu_model(model);
    m.load_code({0x0F, 0xAE, 0x06, 0x00, 0x20}); // fxsave [0x2000]
    EXPECT_TRUE(is_exception(m.run(1), vec::kUD));
}

} // namespace
} // namespace transit86::test
