// Boot-code moments where KVM without unrestricted guest refuses VM entry (or stops refusing),
// built by hand from what the instructions leave in the segment caches. The report lists
// every failing row in KVM's order; first_failure() is the row KVM's guest_state_valid()
// stops at.
#include "states.hpp"

#include <gmock/gmock.h>

namespace transit86::vmx::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// SDM Vol. 3A Table 10-1: after reset CS = F000 with base FFFF0000. That base is not F000 << 4,
// so KVM emulates from the reset vector until the first far jump reloads CS.
TEST(KvmScenario, IntelResetStateNeedsEmulationForItsCsBase) {
    const CpuState s = intel_reset();
    EXPECT_TRUE(fails_only(s, "rmode.cs.base"));
    EXPECT_EQ(message_of(s, "rmode.cs.base"),
              "CS base 0xffff0000 != selector 0xf000 << 4 = 0xf0000");
}

// `mov cr0, eax` with PE = 1 straight from the Intel reset state: CS still holds the data-type
// cache 0x93 and TR the reset value 0x82 (an LDT type).
TEST(KvmScenario, MovCr0FromIntelResetFailsCsTypeAndTrType) {
    CpuState s = intel_reset();
    s.cr0 |= cr0::PE;
    EXPECT_FALSE(is_valid(s, Profile::Kvm));
    EXPECT_THAT(failing_ids(s), ElementsAre("cs.type", "tr.type"));
    ASSERT_NE(first_failure(s, Profile::Kvm), nullptr);
    EXPECT_EQ(first_failure(s, Profile::Kvm)->id, "cs.type");
    EXPECT_EQ(message_of(s, "cs.type"),
              "CS type 3 (data, read/write, accessed) is not an accessed code segment 9/11/13/15");
    EXPECT_EQ(message_of(s, "tr.type"),
              "TR access rights 0x82: type 2 (LDT) is not a busy TSS 3/11");
}

// KVM's own reset state has CS 0x9B and TR 0x8B, so with selectors of RPL 0 setting PE makes
// the state valid at once: KVM hands straight back to hardware.
TEST(KvmScenario, MovCr0FromKvmResetIsValid) {
    CpuState s = kvm_reset();
    EXPECT_TRUE(fails_only(s, "rmode.cs.base"));
    s.cr0 |= cr0::PE;
    EXPECT_TRUE(valid(s));
}

// A boot sector ran with SS = 1235 and DS = 07C3 (stale real-mode selectors with RPL bits),
// then set PE and far-jumped to CS = 0x08 but has not reloaded SS or DS yet.
TEST(KvmScenario, StaleSsSelectorFailsTheRplCheck) {
    CpuState s = flat_protected();
    s[Seg::SS] = real_segment(0x1235);
    EXPECT_THAT(failing_ids(s), ElementsAre("ss.rpl-eq-cs.rpl", "ss.dpl-eq-rpl"));
    EXPECT_EQ(first_failure(s, Profile::Kvm)->id, "ss.rpl-eq-cs.rpl");
    EXPECT_EQ(message_of(s, "ss.rpl-eq-cs.rpl"),
              "SS.RPL 1 != CS.RPL 0 (SS selector 0x1235, CS selector 0x0008)");
    EXPECT_EQ(message_of(s, "ss.dpl-eq-rpl"), "SS.DPL 0 != RPL 1 (selector 0x1235)");
}

TEST(KvmScenario, StaleDsSelectorFailsDplAtLeastRpl) {
    CpuState s = flat_protected();
    s[Seg::DS] = real_segment(0x07C3);
    EXPECT_TRUE(fails_only(s, "ds.dpl-ge-rpl"));
    EXPECT_EQ(message_of(s, "ds.dpl-ge-rpl"), "DS.DPL 0 < RPL 3 (selector 0x07c3)");
}

// TR still holds the reset value 0x82 after the segment reloads: invalid until LTR. Linux added
// the LTR/LLDT to its protected-mode jump for this reason.
TEST(KvmScenario, TrFromResetIsInvalidUntilLtr) {
    CpuState s = flat_protected();
    s.tr = segment(0, 0, 0xFFFF, 0x82);
    EXPECT_TRUE(fails_only(s, "tr.type"));
    s.tr = segment(0x18, 0x7C70, 0x67, 0x8B); // after `ltr ax`
    EXPECT_TRUE(valid(s));
}

// The whole window right after `mov cr0` in a boot sector at 07C0 with SS = 1235, DS = 07C3:
// every failing row at once, in KVM's order (as in the architecture brief's trace sketch).
TEST(KvmScenario, BootSectorRightAfterMovCr0ListsEveryFailure) {
    CpuState s = intel_reset();
    s.cr0 |= cr0::PE;
    s[Seg::CS] = real_segment(0x07C0, 0x93);
    s[Seg::SS] = real_segment(0x1235);
    s[Seg::DS] = real_segment(0x07C3);
    EXPECT_THAT(failing_ids(s), ElementsAre("ss.rpl-eq-cs.rpl", "cs.type", "ss.dpl-eq-rpl",
                                            "ds.dpl-ge-rpl", "tr.type"));
    EXPECT_EQ(first_failure(s, Profile::Kvm)->id, "ss.rpl-eq-cs.rpl");
}

