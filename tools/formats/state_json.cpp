#include "tools/formats/state_json.hpp"

#include <array>
#include <charconv>
#include <fmt/format.h>

namespace transit86::tools {

namespace {

constexpr std::array<const char*, 8> kGprNames = {"eax", "ecx", "edx", "ebx",
                                                  "esp", "ebp", "esi", "edi"};
constexpr std::array<const char*, 6> kSegNames = {"es", "cs", "ss", "ds", "fs", "gs"};
constexpr std::array<const char*, 4> kBreakpointNames = {"dr0", "dr1", "dr2", "dr3"};

std::string hex_text(uint64_t v) {
    return fmt::format("{:#x}", v);
}

SegmentCache segment_from_json(const nlohmann::json& j, const std::string& key, SegmentCache seg) {
    if (!j.is_object()) throw StateFormatError(fmt::format("\"{}\" must be an object", key));
    for (const auto& [field, value] : j.items()) {
        const std::string path = key + "." + field;
        if (field == "selector")
            seg.selector = static_cast<uint16_t>(parse_number(value, path, 0xFFFF));
        else if (field == "base")
            seg.base = parse_number(value, path, ~uint64_t{0});
        else if (field == "limit")
            seg.limit = static_cast<uint32_t>(parse_number(value, path, 0xFFFFFFFF));
        else if (field == "ar")
            seg.access_rights = static_cast<uint32_t>(parse_number(value, path, 0xFFFFFFFF));
        else
            throw StateFormatError(
                fmt::format("unknown key \"{}\" (expected selector, base, limit, ar)", path));
    }
    return seg;
}

DescriptorTableRegister table_from_json(const nlohmann::json& j, const std::string& key,
                                        DescriptorTableRegister t) {
    if (!j.is_object()) throw StateFormatError(fmt::format("\"{}\" must be an object", key));
    for (const auto& [field, value] : j.items()) {
        const std::string path = key + "." + field;
        if (field == "base")
            t.base = parse_number(value, path, ~uint64_t{0});
        else if (field == "limit")
            t.limit = static_cast<uint32_t>(parse_number(value, path, 0xFFFFFFFF));
        else
            throw StateFormatError(fmt::format("unknown key \"{}\" (expected base, limit)", path));
    }
    return t;
}

} // namespace

const char* gpr_name(int index) {
    return kGprNames[static_cast<size_t>(index)];
}
const char* seg_name(int index) {
    return kSegNames[static_cast<size_t>(index)];
}

uint64_t parse_number_text(const std::string& text, const std::string& what, uint64_t max) {
    uint64_t v = 0;
    const bool is_hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const char* first = text.data() + (is_hex ? 2 : 0);
    const char* last = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(first, last, v, is_hex ? 16 : 10);
    if (text.empty() || ec != std::errc() || ptr != last)
        throw StateFormatError(fmt::format("{}: \"{}\" is not a number", what, text));
    if (v > max)
        throw StateFormatError(fmt::format("{}: {} is larger than {:#x}", what, text, max));
    return v;
}

uint64_t parse_number(const nlohmann::json& value, const std::string& key, uint64_t max) {
    if (value.is_number_integer() && value.get<int64_t>() >= 0) {
        const auto v = value.get<uint64_t>();
        if (v > max)
            throw StateFormatError(fmt::format("\"{}\": {} is larger than {:#x}", key, v, max));
        return v;
    }
    if (value.is_string())
        return parse_number_text(value.get<std::string>(), "\"" + key + "\"", max);
    throw StateFormatError(
        fmt::format("\"{}\" must be a non-negative integer or a numeric string", key));
}

namespace {

// "pdpte": the four PDPTE registers of PAE paging, as an array of four numbers.
std::array<uint64_t, 4> pdptes_from_json(const nlohmann::json& value) {
    if (!value.is_array() || value.size() != 4)
        throw StateFormatError("\"pdpte\" must be an array of four numbers");
    std::array<uint64_t, 4> out{};
    for (size_t i = 0; i < 4; ++i)
        out[i] = parse_number(value[i], fmt::format("pdpte[{}]", i), ~uint64_t{0});
    return out;
}

CpuState read_state(const nlohmann::json& doc) {
    if (!doc.is_object()) throw StateFormatError("a state must be a JSON object");
    ResetPreset preset = ResetPreset::Intel;
    if (auto it = doc.find("preset"); it != doc.end()) {
        if (*it == "intel")
            preset = ResetPreset::Intel;
        else if (*it == "kvm")
            preset = ResetPreset::Kvm;
        else
            throw StateFormatError("\"preset\" must be \"intel\" or \"kvm\"");
    }
    CpuState s = reset_state(preset);
    for (const auto& [key, value] : doc.items()) {
        if (key == "preset") continue;
        bool done = false;
        for (int i = 0; i < 8 && !done; ++i)
            if (key == kGprNames[static_cast<size_t>(i)]) {
                s.gpr[static_cast<size_t>(i)] =
                    static_cast<uint32_t>(parse_number(value, key, 0xFFFFFFFF));
                done = true;
            }
        for (int i = 0; i < kNumSegs && !done; ++i)
            if (key == kSegNames[static_cast<size_t>(i)]) {
                s.seg[static_cast<size_t>(i)] =
                    segment_from_json(value, key, s.seg[static_cast<size_t>(i)]);
                done = true;
            }
        for (size_t i = 0; i < kBreakpointNames.size() && !done; ++i)
            if (key == kBreakpointNames[i]) {
                s.dr[i] = static_cast<uint32_t>(parse_number(value, key, 0xFFFFFFFF));
                done = true;
            }
        if (done) continue;
        if (key == "eip")
            s.eip = static_cast<uint32_t>(parse_number(value, key, 0xFFFFFFFF));
        else if (key == "eflags")
            s.eflags = static_cast<uint32_t>(parse_number(value, key, 0xFFFFFFFF));
        else if (key == "cr0")
            s.cr0 = parse_number(value, key, ~uint64_t{0});
        else if (key == "cr2")
            s.cr2 = parse_number(value, key, ~uint64_t{0});
        else if (key == "cr3")
            s.cr3 = parse_number(value, key, ~uint64_t{0});
        else if (key == "cr4")
            s.cr4 = parse_number(value, key, ~uint64_t{0});
        else if (key == "efer")
            s.efer = parse_number(value, key, ~uint64_t{0});
        else if (key == "pdpte")
            s.pdpte = pdptes_from_json(value);
        else if (key == "dr6") // the fixed bits read as the SDM fixes them, as after MOV DR6
            s.dr6 =
                dr6::with_fixed_bits(static_cast<uint32_t>(parse_number(value, key, 0xFFFFFFFF)));
        else if (key == "dr7")
            s.dr7 =
                dr7::with_fixed_bits(static_cast<uint32_t>(parse_number(value, key, 0xFFFFFFFF)));
        else if (key == "tr")
            s.tr = segment_from_json(value, key, s.tr);
        else if (key == "ldtr")
            s.ldtr = segment_from_json(value, key, s.ldtr);
        else if (key == "gdtr")
            s.gdtr = table_from_json(value, key, s.gdtr);
        else if (key == "idtr")
            s.idtr = table_from_json(value, key, s.idtr);
        else if (key == "interruptibility")
            s.interruptibility = static_cast<uint32_t>(parse_number(value, key, 0xF));
        else if (key == "activity")
            s.activity = static_cast<ActivityState>(parse_number(value, key, 3));
        else
            throw StateFormatError(fmt::format("unknown key \"{}\"", key));
    }
    return s;
}

} // namespace

CpuState state_from_json(const nlohmann::json& doc) {
    try {
        return read_state(doc);
    } catch (const StateFormatError& e) { // a key may hold a newline: keep the message one line
        throw StateFormatError(one_line(e.what()));
    }
}

std::string one_line(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (u < 0x20 || u == 0x7F)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    return out;
}

std::string dump_json(const nlohmann::json& j, int indent) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json segment_to_json(const SegmentCache& seg) {
    return {{"selector", hex_text(seg.selector)},
            {"base", hex_text(seg.base)},
            {"limit", hex_text(seg.limit)},
            {"ar", hex_text(seg.access_rights)}};
}

nlohmann::json state_to_json(const CpuState& s) {
    nlohmann::json j;
    for (int i = 0; i < 8; ++i)
        j[kGprNames[static_cast<size_t>(i)]] = hex_text(s.gpr[static_cast<size_t>(i)]);
    j["eip"] = hex_text(s.eip);
    j["eflags"] = hex_text(s.eflags);
    for (int i = 0; i < kNumSegs; ++i)
        j[kSegNames[static_cast<size_t>(i)]] = segment_to_json(s.seg[static_cast<size_t>(i)]);
    j["ldtr"] = segment_to_json(s.ldtr);
    j["tr"] = segment_to_json(s.tr);
    j["gdtr"] = {{"base", hex_text(s.gdtr.base)}, {"limit", hex_text(s.gdtr.limit)}};
    j["idtr"] = {{"base", hex_text(s.idtr.base)}, {"limit", hex_text(s.idtr.limit)}};
    j["cr0"] = hex_text(s.cr0);
    j["cr2"] = hex_text(s.cr2);
    j["cr3"] = hex_text(s.cr3);
    j["cr4"] = hex_text(s.cr4);
    j["efer"] = hex_text(s.efer);
    // Only when set (PAE paging has loaded them): states without paging keep their format.
    if (s.pdpte != std::array<uint64_t, 4>{})
        j["pdpte"] = {hex_text(s.pdpte[0]), hex_text(s.pdpte[1]), hex_text(s.pdpte[2]),
                      hex_text(s.pdpte[3])};
    // The debug registers only when they differ from their reset values, so that states that
    // never touch them read as before.
    for (size_t i = 0; i < kBreakpointNames.size(); ++i)
        if (s.dr[i] != 0) j[kBreakpointNames[i]] = hex_text(s.dr[i]);
    if (s.dr6 != dr6::Reset) j["dr6"] = hex_text(s.dr6);
    if (s.dr7 != dr7::Reset) j["dr7"] = hex_text(s.dr7);
    j["interruptibility"] = s.interruptibility;
    j["activity"] = static_cast<uint32_t>(s.activity);
    return j;
}

} // namespace transit86::tools
