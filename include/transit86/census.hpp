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
#include <optional>
#include <string>
#include <string_view>
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
    uint64_t length = 0; // instructions executed inside it
    // The ids of the vmx::checks() rows failing at its start (views of those static tables).
    std::vector<std::string_view> failing;
    std::string ended_by; // "valid", or what stopped the run inside it
};

class WindowCensus {
  public:
    // windows() keeps the first kKeptWindows windows; the counts, the longest window and the
    // last one cover every window. A guest idling through BIOS calls (a boot menu, a "press a
    // key" prompt) opens ~75,000 windows a virtual second at ~400 bytes each: kept, a
    // ten-minute run would need gigabytes.
    static constexpr uint64_t kKeptWindows = 100'000;

    explicit WindowCensus(vmx::Profile profile, uint64_t kept = kKeptWindows)
        : profile_(profile), kept_(kept) {}

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

    // Windows begun (the open one included).
    uint64_t count() const { return count_; }
    // The first min(count(), kept) windows, the open one last if it is among them.
    const std::vector<CensusWindow>& windows() const { return windows_; }
    // The open window, else the one that ended last (nullptr when there is none).
    const CensusWindow* last() const;
    uint64_t instructions_in_windows() const { return instructions_in_windows_; }
    // The longest window, the first of equals (nullptr when there is none).
    const CensusWindow* longest() const;

    // The census at one point of a run, to go back to (a debugger's reverse execution).
    struct Mark {
        uint64_t count = 0;
        bool open = false;
        uint64_t instructions_in_windows = 0;
        std::optional<CensusWindow> last, longest;
    };
    Mark mark() const;
    // Back to a mark taken earlier in the same run.
    void rewind(const Mark& mark);

  private:
    // The instruction at `where`, as describe_instruction() gives it; a real boot opens the
    // same few windows thousands of times, so the last few descriptions are reused when the
    // same bytes are at the same place (decoding and formatting them was most of begin()).
    InstructionRef describe(const Emulator& emulator, const InstructionAddress& where,
                            uint64_t index);
    // The open or last window: in windows_ while it is among the kept ones, else last_.
    CensusWindow& current() { return windows_.size() == count_ ? windows_.back() : last_; }
    const CensusWindow& current() const {
        return windows_.size() == count_ ? windows_.back() : last_;
    }

    vmx::Profile profile_;
    uint64_t kept_;
    bool open_ = false;
    uint64_t count_ = 0;
    uint64_t instructions_in_windows_ = 0;
    std::vector<CensusWindow> windows_;
    CensusWindow last_;                   // current() once windows_ is full
    std::optional<CensusWindow> longest_; // of the windows that ended
    struct Described {
        InstructionRef ref; // index 0: empty
        size_t available = 0;
    };
    std::array<Described, 8> described_{};
    size_t next_described_ = 0;
};

// The census as text, the same for every host that keeps one (`transit86 boot`,
// examples/kvm-vmm), so that two runs of the same boot can be compared line for line.

// "#47201 P16 f000:d0bb 0fd0bb  66 ea 9d d0 0f 00 08 00  jmp far 0x0008:0x000fd09d"
std::string format_instruction(const InstructionRef& instruction);

// A window in four lines, each ending in '\n':
//   == window 1: 9 instructions #47193..#47201, ended: valid
//      failing at start: ss.rpl-eq-cs.rpl, ds.dpl-ge-rpl
//      first #47193 ...
//      last  #47201 ...
std::string format_window(const CensusWindow& window);

// Windows that begin and end at the same linear addresses with the same checks failing at
// their start are one shape: a boot that calls the same BIOS service from protected mode again
// and again opens the same window each time.
struct WindowShape {
    uint64_t first_linear = 0, last_linear = 0;
    std::vector<std::string_view> failing;
    uint64_t first_window = 0; // the number of its first window
    uint64_t count = 0;        // windows of this shape
    uint64_t instructions = 0; // in all of them
    std::string first_text, last_text;
};

// The windows of a run as text, in the order they end, grouping repeated shapes.
class CensusText {
  public:
    // The first window of a shape in four lines (format_window); a window that repeats a shape
    // in one: "== window 7: 9 instructions #90..#98, ended: valid (as window 1)\n".
    std::string window(const CensusWindow& window);
    // The same without the text: counts the window in its shape (a new one has count 1).
    const WindowShape& count(const CensusWindow& window);
    // When windows repeat shapes (more than one shape, fewer shapes than windows): a heading
    // and one line a shape, most frequent first; "" otherwise.
    //   == 2 window shapes (same first and last instruction, same failing checks):
    //           12 x as window 1             108 instructions  000fd108 jmp ... .. 000fd0b8 mov ...
    std::string shape_table() const;
    const std::vector<WindowShape>& shapes() const { return shapes_; }

  private:
    WindowShape& shape_of(const CensusWindow& window);
    std::vector<WindowShape> shapes_;
    uint64_t windows_ = 0;
};

// "== end: the console showed \"GRUB\" after 7000000 instructions, 0.120 s of virtual time",
// one line ending in '\n'.
std::string format_census_end(const std::string& detail, uint64_t instructions,
                              uint64_t virtual_ns);

// What a census summary line counts besides the windows: the instructions of the whole run
// (as the host counts them), how many of them transit86's block engine ran, and wall time.
struct CensusTotals {
    uint64_t instructions = 0;
    uint64_t block_engine_instructions = 0;
    double wall_seconds = 0;
};

// "== census (kvm): 3 windows, 40 instructions inside windows, longest 20 (window 2),
// 7000000 instructions (91.0% in the block engine), 0.52 s", one line ending in '\n'.
std::string format_census_summary(const WindowCensus& census, const CensusTotals& totals);

} // namespace transit86