// Linux-style switch, one step at a time: each instruction fixes one thing, and only LTR
// brings the state to valid.
TEST(KvmScenario, LinuxStyleSwitchIsValidOnlyAfterLtr) {
    CpuState s = intel_reset();
    s[Seg::CS] = real_segment(0x1000, 0x93);
    s[Seg::SS] = real_segment(0x2003); // a stack selector with RPL 3 bits
    s.cr0 |= cr0::PE;                  // mov cr0, eax
    EXPECT_THAT(failing_ids(s),
                ElementsAre("ss.rpl-eq-cs.rpl", "cs.type", "ss.dpl-eq-rpl", "tr.type"));
    s[Seg::CS] = segment(0x10, 0, 0xFFFFFFFF, 0xC09B); // jmp 0x10:entry
    EXPECT_THAT(failing_ids(s), ElementsAre("ss.rpl-eq-cs.rpl", "ss.dpl-eq-rpl", "tr.type"));
    for (Seg seg : {Seg::DS, Seg::ES, Seg::FS, Seg::GS, Seg::SS}) // mov ds..ss, 0x18
        s[seg] = segment(0x18, 0, 0xFFFFFFFF, 0xC093);
    EXPECT_THAT(failing_ids(s), ElementsAre("tr.type"));
    s.tr = segment(0x20, 0x1000, 0x67, 0x8B); // ltr ax
    EXPECT_TRUE(valid(s));
}

// Unreal mode: PE = 1, load a flat 4 GiB data selector, PE = 0, reload DS in real mode. The
// load changes only selector and base; the 4 GiB limit and G/D-B stay, and KVM emulates this
// state for as long as it lasts.
TEST(KvmScenario, UnrealModeIsInvalid) {
    CpuState s = real_mode();
    s[Seg::DS] = segment(0x0000, 0, 0xFFFFFFFF, 0xC093);
    EXPECT_THAT(failing_ids(s), ElementsAre("rmode.ds.limit", "rmode.ds.avl-l-db-g"));
    EXPECT_EQ(message_of(s, "rmode.ds.limit"),
              "DS limit 0xffffffff != 0xffff (a protected-mode limit kept in real mode: unreal "
              "mode)");
    EXPECT_EQ(message_of(s, "rmode.ds.avl-l-db-g"),
              "DS access rights 0xc093 have D/B, G set; real-mode segments need AVL, L, D/B and "
              "G clear (16-bit, byte granular)");
    // Seen on KVM: `mov gs, 0x1234` in real mode after a flat GS: base follows, limit stays.
    s = real_mode();
    s[Seg::GS] = segment(0x1234, 0x12340, 0xFFFFFFFF, 0xC093);
    EXPECT_THAT(failing_ids(s), ElementsAre("rmode.gs.limit", "rmode.gs.avl-l-db-g"));
}

// Round trip back to real mode (MEMDISK style): a 64 KiB 16-bit data segment was loaded in
// protected mode, PE cleared, and the registers not yet reloaded: the bases are the protected
// ones, not selector << 4. Reloading them in real mode makes the state valid.
TEST(KvmScenario, BackToRealModeIsValidAfterReloads) {
    CpuState s = real_mode();
    s[Seg::CS] = segment(0x0008, 0x7C00, 0xFFFF, 0x9B);
    s[Seg::DS] = segment(0x0010, 0x0000, 0xFFFF, 0x93);
    EXPECT_THAT(failing_ids(s), ElementsAre("rmode.cs.base", "rmode.ds.base"));
    s[Seg::CS] = real_segment(0x07C0, 0x9B); // jmp 0x07c0:next
    s[Seg::DS] = real_segment(0x0000);       // mov ds, ax
    EXPECT_TRUE(valid(s));
}

// An unusable TR (e.g. loaded with a null selector by a state restore): both the usable row
// and the type row fail, and KVM stops at the first.
TEST(KvmScenario, UnusableTrReportsUsableFirst) {
    CpuState s = flat_protected();
    s.tr = segment(0, 0, 0, kUnusable);
    EXPECT_THAT(failing_ids(s), ElementsAre("tr.usable", "tr.type"));
    EXPECT_EQ(first_failure(s, Profile::Kvm)->id, "tr.usable");
    EXPECT_THAT(message_of(s, "tr.usable"), HasSubstr("LTR"));
}

// Each row's message names the register and the offending values; none is empty.
TEST(KvmScenario, MessagesNameTheRegisterAndValues) {
    CpuState s = flat_protected();
    s[Seg::FS] = segment(0x2B, 0, 0xFFFFFFFF, 0xC093);
    EXPECT_EQ(message_of(s, "fs.dpl-ge-rpl"), "FS.DPL 0 < RPL 3 (selector 0x002b)");
    s = flat_protected();
    s[Seg::CS].access_rights = 0xC0FB;
    EXPECT_EQ(message_of(s, "cs.dpl-eq-rpl"),
              "CS.DPL 3 != RPL 0 for a non-conforming CS (selector 0x0008)");
    s = real_mode();
    s[Seg::ES].access_rights = 0x9B;
    EXPECT_EQ(message_of(s, "rmode.es.type"),
              "ES type 11 (code, execute/read, accessed) is not 3 (data, read/write, accessed)");
}

} // namespace
} // namespace transit86::vmx::test
