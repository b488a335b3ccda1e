/*
 * transit86.h — the C ABI of transit86, for VMMs written in C, Rust (bindgen or hand-written
 * extern "C" blocks) or anything else with a C FFI. C11; also valid C++.
 *
 * One handle is one vCPU with its guest memory: RAM slots the caller owns, everything else
 * MMIO. The handle holds the vCPU state in Linux KVM's layout: transit86_kvm_regs,
 * transit86_kvm_sregs and transit86_kvm_fpu are struct kvm_regs, kvm_sregs and kvm_fpu byte
 * for byte, so a KVM-based VMM copies KVM_GET_REGS / KVM_GET_SREGS / KVM_GET_FPU buffers in with
 * transit86_set_state and back out with transit86_get_state. transit86_run() runs the same engine
 * as the C++ API (Emulator::run in transit86/emulator.hpp) until an exit; I/O and MMIO exits are
 * resumed by calling transit86_run() again, after transit86_complete_io / _complete_mmio for reads.
 *
 * Every function returns a status (or a value) and never lets a C++ exception escape;
 * transit86_run() does not allocate. Handles are independent: use each from one thread at a
 * time. Handles on different threads may share guest RAM (one handle per vCPU): locked
 * instructions are atomic on it (docs/embedding.md, "SMP guests"). docs/embedding.md has
 * examples and the full exit-handling contract.
 */
#ifndef TRANSIT86_H
#define TRANSIT86_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define TRANSIT86_API __attribute__((visibility("default")))
#else
#define TRANSIT86_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct or signature below changes. */
#define TRANSIT86_ABI_VERSION 3 /* 2: transit86_vcpu_state.debugregs and .fpu; 3: MSR access */

/* The opaque vCPU handle: transit86_create / transit86_destroy. */
struct transit86_vcpu;

/* ---- status codes ------------------------------------------------------------------------ */

typedef int32_t transit86_status;
#define TRANSIT86_OK 0
#define TRANSIT86_ERROR_INVALID_ARGUMENT (-1) /* null pointer, bad slot, unknown profile... */
#define TRANSIT86_ERROR_OUT_OF_MEMORY (-2)    /* transit86_create only */
#define TRANSIT86_ERROR_NOTHING_PENDING (-3)  /* complete_io/_mmio without an exit to complete */
#define TRANSIT86_ERROR_INTERNAL (-4)         /* an unexpected C++ exception, caught */

/* ---- vCPU state: struct kvm_regs / kvm_sregs / kvm_debugregs (<asm/kvm.h>), event state -- */

struct transit86_kvm_segment { /* struct kvm_segment */
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g, avl, unusable, padding;
};

struct transit86_kvm_dtable { /* struct kvm_dtable */
    uint64_t base;
    uint16_t limit;
    uint16_t padding[3];
};

