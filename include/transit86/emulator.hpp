// transit86 — the emulator: guest memory, port I/O, and the run loop that mirrors KVM's
// handle_invalid_guest_state (arch/x86/kvm/vmx/vmx.c).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "transit86/cpu_model.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86 {

// One range of guest RAM backed by host memory. Guest-physical addresses outside every
// slot are MMIO: an access there stops the run with an Mmio exit. Several Emulators (vCPUs on
// other threads, or KVM vCPUs) may share the memory: locked instructions are host atomics on
// it (docs/embedding.md, "SMP guests"); align `host` to 8 bytes or more.
struct RamSlot {
    uint64_t guest_phys = 0;
    uint64_t size = 0;
    uint8_t* host = nullptr;
    bool read_only = false;
};

// A port access the emulator asks the host (or a device model) to perform.
struct PortAccess {
    uint16_t port = 0;
    uint8_t size = 0; // 1, 2 or 4 bytes
    bool is_in = false;
    uint32_t data = 0; // OUT: the value written; IN: filled by the handler
    // Elements transferred (KVM's kvm_run.io.count). Always 1: REP INS/OUTS exit once per
    // element, with (E)CX and (E)SI/(E)DI already past the completed ones.
    uint32_t count = 1;
    // Set by a PortHandler that completed the access without writing guest memory (no DMA):
    // translated code then need not be compared with memory again before it next runs. Left
    // false, the emulator assumes the device may have written anywhere in guest RAM.
    bool guest_memory_untouched = false;
};

// Device models the run loop may consult before handing port I/O to the host.
class PortHandler {
  public:
    enum class Result : uint8_t {
        Handled,    // completed; for IN, access.data holds the value read
        ExitToHost, // stop the run with an Io exit (the instruction has not retired)
    };
    virtual ~PortHandler() = default;
    virtual Result access(PortAccess& access) = 0;
    // Optional, for polling loops (docs/architecture.md, "Polling loops"): asked right after
    // an IN of `access.port` (`access.size` bytes) completed through access(). Returns N > 0
    // when an IN of that port would read the same value, and change nothing that any later
    // access, interrupt or exit could observe, at the start of each of the next N instructions
    // the CPU retires (the next one included) — provided no other port is accessed and nothing
    // else happens between runs; the value is in access.data. The emulator may then retire such
    // INs, and whole iterations of a loop whose only input they are, without calling access().
    // 0 (the default): no promise; every IN calls access().
    virtual uint64_t steady_read(PortAccess& access) {
        (void)access;
        return 0;
    }
};

enum class ExitReason : uint8_t {
    GuestStateValid,   // the state passes the VM-entry checks of the chosen profile
    Step,              // single step: one instruction retired
    Halt,              // HLT retired
    Io,                // port I/O for the host; for IN, complete it with complete_io()
    Mmio,              // access outside guest RAM
    Exception,         // an exception handed to the host (RunLimits::exceptions_to_host)
    TripleFault,       // shutdown
    Budget,            // instruction budget spent
    Unsupported,       // an instruction transit86 does not implement (bytes attached)
    InterruptWindow,   // RunLimits::interrupt_pending and the guest can take an interrupt now
    Breakpoint,        // the next instruction is at one of RunLimits::breakpoints
    GuestStateInvalid, // the state fails the VM-entry checks of RunLimits::stop_when_invalid
};

const char* to_string(ExitReason reason);

struct Exit {
    ExitReason reason = ExitReason::Budget;
    uint64_t instructions = 0; // retired during this run() call
    PortAccess io{};           // Io
    uint64_t mmio_address = 0; // Mmio: guest-physical address
    // 1..8 bytes. An Mmio exit the host cannot complete says so in `detail`: an instruction
    // fetch outside RAM (mmio_size 0) or exception delivery reading the IVT, IDT or stack there.
    uint8_t mmio_size = 0;
    bool mmio_write = false;
    uint64_t mmio_data = 0; // Mmio write: the value written (little-endian, mmio_size bytes)
    uint8_t vector = 0;     // Exception: vector and error code
    bool has_error_code = false;
    uint32_t error_code = 0;
    uint64_t linear_address = 0;     // Unsupported/Exception: of the instruction
    std::array<uint8_t, 15> bytes{}; // Unsupported: instruction bytes
    uint8_t byte_count = 0;          // Unsupported
    const char* detail = nullptr;    // static text saying why (never owned)
};

