#include "tools/sst/sst_test.hpp"

#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <zlib.h>

namespace transit86::tools::sst {

namespace {

using nlohmann::json;

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The whole (decompressed) content of a file.
std::string read_all(const std::filesystem::path& file) {
    gzFile in = gzopen(file.c_str(), "rb");
    if (!in) throw SstFormatError(fmt::format("cannot open \"{}\"", file.string()));
    gzbuffer(in, 1u << 18);
    std::string out;
    char chunk[1 << 16];
    for (;;) {
        const int n = gzread(in, chunk, sizeof chunk);
        if (n < 0) {
            int code = 0;
            const std::string why = gzerror(in, &code);
            gzclose(in);
            throw SstFormatError(fmt::format("cannot read \"{}\": {}", file.string(), why));
        }
        if (n == 0) break;
        out.append(chunk, static_cast<size_t>(n));
    }
    gzclose(in);
    return out;
}

template <class T>
T number(const json& j, const char* what, uint64_t max) {
    if (!j.is_number_unsigned() || j.get<uint64_t>() > max)
        throw SstFormatError(fmt::format("{} is not a number in 0..{}", what, max));
    return static_cast<T>(j.get<uint64_t>());
}

RegValues parse_regs(const json& regs, bool all_required) {
    if (!regs.is_object()) throw SstFormatError("\"regs\" is not an object");
    RegValues out{};
    for (int i = 0; i < kNumRegs; ++i) {
        const auto it = regs.find(kRegNames[i]);
        if (it != regs.end())
            out[i] = number<uint16_t>(*it, kRegNames[i], 0xFFFF);
        else if (all_required)
            throw SstFormatError(fmt::format("initial register \"{}\" missing", kRegNames[i]));
    }
    for (const auto& [key, value] : regs.items()) {
        bool known = false;
        for (const char* name : kRegNames)
            known = known || key == name;
        if (!known) throw SstFormatError(fmt::format("unknown register \"{}\"", key));
    }
    return out;
}

RamBytes parse_ram(const json& ram) {
    if (!ram.is_array()) throw SstFormatError("\"ram\" is not an array");
    RamBytes out;
    out.reserve(ram.size());
    for (const json& entry : ram) {
        if (!entry.is_array() || entry.size() != 2)
            throw SstFormatError("a \"ram\" entry is not [address, byte]");
        out.emplace_back(number<uint32_t>(entry[0], "ram address", 0xFFFFFF),
                         number<uint8_t>(entry[1], "ram byte", 0xFF));
    }
    return out;
}

Test parse_test(const json& j) {
    if (!j.is_object()) throw SstFormatError("a test is not a JSON object");
    Test t;
    t.idx = number<uint32_t>(j.at("idx"), "idx", 0xFFFFFFFF);
    t.name = j.at("name").get<std::string>();
    for (const json& b : j.at("bytes"))
        t.bytes.push_back(number<uint8_t>(b, "byte", 0xFF));
    if (t.bytes.empty()) throw SstFormatError("\"bytes\" is empty");
    const json& initial = j.at("initial");
    t.initial = parse_regs(initial.at("regs"), true);
    t.initial_ram = parse_ram(initial.at("ram"));
    const json& fin = j.at("final");
    t.final = parse_regs(fin.at("regs"), false);
    t.final_ram = parse_ram(fin.at("ram"));
    if (const auto e = j.find("exception"); e != j.end() && !e->is_null()) {
        t.exception = TestException{
            .number = number<uint8_t>(e->at("number"), "exception number", 0xFF),
            .flag_address = number<uint32_t>(e->at("flag_address"), "flag_address", 0xFFFFFF)};
    }
    if (const auto h = j.find("hash"); h != j.end()) t.hash = h->get<std::string>();
    return t;
}

// Parses one test, naming the file and line (or array element) on error.
Test parse_located(const json& j, const std::filesystem::path& file, size_t where,
                   const char* unit) {
    try {
        return parse_test(j);
    } catch (const json::exception& e) {
        throw SstFormatError(fmt::format("{}: {} {}: {}", file.string(), unit, where, e.what()));
    } catch (const SstFormatError& e) {
        throw SstFormatError(fmt::format("{}: {} {}: {}", file.string(), unit, where, e.what()));
    }
}

OpcodeInfo parse_info(const json& j) {
    OpcodeInfo info;
    if (const auto s = j.find("status"); s != j.end()) info.status = s->get<std::string>();
    if (const auto m = j.find("flags-mask"); m != j.end())
        info.flags_mask = number<uint16_t>(*m, "flags-mask", 0xFFFF);
    if (const auto f = j.find("flags"); f != j.end()) info.undefined_flags = f->get<std::string>();
    return info;
}

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

// The 80286's prefixes (64-67 are undefined opcodes there, not prefixes).
constexpr bool is_prefix(uint8_t b) {
    switch (b) {
    case 0x26:
    case 0x2E:
    case 0x36:
    case 0x3E: // segment overrides
    case 0xF0:
    case 0xF1:
    case 0xF2:
    case 0xF3: // LOCK (F1: its alias), REP
        return true;
    default: return false;
    }
}

} // namespace

size_t prefix_length(const std::vector<uint8_t>& bytes) {
    size_t i = 0;
    while (i < bytes.size() && is_prefix(bytes[i]))
        ++i;
    return i;
}

bool is_test_file_name(const std::string& name) {
    if (name == "metadata.json" || name == "metadata.json.gz") return false;
    return ends_with(name, ".json") || ends_with(name, ".json.gz") || ends_with(name, ".jsonl") ||
           ends_with(name, ".jsonl.gz");
}

std::vector<Test> read_test_file(const std::filesystem::path& file) {
    const std::string name = file.filename().string();
    const std::string text = read_all(file);
    std::vector<Test> tests;
    if (ends_with(name, ".jsonl") || ends_with(name, ".jsonl.gz")) {
        size_t line_no = 0;
        for (size_t pos = 0; pos < text.size();) {
            size_t end = text.find('\n', pos);
            if (end == std::string::npos) end = text.size();
            ++line_no;
            const std::string_view line(text.data() + pos, end - pos);
            pos = end + 1;
            if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
            json j;
            try {
                j = json::parse(line);
            } catch (const json::exception& e) {
                throw SstFormatError(
                    fmt::format("{}: line {}: {}", file.string(), line_no, e.what()));
            }
            tests.push_back(parse_located(j, file, line_no, "line"));
        }
        return tests;
    }
    json all;
    try {
        all = json::parse(text);
    } catch (const json::exception& e) {
        throw SstFormatError(fmt::format("{}: {}", file.string(), e.what()));
    }
    if (!all.is_array())
        throw SstFormatError(fmt::format("{}: not a JSON array of tests", file.string()));
    tests.reserve(all.size());
    for (size_t i = 0; i < all.size(); ++i)
        tests.push_back(parse_located(all[i], file, i, "test"));
    return tests;
}

FileOpcode file_opcode(const std::string& file_name) {
    const size_t dot = file_name.find('.');
    FileOpcode out{.key = upper(file_name.substr(0, dot)), .reg = std::nullopt};
    if (dot == std::string::npos) return out;
    const size_t next = file_name.find('.', dot + 1);
    const std::string field =
        file_name.substr(dot + 1, next == std::string::npos ? next : next - dot - 1);
    if (field.size() == 1 && field[0] >= '0' && field[0] <= '7')
        out.reg = static_cast<uint8_t>(field[0] - '0');
    return out;
}

Metadata Metadata::load(const std::filesystem::path& file) {
    Metadata m;
    json j;
    try {
        j = json::parse(read_all(file));
        const json& opcodes = j.at("opcodes");
        for (const auto& [key, entry] : opcodes.items()) {
            if (const auto reg = entry.find("reg"); reg != entry.end()) {
                auto& group = m.groups_[upper(key)];
                for (const auto& [field, info] : reg->items()) {
                    if (field.size() != 1 || field[0] < '0' || field[0] > '7')
                        throw SstFormatError(
                            fmt::format("opcode {}: reg field \"{}\"", key, field));
                    group[static_cast<uint8_t>(field[0] - '0')] = parse_info(info);
                }
            } else {
                m.plain_[upper(key)] = parse_info(entry);
            }
        }
    } catch (const json::exception& e) {
        throw SstFormatError(fmt::format("{}: {}", file.string(), e.what()));
    } catch (const SstFormatError& e) {
        throw SstFormatError(fmt::format("{}: {}", file.string(), e.what()));
    }
    return m;
}

OpcodeInfo Metadata::lookup(const FileOpcode& opcode, std::optional<uint8_t> modrm_reg) const {
    if (const auto it = plain_.find(opcode.key); it != plain_.end()) return it->second;
    const auto group = groups_.find(opcode.key);
    if (group == groups_.end()) return {};
    const std::optional<uint8_t> reg = opcode.reg ? opcode.reg : modrm_reg;
    if (!reg) return {};
    const auto it = group->second.find(*reg);
    return it == group->second.end() ? OpcodeInfo{} : it->second;
}

std::set<std::string> load_revocation_list(const std::filesystem::path& file) {
    std::set<std::string> out;
    std::ifstream in(file);
    if (!in) throw SstFormatError(fmt::format("cannot open \"{}\"", file.string()));
    std::string line;
    while (std::getline(in, line)) {
        const size_t begin = line.find_first_not_of(" \t\r");
        if (begin == std::string::npos || line[begin] == '#') continue;
        const size_t end = line.find_last_not_of(" \t\r");
        out.insert(line.substr(begin, end - begin + 1));
    }
    return out;
}

std::optional<uint8_t> modrm_reg_field(const std::vector<uint8_t>& bytes, size_t key_bytes) {
    const size_t at = prefix_length(bytes) + key_bytes;
    if (at >= bytes.size()) return std::nullopt;
    return static_cast<uint8_t>((bytes[at] >> 3) & 7);
}

std::optional<uint8_t> primary_opcode(const std::vector<uint8_t>& bytes) {
    const size_t at = prefix_length(bytes);
    if (at >= bytes.size()) return std::nullopt;
    return bytes[at];
}

} // namespace transit86::tools::sst
