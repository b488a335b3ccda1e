// Printing the VM-entry analyses shared by `check` and `step`: profile divergences
// (vmx::compare_profiles) and KVM's fix-up path (vmx::kvm_fixup).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "transit86/kvm_fixup.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86::tools {

nlohmann::json violations_to_json(const std::vector<vmx::Violation>& violations);
nlohmann::json divergences_to_json(const std::vector<vmx::Divergence>& divergences);
nlohmann::json fixup_to_json(const vmx::FixupReport& report);

// The failing checks as the step trace prints them: the first line starts with
// "vmx[PROFILE] INVALID", then one line per check with its id, message and SDM section.
// Empty input gives "vmx[PROFILE] valid". Every line ends with '\n'.
std::string format_violations(const std::vector<vmx::Violation>& violations, vmx::Profile profile,
                              const std::string& indent = "    ");
// print_fixup's text.
std::string format_fixup(const vmx::FixupReport& report, const std::string& indent);

// Text forms, each line starting with `indent`.
void print_divergences(const std::vector<vmx::Divergence>& divergences, const std::string& indent);
void print_fixup(const vmx::FixupReport& report, const std::string& indent);

} // namespace transit86::tools
