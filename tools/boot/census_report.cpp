#include "tools/boot/census_report.hpp"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/formats/state_json.hpp"
#include "tools/formats/step_trace.hpp"

namespace transit86::tools {

namespace {

std::string ip_text(const InstructionRef& i) {
    return hex(i.eip, i.mode == "P32" || i.mode == "R32" || i.mode == "U32" ? 8 : 4);
}

nlohmann::json instruction_json(const InstructionRef& i) {
    return {{"index", i.index},
            {"mode", i.mode},
            {"cs", hex(i.cs, 4)},
            {"ip", ip_text(i)},
            {"linear", hex(i.linear, 8)},
            {"bytes", hex_bytes(i.bytes.data(), i.length)},
            {"asm", i.text}};
}

void print_json(const nlohmann::json& j) {
    const std::string text = dump_json(j);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

} // namespace

std::string describe(const InstructionRef& i) {
    return fmt::format("#{} {} {}:{} {}  {}  {}", i.index, i.mode, hex(i.cs, 4), ip_text(i),
                       hex(i.linear, 6), hex_bytes(i.bytes.data(), i.length), i.text);
}

void CensusReport::header(const BootOptions& o, size_t bios_size) {
    const char* preset = o.preset == ResetPreset::Intel ? "intel" : "kvm";
    if (json_) {
        nlohmann::json head = {{"bios", o.bios},
                               {"bios_size", bios_size},
                               {"memory_mib", o.memory_mib},
                               {"preset", preset},
                               {"profile", vmx::to_string(profile_)}};
        if (!o.disk.empty()) head["disk"] = o.disk;
        if (!o.kernel.empty()) head["kernel"] = o.kernel;
        if (!o.initrd.empty()) head["initrd"] = o.initrd;
        if (!o.append.empty()) head["append"] = o.append;
        if (o.cpu == BootCpu::X86_64) head["cpu"] = "x86-64";
        print_json({{"boot", head}});
        return;
    }
    std::string what = fmt::format("bios {} ({} KiB)", o.bios, bios_size >> 10);
    if (!o.disk.empty()) what += fmt::format(", disk {}", o.disk);
    if (!o.kernel.empty()) what += fmt::format(", kernel {}", o.kernel);
    if (!o.initrd.empty()) what += fmt::format(", initrd {}", o.initrd);
    if (!o.append.empty()) what += fmt::format(", append \"{}\"", o.append);
    if (o.cpu == BootCpu::X86_64) what += ", cpu x86-64";
    fmt::print("transit86 boot: {}, {} MiB, reset preset {}, profile {}\n", what, o.memory_mib,
               preset, vmx::to_string(profile_));
}

void CensusReport::window(const CensusWindow& w) {
    if (json_) {
        print_json({{"window",
                     {{"number", w.number},
                      {"length", w.length},
                      {"first", instruction_json(w.first)},
                      {"last", instruction_json(w.last)},
                      {"failing", w.failing},
                      {"ended_by", w.ended_by}}}});
        return;
    }
    Shape* shape = shape_of(w);
    const std::string head =
        fmt::format("== window {}: {} instruction{} #{}..#{}, ended: {}", w.number, w.length,
                    w.length == 1 ? "" : "s", w.first.index, w.last.index, w.ended_by);
    if (shape->count > 1) {
        fmt::print("{} (as window {})\n", head, shape->first_window);
        return;
    }
    fmt::print("{}\n   failing at start: {}\n   first {}\n   last  {}\n", head,
               fmt::join(w.failing, ", "), describe(w.first), describe(w.last));
}

CensusReport::Shape* CensusReport::shape_of(const CensusWindow& w) {
    for (Shape& shape : shapes_)
        if (shape.first_linear == w.first.linear && shape.last_linear == w.last.linear &&
            shape.failing == w.failing) {
            ++shape.count;
            shape.instructions += w.length;
            return &shape;
        }
    shapes_.push_back({.first_linear = w.first.linear,
                       .last_linear = w.last.linear,
                       .failing = w.failing,
                       .first_window = w.number,
                       .count = 1,
                       .instructions = w.length,
                       .first_text = w.first.text,
                       .last_text = w.last.text});
    return &shapes_.back();
}

void CensusReport::device_log(const std::string& line) {
    if (json_)
        print_json({{"unmodelled", line}});
    else
        fmt::print("platform: {}\n", line);
}

void CensusReport::end(const BootEnd& end, const BootMachine& machine, double wall) {
    const WindowCensus& census = machine.census();
    const CensusWindow* longest = census.longest();
    const uint64_t total = machine.instructions();
    const Emulator::EngineStats stats = machine.emulator().engine_stats();
    const pc::PcPlatform& platform = machine.platform();
    std::vector<std::string> ports, pages;
    for (const uint16_t port : platform.unclaimed_ports())
        ports.push_back(fmt::format("{:#x}", port));
    for (const uint64_t page : platform.unassigned_pages())
        pages.push_back(fmt::format("{:#x}", page));
    if (json_) {
        print_json({{"unclaimed", {{"ports", ports}, {"pages", pages}}}});
        print_json({{"end",
                     {{"reason", to_string(end.kind)},
                      {"detail", end.detail},
                      {"instructions", total},
                      {"virtual_ns", machine.virtual_ns()},
                      {"state", state_to_json(machine.emulator().state())}}}});
        nlohmann::json summary = {{"profile", vmx::to_string(profile_)},
                                  {"windows", census.windows().size()},
                                  {"instructions_in_windows", census.instructions_in_windows()},
                                  {"instructions", total},
                                  {"block_engine_instructions", stats.in_blocks},
                                  {"wall_seconds", wall}};
        if (longest)
            summary["longest"] = {{"window", longest->number}, {"length", longest->length}};
        print_json({{"census", summary}});
        return;
    }
    if (!ports.empty())
        fmt::print("platform: ports no device claims (read as all ones): {}\n",
                   fmt::join(ports, " "));
    if (!pages.empty())
        fmt::print("platform: pages nothing maps (read as all ones): {}\n", fmt::join(pages, " "));
    if (shapes_.size() > 1 && shapes_.size() < census.windows().size()) {
        std::vector<const Shape*> by_count;
        for (const Shape& shape : shapes_)
            by_count.push_back(&shape);
        std::stable_sort(by_count.begin(), by_count.end(),
                         [](const Shape* a, const Shape* b) { return a->count > b->count; });
        fmt::print("== {} window shapes (same first and last instruction, same failing checks):\n",
                   shapes_.size());
        for (const Shape* shape : by_count)
            fmt::print("   {:>6} x as window {:<6} {:>10} instructions  {:08x} {} .. {:08x} {}\n",
                       shape->count, shape->first_window, shape->instructions, shape->first_linear,
                       shape->first_text, shape->last_linear, shape->last_text);
    }
    fmt::print("== end: {} after {} instructions, {:.3f} s of virtual time\n", end.detail, total,
               static_cast<double>(machine.virtual_ns()) / 1e9);
    const double share =
        total ? 100.0 * static_cast<double>(stats.in_blocks) / static_cast<double>(total) : 0.0;
    fmt::print("== census ({}): {} window{}, {} instructions inside windows, longest {}, {} "
               "instructions ({:.1f}% in the block engine), {:.2f} s\n",
               vmx::to_string(profile_), census.windows().size(),
               census.windows().size() == 1 ? "" : "s", census.instructions_in_windows(),
               longest ? fmt::format("{} (window {})", longest->length, longest->number) : "-",
               total, share, wall);
}

} // namespace transit86::tools
