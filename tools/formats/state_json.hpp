// CpuState <-> JSON: the state-file format of `transit86 check` and the trace's JSON Lines.
//
// A state file is one JSON object. Every key is optional; what is absent comes from the reset
// preset named by "preset" (default "intel"). Numbers are JSON integers or strings in
// decimal or 0x-hexadecimal. Unknown keys are errors. See docs/cli.md.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "transit86/cpu_state.hpp"

namespace transit86::tools {

// Thrown for a malformed state document; what() is one line naming the key at fault.
struct StateFormatError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

CpuState state_from_json(const nlohmann::json& doc);

// The text with control characters written as escapes (\n, \t, \x1b): an error message that
// quotes a key or value from a file or the command line stays on one line.
std::string one_line(std::string_view text);

// Serialises output JSON. Strings from outside (guest console bytes, file names, dump text)
// may be invalid UTF-8: those bytes become U+FFFD instead of an exception.
std::string dump_json(const nlohmann::json& j, int indent = -1);
nlohmann::json state_to_json(const CpuState& state);
nlohmann::json segment_to_json(const SegmentCache& seg);

// Parses "0x1f", "31" or a JSON integer into an unsigned value no wider than `max`.
uint64_t parse_number(const nlohmann::json& value, const std::string& key, uint64_t max);
// Same for command-line text.
uint64_t parse_number_text(const std::string& text, const std::string& what, uint64_t max);

const char* gpr_name(int index); // "eax".."edi"
const char* seg_name(int index); // "es","cs","ss","ds","fs","gs"

} // namespace transit86::tools
