// The dump parsers: log prefixes, format detection, and the fields each real dump gives.
// Expected values are read off the dumps by hand.
#include <gtest/gtest.h>

#include "dumps.hpp"

namespace transit86::tools::explain {
namespace {

using testing::parse;
using testing::read_dump;

// --- Log prefixes

TEST(StripLogPrefix, SyslogDateHostAndKernelTag) {
    EXPECT_EQ(detail::strip_log_prefix("Sep  8 22:52:20 xubuntu2004 kernel: [10639.238026] "
                                       "*** Guest State ***"),
              "*** Guest State ***");
}

TEST(StripLogPrefix, DmesgTimestampAndModuleName) {
    EXPECT_EQ(detail::strip_log_prefix("[  673.853454] kvm_intel: CR3 = 0x0000008000f76000"),
              "CR3 = 0x0000008000f76000");
}

TEST(StripLogPrefix, DmesgCallerId) {
    EXPECT_EQ(detail::strip_log_prefix("[ 12.5] [ T1234] kvm_intel: *** Guest State ***"),
              "*** Guest State ***");
}

TEST(StripLogPrefix, XenConsoleWithAndWithoutTimestamp) {
    EXPECT_EQ(detail::strip_log_prefix("(XEN)   CS: 0010 0a09b ffffffff 0000000000000000"),
              "CS: 0010 0a09b ffffffff 0000000000000000");
    EXPECT_EQ(detail::strip_log_prefix("(XEN) [  123.456] RFLAGS=0x00000002"), "RFLAGS=0x00000002");
}

TEST(StripLogPrefix, MailQuotingAndIndentation) {
    EXPECT_EQ(detail::strip_log_prefix(">     [ 7058.291838] VMEntry: intr_info=800000d1"),
              "VMEntry: intr_info=800000d1");
}

TEST(NormaliseLines, RejoinsALineWrappedAfterAComma) {
    const auto lines = detail::normalise_lines("[ 1.0] CR0: actual=0x0000000000050032,\n"
                                               "shadow=0x0000000000050032, gh_mask=ff\n");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "CR0: actual=0x0000000000050032, shadow=0x0000000000050032, gh_mask=ff");
}

TEST(NormaliseLines, DropsHeaderCommentsAndBlankLines) {
    const auto lines =
        detail::normalise_lines("# source: somewhere\n\n  \nEFER=0000000000000000\n");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "EFER=0000000000000000");
}

// --- kvm_intel dump_vmcs

TEST(KvmIntelDump, CoconutSvsm1081WithDmesgPrefixes) {
    const Dump d = parse("coconut-svsm-1081-kvm_intel.txt");
    EXPECT_EQ(d.format, DumpFormat::KvmIntel);
    EXPECT_EQ(d.state.cr0, 0x80010033u);
    EXPECT_EQ(d.cr0_shadow, 0x80010033u);
    EXPECT_EQ(d.state.cr4, 0x342af0u);
    EXPECT_EQ(d.state.cr3, 0x8000f76000u);
    EXPECT_EQ(d.state.eflags, 0x2u);
    EXPECT_EQ(d.rip, 0xffffff8000042837u);
    EXPECT_EQ(d.state[Seg::CS].selector, 0x8);
    EXPECT_EQ(d.state[Seg::CS].access_rights, 0xa09bu);
    EXPECT_EQ(d.state[Seg::CS].limit, 0xffffffffu);
    EXPECT_EQ(d.state[Seg::SS].access_rights, 0xc093u);
    EXPECT_TRUE(d.known.contains(Field::Cs));
    EXPECT_TRUE(d.known.contains(Field::Ds));
    EXPECT_TRUE(d.known.contains(Field::Cr0Vmcs));
    // Cut inside the ES line; a 64-bit RIP and RSP do not fit CpuState.
    EXPECT_FALSE(d.known.contains(Field::Es));
    EXPECT_FALSE(d.known.contains(Field::Tr));
    EXPECT_FALSE(d.known.contains(Field::Rip));
    EXPECT_FALSE(d.known.contains(Field::Rsp));
}

TEST(KvmIntelDump, Dosemu2_1274WithSyslogPrefixes) {
    const Dump d = parse("dosemu2-1274.txt");
    EXPECT_EQ(d.format, DumpFormat::KvmIntel);
    EXPECT_EQ(d.state.cr0, 0x80010031u);
    EXPECT_EQ(d.cr0_shadow, 0xe0000031u);
    EXPECT_EQ(d.state.eflags, 0x20202u); // VM and IF
    EXPECT_TRUE(d.state.v86());
    EXPECT_EQ(d.state[Seg::CS].selector, 0xffff);
    EXPECT_EQ(d.state[Seg::CS].base, 0xffff0u);
    EXPECT_EQ(d.state[Seg::CS].access_rights, 0xf3u);
    EXPECT_EQ(d.state[Seg::DS].base, 0x400u);
    EXPECT_EQ(d.state.eip, 0u);
    EXPECT_EQ(d.state[Gpr::ESP], 0xfffeu);
    EXPECT_TRUE(d.known.contains(Field::Es));
    EXPECT_FALSE(d.known.contains(Field::Fs));
    EXPECT_FALSE(d.known.contains(Field::Gdtr));
}

