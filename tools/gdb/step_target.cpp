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
    new_emulator();
    emu_->state() = start;
    start_ = save_machine(); // a new Emulator has no completion pending: never nullptr
}

// A fresh emulator, with no pending I/O or MMIO completion.
void StepTarget::new_emulator() {
    emu_ = std::make_unique<Emulator>(std::span<const RamSlot>(&slot_, 1), &ports_);
    emu_->set_a20(a20_);
    traps_may_be_held_ = false;
}

// What an Emulator keeps from one run() to the next besides its CpuState (Emulator::Impl in
// emu/emulator.cpp):
//   - a pending I/O or MMIO completion (completion_pending());
//   - the debug traps of a MOV SS / POP SS, held for the instruction after it: only after a
//     step that ended in its shadow (traps_may_be_held_, set by step() and kept until the
//     Emulator is replaced, since nothing outside says when they are gone);
//   - its caches: decoded instructions, translated blocks and the TLB. They compare the bytes
//     they came from with memory, so they do not change what runs, only which code does it
//     (and so a fuzzer's coverage); set_ram_slots() empties all three.
// The rest (the VM-entry verdict cache, port promises, the code epoch) run() sets afresh when
// it starts. So with neither of the first two, the same Emulator with its caches emptied runs
// exactly as a new one would; otherwise it is replaced (a new one costs a large allocation,
// which the fuzzer's thousands of sessions a second cannot afford each time).
void StepTarget::forget_earlier_runs() {
    if (emu_->completion_pending() || traps_may_be_held_)
        new_emulator();
    else
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
    if (s.interruptibility & interruptibility::BlockingByMovSs) traps_may_be_held_ = true;
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
    // In a MOV SS shadow the Emulator may hold debug traps no CpuState carries (a data
    // breakpoint the MOV SS hit): a snapshot here would replay without them. The next
    // position, after the shadow, can be saved.
    if (traps_may_be_held_ &&
        (emu_->state().interruptibility & interruptibility::BlockingByMovSs) != 0)
        return nullptr;
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
    // replaced: only a fresh Emulator has neither. Otherwise the same one goes on (its decode
    // cache and block engine check the bytes they cached, so restored RAM takes effect at once).
    if (emu_->completion_pending() || traps_may_be_held_) new_emulator();
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
