// `transit86 check STATE.json`: the VM-entry verdict for one state.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/commands.hpp"
#include "tools/formats/state_json.hpp"
#include "tools/formats/vmx_report.hpp"

namespace transit86::tools {

int run_check(const CheckOptions& o) {
    nlohmann::json doc;
    {
        std::ifstream file;
        std::istream* in = &std::cin;
        if (o.state_file != "-") {
            file.open(o.state_file);
            if (!file)
                throw StateFormatError(fmt::format("cannot open state file \"{}\"", o.state_file));
            // A directory opens, then fails the first read with a library message.
            if (std::filesystem::is_directory(o.state_file))
                throw StateFormatError(
                    fmt::format("state file \"{}\" is a directory", o.state_file));
            in = &file;
        }
        try {
            doc = nlohmann::json::parse(*in);
        } catch (const nlohmann::json::exception& e) {
            // parse_error, or out_of_range for a number too large for a double.
            // nlohmann's message names the byte offset; keep it on one line.
            throw StateFormatError(fmt::format("\"{}\" is not valid JSON: {}", o.state_file,
                                               std::string(e.what()).substr(0, 160)));
        }
    }
    const CpuState state = state_from_json(doc);
    const auto violations = vmx::evaluate(state, o.profile);
    const std::string profile{vmx::to_string(o.profile)};
    if (o.json) {
        nlohmann::json out = {{"profile", profile},
                              {"valid", violations.empty()},
                              {"failing", violations_to_json(violations)}};
        if (o.compare) out["divergences"] = divergences_to_json(vmx::compare_profiles(state));
        if (o.kvm_fixup) out["kvm_fixup"] = fixup_to_json(vmx::kvm_fixup(state));
        fmt::print("{}\n", dump_json(out));
    } else {
        if (violations.empty()) {
            fmt::print("vmx[{}] VALID\n", profile);
        } else {
            fmt::print("vmx[{}] INVALID: {} check{} fail{}\n", profile, violations.size(),
                       violations.size() == 1 ? "" : "s",
                       o.profile == vmx::Profile::Kvm
                           ? fmt::format(" (KVM stops at {})", violations.front().check->id)
                           : "");
            for (const auto& v : violations)
                fmt::print("  {:<28} {}  (SDM {})\n", v.check->id, v.message, v.check->section);
        }
        if (o.compare) print_divergences(vmx::compare_profiles(state), "");
        if (o.kvm_fixup) print_fixup(vmx::kvm_fixup(state), "");
    }
    return violations.empty() ? 0 : 1;
}

} // namespace transit86::tools
