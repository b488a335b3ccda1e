// The two oracles behind one interface for the differential runner: KVM (KvmStepper) and
// Unicorn (UnicornRunner), both with kRamSize bytes of RAM at GPA 0.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "transit86/cpu_state.hpp"

namespace transit86::diff {

enum class OracleOutcome : uint8_t {
    Retired,   // the instruction retired (KVM: also a delivered exception; see delivers_exceptions)
    Exception, // the oracle reported a vector without delivering it (Unicorn)
    OutsideRam, // the instruction accessed memory outside RAM (KVM MMIO, Unicorn unmapped)
    Cannot,     // the oracle does not implement the instruction (KVM emulation failure)
    Shutdown,   // triple fault (KVM_EXIT_SHUTDOWN)
    Error,      // anything else; OracleStep::detail says what
};

struct OracleStep {
    OracleOutcome outcome = OracleOutcome::Error;
    CpuState state;
    uint8_t vector = 0; // Exception
    std::string detail;
};

class Oracle {
  public:
    virtual ~Oracle() = default;
    virtual const char* name() const = 0;
    // Guest RAM; the runner copies each case's memory in before start().
    virtual std::span<uint8_t> memory() = 0;
    // Import the case's starting state (after its memory is in place).
    virtual bool start(const CpuState& state, std::string& error) = 0;
    // Start afresh after a step ended abnormally (Cannot, Shutdown, Error): KVM keeps state
    // across KVM_SET_REGS/SREGS after an emulation failure or a shutdown, so it gets a new VM.
    virtual bool reset(std::string& error) = 0;
    virtual OracleStep step() = 0;
    // KVM delivers exceptions through the IVT/IDT and its step ends after the handler's first
    // instruction; Unicorn only reports the vector.
    virtual bool delivers_exceptions() const = 0;
    // Make `oracle` comparable with `ours`: fields the oracle cannot report take our values.
    virtual void fill_unobservable(const CpuState& ours, CpuState& oracle) const = 0;
    virtual bool reports_interruptibility() const = 0;
};

// nullptr with `error` set when the oracle cannot be used here (e.g. /dev/kvm not openable).
std::unique_ptr<Oracle> make_kvm_oracle(std::string& error);
std::unique_ptr<Oracle> make_unicorn_oracle(std::string& error);

} // namespace transit86::diff
