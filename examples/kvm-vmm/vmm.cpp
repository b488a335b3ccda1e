#include "vmm.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "kvm_vm.hpp"
#include "pc/pc_ports.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vmx_checks.hpp"
#include "vcpu_view.hpp"

namespace kvm_vmm {

namespace {

using transit86::Exit;
using transit86::ExitReason;
using transit86::VcpuState;

uint64_t fnv1a(const uint8_t* bytes, uint64_t size) {
    uint64_t h = 0xcbf29ce484222325;
    for (uint64_t i = 0; i < size; ++i)
        h = (h ^ bytes[i]) * 0x100000001b3;
    return h;
}

class Vmm {
  public:
    Vmm(const std::vector<uint8_t>& image, const VmmOptions& options)
        : options_(options), kvm_(options.ram_size), slot_{.guest_phys = 0,
                                                           .size = kvm_.ram_size(),
                                                           .host = kvm_.ram()},
          emu_({&slot_, 1}, &ports_) {
        if (image.size() > kvm_.ram_size() - options.load_address)
            throw KvmError("image does not fit in guest RAM");
        std::memcpy(kvm_.ram() + options.load_address, image.data(), image.size());
        ports_.on_a20 = [this](bool on) { emu_.set_a20(on); };
        kvm_.set_cpuid(emu_.cpu_model()); // one CPU model on both sides
    }

    VmmResult run();

  private:
    enum class Side { Kvm, Transit86, Stopped };
    Side run_transit86();
    Side run_kvm();
    bool complete_kvm_io();
    void serve_kvm_io(kvm_run& r);
    Side stop(std::string why, bool finished);
    template <class... Args>
    void log(fmt::format_string<Args...> format, Args&&... args) {
        if (options_.log) options_.log(fmt::format(format, std::forward<Args>(args)...));
    }

