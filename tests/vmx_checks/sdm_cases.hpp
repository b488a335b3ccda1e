// One case per sdm row: a state that passes every row and a state, one edit away, that fails
// that row and no other, under a given profile and context. sdm_rules_test.cpp runs every case
// and checks that every row of the table has one. Each case carries, as a comment where it is
// built, the SDM sentence it comes from.
#pragma once

#include "states.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace transit86::vmx::test {

struct RuleCase {
    std::string_view id;
    Profile profile;
    CpuState passing;
    VmxContext passing_context;
    CpuState failing;
    VmxContext failing_context;
};

// Collects cases: add(id, base, edit) makes `base` the passing state and `edit(base)` the
// failing one, both judged with `context`; add_contexts(id, state, passing, failing) judges
// one state with two contexts (for rules on the injected event).
class RuleCases {
  public:
    RuleCases& add(std::string_view id, const CpuState& base,
                   const std::function<void(CpuState&)>& edit, Profile profile = Profile::Sdm,
                   const VmxContext& context = {}) {
        CpuState failing = base;
        edit(failing);
        cases_.push_back({id, profile, base, context, failing, context});
        return *this;
    }
    RuleCases& add_contexts(std::string_view id, const CpuState& state, const VmxContext& passing,
                            const VmxContext& failing, Profile profile = Profile::Sdm) {
        cases_.push_back({id, profile, state, passing, state, failing});
        return *this;
    }
    std::vector<RuleCase> take() { return std::move(cases_); }

  private:
    std::vector<RuleCase> cases_;
};

// The table's own copy of an sdm id built at run time ("sdm." + "ds" + ".p"), so that a case
// can hold a string_view; "(no such row)" when the table has no such id.
inline std::string_view sdm_id(const std::string& id) {
    const Check* row = find_check(Profile::Sdm, id);
    return row != nullptr ? row->id : std::string_view("(no such row)");
}

// SDM 26.3.1.1 (control registers, MSRs).
std::vector<RuleCase> control_register_cases();
// SDM 26.3.1.2 (segment registers).
std::vector<RuleCase> segment_register_cases();
// SDM 26.3.1.3-26.3.1.5 (GDTR/IDTR, RFLAGS, activity and interruptibility) and 26.2.1.3 (event
// injection).
std::vector<RuleCase> non_register_cases();

} // namespace transit86::vmx::test
