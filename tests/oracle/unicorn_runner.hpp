// UnicornRunner — Unicorn 2 (QEMU TCG) as a per-instruction oracle (docs: oracles.md §2).
//
// Guest RAM at GPA 0 shared by two lazily opened engines, UC_MODE_16 for real mode and
// UC_MODE_32 for 32-bit protected mode (the mode of a Unicorn engine is fixed when it is opened).
// Load code, set a starting CpuState, then step(): each call retires one instruction and returns
// the state after it, with the port I/O it did, the exception it raised or the unmapped memory it
// touched.
//
// What Unicorn 2.0.1 (Debian libunicorn2 2.0.1.post1) does, found by experiment; the tests in
// unicorn_runner_test.cpp pin it down:
//
//  * Importing state. Unicorn cannot import hidden segment caches. In UC_MODE_16, writing a
//    segment register loads base = selector * 16, limit 0xFFFF (so only plain real-mode states
//    can be set: set_state() rejects others). In UC_MODE_32 (which starts with CR0 = 0x11, PE
//    set), writing a selector loads the descriptor from the GDT *in guest memory* at the GDTR
//    written before it, as MOV Sreg would: the caches come from memory, not from the CpuState.
//    set_state() therefore checks that each descriptor in guest memory matches the CpuState's
//    cache and refuses the state if not. CS.base must be 0 in UC_MODE_32 (see EIP below).
//
//  * EIP. uc_emu_start(begin) sets EIP = begin - CS.selector * 16 in UC_MODE_16 and EIP = begin
//    in UC_MODE_32. After a step that ends by the instruction count, UC_X86_REG_EIP reads the
//    *linear* address of the next instruction (CS.selector * 16 + IP) in UC_MODE_16; after HLT,
//    an interrupt hook, an invalid opcode or a stop at `until` it reads the plain IP. step()
//    converts. A counted run passes an `until` no code has (not 0: with begin == until Unicorn
//    runs nothing, so code at address 0 could not be stepped).
//
//  * Exceptions are not delivered. A fault or INT n calls the UC_HOOK_INTR hook with the vector
//    (EIP = the faulting instruction, or the next one for INT n) and nothing is pushed; step()
//    stops there and reports UnicornStepReason::Exception. An invalid opcode (UD2 included) never
//    reaches the hook: uc_emu_start fails with UC_ERR_INSN_INVALID, reported as vector 6.
//    QEMU keeps the vector of an intercepted contributory exception as if still being delivered,
//    so the next one would become #DF (8); set_state() restores a context saved when the engine
//    was opened, which clears that.
//
//  * No segment limit or type checks on accesses: a word at offset 0xFFFF in real mode, or a
//    32-bit address above 0xFFFF, is simply accessed (the SDM raises #GP or #SS: Vol. 3A 21.1.1
//    / Vol. 2 "Real-Address Mode Exceptions"), and so is a write through CS to a code segment.
//    Differential tools must expect this (tests/diff/known_differences.cpp lists more).
//
//  * Unmapped memory stops uc_emu_start with UC_ERR_*_UNMAPPED (the UC_HOOK_MEM_INVALID hook
//    sees the access). A jump to an address outside RAM retires, but Unicorn then fails to
//    fetch the *next* instruction: step() reports that as a retired Step (memory_fault set,
//    EIP the jump target), and only an access by the instruction itself as InvalidMemory.
//
//  * REP string instructions count one instruction per iteration (and one more for the pass that
//    finds (E)CX = 0). step() repeats until EIP moves, so one call covers the whole instruction.
//
//  * Self-modifying code: an instruction that writes into its own translated block is abandoned
//    before the store and re-run (QEMU's precise SMC); with a count of 1 the re-run counts as
//    the next instruction, so the first uc_emu_start returns with nothing done (and so would
//    every later one). When EIP did not move for an instruction that cannot branch to itself,
//    step() runs it again with `until` = the address after it instead of a count.
//
//  * Translated code is cached: after writing memory() directly call code_changed() (load() and
//    set_state() do it), or Unicorn may run the old bytes. Guest writes are tracked by QEMU.
//
//  * Fatal encodings: Unicorn 2.0.1 aborts the whole process ("tcg fatal error", tcg.c:3073)
//    when it *translates* FF /3 or FF /5 with a register operand (far CALL/JMP, ModRM mod = 11)
//    or LOCK CMP (38, 39) / LOCK CMPS (A6, A7); found by translating every two-byte pattern in
//    a child process. QEMU translates a whole block, so such bytes anywhere after the
//    instruction, up to the block's end, are fatal — and so are they in the block the
//    instruction leads to, which Unicorn translates before its count stops it. step() decodes
//    ahead from EIP, and from a direct branch's target, to the first control transfer or
//    undecodable instruction (at most 4 KiB) and refuses to run (UnicornStepReason::Refused)
//    when one of them is there. Indirect branch targets are not checked: a process that runs
//    random code on Unicorn should expect to die (transit86-diff runs it in a child process).
//
//  * The UC_MODE_16 engine follows a MOV to CR0 and a far jump into protected mode (as boot
//    code does): EIP then reads back as CS.base + EIP, CS.base from QEMU's cache, and step()
//    decodes by CR0.PE and CS.D. uc_emu_start sets only IP in UC_MODE_16, so such code must
//    run below 64 KiB.
//
//  * Virtual-8086 mode cannot be set, but an IRET or a task switch can enter it: step() then
//    decodes 16-bit code at CS.selector * 16, and EIP reads back linear as in UC_MODE_16.
//
//  * TR and LDTR are whole caches through UC_X86_REG_TR/LDTR (uc_x86_mmr, QEMU's attribute
//    word in `flags`); the segment caches have no register id (read_hidden() finds them).
//    QEMU's TR cache after LTR or a task switch keeps the descriptor's type from before the
//    busy bit was set (9 or 1, "available"), see docs/known-differences.md.
//
//  * No I/O permission check: Unicorn's gen_check_io returns at once ("Unicorn: allow all I/O
//    instructions"), so IN/OUT/INS/OUTS above IOPL or in V86 mode never fault
//    (docs/known-differences.md, unicorn-no-io-check).
//
//  * No virtual-8086 mode extensions or protected-mode virtual interrupts, although CPUID
//    reports VME: with IOPL < 3, CLI, STI, PUSHF, POPF, IRET and INT n in V86 mode raise #GP(0)
//    whatever CR4.VME and the TSS's redirection bit map say, CLI/STI at CPL 3 whatever CR4.PVI
//    says, and IRET at CPL 0 does not load VIF and VIP (docs/known-differences.md,
//    unicorn-no-vme, unicorn-iret-no-vif).
//
//  * EFLAGS.TF/RF are QEMU's; the interrupt shadow (MOV SS, STI) is not observable.
//
//  * Paging: Unicorn 2.0.1 does NOT translate. Its copy of target/i386/excp_helper.c
//    identity-maps every linear address ("Unicorn: indentity map guest virtual address to
//    host virtual address"; unicorn-engine/unicorn issues #947, #1953: fixed in 2.1.0, where
//    the CPU's MMU is the default). CR0.PG, CR3 and CR4 are kept and read back, but no walk
//    happens: no page fault, no accessed or dirty flag, a linear address outside RAM is
//    unmapped memory. models_paging() finds out by experiment. It also reads CR2 back as
//    FFFFFFFEH after any uc_emu_start; state() then reports the CR2 set_state() was given. Where a
//    Unicorn does model it (CR0.PG, CR3, CR4.PSE/PAE/PGE, EFER.NXE through UC_X86_REG_MSR),
//    set_state() takes it. QEMU has no PDPTE registers: a PAE walk reads the PDPTEs from the table
//    at CR3 every time (target/i386/excp_helper.c, "XXX: load them when cr3 is loaded ?"), so
//    set_state() requires CpuState::pdpte to equal that table, and a MOV to CR3/CR0/CR4 never
//    faults for reserved PDPTE bits. A page fault stops at the hook with CR2 set (UC_X86_REG_CR2);
//    its error code is QEMU's env->error_code, read from a saved context at an offset found once by
//    experiment (two #GP faults with known selector error codes): UnicornStepResult::error_code.
//    step() reads the instruction bytes through its own side-effect-free walk of the guest's tables
//    (code_physical), to decode what runs.
//  * Debug registers: DR0-DR3, DR6 and DR7 are written by set_state() and read by state().
//    An enabled instruction breakpoint (DR7 R/W = 00) makes Unicorn 2.0.1 crash in its
//    generated code, whether set by a guest MOV or by uc_reg_write: set_state() refuses it.
//    Data breakpoints are ignored, DR7.GD does nothing, the TSS T bit raises nothing; the
//    single-step #DB sets DR6.BS (docs/known-differences.md, "Debug registers on Unicorn").
#pragma once