struct transit86_kvm_regs { /* struct kvm_regs */
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

struct transit86_kvm_sregs { /* struct kvm_sregs */
    struct transit86_kvm_segment cs, ds, es, fs, gs, ss, tr, ldt;
    struct transit86_kvm_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
    uint64_t interrupt_bitmap[4]; /* (KVM_NR_INTERRUPTS + 63) / 64 */
};

/* kvm_vcpu_events.interrupt.shadow bits */
#define TRANSIT86_SHADOW_MOV_SS 0x01
#define TRANSIT86_SHADOW_STI 0x02

/* An exception delivered (IVT/IDT) before the next instruction; run clears `pending`. */
struct transit86_pending_exception {
    uint8_t pending, vector, has_error_code, padding;
    uint32_t error_code;
};

/* An external interrupt: delivered before the next instruction when EFLAGS.IF = 1 and no
 * shadow blocks it (run clears `pending`); otherwise run stops with
 * TRANSIT86_EXIT_INTERRUPT_WINDOW as soon as the guest can take it and the next run delivers. */
struct transit86_pending_interrupt {
    uint8_t pending, vector, padding[2];
};

struct transit86_events {
    struct transit86_pending_exception exception;
    struct transit86_pending_interrupt interrupt;
    uint8_t interrupt_shadow; /* TRANSIT86_SHADOW_* */
    uint8_t nmi_masked;
    uint8_t padding[2];
};

/* struct kvm_debugregs (KVM_GET_DEBUGREGS): DR0-DR3 in db, DR6, DR7. Only the low 32 bits are
 * used; DR6 and DR7 read with their fixed bits set as the SDM fixes them (reset values:
 * DR6 0xFFFF0FF0, DR7 0x400; a zero-filled struct reads as those). */
struct transit86_kvm_debugregs {
    uint64_t db[4];
    uint64_t dr6, dr7;
    uint64_t flags; /* 0 for KVM_SET_DEBUGREGS; left as given */
    uint64_t reserved[9];
};

/* struct kvm_fpu (KVM_GET_FPU): fpr[i] is ST(i) (10 of 16 bytes used), ftwx the abridged tag
 * by physical register, last_ip / last_dp = selector << 32 | offset. The x87 state the ESC
 * instructions work on; xmm and mxcsr are carried through untouched. */
struct transit86_kvm_fpu {
    uint8_t fpr[8][16];
    uint16_t fcw, fsw;
    uint8_t ftwx, pad1;
    uint16_t last_opcode;
    uint64_t last_ip, last_dp;
    uint8_t xmm[16][16];
    uint32_t mxcsr, pad2;
};

struct transit86_vcpu_state {
    struct transit86_kvm_regs regs;
    struct transit86_kvm_sregs sregs;
    struct transit86_events events;
    struct transit86_kvm_debugregs debugregs;
    struct transit86_kvm_fpu fpu; /* KVM_GET_FPU / KVM_SET_FPU */
};

/* ---- guest memory and ports -------------------------------------------------------------- */

/* Guest RAM backed by caller memory, which must outlive the handle. Not in a slot: MMIO. */
struct transit86_ram_slot {
    uint64_t guest_phys;
    uint64_t size;
    void* host;
    uint8_t read_only;
    uint8_t padding[7];
};

/* kvm_run.io.direction values */
#define TRANSIT86_IO_IN 0
#define TRANSIT86_IO_OUT 1

struct transit86_port_access {
    uint16_t port;
    uint8_t size;      /* 1, 2 or 4 */
    uint8_t direction; /* TRANSIT86_IO_IN / TRANSIT86_IO_OUT */
    uint32_t data;     /* OUT: the value written; IN: the callback stores the value read */
    uint32_t count;    /* elements: always 1 (REP INS/OUTS exit once per element) */
};

/* Port callback results */
#define TRANSIT86_PORT_HANDLED 0 /* done; for IN, access->data holds the value */
#define TRANSIT86_PORT_EXIT 1    /* stop the run with TRANSIT86_EXIT_IO (not retired yet) */

/* Called inside transit86_run for each port access (optional). Must not unwind (no C++
 * exceptions, no longjmp) through transit86, and must not call into the same handle. */
typedef int (*transit86_port_fn)(void* opaque, struct transit86_port_access* access);

/* Optional (PortHandler::steady_read): called right after an IN of access->port (access->size
 * bytes) completed through the port callback. Returns N > 0 when an IN of that port would read
 * the same value, with no effect any later access could observe, at the start of each of the
 * next N instructions (the next one included), storing the value in access->data; 0: no
 * promise. transit86 may then retire such INs, and polling loops, without calling port_fn. */
typedef uint64_t (*transit86_port_steady_fn)(void* opaque, struct transit86_port_access* access);

/* ---- running ----------------------------------------------------------------------------- */

/* VM-entry check profiles (docs/checks.md) */
#define TRANSIT86_PROFILE_NONE 0 /* never stop for validity */
#define TRANSIT86_PROFILE_KVM 1
#define TRANSIT86_PROFILE_SDM 2
#define TRANSIT86_PROFILE_UNRESTRICTED 3

struct transit86_limits {
    uint64_t budget;             /* instructions and REP chunks per run; 0 = no limit */
    uint32_t stop_when_valid;    /* TRANSIT86_PROFILE_*: stop once the state passes it */
    uint8_t single_step;         /* stop after one instruction */
    uint8_t exceptions_to_host;  /* exit with every exception instead of delivering it */
    uint8_t interrupt_pending;   /* stop with INTERRUPT_WINDOW when the guest can take one */
    uint8_t stop_when_invalid;   /* TRANSIT86_PROFILE_*: stop once the state fails it */
    const uint64_t* breakpoints; /* linear addresses (CS.base + EIP); may be NULL */
    size_t breakpoint_count;
};

/* budget 130, stop when valid under the kvm profile, nothing else */
#define TRANSIT86_LIMITS_DEFAULT                                                                   \
    { 130, TRANSIT86_PROFILE_KVM, 0, 0, 0, 0, NULL, 0 }

/* Exit reasons (transit86::ExitReason) */
#define TRANSIT86_EXIT_VALID 0            /* state passes the stop_when_valid profile */
#define TRANSIT86_EXIT_STEP 1             /* single step: one instruction retired */
#define TRANSIT86_EXIT_HALT 2             /* HLT retired */
#define TRANSIT86_EXIT_IO 3               /* port I/O for the host: see exit.io */
#define TRANSIT86_EXIT_MMIO 4             /* access outside RAM: see exit.mmio */
#define TRANSIT86_EXIT_EXCEPTION 5        /* exit.exception (limits.exceptions_to_host) */
#define TRANSIT86_EXIT_TRIPLE_FAULT 6     /* shutdown */
#define TRANSIT86_EXIT_BUDGET 7           /* limits.budget spent (see RunLimits::budget) */
#define TRANSIT86_EXIT_UNSUPPORTED 8      /* not implemented: exit.bytes, exit.linear_address */
#define TRANSIT86_EXIT_INTERRUPT_WINDOW 9 /* the guest can take an interrupt now */
#define TRANSIT86_EXIT_BREAKPOINT 10      /* the next instruction is at a breakpoint */
#define TRANSIT86_EXIT_INVALID 11         /* state fails the stop_when_invalid profile */

struct transit86_mmio_access {
    uint64_t address; /* guest physical */
    uint64_t data;    /* write: the value written (little-endian, `size` bytes) */
    uint32_t size;    /* 1..8 */
    uint8_t is_write;
    uint8_t padding[3];
};

struct transit86_exception_info {
    uint8_t vector, has_error_code, padding[2];
    uint32_t error_code;
};

struct transit86_exit {
    uint32_t reason; /* TRANSIT86_EXIT_* */
    uint32_t padding;
    uint64_t instructions; /* retired during this run */
    struct transit86_port_access io;
    struct transit86_mmio_access mmio;
    struct transit86_exception_info exception;
    uint64_t linear_address; /* UNSUPPORTED / EXCEPTION / MMIO: of the instruction */
    uint8_t bytes[15];       /* UNSUPPORTED: the instruction bytes */
    uint8_t byte_count;
    const char* detail; /* static text (or NULL): why; never freed */
};

/* ---- functions --------------------------------------------------------------------------- */

/* TRANSIT86_ABI_VERSION of the library actually loaded. */
TRANSIT86_API uint32_t transit86_abi_version(void);

/* Creates a vCPU over `slot_count` RAM slots (copied; the memory they point to is not). The
 * state starts as the Intel reset state (transit86_reset_state). `port_fn` may be NULL: then
 * every port access exits with TRANSIT86_EXIT_IO. */
TRANSIT86_API transit86_status transit86_create(const struct transit86_ram_slot* slots,
                                                size_t slot_count, transit86_port_fn port_fn,
                                                void* port_opaque, struct transit86_vcpu** out);
/* Replaces the RAM slots (copied), e.g. when the platform remaps the BIOS area; between runs
 * only, never from the port callback. */
TRANSIT86_API transit86_status transit86_set_ram_slots(struct transit86_vcpu* vcpu,
                                                       const struct transit86_ram_slot* slots,
                                                       size_t slot_count);
/* Sets the steady-read callback (NULL: none, the default); it gets the port callback's
 * opaque pointer. Between runs only. */
TRANSIT86_API transit86_status transit86_set_port_steady_fn(struct transit86_vcpu* vcpu,
                                                            transit86_port_steady_fn steady_fn);
/* Destroys a handle (NULL is ignored). Guest memory is the caller's and stays. */
TRANSIT86_API void transit86_destroy(struct transit86_vcpu* vcpu);

TRANSIT86_API transit86_status transit86_get_state(const struct transit86_vcpu* vcpu,
                                                   struct transit86_vcpu_state* out);
TRANSIT86_API transit86_status transit86_set_state(struct transit86_vcpu* vcpu,
                                                   const struct transit86_vcpu_state* state);

/* A documented reset state: TRANSIT86_RESET_INTEL (SDM power-up) or TRANSIT86_RESET_KVM. */
#define TRANSIT86_RESET_INTEL 0
#define TRANSIT86_RESET_KVM 1
TRANSIT86_API transit86_status transit86_reset_state(uint32_t preset,
                                                     struct transit86_vcpu_state* out);

/* Whether `state` passes a profile's VM-entry checks: 1 valid, 0 not, or a negative status. */
TRANSIT86_API int transit86_is_valid(const struct transit86_vcpu_state* state, uint32_t profile);

/* Runs until an exit; fills *exit. Does not allocate. */
TRANSIT86_API transit86_status transit86_run(struct transit86_vcpu* vcpu,
                                             const struct transit86_limits* limits,
                                             struct transit86_exit* exit);

/* Completes an IO exit for IN (data) / an MMIO read exit (little-endian, mmio.size bytes);
 * the next transit86_run retires the instruction. OUT and MMIO writes need no call. */
TRANSIT86_API transit86_status transit86_complete_io(struct transit86_vcpu* vcpu, uint32_t data);
TRANSIT86_API transit86_status transit86_complete_mmio(struct transit86_vcpu* vcpu, uint64_t data);

/* The MSRs the vCPU keeps besides the state, as KVM_GET_MSRS / KVM_SET_MSRS carry them:
 * IA32_TIME_STAMP_COUNTER (0x10), IA32_SYSENTER_CS/ESP/EIP (0x174-0x176), IA32_MISC_ENABLE
 * (0x1A0), IA32_PAT (0x277) and the MTRRs (0x2FF, 0x250, 0x258, 0x259, 0x268-0x26F,
 * 0x200-0x20F). A host hands them over with the state: set before a run from its hypervisor's,
 * read after one. IA32_APIC_BASE and IA32_EFER are in the state's sregs. Any other index:
 * TRANSIT86_ERROR_INVALID_ARGUMENT. The value is taken as it is (what the hypervisor held). */
TRANSIT86_API transit86_status transit86_get_msr(const struct transit86_vcpu* vcpu, uint32_t index,
                                                 uint64_t* value);
TRANSIT86_API transit86_status transit86_set_msr(struct transit86_vcpu* vcpu, uint32_t index,
                                                 uint64_t value);

/* Gate A20 (on after create). Off models the 8086 wrap at 1 MiB. */
TRANSIT86_API transit86_status transit86_set_a20(struct transit86_vcpu* vcpu, int enabled);

/* Guest-physical RAM access; TRANSIT86_ERROR_INVALID_ARGUMENT if not all in RAM. */
TRANSIT86_API transit86_status transit86_read_physical(const struct transit86_vcpu* vcpu,
                                                       uint64_t gpa, void* out, size_t size);
TRANSIT86_API transit86_status transit86_write_physical(struct transit86_vcpu* vcpu, uint64_t gpa,
                                                        const void* in, size_t size);

/* Guest access by linear address, as a debugger sees it: translated through the guest's
 * page tables when CR0.PG = 1 (no accessed/dirty flags set, no rights checked, no fault), A20
 * applied, with the paging registers of the state last given to transit86_set_state or left
 * by transit86_run (PAE: the PDPTEs as the next run loads them); TRANSIT86_ERROR_INVALID_ARGUMENT
 * if a page is not mapped or a byte is not in RAM (a write then changes nothing).
 * Emulator::read_linear / write_linear. */
TRANSIT86_API transit86_status transit86_read_linear(struct transit86_vcpu* vcpu, uint64_t linear,
                                                     void* out, size_t size);
TRANSIT86_API transit86_status transit86_write_linear(struct transit86_vcpu* vcpu, uint64_t linear,
                                                      const void* in, size_t size);

/* Static names, e.g. "io", "valid"; "?" for unknown values. */
TRANSIT86_API const char* transit86_exit_reason_name(uint32_t reason);
TRANSIT86_API const char* transit86_status_name(transit86_status status);

#ifdef __cplusplus
}
#endif

#endif /* TRANSIT86_H */
