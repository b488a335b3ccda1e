#include "diff/oracle.hpp"

#include <fmt/format.h>

#include "diff/layout.hpp"
#include "oracle/kvm_stepper.hpp"
#include "oracle/unicorn_runner.hpp"

namespace transit86::diff {

namespace {

class KvmOracle final : public Oracle {
  public:
    explicit KvmOracle(std::unique_ptr<oracle::KvmStepper> kvm) : kvm_(std::move(kvm)) {}
    const char* name() const override { return "kvm"; }
    std::span<uint8_t> memory() override { return kvm_->memory(); }
    bool start(const CpuState& state, std::string& error) override {
        return kvm_->set_state(state, &error);
    }
    OracleStep step() override {
        const oracle::StepResult r = kvm_->step();
        OracleStep s;
        s.state = r.state;
        switch (r.reason) {
        case oracle::StepReason::Debug:
        case oracle::StepReason::Io:
        case oracle::StepReason::Hlt: s.outcome = OracleOutcome::Retired; break;
        case oracle::StepReason::Mmio: s.outcome = OracleOutcome::OutsideRam; break;
        case oracle::StepReason::Shutdown: s.outcome = OracleOutcome::Shutdown; break;
        case oracle::StepReason::InternalError:
            s.outcome = OracleOutcome::Cannot;
            s.detail = fmt::format("KVM_EXIT_INTERNAL_ERROR suberror {}", r.suberror);
            break;
        default:
            s.outcome = OracleOutcome::Error;
            s.detail = fmt::format("KVM step ended with {} (exit {})", oracle::to_string(r.reason),
                                   r.exit_reason);
            break;
        }
        return s;
    }
    bool reset(std::string& error) override {
        kvm_.reset();
        kvm_ = make_stepper(error);
        return kvm_ != nullptr;
    }
    static std::unique_ptr<oracle::KvmStepper> make_stepper(std::string& error) {
        oracle::StepperOptions options;
        options.memory_size = kRamSize;
        return oracle::KvmStepper::create(options, &error);
    }
    bool delivers_exceptions() const override { return true; }
    void fill_unobservable(const CpuState& ours, CpuState& theirs) const override {
        theirs.activity = ours.activity; // KVM does not track HLT without an in-kernel irqchip
        theirs.tsc = ours.tsc;
    }
    bool reports_interruptibility() const override { return true; }

  private:
    std::unique_ptr<oracle::KvmStepper> kvm_;
};

class UnicornOracle final : public Oracle {
  public:
    explicit UnicornOracle(std::unique_ptr<oracle::UnicornRunner> uc) : uc_(std::move(uc)) {}
    const char* name() const override { return "unicorn"; }
    std::span<uint8_t> memory() override { return uc_->memory(); }
    bool reset(std::string&) override { return true; } // set_state() restores a clean context
    bool start(const CpuState& state, std::string& error) override {
        return uc_->set_state(state, &error); // also drops translated code: memory changed
    }
    OracleStep step() override {
        const oracle::UnicornStepResult r = uc_->step();
        OracleStep s;
        s.state = r.state;
        switch (r.reason) {
        case oracle::UnicornStepReason::Step:
        case oracle::UnicornStepReason::Io:
        case oracle::UnicornStepReason::Hlt: s.outcome = OracleOutcome::Retired; break;
        case oracle::UnicornStepReason::Exception:
            s.outcome = OracleOutcome::Exception;
            s.vector = r.vector;
            break;
        case oracle::UnicornStepReason::InvalidMemory:
            s.outcome = OracleOutcome::OutsideRam;
            s.detail = fmt::format("unmapped {} at {:#x}", r.memory_fault->write ? "write" : "read",
                                   r.memory_fault->address);
            break;
        case oracle::UnicornStepReason::Error:
            s.outcome = OracleOutcome::Error;
            s.detail = "uc_emu_start: " + r.error_text;
            break;
        case oracle::UnicornStepReason::Refused:
            s.outcome = OracleOutcome::Cannot;
            s.detail = r.error_text;
            break;
        }
        return s;
    }
    bool delivers_exceptions() const override { return false; }
    void fill_unobservable(const CpuState& ours, CpuState& theirs) const override {
        oracle::UnicornRunner::copy_unobservable(ours, theirs);
        theirs.tsc = ours.tsc;
    }
    bool reports_interruptibility() const override { return false; }

  private:
    std::unique_ptr<oracle::UnicornRunner> uc_;
};

} // namespace

std::unique_ptr<Oracle> make_kvm_oracle(std::string& error) {
    auto kvm = KvmOracle::make_stepper(error);
    if (kvm == nullptr) return nullptr;
    return std::make_unique<KvmOracle>(std::move(kvm));
}

std::unique_ptr<Oracle> make_unicorn_oracle(std::string& error) {
    auto uc = oracle::UnicornRunner::create({.memory_size = kRamSize}, &error);
    if (uc == nullptr) return nullptr;
    return std::make_unique<UnicornOracle>(std::move(uc));
}

} // namespace transit86::diff