#include "oracle/kvm_stepper.hpp" // PortAccess, PortInput
#include "transit86/cpu_state.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace transit86::oracle {

struct UnicornOptions {
    uint64_t memory_size = 16u << 20; // guest RAM at GPA 0; a multiple of 4 KiB
    // Give up on one REP string instruction after this many iterations.
    uint32_t max_iterations_per_step = 1u << 20;
};

enum class UnicornStepReason {
    Step,          // one instruction retired, no I/O
    Io,            // one instruction retired; it did port I/O (UnicornStepResult::io)
    Hlt,           // a HLT retired (Unicorn stops there); state is after it
    Exception,     // a fault or INT n: UnicornStepResult::vector; nothing was delivered
    InvalidMemory, // an access outside guest RAM (UnicornStepResult::memory_fault)
    Error,         // uc_emu_start failed otherwise (UnicornStepResult::error)
    Refused,       // not run: Unicorn would abort the process (see the file comment)
};

const char* to_string(UnicornStepReason reason);

// Real mode with every segment at 0 (base 0, limit FFFFH; CS 9BH, the others 93H), the IVT at 0
// and CR0.NE set (x87 errors as #MF on both): a state set_state() takes, where the x87 and
// FXSAVE cases start.
CpuState real_mode_at_zero(uint32_t eip, uint32_t esp);

