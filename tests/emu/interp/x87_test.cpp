// The x87 FPU, one TEST per instruction form or rule. Expected values are worked out by hand
// from the SDM (Vol. 1 chapters 4 and 8, Vol. 2 "F..." pages); x87_support.hpp has the
// register encodings. Code runs in real mode at 1000H with memory operands at 2000H.
#include "x87_support.hpp"

#include <cstring>

namespace transit86::test {
namespace {

// fninit ; fild word [0x2000] (= 2) ; fild word [0x2002] (= 8): ST(0) = 8, ST(1) = 2
void load_eight_over_two(Machine& m) {
    prepare_x87(m);
    m.write16(kData, 2);
    m.write16(kData + 2, 8);
    m.load_code({0xDB, 0xE3, 0xDF, 0x06, 0x00, 0x20, 0xDF, 0x06, 0x02, 0x20});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
}

// Runs one two-byte register form on ST(0) = 8, ST(1) = 2.
X87State after_register_form(uint8_t esc, uint8_t modrm) {
    Machine m;
    load_eight_over_two(m);
    m.load(kCode + 10, {esc, modrm});
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    return m.state().x87;
}

TEST(X87, FninitSetsControlStatusTagAndClearsPointers) {
    Machine m;
    prepare_x87(m);
    // fninit ; fld1 ; fninit (the power-up state has every register tagged valid, so a push
    // there would overflow the stack)
    m.load_code({0xDB, 0xE3, 0xD9, 0xE8, 0xDB, 0xE3});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    const X87State& x = m.state().x87;
    EXPECT_EQ(x.fcw, 0x037F); // SDM FINIT: round to nearest, 64-bit precision, all masked
    EXPECT_EQ(x.fsw, 0);
    EXPECT_EQ(x.ftw, 0); // every register empty
    EXPECT_EQ(x.fip, 0u);
    EXPECT_EQ(x.fop, 0);
    EXPECT_EQ(x.r[7], kOne); // "the data registers ... are left unchanged"
}

// arch/x86/boot/cpuflags.c has_fpu(): clear CR0.EM|TS, fninit ; fnstsw ; fnstcw, and an FPU
// is present when fsw == 0 and (fcw & 0x103f) == 0x003f.
TEST(X87, LinuxSetupFpuProbeSeesAnFpu) {
    Machine m;
    m.state().cr0 |= cr0::EM | cr0::TS;
    m.write16(kData, 0xFFFF);
    m.write16(kData + 2, 0xFFFF);
    m.load_code({
        0x0F, 0x20, 0xC0,       // mov eax, cr0
        0x66, 0x83, 0xE0, 0xF3, // and eax, ~(X86_CR0_EM | X86_CR0_TS)
        0x0F, 0x22, 0xC0,       // mov cr0, eax
        0xDB, 0xE3,             // fninit
        0xDD, 0x3E, 0x00, 0x20, // fnstsw [0x2000]
        0xD9, 0x3E, 0x02, 0x20, // fnstcw [0x2002]
    });
    ASSERT_EQ(m.run(6).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData), 0);
    EXPECT_EQ(m.read16(kData + 2) & 0x103F, 0x003F);
}

TEST(X87, FldM32PushesTheExactValue) {
    Machine m;
    prepare_x87(m);
    m.write32(kData, 0x3FC00000);                      // 1.5f
    m.load_code({0xDB, 0xE3, 0xD9, 0x06, 0x00, 0x20}); // fninit ; fld dword [0x2000]
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    const X87State& x = m.state().x87;
    EXPECT_EQ(x.fsw, top_bits(7)); // a push decrements TOP (SDM Vol. 1 8.1.2)
    EXPECT_EQ(x.ftw, 0x80);        // R7 now holds a value
    EXPECT_EQ(x.st(0), (X87Register{0xC000000000000000, 0x3FFF})); // 1.1b x 2^0
}

TEST(X87, FstpM64ConvertsAndPops) {
    Machine m;
    prepare_x87(m);
    m.write32(kData, 0x3FC00000);
    // fninit ; fld dword [0x2000] ; fstp qword [0x2010]
    m.load_code({0xDB, 0xE3, 0xD9, 0x06, 0x00, 0x20, 0xDD, 0x1E, 0x10, 0x20});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.read64(kData + 0x10), 0x3FF8000000000000u); // 1.5 as a double
    EXPECT_EQ(m.state().x87.fsw, top_bits(0));
    EXPECT_EQ(m.state().x87.ftw, 0);
}

