// Running many cases: in this process (KVM: a VM belongs to the process that made it), or in
// child processes (Unicorn: Unicorn 2.0.1 aborts the process on some encodings, see
// unicorn_runner.hpp; a child that dies costs one case, reported as SkippedOracle with op
// "(oracle crashed)", and the campaign goes on in a new child).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "diff/case_runner.hpp"
#include "diff/oracle.hpp"

namespace transit86::diff {

struct CaseSpec {
    uint64_t index = 0;
    uint64_t seed = 0;
    Mode mode = Mode::Real;
};

using SpecAt = std::function<CaseSpec(uint64_t index)>;
using ResultSink = std::function<void(const CaseSpec&, const CaseResult&)>;
using OracleFactory = std::function<std::unique_ptr<Oracle>(std::string& error)>;

// Cases 0 .. count-1 on `oracle`, in order.
void run_in_process(Oracle& oracle, const RunnerOptions& options, uint64_t count,
                    const SpecAt& spec_at, const ResultSink& sink);

// The same in child processes, each making its own oracle. Results arrive in order. False with
// `error` set if a child cannot make the oracle or fork fails.
bool run_isolated(const OracleFactory& make_oracle, const RunnerOptions& options, uint64_t count,
                  const SpecAt& spec_at, const ResultSink& sink, std::string& error);

} // namespace transit86::diff
