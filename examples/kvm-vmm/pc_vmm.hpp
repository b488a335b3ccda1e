// The PC mode of the example VMM (`kvm-vmm --pc`): the machine `transit86 boot` runs —
// SeaBIOS, a disk, pc/'s PcPlatform for every device — with KVM as the CPU wherever VM entry
// would take the state and transit86 for every window where it would not, and the same window
// census (include/transit86/census.hpp).
//
// The loop is `transit86 boot`'s (tools/boot/boot_machine.cpp) around KVM_RUN:
//   - memory: every slot of PcPlatform::slots() is a KVM memory region (read-only ones with
//     KVM_MEM_READONLY), registered again when memory_generation() changes (the i440FX PAM
//     registers); transit86 gets the same slots;
//   - KVM_EXIT_IO goes to PcPlatform::access, KVM_EXIT_MMIO (holes, the APIC windows, writes
//     to read-only slots) to PcPlatform::mmio; each is completed with kvm_run.immediate_exit
//     so the state read next is at an instruction boundary;
//   - interrupts: no in-kernel irqchip. When the 8259 raises INTR, KVM_INTERRUPT with the
//     acknowledged vector if kvm_run says the guest can take it, else
//     request_interrupt_window; inside a window transit86's InterruptWindow exit and
//     VcpuState::events.interrupt do the same;
//   - HLT (KVM_EXIT_HLT, or transit86's Halt exit) skips virtual time to the next timer event;
//   - the platform's requests (reset, power-off, isa-debug-exit) end the run.
//
// Window detection: before each KVM_RUN the state is checked with transit86's checks. KVM
// tells userspace nothing about CR0 writes, so the VMM single-steps KVM wherever the guest
// may be about to open a window (real mode, virtual-8086 mode, 16-bit protected mode) and
// lets it run freely in 32-bit protected mode. A window that opens during a free run — the
// way back to real mode: a far jump to a 16-bit segment then PE cleared, as SeaBIOS's
// transition16 and GRUB's prot_to_real do — is seen at the first KVM exit inside it (or not
// at all if it closes before one: KVM ran it, on VT-x without unrestricted guest through its
// own emulator). Such a window's last instruction and end are exact, its first instruction
// is where the VMM first saw it (WindowStart::KvmExit). With step_everything every
// instruction boundary is checked and the census lists the windows `transit86 boot` lists,
// one KVM exit per instruction.
//
// Virtual time: KVM does not count instructions, so the platform's clock is host time
// (CLOCK_MONOTONIC since the start) plus what HLT skipped, and the guest's TSC is KVM's
// (host TSC speed), moved forward by the same skips. The PIT, the PM timer, the RTC and the
// TSC therefore agree with one another, but a run is not instruction-deterministic: how many
// times a polling loop turns, and so how many windows a boot opens and what the census
// counts, depends on the host. The console matches the transit86-only boot; instruction
// numbers in the census count what this VMM saw retire (KVM's single steps and transit86's
// instructions), not KVM's free runs. A vCPU that counts its instructions
// (KvmVcpu::instructions_retired: the tests' model of KVM, not KVM) gets `transit86 boot`'s
// instruction clock instead: one instruction = 1 ns, the TSC counting instructions on both
// sides, free runs ending exactly at the next timer event; such a boot is deterministic and,
// single-stepped everywhere, prints `transit86 boot --preset kvm`'s census line for line.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pc/console_script.hpp"
#include "pc/platform.hpp"
#include "transit86/census.hpp"
#include "transit86/vcpu.hpp"

