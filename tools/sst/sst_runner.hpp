// Runs one SingleStepTests 80286 test on transit86 and compares the outcome, with the named
// 286-vs-386 masks of tools/sst_masks.hpp (docs/known-differences.md) applied by rule.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/sst/sst_masks.hpp"
#include "tools/sst/sst_test.hpp"
#include "transit86/emulator.hpp"

namespace transit86::tools::sst {

struct Mismatch {
    std::string field; // "ax", "flags", "ram[0x10a2f1]", "exit", ...
    std::string expected;
    std::string got;
};

struct Outcome {
    enum class Verdict : uint8_t { Pass, Fail, Masked };
    Verdict verdict = Verdict::Pass;
    SkipMask skip = SkipMask::InstructionLength; // Masked: which rule set the test aside
    // Pass: the compare masks the test needed (a difference they cover was seen).
    std::array<bool, kNumCompareMasks> relied_on{};
    std::vector<Mismatch> mismatches; // Fail: every difference found
};

// 16 MiB of flat guest RAM (24-bit physical addresses, A20 on), reused by every test.
class SstMachine {
  public:
    static constexpr size_t kRamSize = size_t{16} << 20;
    // strict: no 286-vs-386 masks beyond metadata.json's flags-mask (to see what they hide).
    explicit SstMachine(bool strict = false);
    ~SstMachine();
    SstMachine(const SstMachine&) = delete;
    SstMachine& operator=(const SstMachine&) = delete;

    // Runs the instruction and the HLT after it; compares the final state.
    Outcome run(const Test& test, const OpcodeInfo& info);

  private:
    // An empty ISA bus: IN reads all ones, OUT goes nowhere (README "How a test runs").
    class OpenBus final : public PortHandler {
      public:
        Result access(PortAccess& access) override;
    };

    void reset_ram();

    bool strict_ = false;
    uint8_t* ram_ = nullptr;
    OpenBus ports_;
    std::unique_ptr<Emulator> emu_;
};

} // namespace transit86::tools::sst
