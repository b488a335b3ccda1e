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
}

// KVM __vmx_guest_state_valid is only called without unrestricted guest; with it,
// vmx_guest_state_valid() is true for any state. The profile has no rows.
TEST(Profiles, UnrestrictedAcceptsEveryState) {
    EXPECT_TRUE(checks(Profile::Unrestricted).empty());
    CpuState garbage = intel_reset();
    garbage.cr0 |= cr0::PE;
    garbage.tr.access_rights = kUnusable;
    garbage[Seg::SS].selector = 0x1235;
    EXPECT_FALSE(is_valid(garbage, Profile::Kvm));
    EXPECT_TRUE(valid(garbage, Profile::Unrestricted));
    EXPECT_TRUE(valid(real_mode(), Profile::Unrestricted));
    EXPECT_EQ(find_check(Profile::Unrestricted, "cs.type"), nullptr);
}

// The SDM profile is not implemented: it must say so rather than call anything valid.
TEST(Profiles, SdmReportsNotImplemented) {
    ASSERT_EQ(checks(Profile::Sdm).size(), 1u);
    EXPECT_EQ(checks(Profile::Sdm)[0].id, "sdm.not-implemented");
    EXPECT_EQ(checks(Profile::Sdm)[0].scope, Scope::Always);
    for (const CpuState& s : {flat_protected(), real_mode(), intel_reset()}) {
        EXPECT_TRUE(fails_only(s, "sdm.not-implemented", Profile::Sdm));
        EXPECT_NE(message_of(s, "sdm.not-implemented", Profile::Sdm).find("not implemented"),
                  std::string::npos);
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

} // namespace
} // namespace transit86::vmx::test
