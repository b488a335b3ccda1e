// KVM profile, protected-mode branch (CR0.PE = 1, RFLAGS.VM = 0), in KVM's order:
// cs_ss_rpl_check, code_segment_valid, stack_segment_valid, data_segment_valid (DS, ES, FS,
// GS), tr_valid, ldtr_valid. Each KVM test is a subset of SDM 26.3.1.2 (checks on guest
// segment registers, "unrestricted guest" = 0); each test below quotes the SDM sentence and
// the KVM line it comes from. The flat protected-mode state passes every row; each failing
// state changes one thing and fails exactly one row.
#include "states.hpp"

namespace transit86::vmx::test {
namespace {

constexpr uint32_t kCode32 = 0xC09B; // code, execute/read, accessed, DPL 0, P, D, G
constexpr uint32_t kData32 = 0xC093; // data, read/write, accessed, DPL 0, P, B, G

uint32_t with_dpl(uint32_t rights, uint32_t dpl) {
    return (rights & ~ar::kDplMask) | dpl << ar::kDplShift;
}

// SDM 26.3.1.2, selector fields: "SS. If the guest will not be virtual-8086 and the
// 'unrestricted guest' VM-execution control is 0, the RPL (bits 1:0) must equal the RPL of the
// selector field for CS." KVM cs_ss_rpl_check compares the selectors even for an unusable SS.
TEST(KvmProtectedMode, SsRplEqualsCsRpl) {
    CpuState s = flat_protected();
    EXPECT_TRUE(valid(s));
    s[Seg::SS] = segment(0x11, 0, 0xFFFFFFFF, with_dpl(kData32, 1)); // RPL 1 = DPL 1
    EXPECT_TRUE(fails_only(s, "ss.rpl-eq-cs.rpl"));
    s[Seg::SS] = segment(0x03, 0, 0, kUnusable); // unusable, still RPL 3 != 0
    EXPECT_TRUE(fails_only(s, "ss.rpl-eq-cs.rpl"));
    s[Seg::SS] = segment(0x00, 0, 0, kUnusable); // null SS with RPL 0
    EXPECT_TRUE(valid(s));
}

// SDM 26.3.1.2: CS checks apply "if the register is CS or if the register is usable"; VM entry
// needs a usable CS. KVM code_segment_valid: "if (cs.unusable) return false".
TEST(KvmProtectedMode, CsIsUsable) {
    CpuState s = flat_protected();
    s[Seg::CS].access_rights |= kUnusable;
    EXPECT_TRUE(fails_only(s, "cs.usable"));
}

// SDM 26.3.1.2, access rights, Type, CS: "If the control is 0, the Type must be 9, 11, 13, or
// 15 (accessed code segment)." KVM: "~cs.type & (CODE_MASK | ACCESSES_MASK)" -> invalid.
TEST(KvmProtectedMode, CsTypeIsAccessedCode) {
    for (uint32_t type : {9u, 11u, 13u, 15u}) {
        CpuState s = flat_protected();
        s[Seg::CS].access_rights = 0xC090 | type;
        EXPECT_TRUE(valid(s)) << "type " << type;
    }
    for (uint32_t type : {3u, 8u, 10u, 1u}) {
        CpuState s = flat_protected();
        s[Seg::CS].access_rights = 0xC090 | type;
        EXPECT_TRUE(fails_only(s, "cs.type")) << "type " << type;
    }
}

// SDM 26.3.1.2, access rights: "Bit 4 (S). If the register is CS or if the register is usable,
// S must be 1." KVM code_segment_valid: "if (!cs.s) return false".
TEST(KvmProtectedMode, CsSBitIs1) {
    CpuState s = flat_protected();
    s[Seg::CS].access_rights = 0xC08B; // busy 32-bit TSS bits in CS
    EXPECT_TRUE(fails_only(s, "cs.s"));
}

// SDM 26.3.1.2, DPL, CS: "If the Type is 9 or 11 (non-conforming code segment), the DPL must
// equal the DPL in the access-rights field for SS." KVM checks DPL == CS.RPL instead (the same
// thing once SS.DPL == SS.RPL == CS.RPL hold), for every type with bit 2 clear.
TEST(KvmProtectedMode, NonConformingCsDplEqualsRpl) {
    CpuState s = flat_protected();
    s[Seg::CS] = segment(0x0B, 0, 0xFFFFFFFF, with_dpl(kCode32, 3)); // ring 3: RPL 3, DPL 3
    s[Seg::SS] = segment(0x13, 0, 0xFFFFFFFF, with_dpl(kData32, 3));
    EXPECT_TRUE(valid(s));
    s[Seg::CS].access_rights = kCode32; // DPL 0 != RPL 3
    EXPECT_TRUE(fails_only(s, "cs.dpl-eq-rpl"));
}

// SDM 26.3.1.2, DPL, CS: "If the Type is 13 or 15 (conforming code segment), the DPL cannot be
// greater than the DPL in the access-rights field for SS." KVM tests type bit 2 and compares
// with CS.RPL: "if (cs.dpl > cs_rpl) return false".
TEST(KvmProtectedMode, ConformingCsDplAtMostRpl) {
    CpuState s = flat_protected();
    s[Seg::CS].access_rights = 0xC09F; // conforming, DPL 0, RPL 0
    EXPECT_TRUE(valid(s));
    s[Seg::CS] = segment(0x0B, 0, 0xFFFFFFFF, 0xC09F); // DPL 0 < RPL 3 is allowed
    s[Seg::SS] = segment(0x13, 0, 0xFFFFFFFF, with_dpl(kData32, 3));
    EXPECT_TRUE(valid(s));
    s = flat_protected();
    s[Seg::CS].access_rights = with_dpl(0xC09F, 3); // DPL 3 > RPL 0
    EXPECT_TRUE(fails_only(s, "cs.dpl-le-rpl"));
}

// SDM 26.3.1.2, Type, SS: "If SS is usable, the Type must be 3 or 7 (read/write, accessed data
// segment)." KVM stack_segment_valid: unusable passes; "ss.type != 3 && ss.type != 7".
TEST(KvmProtectedMode, UsableSsTypeIs3Or7) {
    CpuState s = flat_protected();
    s[Seg::SS].access_rights = 0xC097; // expand-down
    EXPECT_TRUE(valid(s));
    for (uint32_t type : {1u, 2u, 11u}) {
        s[Seg::SS].access_rights = 0xC090 | type;
        EXPECT_TRUE(fails_only(s, "ss.type")) << "type " << type;
    }
    s[Seg::SS].access_rights = kUnusable | 0x9B; // unusable: the type does not matter
    EXPECT_TRUE(valid(s));
}

// SDM 26.3.1.2: "Bit 4 (S). If the register is CS or if the register is usable, S must be 1."
// KVM stack_segment_valid: "if (!ss.s) return false" after the unusable test.
TEST(KvmProtectedMode, UsableSsSBitIs1) {
    CpuState s = flat_protected();
    s[Seg::SS].access_rights = 0xC083;
    EXPECT_TRUE(fails_only(s, "ss.s"));
    s[Seg::SS].access_rights = kUnusable | 0x83;
    EXPECT_TRUE(valid(s));
}

// SDM 26.3.1.2, DPL, SS: "If the 'unrestricted guest' VM-execution control is 0, the DPL must
// equal the RPL from the selector field." KVM: "if (ss.dpl != ss_rpl) return false".
TEST(KvmProtectedMode, UsableSsDplEqualsRpl) {
    CpuState s = flat_protected();
    s[Seg::SS].access_rights = with_dpl(kData32, 3);
    EXPECT_TRUE(fails_only(s, "ss.dpl-eq-rpl"));
    s[Seg::SS].access_rights = kUnusable | with_dpl(kData32, 3);
    EXPECT_TRUE(valid(s));
}

// SDM 26.3.1.2: "Bit 4 (S). If the register is CS or if the register is usable, S must be 1."
// KVM data_segment_valid: unusable passes; "if (!var.s) return false".
TEST(KvmProtectedMode, UsableDataSegmentSBitIs1) {
    for (const auto& [seg, name] : kDataSegs) {
        SCOPED_TRACE(name);
        CpuState s = flat_protected();
        s[seg].access_rights = 0xC083;
        EXPECT_TRUE(fails_only(s, id(name, "s")));
        s[seg].access_rights = kUnusable | 0x82;
        EXPECT_TRUE(valid(s));
    }
}

// SDM 26.3.1.2, DPL, DS..GS: "If the register is usable and the register's Type is in the range
// 0-11 (data segment or non-conforming code segment), the DPL cannot be less than the RPL from
// the selector field." KVM: unless type bits 3 and 2 are both set, "var.dpl < rpl" -> invalid.
TEST(KvmProtectedMode, UsableDataSegmentDplAtLeastRpl) {
    for (const auto& [seg, name] : kDataSegs) {
        SCOPED_TRACE(name);
        CpuState s = flat_protected();
        s[seg] = segment(0x13, 0, 0xFFFFFFFF, kData32); // DPL 0 < RPL 3
        EXPECT_TRUE(fails_only(s, id(name, "dpl-ge-rpl")));
        s[seg].access_rights = 0xC097; // expand-down data is not exempt
        EXPECT_TRUE(fails_only(s, id(name, "dpl-ge-rpl")));
        s[seg].access_rights = kCode32; // nor is non-conforming code
        EXPECT_TRUE(fails_only(s, id(name, "dpl-ge-rpl")));
        s[seg].access_rights = 0xC09F; // conforming code (types 12-15) is
        EXPECT_TRUE(valid(s));
        s[seg].access_rights = with_dpl(kData32, 3); // DPL 3 >= RPL 3
        EXPECT_TRUE(valid(s));
        s[seg] = segment(0x10, 0, 0xFFFFFFFF, with_dpl(kData32, 2)); // DPL 2 > RPL 0
        EXPECT_TRUE(valid(s));
        s[seg] = segment(0x07, 0, 0, kUnusable); // unusable with RPL 3
        EXPECT_TRUE(valid(s));
    }
}

// The SDM also wants DS..GS accessed and, if code, readable; KVM's data_segment_valid has a
// TODO there and checks neither, nor limits, granularity, D/B or reserved bits.
TEST(KvmProtectedMode, DataSegmentTypeAndLimitAreNotChecked) {
    CpuState s = flat_protected();
    s[Seg::DS].access_rights = 0x4090; // read-only, not accessed, byte granular, 4 GiB limit
    s[Seg::ES].access_rights = 0xC098; // execute-only code
    s[Seg::FS].access_rights = kData32 | 0x0F00;
    s[Seg::GS].limit = 0x12345;
    EXPECT_TRUE(valid(s));
}

// SDM 26.3.1.2, TR: "Bit 16 (Unusable). The unusable bit must be 0." KVM tr_valid: "if
// (tr.unusable) return false" — the reason Linux's switch to protected mode runs LTR.
TEST(KvmProtectedMode, TrIsUsable) {
    CpuState s = flat_protected();
    s.tr.access_rights |= kUnusable;
    EXPECT_TRUE(fails_only(s, "tr.usable"));
}

// SDM 26.3.1.2, selector fields: "TR. The TI flag (bit 2) must be 0." KVM tr_valid: "if
// (tr.selector & SEGMENT_TI_MASK) return false".
TEST(KvmProtectedMode, TrTiIs0) {
    CpuState s = flat_protected();
    s.tr.selector = 0x1C;
    EXPECT_TRUE(fails_only(s, "tr.ti"));
}

// SDM 26.3.1.2, TR Type: "If the guest will not be IA-32e mode, the Type must be 3 (16-bit busy
// TSS) or 11 (32-bit busy TSS)." KVM tr_valid: "tr.type != 3 && tr.type != 11". KVM does not
// test S (the SDM wants S = 0), so a code-looking 0x9B passes.
TEST(KvmProtectedMode, TrTypeIsBusyTss) {
    CpuState s = flat_protected();
    s.tr.access_rights = 0x83;
    EXPECT_TRUE(valid(s));
    s.tr.access_rights = 0x9B;
    EXPECT_TRUE(valid(s));
    for (uint32_t rights : {0x82u, 0x89u, 0x81u}) { // LDT, available TSS, available 16-bit TSS
        s.tr.access_rights = rights;
        EXPECT_TRUE(fails_only(s, "tr.type")) << rights;
    }
}

// SDM 26.3.1.2, selector fields: "LDTR. If LDTR is usable, the TI flag (bit 2) must be 0." KVM
// ldtr_valid: unusable passes; "if (ldtr.selector & SEGMENT_TI_MASK) return false".
TEST(KvmProtectedMode, UsableLdtrTiIs0) {
    CpuState s = flat_protected();
    s.ldtr = segment(0x20, 0x8000, 0xFF, 0x82);
    EXPECT_TRUE(valid(s));
    s.ldtr.selector = 0x24;
    EXPECT_TRUE(fails_only(s, "ldtr.ti"));
    s.ldtr.access_rights |= kUnusable;
    EXPECT_TRUE(valid(s));
}

// SDM 26.3.1.2, LDTR: "Bits 3:0 (Type). The Type must be 2 (LDT)." KVM ldtr_valid:
// "if (ldtr.type != 2) return false"; S is not tested.
TEST(KvmProtectedMode, UsableLdtrTypeIsLdt) {
    CpuState s = flat_protected();
    s.ldtr = segment(0x20, 0x8000, 0xFF, 0x8B);
    EXPECT_TRUE(fails_only(s, "ldtr.type"));
    s.ldtr.access_rights = 0x92; // S = 1 with type 2: KVM accepts
    EXPECT_TRUE(valid(s));
    s.ldtr.access_rights = kUnusable | 0x8B;
    EXPECT_TRUE(valid(s));
}

// KVM's vmx_get_segment() sets present = !unusable, so its "!present" tests never fire on their
// own and AR bit 7 is ignored (the SDM wants P = 1 for CS, TR and usable registers).
TEST(KvmProtectedMode, PresentBitIsIgnored) {
    CpuState s = flat_protected();
    s[Seg::CS].access_rights &= ~ar::kP;
    s[Seg::SS].access_rights &= ~ar::kP;
    s[Seg::DS].access_rights &= ~ar::kP;
    s.tr.access_rights &= ~ar::kP;
    s.ldtr = segment(0x20, 0x8000, 0xFF, 0x02);
    EXPECT_TRUE(valid(s));
}

// KVM __vmx_guest_state_valid ends with "TODO: Add checks on RIP / RFLAGS": neither is checked.
TEST(KvmProtectedMode, RipRflagsAndTablesAreNotChecked) {
    CpuState s = flat_protected();
    s.eip = 0xFFFFFFFF;
    s.eflags = 0xFFFFFFFF & ~flags::VM;
    s.gdtr = {0xFFFFFFFF, 0xFFFFFFFF};
    s.interruptibility = interruptibility::BlockingBySti | interruptibility::BlockingByMovSs;
    EXPECT_TRUE(valid(s));
}

} // namespace
} // namespace transit86::vmx::test
