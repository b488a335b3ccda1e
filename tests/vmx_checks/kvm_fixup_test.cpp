// kvm_fixup(): KVM with emulate_invalid_guest_state=0 patches the segment registers when CR0.PE
// changes (fix_rmode_seg, fix_pmode_seg) and enters the guest with the result. Each test builds
// the state at the CR0 write and checks the VMCS image and the list of changes.
#include "states.hpp"

#include "transit86/kvm_fixup.hpp"

#include <gmock/gmock.h>

#include <algorithm>

namespace transit86::vmx::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const FixupChange* find_change(const FixupReport& r, std::string_view reg, std::string_view field) {
    for (const FixupChange& c : r.changes)
        if (c.reg == reg && c.field == field) return &c;
    return nullptr;
}
// The result points into the report: a temporary report would leave it dangling.
const FixupChange* find_change(FixupReport&& r, std::string_view reg,
                               std::string_view field) = delete;

std::vector<std::string> visible(const FixupReport& r) {
    std::vector<std::string> out;
    for (const FixupChange* c : r.guest_visible_changes())
        out.push_back(std::string(c->reg) + " " + std::string(c->field));
    return out;
}

// fix_rmode_seg: selector := base >> 4, base := base & 0xFFFF0, limit 0xFFFF, AR 0xF3; KVM's own
// TSS in TR; RFLAGS.VM and IOPL 3; PE, PG, NE in CR0; identity map in CR3 with EPT.
TEST(KvmFixup, RealModeBecomesVirtual8086) {
    const FixupReport r = kvm_fixup(real_mode());
    EXPECT_EQ(r.path, FixupPath::RealMode);
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        const SegmentCache& g = r.vmcs[seg];
        EXPECT_EQ(g.selector, real_mode()[seg].selector);
        EXPECT_EQ(g.base, real_mode()[seg].base);
        EXPECT_EQ(g.limit, 0xFFFFu);
        EXPECT_EQ(g.access_rights, 0xF3u);
    }
    EXPECT_EQ(r.vmcs.tr.base, 0xFEFFD000u);
    EXPECT_EQ(r.vmcs.tr.limit, 0x2088u);
    EXPECT_EQ(r.vmcs.tr.access_rights, 0x8Bu);
    EXPECT_EQ(r.vmcs.eflags, flags::Fixed1 | flags::IOPL | flags::VM);
    EXPECT_EQ(r.vmcs.cr0, 0x80000031u); // ET, NE, PE, PG; CD and NW cleared
    EXPECT_EQ(r.vmcs.cr3, 0xFEFFC000u);
    EXPECT_EQ(r.vmcs.cr4, 0x2011u); // VME, PSE (identity map), VMXE
    EXPECT_THAT(r.unaligned_bases, IsEmpty());
    // KVM's image passes the processor's checks: no KVM_EXIT_FAIL_ENTRY.
    EXPECT_THAT(r.entry_failures, IsEmpty());
    EXPECT_TRUE(is_valid(r.vmcs, Profile::Kvm));
    // What the guest can tell: PUSHF now shows IOPL 3. Code, data types and DPLs are hidden.
    EXPECT_THAT(visible(r), ElementsAre("RFLAGS value"));
    EXPECT_THAT(find_change(r, "RFLAGS", "value")->why, HasSubstr("IOPL 0 -> 3"));
}

