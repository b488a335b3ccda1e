// KvmStepper — Linux KVM as a per-instruction oracle (docs: /work/shared/guide/oracles.md §1).
//
// One VM with one vCPU and guest RAM at GPA 0. Load code, set a starting CpuState (hidden
// segment caches included, so unreal mode can be set directly), then step(): each call retires
// one instruction and returns the state after it, with any port I/O or MMIO it did attached.
//
// What KVM does, found by experiment (Linux 6.18 with the kvm_pvm module — no VMX or SVM in
// /proc/cpuinfo —, API 12, no in-kernel irqchip; real-mode and 32-bit code run in KVM's
// instruction emulator, arch/x86/kvm/emulate.c). Hosts with VMX/SVM take other paths; the tests
// in kvm_stepper_test.cpp pin down what step() must present either way.
//
//  * Single-step: KVM_GUESTDBG_SINGLESTEP gives one KVM_EXIT_DEBUG per instruction
//    (debug.arch.exception 1, DR6 0xFFFF4FF0: BS set).
//
//  * Port I/O: KVM_EXIT_IO arrives before the instruction retires. For IN, RIP still points at
//    the IN; userspace fills the data buffer, and the *next* KVM_RUN finishes the IN and exits at
//    once with KVM_EXIT_DEBUG. For OUT, the emulator has already retired the instruction (RIP is
//    past it at the exit) and the single-step trap is lost (the "FIXME: return into emulator if
//    single-stepping" in x86_emulate_instruction): a plain next KVM_RUN also runs the *following*
//    instruction, or stops at that one's I/O exit. MMIO is the same: reads like IN, writes like
//    OUT (complete_emulated_mmio has the same FIXME).
//    So step() finishes every I/O or MMIO exit with kvm_run.immediate_exit = 1: KVM completes the
//    pending operation and returns without entering the guest (-EINTR after OUT / MMIO write,
//    0 + KVM_EXIT_DEBUG after IN / MMIO read, or 0 + the next exit of the same string
//    instruction). Either way exactly one instruction has retired.
//
//  * REP string instructions: KVM works in chunks (one element per exit for OUTS; 512 words in
//    one exit for a long REP INSW; 0x400 iterations per pass for STOS) and single-step traps
//    between chunks with RIP unchanged and RFLAGS.RF set; a last pass with (E)CX = 0 retires it.
//    step() keeps running while CS:EIP is unchanged and RF is set, so one call covers the whole
//    REP instruction and collects all its I/O (StepperOptions::merge_rep_chunks).
//
//  * HLT: with single-step on, KVM never reports KVM_EXIT_HLT: the step ends in KVM_EXIT_DEBUG
//    with RIP past the HLT, and the vCPU is not halted (the next KVM_RUN just runs on). Without
//    single-step the exit is KVM_EXIT_HLT with the same RIP. step() looks at the bytes at CS:EIP
//    before running (legacy prefixes, then F4) and reports a retired HLT as StepReason::Hlt with
//    state.activity = Hlt. A later step() resumes after the HLT, as a VMM that woke the vCPU
//    would.
//
//  * Exceptions: when an instruction faults (#UD, #GP, ...), the single-step trap comes only
//    after the first instruction of the handler, in real and protected mode. Such a step covers
//    the faulting instruction, the delivery and one handler instruction; the consumer has to
//    expect that. INT n / INT3 in real mode are ordinary instructions and stop at the handler's
//    first byte. (A hardware code breakpoint on the handler does not fire: RF is set after a
//    fault.) The frame a fault pushes carries KVM's single-step TF (real mode FLAGS image 0x0102
//    for 0x0002; protected mode EFLAGS 0x10102, the RF there being the SDM's).
//
//  * EFLAGS.TF: while single-stepping, KVM owns TF. KVM_GET_REGS reads it as 0, a TF written
//    with KVM_SET_REGS is dropped (reads back 0, PUSHF pushes it clear), so a guest's own TF
//    cannot be tested through this oracle.
//
//  * MOV SS / STI: KVM traps right after MOV SS (hardware would trap one instruction later,
//    SDM Vol. 3A 6.8.3); the interrupt shadow is visible in KVM_GET_VCPU_EVENTS (shadow 1 after
//    MOV SS, 2 after STI) and is returned in CpuState::interruptibility.
//
//  * Gaps and bugs (oracles.md: note them, never copy them): DAA gives KVM_EXIT_INTERNAL_ERROR,
//    suberror KVM_INTERNAL_ERROR_EMULATION (1), RIP unchanged; so does INT n in protected mode.
//    Real-mode delivery ignores the IVT limit (IDTR.limit 0 still vectors through IVT[n]).
#pragma once

