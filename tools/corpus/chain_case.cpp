#include "tools/corpus/chain_case.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <stdexcept>

#include "tools/boot/boot_config.hpp"
#include "tools/boot/boot_machine.hpp"
#include "tools/corpus/corpus_case.hpp"
#include "tools/formats/console_lines.hpp"
#include "tools/formats/state_json.hpp"
#include "tools/guest_image.hpp"

#ifndef TRANSIT86_BOOT_IMAGES_DIR
#define TRANSIT86_BOOT_IMAGES_DIR "build/boot-images"
#endif
#ifndef TRANSIT86_LINUX_KERNEL
#define TRANSIT86_LINUX_KERNEL "build/linux-kernel/vmlinuz"
#endif

namespace transit86::tools {

namespace {

const std::array<const char*, 8> kCaseKeys = {
    "description", "chain", "needs", "stop", "oracle", "kernel_version", "input", "send_gap_ms"};
const std::array<const char*, 11> kChainKeys = {"bios",    "disk",   "cdrom",     "floppy",
                                                "kernel",  "initrd", "append",    "preset",
                                                "profile", "cpu",    "memory_mib"};
const std::array<const char*, 4> kStopKeys = {"console", "break", "break_after_console", "budget"};
const std::array<const char*, 2> kInputKeys = {"expect", "send"};

template <size_t N>
void check_keys(const nlohmann::json& object, const std::array<const char*, N>& keys,
                const std::string& where) {
    if (!object.is_object()) throw CorpusError(where + " must be a JSON object");
    for (const auto& item : object.items()) {
        // A plain variable, not a structured binding: clang before 16 cannot capture those.
        const std::string& key = item.key();
        if (std::find_if(keys.begin(), keys.end(), [&](const char* k) { return key == k; }) ==
            keys.end())
            throw CorpusError(fmt::format("{}: unknown key \"{}\"", where, key));
    }
}

std::string string_field(const nlohmann::json& object, const char* key, const std::string& where) {
    const auto it = object.find(key);
    if (it == object.end()) return {};
    if (!it->is_string()) throw CorpusError(fmt::format("{}: \"{}\" must be a string", where, key));
    return it->get<std::string>();
}

uint64_t number_field(const nlohmann::json& value, const std::string& where) {
    if (value.is_number_unsigned()) return value.get<uint64_t>();
    if (value.is_string()) {
        const std::string text = value.get<std::string>();
        try {
            size_t used = 0;
            const uint64_t number = std::stoull(text, &used, 0);
            if (used == text.size()) return number;
        } catch (const std::logic_error&) {
        }
    }
    throw CorpusError(where + " must be a non-negative number or a number string (\"0x100000\")");
}

// "${boot_images}/grub-echo.img" -> the build's image directory.
std::string expand(std::string text, const ChainPaths& paths) {
    const std::array<std::pair<std::string, std::string>, 2> variables = {
        std::pair{std::string("${boot_images}"), paths.boot_images.string()},
        std::pair{std::string("${linux_kernel}"), paths.linux_kernel.string()}};
    for (const auto& [name, value] : variables)
        for (size_t at; (at = text.find(name)) != std::string::npos;)
            text.replace(at, name.size(), value);
    return text;
}

nlohmann::json read_json(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw CorpusError(fmt::format("{}: cannot open", file.string()));
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw CorpusError(fmt::format("{}: not valid JSON: {}", file.string(),
                                      std::string(e.what()).substr(0, 120)));
    }
}

std::string linear_and_text(const InstructionRef& i) {
    return fmt::format("{:08x} {}", i.linear, i.text);
}

// The kernel_version string of a bzImage (the Linux boot protocol: the setup header's
// kernel_version field at 0x20E is an offset from 0x200), or "" when it has none.
std::string bzimage_version(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string head(0x10200, '\0'); // the field is 16 bits past 0x200
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    if (head.size() < 0x210) return {};
    const size_t offset = (static_cast<uint8_t>(head[0x20E]) |
                           static_cast<size_t>(static_cast<uint8_t>(head[0x20F])) << 8) +
                          0x200;
    if (offset >= head.size()) return {};
    return head.substr(offset, head.find('\0', offset) - offset);
}

} // namespace