// Unreal mode: the hardware segment is 64 KiB again. Accesses past it fault and KVM emulates
// them with its saved 4 GiB limit (handle_rmode_exception), so unreal mode survives, slowly.
TEST(KvmFixup, UnrealModeLimitIsCutToSixtyFourKiB) {
    CpuState s = real_mode();
    s[Seg::DS] = segment(0x0000, 0, 0xFFFFFFFF, 0xC093);
    s[Seg::SS] = segment(0x0030, 0x300, 0xFFFFFFFF, 0xC093); // big stack: B = 1
    const FixupReport r = kvm_fixup(s);
    EXPECT_EQ(r.vmcs[Seg::DS].limit, 0xFFFFu);
    const FixupChange* limit = find_change(r, "DS", "limit");
    ASSERT_NE(limit, nullptr);
    EXPECT_EQ(limit->before, 0xFFFFFFFFu);
    EXPECT_EQ(limit->after, 0xFFFFu);
    EXPECT_FALSE(limit->guest_visible);
    EXPECT_THAT(limit->why, HasSubstr("DS limit 0xffffffff -> 0xffff: unreal mode is lost in "
                                      "hardware"));
    EXPECT_THAT(limit->why, HasSubstr("#GP(0)"));
    EXPECT_THAT(find_change(r, "SS", "limit")->why, HasSubstr("#SS(0)"));
    // The DS access rights lose G and D/B: hidden, the limit says what G meant.
    EXPECT_FALSE(find_change(r, "DS", "access rights")->guest_visible);
    // SS.B = 1 -> 0 is not hidden: pushes and pops use SP instead of ESP.
    const FixupChange* ss = find_change(r, "SS", "access rights");
    ASSERT_NE(ss, nullptr);
    EXPECT_TRUE(ss->guest_visible);
    EXPECT_THAT(ss->why, HasSubstr("SP instead of ESP"));
}

// A base that is not selector x 16 (loaded in protected mode, not paragraph aligned): KVM
// derives a selector from it and drops the low bits; accesses move.
TEST(KvmFixup, NonParagraphBaseMovesTheSegment) {
    CpuState s = real_mode();
    s[Seg::ES] = segment(0x0010, 0x12345, 0xFFFF, 0x93);
    const FixupReport r = kvm_fixup(s);
    EXPECT_THAT(r.unaligned_bases, ElementsAre(Seg::ES));
    EXPECT_EQ(r.vmcs[Seg::ES].selector, 0x1234);
    EXPECT_EQ(r.vmcs[Seg::ES].base, 0x12340u);
    EXPECT_THAT(visible(r), ElementsAre("ES selector", "ES base", "RFLAGS value"));
    EXPECT_THAT(find_change(r, "ES", "base")->why,
                HasSubstr("ES base 0x12345 -> 0x12340: not paragraph aligned"));
    EXPECT_THAT(find_change(r, "ES", "selector")->why, HasSubstr("0x0010 -> 0x1234"));
}

// The reset state: CS base FFFF0000 keeps selector F000 but moves below 1 MiB (F0000); the
// power-up TR (0x82) is replaced by KVM's TSS, so the image is valid.
TEST(KvmFixup, ResetCsBaseMovesBelowOneMiB) {
    const FixupReport r = kvm_fixup(intel_reset());
    EXPECT_EQ(r.vmcs[Seg::CS].selector, 0xF000);
    EXPECT_EQ(r.vmcs[Seg::CS].base, 0xF0000u);
    const FixupChange* base = find_change(r, "CS", "base");
    ASSERT_NE(base, nullptr);
    EXPECT_TRUE(base->guest_visible);
    EXPECT_THAT(base->why, HasSubstr("above 1 MiB"));
    EXPECT_EQ(find_change(r, "CS", "selector"), nullptr); // unchanged
    EXPECT_THAT(r.entry_failures, IsEmpty());
}

// A 32-bit code segment kept in real mode ("big real" code) decodes differently in vm86.
TEST(KvmFixup, BigRealCodeLosesItsDefaultSize) {
    CpuState s = real_mode();
    s[Seg::CS].access_rights = 0x409B; // D = 1
    const FixupReport report = kvm_fixup(s);
    const FixupChange* cs = find_change(report, "CS", "access rights");
    ASSERT_NE(cs, nullptr);
    EXPECT_TRUE(cs->guest_visible);
    EXPECT_THAT(cs->why, HasSubstr("16-bit default operand and address size"));
}

// A limit below 64 KiB is widened: accesses that should fault go through.
TEST(KvmFixup, ShortLimitIsWidened) {
    CpuState s = real_mode();
    s[Seg::FS].limit = 0x0FFF;
    const FixupReport report = kvm_fixup(s);
    const FixupChange* limit = find_change(report, "FS", "limit");
    ASSERT_NE(limit, nullptr);
    EXPECT_TRUE(limit->guest_visible);
    EXPECT_THAT(limit->why, HasSubstr("no longer fault"));
}