#include "transit86/cpu_state.hpp"
#include "transit86/kvm_state.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace transit86::oracle {

struct StepperOptions {
    std::string device = "/dev/kvm";
    uint64_t memory_size = 16u << 20; // guest RAM, slot 0 at GPA 0; accesses beyond are MMIO
    // KVM_SET_TSS_ADDR: three pages VMX needs for real mode; must be outside guest RAM.
    uint64_t tss_addr = 0xFFFBD000;
    // KVM_SET_IDENTITY_MAP_ADDR: the page VMX with EPT but without unrestricted guest uses for
    // paging-off protected mode; one page, outside RAM, not overlapping the TSS pages.
    std::optional<uint64_t> identity_map_addr = 0xFFFBC000;
    // Try to give the guest the CPUID KVM supports (KVM_GET_SUPPORTED_CPUID + KVM_SET_CPUID2):
    // without it KVM treats CR4 bits for features the guest "lacks" as reserved. Best effort;
    // see KvmStepper::guest_cpuid_set().
    bool supported_cpuid = true;
    // Run REP string chunks until the instruction retires (see the file comment).
    bool merge_rep_chunks = true;
    // Give up on one REP instruction after this many KVM_RUNs (a guard against hangs).
    uint32_t max_runs_per_step = 1u << 20;
};

// Why step() stopped.
enum class StepReason {
    Debug,         // one instruction retired, no I/O
    Io,            // one instruction retired; it did port I/O (StepResult::io)
    Mmio,          // one instruction retired; it accessed memory outside RAM (StepResult::mmio)
    Hlt,           // a HLT retired; state is after it
    Shutdown,      // KVM_EXIT_SHUTDOWN: triple fault
    InternalError, // KVM_EXIT_INTERNAL_ERROR: e.g. an instruction KVM's emulator lacks
    FailEntry,     // KVM_EXIT_FAIL_ENTRY: the state was rejected at VM entry
    Other,         // any other exit; see StepResult::exit_reason
};

const char* to_string(StepReason reason);

// One KVM_EXIT_IO: `count` elements of `size` bytes (count > 1 for INS/OUTS).
struct PortAccess {
    uint16_t port = 0;
    uint8_t size = 0; // 1, 2 or 4
    bool in = false;
    uint32_t count = 0;
    std::vector<uint8_t> data; // size * count bytes: what OUT wrote, or what IN was given
    friend bool operator==(const PortAccess&, const PortAccess&) = default;
};

// One KVM_EXIT_MMIO.
struct MmioAccess {
    uint64_t address = 0; // guest physical
    uint32_t length = 0;  // 1..8
    bool write = false;
    std::array<uint8_t, 8> data{}; // what was written, or what the read was given
    friend bool operator==(const MmioAccess&, const MmioAccess&) = default;
};

struct StepResult {
    StepReason reason = StepReason::Other;
    CpuState state; // after the step (for errors: as KVM left it)
    std::vector<PortAccess> io;
    std::vector<MmioAccess> mmio;
    // The last KVM_EXIT_* seen: DEBUG normally; IO / MMIO when the step ended with an
    // immediate_exit completion (KVM_RUN returned -EINTR); the exit itself for errors.
    uint32_t exit_reason = 0;
    uint32_t runs = 0;                   // KVM_RUN calls the step took
    uint64_t dr6 = 0;                    // KVM_EXIT_DEBUG: debug.arch.dr6
    uint32_t suberror = 0;               // InternalError: internal.suberror (KVM_INTERNAL_ERROR_*)
    std::vector<uint64_t> internal_data; // InternalError: internal.data[0..ndata)
    uint64_t hardware_reason = 0; // FailEntry: hardware_entry_failure_reason; Other: hw reason
};

