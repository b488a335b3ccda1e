#include "tools/formats/vmx_report.hpp"

#include <cstdio>
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

std::string format_violations(const std::vector<vmx::Violation>& violations, vmx::Profile profile,
                              const std::string& indent) {
    const std::string name{vmx::to_string(profile)};
    if (violations.empty()) return fmt::format("{}vmx[{}] valid\n", indent, name);
    std::string out;
    bool head = true;
    for (const auto& v : violations) {
        // "vmx[unrestricted] INVALID" is longer than the column: a space still separates it.
        std::string first = head ? fmt::format("vmx[{}] INVALID", name) : "";
        if (first.size() >= 18) first += ' ';
        out += fmt::format("{}{:<18}{:<18} {}  (SDM {})\n", indent, first, v.check->id, v.message,
                           v.check->section);
        head = false;
    }
    return out;
}

std::string format_fixup(const vmx::FixupReport& report, const std::string& indent) {
    std::string out = fmt::format("{}KVM with emulate_invalid_guest_state=0 ({} path):\n", indent,
                                  vmx::to_string(report.path));
    if (report.changes.empty()) out += fmt::format("{}  enters with the state unchanged\n", indent);
    for (const auto& c : report.changes)
        out += fmt::format("{}  {} {:<6} {:<14} {:#x} -> {:#x}  {}\n", indent,
                           c.guest_visible ? "VISIBLE" : "hidden ", c.reg, c.field, c.before,
                           c.after, c.why);
    if (!report.entry_failures.empty()) {
        out += fmt::format("{}  and VM entry still fails (KVM_EXIT_FAIL_ENTRY):\n", indent);
        for (const auto& v : report.entry_failures)
            out += fmt::format("{}    {:<28} {}\n", indent, v.check->id, v.message);
    }
    return out;
}

void print_fixup(const vmx::FixupReport& report, const std::string& indent) {
    const std::string text = format_fixup(report, indent);
    std::fwrite(text.data(), 1, text.size(), stdout);
}

} // namespace transit86::tools
