// The sdm and unrestricted profiles beyond one-row cases: the SDM's qualifiers ("if the
// register is usable", "if the register is CS"), what unrestricted guest relaxes, the event
// tables of 26.3.1.5, boot-code moments, and the messages.
#include "states.hpp"

#include <gmock/gmock.h>

namespace transit86::vmx::test {
namespace {

using injection::Type;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kConformingCode32 = 0xC09F;

// 26.3.1.2 applies the CS checks "if the register is CS or if the register is usable": CS's
// unusable bit does not excuse it, and does not fail it either (KVM refuses it: cs.usable).
TEST(SdmSegments, CsUnusableBitIsIgnored) {
    CpuState s = paged_protected();
    s[Seg::CS].access_rights |= kUnusable;
    EXPECT_TRUE(valid(s, Profile::Sdm));
    EXPECT_TRUE(fails_only(s, "cs.usable", Profile::Kvm));
    s[Seg::CS].access_rights = kUnusable | 0xC093; // still checked: data type 3
    EXPECT_TRUE(fails_only(s, "sdm.cs.type", Profile::Sdm));
}

// "SS. If the 'unrestricted guest' VM-execution control is 0, the DPL must equal the RPL": not
// qualified by "usable", since SS.DPL is the CPL. KVM's stack_segment_valid returns early.
TEST(SdmSegments, SsDplRuleAppliesToAnUnusableSs) {
    CpuState s = paged_protected();
    s[Seg::CS].access_rights = kConformingCode32;
    s[Seg::SS] = segment(0x00, 0, 0, kUnusable | 0x60); // unusable, DPL 3, RPL 0
    EXPECT_TRUE(fails_only(s, "sdm.ss.dpl-eq-rpl", Profile::Sdm));
    EXPECT_TRUE(valid(s, Profile::Kvm));
    s[Seg::SS] = segment(0x00, 0, 0, kUnusable | 0x0F00); // DPL 0: the other SS rows skip it
    EXPECT_TRUE(valid(s, Profile::Sdm));
}

// Unusable DS..GS and LDTR are not checked at all (except that LDTR's and FS/GS bases stay
// canonical).
TEST(SdmSegments, UnusableRegistersSkipTheirChecks) {
    CpuState s = paged_protected();
    for (Seg seg : {Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s[seg] = segment(0x13, 0, 0x100000, kUnusable | 0xF0F8);
    s.ldtr = segment(0x0F, 0, 0x100000, kUnusable | 0x0F9F);
    EXPECT_TRUE(valid(s, Profile::Sdm));
}

// Bit 15 (G): a byte-granular limit must fit in 20 bits; a page-granular one must end in FFF.
TEST(SdmSegments, GranularityMustFitTheLimit) {
    struct Case {
        uint32_t limit;
        bool g;
        bool ok;
    };
    for (const Case& c :
         {Case{0xFFFFF, false, true}, Case{0x100000, false, false}, Case{0xFFFFFFFF, true, true},
          Case{0xFFF, true, true}, Case{0xFFFFFFFE, true, false}, Case{0, false, true}}) {
        CpuState s = paged_protected();
        s[Seg::ES].limit = c.limit;
        s[Seg::ES].access_rights = c.g ? 0xC093 : 0x4093;
        EXPECT_EQ(is_valid(s, Profile::Sdm), c.ok) << std::hex << c.limit << " G=" << c.g;
        if (!c.ok) {
            EXPECT_TRUE(fails_only(s, "sdm.es.g", Profile::Sdm));
        }
    }
}

// "If the guest will be IA-32e mode, the Type must be 11 (64-bit busy TSS)."
TEST(SdmSegments, TrOfType3OnlyOutsideIa32eMode) {
    CpuState s = paged_protected();
    s.tr.access_rights = 0x83;
    EXPECT_TRUE(valid(s, Profile::Sdm));
    s.cr4 |= 1u << 5;
    s.efer = (1u << 8) | (1u << 10);
    VmxContext ctx;
    ctx.ia32e_mode_guest = true;
    EXPECT_TRUE(fails_only(s, "sdm.tr.type", Profile::Sdm, ctx));
    EXPECT_THAT(message_of(s, "sdm.tr.type", Profile::Sdm, ctx), HasSubstr("64-bit"));
}

// What unrestricted guest relaxes: PE/PG, CS type 3 with DPL 0, SS.RPL/DPL against the
// selectors, data DPL >= RPL.
TEST(Unrestricted, RunsTheStatesBootCodePassesThrough) {
    // Straight after MOV CR0 from the Intel reset state: CS is still the data-type cache.
    CpuState s = paged_protected();
    s[Seg::CS].access_rights = 0xC093;
    EXPECT_TRUE(fails_only(s, "sdm.cs.type", Profile::Sdm));
    EXPECT_TRUE(valid(s, Profile::Unrestricted));
    // Stale real-mode selectors with RPL bits: SS 1235, DS 07C3.
    s = paged_protected();
    s[Seg::SS] = real_segment(0x1235);
    s[Seg::DS] = real_segment(0x07C3);
    EXPECT_THAT(failing_ids(s, Profile::Sdm),
                ElementsAre("sdm.ss.rpl-eq-cs.rpl", "sdm.ss.dpl-eq-rpl", "sdm.ds.dpl-ge-rpl"));
    EXPECT_TRUE(valid(s, Profile::Unrestricted));
    // Unreal mode: DS kept a flat 4 GiB limit after CR0.PE was cleared.
    s = real_mode();
    s[Seg::DS] = segment(0x0000, 0, 0xFFFFFFFF, 0xC093);
    EXPECT_TRUE(valid(s, Profile::Unrestricted));
    EXPECT_FALSE(is_valid(s, Profile::Kvm));
}

// The power-up state (SDM Vol. 3A Table 10-1) still fails with unrestricted guest: TR holds
// access rights 0x82, an LDT type; KVM's own reset state uses a busy TSS (0x8B) for this reason.
TEST(Unrestricted, IntelResetStateFailsOnlyTrType) {
    EXPECT_TRUE(fails_only(intel_reset(), "sdm.tr.type", Profile::Unrestricted));
    EXPECT_EQ(message_of(intel_reset(), "sdm.tr.type", Profile::Unrestricted),
              "TR access rights 0x82: type 2 (LDT) is not a busy TSS 3/11");
    EXPECT_TRUE(valid(kvm_reset(), Profile::Unrestricted));
}

// In real mode with unrestricted guest, SS.DPL must be 0 and a CS of type 3 needs DPL 0.
TEST(Unrestricted, RealModeKeepsCplZero) {
    CpuState s = real_mode();
    s[Seg::CS].access_rights = 0xF3; // a vm86-style CS: type 3, DPL 3
    s[Seg::SS].access_rights = 0xF3;
    EXPECT_THAT(failing_ids(s, Profile::Unrestricted),
                ElementsAre("sdm.cs.dpl-type3", "sdm.ss.dpl-zero"));
}

// VmxContext::cr0_vmm_set / cr4_vmm_set = 0 judges CR0 and CR4 as the literal VMCS fields:
// then boot code's NE = 0 and VMXE = 0 fail too.
TEST(SdmControlRegisters, LiteralFieldsNeedNeAndVmxe) {
    VmxContext literal;
    literal.cr0_vmm_set = 0;
    literal.cr4_vmm_set = 0;
    const CpuState s = paged_protected();
    EXPECT_THAT(failing_ids(s, Profile::Sdm, literal),
                ElementsAre("sdm.cr0.fixed0", "sdm.cr4.fixed0"));
    EXPECT_EQ(message_of(s, "sdm.cr0.fixed0", Profile::Sdm, literal),
              "CR0 0xe0000011 lacks NE (bit 5), which IA32_VMX_CR0_FIXED0 0x80000021 requires "
              "without unrestricted guest");
    EXPECT_EQ(message_of(s, "sdm.cr4.fixed0", Profile::Sdm, literal),
              "CR4 0x0 lacks VMXE (bit 13), which IA32_VMX_CR4_FIXED0 0x2000 requires");
}

// "Bit 29 (corresponding to CR0.NW) and bit 30 (CD) are never checked".
TEST(SdmControlRegisters, NwAndCdAreNeverChecked) {
    VmxContext ctx;
    ctx.cr0_fixed0 |= cr0::CD;            // as if CD had to be 1...
    ctx.cr0_fixed1 &= ~uint64_t{cr0::NW}; // ...and NW 0
    CpuState s = paged_protected();
    s.cr0 &= ~uint64_t{cr0::CD};
    s.cr0 |= cr0::NW; // NW = 1 with CD = 0 (MOV to CR0 would #GP; VM entry does not care)
    EXPECT_TRUE(valid(s, Profile::Sdm, ctx));
}

TEST(SdmControlRegisters, RealModeMessageNamesPeAndPg) {
    EXPECT_EQ(message_of(real_mode(), "sdm.cr0.fixed0", Profile::Sdm),
              "CR0 0x60000030 (with the VMM's 0x20) lacks PE (bit 0), PG (bit 31), which "
              "IA32_VMX_CR0_FIXED0 0x80000021 requires without unrestricted guest");
}

// 26.3.1.5: the events each activity state lets an injection through.
TEST(SdmActivity, InjectedEventsAllowedPerActivityState) {
    struct Case {
        ActivityState state;
        uint32_t info;
        bool allowed;
    };
    const uint32_t ext = injection::make(Type::ExternalInterrupt, 0x20);
    const uint32_t nmi = injection::make(Type::Nmi, 2);
    const uint32_t db = injection::make(Type::HardwareException, 1);
    const uint32_t mc = injection::make(Type::HardwareException, 18);
    const uint32_t ud = injection::make(Type::HardwareException, 6);
    const uint32_t mtf = injection::make(Type::OtherEvent, 0);
    const uint32_t soft = injection::make(Type::SoftwareInterrupt, 0x21);
    using A = ActivityState;
    for (const Case& c :
         {Case{A::Active, ud, true}, Case{A::Active, soft, true}, Case{A::Hlt, ext, true},
          Case{A::Hlt, nmi, true}, Case{A::Hlt, db, true}, Case{A::Hlt, mc, true},
          Case{A::Hlt, mtf, true}, Case{A::Hlt, ud, false}, Case{A::Hlt, soft, false},
          Case{A::Shutdown, nmi, true}, Case{A::Shutdown, mc, true}, Case{A::Shutdown, ext, false},
          Case{A::Shutdown, db, false}, Case{A::WaitForSipi, nmi, false},
          Case{A::WaitForSipi, mc, false}}) {
        CpuState s = paged_protected();
        s.eflags |= flags::IF;
        s.activity = c.state;
        VmxContext ctx;
        ctx.entry_interruption_info = c.info;
        ctx.entry_instruction_length = 2;
        SCOPED_TRACE(testing::Message()
                     << "activity " << static_cast<int>(c.state) << " info " << std::hex << c.info);
        if (c.allowed) {
            EXPECT_TRUE(valid(s, Profile::Sdm, ctx));
        } else {
            EXPECT_TRUE(fails_only(s, "sdm.activity.event-allowed", Profile::Sdm, ctx));
        }
    }
}

TEST(SdmActivity, ReservedActivityValue) {
    CpuState s = paged_protected();
    s.activity = static_cast<ActivityState>(4);
    EXPECT_TRUE(fails_only(s, "sdm.activity.supported", Profile::Sdm));
    EXPECT_EQ(message_of(s, "sdm.activity.supported", Profile::Sdm), "activity state 4 is not 0-3");
}

// The context knobs that waive interruptibility rules.
TEST(SdmInterruptibility, ContextWaivers) {
    CpuState s = paged_protected();
    s.eflags |= flags::IF;
    VmxContext ctx;
    ctx.entry_interruption_info = injection::make(Type::Nmi, 2);
    s.interruptibility = interruptibility::BlockingBySti;
    ctx.nmi_injection_requires_no_sti_blocking = false;
    EXPECT_TRUE(valid(s, Profile::Sdm, ctx));
    s.interruptibility = interruptibility::BlockingByNmi;
    ctx.virtual_nmis = false; // "there is no requirement that bit 3 be 0"
    EXPECT_TRUE(valid(s, Profile::Sdm, ctx));
    s.interruptibility = 1u << 4; // enclave interruption
    ctx = {};
    ctx.sgx = true;
    EXPECT_TRUE(valid(s, Profile::Sdm, ctx));
    s.interruptibility |= interruptibility::BlockingByMovSs;
    EXPECT_TRUE(fails_only(s, "sdm.interruptibility.enclave", Profile::Sdm, ctx));
}

// 26.2.1.3: with unrestricted guest and CR0.PE = 0 no exception delivers an error code.
TEST(SdmInjection, NoErrorCodeInUnrestrictedRealMode) {
    VmxContext ctx;
    ctx.entry_interruption_info = injection::make(Type::HardwareException, 13, false);
    EXPECT_TRUE(valid(real_mode(), Profile::Unrestricted, ctx));
    ctx.entry_interruption_info = injection::make(Type::HardwareException, 13, true);
    EXPECT_TRUE(
        fails_only(real_mode(), "sdm.entry-intr.error-code-bit", Profile::Unrestricted, ctx));
    // #UD never has one.
    ctx.entry_interruption_info = injection::make(Type::HardwareException, 6, true);
    EXPECT_TRUE(fails_only(paged_protected(), "sdm.entry-intr.error-code-bit", Profile::Sdm, ctx));
}

TEST(SdmInjection, InstructionLengthAndOtherEvents) {
    VmxContext ctx;
    ctx.entry_interruption_info = injection::make(Type::SoftwareException, 3);
    ctx.entry_instruction_length = 16;
    EXPECT_TRUE(
        fails_only(paged_protected(), "sdm.entry-intr.instruction-length", Profile::Sdm, ctx));
    ctx.entry_instruction_length = 0;
    ctx.zero_length_injection = true;
    EXPECT_TRUE(valid(paged_protected(), Profile::Sdm, ctx));
    ctx = {};
    ctx.entry_interruption_info = injection::make(Type::OtherEvent, 0);
    EXPECT_TRUE(valid(paged_protected(), Profile::Sdm, ctx));
    ctx.monitor_trap_flag = false;
    EXPECT_TRUE(fails_only(paged_protected(), "sdm.entry-intr.type", Profile::Sdm, ctx));
    ctx = {};
    ctx.entry_interruption_info = injection::make(Type::HardwareException, 32);
    EXPECT_TRUE(fails_only(paged_protected(), "sdm.entry-intr.vector", Profile::Sdm, ctx));
}

} // namespace
} // namespace transit86::vmx::test