// Supplies the value an IN reads, one element at a time (size 1, 2 or 4 bytes).
using PortInput = std::function<uint32_t(uint16_t port, uint8_t size)>;
// Supplies the value an MMIO read gets (length 1..8 bytes, little-endian in the result).
using MmioRead = std::function<uint64_t(uint64_t address, uint32_t length)>;

class KvmStepper {
  public:
    // Create the VM and vCPU; nullptr with *error set (if given) when KVM is not usable here.
    static std::unique_ptr<KvmStepper> create(const StepperOptions& options = {},
                                              std::string* error = nullptr);
    // Why tests cannot use KVM on this machine, or nullopt if they can (creates and discards a
    // VM with default options). For GTEST_SKIP() << *reason.
    static std::optional<std::string> unavailable_reason();

    KvmStepper(const KvmStepper&) = delete;
    KvmStepper& operator=(const KvmStepper&) = delete;
    ~KvmStepper();

    // Guest RAM, GPA 0 .. memory_size.
    std::span<uint8_t> memory() { return {ram_, ram_size_}; }
    std::span<const uint8_t> memory() const { return {ram_, ram_size_}; }
    // Copy bytes in or out of guest RAM; false (nothing copied) if the range is not all RAM.
    bool load(uint64_t gpa, std::span<const uint8_t> bytes);
    bool read(uint64_t gpa, std::span<uint8_t> out) const;

    // The state as KVM_GET_REGS / KVM_GET_SREGS read it right after KVM_CREATE_VCPU.
    const CpuState& reset_state() const { return reset_state_; }
    const KvmRegs& reset_regs() const { return reset_regs_; }
    const KvmSregs& reset_sregs() const { return reset_sregs_; }

    // Current state, with interruptibility from KVM_GET_VCPU_EVENTS (MOV SS / STI shadow, NMI
    // blocking). activity is always Active: KVM does not track HLT without an in-kernel irqchip.
    CpuState state() const;
    // Set the state (KVM_SET_REGS, KVM_SET_SREGS, the interrupt shadow and NMI blocking through
    // KVM_SET_VCPU_EVENTS; activity is ignored). False with *error set if KVM rejects it (e.g.
    // CR0.PG without PE, reserved CR4 bits); the vCPU may then be partly updated.
    bool set_state(const CpuState& state, std::string* error = nullptr);

    // Whether StepperOptions::supported_cpuid took effect (KVM_GET_SUPPORTED_CPUID fails with
    // EINVAL on kvm_pvm, the host these tests were written on).
    bool guest_cpuid_set() const { return guest_cpuid_set_; }

    // Raw access for what CpuState lacks (R8-R15, CR8, APIC base).
    KvmRegs regs() const;
    KvmSregs sregs() const;

    // Values for IN and MMIO reads. The defaults return all ones (a floating bus).
    void set_port_input(PortInput input) { port_input_ = std::move(input); }
    void set_mmio_read(MmioRead read) { mmio_read_ = std::move(read); }

    // Retire one instruction (see the file comment for what "one" means around faults) and
    // return the state after it. Throws std::system_error if an ioctl fails unexpectedly.
    StepResult step();

  private:
    explicit KvmStepper(const StepperOptions& options);
    bool open(std::string& error);
    bool set_supported_cpuid();
    void enable_single_step();
    // Length of the HLT (prefixes + F4) at CS:EIP, if that is what is there.
    std::optional<uint32_t> hlt_length_at(const CpuState& state) const;
    void fill_port_input(PortAccess& access, uint8_t* data);
    void record_exit(StepResult& result);
    void finish_on_exit(StepResult& result) const;
    static void classify_retired(StepResult& result, const CpuState& before,
                                 std::optional<uint32_t> hlt_length);
    int run_vcpu(bool complete_only);

    StepperOptions options_;
    int kvm_fd_ = -1;
    int vm_fd_ = -1;
    int vcpu_fd_ = -1;
    uint8_t* ram_ = nullptr;
    uint64_t ram_size_ = 0;
    void* run_map_ = nullptr;
    size_t run_map_size_ = 0;
    bool guest_cpuid_set_ = false;
    CpuState reset_state_{};
    KvmRegs reset_regs_{};
    KvmSregs reset_sregs_{};
    PortInput port_input_;
    MmioRead mmio_read_;
};

} // namespace transit86::oracle
