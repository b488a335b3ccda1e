// One driver runs a corpus case on any engine that can single-step: transit86 itself, or an
// oracle (KVM on /dev/kvm, Unicorn, QEMU). The driver owns the devices (pc/pc_ports) and the stop
// rules, so both sides of a comparison are judged by the same code.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "pc/pc_ports.hpp"
#include "tools/corpus/corpus_case.hpp"

namespace transit86::tools {

struct EngineStep {
    enum class Kind : uint8_t { Retired, Halted, Stopped } kind = Kind::Retired;
    std::string error; // Stopped: why (exception for the host, unsupported, triple fault...)
};

class CaseEngine {
  public:
    virtual ~CaseEngine() = default;
    virtual const char* name() const = 0;
    virtual bool load(uint64_t gpa, std::span<const uint8_t> bytes) = 0;
    virtual bool set_state(const CpuState& state, std::string& error) = 0;
    virtual void set_a20(bool enabled) = 0;
    // Retires one instruction; port I/O goes to `ports`.
    virtual EngineStep step(pc::PcPorts& ports) = 0;
    virtual CpuState state() const = 0;
};

std::unique_ptr<CaseEngine> make_transit86_engine();
// nullptr with `why` set when /dev/kvm cannot be used.
std::unique_ptr<CaseEngine> make_kvm_engine(std::string& why);
// Unicorn 2 (tests/oracle/unicorn_runner.hpp); nullptr with `why` set when it cannot start.
std::unique_ptr<CaseEngine> make_unicorn_engine(std::string& why);
// qemu-system-i386 through its gdbstub (qemu_engine.hpp); nullptr with `why` set when it is
// not installed or does not start.
std::unique_ptr<CaseEngine> make_qemu_engine(std::string& why);

// Runs the case to its stop condition on `engine`.
CaseResult run_case(const CorpusCase& c, CaseEngine& engine);

} // namespace transit86::tools
