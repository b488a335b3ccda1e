// The dumps in tests/explain/dumps, read and parsed.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "tools/explain/explain_checks.hpp"
#include "tools/explain/explain_dump.hpp"

namespace transit86::tools::explain::testing {

inline std::string dump_path(const std::string& name) {
    return std::string(TRANSIT86_EXPLAIN_DUMPS) + "/" + name;
}

inline std::string read_dump(const std::string& name) {
    std::ifstream file(dump_path(name), std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

inline Dump parse(const std::string& name) {
    return parse_dump(read_dump(name));
}

inline Explanation judge(const std::string& name, const Settings& settings = {}) {
    return explain_dump(parse(name), settings);
}

} // namespace transit86::tools::explain::testing
