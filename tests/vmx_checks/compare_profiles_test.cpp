// compare_profiles(): where KVM's guest_state_valid() and the processor's VM-entry checks
// disagree, and what KVM approximates there.
#include "states.hpp"

#include <gmock/gmock.h>

#include <algorithm>

namespace transit86::vmx::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// "kvm:rmode.ds.limit", "sdm:sdm.cr0.fixed0": one string per divergence, in order.
std::vector<std::string> divergences(const CpuState& s, const VmxContext& ctx = {}) {
    std::vector<std::string> out;
    for (const Divergence& d : compare_profiles(s, ctx))
        out.push_back(std::string(to_string(d.failing_in)) + ":" + std::string(d.check->id));
    return out;
}

// The one divergence (a copy: callers pass temporaries).
Divergence only(const std::vector<Divergence>& all) {
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? Divergence{Profile::Kvm, nullptr, "(none)", {}} : all.front();
}

TEST(CompareProfiles, NothingWhenBothAccept) {
    EXPECT_THAT(divergences(paged_protected()), IsEmpty());
    EXPECT_THAT(divergences(v86_task()), IsEmpty());
}

// Both refuse for the same reasons (stale SS selector with RPL 1): rows agree, no divergence.
TEST(CompareProfiles, NothingWhenBothRefuseForTheSameRule) {
    CpuState s = paged_protected();
    s[Seg::SS] = real_segment(0x1235);
    EXPECT_FALSE(is_valid(s, Profile::Kvm));
    EXPECT_FALSE(is_valid(s, Profile::Sdm));
    EXPECT_THAT(divergences(s), IsEmpty());
    // KVM's CS.DPL = CS.RPL stands for the SDM's CS.DPL = SS.DPL.
    s = paged_protected();
    s[Seg::CS].access_rights = 0xC0FB;
    EXPECT_THAT(failing_ids(s, Profile::Kvm), ElementsAre("cs.dpl-eq-rpl"));
    EXPECT_THAT(failing_ids(s, Profile::Sdm), ElementsAre("sdm.cs.dpl-eq-ss.dpl"));
    EXPECT_THAT(divergences(s), IsEmpty());
}

// Unpaged protected mode: KVM runs it (with PE, PG, NE set behind the guest's back); the
// processor alone would refuse CR0.PG = 0.
TEST(CompareProfiles, KvmHidesCr0FixedBits) {
    const std::vector<Divergence> all = compare_profiles(flat_protected());
    const Divergence d = only(all);
    EXPECT_EQ(d.failing_in, Profile::Sdm);
    EXPECT_EQ(d.check->id, "sdm.cr0.fixed0");
    EXPECT_THAT(d.message, HasSubstr("PG (bit 31)"));
    EXPECT_THAT(std::string(d.note), HasSubstr("read shadow"));
}

// Reserved access-rights bits: KVM never looks at them.
TEST(CompareProfiles, KvmIgnoresReservedAccessRightsBits) {
    CpuState s = paged_protected();
    s[Seg::DS].access_rights |= 0x0100;
    EXPECT_TRUE(is_valid(s, Profile::Kvm));
    const Divergence d = only(compare_profiles(s));
    EXPECT_EQ(d.failing_in, Profile::Sdm);
    EXPECT_EQ(d.check->id, "sdm.ds.ar.reserved");
    EXPECT_EQ(d.message, message_of(s, "sdm.ds.ar.reserved", Profile::Sdm));
    EXPECT_THAT(std::string(d.note), HasSubstr("reserved"));
}

// Unreal mode: KVM refuses it (vm86 cannot hold a 4 GiB limit) where unrestricted-guest
// hardware runs it as is; without unrestricted guest the processor refuses real mode itself.
TEST(CompareProfiles, UnrealModeIsAKvmRefusal) {
    CpuState s = real_mode();
    s[Seg::DS] = segment(0x0000, 0, 0xFFFFFFFF, 0xC093);
    EXPECT_THAT(divergences(s, with_unrestricted_guest()),
                ElementsAre("kvm:rmode.ds.limit", "kvm:rmode.ds.avl-l-db-g"));
    EXPECT_THAT(divergences(s),
                ElementsAre("kvm:rmode.ds.limit", "kvm:rmode.ds.avl-l-db-g", "sdm:sdm.cr0.fixed0"));
    const Divergence limit = compare_profiles(s).front();
    EXPECT_EQ(limit.failing_in, Profile::Kvm);
    EXPECT_THAT(std::string(limit.note), HasSubstr("unreal mode"));
    EXPECT_EQ(limit.message,
              "DS limit 0xffffffff != 0xffff (a protected-mode limit kept in real mode: unreal "
              "mode)");
}

// CS's unusable bit: KVM refuses, the processor ignores it.
TEST(CompareProfiles, UnusableCsIsAKvmRefusal) {
    CpuState s = paged_protected();
    s[Seg::CS].access_rights |= kUnusable;
    const Divergence d = only(compare_profiles(s));
    EXPECT_EQ(d.failing_in, Profile::Kvm);
    EXPECT_EQ(d.check->id, "cs.usable");
    EXPECT_THAT(std::string(d.note), HasSubstr("ignores CS's unusable bit"));
}

// An unusable SS with DPL != RPL: KVM's stack_segment_valid returns early, the processor checks.
TEST(CompareProfiles, UnusableSsDplIsAnSdmRefusal) {
    CpuState s = paged_protected();
    s[Seg::CS].access_rights = 0xC09F;
    s[Seg::SS] = segment(0x00, 0, 0, kUnusable | 0x60);
    const Divergence d = only(compare_profiles(s));
    EXPECT_EQ(d.failing_in, Profile::Sdm);
    EXPECT_EQ(d.check->id, "sdm.ss.dpl-eq-rpl");
    EXPECT_THAT(std::string(d.note), HasSubstr("unusable"));
}

// The Intel reset state: KVM emulates from the reset vector (CS base is not F000 << 4); the
// processor with unrestricted guest refuses TR's LDT type, which KVM's real-mode branch never
// looks at.
TEST(CompareProfiles, IntelResetDisagreesBothWays) {
    EXPECT_THAT(divergences(intel_reset(), with_unrestricted_guest()),
                ElementsAre("kvm:rmode.cs.base", "sdm:sdm.tr.type"));
}

// Every counterpart names a row of the other profile; every kvm row but cs.usable has one.
TEST(CompareProfiles, CounterpartsNameRealRows) {
    for (const Check& row : checks(Profile::Kvm)) {
        SCOPED_TRACE(row.id);
        const std::vector<std::string_view> peers = counterparts(row);
        EXPECT_EQ(peers.empty(), row.id == "cs.usable");
        for (std::string_view id : peers)
            EXPECT_NE(find_check(Profile::Sdm, id), nullptr) << id;
        EXPECT_FALSE(row.kvm_note.empty());
    }
    std::size_t paired = 0;
    for (const Check& row : checks(Profile::Sdm)) {
        for (std::string_view id : counterparts(row)) {
            EXPECT_NE(find_check(Profile::Kvm, id), nullptr) << row.id << " -> " << id;
            const std::vector<std::string_view> back = counterparts(*find_check(Profile::Kvm, id));
            EXPECT_NE(std::find(back.begin(), back.end(), row.id), back.end());
        }
        paired += counterparts(row).empty() ? 0 : 1;
    }
    EXPECT_EQ(paired, 39u); // the rules both profiles test; the other 89 sdm rows are KVM gaps
}

} // namespace
} // namespace transit86::vmx::test
