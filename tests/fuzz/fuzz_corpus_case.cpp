// libFuzzer target: the corpus case and golden readers (tools/corpus/corpus_case.hpp). The input is
// a case file; "source" is not handed to nasm (no program runs in a fuzz loop): a stand-in
// assembler returns the file name's bytes, or refuses an empty name. A malformed case or
// golden may only raise CorpusError, with a one-line message.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "tools/corpus/corpus_case.hpp"

namespace {

using namespace transit86;

void check(bool condition) {
    if (!condition) __builtin_trap();
}

void check_message(const std::exception& e) {
    check(std::string_view(e.what()).find('\n') == std::string_view::npos);
}

std::vector<uint8_t> stand_in_assembler(const std::filesystem::path& source) {
    const std::string name = source.filename().string();
    if (name.empty()) throw tools::CorpusError(source.string() + ": source not found");
    return {name.begin(), name.end()};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(data, data + size);
    } catch (const nlohmann::json::exception&) { // parse_error, out_of_range (1e999)
        return 0;                                // load_case reports it as "not valid JSON"
    }
    try {
        const tools::CorpusCase c =
            tools::case_from_json(doc, "corpus/cases/fuzz.json", stand_in_assembler);
        check(!c.image.empty());
        check(c.load_address <= 0xFFFFFF);
        check(c.budget <= 1000000);
    } catch (const tools::CorpusError& e) {
        check_message(e);
    }
    try {
        tools::GoldenOracle oracle{};
        (void)tools::golden_from_json(doc, "corpus/cases/fuzz.golden", oracle);
    } catch (const tools::CorpusError& e) {
        check_message(e);
    }
    return 0;
}
