#include "tools/corpus/corpus_case.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <sys/wait.h>
#include <unistd.h>

#include "oracle/state_diff.hpp"
#include "tools/formats/state_json.hpp"

namespace transit86::tools {

namespace {

const std::array<const char*, 7> kCaseKeys = {"description", "source", "bytes", "load_address",
                                              "start",       "limits", "oracle"};

nlohmann::json read_json(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw CorpusError(fmt::format("{}: cannot open", file.string()));
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) { // parse_error, or out_of_range (1e999)
        throw CorpusError(fmt::format("{}: not valid JSON: {}", file.string(),
                                      std::string(e.what()).substr(0, 120)));
    }
}

// Assembles a nasm source into memory (nasm -f bin), as the build does for corpus/boot.
std::vector<uint8_t> assemble(const std::filesystem::path& source) {
    if (!std::filesystem::exists(source))
        throw CorpusError(fmt::format("{}: source not found", source.string()));
    char out_name[] = "/tmp/transit86-corpus-XXXXXX";
    const int fd = mkstemp(out_name);
    if (fd < 0) throw CorpusError("cannot create a temporary file for nasm");
    close(fd);
    // Cases share preambles from corpus/include/ (`%include "pm_entry.inc"`), found beside
    // the cases' folder as nasm resolves include names against -I, not the source's folder.
    const std::filesystem::path shared = source.parent_path().parent_path() / "include";
    const std::string command = fmt::format("nasm -f bin -I '{}/' -o '{}' '{}' 2>&1",
                                            shared.string(), out_name, source.string());
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) throw CorpusError("cannot run nasm");
    std::array<char, 256> buffer{};
    while (fgets(buffer.data(), buffer.size(), pipe))
        output += buffer.data();
    const int status = pclose(pipe);
    std::ifstream in(out_name, std::ios::binary);
    std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    std::remove(out_name);
    if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const std::string first_line = output.substr(0, output.find('\n'));
        throw CorpusError(fmt::format("nasm failed on {}: {}", source.string(), first_line));
    }
    return image;
}

std::vector<uint8_t> parse_hex_bytes(const std::string& text, const std::string& where) {
    std::vector<uint8_t> bytes;
    std::string digits;
    bool hex = true;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isspace(u)) digits += c;
        hex = hex && (std::isspace(u) || std::isxdigit(u));
    }
    if (!hex || digits.empty() || digits.size() % 2)
        throw CorpusError(fmt::format("{}: \"bytes\" must be pairs of hex digits", where));
    for (size_t i = 0; i < digits.size(); i += 2)
        bytes.push_back(static_cast<uint8_t>(
            parse_number_text("0x" + digits.substr(i, 2), where + ": bytes", 0xFF)));
    return bytes;
}

GoldenOracle parse_oracle(const std::string& text, const std::string& where) {
    if (text == "kvm") return GoldenOracle::Kvm;
    if (text == "unicorn") return GoldenOracle::Unicorn;
    if (text == "qemu") return GoldenOracle::Qemu;
    if (text == "sdm-by-hand") return GoldenOracle::SdmByHand;
    throw CorpusError(
        fmt::format("{}: oracle \"{}\" is not kvm, unicorn, qemu or sdm-by-hand", where, text));
}

} // namespace

const char* to_string(GoldenOracle oracle) {
    switch (oracle) {
    case GoldenOracle::Kvm: return "kvm";
    case GoldenOracle::Unicorn: return "unicorn";
    case GoldenOracle::Qemu: return "qemu";
    case GoldenOracle::SdmByHand: return "sdm-by-hand";
    }
    return "?";
}

std::filesystem::path CorpusCase::golden_file() const {
    std::filesystem::path g = file;
    g.replace_extension(".golden");
    return g;
}

CorpusCase load_case(const std::filesystem::path& file) {
    return case_from_json(read_json(file), file, assemble);
}

