// x87 exceptions and availability, one TEST per rule: stack faults (SDM Vol. 1 8.5.1.1), the
// masked and unmasked responses (4.9.1, 8.5), the pending-exception rule (8.6, Vol. 3A 6.15
// interrupt 16), #NM by CR0.EM/MP/TS (Vol. 3A 2.5, Table 2-2), the CPUID-gated forms, and the
// instruction/data pointers (Vol. 1 8.1.8). Values worked out by hand.
#include "x87_support.hpp"

#include "transit86/cpu_model.hpp"

namespace transit86::test {
namespace {

constexpr uint8_t kNM = 7, kMF = 16;

// A ninth push finds ST(7) full: invalid operation with SF and C1 = 1 (overflow); masked, the
// QNaN indefinite is pushed.
TEST(X87, StackOverflowMaskedPushesIndefiniteWithC1Set) {
    Machine m;
    prepare_x87(m);
    m.load_code({0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8,
                 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8, 0xD9, 0xE8}); // fninit ; 9 x fld1
    ASSERT_EQ(m.run(10).reason, ExitReason::Budget);
    const X87State& x = m.state().x87;
    EXPECT_EQ(x.fsw, top_bits(7) | fsw::C1 | fsw::SF | fsw::IE);
    EXPECT_EQ(x.st(0), kIndefinite);
    EXPECT_EQ(x.st(1), kOne);
}

// Reading an empty register: invalid operation with SF and C1 = 0 (underflow).
TEST(X87, StackUnderflowMaskedGivesIndefiniteWithC1Clear) {
    Machine m;
    prepare_x87(m);
    m.load_code({0xDB, 0xE3, 0xD8, 0xC1}); // fninit ; fadd st0, st1
    ASSERT_EQ(m.run(2).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.fsw, fsw::SF | fsw::IE);
    EXPECT_EQ(m.state().x87.st(0), kIndefinite);
}

// Unmasked: the destination and TOP stay (SDM Vol. 1 8.5.1.1), ES and B are set, and the
// next waiting instruction raises #MF before it executes; no-wait ones still run.
TEST(X87, UnmaskedStackUnderflowRaisesMfAtTheNextWaitingInstruction) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x037E);                        // IM clear
    m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, // fninit ; fldcw [0x2000]
                 0xD8, 0xC1,                         // fadd st0, st1
                 0xDF, 0xE0,                         // fnstsw ax (no wait)
                 0xD9, 0xE8});                       // fld1
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    const uint16_t expected = fsw::B | fsw::ES | fsw::SF | fsw::IE;
    EXPECT_EQ(m.state().x87.fsw, expected);
    EXPECT_EQ(m.state().x87.ftw, 0);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFFFF, expected);
    const Exit exit = m.run(1);
    EXPECT_TRUE(is_exception(exit, kMF));
    EXPECT_EQ(m.eip(), kCode + 10); // at the FLD1, which did not run
    EXPECT_EQ(m.state().x87.fsw, expected);
}

TEST(X87, WaitRaisesMfWhenAnErrorIsPending) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x037B); // ZM clear
    // fninit ; fldcw ; fldz ; fld1 ; fdiv st0, st1 ; wait
    m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, 0xD9, 0xEE, 0xD9, 0xE8, 0xD8, 0xF1, 0x9B});
    ASSERT_EQ(m.run(5).reason, ExitReason::Budget);
    // Unmasked zero divide: ST(0) keeps the dividend (a pre-computation exception).
    EXPECT_EQ(m.state().x87.st(0), kOne);
    EXPECT_EQ(m.state().x87.fsw, top_bits(6) | fsw::B | fsw::ES | fsw::ZE);
    EXPECT_TRUE(is_exception(m.run(1), kMF));
    EXPECT_EQ(m.eip(), kCode + 12);
}

// With CR0.NE = 0 the error is signalled on FERR# for the chipset's IRQ 13 (SDM Vol. 3A 2.5,
// Vol. 1 D.1); no platform here models that, so the run stops and says so.
TEST(X87, PendingErrorWithNeClearIsNotModelled) {
    Machine m;
    prepare_x87(m);
    m.state().cr0 &= ~uint64_t{cr0::NE};
    m.write16(kData, 0x037E);
    m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, 0xD8, 0xC1, 0x9B}); // ... ; fadd ; wait
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.run(1).reason, ExitReason::Unsupported);
}

TEST(X87, FnclexClearsThePendingError) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x037E);
    // fninit ; fldcw ; fadd st0, st1 ; fnclex ; fld1
    m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, 0xD8, 0xC1, 0xDB, 0xE2, 0xD9, 0xE8});
    ASSERT_EQ(m.run(5).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.fsw, top_bits(7));
}