TEST(X87, FldFstpM80KeepAllTenBytes) {
    Machine m;
    prepare_x87(m);
    const uint8_t third[10] = {0xAB, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xFD, 0xBF};
    for (int i = 0; i < 10; ++i)
        m.write8(kData + i, third[i]); // -1/3 rounded to nearest
    // fninit ; fld tword [0x2000] ; fstp tword [0x2010]
    m.load_code({0xDB, 0xE3, 0xDB, 0x2E, 0x00, 0x20, 0xDB, 0x3E, 0x10, 0x20});
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), (X87Register{0xAAAAAAAAAAAAAAAB, 0xBFFD}));
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(m.read8(kData + 0x10 + i), third[i]) << i;
}

TEST(X87, FildM16M32M64) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0xFFFD);                        // -3
    m.write32(kData + 4, 100000);                    // 186A0H
    m.write64(kData + 8, uint64_t{1} << 40);         // 2^40
    m.load_code({0xDB, 0xE3, 0xDF, 0x06, 0x00, 0x20, // fild word [0x2000]
                 0xDB, 0x06, 0x04, 0x20,             // fild dword [0x2004]
                 0xDF, 0x2E, 0x08, 0x20});           // fild qword [0x2008]
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    const X87State& x = m.state().x87;
    EXPECT_EQ(x.st(2), (X87Register{0xC000000000000000, 0xC000})); // -1.1b x 2^1
    EXPECT_EQ(x.st(1), (X87Register{0xC350000000000000, 0x400F})); // 1.10000110101b x 2^16
    EXPECT_EQ(x.st(0), (X87Register{kJ, 0x4027}));                 // 2^40
    EXPECT_EQ(x.fsw, top_bits(5));
}

// FIST rounds by RC; round to nearest takes the even neighbour of a tie (SDM Vol. 1 4.8.4).
TEST(X87, FistRoundsToNearestEven) {
    Machine m;
    prepare_x87(m);
    m.write32(kData, 0x40200000);     // 2.5f
    m.write32(kData + 4, 0xC0200000); // -2.5f
    m.write32(kData + 8, 0x40600000); // 3.5f
    m.load_code({0xDB, 0xE3, 0xD9, 0x06, 0x00, 0x20, 0xDF, 0x1E,
                 0x10, 0x20,                                       // fld ; fistp word [0x2010]
                 0xD9, 0x06, 0x04, 0x20, 0xDF, 0x1E, 0x12, 0x20,   // fld ; fistp word [0x2012]
                 0xD9, 0x06, 0x08, 0x20, 0xDB, 0x1E, 0x14, 0x20}); // fld ; fistp dword [0x2014]
    ASSERT_EQ(m.run(7).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData + 0x10), 2);
    EXPECT_EQ(m.read16(kData + 0x12), 0xFFFE);
    EXPECT_EQ(m.read32(kData + 0x14), 4u);
    EXPECT_EQ(m.state().x87.fsw & fsw::PE, fsw::PE);
}

// Masked invalid operation on a result out of the integer range: the integer indefinite
// (SDM Vol. 1 Table 4-2: 8000H for a word) is stored.
TEST(X87, FistOutOfRangeStoresIntegerIndefinite) {
    Machine m;
    prepare_x87(m);
    m.write32(kData, 0x471C4000);                                              // 40000.0f
    m.load_code({0xDB, 0xE3, 0xD9, 0x06, 0x00, 0x20, 0xDF, 0x16, 0x10, 0x20}); // fist word
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.read16(kData + 0x10), 0x8000);
    EXPECT_EQ(m.state().x87.fsw & fsw::IE, fsw::IE);
}