TEST(KvmIntelDump, Edk2_91WrappedLinesAndQuotedControlState) {
    const Dump d = parse("edk2-91.txt");
    EXPECT_EQ(d.format, DumpFormat::KvmIntel);
    EXPECT_EQ(d.state.cr0, 0x50032u);
    EXPECT_EQ(d.cr0_shadow, 0x50032u);
    EXPECT_EQ(d.state.cr4, 0x2050u);
    EXPECT_EQ(d.state.eflags, 0x2u);
    EXPECT_EQ(d.state.eip, 0x8000u); // not the "guest rIP:" of the kvm messages before it
    EXPECT_TRUE(d.known.contains(Field::EntryIntrInfo));
    EXPECT_EQ(d.controls.intr_info, 0x800000d1u);
    EXPECT_FALSE(d.known.contains(Field::Cs));
}

TEST(KvmIntelDump, HostStateIsNotGuestState) {
    const Dump d = parse("pe_entry-after-mov-cr0.kvm_intel.txt");
    EXPECT_EQ(d.state.cr0, 0x60000011u);  // not the host's CR0=0000000080050033
    EXPECT_EQ(d.state.eip, 0x7c22u);      // not the host's RIP
    EXPECT_EQ(d.state[Gpr::ESP], 0x100u); // not the host's RSP
    EXPECT_EQ(d.controls.secondary_exec, 0x22u);
    EXPECT_EQ(d.controls.entry_controls, 0xd1ffu);
    EXPECT_EQ(d.controls.cpu_based, 0xb5a06dfau);
    EXPECT_EQ(d.controls.pin_based, 0xffu);
    EXPECT_EQ(d.exit_reason, 0x80000021u);
    EXPECT_TRUE(d.known.contains(Field::Interruptibility));
    EXPECT_TRUE(d.known.contains(Field::PendingDebug));
}

TEST(KvmIntelDump, CloudHypervisor4131NestedGuest) {
    const Dump d = parse("cloud-hypervisor-4131.txt");
    EXPECT_EQ(d.format, DumpFormat::KvmIntel);
    EXPECT_EQ(d.state.cr0, 0x21u); // PE and NE, no paging: only with unrestricted guest
    EXPECT_EQ(d.state.eip, 0x111bfeu);
    EXPECT_EQ(d.state[Seg::GS].access_rights, 0xc093u);
    EXPECT_FALSE(d.known.contains(Field::Gdtr)); // cut inside the GDTR line
}

// --- Xen vmcs_dump_vcpu

TEST(XenDump, Drakvuf388Xenial3) {
    const Dump d = parse("drakvuf-388-xenial3.txt");
    EXPECT_EQ(d.format, DumpFormat::Xen);
    EXPECT_EQ(d.exit_reason, 0x80000021u);
    EXPECT_EQ(d.state.cr0, 0x8005003bu);
    EXPECT_EQ(d.cr0_shadow, 0x80050033u);
    EXPECT_EQ(d.state.eflags, 0x6u);
    EXPECT_EQ(d.state[Seg::CS].selector, 0x10);
    EXPECT_EQ(d.state[Seg::CS].access_rights, 0xa09bu);
    EXPECT_EQ(d.state[Seg::SS].selector, 0x18);
    EXPECT_TRUE(ar::unusable(d.state[Seg::DS].access_rights)); // attr 1c000
    EXPECT_EQ(d.state[Seg::FS].base, 0x7f3d6b8cd700u);
    EXPECT_EQ(d.state[Seg::GS].base, 0xffff88001f400000u);
    EXPECT_EQ(d.state.gdtr.limit, 0x7fu);
    EXPECT_EQ(d.state.gdtr.base, 0xffff88001f40c000u);
    EXPECT_TRUE(ar::unusable(d.state.ldtr.access_rights));
    EXPECT_FALSE(d.known.contains(Field::Idtr)); // cut inside the IDTR line
    EXPECT_FALSE(d.known.contains(Field::Tr));
}