// FLDCW unmasking a flag that is already set makes it pending (SDM Vol. 2A FLDCW).
TEST(X87, FldcwUnmaskingASetFlagMakesItPending) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x037E);
    // fninit ; fadd st0, st1 (masked: IE) ; fldcw [0x2000] ; fld1
    m.load_code({0xDB, 0xE3, 0xD8, 0xC1, 0xD9, 0x2E, 0x00, 0x20, 0xD9, 0xE8});
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.fsw & (fsw::ES | fsw::B), fsw::ES | fsw::B);
    EXPECT_TRUE(is_exception(m.run(1), kMF));
}

// Unmasked overflow with a memory destination: nothing is stored and FSTP does not pop
// (SDM Vol. 1 8.5.4).
TEST(X87, UnmaskedOverflowLeavesAMemoryDestinationAndDoesNotPop) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x0377); // OM clear
    m.write64(kData + 2, kJ);
    m.write16(kData + 10, 0x43FF); // 2^1024: beyond a float
    m.write32(kData + 0x10, 0x11111111);
    // fninit ; fldcw ; fld tword [0x2002] ; fstp dword [0x2010]
    m.load_code(
        {0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, 0xDB, 0x2E, 0x02, 0x20, 0xD9, 0x1E, 0x10, 0x20});
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    EXPECT_EQ(m.read32(kData + 0x10), 0x11111111u);
    EXPECT_EQ(m.state().x87.fsw, top_bits(7) | fsw::B | fsw::ES | fsw::OE);
}

// Unmasked overflow with a register destination: the exponent is divided by 2^24576
// (SDM Vol. 1 8.5.4): (2^16383)^2 = 2^32766 -> 2^8190, biased 5FFDH.
TEST(X87, UnmaskedOverflowIntoARegisterBiasesTheExponent) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x0377);
    m.write64(kData + 2, kJ);
    m.write16(kData + 10, 0x7FFE);
    // fninit ; fldcw ; fld tword ; fmul st0, st0
    m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, 0xDB, 0x2E, 0x02, 0x20, 0xD8, 0xC8});
    ASSERT_EQ(m.run(4).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), (X87Register{kJ, 0x5FFD}));
    EXPECT_EQ(m.state().x87.fsw, top_bits(7) | fsw::B | fsw::ES | fsw::OE);
}

// Masked overflow rounding to nearest gives infinity; C1 = 1 as it rounded up (Table 4-10).
TEST(X87, MaskedOverflowGivesInfinity) {
    Machine m;
    prepare_x87(m);
    m.write64(kData + 2, kJ);
    m.write16(kData + 10, 0x7FFE);
    m.load_code({0xDB, 0xE3, 0xDB, 0x2E, 0x02, 0x20, 0xD8, 0xC8}); // fninit ; fld ; fmul
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.st(0), (X87Register{kJ, 0x7FFF}));
    EXPECT_EQ(m.state().x87.fsw, top_bits(7) | fsw::C1 | fsw::PE | fsw::OE);
}

// SDM Vol. 3A Table 2-2: ESC instructions fault with EM or TS; WAIT only with MP and TS.
TEST(X87, DeviceNotAvailableByCr0EmMpTs) {
    struct Case {
        uint64_t cr0_bits;
        bool esc_faults, wait_faults;
    };
    const Case cases[] = {
        {0, false, false},
        {cr0::TS, true, false},
        {cr0::MP, false, false},
        {cr0::MP | cr0::TS, true, true},
        {cr0::EM, true, false},
        {cr0::EM | cr0::TS, true, false},
        {cr0::EM | cr0::MP, true, false},
        {cr0::EM | cr0::MP | cr0::TS, true, true},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.cr0_bits);
        for (const bool wait : {false, true}) {
            Machine m;
            prepare_x87(m);
            m.state().cr0 |= c.cr0_bits;
            if (wait)
                m.load_code({0x9B}); // wait
            else
                m.load_code({0xDB, 0xE3}); // fninit: no-wait, still #NM
            const Exit exit = m.run(1);
            if (wait ? c.wait_faults : c.esc_faults)
                EXPECT_TRUE(is_exception(exit, kNM));
            else
                EXPECT_EQ(exit.reason, ExitReason::Budget);
        }
    }
}

// #NM comes before a pending x87 error (SDM Vol. 3A Table 6-2: class 7 before class 8).
TEST(X87, DeviceNotAvailableBeforeAPendingError) {
    Machine m;
    prepare_x87(m);
    m.write16(kData, 0x037E);
    m.load_code({0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x20, 0xD8, 0xC1, 0xD9, 0xE8}); // ... ; fld1
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    m.state().cr0 |= cr0::TS;
    EXPECT_TRUE(is_exception(m.run(1), kNM));
}

