// The MTRRs (SDM Vol. 3A 12.11; Vol. 4 Table 2-2): CPUID.01H:EDX.MTRR, IA32_MTRRCAP read-only,
// every MTRR holding what WRMSR wrote, #GP(0) for reserved bits and undefined memory types.
// U-Boot's qemu-x86 firmware reads IA32_MTRRCAP without looking at CPUID.
#include "machine.hpp"

namespace transit86::test {

namespace {

constexpr std::initializer_list<uint8_t> kRdmsr = {0x0F, 0x32};
constexpr std::initializer_list<uint8_t> kWrmsr = {0x0F, 0x30};

// RDMSR of `index` at CPL 0; the exit, with EDX:EAX in `value`.
Exit rdmsr(Machine& m, uint32_t index, uint64_t& value) {
    m.load_code(kRdmsr);
    m.state().eip = kCode;
    m.gpr(Gpr::ECX) = index;
    const Exit exit = m.run(1);
    value = uint64_t{m.gpr(Gpr::EDX)} << 32 | m.gpr(Gpr::EAX);
    return exit;
}

Exit wrmsr(Machine& m, uint32_t index, uint64_t value) {
    m.load_code(kWrmsr);
    m.state().eip = kCode;
    m.gpr(Gpr::ECX) = index;
    m.gpr(Gpr::EAX) = static_cast<uint32_t>(value);
    m.gpr(Gpr::EDX) = static_cast<uint32_t>(value >> 32);
    return m.run(1);
}

} // namespace

class Mtrr : public ::testing::Test {
  protected:
    Mtrr() { m.exceptions_to_host = true; }
    Machine m{Mode::Protected32};
};

TEST_F(Mtrr, CpuidReportsMtrr) {
    m.load_code({0x0F, 0xA2}); // cpuid
    m.gpr(Gpr::EAX) = 1;
    EXPECT_EQ(m.run(1).reason, ExitReason::Budget);
    EXPECT_NE(m.gpr(Gpr::EDX) & (1u << 12), 0u);
}

// 12.11.2.1: VCNT 8, FIX, WC, no SMRR; a write raises #GP(0).
TEST_F(Mtrr, CapabilityIsReadOnly) {
    uint64_t cap = 0;
    EXPECT_EQ(rdmsr(m, 0xFE, cap).reason, ExitReason::Budget);
    EXPECT_EQ(cap, 0x508u);
    EXPECT_TRUE(is_exception(wrmsr(m, 0xFE, 0x508), vec::kGP, 0));
}

// 12.11.2.1: type, FE (bit 10), E (bit 11); 0 at power-up; reserved bits and an undefined type
// (2, 3, 7 and up) raise #GP(0) and leave the register as it was.
TEST_F(Mtrr, DefaultTypeHoldsTypeFeAndE) {
    uint64_t v = 1;
    rdmsr(m, 0x2FF, v);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(wrmsr(m, 0x2FF, 0xC06).reason, ExitReason::Budget);
    rdmsr(m, 0x2FF, v);
    EXPECT_EQ(v, 0xC06u);
    EXPECT_TRUE(is_exception(wrmsr(m, 0x2FF, 0x1006), vec::kGP, 0)); // bit 12
    EXPECT_TRUE(is_exception(wrmsr(m, 0x2FF, 0x802), vec::kGP, 0));  // type 2
    EXPECT_TRUE(is_exception(wrmsr(m, 0x2FF, 0x807), vec::kGP, 0));  // type 7
    rdmsr(m, 0x2FF, v);
    EXPECT_EQ(v, 0xC06u);
}

// 12.11.2.2, Table 12-9: eleven registers of eight byte-wide types each.
TEST_F(Mtrr, FixedRangesHoldEightTypesEach) {
    const uint32_t fixed[] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26A,
                              0x26B, 0x26C, 0x26D, 0x26E, 0x26F};
    for (uint32_t i = 0; i < std::size(fixed); ++i) {
        const uint64_t types = 0x0605040100060504ull + i; // byte 0 is 4, 5, 6 or a bad 7..
        const bool valid = i < 3;
        const Exit e = wrmsr(m, fixed[i], types);
        if (valid) {
            EXPECT_EQ(e.reason, ExitReason::Budget) << std::hex << fixed[i];
            uint64_t v = 0;
            rdmsr(m, fixed[i], v);
            EXPECT_EQ(v, types) << std::hex << fixed[i];
        } else {
            EXPECT_TRUE(is_exception(e, vec::kGP, 0)) << std::hex << fixed[i];
        }
    }
    EXPECT_TRUE(is_exception(wrmsr(m, 0x250, 0x0300000000000000ull), vec::kGP, 0)); // byte 7
    uint64_t unused = 0;
    EXPECT_TRUE(is_exception(rdmsr(m, 0x251, unused), vec::kGP, 0)); // no such MTRR
}

// 12.11.3: PHYSBASEn (type, base bits 12..35) and PHYSMASKn (V bit 11, mask bits 12..35) for
// n = 0..7; bits above MAXPHYADDR (36) and the reserved low bits raise #GP(0).
TEST_F(Mtrr, VariableRangesCheckReservedBits) {
    for (uint32_t n = 0; n < 8; ++n) {
        const uint32_t base = 0x200 + 2 * n, mask = base + 1;
        EXPECT_EQ(wrmsr(m, base, 0xF'8000'0006ull + n * 0x1000).reason, ExitReason::Budget);
        EXPECT_EQ(wrmsr(m, mask, 0xF'F800'0800ull).reason, ExitReason::Budget);
        uint64_t v = 0;
        rdmsr(m, base, v);
        EXPECT_EQ(v, 0xF'8000'0006ull + n * 0x1000);
        rdmsr(m, mask, v);
        EXPECT_EQ(v, 0xF'F800'0800ull);
    }
    EXPECT_TRUE(is_exception(wrmsr(m, 0x200, 0x10'0000'0006ull), vec::kGP, 0)); // bit 36
    EXPECT_TRUE(is_exception(wrmsr(m, 0x200, 0x106), vec::kGP, 0));             // bit 8
    EXPECT_TRUE(is_exception(wrmsr(m, 0x200, 0x1003), vec::kGP, 0));            // type 3
    EXPECT_TRUE(is_exception(wrmsr(m, 0x201, 0x801), vec::kGP, 0));             // bit 0
    EXPECT_TRUE(is_exception(wrmsr(m, 0x20F, 0x10'0000'0800ull), vec::kGP, 0));
    EXPECT_TRUE(is_exception(wrmsr(m, 0x210, 0), vec::kGP, 0)); // past PHYSMASK7
}

// A CPU model without MTRR in CPUID has none of them.
TEST_F(Mtrr, ModelWithoutMtrrRaisesGp) {
    CpuModel model;
    model.features_edx &= ~cpuid_edx::MTRR;
    m.emulator().set_cpu_model(model);
    uint64_t v = 0;
    EXPECT_TRUE(is_exception(rdmsr(m, 0xFE, v), vec::kGP, 0));
    EXPECT_TRUE(is_exception(wrmsr(m, 0x2FF, 0), vec::kGP, 0));
}

} // namespace transit86::test
