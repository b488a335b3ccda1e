// `transit86 explain DUMP`: which VM-entry checks a register dump from a log fails, which of
// them KVM would have caught, and what the dump does not show. See docs/explain.md.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "tools/commands.hpp"
#include "tools/explain/explain_report.hpp"
#include "tools/formats/state_json.hpp"

namespace transit86::tools {

int run_explain(const ExplainOptions& o) {
    std::string text;
    if (o.dump_file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream file(o.dump_file, std::ios::binary);
        if (!file) throw explain::DumpError(fmt::format("cannot open \"{}\"", o.dump_file));
        // A directory opens and reads as empty: say what it is instead.
        if (std::filesystem::is_directory(o.dump_file))
            throw explain::DumpError(fmt::format("\"{}\" is a directory", o.dump_file));
        std::ostringstream buffer;
        buffer << file.rdbuf();
        text = buffer.str();
    }

    explain::Dump dump;
    try {
        dump = explain::parse_dump(text);
    } catch (const explain::DumpError& e) {
        throw explain::DumpError(fmt::format("{}: {}", o.dump_file, e.what()));
    }
    const explain::Explanation ex =
        explain::explain_dump(std::move(dump), {o.unrestricted, o.cr4_fixed1, o.maxphyaddr});
    if (o.json)
        fmt::print("{}\n", dump_json(explain::render_json(ex, o.dump_file)));
    else
        fmt::print("{}", explain::render_text(ex, o.dump_file));
    return ex.valid() ? 0 : 1;
}

} // namespace transit86::tools
