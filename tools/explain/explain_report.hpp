// The report of `transit86 explain`: text for people, JSON for scripts (docs/explain.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tools/explain/explain_checks.hpp"

namespace transit86::tools::explain {

// The text report; `source` names the input ("-" for standard input).
std::string render_text(const Explanation& ex, std::string_view source);

// The same as one JSON object.
nlohmann::json render_json(const Explanation& ex, std::string_view source);

// "real mode", "protected mode, paging on", "virtual-8086 mode", "mode unknown (no CR0)".
std::string describe_mode(const Dump& dump);

} // namespace transit86::tools::explain