struct RunLimits {
    // Instructions; 0 = no limit (KVM uses 130 per exit). A REP string instruction stops
    // every 1024 iterations and resumes from the same EIP, as KVM's emulator does: each such
    // chunk spends one unit too (as one pass of KVM's loop), without counting as retired in
    // Exit::instructions. So a run does bounded work whatever ECX holds.
    uint64_t budget = 130;
    // Stop as soon as the state passes this profile's checks (checked before each
    // instruction, as KVM does). Empty: never stop for validity.
    std::optional<vmx::Profile> stop_when_valid = vmx::Profile::Kvm;
    bool single_step = false; // stop after one instruction
    // Hand every exception to the host (ExitReason::Exception) instead of delivering it
    // through the IVT/IDT. That is KVM's behaviour in the invalid-state window: it cannot
    // inject into a state VM entry refuses, so it fails the emulation.
    bool exceptions_to_host = false;
    // The host has an interrupt to inject: stop with InterruptWindow before the first
    // instruction boundary at which EFLAGS.IF = 1 and no STI/MOV SS shadow blocks it.
    bool interrupt_pending = false;
    // Linear addresses (CS.base + EIP) to stop at before executing. The instruction a run
    // starts at never stops it, so calling run() again resumes past the breakpoint.
    std::span<const uint64_t> breakpoints{};
    // Stop as soon as the state fails this profile's checks (checked before each instruction,
    // like stop_when_valid): with it a host running valid code here sees where a window of
    // invalid state begins (`transit86 boot`'s census). Empty: never stop for it.
    std::optional<vmx::Profile> stop_when_invalid{};
};

// An event the host injects before the next instruction (what KVM_SET_VCPU_EVENTS or
// KVM_INTERRUPT queue): delivered through the IVT or IDT by the same code as a fault.
struct InjectedEvent {
    enum class Kind : uint8_t {
        Exception,         // a hardware exception; escalates like a fault (#DF, triple fault)
        ExternalInterrupt, // a maskable interrupt; a fault while delivering it is taken alone
    };
    Kind kind = Kind::Exception;
    uint8_t vector = 0;
    bool has_error_code = false;
    uint32_t error_code = 0;
};

// Where an instruction is: what a trace or a census names it by.
struct InstructionAddress {
    uint16_t cs = 0;
    uint32_t eip = 0;
    uint64_t linear = 0; // CS.base + EIP
    bool protected_mode = false;
    bool code32 = false; // CS.D
    bool v86 = false;
};

struct VcpuState; // vcpu.hpp

class Emulator {
  public:
    // The slots' host memory must outlive the emulator.
    explicit Emulator(std::span<const RamSlot> slots, PortHandler* ports = nullptr);
    ~Emulator();
    Emulator(const Emulator&) = delete;
    Emulator& operator=(const Emulator&) = delete;

    CpuState& state();
    const CpuState& state() const;

    // Replaces the guest-physical memory map, as KVM_SET_USER_MEMORY_REGION does: a platform
    // remapping the BIOS area (the i440FX PAM registers) or adding RAM. Takes effect from the
    // next instruction; call it between runs, never from inside a PortHandler. The slots'
    // host memory must outlive the emulator (or the next call).
    void set_ram_slots(std::span<const RamSlot> slots);

    // Replaces the device models port I/O goes to (nullptr: every access exits to the host).
    void set_port_handler(PortHandler* ports) noexcept;

    // The decoded-instruction cache and the block engine built on it (on by default). Off
    // decodes and interprets every instruction afresh, for debugging them; results are the
    // same either way.
    void set_decode_cache(bool enabled) noexcept;

    // Where the instructions this emulator retired ran (counts since construction): the
    // block engine (translated loops and straight-line code, docs/architecture.md) or the
    // interpreter, one at a time.
    struct EngineStats {
        uint64_t interpreted = 0;
        uint64_t in_blocks = 0;
        uint64_t blocks_translated = 0;
    };
    EngineStats engine_stats() const noexcept;

    // The exception delivered last through the IVT or IDT, and how many times in a row the same
    // instruction raised it with the same general registers and EFLAGS. A handler that returns
    // to a fault without removing its cause (an IRET-only #UD handler under an instruction the
    // CPU model lacks) makes the guest loop there for ever, as it would on a processor; a host
    // watching this can stop such a run and say why (`transit86 boot` does: docs/boot.md).
    struct RepeatedFault {
        uint8_t vector = 0;
        InstructionAddress at{};
        uint64_t times = 0; // 0: nothing delivered yet
    };
    RepeatedFault repeated_fault() const noexcept;