TEST(XenDump, Drakvuf388Xenial2) {
    const Dump d = parse("drakvuf-388-xenial2.txt");
    EXPECT_EQ(d.format, DumpFormat::Xen);
    EXPECT_EQ(d.state.eflags, 0x82u);
    EXPECT_EQ(d.state.cr3, 0x800000001a02f080u);
    EXPECT_EQ(d.state[Seg::FS].base, 0x7fdb9d9c2700u);
}

TEST(XenDump, EferWithVmcsSuffix) {
    const Dump d = parse_dump("(XEN) CR0: actual=0x0000000080050033, shadow=0x0000000080050033\n"
                              "(XEN) RFLAGS=0x00000002 (0x00000002)  DR7 = 0x0000000000000400\n"
                              "(XEN)   CS: 0010 0a09b ffffffff 0000000000000000\n"
                              "(XEN) EFER(VMCS) = 0x0000000000000d01  PAT = 0x0007040600070406\n");
    EXPECT_EQ(d.format, DumpFormat::Xen);
    EXPECT_TRUE(d.known.contains(Field::Efer));
    EXPECT_EQ(d.state.efer, 0xd01u);
    EXPECT_EQ(d.state.msrs.pat, 0x0007040600070406u);
}

// --- QEMU register dumps

TEST(QemuDump, Edk2_23FlagsBecomeAccessRights) {
    const Dump d = parse("edk2-23.txt");
    EXPECT_EQ(d.format, DumpFormat::Qemu);
    EXPECT_EQ(d.state.eip, 0x1000u);
    EXPECT_EQ(d.state.eflags, 0x10002u);
    EXPECT_EQ(d.state[Gpr::EAX], 0x23u);
    EXPECT_EQ(d.state[Gpr::EDI], 0x1fc2u);
    EXPECT_EQ(d.state[Seg::CS].selector, 0x9f00);
    EXPECT_EQ(d.state[Seg::CS].base, 0x9f000u);
    EXPECT_EQ(d.state[Seg::CS].limit, 0xffffu);
    EXPECT_EQ(d.state[Seg::CS].access_rights, 0x9bu); // flags 00009b00
    EXPECT_EQ(d.state.ldtr.access_rights, 0x82u);     // flags 00008200
    EXPECT_EQ(d.state.tr.access_rights, 0x8bu);
    EXPECT_EQ(d.state.gdtr.base, 0xbff13f18u);
    EXPECT_EQ(d.state.gdtr.limit, 0x3fu);
    EXPECT_EQ(d.state.idtr.limit, 0xffffu);
    EXPECT_EQ(d.state.cr0, 0x33u);
    EXPECT_TRUE(d.known.contains(Field::Cr0));
    EXPECT_FALSE(d.known.contains(Field::Cr0Vmcs)); // QEMU shows the guest's CR0
    EXPECT_FALSE(d.known.contains(Field::Interruptibility));
    EXPECT_TRUE(d.known.contains(Field::Activity)); // HLT=0
    EXPECT_TRUE(d.known.contains(Field::Efer));
}

TEST(QemuDump, Systemd35885NotPresentMeansUnusable) {
    const Dump d = parse("systemd-35885.txt");
    EXPECT_EQ(d.format, DumpFormat::Qemu);
    EXPECT_EQ(d.exit_reason, 0xffffffffu);
    // G = 1 and P = 1: flags 00809300.
    EXPECT_EQ(d.state[Seg::CS].access_rights, 0x8093u);
    EXPECT_EQ(d.state[Seg::CS].base, 0x7eff9000u);
    // "LDT=0000 00000000 00000000 00000000": no P, so unusable.
    EXPECT_EQ(d.state.ldtr.access_rights, ar::kUnusable);
    EXPECT_EQ(d.state.tr.limit, 0x4087u);
    EXPECT_EQ(d.state.cr0, 0x50032u);
    EXPECT_EQ(d.state.cr2, 0x2ee01000u);
    EXPECT_EQ(d.state.cr3, 0x1ee002u);
    // A link pasted into the GDT line: left out, and said so.
    EXPECT_FALSE(d.known.contains(Field::Gdtr));
    EXPECT_TRUE(d.known.contains(Field::Idtr));
    bool noted = false;
    for (const std::string& note : d.notes)
        noted = noted || note.find("GDT") != std::string::npos;
    EXPECT_TRUE(noted);
}

TEST(QemuDump, Xqemu270CutBeforeTheControlRegisters) {
    const Dump d = parse("xqemu-270.txt");
    EXPECT_EQ(d.format, DumpFormat::Qemu);
    EXPECT_EQ(d.exit_reason, 0x80000021u);
    EXPECT_EQ(d.state.eflags, 0x86u);
    EXPECT_EQ(d.state[Gpr::EAX], 0x80000802u);
    EXPECT_EQ(d.state[Seg::CS].access_rights, 0xc09bu);
    EXPECT_EQ(d.state[Seg::FS].limit, 0xffffu);
    EXPECT_EQ(d.state[Seg::FS].access_rights, 0x93u);
    EXPECT_FALSE(d.known.contains(Field::Gs));
    EXPECT_FALSE(d.known.contains(Field::Cr0));
}