    VmmOptions options_;
    KvmVm kvm_;
    transit86::RamSlot slot_;
    transit86::pc::PcPorts ports_;
    transit86::Emulator emu_;
    VcpuState state_{};    // the current state, whichever side holds it
    bool announce_ = true; // log the next KVM_RUN
    VmmResult result_;
};

VmmResult Vmm::run() {
    // KVM's own reset state, pointed at the boot sector.
    state_ = kvm_.state(/*with_fpu=*/true);
    state_.sregs.cs.selector = 0;
    state_.sregs.cs.base = 0;
    state_.regs.rip = options_.load_address;
    kvm_.set_state(state_);
    Side side = Side::Kvm;
    if (options_.mode == Mode::Hybrid && !valid_for_entry(state_)) {
        log("[transit86] {} {}, not valid for VM entry ({})", position(state_), mode_name(state_),
            first_failure(state_));
        side = Side::Transit86;
    }
    for (uint64_t turns = 0; side != Side::Stopped; ++turns) {
        if (turns == options_.max_exits)
            side = stop("too many exits", false);
        else
            side = side == Side::Kvm ? run_kvm() : run_transit86();
    }
    result_.console = ports_.take_console();
    result_.debug_exit_code = ports_.debug_exit_code();
    result_.final_state = state_;
    result_.ram_hash = fnv1a(kvm_.ram(), kvm_.ram_size());
    return result_;
}

Vmm::Side Vmm::stop(std::string why, bool finished) {
    result_.stop = std::move(why);
    result_.finished = finished;
    return Side::Stopped;
}

// transit86 runs the guest until VM entry would accept it (budget 130 per run(), as KVM's
// handle_invalid_guest_state loop), sharing the devices and guest RAM with KVM.
Vmm::Side Vmm::run_transit86() {
    const transit86::RunLimits limits{.budget = 130, .stop_when_valid = kProfile};
    const std::string from = position(state_);
    uint64_t instructions = 0;
    for (;;) {
        const Exit exit = emu_.run(state_, limits);
        instructions += exit.instructions;
        result_.emulated_instructions += exit.instructions;
        switch (exit.reason) {
        case ExitReason::GuestStateValid:
            log("[transit86] {} -> {}: {} instructions; valid for VM entry: KVM_SET_SREGS, "
                "KVM_SET_REGS, KVM_SET_VCPU_EVENTS",
                from, position(state_), instructions);
            kvm_.set_state(state_);
            ++result_.to_kvm;
            announce_ = true;
            return Side::Kvm;
        case ExitReason::Budget: continue;
        case ExitReason::Io: // the devices leave only isa-debug-exit to the host
            if (ports_.debug_exit_code()) {
                emu_.run(state_, transit86::RunLimits{.budget = 1, .stop_when_valid = {}});
                log("[transit86] {} -> {}: {} instructions, then isa-debug-exit", from,
                    position(state_), instructions + 1);
                return stop("isa-debug-exit", true);
            }
            if (exit.io.is_in) emu_.complete_io(~0u);
            continue;
        case ExitReason::Mmio: // no MMIO devices: reads float high, writes are dropped
            if (exit.mmio_size == 0) return stop("transit86: instruction fetch outside RAM", false);
            if (!exit.mmio_write) emu_.complete_mmio(~uint64_t{0});
            continue;
        case ExitReason::Halt: return stop("hlt", true);
        case ExitReason::TripleFault: return stop("triple fault (in transit86)", false);
        default:
            return stop(fmt::format("transit86 stopped at {}: {} ({})", position(state_),
                                    to_string(exit.reason), exit.detail ? exit.detail : ""),
                        false);
        }
    }
}

void Vmm::serve_kvm_io(kvm_run& r) {
    if (r.exit_reason == KVM_EXIT_MMIO) {
        if (r.mmio.is_write == 0) std::memset(r.mmio.data, 0xFF, sizeof(r.mmio.data));
        return;
    }
    serve_kvm_pio(r, ports_); // isa-debug-exit answers ExitToHost: noted in debug_exit_code()
}

// Serves an I/O or MMIO exit and lets KVM finish the instruction without entering the guest
// again (kvm_run.immediate_exit), so the state read next is at an instruction boundary. A
// string instruction may come back with its next element's exit. False: the guest asked to
// end (isa-debug-exit).
bool Vmm::complete_kvm_io() {
    kvm_run& r = kvm_.exit();
    while (r.exit_reason == KVM_EXIT_IO || r.exit_reason == KVM_EXIT_MMIO) {
        serve_kvm_io(r);
        if (kvm_.run(/*complete_only=*/true) == -EINTR) break;
        ++result_.kvm_exits;
    }
    return !ports_.debug_exit_code();
}

Vmm::Side Vmm::run_kvm() {
    // Real mode: no CR0 exit will say when PE is set, so single-step and look at every
    // instruction boundary (KVM reports HLT only without single-step, hence the exception).
    const bool step = options_.mode == Mode::Hybrid && real_mode(state_) && !hlt_at(state_, kvm_);
    if (announce_ || step != kvm_.single_step()) {
        log("[kvm]       {} {}: KVM_RUN{}", position(state_), mode_name(state_),
            step ? ", single-stepped (KVM cannot trap the CR0 write here)" : "");
        announce_ = false;
    }
    kvm_.set_single_step(step);
    if (kvm_.run(/*complete_only=*/false) == -EINTR) return Side::Kvm;
    ++result_.kvm_exits;
    kvm_run& r = kvm_.exit();
    switch (r.exit_reason) {
    case KVM_EXIT_IO:
    case KVM_EXIT_MMIO:
        if (!complete_kvm_io()) {
            state_ = kvm_.state(/*with_fpu=*/true);
            log("[kvm]       {}: isa-debug-exit", position(state_));
            return stop("isa-debug-exit", true);
        }
        break;
    case KVM_EXIT_DEBUG: ++result_.kvm_single_steps; break;
    case KVM_EXIT_HLT: state_ = kvm_.state(/*with_fpu=*/true); return stop("hlt", true);
    case KVM_EXIT_SHUTDOWN:
        state_ = kvm_.state(/*with_fpu=*/true);
        return stop("triple fault (in KVM)", false);
    case KVM_EXIT_FAIL_ENTRY:
        // VT-x refused the state (basic exit reason 33, "VM-entry failure due to invalid
        // guest state"): the same hand-over as a failed check.
        state_ = kvm_.state(/*with_fpu=*/true);
        log("[kvm]       {} VM entry failed (reason {:#x}) -> transit86", position(state_),
            r.fail_entry.hardware_entry_failure_reason);
        // A state transit86's checks pass would come straight back here.
        if (r.fail_entry.hardware_entry_failure_reason != kEntryFailureInvalidGuestState ||
            valid_for_entry(state_))
            return stop(fmt::format("VM entry failed (hardware reason {:#x}) at {}, a state "
                                    "transit86's checks pass",
                                    r.fail_entry.hardware_entry_failure_reason, position(state_)),
                        false);
        ++result_.to_transit86;
        return Side::Transit86;
    default:
        state_ = kvm_.state(/*with_fpu=*/true);
        return stop(fmt::format("KVM exit {} at {}", r.exit_reason, position(state_)), false);
    }
    state_ = kvm_.state(/*with_fpu=*/true);
    if (options_.mode == Mode::Hybrid && !valid_for_entry(state_)) {
        log("[kvm]       {} {} (KVM exit {}), not valid for VM entry ({}) -> transit86",
            position(state_), mode_name(state_), result_.kvm_exits, first_failure(state_));
        ++result_.to_transit86;
        return Side::Transit86;
    }
    return Side::Kvm;
}

} // namespace

VmmResult run_image(const std::vector<uint8_t>& image, const VmmOptions& options) {
    Vmm vmm(image, options);
    return vmm.run();
}

} // namespace kvm_vmm