// fix_pmode_seg right after CR0.PE is set with stale real-mode selectors: CS and SS lose their
// RPL bits, every DPL := RPL, S := 1. KVM then runs the guest without emulating.
TEST(KvmFixup, StaleRplsAreClearedWhenPeIsSet) {
    CpuState s = flat_protected();
    s[Seg::SS] = real_segment(0x1235);
    s[Seg::DS] = real_segment(0x07C3);
    ASSERT_FALSE(is_valid(s, Profile::Kvm));
    const FixupReport r = kvm_fixup(s);
    EXPECT_EQ(r.path, FixupPath::ProtectedMode);
    EXPECT_EQ(r.vmcs[Seg::SS].selector, 0x1234);
    EXPECT_EQ(r.vmcs[Seg::SS].access_rights, 0x93u); // DPL := RPL 0
    EXPECT_EQ(r.vmcs[Seg::DS].selector, 0x07C3);     // only CS and SS lose RPL bits
    EXPECT_EQ(r.vmcs[Seg::DS].access_rights, 0xF3u); // DPL := RPL 3
    EXPECT_THAT(visible(r), ElementsAre("SS selector"));
    EXPECT_THAT(find_change(r, "SS", "selector")->why, HasSubstr("0x1235 -> 0x1234"));
    EXPECT_THAT(find_change(r, "DS", "access rights")->why, HasSubstr("DPL 0 -> 3 (:= RPL)"));
    EXPECT_THAT(r.entry_failures, IsEmpty());
    EXPECT_TRUE(is_valid(r.vmcs, Profile::Kvm));
    EXPECT_EQ(r.vmcs.cr0, 0x80000031u); // PG and NE added behind the read shadow
    EXPECT_EQ(r.vmcs.cr4, 0x2010u);     // VMXE, PSE for the identity map
}

// SS.DPL is the CPL under VT-x: changing it is visible.
TEST(KvmFixup, SsDplChangeMovesTheCpl) {
    CpuState s = flat_protected();
    s[Seg::SS] = real_segment(0x0030, 0xF3); // a vm86-style cache left behind: DPL 3
    const FixupReport report = kvm_fixup(s);
    const FixupChange* ss = find_change(report, "SS", "access rights");
    ASSERT_NE(ss, nullptr);
    EXPECT_TRUE(ss->guest_visible);
    EXPECT_THAT(ss->why, HasSubstr("CPL"));
}

// fix_pmode_seg does not touch types or TR: from the Intel reset state, CS keeps its data type
// and TR its LDT type, so VM entry fails (KVM_EXIT_FAIL_ENTRY) instead of being emulated.
TEST(KvmFixup, IntelResetPlusPeFailsVmEntry) {
    CpuState s = intel_reset();
    s.cr0 |= cr0::PE;
    const FixupReport r = kvm_fixup(s);
    std::vector<std::string_view> ids;
    for (const Violation& v : r.entry_failures)
        ids.push_back(v.check->id);
    EXPECT_THAT(ids, ElementsAre("sdm.cs.type", "sdm.tr.type"));
}

// The guest's own virtual-8086 mode: KVM does not touch the segments.
TEST(KvmFixup, GuestV86KeepsItsSegments) {
    const FixupReport r = kvm_fixup(v86_task());
    EXPECT_EQ(r.path, FixupPath::GuestV86);
    for (const FixupChange& c : r.changes)
        EXPECT_TRUE(c.reg.substr(0, 2) == "CR") << c.reg << " " << c.field;
    EXPECT_THAT(r.entry_failures, IsEmpty());
    EXPECT_EQ(r.vmcs.cr4, 0x2020u); // paging on: PAE, VMXE
}

// Without EPT KVM shadows the page tables: WP is forced, CR3 is KVM's, PAE stays.
TEST(KvmFixup, ShadowPagingOptions) {
    KvmFixupOptions options;
    options.ept = false;
    const FixupReport r = kvm_fixup(real_mode(), options);
    EXPECT_EQ(r.vmcs.cr0, 0x80010031u);
    EXPECT_EQ(r.vmcs.cr3, real_mode().cr3);
    EXPECT_EQ(r.vmcs.cr4, 0x2021u); // VME, PAE, VMXE
    EXPECT_EQ(to_string(r.path), "real-mode");
}

} // namespace
} // namespace transit86::vmx::test
