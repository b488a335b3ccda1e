#include "tools/boot/census_report.hpp"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/formats/state_json.hpp"
#include "tools/formats/step_trace.hpp"
#include "tools/formats/text_screen.hpp"

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

void CensusReport::header(const BootOptions& o, size_t bios_size) {
    const char* preset = o.preset == ResetPreset::Intel ? "intel" : "kvm";
    const pc::MachineFiles& m = o.machine;
    if (json_) {
        nlohmann::json head = {{"bios", m.bios},
                               {"bios_size", bios_size},
                               {"memory_mib", m.memory_mib},
                               {"preset", preset},
                               {"profile", vmx::to_string(profile_)}};
        for (const auto& [key, value] :
             {std::pair{"disk", &m.disk}, std::pair{"cdrom", &m.cdrom},
              std::pair{"floppy", &m.floppy}, std::pair{"kernel", &m.kernel},
              std::pair{"initrd", &m.initrd}, std::pair{"append", &m.append}})
            if (!value->empty()) head[key] = *value;
        if (o.cpu == BootCpu::X86_64) head["cpu"] = "x86-64";
        print_json({{"boot", head}});
        return;
    }
    fmt::print("transit86 boot: {}{}, {} MiB, reset preset {}, profile {}\n",
               pc::describe_machine(m, bios_size), o.cpu == BootCpu::X86_64 ? ", cpu x86-64" : "",
               m.memory_mib, preset, vmx::to_string(profile_));
}

void CensusReport::note(const std::string& text) {
    if (json_)
        print_json({{"note", text}});
    else
        fmt::print("note: {}\n", text);
}

void CensusReport::window(const CensusWindow& w) {
    if (shapes_only_ && text_.count(w).count > 1) return; // not a new shape: counted only
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
    // The same text as examples/kvm-vmm's; a new shape's window is counted already.
    const std::string text = shapes_only_ ? format_window(w) : text_.window(w);
    std::fwrite(text.data(), 1, text.size(), stdout);
}

void CensusReport::device_log(const std::string& line) {
    if (json_)
        print_json({{"unmodelled", line}});
    else
        fmt::print("platform: {}\n", line);
}

void CensusReport::typed(const ConsoleInput& step) {
    if (json_) {
        print_json({{"input", {{"after", step.expect}, {"typed", step.send}}}});
        return;
    }
    fmt::print("{}", pc::typed_line(step));
}

void CensusReport::not_typed(std::span<const ConsoleInput> steps) {
    if (steps.empty()) return;
    if (json_) {
        print_json({{"input_not_typed",
                     {{"steps", steps.size()}, {"waiting_for", steps.front().expect}}}});
        return;
    }
    fmt::print("{}", pc::not_typed_line(steps));
}

void CensusReport::screen(const BootMachine& machine) {
    const std::optional<std::vector<std::string>> rows = read_text_screen(machine.emulator());
    if (!json_) {
        const std::string text = format_text_screen(rows);
        std::fwrite(text.data(), 1, text.size(), stdout);
    } else if (rows) {
        print_json({{"screen", *rows}});
    } else {
        print_json(
            {{"screen", nlohmann::json::array()},
             {"detail", fmt::format("the text buffer at {:#x} is not RAM", kTextBufferAddress)}});
    }
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
                                  {"windows", census.count()},
                                  {"instructions_in_windows", census.instructions_in_windows()},
                                  {"instructions", total},
                                  {"block_engine_instructions", stats.in_blocks},
                                  {"wall_seconds", wall}};
        if (longest)
            summary["longest"] = {{"window", longest->number}, {"length", longest->length}};
        if (shapes_only_) {
            nlohmann::json shapes = nlohmann::json::array();
            for (const WindowShape& shape : text_.shapes())
                shapes.push_back(
                    {{"first_window", shape.first_window},
                     {"count", shape.count},
                     {"instructions", shape.instructions},
                     {"first", fmt::format("{:08x} {}", shape.first_linear, shape.first_text)},
                     {"last", fmt::format("{:08x} {}", shape.last_linear, shape.last_text)},
                     {"failing", shape.failing}});
            print_json({{"shapes", shapes}});
        }
        print_json({{"census", summary}});
        return;
    }
    if (!ports.empty())
        fmt::print("platform: ports no device claims (read as all ones): {}\n",
                   fmt::join(ports, " "));
    if (!pages.empty())
        fmt::print("platform: pages nothing maps (read as all ones): {}\n", fmt::join(pages, " "));
    const std::string tail =
        text_.shape_table() + format_census_end(end.detail, total, machine.virtual_ns());
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    const std::string summary =
        format_census_summary(census, {.instructions = total,
                                       .block_engine_instructions = stats.in_blocks,
                                       .wall_seconds = wall});
    std::fwrite(summary.data(), 1, summary.size(), stdout);
}

} // namespace transit86::tools
