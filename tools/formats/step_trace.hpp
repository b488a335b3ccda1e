// The stepping trace: one line per instruction with what changed, banners for mode switches
// and descriptor loads, console output, and the VM-entry verdict (docs/cli.md, "step").
// `transit86 step` prints every instruction this way; `transit86 boot --trace` the ones it
// single-steps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/formats/console_lines.hpp"
#include "tools/formats/step_fetch.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86::tools {

class StepTrace {
  public:
    StepTrace(bool json, vmx::Profile profile, bool kvm_fixup = false);

    // The instruction fetched as `f` ran from `before` to emu.state() and stopped with `exit`;
    // `console` is what the guest printed meanwhile (shown after the line).
    void line(const Emulator& emu, const CpuState& before, const FetchedInstruction& f,
              const Exit& exit, std::string_view console);
    // The same, fetching the instruction from `before` itself (after the fact: code that
    // rewrote itself shows its new bytes).
    void line(const Emulator& emu, const CpuState& before, const Exit& exit,
              std::string_view console = {});
    // Prints a console line still waiting for its newline (text mode): call at the end.
    void finish();
    // "    vmx[kvm] valid" or the failing checks; `first` prints them even when unchanged.
    void verdict(const CpuState& s, bool valid, bool first);

  private:
    void banners(const Emulator& emu, const CpuState& before, const CpuState& after);
    // The last exception or interrupt delivered since the last line (Emulator::last_delivery)
    // and how many were, if it belongs to this step: injected before it, or raised by it.
    struct StepDelivery {
        Emulator::Delivery last;
        uint64_t count;
    };
    std::optional<StepDelivery> new_delivery(const Emulator& emu, const CpuState& before);
    void descriptor_table(const Emulator& emu, const char* name, const DescriptorTableRegister& t);

    bool json_;
    vmx::Profile profile_;
    bool kvm_fixup_;
    FetchCache fetch_cache_;
    std::string text_; // the line, reused
    const std::string valid_line_;
    std::vector<std::string> last_failing_;
    uint64_t deliveries_seen_ = 0;
    // The guest's console in the text trace, a line at a time under the instruction that
    // ended it (JSON lines carry each instruction's bytes as they are).
    ConsoleLines console_{"console", false, "    "};
};

// Lower-case hex with at least `digits` digits ("{:0Nx}" without a format string's cost).
std::string hex(uint64_t v, int digits);
// "66 01 d8".
std::string hex_bytes(const uint8_t* bytes, size_t n);

} // namespace transit86::tools