ChainPaths default_chain_paths() {
    ChainPaths paths{TRANSIT86_BOOT_IMAGES_DIR, TRANSIT86_LINUX_KERNEL};
    if (const char* kernel = std::getenv("TRANSIT86_LINUX_KERNEL"); kernel && *kernel)
        paths.linux_kernel = kernel;
    return paths;
}

std::filesystem::path ChainCase::golden_file() const {
    return std::filesystem::path(file).replace_extension(".golden");
}

bool is_chain_case(const nlohmann::json& doc) {
    return doc.is_object() && doc.contains("chain");
}

ChainCase chain_case_from_json(const nlohmann::json& doc, const std::filesystem::path& file,
                               const ChainPaths& paths) {
    const std::string where = file.string();
    check_keys(doc, kCaseKeys, where);
    ChainCase c;
    c.file = file;
    c.name = file.stem().string();
    c.description = string_field(doc, "description", where);
    if (c.description.empty()) throw CorpusError(where + ": \"description\" is missing");

    const nlohmann::json& chain = doc.at("chain");
    check_keys(chain, kChainKeys, where + ": \"chain\"");
    BootOptions& b = c.boot;
    if (const std::string bios = string_field(chain, "bios", where); !bios.empty())
        b.machine.bios = expand(bios, paths);
    b.machine.disk = expand(string_field(chain, "disk", where), paths);
    b.machine.cdrom = expand(string_field(chain, "cdrom", where), paths);
    b.machine.floppy = expand(string_field(chain, "floppy", where), paths);
    b.machine.kernel = expand(string_field(chain, "kernel", where), paths);
    b.machine.initrd = expand(string_field(chain, "initrd", where), paths);
    b.machine.append = string_field(chain, "append", where);
    const std::string preset = string_field(chain, "preset", where);
    if (!preset.empty() && preset != "kvm" && preset != "intel")
        throw CorpusError(where + ": \"preset\" must be kvm or intel");
    b.preset = preset == "intel" ? ResetPreset::Intel : ResetPreset::Kvm;
    const std::string profile = string_field(chain, "profile", where);
    if (profile == "sdm")
        b.profile = vmx::Profile::Sdm;
    else if (profile == "unrestricted")
        b.profile = vmx::Profile::Unrestricted;
    else if (!profile.empty() && profile != "kvm")
        throw CorpusError(where + ": \"profile\" must be kvm, sdm or unrestricted");
    const std::string cpu = string_field(chain, "cpu", where);
    if (!cpu.empty() && cpu != "transit86" && cpu != "x86-64")
        throw CorpusError(where + ": \"cpu\" must be transit86 or x86-64");
    b.cpu = cpu == "x86-64" ? BootCpu::X86_64 : BootCpu::Transit86;
    if (chain.contains("memory_mib"))
        b.machine.memory_mib = number_field(chain["memory_mib"], where + ": \"memory_mib\"");
    if (b.machine.memory_mib < 2 || b.machine.memory_mib > 3072)
        throw CorpusError(where + ": \"memory_mib\" must be 2-3072");

    if (doc.contains("stop")) {
        const nlohmann::json& stop = doc["stop"];
        check_keys(stop, kStopKeys, where + ": \"stop\"");
        c.stop_console = string_field(stop, "console", where);
        if (stop.contains("budget"))
            c.budget = number_field(stop["budget"], where + ": \"budget\"");
        if (stop.contains("break")) {
            if (!stop["break"].is_array())
                throw CorpusError(where + ": \"break\" must be an array of addresses");
            for (const auto& address : stop["break"])
                c.breaks.push_back(number_field(address, where + ": \"break\""));
        }
        c.break_after_console = string_field(stop, "break_after_console", where);
        if (!c.break_after_console.empty() && c.breaks.empty())
            throw CorpusError(where + ": \"break_after_console\" needs \"break\" addresses");
    }
    // "input": [{"expect": TEXT, "send": TEXT}, ...], typed as `boot --expect/--send` types.
    if (doc.contains("input")) {
        if (!doc["input"].is_array())
            throw CorpusError(where + ": \"input\" must be an array of {\"expect\", \"send\"}");
        for (const nlohmann::json& step : doc["input"]) {
            check_keys(step, kInputKeys, where + ": \"input\" step");
            ConsoleInput typed{string_field(step, "expect", where),
                               string_field(step, "send", where)};
            if (typed.send.empty())
                throw CorpusError(where + ": an \"input\" step has no \"send\" text");
            b.input.push_back(std::move(typed));
        }
    }
    if (doc.contains("send_gap_ms")) {
        b.send_gap_ms = number_field(doc["send_gap_ms"], where + ": \"send_gap_ms\"");
        if (b.send_gap_ms > 60'000) throw CorpusError(where + ": \"send_gap_ms\" must be 0-60000");
    }
    // "needs": {"PATH": "what provides it"}; the first missing file is the reason to skip.
    if (doc.contains("needs")) {
        if (!doc["needs"].is_object())
            throw CorpusError(where + ": \"needs\" must map paths to what provides them");
        for (const auto& [path, provider] : doc["needs"].items()) {
            if (!provider.is_string())
                throw CorpusError(where + ": \"needs\" values must be strings");
            const std::string expanded = expand(path, paths);
            if (c.skip_reason.empty() && !std::filesystem::exists(expanded))
                c.skip_reason =
                    fmt::format("{} not found ({})", expanded, provider.get<std::string>());
        }
    }
    // "kernel_version": the golden holds one kernel's census; another version skips.
    if (const std::string wanted = string_field(doc, "kernel_version", where);
        c.skip_reason.empty() && !wanted.empty()) {
        const std::string found = bzimage_version(b.machine.kernel);
        if (!found.starts_with(wanted))
            c.skip_reason = fmt::format("the golden is for Linux {}; {} is \"{}\"", wanted,
                                        b.machine.kernel, found.substr(0, 60));
    }
    return c;
}

std::optional<ChainCase> load_chain_case(const std::filesystem::path& file,
                                         const ChainPaths& paths) {
    const nlohmann::json doc = read_json(file);
    if (!is_chain_case(doc)) return std::nullopt;
    return chain_case_from_json(doc, file, paths);
}

ChainResult run_chain(const ChainCase& c) {
    const auto wall_start = std::chrono::steady_clock::now();
    BootMachine machine(make_platform_config(c.boot), c.boot.preset, c.boot.profile);
    machine.emulator().set_cpu_model(cpu_model_for(c.boot.cpu));
    ChainResult result;
    ConsoleLines serial([&](const std::string& line) { result.console.push_back(line); });
    machine.on_serial = [&](const std::string& bytes) { serial.feed(bytes); };
    const BootLimits limits{.budget = c.budget,
                            .breakpoints = c.breaks,
                            .arm_breakpoints_at_console = c.break_after_console,
                            .stop_at_console = c.stop_console,
                            .console_input = c.boot.input,
                            .console_input_gap_ns = c.boot.send_gap_ms * 1'000'000,
                            .timeout_ns = c.boot.timeout_seconds * 1'000'000'000ull};
    const BootEnd end = machine.run(limits);
    serial.flush_partial();
    result.end = end.detail;
    result.instructions = machine.instructions();
    const WindowCensus& census = machine.census();
    // A chain's golden names every window's shape: all of them must have been kept.
    if (census.windows().size() != census.count())
        throw CorpusError(fmt::format("chain {}: {} windows, more than the {} a census keeps",
                                      c.name, census.count(), census.windows().size()));
    result.windows = census.count();
    result.instructions_in_windows = census.instructions_in_windows();
    CensusText text;
    for (const CensusWindow& window : census.windows())
        text.window(window);
    for (const WindowShape& shape : text.shapes()) {
        const CensusWindow& first = census.windows().at(shape.first_window - 1);
        result.shapes.push_back({.count = shape.count,
                                 .first = linear_and_text(first.first),
                                 .last = linear_and_text(first.last),
                                 .failing = {shape.failing.begin(), shape.failing.end()},
                                 .source = {}});
    }
    result.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return result;
}

nlohmann::json chain_golden_draft(const ChainResult& r) {
    nlohmann::json shapes = nlohmann::json::array();
    for (const ChainShape& s : r.shapes)
        shapes.push_back({{"count", s.count},
                          {"first", s.first},
                          {"last", s.last},
                          {"failing", s.failing},
                          {"source", s.source.empty() ? "TODO: which source lines" : s.source}});
    return {{"console_oracle", "TODO: scripts/qemu-reference.sh --icount ..."},
            {"shapes_oracle", "TODO: checked by hand against ..."},
            {"end", r.end},
            {"console", r.console},
            {"instructions", r.instructions},
            {"windows", r.windows},
            {"instructions_in_windows", r.instructions_in_windows},
            {"shapes", shapes}};
}

ChainResult load_chain_golden(const ChainCase& c) {
    const std::filesystem::path file = c.golden_file();
    if (!std::filesystem::exists(file))
        throw CorpusError(fmt::format("{}: no golden; `transit86 corpus run -v` prints a draft "
                                      "for a person to check (docs/corpus-format.md)",
                                      file.string()));
    const nlohmann::json doc = read_json(file);
    const std::string where = file.string();
    ChainResult g;
    try {
        g.end = doc.at("end").get<std::string>();
        g.console = doc.at("console").get<std::vector<std::string>>();
        g.instructions = doc.at("instructions").get<uint64_t>();
        g.windows = doc.at("windows").get<uint64_t>();
        g.instructions_in_windows = doc.at("instructions_in_windows").get<uint64_t>();
        for (const auto& s : doc.at("shapes"))
            g.shapes.push_back({.count = s.at("count").get<uint64_t>(),
                                .first = s.at("first").get<std::string>(),
                                .last = s.at("last").get<std::string>(),
                                .failing = s.at("failing").get<std::vector<std::string>>(),
                                .source = s.at("source").get<std::string>()});
    } catch (const nlohmann::json::exception& e) {
        throw CorpusError(fmt::format("{}: {}", where, std::string(e.what()).substr(0, 160)));
    }
    return g;
}

std::vector<std::string> compare_chain(const ChainResult& ours, const ChainResult& golden) {
    std::vector<std::string> diffs;
    if (ours.end != golden.end)
        diffs.push_back(fmt::format("end: \"{}\", golden \"{}\"", ours.end, golden.end));
    const size_t lines = std::max(ours.console.size(), golden.console.size());
    for (size_t i = 0; i < lines; ++i) {
        const std::string a = i < ours.console.size() ? ours.console[i] : "(none)";
        const std::string b = i < golden.console.size() ? golden.console[i] : "(none)";
        if (a != b)
            diffs.push_back(fmt::format("console line {}: \"{}\", golden \"{}\"", i + 1, a, b));
    }
    auto number = [&](const char* what, uint64_t a, uint64_t b) {
        if (a != b) diffs.push_back(fmt::format("{}: {}, golden {}", what, a, b));
    };
    number("instructions", ours.instructions, golden.instructions);
    number("windows", ours.windows, golden.windows);
    number("instructions in windows", ours.instructions_in_windows, golden.instructions_in_windows);
    const size_t shapes = std::max(ours.shapes.size(), golden.shapes.size());
    for (size_t i = 0; i < shapes; ++i) {
        if (i >= ours.shapes.size() || i >= golden.shapes.size()) {
            const ChainShape& s = i < ours.shapes.size() ? ours.shapes[i] : golden.shapes[i];
            diffs.push_back(fmt::format("shape {} ({} .. {}) only in {}", i + 1, s.first, s.last,
                                        i < ours.shapes.size() ? "this run" : "the golden"));
            continue;
        }
        const ChainShape& a = ours.shapes[i];
        const ChainShape& b = golden.shapes[i];
        if (a.first != b.first || a.last != b.last || a.failing != b.failing)
            diffs.push_back(fmt::format("shape {}: {} .. {} [{}], golden {} .. {} [{}]", i + 1,
                                        a.first, a.last, fmt::join(a.failing, " "), b.first, b.last,
                                        fmt::join(b.failing, " ")));
        else if (a.count != b.count)
            diffs.push_back(fmt::format("shape {} ({} .. {}): {} windows, golden {}", i + 1,
                                        a.first, a.last, a.count, b.count));
    }
    return diffs;
}

} // namespace transit86::tools
