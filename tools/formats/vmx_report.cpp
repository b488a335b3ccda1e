#include "tools/formats/vmx_report.hpp"

#include <fmt/format.h>

namespace transit86::tools {

nlohmann::json violations_to_json(const std::vector<vmx::Violation>& violations) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : violations)
        out.push_back({{"id", v.check->id}, {"section", v.check->section}, {"message", v.message}});
    return out;
}

nlohmann::json divergences_to_json(const std::vector<vmx::Divergence>& divergences) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : divergences)
        out.push_back({{"failing_in", vmx::to_string(d.failing_in)},
                       {"id", d.check->id},
                       {"message", d.message},
                       {"note", d.note}});
    return out;
}

nlohmann::json fixup_to_json(const vmx::FixupReport& report) {
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& c : report.changes)
        changes.push_back({{"register", c.reg},
                           {"field", c.field},
                           {"before", fmt::format("{:#x}", c.before)},
                           {"after", fmt::format("{:#x}", c.after)},
                           {"guest_visible", c.guest_visible},
                           {"why", c.why}});
    return {{"path", vmx::to_string(report.path)},
            {"changes", changes},
            {"entry_failures", violations_to_json(report.entry_failures)}};
}

void print_divergences(const std::vector<vmx::Divergence>& divergences, const std::string& indent) {
    if (divergences.empty()) {
        fmt::print("{}kvm and sdm agree on this state\n", indent);
        return;
    }
    fmt::print("{}where kvm and sdm differ:\n", indent);
    for (const auto& d : divergences) {
        const bool kvm_only = d.failing_in == vmx::Profile::Kvm;
        fmt::print("{}  {} {:<28} {}\n", indent, kvm_only ? "kvm only:" : "sdm only:", d.check->id,
                   d.message);
        if (!d.note.empty()) fmt::print("{}             {}\n", indent, d.note);
    }
}

void print_fixup(const vmx::FixupReport& report, const std::string& indent) {
    fmt::print("{}KVM with emulate_invalid_guest_state=0 ({} path):\n", indent,
               vmx::to_string(report.path));
    if (report.changes.empty()) fmt::print("{}  enters with the state unchanged\n", indent);
    for (const auto& c : report.changes)
        fmt::print("{}  {} {:<6} {:<14} {:#x} -> {:#x}  {}\n", indent,
                   c.guest_visible ? "VISIBLE" : "hidden ", c.reg, c.field, c.before, c.after,
                   c.why);
    if (!report.entry_failures.empty()) {
        fmt::print("{}  and VM entry still fails (KVM_EXIT_FAIL_ENTRY):\n", indent);
        for (const auto& v : report.entry_failures)
            fmt::print("{}    {:<28} {}\n", indent, v.check->id, v.message);
    }
}

} // namespace transit86::tools