// Bytes as lowercase hex digits, for failure messages.
std::string hex_bytes(const uint8_t* bytes, size_t count);

// An access the UC_HOOK_MEM_INVALID hook saw.
struct UnicornMemoryFault {
    uint64_t address = 0;
    uint32_t size = 0;
    bool write = false;
    bool fetch = false;
};

struct UnicornStepResult {
    UnicornStepReason reason = UnicornStepReason::Error;
    // After the step. For Exception: where Unicorn stopped (see the file comment), not a
    // delivered state. Fields Unicorn cannot read back hold what set_state() was given
    // (UnicornRunner::copy_unobservable lists them).
    CpuState state;
    std::vector<PortAccess> io;  // one element per access (count = 1)
    uint8_t vector = 0;          // Exception
    bool invalid_opcode = false; // Exception reported through UC_ERR_INSN_INVALID
    // Exception with an error code (8, 10-14, 17): QEMU's, when its place in the context was
    // found (see the file comment).
    std::optional<uint32_t> error_code;
    // InvalidMemory; for a Step, the failed fetch of the next instruction (outside RAM).
    std::optional<UnicornMemoryFault> memory_fault;
    int error = 0;           // the uc_err of uc_emu_start (0 = UC_ERR_OK)
    std::string error_text;  // uc_strerror(error), or why Refused
    uint32_t iterations = 0; // uc_emu_start calls (more than 1 for REP)
};

class UnicornRunner {
  public:
    // Allocate guest RAM; the engines are opened by set_state(). nullptr with *error set (if
    // given) when the RAM cannot be allocated or the size is not page-aligned.
    static std::unique_ptr<UnicornRunner> create(const UnicornOptions& options = {},
                                                 std::string* error = nullptr);
    UnicornRunner(const UnicornRunner&) = delete;
    UnicornRunner& operator=(const UnicornRunner&) = delete;
    ~UnicornRunner();

