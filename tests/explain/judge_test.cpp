// Judging dumps. The expected failing checks are worked out by hand from SDM Vol. 3C 26.3.1
// for each dump (the reasoning is in the comments), not taken from the tool's output.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "dumps.hpp"

namespace transit86::tools::explain {
namespace {

using testing::judge;
using testing::parse;

std::set<std::string> failing_ids(const Explanation& ex) {
    std::set<std::string> ids;
    for (const Finding& f : ex.failing)
        ids.insert(f.id);
    return ids;
}

const Finding& finding(const Explanation& ex, const std::string& id) {
    const auto it = std::find_if(ex.failing.begin(), ex.failing.end(),
                                 [&](const Finding& f) { return f.id == id; });
    if (it == ex.failing.end()) throw std::runtime_error(id + " does not fail");
    return *it;
}

bool unjudged(const Explanation& ex, const std::string& id) {
    return std::any_of(ex.unjudged.begin(), ex.unjudged.end(),
                       [&](const Unjudged& u) { return u.id == id; });
}

const Unjudged& unjudged_row(const Explanation& ex, const std::string& id) {
    const auto it = std::find_if(ex.unjudged.begin(), ex.unjudged.end(),
                                 [&](const Unjudged& u) { return u.id == id; });
    if (it == ex.unjudged.end()) throw std::runtime_error(id + " was judged");
    return *it;
}

// --- What a check reads

TEST(ReadsOf, RegistersNamedInTheId) {
    const vmx::Check* row = vmx::find_check(vmx::Profile::Kvm, "ss.rpl-eq-cs.rpl");
    ASSERT_NE(row, nullptr);
    const FieldSet reads = reads_of(*row);
    EXPECT_TRUE(reads.contains(Field::Ss));
    EXPECT_TRUE(reads.contains(Field::Cs));
    EXPECT_TRUE(reads.contains(Field::Cr0)); // its scope is the protected-mode branch
    EXPECT_FALSE(reads.contains(Field::Tr));
}

TEST(ReadsOf, InjectionRulesReadTheInterruptionInformation) {
    const vmx::Check* row =
        vmx::find_check(vmx::Profile::Sdm, "sdm.rflags.if-for-external-interrupt");
    ASSERT_NE(row, nullptr);
    EXPECT_TRUE(reads_of(*row).contains(Field::EntryIntrInfo));
    EXPECT_TRUE(reads_of(*row).contains(Field::Rflags));
}

TEST(ReadsOf, EveryRowOfEveryProfileReadsSomething) {
    for (vmx::Profile p : {vmx::Profile::Kvm, vmx::Profile::Sdm})
        for (const vmx::Check& row : vmx::checks(p))
            EXPECT_FALSE(reads_of(row).empty()) << row.id;
}

// --- Assumptions

TEST(Assume, UnrestrictedGuestFromSecondaryExec) {
    const Assumptions a = assume(parse("pe_entry-after-mov-cr0.kvm_intel.txt"), std::nullopt);
    EXPECT_FALSE(a.unrestricted_guest); // SecondaryExec 0x22: bit 7 clear
    EXPECT_FALSE(a.ia32e_mode_guest);   // EntryControls 0xd1ff: bit 9 clear
}

TEST(Assume, UnrestrictedGuestFromAVmcsCr0WithoutPe) {
    // KVM and Xen load CR0.PE = 0 into the VMCS only with unrestricted guest.
    EXPECT_TRUE(assume(parse("edk2-91.txt"), std::nullopt).unrestricted_guest);
    EXPECT_TRUE(assume(parse("cloud-hypervisor-4131.txt"), std::nullopt).unrestricted_guest);
}

TEST(Assume, Ia32eModeFromLongModeCs) {
    const Assumptions a = assume(parse("drakvuf-388-xenial3.txt"), std::nullopt);
    EXPECT_FALSE(a.unrestricted_guest);
    EXPECT_TRUE(a.ia32e_mode_guest); // CS.L = 1 with CR0.PG = 1, no EFER in the dump
}

TEST(Assume, CommandLineOverrides) {
    EXPECT_TRUE(assume(parse("systemd-35885.txt"), true).unrestricted_guest);
    EXPECT_FALSE(assume(parse("edk2-91.txt"), false).unrestricted_guest);
}

// --- transit86's own state after `mov cr0, eax` in pe_entry.bin

// CR0 0x60000011, CR4 0, CS = 0000 (0x93, data), SS = 1235, DS = 07C3, ES = 0F02, FS = 0B01,
// GS = 1233 (all 0x93), TR = LDTR = 0x82, GDTR = IDTR limit 0xFFFF; no unrestricted guest.
// 26.3.1.1: CR0 lacks NE and PG of FIXED0 (PE | NE | PG); CR4 lacks VMXE of CR4 FIXED0.
// 26.3.1.2: CS type 3 is not code (9/11/13/15) without unrestricted guest; SS.RPL 1 != CS.RPL
// 0; SS.DPL 0 != SS.RPL 1; DS/ES/FS/GS DPL 0 < RPL 3/2/1/3; TR type 2 is not a TSS (3/11).
// SS.DPL is 0 as "CS type 3" requires; data types are accessed; limits fit G = 0; LDTR is a
// usable LDT (type 2, S = 0, P = 1). 26.3.1.3-5: GDTR/IDTR limits fit 16 bits, RFLAGS 0x6 has
// bit 1 set and no reserved bit, nothing injected, interruptibility and activity 0.
const std::set<std::string> kPeEntryFailing = {
    "sdm.cr0.fixed0",    "sdm.cr4.fixed0",    "sdm.cs.type",       "sdm.ss.rpl-eq-cs.rpl",
    "sdm.ss.dpl-eq-rpl", "sdm.ds.dpl-ge-rpl", "sdm.es.dpl-ge-rpl", "sdm.fs.dpl-ge-rpl",
    "sdm.gs.dpl-ge-rpl", "sdm.tr.type"};

TEST(PeEntryAfterMovCr0, KvmIntelDumpFailsTheHandWorkedChecks) {
    const Explanation ex = judge("pe_entry-after-mov-cr0.kvm_intel.txt");
    EXPECT_EQ(failing_ids(ex), kPeEntryFailing);
    EXPECT_FALSE(ex.valid());
}

TEST(PeEntryAfterMovCr0, KvmCatchesTheSegmentRulesButNotTheControlRegisters) {
    const Explanation ex = judge("pe_entry-after-mov-cr0.kvm_intel.txt");
    EXPECT_EQ(ex.kvm, KvmVerdict::Invalid);
    // KVM stops at the RPL check first (its table order).
    ASSERT_FALSE(ex.kvm_failing.empty());
    EXPECT_EQ(ex.kvm_failing.front(), "ss.rpl-eq-cs.rpl");
    EXPECT_EQ(finding(ex, "sdm.cs.type").kvm, KvmCatch::Catches);
    EXPECT_EQ(finding(ex, "sdm.ss.rpl-eq-cs.rpl").kvm, KvmCatch::Catches);
    EXPECT_EQ(finding(ex, "sdm.tr.type").kvm, KvmCatch::Catches);
    // KVM owns CR0.NE/PG and CR4.VMXE and never checks them: it catches the state only
    // because of the segments.
    EXPECT_EQ(finding(ex, "sdm.cr0.fixed0").kvm, KvmCatch::CatchesElsewhere);
    EXPECT_EQ(finding(ex, "sdm.cr4.fixed0").kvm, KvmCatch::CatchesElsewhere);
}

TEST(PeEntryAfterMovCr0, AgreesWithCompareProfilesOnACompleteDump) {
    // Every field compare_profiles() reads is in this dump, so the rules explain says KVM has
    // no check for are exactly the sdm-side divergences.
    const Explanation ex = judge("pe_entry-after-mov-cr0.kvm_intel.txt", {{}, 0x3727ff, 39});
    std::set<std::string> processor_only;
    for (const vmx::Divergence& d : vmx::compare_profiles(ex.dump.state, ex.context))
        if (d.failing_in == vmx::Profile::Sdm) processor_only.insert(std::string(d.check->id));
    std::set<std::string> not_caught;
    for (const Finding& f : ex.failing)
        if (f.kvm != KvmCatch::Catches) not_caught.insert(f.id);
    EXPECT_EQ(not_caught, processor_only);
}

TEST(PeEntryAfterMovCr0, XenDumpJudgesTheSame) {
    EXPECT_EQ(failing_ids(judge("pe_entry-after-mov-cr0.xen.txt")), kPeEntryFailing);
}

TEST(PeEntryAfterMovCr0, QemuDumpCannotJudgeTheVmcsControlRegisters) {
    // QEMU prints the guest's CR0/CR4; without unrestricted guest KVM rewrites them (and the
    // segments, in real mode) before entry, so the CR0/CR4 rules are not judged.
    const Explanation ex = judge("pe_entry-after-mov-cr0.qemu.txt");
    std::set<std::string> expected = kPeEntryFailing;
    expected.erase("sdm.cr0.fixed0");
    expected.erase("sdm.cr4.fixed0");
    EXPECT_EQ(failing_ids(ex), expected);
    EXPECT_TRUE(unjudged_row(ex, "sdm.cr0.fixed0").missing.contains(Field::Cr0Vmcs));
    EXPECT_TRUE(unjudged_row(ex, "sdm.interruptibility.sti-needs-if")
                    .missing.contains(Field::Interruptibility));
}

TEST(PeEntryAfterMovCr0, WithUnrestrictedGuestOnlyCr0Cr4AndTrRemain) {
    // Unrestricted guest exempts CR0.PE/PG and allows CS type 3 (DPL 0) and the RPL/DPL
    // mismatches, but CR0.NE (FIXED0), CR4.VMXE and a TSS in TR are still required.
    const Explanation ex = judge("pe_entry-after-mov-cr0.kvm_intel.txt", {true, {}, {}});
    EXPECT_EQ(failing_ids(ex),
              (std::set<std::string>{"sdm.cr0.fixed0", "sdm.cr4.fixed0", "sdm.tr.type"}));
    // KVM with unrestricted guest checks nothing: it hands the state to the CPU.
    EXPECT_EQ(ex.kvm, KvmVerdict::Valid);
    EXPECT_EQ(finding(ex, "sdm.tr.type").kvm, KvmCatch::Misses);
}

TEST(PeEntryAfterMovCr0, HostCapabilitiesAreNotJudgedUnlessGiven) {
    const Explanation ex = judge("pe_entry-after-mov-cr0.kvm_intel.txt");
    EXPECT_TRUE(unjudged_row(ex, "sdm.cr4.fixed1").missing.contains(Field::HostCr4Fixed1));
    EXPECT_TRUE(unjudged_row(ex, "sdm.cr3.reserved").missing.contains(Field::HostMaxPhyAddr));
    const Explanation given = judge("pe_entry-after-mov-cr0.kvm_intel.txt", {{}, 0x3727ff, 39});
    EXPECT_FALSE(unjudged(given, "sdm.cr4.fixed1"));
    EXPECT_FALSE(unjudged(given, "sdm.cr3.reserved"));
    EXPECT_EQ(failing_ids(given), kPeEntryFailing); // CR4 0 and CR3 0 pass both
}

// --- Real dumps

TEST(RealDump, Edk2_91InjectsAnExternalInterruptWithIfClear) {
    // RFLAGS 0x2 (IF = 0) while intr_info 0x800000d1 injects external interrupt 0xd1: SDM
    // 26.3.1.4, "IF must be 1 if the valid bit is 1 and the interruption type is external
    // interrupt" (Paolo Bonzini's diagnosis in the thread). CR0 0x50032 (PE = PG = 0) means
    // unrestricted guest, so CR0 passes FIXED0 (NE is set); CR4 0x2050 has VMXE; RFLAGS has no
    // reserved bit. KVM checks nothing with unrestricted guest: it misses this.
    const Explanation ex = judge("edk2-91.txt");
    EXPECT_TRUE(ex.assumptions.unrestricted_guest);
    EXPECT_EQ(failing_ids(ex), std::set<std::string>{"sdm.rflags.if-for-external-interrupt"});
    const Finding& f = finding(ex, "sdm.rflags.if-for-external-interrupt");
    EXPECT_EQ(f.section, "26.3.1.4");
    EXPECT_EQ(f.kvm, KvmCatch::Misses);
    // No segment registers in the stored copy: their rules are not judged.
    EXPECT_TRUE(unjudged_row(ex, "sdm.cs.type").missing.contains(Field::Cs));
    // The injected interrupt is also checked against interruptibility, which was cut off.
    EXPECT_TRUE(unjudged(ex, "sdm.interruptibility.external-interrupt"));
}

TEST(RealDump, Edk2_91WithoutTheControlStateCannotJudgeInjection) {
    std::string text = testing::read_dump("edk2-91.txt");
    text = text.substr(0, text.find("    [ 7058.291829]"));
    const Explanation ex = explain_dump(parse_dump(text));
    EXPECT_TRUE(ex.valid());
    EXPECT_TRUE(unjudged_row(ex, "sdm.rflags.if-for-external-interrupt")
                    .missing.contains(Field::EntryIntrInfo));
}

TEST(RealDump, Dosemu2_1274Virtual8086StateIsValidAsFarAsShown) {
    // RFLAGS.VM = 1: CS FFFF/FFFF0, DS 0040/400, SS and ES 0000/0, all limit FFFF and access
    // rights F3 as 26.3.1.2 requires for virtual-8086 mode; CR0 0x80010031 has PE, NE and PG;
    // CR4 0x2061 has VMXE. FS, GS, GDTR, LDTR, IDTR and TR were cut off: not judged, and KVM's
    // real-mode branch needs FS and GS too.
    const Explanation ex = judge("dosemu2-1274.txt");
    EXPECT_TRUE(ex.valid());
    EXPECT_GT(ex.judged, 20u);
    EXPECT_EQ(ex.kvm, KvmVerdict::Unknown);
    EXPECT_TRUE(unjudged_row(ex, "sdm.fs.base.v86").missing.contains(Field::Fs));
    EXPECT_TRUE(unjudged(ex, "sdm.tr.type"));
}

TEST(RealDump, Drakvuf388GuestStateShownIsValid) {
    // 64-bit Linux guest: CS 0010 a09b (L = 1, D = 0), SS 0018 c093, data segments and LDTR
    // unusable, CR0 0x8005003b has PE/NE/PG, CR4 0x362670 has VMXE and PAE (IA-32e), FS/GS
    // bases canonical, GDTR limit 0x7f. The failing field must be among those Xen printed
    // after the cut (TR, IDTR, interruptibility, pending debug exceptions).
    for (const char* name : {"drakvuf-388-xenial3.txt", "drakvuf-388-xenial2.txt"}) {
        const Explanation ex = judge(name);
        EXPECT_TRUE(ex.valid()) << name;
        EXPECT_TRUE(unjudged(ex, "sdm.tr.type")) << name;
        EXPECT_TRUE(unjudged(ex, "pending-debug.bs")) << name;
        EXPECT_TRUE(unjudged(ex, "sdm.interruptibility.sti-needs-if")) << name;
    }
}

TEST(RealDump, Systemd35885SmmStateIsKvmsToEmulateOrValid) {
    // SMM entry state: CR0 0x50032 (real mode), CS = F900 with base 7EFF9000 and access rights
    // 8093 (a data segment, G = 1, 4 GiB limits). Without unrestricted guest KVM would not
    // enter this: its real-mode branch rejects it (base != selector << 4, limits above 0xFFFF)
    // and it emulates; the processor would only ever see KVM's virtual-8086 version, so the
    // SDM segment rules are not judged on what QEMU shows. With unrestricted guest the state
    // enters as shown: CS type 3 with DPL 0 is allowed, SS.DPL is 0 (CR0.PE = 0), the G/limit
    // pairs fit, TR is a busy TSS, LDTR unusable, RFLAGS 0x2, CR0 plus NE passes FIXED0
    // without PE/PG: nothing fails, and the 0xffffffff came from Hyper-V, not the guest state.
    const Explanation off = judge("systemd-35885.txt");
    EXPECT_TRUE(off.valid());
    EXPECT_EQ(off.kvm, KvmVerdict::Invalid);
    ASSERT_FALSE(off.kvm_failing.empty());
    EXPECT_EQ(off.kvm_failing.front(), "rmode.cs.base");
    EXPECT_TRUE(unjudged_row(off, "sdm.cs.type").missing.contains(Field::SegmentsVmcs));
    const Explanation on = judge("systemd-35885.txt", {true, {}, {}});
    EXPECT_TRUE(on.valid());
    EXPECT_FALSE(unjudged(on, "sdm.cs.type"));
    EXPECT_FALSE(unjudged(on, "sdm.cr0.fixed0")); // the VMCS CR0 is the guest's plus NE
    EXPECT_EQ(on.kvm, KvmVerdict::Valid);
}

TEST(RealDump, Edk2_91QemuSmmStateWithoutCr0) {
    // The same SMM state shape as systemd-35885 (CS C000 base 7FFC0000, 8093), cut before CR0:
    // without unrestricted guest the mode decides what KVM enters, so the segment rules wait
    // for CR0; with it, the segments are judged and hold.
    EXPECT_TRUE(unjudged_row(judge("edk2-91-qemu.txt"), "sdm.cs.type")
                    .missing.contains(Field::SegmentsVmcs));
    const Explanation on = judge("edk2-91-qemu.txt", {true, {}, {}});
    EXPECT_TRUE(on.valid());
    EXPECT_FALSE(unjudged(on, "sdm.cs.type"));
}

TEST(RealDump, Edk2_23EmulationFailureIsNotAGuestStateProblem) {
    // 16-bit protected mode (CR0 0x33): CS 9F00 base 9F000 type 11, SS/DS/ES/FS/GS type 3
    // with RPL 0, TR busy TSS, LDTR an LDT, GDTR limit 0x3f. Every judged rule holds and
    // KVM's checks pass: the emulation failure is fetching code from 0xA0000 (EIP 0x1000).
    const Explanation ex = judge("edk2-23.txt");
    EXPECT_TRUE(ex.valid());
    EXPECT_EQ(ex.kvm, KvmVerdict::Valid);
}

TEST(RealDump, CoconutSvsm1081ShownStateIsValid) {
    for (const char* name : {"coconut-svsm-1081-kvm_intel.txt", "coconut-svsm-1081-qemu.txt"}) {
        const Explanation ex = judge(name);
        EXPECT_TRUE(ex.valid()) << name;
        EXPECT_FALSE(ex.unjudged.empty()) << name;
    }
}

TEST(RealDump, Xqemu270CutBeforeCr0) {
    // Flat 32-bit segments (CS 0008 c09b, ES/SS/DS 0010 c093, FS 0000 0093), EFLAGS 0x86.
    // Without CR0 neither KVM's branch nor whether KVM enters these segments unchanged is
    // known, so only the RFLAGS and activity rules are judged; with unrestricted guest the
    // segments are judged too, and hold (RPL 0 = DPL 0, G/limit pairs fit).
    const Explanation ex = judge("xqemu-270.txt");
    EXPECT_TRUE(ex.valid());
    EXPECT_FALSE(unjudged(ex, "sdm.rflags.reserved"));
    EXPECT_TRUE(unjudged_row(ex, "sdm.cr0.fixed0").missing.contains(Field::Cr0));
    EXPECT_TRUE(unjudged_row(ex, "sdm.cs.type").missing.contains(Field::SegmentsVmcs));
    EXPECT_EQ(ex.kvm, KvmVerdict::Unknown); // KVM's branch depends on CR0.PE
    const Explanation on = judge("xqemu-270.txt", {true, {}, {}});
    EXPECT_TRUE(on.valid());
    EXPECT_FALSE(unjudged(on, "sdm.cs.type"));
    EXPECT_TRUE(unjudged_row(on, "sdm.tr.type").missing.contains(Field::Tr));
}

TEST(RealDump, CloudHypervisor4131UnrestrictedProtectedModeWithoutPaging) {
    // CR0 0x21: PE and NE, paging off, so unrestricted guest; flat 32-bit segments.
    const Explanation ex = judge("cloud-hypervisor-4131.txt");
    EXPECT_TRUE(ex.assumptions.unrestricted_guest);
    EXPECT_TRUE(ex.valid());
    EXPECT_EQ(ex.kvm, KvmVerdict::Valid);
}

// --- explain's own rows: pending debug exceptions (26.3.1.5)

TEST(PendingDebug, BsMustMatchTfUnderStiBlocking) {
    std::string text = testing::read_dump("pe_entry-after-mov-cr0.kvm_intel.txt");
    const auto replace = [&text](const std::string& from, const std::string& to) {
        text.replace(text.find(from), from.size(), to);
    };
    // STI blocking with IF = 1 and TF = 1, BTF = 0: BS must be 1 but is 0.
    replace("RFLAGS=0x00000006", "RFLAGS=0x00000306");
    replace("Interruptibility = 00000000", "Interruptibility = 00000001");
    Explanation ex = explain_dump(parse_dump(text));
    EXPECT_EQ(finding(ex, "pending-debug.bs").source, "entry");
    EXPECT_FALSE(failing_ids(ex).count("sdm.interruptibility.sti-needs-if"));
    replace("DebugExceptions = 0x0000000000000000", "DebugExceptions = 0x0000000000004000");
    ex = explain_dump(parse_dump(text));
    EXPECT_FALSE(failing_ids(ex).count("pending-debug.bs"));
}

TEST(PendingDebug, ReservedBits) {
    std::string text = testing::read_dump("pe_entry-after-mov-cr0.kvm_intel.txt");
    const std::string from = "DebugExceptions = 0x0000000000000000";
    text.replace(text.find(from), from.size(), "DebugExceptions = 0x0000000000000010");
    EXPECT_TRUE(failing_ids(explain_dump(parse_dump(text))).count("pending-debug.reserved"));
}

} // namespace
} // namespace transit86::tools::explain
