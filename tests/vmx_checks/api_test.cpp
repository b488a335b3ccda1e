// The table as data: ids, order, documentation, and the profiles around it.
#include "states.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace transit86::vmx::test {
namespace {

// Ids are a stable interface (traces, JSON output, corpus goldens name them) and the order is
// KVM's order (the first failing row is where KVM stops). Changing either must be deliberate.
TEST(KvmTable, IdsAndOrderAreStable) {
    std::vector<std::string_view> ids;
    for (const Check& row : checks(Profile::Kvm))
        ids.push_back(row.id);
    const std::vector<std::string_view> expected = {
        // rmode_segment_valid for CS, SS, DS, ES, FS, GS
        "rmode.cs.base", "rmode.cs.limit", "rmode.cs.usable", "rmode.cs.s", "rmode.cs.avl-l-db-g",
        "rmode.ss.base", "rmode.ss.limit", "rmode.ss.usable", "rmode.ss.type", "rmode.ss.s",
        "rmode.ss.avl-l-db-g", "rmode.ds.base", "rmode.ds.limit", "rmode.ds.usable",
        "rmode.ds.type", "rmode.ds.s", "rmode.ds.avl-l-db-g", "rmode.es.base", "rmode.es.limit",
        "rmode.es.usable", "rmode.es.type", "rmode.es.s", "rmode.es.avl-l-db-g", "rmode.fs.base",
        "rmode.fs.limit", "rmode.fs.usable", "rmode.fs.type", "rmode.fs.s", "rmode.fs.avl-l-db-g",
        "rmode.gs.base", "rmode.gs.limit", "rmode.gs.usable", "rmode.gs.type", "rmode.gs.s",
        "rmode.gs.avl-l-db-g",
        // cs_ss_rpl_check, code_segment_valid, stack_segment_valid
        "ss.rpl-eq-cs.rpl", "cs.usable", "cs.type", "cs.s", "cs.dpl-eq-rpl", "cs.dpl-le-rpl",
        "ss.type", "ss.s", "ss.dpl-eq-rpl",
        // data_segment_valid for DS, ES, FS, GS
        "ds.s", "ds.dpl-ge-rpl", "es.s", "es.dpl-ge-rpl", "fs.s", "fs.dpl-ge-rpl", "gs.s",
        "gs.dpl-ge-rpl",
        // tr_valid, ldtr_valid
        "tr.usable", "tr.ti", "tr.type", "ldtr.ti", "ldtr.type"};
    EXPECT_EQ(ids, expected);
}

TEST(KvmTable, EveryRowIsComplete) {
    std::set<std::string_view> seen;
    for (const Check& row : checks(Profile::Kvm)) {
        SCOPED_TRACE(row.id);
        EXPECT_TRUE(seen.insert(row.id).second) << "duplicate id";
        EXPECT_EQ(row.section, "26.3.1.2");
        EXPECT_EQ(row.origin.substr(0, 4), "KVM ");
        EXPECT_FALSE(row.rule.empty());
        EXPECT_NE(row.passes, nullptr);
        EXPECT_NE(row.describe, nullptr);
        const bool real_branch = row.id.substr(0, 6) == "rmode.";
        EXPECT_EQ(row.scope, real_branch ? Scope::RealOrV86 : Scope::Protected);
        EXPECT_EQ(row.origin == "KVM rmode_segment_valid", real_branch);
        EXPECT_EQ(find_check(Profile::Kvm, row.id), &row);
    }
    EXPECT_EQ(find_check(Profile::Kvm, "no.such.check"), nullptr);
}

// docs/checks.md is written by hand from the table; this keeps the two in step: every row
// appears there with its id, scope and rule, and nothing else claims to be a kvm row.
TEST(KvmTable, DocsListEveryRow) {
    std::ifstream in(std::string(TRANSIT86_SOURCE_DIR) + "/docs/checks.md");
    ASSERT_TRUE(in) << "docs/checks.md not found";
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> kvm_lines;
    std::string line;
    while (std::getline(text, line))
        if (line.find("| kvm |") != std::string::npos) kvm_lines.push_back(line);
    const std::span<const Check> rows = checks(Profile::Kvm);
    ASSERT_EQ(kvm_lines.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        SCOPED_TRACE(rows[i].id);
        const std::string& doc = kvm_lines[i];
        EXPECT_NE(doc.find("`" + std::string(rows[i].id) + "`"), std::string::npos) << doc;
        EXPECT_NE(doc.find("| " + std::string(to_string(rows[i].scope)) + " |"), std::string::npos)
            << doc;
        EXPECT_NE(doc.find(std::string(rows[i].rule)), std::string::npos) << doc;
    }
}

TEST(Profiles, NamesRoundTrip) {
    for (Profile p : {Profile::Kvm, Profile::Sdm, Profile::Unrestricted})
        EXPECT_EQ(parse_profile(to_string(p)), p);
    EXPECT_EQ(to_string(Profile::Kvm), "kvm");
    EXPECT_EQ(to_string(Profile::Sdm), "sdm");
    EXPECT_EQ(to_string(Profile::Unrestricted), "unrestricted");
    EXPECT_EQ(parse_profile("KVM"), Profile::Kvm);
    EXPECT_EQ(parse_profile("Unrestricted"), Profile::Unrestricted);
    EXPECT_EQ(parse_profile(""), std::nullopt);
    EXPECT_EQ(parse_profile("kv"), std::nullopt);
    EXPECT_EQ(parse_profile("kvmx"), std::nullopt);
    EXPECT_EQ(to_string(Scope::Always), "always");
    EXPECT_EQ(to_string(Scope::RealOrV86), "real-or-v86");
    EXPECT_EQ(to_string(Scope::Protected), "protected");
    EXPECT_EQ(to_string(Scope::V86), "v86");
    EXPECT_EQ(to_string(Scope::NotV86), "not-v86");
}

// Profile::Unrestricted is the sdm table judged with the "unrestricted guest" control forced
// on, whatever the context says. (KVM's own check with that control accepts every state, so it
// needs no profile of its own.)
TEST(Profiles, UnrestrictedIsSdmWithTheControlSet) {
    EXPECT_EQ(checks(Profile::Unrestricted).data(), checks(Profile::Sdm).data());
    EXPECT_EQ(checks(Profile::Unrestricted).size(), checks(Profile::Sdm).size());
    EXPECT_TRUE(effective_context(Profile::Unrestricted, {}).unrestricted_guest);
    EXPECT_FALSE(effective_context(Profile::Sdm, {}).unrestricted_guest);
    EXPECT_TRUE(effective_context(Profile::Sdm, with_unrestricted_guest()).unrestricted_guest);
    for (const CpuState& s : {real_mode(), flat_protected(), paged_protected(), intel_reset(),
                              kvm_reset(), v86_task()}) {
        EXPECT_EQ(is_valid(s, Profile::Unrestricted),
                  is_valid(s, Profile::Sdm, with_unrestricted_guest()));
        EXPECT_EQ(failing_ids(s, Profile::Unrestricted),
                  failing_ids(s, Profile::Sdm, with_unrestricted_guest()));
    }
    // Real mode and unpaged protected mode run as they are...
    EXPECT_TRUE(valid(real_mode(), Profile::Unrestricted));
    EXPECT_TRUE(valid(flat_protected(), Profile::Unrestricted));
    // ...which the processor refuses without the control (CR0.PE and CR0.PG in FIXED0).
    EXPECT_TRUE(fails_only(real_mode(), "sdm.cr0.fixed0", Profile::Sdm));
    EXPECT_TRUE(fails_only(flat_protected(), "sdm.cr0.fixed0", Profile::Sdm));
    EXPECT_TRUE(valid(paged_protected(), Profile::Sdm));
    EXPECT_EQ(find_check(Profile::Unrestricted, "cs.type"), nullptr);
    EXPECT_NE(find_check(Profile::Unrestricted, "sdm.cs.type"), nullptr);
}

// The overloads without a context use VmxContext{}; kvm ignores the context altogether.
TEST(Profiles, DefaultContextAndKvmIgnoresContext) {
    VmxContext odd = with_unrestricted_guest();
    odd.entry_interruption_info = injection::make(injection::Type::Nmi, 7);
    odd.cr0_fixed0 = 0xFFFFFFFF;
    for (const CpuState& s : {real_mode(), flat_protected(), intel_reset(), v86_task()}) {
        for (Profile p : {Profile::Kvm, Profile::Sdm, Profile::Unrestricted}) {
            EXPECT_EQ(is_valid(s, p), is_valid(s, p, VmxContext{}));
            EXPECT_EQ(first_failure(s, p), first_failure(s, p, VmxContext{}));
            EXPECT_EQ(failing_ids(s, p), failing_ids(s, p, VmxContext{}));
        }
        EXPECT_EQ(failing_ids(s, Profile::Kvm), failing_ids(s, Profile::Kvm, odd));
    }
}

TEST(Scopes, FollowKvmsBranchTest) {
    CpuState s = real_mode();
    EXPECT_TRUE(in_scope(Scope::RealOrV86, s));
    EXPECT_FALSE(in_scope(Scope::Protected, s));
    s.eflags |= flags::VM; // VM without PE: still the real-mode branch
    EXPECT_TRUE(in_scope(Scope::RealOrV86, s));
    s.cr0 |= cr0::PE; // virtual-8086
    EXPECT_TRUE(in_scope(Scope::RealOrV86, s));
    s.eflags &= ~flags::VM; // protected mode
    EXPECT_TRUE(in_scope(Scope::Protected, s));
    EXPECT_FALSE(in_scope(Scope::RealOrV86, s));
    EXPECT_TRUE(in_scope(Scope::Always, s));
}

// The SDM's scopes read RFLAGS.VM alone: "the guest will be virtual-8086".
TEST(Scopes, SdmScopesFollowRflagsVm) {
    CpuState s = real_mode();
    EXPECT_TRUE(in_scope(Scope::NotV86, s));
    EXPECT_FALSE(in_scope(Scope::V86, s));
    s.eflags |= flags::VM; // VM without PE (itself invalid: sdm.rflags.vm)
    EXPECT_TRUE(in_scope(Scope::V86, s));
    s = v86_task();
    EXPECT_TRUE(in_scope(Scope::V86, s));
    EXPECT_TRUE(in_scope(Scope::RealOrV86, s));
    s = paged_protected();
    EXPECT_TRUE(in_scope(Scope::NotV86, s));
    EXPECT_TRUE(in_scope(Scope::Protected, s));
}

} // namespace
} // namespace transit86::vmx::test