TEST(QemuDump, Edk2_91BlankLinesAndStrayText) {
    const Dump d = parse("edk2-91-qemu.txt");
    EXPECT_EQ(d.format, DumpFormat::Qemu);
    EXPECT_EQ(d.state.eip, 0x8000u);
    EXPECT_EQ(d.state[Seg::CS].selector, 0xc000);
    EXPECT_EQ(d.state[Seg::CS].base, 0x7ffc0000u);
    EXPECT_EQ(d.state.ldtr.limit, 0xfffffu);
    EXPECT_TRUE(ar::unusable(d.state.ldtr.access_rights));
    EXPECT_EQ(d.state.tr.base, 0xc3f2b070u);
    EXPECT_FALSE(d.known.contains(Field::Gdtr));
}

TEST(QemuDump, CoconutSvsm1081LongMode) {
    const Dump d = parse("coconut-svsm-1081-qemu.txt");
    EXPECT_EQ(d.format, DumpFormat::Qemu);
    EXPECT_EQ(d.exit_reason, 0u);                       // "hardware error 0x0"
    EXPECT_EQ(d.state[Seg::CS].access_rights, 0xa09bu); // CS64: L = 1
    EXPECT_EQ(d.rip, 0xffffff800004ddf7u);
    EXPECT_FALSE(d.known.contains(Field::Rip));
}

// --- The same state in the three formats

TEST(DumpFormats, PeEntryStateReadsTheSameInEveryFormat) {
    const Dump k = parse("pe_entry-after-mov-cr0.kvm_intel.txt");
    const Dump x = parse("pe_entry-after-mov-cr0.xen.txt");
    const Dump q = parse("pe_entry-after-mov-cr0.qemu.txt");
    EXPECT_EQ(k.format, DumpFormat::KvmIntel);
    EXPECT_EQ(x.format, DumpFormat::Xen);
    EXPECT_EQ(q.format, DumpFormat::Qemu);
    for (const Dump* d : {&x, &q}) {
        EXPECT_EQ(d->state.seg, k.state.seg);
        EXPECT_EQ(d->state.ldtr, k.state.ldtr);
        EXPECT_EQ(d->state.tr, k.state.tr);
        EXPECT_EQ(d->state.gdtr, k.state.gdtr);
        EXPECT_EQ(d->state.idtr, k.state.idtr);
        EXPECT_EQ(d->state.cr0, k.state.cr0);
        EXPECT_EQ(d->state.eflags, k.state.eflags);
        EXPECT_EQ(d->state.eip, k.state.eip);
    }
    // The values transit86 had after `mov cr0, eax` (transit86 step ... --json).
    EXPECT_EQ(k.state.cr0, 0x60000011u);
    EXPECT_EQ(k.state[Seg::SS].selector, 0x1235);
    EXPECT_EQ(k.state[Seg::SS].base, 0x12350u);
    EXPECT_EQ(k.state[Seg::DS].selector, 0x07c3);
    EXPECT_EQ(k.state.tr.access_rights, 0x82u);
    EXPECT_EQ(x.controls.secondary_exec, k.controls.secondary_exec);
    EXPECT_EQ(x.controls.entry_controls, k.controls.entry_controls);
}

// --- What cannot be read

TEST(DumpErrors, EmptyInput) {
    EXPECT_THROW(parse_dump(""), DumpError);
    EXPECT_THROW(parse_dump("\n   \n# only a comment\n"), DumpError);
}

TEST(DumpErrors, TextWithoutADump) {
    try {
        parse_dump("Lorem ipsum dolor sit amet\nKVM: entry failed, hardware error 0x80000021\n");
        FAIL() << "no dump in the text";
    } catch (const DumpError& e) {
        EXPECT_NE(std::string(e.what()).find("no register dump found"), std::string::npos);
    }
}

TEST(DumpErrors, SecondHalfOfADumpHasNothingToJudge) {
    try {
        parse("dosemu2-1274-tail.txt");
        FAIL() << "LDTR, TR and EFER alone cannot be judged";
    } catch (const DumpError& e) {
        EXPECT_NE(std::string(e.what()).find("no guest segment registers"), std::string::npos);
    }
}

TEST(DumpErrors, HeaderOnly) {
    EXPECT_THROW(parse_dump("[ 1.0] kvm_intel: *** Guest State ***\n"), DumpError);
}

} // namespace
} // namespace transit86::tools::explain
