// The sdm table as data and as rules: every row has a case (a passing state and a state that
// fails that row alone), every case passes and fails as it says, ids are stable, and
// docs/checks.md lists every row.
#include "sdm_cases.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace transit86::vmx::test {
namespace {

std::vector<RuleCase> all_cases() {
    std::vector<RuleCase> out = control_register_cases();
    for (auto more : {segment_register_cases(), non_register_cases()})
        out.insert(out.end(), more.begin(), more.end());
    return out;
}

const std::vector<RuleCase>& cases() {
    static const std::vector<RuleCase> kCases = all_cases();
    return kCases;
}

class SdmRule : public ::testing::TestWithParam<RuleCase> {};

// The passing state passes every row; the failing state fails this row and no other, on the
// fast path and in the report, with a message.
TEST_P(SdmRule, PassesAndFailsAlone) {
    const RuleCase& c = GetParam();
    EXPECT_TRUE(valid(c.passing, c.profile, c.passing_context));
    EXPECT_TRUE(fails_only(c.failing, c.id, c.profile, c.failing_context));
}

INSTANTIATE_TEST_SUITE_P(ById, SdmRule, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<RuleCase>& param_info) {
                             std::string name(param_info.param.id.substr(4)); // drop "sdm."
                             for (char& ch : name)
                                 if (ch == '.' || ch == '-') ch = '_';
                             return name;
                         });

TEST(SdmTable, EveryRowHasExactlyOneCase) {
    std::map<std::string_view, int> count;
    for (const RuleCase& c : cases())
        ++count[c.id];
    for (const Check& row : checks(Profile::Sdm)) {
        EXPECT_EQ(count[row.id], 1) << row.id;
        count.erase(row.id);
    }
    for (const auto& [id, n] : count)
        ADD_FAILURE() << "case for a row the table does not have: " << id;
}

TEST(SdmTable, EveryRowIsComplete) {
    std::set<std::string_view> seen;
    for (const Check& row : checks(Profile::Sdm)) {
        SCOPED_TRACE(row.id);
        EXPECT_TRUE(seen.insert(row.id).second) << "duplicate id";
        EXPECT_EQ(row.id.substr(0, 4), "sdm.");
        EXPECT_EQ(row.origin, "SDM " + std::string(row.section));
        EXPECT_TRUE(row.section.substr(0, 6) == "26.3.1" || row.section == "26.2.1.3");
        EXPECT_FALSE(row.rule.empty());
        EXPECT_FALSE(row.kvm_note.empty());
        EXPECT_NE(row.passes, nullptr);
        EXPECT_NE(row.describe, nullptr);
        EXPECT_TRUE(row.scope == Scope::Always || row.scope == Scope::V86 ||
                    row.scope == Scope::NotV86);
        EXPECT_EQ(find_check(Profile::Sdm, row.id), &row);
        EXPECT_EQ(find_check(Profile::Unrestricted, row.id), &row);
    }
}

// Ids are a stable interface; the order is the SDM's (26.3.1.1 .. 26.3.1.6, then 26.2.1.3).
TEST(SdmTable, SectionsComeInSdmOrder) {
    const std::vector<std::string_view> order = {"26.3.1.1", "26.3.1.2", "26.3.1.3", "26.3.1.4",
                                                 "26.3.1.5", "26.3.1.6", "26.2.1.3"};
    std::size_t at = 0;
    for (const Check& row : checks(Profile::Sdm)) {
        while (at < order.size() && order[at] != row.section)
            ++at;
        ASSERT_LT(at, order.size()) << row.id << " out of order";
    }
    EXPECT_EQ(checks(Profile::Sdm).size(), 129u);
    EXPECT_EQ(checks(Profile::Sdm).front().id, "sdm.cr0.fixed0");
    EXPECT_EQ(checks(Profile::Sdm).back().id, "sdm.entry-intr.instruction-length");
}

std::vector<std::string> doc_lines_with(std::string_view marker) {
    std::ifstream in(std::string(TRANSIT86_SOURCE_DIR) + "/docs/checks.md");
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> out;
    std::string line;
    while (std::getline(text, line))
        if (line.find(marker) != std::string::npos) out.push_back(line);
    return out;
}

// docs/checks.md is written by hand from the table; every sdm row appears there, in order, with
// its id, scope, section and rule.
TEST(SdmTable, DocsListEveryRow) {
    const std::vector<std::string> lines = doc_lines_with("| sdm |");
    const std::span<const Check> rows = checks(Profile::Sdm);
    ASSERT_EQ(lines.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        SCOPED_TRACE(rows[i].id);
        const std::string& doc = lines[i];
        EXPECT_NE(doc.find("`" + std::string(rows[i].id) + "`"), std::string::npos) << doc;
        EXPECT_NE(doc.find("| " + std::string(to_string(rows[i].scope)) + " |"), std::string::npos)
            << doc;
        EXPECT_NE(doc.find("| " + std::string(rows[i].section) + " |"), std::string::npos) << doc;
        EXPECT_NE(doc.find(std::string(rows[i].rule)), std::string::npos) << doc;
    }
}

// The unrestricted table in docs/checks.md names the rows whose verdict the control changes;
// each is a real row, and each has a state the two profiles judge differently.
TEST(SdmTable, DocsUnrestrictedRowsExist) {
    const std::vector<std::string> lines = doc_lines_with("| unrestricted |");
    EXPECT_GE(lines.size(), 10u);
    for (const std::string& line : lines) {
        const std::size_t open = line.find('`');
        const std::size_t close = line.find('`', open + 1);
        ASSERT_NE(close, std::string::npos) << line;
        const std::string id = line.substr(open + 1, close - open - 1);
        EXPECT_NE(find_check(Profile::Unrestricted, id), nullptr) << id;
    }
}

} // namespace
} // namespace transit86::vmx::test