namespace kvm_vmm {

struct PcVmmOptions {
    bool step_everything = false; // single-step KVM everywhere (exact windows, slow)
    std::string stop_at_console;  // end once the serial console has shown this text
    // Typed on COM1 as the console shows each step's text (pc/console_script.hpp, --expect and
    // --send), each step reported through on_console_input.
    std::vector<transit86::pc::ConsoleStep> console_input;
    uint64_t console_input_gap_ns = transit86::pc::kTypingGapNs; // a typed byte every this often
    std::function<void(const transit86::pc::ConsoleStep&)> on_console_input;
    uint64_t timeout_ns = 600'000'000'000; // virtual time; 0 = no limit
    uint64_t max_runs = 1ull << 32;        // KVM_RUNs and transit86 runs, a guard against hangs
    // Hand-over lines (which side runs, from where, why).
    std::function<void(std::string_view)> log;
    // Serial bytes, debugcon bytes and platform log lines as they come; each window as it
    // ends.
    std::function<void(const std::string&)> on_serial;
    std::function<void(const std::string&)> on_debugcon;
    std::function<void(const std::string&)> on_device_log;
    std::function<void(const transit86::CensusWindow&)> on_window_end;
};

// How the VMM first saw a window's invalid state.
enum class WindowStart : uint8_t {
    Reset,       // the state the vCPU starts from
    SingleStep,  // after a single-stepped instruction: exactly where it begins
    KvmExit,     // at an exit of a free KVM run: it may have begun earlier, inside KVM
    FailedEntry, // KVM_EXIT_FAIL_ENTRY: the processor refused the state
    // KVM_EXIT_INTERNAL_ERROR (emulation) in an invalid state: without unrestricted guest KVM
    // emulates such states itself (handle_invalid_guest_state) and stopped at an instruction
    // it cannot emulate, where the window is handed over
    KvmCannotEmulate,
};
const char* to_string(WindowStart start);

// How a run ended: the same names as `transit86 boot`'s (tools/boot/boot_machine.hpp).
enum class PcEnd : uint8_t {
    Reset,
    PowerOff,
    DebugExit,
    Halted,
    Timeout,
    ConsoleText,
    Unsupported,
    TripleFault,
    MmioFetch,
    TooManyRuns,
};
const char* to_string(PcEnd end);

struct PcVmmResult {
    PcEnd end = PcEnd::Halted;
    std::string detail; // one line
    std::optional<uint32_t> debug_exit_value;
    std::string serial;                                // every byte the guest sent to COM1
    std::vector<transit86::pc::ConsoleStep> not_typed; // console_input steps never typed
    transit86::WindowCensus census{transit86::vmx::Profile::Kvm};
    std::vector<WindowStart> window_starts; // one per census window
    transit86::VcpuState final_state{};
    uint64_t virtual_ns = 0;            // the platform clock at the end
    bool instruction_clock = false;     // the vCPU counted instructions (pc_vmm.hpp, top)
    std::set<uint16_t> unclaimed_ports; // PcPlatform's: what no device model answered
    std::set<uint64_t> unassigned_pages;
    // Statistics.
    uint64_t instructions = 0; // retired (instruction clock), else seen: single steps + transit86's
    uint64_t kvm_exits = 0;    // KVM_RUN calls that returned an exit
    uint64_t kvm_single_steps = 0;          // of which KVM_EXIT_DEBUG
    uint64_t emulated_instructions = 0;     // retired by transit86
    uint64_t block_engine_instructions = 0; // of which in its block engine
    uint32_t to_transit86 = 0;              // hand-overs KVM -> transit86
    uint32_t to_kvm = 0;                    // and back
    // PUSHF and software interrupts run by transit86 where KVM is stepped (they would store
    // KVM's stepping TF): not windows.
    uint64_t flags_stores_on_transit86 = 0;
    // External interrupts delivered by transit86 where KVM is stepped (its delivery would push
    // and clear KVM's stepping TF), each with its handler's first instruction: not windows.
    uint64_t interrupts_on_transit86 = 0;
    // Instructions KVM's emulator gave up on (KVM_EXIT_INTERNAL_ERROR, emulation) in a valid
    // state, run by transit86: not windows.
    uint64_t kvm_could_not_emulate = 0;
};

class KvmVcpu; // kvm_vm.hpp

// Boots `config` on /dev/kvm from KVM's vCPU reset state. Throws KvmError (kvm_vm.hpp) if KVM
// is unusable and std::invalid_argument for a configuration PcPlatform refuses.
PcVmmResult run_pc(transit86::pc::PcConfig config, const PcVmmOptions& options);
// The same on `kvm`, a vCPU fresh from its reset with no memory yet.
PcVmmResult run_pc(transit86::pc::PcConfig config, const PcVmmOptions& options, KvmVcpu& kvm);

} // namespace kvm_vmm