// Packed BCD (SDM Vol. 1 4.7): nine bytes of two digits, the sign in bit 79.
TEST(X87, FbldFbstpPackedBcd) {
    Machine m;
    prepare_x87(m);
    const uint8_t minus_1234[10] = {0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0x80};
    for (int i = 0; i < 10; ++i)
        m.write8(kData + i, minus_1234[i]);
    // fninit ; fbld [0x2000] ; fbstp [0x2010]
    m.load_code({0xDB, 0xE3, 0xDF, 0x26, 0x00, 0x20, 0xDF, 0x36, 0x10, 0x20});
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), (X87Register{0x9A40000000000000, 0xC009})); // -4D2H
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(m.read8(kData + 0x10 + i), minus_1234[i]) << i;
}

// ST(0) = 8, ST(1) = 2; the D8 forms write ST(0), the DC forms ST(i), the DE forms ST(i) and
// pop (SDM Vol. 2A FADD, FSUB, FSUBR, FMUL, FDIV, FDIVR "Opcode" tables).
TEST(X87, ArithmeticRegisterFormsAndReverseForms) {
    const X87Register ten{0xA000000000000000, 0x4002}, six{0xC000000000000000, 0x4001},
        minus_six{0xC000000000000000, 0xC001}, sixteen{kJ, 0x4003}, four{kJ, 0x4001},
        quarter{kJ, 0x3FFD};
    EXPECT_EQ(after_register_form(0xD8, 0xC1).st(0), ten);       // fadd st0, st1
    EXPECT_EQ(after_register_form(0xD8, 0xE1).st(0), six);       // fsub st0, st1
    EXPECT_EQ(after_register_form(0xD8, 0xE9).st(0), minus_six); // fsubr st0, st1
    EXPECT_EQ(after_register_form(0xD8, 0xC9).st(0), sixteen);   // fmul st0, st1
    EXPECT_EQ(after_register_form(0xD8, 0xF1).st(0), four);      // fdiv st0, st1
    EXPECT_EQ(after_register_form(0xD8, 0xF9).st(0), quarter);   // fdivr st0, st1
    EXPECT_EQ(after_register_form(0xDC, 0xE9).st(1), minus_six); // fsub st1, st0
    EXPECT_EQ(after_register_form(0xDC, 0xE1).st(1), six);       // fsubr st1, st0
    EXPECT_EQ(after_register_form(0xDC, 0xF9).st(1), quarter);   // fdiv st1, st0
    EXPECT_EQ(after_register_form(0xDC, 0xF1).st(1), four);      // fdivr st1, st0
    const X87State subp = after_register_form(0xDE, 0xE9);       // fsubp st1, st0
    EXPECT_EQ(subp.st(0), minus_six);
    EXPECT_EQ(subp.fsw, top_bits(7));
    EXPECT_EQ(after_register_form(0xDE, 0xC1).st(0), ten);  // faddp st1, st0
    EXPECT_EQ(after_register_form(0xDE, 0xF1).st(0), four); // fdivrp st1, st0: 8 / 2
}

TEST(X87, ArithmeticMemoryForms) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 8);
    m.write32(kData + 4, 0x3FC00000);         // 1.5f
    m.write64(kData + 8, 0x3FE0000000000000); // 0.5
    m.write16(kData + 16, 18);
    m.write32(kData + 20, 3);
    m.load_code({0xDB, 0xE3, 0xDF, 0x06, 0x00, 0x20, // fninit ; fild word [0x2000]
                 0xD8, 0x06, 0x04, 0x20,             // fadd dword [0x2004]   -> 9.5
                 0xDC, 0x26, 0x08, 0x20,             // fsub qword [0x2008]   -> 9
                 0xDE, 0x3E, 0x10, 0x20,             // fidivr word [0x2010]  -> 18 / 9
                 0xDA, 0x0E, 0x14, 0x20});           // fimul dword [0x2014]  -> 6
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), (X87Register{0x9800000000000000, 0x4002}));
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), (X87Register{0x9000000000000000, 0x4002}));
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), kTwo);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), (X87Register{0xC000000000000000, 0x4001}));
    EXPECT_EQ(m.state().x87.fsw, top_bits(7)); // all exact: no flag
}