    // Guest RAM, GPA 0 .. memory_size. After writing it directly, call code_changed().
    std::span<uint8_t> memory() { return {ram_, ram_size_}; }
    std::span<const uint8_t> memory() const { return {ram_, ram_size_}; }
    bool load(uint64_t gpa, std::span<const uint8_t> bytes);
    bool read(uint64_t gpa, std::span<uint8_t> out) const;
    // Drop Unicorn's translated code for guest-physical [begin, end) (default: all RAM).
    void code_changed(uint64_t begin = 0, uint64_t end = UINT64_MAX);

    // Real mode (CR0.PE = 0, every segment base = selector * 16, limit 0xFFFF) runs in
    // UC_MODE_16; 32-bit protected mode (PE = 1, CS.D = 1, CS.base = 0, no paging, not
    // virtual-8086) in UC_MODE_32 with the segments loaded from the guest GDT. Sets GPRs, EIP,
    // EFLAGS, CR0, GDTR, IDTR, the selectors and, in protected mode, TR and LDTR (whole caches).
    // False with *error set for any other state.
    bool set_state(const CpuState& state, std::string* error = nullptr);
    // The state now (valid after set_state()).
    CpuState state() const;

    // Values for IN. The default returns all ones (a floating bus).
    void set_port_input(PortInput input) { port_input_ = std::move(input); }

    // Retire one instruction (a whole REP string instruction) and return the state after it.
    UnicornStepResult step();

    // What state() leaves as given but Unicorn keeps: TR and LDTR (whole caches, through
    // UC_X86_REG_TR / UC_X86_REG_LDTR) into s.tr and s.ldtr, and the six segment caches into
    // s.seg. Those have no register id: they are read from a saved uc_context (QEMU's
    // CPUX86State), located by the general registers and trusted only where EIP, the
    // selectors and TR read there match uc_reg_read. True when s.seg was filled. QEMU's
    // null-selector caches (P = 0) read as unusable.
    bool read_hidden(CpuState& s) const;

    // Copy from `from` into `to` the fields Unicorn cannot read back (hidden segment caches,
    // LDTR, TR, EFER, interruptibility, activity), so that diff_states(ours, oracle) compares
    // only what Unicorn reports: GPRs, EIP, EFLAGS, selectors, GDTR, IDTR, CR0, CR2-CR4.
    static void copy_unobservable(const CpuState& from, CpuState& to);

    // Whether this Unicorn translates linear addresses through the guest's page tables (see
    // the file comment: 2.0.1 does not). Found once, on a scratch engine.
    static bool models_paging();

    // The physical address of `linear` by the guest's page tables as the SDM walks them (PDPTEs
    // from memory, as QEMU), without touching accessed flags or checking rights; `linear`
    // itself with paging off; nullopt when not present. step() decodes through it; a caller can
    // check that code runs identity-mapped where this Unicorn does not translate.
    std::optional<uint64_t> code_physical(uint64_t linear) const;

  private:
    struct Engine;              // one uc_engine with its hooks and reset context
    friend struct UnicornHooks; // the C callbacks (unicorn_runner.cpp)
    // What the hooks record during one step.
    struct HookRecord {
        std::vector<PortAccess> io;
        std::optional<uint8_t> vector;
        std::optional<UnicornMemoryFault> memory_fault;
    };

    explicit UnicornRunner(const UnicornOptions& options);
    Engine* engine_for(bool protected_mode, std::string& error);
    bool check_descriptors(const CpuState& state, std::string& error) const;
    uint32_t read_eip_after(bool linear) const;
    std::optional<uint64_t> fatal_encoding_ahead(uint64_t linear, bool pm, bool code32,
                                                 bool v86) const;
    uint64_t begin_address() const;
    uint32_t port_in(uint16_t port, uint8_t size);

    UnicornOptions options_;
    uint8_t* ram_ = nullptr;
    uint64_t ram_size_ = 0;
    std::unique_ptr<Engine> real_;
    std::unique_ptr<Engine> protected_;
    Engine* current_ = nullptr;
    CpuState given_{}; // the last set_state() input, for what Unicorn cannot read back
    uint32_t eip_ = 0; // EIP now, in CS-relative terms
    HookRecord record_;
    PortInput port_input_;
};

} // namespace transit86::oracle