namespace {

CorpusCase read_case(const nlohmann::json& doc, const std::filesystem::path& file,
                     const SourceAssembler& assemble_source) {
    const std::string where = file.string();
    if (!doc.is_object()) throw CorpusError(where + ": a case must be a JSON object");
    for (const auto& [key, value] : doc.items())
        if (std::find(kCaseKeys.begin(), kCaseKeys.end(), key) == kCaseKeys.end())
            throw CorpusError(fmt::format("{}: unknown key \"{}\"", where, key));
    CorpusCase c;
    c.file = file;
    c.name = file.stem().string();
    if (!doc.contains("description") || !doc["description"].is_string())
        throw CorpusError(where + ": missing \"description\" (one line saying what it exercises)");
    c.description = doc["description"].get<std::string>();
    if (doc.contains("source") == doc.contains("bytes"))
        throw CorpusError(where + ": give exactly one of \"source\" (nasm file) or \"bytes\"");
    if (doc.contains("source")) {
        if (!doc["source"].is_string())
            throw CorpusError(where + ": \"source\" must be a file name");
        c.image = assemble_source(file.parent_path() / doc["source"].get<std::string>());
    } else {
        if (!doc["bytes"].is_string())
            throw CorpusError(where + ": \"bytes\" must be a hex string");
        c.image = parse_hex_bytes(doc["bytes"].get<std::string>(), where);
    }
    if (!doc.contains("load_address")) throw CorpusError(where + ": missing \"load_address\"");
    c.load_address = parse_number(doc["load_address"], "load_address", 0xFFFFFF);
    // The start state: KVM's reset state entered at 0000:load_address unless overridden.
    nlohmann::json start = {
        {"preset", "kvm"}, {"cs", {{"selector", 0}, {"base", 0}}}, {"eip", c.load_address}};
    if (doc.contains("start")) {
        if (!doc["start"].is_object()) throw CorpusError(where + ": \"start\" must be an object");
        for (const auto& [key, value] : doc["start"].items())
            start[key] = value;
    }
    try {
        c.start = state_from_json(start);
    } catch (const StateFormatError& e) {
        throw CorpusError(fmt::format("{}: start: {}", where, e.what()));
    }
    if (doc.contains("limits")) {
        const auto& limits = doc["limits"];
        if (!limits.is_object()) throw CorpusError(where + ": \"limits\" must be an object");
        for (const auto& [key, value] : limits.items()) {
            if (key == "budget")
                c.budget = parse_number(value, "limits.budget", 1000000);
            else if (key == "stop") {
                const std::string stop = value.is_string() ? value.get<std::string>() : "";
                if (stop == "valid")
                    c.stop = CaseStop::Valid;
                else if (stop == "halt")
                    c.stop = CaseStop::Halt;
                else if (stop == "budget")
                    c.stop = CaseStop::Budget;
                else
                    throw CorpusError(where + ": limits.stop must be valid, halt or budget");
            } else if (key == "a20") {
                if (!value.is_boolean())
                    throw CorpusError(where + ": limits.a20 must be true or false");
                c.a20 = value.get<bool>();
            } else {
                throw CorpusError(fmt::format("{}: unknown key \"limits.{}\"", where, key));
            }
        }
    }
    if (doc.contains("oracle")) {
        if (!doc["oracle"].is_string()) throw CorpusError(where + ": \"oracle\" must be a string");
        c.oracle = parse_oracle(doc["oracle"].get<std::string>(), where);
    }
    return c;
}

} // namespace

CorpusCase case_from_json(const nlohmann::json& doc, const std::filesystem::path& file,
                          const SourceAssembler& assemble_source) {
    try {
        return read_case(doc, file, assemble_source);
    } catch (const StateFormatError& e) { // a number: load_address, limits.budget
        throw CorpusError(one_line(fmt::format("{}: {}", file.string(), e.what())));
    } catch (const CorpusError& e) { // a key or value may hold a newline
        throw CorpusError(one_line(e.what()));
    }
}

std::vector<std::filesystem::path> find_cases(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    if (!std::filesystem::is_directory(dir))
        throw CorpusError(fmt::format("{}: not a directory", dir.string()));
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

nlohmann::json golden_to_json(const CaseResult& r, GoldenOracle oracle) {
    return {
        {"oracle", to_string(oracle)}, {"exit", r.exit},   {"instructions", r.instructions},
        {"console", r.console},        {"steps", r.steps}, {"final", state_to_json(r.final_state)}};
}

std::optional<CaseResult> load_golden(const CorpusCase& c, GoldenOracle& oracle) {
    const auto path = c.golden_file();
    if (!std::filesystem::exists(path)) return std::nullopt;
    return golden_from_json(read_json(path), path.string(), oracle);
}

namespace {

CaseResult read_golden(const nlohmann::json& doc, const std::string& where, GoldenOracle& oracle) {
    for (const char* key : {"oracle", "exit", "instructions", "console", "steps", "final"})
        if (!doc.contains(key)) throw CorpusError(fmt::format("{}: missing \"{}\"", where, key));
    CaseResult r;
    try {
        oracle = parse_oracle(doc["oracle"].get<std::string>(), where);
        r.exit = doc["exit"].get<std::string>();
        // get<uint64_t>() would convert -5 or 1e300 (undefined behaviour for the latter).
        if (!doc["instructions"].is_number_unsigned())
            throw CorpusError(where + ": \"instructions\" must be a non-negative integer");
        r.instructions = doc["instructions"].get<uint64_t>();
        r.console = doc["console"].get<std::string>();
        r.steps = doc["steps"].get<std::vector<std::string>>();
        r.final_state = state_from_json(doc["final"]);
    } catch (const nlohmann::json::exception& e) {
        throw CorpusError(fmt::format("{}: {}", where, e.what()));
    } catch (const StateFormatError& e) {
        throw CorpusError(fmt::format("{}: final: {}", where, e.what()));
    }
    return r;
}

} // namespace

CaseResult golden_from_json(const nlohmann::json& doc, const std::string& where,
                            GoldenOracle& oracle) {
    try {
        return read_golden(doc, where, oracle);
    } catch (const CorpusError& e) {
        throw CorpusError(one_line(e.what()));
    }
}

std::vector<std::string> compare_results(const CaseResult& ours, const CaseResult& golden) {
    std::vector<std::string> out;
    if (ours.exit != golden.exit)
        out.push_back(fmt::format("exit: ours \"{}\", golden \"{}\"", ours.exit, golden.exit));
    if (ours.instructions != golden.instructions)
        out.push_back(fmt::format("instructions: ours {}, golden {}", ours.instructions,
                                  golden.instructions));
    if (ours.console != golden.console)
        out.push_back(fmt::format("console: ours {:?}, golden {:?}", ours.console, golden.console));
    const size_t n = std::min(ours.steps.size(), golden.steps.size());
    for (size_t i = 0; i < n; ++i)
        if (ours.steps[i] != golden.steps[i]) {
            out.push_back(fmt::format("step {}: ours \"{}\", golden \"{}\"", i + 1, ours.steps[i],
                                      golden.steps[i]));
            break;
        }
    for (const std::string& d : oracle::diff_states(ours.final_state, golden.final_state))
        out.push_back("final " + d);
    return out;
}

} // namespace transit86::tools