    // The last exception or interrupt delivered through the IVT or IDT — raised by an
    // instruction (a #DF it escalated to included) or injected with deliver_event() — and how
    // many have been delivered so far. A host that traces instructions compares `count` before
    // and after a step to show what was delivered (`transit86 step` and `boot --trace` do).
    struct Delivery {
        uint64_t count = 0; // 0: nothing delivered yet
        uint8_t vector = 0;
        bool has_error_code = false;
        uint32_t error_code = 0;
        bool interrupt = false;  // an external interrupt (InjectedEvent::Kind::Interrupt)
        bool injected = false;   // by deliver_event(), before any instruction of a run
        uint64_t tsc = 0;        // CpuState::tsc when it was delivered
        uint16_t handler_cs = 0; // where the handler starts: CS:EIP after delivery
        uint32_t handler_eip = 0;
    };
    Delivery last_delivery() const noexcept;

    // Runs until an exit condition holds. Never throws.
    Exit run(const RunLimits& limits) noexcept;

    // The same run on a state in KVM's layout (vcpu.hpp): loads `state` (keeping what KVM's
    // structs do not carry: TSC, MSRs other than APIC_BASE), delivers its pending
    // events, runs, and writes the state back. Never throws, never allocates.
    Exit run(VcpuState& state, const RunLimits& limits) noexcept;

    // Delivers an event now, before the next instruction, ignoring
    // RunLimits::exceptions_to_host. Returns nullopt when delivered, or the exit that stopped
    // it (TripleFault; Mmio or Unsupported when the IVT, IDT or stack is not in RAM).
    std::optional<Exit> deliver_event(const InjectedEvent& event) noexcept;

    // Completes a pending IN that exited to the host: the value is delivered when run()
    // resumes the instruction. (A pending OUT needs no call: the next run() treats it as done.)
    void complete_io(uint32_t data) noexcept;
    // Completes a pending MMIO read the same way (little-endian, Exit::mmio_size bytes).
    void complete_mmio(uint64_t data) noexcept;
    // True between an Io or Mmio exit and the run() that resumes its instruction. Events are
    // not injected then (run(VcpuState&) keeps them pending): the instruction finishes first.
    bool completion_pending() const noexcept;
    // True while a MOV SS or POP SS holds debug traps (DR6 bits: a data breakpoint it hit,
    // single step) for the instruction after it (SDM Vol. 3A 6.8.3). No CpuState carries them:
    // a state saved now and run later does not raise that #DB.
    bool debug_traps_held() const noexcept;
    // Drops what belongs to the instruction stream the current state came from: a pending I/O
    // or MMIO completion, held debug traps and the repeated-fault count. For a host about to
    // replace the whole state (a snapshot restored, a debugger stepping back): the next run() then
    // goes on as a new Emulator would from that state, without a new Emulator's allocation.
    void forget_pending() noexcept;

    // The model CPUID reports (default: CpuModel{}).
    void set_cpu_model(const CpuModel& model) noexcept;
    const CpuModel& cpu_model() const noexcept;

    // Gate A20 (on by default). Off models the 8086 wrap at 1 MiB.
    void set_a20(bool enabled) noexcept;

    // Loads CpuState::pdpte from the table at CR3 (bits 31:5), as MOV to CR3 does with PAE
    // paging (SDM Vol. 3A 4.4.1) and KVM_SET_SREGS does for a PAE guest. A host that sets a
    // PAE-paging state through state() without its PDPTEs calls it; run(VcpuState&) does
    // (kvm_sregs carries none). False, with pdpte unchanged, when the table is outside RAM or
    // a present entry sets a reserved bit (MOV to CR3 would raise #GP(0)).
    bool load_pdptes() noexcept;

    // The instruction the interpreter started last (retired, faulted or exited). Validity
    // for VM entry changes only in interpreted instructions, so after a GuestStateValid or
    // GuestStateInvalid exit this is the instruction that changed it.
    InstructionAddress last_interpreted() const noexcept;

    // Reads guest-physical memory for traces and tests; false if outside RAM.
    bool read_physical(uint64_t gpa, void* out, size_t size) const noexcept;
    bool write_physical(uint64_t gpa, const void* in, size_t size) noexcept;
    // Reads guest memory by linear address, as a debugger or a trace sees it: translated
    // through the page tables of state() when CR0.PG = 1 (32-bit or PAE paging, with
    // CpuState::pdpte), with A20 applied, but without setting accessed or dirty flags, without
    // checking access rights, without faulting and without touching the TLB. False when a
    // byte's page is not present, an entry sets a reserved bit, or a paging structure or a
    // byte lies outside RAM. Linear addresses wrap at 4 GiB.
    bool read_linear(uint64_t linear, void* out, size_t size) const noexcept;
    // Writes guest memory by linear address the same way (a debugger's memory writes): every
    // byte is translated and found in writable RAM first, or nothing is written and it
    // returns false.
    bool write_linear(uint64_t linear, const void* in, size_t size) noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace transit86
