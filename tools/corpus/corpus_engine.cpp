#include "tools/corpus/corpus_engine.hpp"

#include <fmt/format.h>
#include <vector>

#include "oracle/kvm_stepper.hpp"
#include "oracle/unicorn_runner.hpp"
#include "tools/formats/trace_format.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86::tools {

namespace {

constexpr uint64_t kRamSize = 16u << 20;

// transit86 itself.
class Transit86Engine final : public CaseEngine {
  public:
    Transit86Engine()
        : ram_(kRamSize), slot_{.guest_phys = 0, .size = kRamSize, .host = ram_.data()},
          emu_({&slot_, 1}) {}
    const char* name() const override { return "transit86"; }
    bool load(uint64_t gpa, std::span<const uint8_t> bytes) override {
        return emu_.write_physical(gpa, bytes.data(), bytes.size());
    }
    bool set_state(const CpuState& state, std::string&) override {
        emu_.state() = state;
        return true;
    }
    void set_a20(bool enabled) override { emu_.set_a20(enabled); }
    EngineStep step(pc::PcPorts& ports) override {
        // The ports are the driver's: hand them to the emulator for this step.
        Emulator& emu = emu_;
        emu.set_port_handler(&ports);
        const RunLimits one{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
        const Exit exit = emu.run(one);
        switch (exit.reason) {
        case ExitReason::Step: return {};
        case ExitReason::Halt: return {EngineStep::Kind::Halted, {}};
        case ExitReason::Io:
            // PcPorts exits to the host only for isa-debug-exit. An Io exit leaves the OUT
            // unretired until the host re-enters; do so, as KVM does before it reports.
            if (ports.debug_exit_code() && emu.run(one).reason == ExitReason::Step) return {};
            return {EngineStep::Kind::Stopped,
                    fmt::format("port {:#x} needs the host", exit.io.port)};
        case ExitReason::Exception:
            return {EngineStep::Kind::Stopped, fmt::format("exception {}", exit.vector)};
        default:
            return {EngineStep::Kind::Stopped,
                    fmt::format("{}{}", to_string(exit.reason),
                                exit.detail ? fmt::format(": {}", exit.detail) : "")};
        }
    }
    CpuState state() const override { return emu_.state(); }

  private:
    std::vector<uint8_t> ram_;
    RamSlot slot_;
    Emulator emu_;
};

// Port accesses an oracle reports, replayed into the driver's devices (OUTs; INs were
// answered through the oracle's port-input callback).
void replay_outs(const std::vector<oracle::PortAccess>& io, pc::PcPorts& ports) {
    for (const oracle::PortAccess& a : io) {
        if (a.in) continue;
        for (uint32_t i = 0; i < a.count; ++i) {
            uint32_t value = 0;
            for (uint8_t b = 0; b < a.size; ++b)
                value |= uint32_t{a.data[i * a.size + b]} << (8 * b);
            PortAccess access{.port = a.port, .size = a.size, .is_in = false, .data = value};
            ports.access(access);
        }
    }
}

// Linux KVM, single-stepped (tests/oracle/kvm_stepper.hpp).
class KvmEngine final : public CaseEngine {
  public:
    explicit KvmEngine(std::unique_ptr<oracle::KvmStepper> kvm) : kvm_(std::move(kvm)) {}
    const char* name() const override { return "kvm"; }
    bool load(uint64_t gpa, std::span<const uint8_t> bytes) override {
        return kvm_->load(gpa, bytes);
    }
    bool set_state(const CpuState& state, std::string& error) override {
        return kvm_->set_state(state, &error);
    }
    void set_a20(bool enabled) override { a20_ = enabled; } // KVM models A20 always on
    EngineStep step(pc::PcPorts& ports) override {
        if (!a20_) return {EngineStep::Kind::Stopped, "KVM cannot model A20 off"};
        kvm_->set_port_input([&ports](uint16_t port, uint8_t size) {
            PortAccess access{.port = port, .size = size, .is_in = true, .data = 0};
            ports.access(access);
            return access.data;
        });
        const oracle::StepResult r = kvm_->step();
        replay_outs(r.io, ports);
        switch (r.reason) {
        case oracle::StepReason::Debug:
        case oracle::StepReason::Io: return {};
        case oracle::StepReason::Hlt: return {EngineStep::Kind::Halted, {}};
        default:
            return {EngineStep::Kind::Stopped, fmt::format("kvm: {}", oracle::to_string(r.reason))};
        }
    }
    CpuState state() const override { return kvm_->state(); }