// Forms the CPU model's CPUID does not claim are #UD: FISTTP (SSE3), and FCOMI/FCMOVcc when
// CMOV is taken away (FXSAVE without FXSR: fxsave_test.cpp).
TEST(X87, FormsOutsideTheCpuidModelAreUndefined) {
    {
        Machine m;
        prepare_x87(m);
        m.load_code({0xDF, 0x0E, 0x00, 0x20}); // fisttp word [0x2000]
        EXPECT_TRUE(is_exception(m.run(1), vec::kUD));
    }
    {
        Machine m;
        prepare_x87(m);
        CpuModel model;
        model.features_edx &= ~cpuid_edx::CMOV;
        m.emulator().set_cpu_model(model);
        m.load_code({0xDB, 0xF1}); // fcomi st0, st1
        EXPECT_TRUE(is_exception(m.run(1), vec::kUD));
    }
}

TEST(X87, CpuidReportsTheFpu) {
    Machine m;
    m.gpr(Gpr::EAX) = 1;
    m.load_code({0x0F, 0xA2}); // cpuid
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.gpr(Gpr::EDX) & cpuid_edx::FPU, cpuid_edx::FPU);
}

// Non-control instructions record their address (prefixes included), CS, opcode and memory
// operand; control instructions leave them (SDM Vol. 1 8.1.8, 8.1.9).
TEST(X87, InstructionAndDataPointers) {
    Machine m;
    prepare_x87(m);
    m.seg(Seg::ES) = segment_cache(0x0100, 0x1000, 0xFFFF, 0x93);
    m.write32(0x1000 + 0x20, 0x3F800000); // 1.0f at ES:0020
    m.write16(kData, 0x037F);
    m.load_code({0xDB, 0xE3,                   // fninit
                 0x26, 0xD9, 0x06, 0x20, 0x00, // fld dword es:[0x0020]
                 0xD9, 0x2E, 0x00, 0x20,       // fldcw [0x2000]: control
                 0xD9, 0xE1});                 // fabs: no memory operand
    ASSERT_EQ(m.run(3).reason, ExitReason::Budget);
    const X87State& x = m.state().x87;
    EXPECT_EQ(x.fip, kCode + 2);
    EXPECT_EQ(x.fcs, 0);
    EXPECT_EQ(x.fop, 0x106); // D9, ModRM 06
    EXPECT_EQ(x.fdp, 0x20u);
    EXPECT_EQ(x.fds, 0x0100);
    ASSERT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_EQ(m.state().x87.fip, kCode + 11);
    EXPECT_EQ(m.state().x87.fop, 0x1E1);
    EXPECT_EQ(m.state().x87.fdp, 0x20u); // no memory operand: the data pointer stays
}

// Every ESC encoding the decoder accepts, register forms and memory forms, on a state with
// every exception unmasked and one with a pending error: the host's x87 unit never traps
// (x87_host.hpp) and the guest sees #MF only at a waiting instruction.
TEST(X87, EveryEscEncodingRunsWithoutTrappingTheHost) {
    int executed = 0;
    for (int esc = 0xD8; esc <= 0xDF; ++esc) {
        for (int modrm = 0; modrm < 0x100; ++modrm) {
            if (modrm < 0xC0 && (modrm & 7) != 6) continue; // memory forms: [disp16] only
            for (const bool pending : {false, true}) {
                Machine m;
                prepare_x87(m);
                X87State& x = m.state().x87;
                x.fcw = 0x0340; // every exception unmasked
                x.fsw = pending ? static_cast<uint16_t>(fsw::ZE | fsw::ES | fsw::B) : 0;
                x.ftw = 0x5A; // some registers empty
                for (unsigned i = 0; i < 8; ++i)
                    x.r[i] = {0xC90FDAA22168C235u >> i | kJ, static_cast<uint16_t>(0x3FFF + i)};
                for (uint32_t a = kData; a < kData + 128; a += 8)
                    m.write64(a, 0x4000000000000000u + a);
                m.load_code({static_cast<uint8_t>(esc), static_cast<uint8_t>(modrm), 0x00, 0x20});
                const Exit exit = m.run(1);
                const bool ok =
                    exit.reason == ExitReason::Budget || exit.reason == ExitReason::Exception;
                EXPECT_TRUE(ok) << std::hex << esc << " " << modrm << " " << to_string(exit.reason);
                executed += exit.reason == ExitReason::Budget;
            }
        }
    }
    EXPECT_GT(executed, 400);
}

} // namespace
} // namespace transit86::test