// 1 / 3 under each precision and rounding control (SDM Vol. 1 8.1.5): 1/3 = 1.0101...b x 2^-2.
// C1 says whether the last rounding went up (SDM Vol. 1 8.1.3.1, Table 8-1).
struct Rounding {
    uint16_t fcw;
    uint64_t significand;
    bool rounded_up;
};
TEST(X87, PrecisionAndRoundingControlOfFdiv) {
    const Rounding cases[] = {
        {0x037F, 0xAAAAAAAAAAAAAAAB, true},  // 64-bit precision, to nearest
        {0x027F, 0xAAAAAAAAAAAAA800, false}, // 53-bit: the next bit is 0
        {0x007F, 0xAAAAAB0000000000, true},  // 24-bit: the next bits are 10101...
        {0x077F, 0xAAAAAAAAAAAAAAAA, false}, // round down
        {0x0B7F, 0xAAAAAAAAAAAAAAAB, true},  // round up
        {0x0F7F, 0xAAAAAAAAAAAAAAAA, false}, // toward zero
    };
    for (const Rounding& c : cases) {
        SCOPED_TRACE(c.fcw);
        Machine m;
        prepare_x87(m);
        m.write16(kData, 3);
        m.write16(kData + 2, c.fcw);
        // fninit ; fldcw [0x2002] ; fld1 ; fidiv word [0x2000]
        m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x02, 0x20, 0xD9, 0xE8, 0xDE, 0x36, 0x00, 0x20});
        ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
        EXPECT_EQ(m.state().x87.st(0), (X87Register{c.significand, 0x3FFD}));
        EXPECT_EQ(m.state().x87.fsw, top_bits(7) | fsw::PE | (c.rounded_up ? fsw::C1 : 0));
    }
}

// FCOM (SDM Vol. 2A Table 3-21): > 000, < C0, = C3 (C3 C2 C0).
TEST(X87, FcomConditionCodes) {
    constexpr uint16_t kCc = fsw::C3 | fsw::C2 | fsw::C0;
    EXPECT_EQ(after_register_form(0xD8, 0xD1).fsw & kCc, 0);       // fcom st1: 8 > 2
    EXPECT_EQ(after_register_form(0xD8, 0xD0).fsw & kCc, fsw::C3); // fcom st0: equal
    const X87State compp = after_register_form(0xDE, 0xD9);        // fcompp: 8 > 2, two pops
    EXPECT_EQ(compp.fsw, top_bits(0));
    EXPECT_EQ(compp.ftw, 0);
}

// A QNaN operand: FUCOM reports unordered quietly, FCOM raises invalid operation (SDM Vol. 2A
// FUCOM "Description", FCOM Table 3-21).
TEST(X87, FucomIsQuietOnQnanFcomIsNot) {
    for (const bool unordered_compare : {true, false}) {
        Machine m;
        prepare_x87(m);
        m.write64(kData, 0x7FF8000000000000);                        // QNaN
        m.load_code({0xDB, 0xE3, 0xD9, 0xE8, 0xDD, 0x06, 0x00, 0x20, // fninit ; fld1 ; fld qword
                     static_cast<uint8_t>(unordered_compare ? 0xDD : 0xD8),
                     static_cast<uint8_t>(unordered_compare ? 0xE1 : 0xD1)}); // fucom/fcom st1
        ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
        const uint16_t s = m.state().x87.fsw;
        EXPECT_EQ(s & (fsw::C3 | fsw::C2 | fsw::C0), fsw::C3 | fsw::C2 | fsw::C0);
        EXPECT_EQ(s & fsw::IE, unordered_compare ? 0 : fsw::IE);
    }
}

TEST(X87, FtstAndFxam) {
    Machine m;
    prepare_x87(m);
    // fninit ; fld1 ; fchs ; ftst ; fxam
    m.load_code({0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xE0, 0xD9, 0xE4, 0xD9, 0xE5});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), kMinusOne);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget); // FTST: ST(0) < 0.0 -> C0
    EXPECT_EQ(m.state().x87.fsw & (fsw::C3 | fsw::C2 | fsw::C0), fsw::C0);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget); // FXAM: normal finite C2, sign in C1
    EXPECT_EQ(m.state().x87.fsw & (fsw::C3 | fsw::C2 | fsw::C1 | fsw::C0), fsw::C2 | fsw::C1);
}

TEST(X87, FxamOfAnEmptyRegister) {
    Machine m;
    prepare_x87(m);
    m.load_code({0xDB, 0xE3, 0xD9, 0xE5}); // fninit ; fxam
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.fsw & (fsw::C3 | fsw::C2 | fsw::C0), fsw::C3 | fsw::C0); // empty
}