  private:
    std::unique_ptr<oracle::KvmStepper> kvm_;
    bool a20_ = true;
};

// Unicorn 2, stepped (tests/oracle/unicorn_runner.hpp). It starts from plain real-mode or
// flat 32-bit states only, has no A20 gate, and — 2.0.1 — does not translate linear addresses
// (UnicornRunner::models_paging): with CR0.PG = 1 each instruction must then run from an
// identity-mapped page (checked through the guest's tables), or the run stops, so a paging
// case's golden is one that real paging gives too. It cannot show accessed/dirty flags (not
// in a golden) nor page faults.
class UnicornEngine final : public CaseEngine {
  public:
    explicit UnicornEngine(std::unique_ptr<oracle::UnicornRunner> uc) : uc_(std::move(uc)) {}
    const char* name() const override { return "unicorn"; }
    bool load(uint64_t gpa, std::span<const uint8_t> bytes) override {
        return uc_->load(gpa, bytes);
    }
    bool set_state(const CpuState& state, std::string& error) override {
        return uc_->set_state(state, &error);
    }
    void set_a20(bool enabled) override { a20_ = enabled; }
    EngineStep step(pc::PcPorts& ports) override {
        if (!a20_) return {EngineStep::Kind::Stopped, "Unicorn cannot model A20 off"};
        const CpuState s = state();
        const uint64_t linear = (s[Seg::CS].base + s.eip) & 0xFFFFFFFF;
        if ((s.cr0 & cr0::PG) && !oracle::UnicornRunner::models_paging() &&
            uc_->code_physical(linear) != linear)
            return {EngineStep::Kind::Stopped,
                    fmt::format("Unicorn identity-maps, but linear {:#x} is not", linear)};
        uc_->set_port_input([&ports](uint16_t port, uint8_t size) {
            PortAccess access{.port = port, .size = size, .is_in = true, .data = 0};
            ports.access(access);
            return access.data;
        });
        const oracle::UnicornStepResult r = uc_->step();
        replay_outs(r.io, ports);
        switch (r.reason) {
        case oracle::UnicornStepReason::Step:
        case oracle::UnicornStepReason::Io: return {};
        case oracle::UnicornStepReason::Hlt: return {EngineStep::Kind::Halted, {}};
        default:
            return {EngineStep::Kind::Stopped,
                    fmt::format("unicorn: {} {} at {:#x} (EIP {:#x})", oracle::to_string(r.reason),
                                r.error_text, r.memory_fault ? r.memory_fault->address : 0, s.eip)};
        }
    }
    CpuState state() const override {
        CpuState s = uc_->state();
        uc_->read_hidden(s); // segment caches, TR, LDTR
        return s;
    }

  private:
    std::unique_ptr<oracle::UnicornRunner> uc_;
    bool a20_ = true;
};

std::string verdict(const CpuState& s, vmx::Profile profile) {
    if (vmx::is_valid(s, profile)) return "valid";
    std::string ids;
    for (const vmx::Violation& v : vmx::evaluate(s, profile)) {
        if (!ids.empty()) ids += ',';
        ids += v.check->id;
    }
    return ids;
}

std::string step_line(const CpuState& before, const CpuState& after) {
    return fmt::format("{:04x}:{:x} {} kvm={} sdm={} unrestricted={}", before[Seg::CS].selector,
                       before.eip, mode_tag(before), verdict(after, vmx::Profile::Kvm),
                       verdict(after, vmx::Profile::Sdm),
                       verdict(after, vmx::Profile::Unrestricted));
}

} // namespace

std::unique_ptr<CaseEngine> make_transit86_engine() {
    return std::make_unique<Transit86Engine>();
}

std::unique_ptr<CaseEngine> make_kvm_engine(std::string& why) {
    auto kvm = oracle::KvmStepper::create({}, &why);
    if (!kvm) return nullptr;
    return std::make_unique<KvmEngine>(std::move(kvm));
}

std::unique_ptr<CaseEngine> make_unicorn_engine(std::string& why) {
    auto uc = oracle::UnicornRunner::create({.memory_size = kRamSize}, &why);
    if (!uc) return nullptr;
    return std::make_unique<UnicornEngine>(std::move(uc));
}

CaseResult run_case(const CorpusCase& c, CaseEngine& engine) {
    CaseResult result;
    pc::PcPorts ports;
    ports.initial_a20(c.a20);
    ports.on_a20 = [&engine](bool enabled) { engine.set_a20(enabled); };
    engine.set_a20(c.a20);
    std::string error;
    if (!engine.load(c.load_address, c.image) || !engine.set_state(c.start, error)) {
        result.exit = "error: " + (error.empty() ? "image does not fit in RAM" : error);
        result.final_state = engine.state();
        return result;
    }
    bool was_invalid = !vmx::is_valid(c.start, vmx::Profile::Kvm);
    result.exit = "budget";
    while (result.instructions < c.budget) {
        const CpuState before = engine.state();
        const EngineStep step = engine.step(ports);
        if (step.kind == EngineStep::Kind::Stopped) {
            result.exit = "error: " + step.error;
            break;
        }
        ++result.instructions;
        const CpuState after = engine.state();
        result.steps.push_back(step_line(before, after));
        if (auto code = ports.debug_exit_code()) {
            result.exit = fmt::format("debug-exit {:#x}", *code);
            break;
        }
        if (step.kind == EngineStep::Kind::Halted && c.stop != CaseStop::Budget) {
            result.exit = "halt";
            break;
        }
        const bool valid = vmx::is_valid(after, vmx::Profile::Kvm);
        if (c.stop == CaseStop::Valid && was_invalid && valid) {
            result.exit = "valid";
            break;
        }
        was_invalid = was_invalid || !valid;
    }
    result.console = ports.take_console();
    result.final_state = engine.state();
    return result;
}

} // namespace transit86::tools
