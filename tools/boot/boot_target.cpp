#include "tools/boot/boot_target.hpp"

#include <fmt/format.h>

#include "tools/formats/text_screen.hpp"
#include "transit86/census.hpp"

namespace transit86::tools {

namespace {

struct BootTargetSnapshot final : gdb::MachineSnapshot {
    std::unique_ptr<BootMachine::Snapshot> machine;
    size_t console_size = 0;
    std::string ended;
    size_t bytes() const override { return sizeof(*this) + machine->bytes() + ended.size(); }
};

constexpr size_t kCensusShown = 20; // windows shown at each end by `monitor census`
// Virtual time one run may take at most: a CPU halted with its timer interrupts masked skips
// ahead without retiring anything, and the server must get to look at Ctrl-C.
constexpr uint64_t kSliceNs = 1'000'000'000;

} // namespace

BootTarget::BootTarget(BootMachine& machine, BootTargetOptions options)
    : machine_(machine), options_(options) {
    pc::PcMemoryMap& memory = machine_.platform().memory();
    ram_ = RamSlot{.guest_phys = 0, .size = memory.ram_size(), .host = memory.ram()};
    machine_.platform().journal_disk_writes();
    machine_.on_serial = [this](const std::string& s) { console_ += s; };
    if (options_.debugcon)
        machine_.on_debugcon = [this](const std::string& s) { console_ += s; };
    else
        machine_.on_debugcon = nullptr;
    machine_.on_device_log = [this](const std::string& line) {
        console_ += "platform: " + line + "\n";
    };
    machine_.on_step = nullptr;
}

// Byte by byte where the whole range does not translate, so that a read or write reaching
// an unmapped page, MMIO or the end of RAM reports how far it got. The emulator translates
// (A20, the guest's page tables) without faulting or setting flags; ROM reads as the guest
// sees it, and an MMIO address ends the read without touching the device.
size_t BootTarget::read_linear(uint64_t linear, std::span<uint8_t> out) const {
    if (machine_.emulator().read_linear(linear, out.data(), out.size())) return out.size();
    for (size_t i = 0; i < out.size(); ++i)
        if (!machine_.emulator().read_linear(linear + i, &out[i], 1)) return i;
    return out.size();
}

size_t BootTarget::write_linear(uint64_t linear, std::span<const uint8_t> in) {
    for (size_t i = 0; i < in.size(); ++i)
        if (!machine_.emulator().write_linear(linear + i, &in[i], 1)) return i;
    return in.size();
}

// A step that returns without a position (the CPU halted for a whole slice of virtual time)
// is what GDB sees as a step inside one instruction: the pc stays.
gdb::StepResult BootTarget::step() {
    gdb::RunResult r = run({.max_positions = 1});
    return {.retired = r.positions != 0,
            .ended = r.ended,
            .event = std::move(r.event),
            .console = std::move(r.console)};
}

gdb::RunResult BootTarget::run(const gdb::RunRequest& request) {
    gdb::RunResult out;
    if (!ended_.empty()) {
        out.ended = true;
        out.event = ended_ + " (the boot has ended: reverse execution or kill)";
        return out;
    }
    const uint64_t start = machine_.position();
    const size_t console_start = console_.size();
    const BootEnd end = machine_.run({.budget = options_.budget,
                                      .breakpoints = request.breakpoints,
                                      .stop_when_window_ends = false,
                                      .stop_at_console = {},
                                      .timeout_ns = options_.timeout_ns,
                                      .until_position = start + request.max_positions,
                                      .until_virtual_ns = machine_.virtual_ns() + kSliceNs,
                                      .stop_at_window_edges = request.stop_on_verdict_change,
                                      .resumable = true});
    out.positions = machine_.position() - start;
    out.console = console_.substr(console_start);
    switch (end.kind) {
    case BootEnd::Kind::Position: break;
    case BootEnd::Kind::Breakpoint: out.at_breakpoint = true; break;
    case BootEnd::Kind::WindowEdge:
        out.verdict_changed = true;
        // Validity changes only in interpreted instructions (emulator.hpp last_interpreted).
        out.changed_by = machine_.emulator().last_interpreted().linear;
        break;
    default:
        ended_ = end.detail.empty() ? std::string(to_string(end.kind)) : end.detail;
        out.ended = true;
        out.event = ended_;
        break;
    }
    return out;
}

std::unique_ptr<gdb::MachineSnapshot> BootTarget::save_machine() const {
    std::unique_ptr<BootMachine::Snapshot> machine = machine_.save();
    if (!machine) return nullptr;
    auto snap = std::make_unique<BootTargetSnapshot>();
    snap->machine = std::move(machine);
    snap->console_size = console_.size();
    snap->ended = ended_;
    return snap;
}

void BootTarget::restore_machine(const gdb::MachineSnapshot& snapshot) {
    const auto& snap = static_cast<const BootTargetSnapshot&>(snapshot);
    machine_.restore(*snap.machine);
    if (snap.console_size < console_.size()) console_.resize(snap.console_size);
    ended_ = snap.ended;
}

std::string BootTarget::census_text(bool all) const {
    const WindowCensus& census = machine_.census();
    const std::vector<CensusWindow>& windows = census.windows();
    const bool all_kept = windows.size() == census.count();
    const size_t closed = census.in_window() && all_kept ? windows.size() - 1 : windows.size();
    std::string out;
    CensusText text;
    const bool every = all || closed <= 2 * kCensusShown;
    for (size_t i = 0; i < closed; ++i) {
        const std::string one = text.window(windows[i]); // every one, for the shapes' counts
        if (every || i < kCensusShown || i >= closed - kCensusShown) out += one;
        if (!every && i == kCensusShown)
            out += fmt::format("   ... {} windows not shown (`monitor census all`)\n",
                               closed - 2 * kCensusShown);
    }
    if (!all_kept) {
        const uint64_t not_kept = census.count() - windows.size() - (census.in_window() ? 1 : 0);
        if (not_kept > 0)
            out += fmt::format("   ... {} later windows not kept (a census keeps the first {})\n",
                               not_kept, windows.size());
    }
    if (census.in_window()) {
        const CensusWindow& w = *census.last();
        out += fmt::format("== window {}: open, {} instruction{} so far from #{}\n"
                           "   failing at start: {}\n   first {}\n",
                           w.number, w.length, w.length == 1 ? "" : "s", w.first.index,
                           fmt::join(w.failing, ", "), format_instruction(w.first));
    }
    out += text.shape_table();
    const CensusWindow* longest = census.longest();
    out +=
        fmt::format("== census ({}): {} window{}, {} instructions inside windows, longest {}, {} "
                    "instructions so far\n",
                    vmx::to_string(census.profile()), windows.size(),
                    windows.size() == 1 ? "" : "s", census.instructions_in_windows(),
                    longest ? fmt::format("{} (window {})", longest->length, longest->number) : "-",
                    machine_.instructions());
    return out;
}

std::optional<std::string> BootTarget::monitor(std::string_view command) {
    if (command == "census") return census_text(false);
    if (command == "census all") return census_text(true);
    if (command == "screen") return format_text_screen(read_text_screen(machine_.emulator()));
    return std::nullopt;
}

std::string BootTarget::monitor_help() const {
    return "  census [all]      the windows so far, as `transit86 boot` lists them\n"
           "  screen            the text screen at 0xB8000, as `transit86 boot --screen` prints "
           "it\n";
}

} // namespace transit86::tools