// FCOMI (P6; CPUID CMOV with FPU): ZF PF CF like an unsigned compare, OF SF AF cleared.
TEST(X87, FcomiSetsEflags) {
    Machine m;
    load_eight_over_two(m);
    m.load(kCode + 10, {0xD9, 0xC9, 0xDB, 0xF1}); // fxch st1 ; fcomi st0, st1: 2 vs 8
    m.state().eflags |= flags::OF | flags::SF | flags::AF | flags::ZF;
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_TRUE(status_flags_are(m.state().eflags, flags::CF));
}

TEST(X87, FcmovMovesOnlyWhenItsConditionHolds) {
    for (const bool carry : {true, false}) {
        Machine m;
        load_eight_over_two(m);
        m.load(kCode + 10, {0xD9, 0xC9, static_cast<uint8_t>(carry ? 0xF9 : 0xF8), 0xDA,
                            0xC1}); // fxch st1 ; stc/clc ; fcmovb st0, st1
        ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
        EXPECT_EQ(m.state().x87.st(0), carry ? kEight : kTwo);
    }
}

TEST(X87, FnstswAxAndFldcwFnstcw) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x0C7F);
    // fninit ; fld1 ; fnstsw ax ; fldcw [0x2000] ; fnstcw [0x2002]
    m.load_code(
        {0xDB, 0xE3, 0xD9, 0xE8, 0xDF, 0xE0, 0xD9, 0x2E, 0x00, 0x20, 0xD9, 0x3E, 0x02, 0x20});
    ASSERT_EQ(m.run(5).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFFFF, top_bits(7));
    EXPECT_EQ(m.read16(kData + 2), 0x0C7F);
    EXPECT_EQ(m.state().x87.fcw, 0x0C7F);
}

TEST(X87, FstM32AndFistpM64) {
    Machine m;
    load_eight_over_two(m);
    // fst dword [0x2010] ; fistp qword [0x2018]
    m.load(kCode + 10, {0xD9, 0x16, 0x10, 0x20, 0xDF, 0x3E, 0x18, 0x20});
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kData + 0x10), 0x41000000u); // 8.0f
    EXPECT_EQ(m.read64(kData + 0x18), 8u);
    EXPECT_EQ(m.state().x87.fsw, top_bits(7)); // FST kept, FISTP popped
}

// FXCH swaps, FFREE tags a register empty, FINCSTP/FDECSTP move TOP and nothing else
// (SDM Vol. 2A FXCH, FFREE, FINCSTP, FDECSTP).
TEST(X87, FxchFfreeFincstpFdecstp) {
    Machine m;
    load_eight_over_two(m); // TOP = 6: ST(0) = R6 = 8, ST(1) = R7 = 2
    m.load(kCode + 10, {0xD9, 0xC9, 0xDD, 0xC1, 0xD9, 0xF7, 0xD9, 0xF6}); // fxch st1 ; ffree st1
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);                       // fincstp ; fdecstp
    EXPECT_EQ(m.state().x87.st(0), kTwo);
    EXPECT_EQ(m.state().x87.st(1), kEight);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.ftw, 0x40); // R7 empty, R6 still holds 2
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.fsw, top_bits(7));
    EXPECT_EQ(m.state().x87.ftw, 0x40);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.fsw, top_bits(6));
    EXPECT_EQ(m.state().x87.st(0), kTwo);
}

// FLDPI rounds its internal constant (C90FDAA2 2168C234 C...) by RC (SDM Vol. 1 8.3.4).
TEST(X87, FldpiRoundsItsConstantByRoundingControl) {
    for (const bool chop : {false, true}) {
        Machine m;
        prepare_x87(m);
        m.write16(kData, chop ? 0x0F7F : 0x037F);
        m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, 0xD9, 0xEB}); // fninit ; fldcw ; fldpi
        ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
        EXPECT_EQ(m.state().x87.st(0),
                  (X87Register{chop ? 0xC90FDAA22168C234u : 0xC90FDAA22168C235u, 0x4000}));
        EXPECT_EQ(m.state().x87.fsw, top_bits(7)); // no #P, no C1 for this rounding
    }
}

} // namespace
} // namespace transit86::test
