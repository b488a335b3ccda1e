#include "tools/gdb/step_target.hpp"

#include "tools/formats/step_trace.hpp"

#include <fmt/format.h>
#include <optional>

namespace transit86::gdb {

namespace {

struct StepSnapshot final : MachineSnapshot {
    CpuState state;
    std::optional<pc::PcPorts::Snapshot> ports;
    bool a20 = true;
    uint64_t retired = 0;
    std::string ended;
    size_t bytes() const override { return sizeof(*this) + ended.size(); }
};

} // namespace

StepTarget::StepTarget(RamSlot slot, pc::PcPorts& ports, const CpuState& start,
                       StepTargetOptions options)
    : slot_(slot), ports_(ports), options_(options), a20_(options.a20) {
    ports_.initial_a20(a20_);
    ports_.on_a20 = [this](bool enabled) {
        a20_ = enabled;
        emu_->set_a20(enabled);
    };
    emu_ = std::make_unique<Emulator>(std::span<const RamSlot>(&slot_, 1), &ports_);
    emu_->set_a20(a20_);
    emu_->state() = start;
    start_ = save_machine(); // a new Emulator has no completion pending: never nullptr
}

// What an Emulator keeps from one run() to the next besides its CpuState (Emulator::Impl in
// emu/emulator.cpp): a pending I/O or MMIO completion and the debug traps a MOV SS / POP SS
// holds for the next instruction, which forget_pending() drops; and its caches (decoded
// instructions, translated blocks, the TLB), which compare the bytes they came from with
// memory, so they change only which code runs (and so a fuzzer's coverage), not what:
// set_ram_slots() empties them. The rest run() sets afresh when it starts. So the same
// Emulator runs exactly as a new one would, without a new one's large allocation.
void StepTarget::forget_earlier_runs() {
    emu_->forget_pending();
    emu_->set_ram_slots(std::span<const RamSlot>(&slot_, 1));
}

void StepTarget::reset() {
    forget_earlier_runs();
    restore_machine(*start_);
}

// Byte by byte, so that a read or write reaching an unmapped page or the end of RAM reports
// how far it got; the emulator translates (A20, paging) without faulting or setting flags.
size_t StepTarget::read_linear(uint64_t linear, std::span<uint8_t> out) const {
    if (emu_->read_linear(linear, out.data(), out.size())) return out.size();
    for (size_t i = 0; i < out.size(); ++i)
        if (!emu_->read_linear(linear + i, &out[i], 1)) return i;
    return out.size();
}

size_t StepTarget::write_linear(uint64_t linear, std::span<const uint8_t> in) {
    if (slot_.read_only) return 0;
    for (size_t i = 0; i < in.size(); ++i)
        if (!emu_->write_linear(linear + i, &in[i], 1)) return i;
    return in.size();
}

StepResult StepTarget::step() {
    StepResult r;
    if (!ended_.empty()) {
        r.ended = true;
        r.event = ended_ + " (the run has ended: reverse execution or kill)";
        return r;
    }
    if (options_.budget != 0 && retired_ >= options_.budget) {
        ended_ = fmt::format("budget of {} spent", options_.budget);
        r.ended = true;
        r.event = ended_;
        return r;
    }
    CpuState& s = emu_->state();
    const uint16_t cs = s[Seg::CS].selector;
    const uint32_t eip = s.eip;
    // Budget 1: a REP string instruction returns after each chunk of 1024 iterations
    // (emulator.hpp), so one step is bounded whatever ECX holds.
    static constexpr RunLimits kOneStep{
        .budget = 1, .stop_when_valid = std::nullopt, .single_step = true};
    const Exit exit = emu_->run(kOneStep);
    r.retired = exit.instructions != 0;
    if (r.retired) ++retired_;
    r.console = ports_.take_console();
    // The words `transit86 step` ends with (tools/cmd_step.cpp).
    switch (exit.reason) {
    case ExitReason::Step: return r;
    case ExitReason::Budget: return r; // a REP chunk: EIP still at the instruction
    case ExitReason::Halt:
        if (options_.hlt_resume && (s.eflags & flags::IF)) return r;
        ended_ = fmt::format("hlt at {:04x}:{:x}", cs, eip);
        break;
    case ExitReason::Io:
        if (auto code = ports_.debug_exit_code())
            ended_ =
                fmt::format("isa-debug-exit wrote {:#x} (`transit86 step` exits with status {})",
                            *code, pc::PcPorts::exit_status_for(*code));
        else
            ended_ = fmt::format("port {:#x} needs the host", exit.io.port);
        break;
    case ExitReason::Exception:
        ended_ = fmt::format("exception {} (error code {:#x}) the emulator cannot deliver: {}",
                             exit.vector, exit.error_code, exit.detail ? exit.detail : "");
        break;
    case ExitReason::Unsupported:
        ended_ = fmt::format("unsupported instruction [{}] at linear {:#x}: {}",
                             tools::hex_bytes(exit.bytes.data(), exit.byte_count),
                             exit.linear_address, exit.detail ? exit.detail : "");
        break;
    case ExitReason::Mmio:
        ended_ =
            fmt::format("mmio {} at {:#x}{}", exit.mmio_write ? "write" : "read", exit.mmio_address,
                        exit.detail ? fmt::format(" ({})", exit.detail) : "");
        break;
    default:
        ended_ = fmt::format("{}{}", to_string(exit.reason),
                             exit.detail ? fmt::format(" ({})", exit.detail) : "");
        break;
    }
    r.ended = true;
    r.event = ended_;
    return r;
}

std::unique_ptr<MachineSnapshot> StepTarget::save_machine() const {
    if (emu_->completion_pending()) return nullptr;
    // A MOV SS may hold debug traps no CpuState carries (a data breakpoint it hit): a
    // snapshot here would replay without them. The next position, after the shadow, can be.
    if (emu_->debug_traps_held()) return nullptr;
    auto snap = std::make_unique<StepSnapshot>();
    snap->state = emu_->state();
    snap->ports.emplace(ports_.save());
    snap->a20 = a20_;
    snap->retired = retired_;
    snap->ended = ended_;
    return snap;
}

void StepTarget::restore_machine(const MachineSnapshot& snapshot) {
    const auto& snap = static_cast<const StepSnapshot&>(snapshot);
    ports_.restore(*snap.ports);
    a20_ = snap.a20;
    retired_ = snap.retired;
    ended_ = snap.ended;
    // A pending I/O or MMIO completion, or a MOV SS's held traps, belong to the state being
    // replaced. The caches go on (they check the bytes they cached, so restored RAM takes
    // effect at once).
    emu_->forget_pending();
    emu_->set_a20(a20_);
    emu_->state() = snap.state;
}

std::optional<std::string> StepTarget::monitor(std::string_view command) {
    if (command == "census")
        return std::string("census: only with `transit86 boot`, which counts the windows a whole "
                           "boot goes through; `step` runs one image from one state\n");
    return std::nullopt;
}

std::string StepTarget::monitor_help() const {
    return "  census            the windows so far (transit86 boot only)\n";
}

} // namespace transit86::gdb
