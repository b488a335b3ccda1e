// transit86 — the window census: every stretch of instructions during which the guest state
// fails a profile's VM-entry checks, i.e. every stretch KVM without unrestricted guest would
// have to emulate (handle_invalid_guest_state), over a whole boot.
//
// A host that runs valid code itself (KVM, or transit86 with RunLimits::stop_when_invalid)
// and single-steps the windows tells the census where each window starts, which instructions
// run in it, and what ended it. `transit86 boot` and examples/kvm-vmm print the same census.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86 {

// One instruction as a trace names it: its position in the run, where it is and what it is.
struct InstructionRef {
    uint64_t index = 0; // 1-based count of the instruction in the whole run
    std::string mode;   // R16, U16, P16, P32, V86 (as the step trace)
    uint16_t cs = 0;
    uint32_t eip = 0;
    uint64_t linear = 0;
    std::array<uint8_t, 15> bytes{};
    uint8_t length = 0;
    std::string text; // Intel syntax; "(bad)", or "(not in RAM or not mapped)" without bytes
};

// The instruction at `where` in `emulator`'s guest memory, numbered `index`: its bytes read by
// linear address through the guest's current page tables (Emulator::read_linear), so for an
// instruction that already ran, as mapped now (the same unless it changed the mapping).
InstructionRef describe_instruction(const Emulator& emulator, const InstructionAddress& where,
                                    uint64_t index);
// Where the next instruction of `state` is.
InstructionAddress next_instruction(const CpuState& state);

struct CensusWindow {
    uint64_t number = 0; // 1-based
    InstructionRef first;
    InstructionRef last;
    uint64_t length = 0;              // instructions executed inside it
    std::vector<std::string> failing; // check ids failing at its start
    std::string ended_by;             // "valid", or what stopped the run inside it
};

class WindowCensus {
  public:
    explicit WindowCensus(vmx::Profile profile) : profile_(profile) {}

    vmx::Profile profile() const { return profile_; }
    bool in_window() const { return open_; }

    // The state about to run fails the profile: a window begins with the instruction at
    // CS:EIP, the next one to retire (`next_index` is its 1-based number).
    void begin(const Emulator& emulator, const CpuState& state, uint64_t next_index);
    // `instructions` more retired inside the window.
    void add(uint64_t instructions);
    // The window ended: the state passes the profile (`why` = "valid") or the run stopped
    // inside it (`why` names the exit). `last` is the last instruction run in it
    // (Emulator::last_interpreted()), numbered `last_index`.
    void end(const Emulator& emulator, const InstructionAddress& last, uint64_t last_index,
             std::string why);

    const std::vector<CensusWindow>& windows() const { return windows_; }
    uint64_t instructions_in_windows() const;
    // The longest window (nullptr when there is none).
    const CensusWindow* longest() const;

  private:
    vmx::Profile profile_;
    bool open_ = false;
    std::vector<CensusWindow> windows_;
};

} // namespace transit86
