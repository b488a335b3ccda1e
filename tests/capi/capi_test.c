/*
 * The C ABI (include/transit86/transit86.h) from C11: the bundled boot sample run to a state
 * KVM accepts and on to its end, an Io exit handled by the host (an IN completed with
 * transit86_complete_io), an MMIO read completed with transit86_complete_mmio, and the
 * registers checked in the KVM layout. No test framework: each CHECK prints what failed, and
 * the exit status says whether everything passed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transit86/transit86.h"

static int failures = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            ++failures;                                                                            \
        }                                                                                          \
    } while (0)

#define RAM_SIZE (1u << 20)
#define SAMPLE_LOAD 0x7C00u

/* The debug console (0xE9) goes to a buffer; isa-debug-exit (0xF4) exits to the host. */
struct devices {
    char console[64];
    size_t console_len;
};

static int port_access(void* opaque, struct transit86_port_access* access) {
    struct devices* dev = opaque;
    if (access->port == 0xF4) return TRANSIT86_PORT_EXIT;
    if (access->direction == TRANSIT86_IO_IN) {
        access->data = 0xFFFFFFFFu;
    } else if (access->port == 0xE9 && dev->console_len < sizeof(dev->console)) {
        dev->console[dev->console_len++] = (char)access->data;
    }
    return TRANSIT86_PORT_HANDLED;
}

static size_t load_sample(const char* path, uint8_t* ram) {
    FILE* f = fopen(path, "rb");
    if (f == NULL) return 0;
    const size_t n = fread(ram + SAMPLE_LOAD, 1, 512, f);
    fclose(f);
    return n;
}

/* A reset state entered at 0000:ip like a boot sector. Under the Intel preset CS caches a data
 * segment and TR is not a TSS: the window stays open until the far jump and LTR. */
static struct transit86_vcpu_state boot_state(uint32_t preset, uint16_t ip) {
    struct transit86_vcpu_state s;
    CHECK(transit86_reset_state(preset, &s) == TRANSIT86_OK);
    s.sregs.cs.selector = 0;
    s.sregs.cs.base = 0;
    s.regs.rip = ip;
    return s;
}

static void test_boot_sample(const char* path) {
    uint8_t* ram = calloc(RAM_SIZE, 1);
    CHECK(ram != NULL && load_sample(path, ram) == 512);
    const struct transit86_ram_slot slot = {.guest_phys = 0, .size = RAM_SIZE, .host = ram};
    struct devices dev = {.console_len = 0};
    struct transit86_vcpu* vcpu = NULL;
    CHECK(transit86_create(&slot, 1, port_access, &dev, &vcpu) == TRANSIT86_OK);
    struct transit86_vcpu_state state = boot_state(TRANSIT86_RESET_INTEL, SAMPLE_LOAD);
    CHECK(transit86_set_state(vcpu, &state) == TRANSIT86_OK);
    CHECK(transit86_is_valid(&state, TRANSIT86_PROFILE_KVM) == 1); /* vm86-like real mode */

    /* Step while KVM could run it; CR0.PE = 1 opens the invalid window. */
    struct transit86_limits step = TRANSIT86_LIMITS_DEFAULT;
    step.stop_when_valid = TRANSIT86_PROFILE_NONE;
    step.single_step = 1;
    struct transit86_exit exit;
    for (int i = 0; i < 32 && transit86_is_valid(&state, TRANSIT86_PROFILE_KVM) == 1; ++i) {
        CHECK(transit86_run(vcpu, &step, &exit) == TRANSIT86_OK);
        CHECK(exit.reason == TRANSIT86_EXIT_STEP);
        CHECK(transit86_get_state(vcpu, &state) == TRANSIT86_OK);
    }
    CHECK((state.sregs.cr0 & 1) == 1);

    /* Run through the window to the first state KVM accepts again. */
    struct transit86_limits limits = TRANSIT86_LIMITS_DEFAULT;
    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_VALID);
    CHECK(exit.instructions >= 10);
    CHECK(transit86_get_state(vcpu, &state) == TRANSIT86_OK);
    CHECK(state.sregs.cs.selector == 0x08 && state.sregs.cs.db == 1 && state.sregs.cs.type == 11);
    CHECK(state.sregs.ds.selector == 0x10 && state.sregs.ss.selector == 0x10);
    CHECK(state.sregs.tr.selector == 0x18 && state.sregs.tr.type == 11);
    CHECK(state.regs.rsp == 0x9000);
    CHECK(transit86_is_valid(&state, TRANSIT86_PROFILE_KVM) == 1);

    /* On to the isa-debug-exit OUT, which the callback hands to the host. */
    limits.stop_when_valid = TRANSIT86_PROFILE_NONE;
    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_IO);
    CHECK(exit.io.port == 0xF4 && exit.io.direction == TRANSIT86_IO_OUT);
    CHECK(exit.io.size == 1 && exit.io.count == 1 && exit.io.data == 0x10);
    CHECK(dev.console_len == 3 && memcmp(dev.console, "OK\n", 3) == 0);
    CHECK(transit86_complete_io(vcpu, 0) == TRANSIT86_OK); /* harmless for an OUT */
    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_HALT);
    CHECK(transit86_get_state(vcpu, &state) == TRANSIT86_OK);
    CHECK((state.regs.rax & 0xFFFF) == 0x10 && state.regs.rcx == 0);
    CHECK(transit86_complete_io(vcpu, 0) == TRANSIT86_ERROR_NOTHING_PENDING);

    transit86_destroy(vcpu);
    free(ram);
}

/* in al, 0x40 ; mov bx, [0x10] (DS base 0x10000, outside RAM) ; hlt — without a port callback. */
static void test_io_and_mmio_exits(void) {
    static uint8_t ram[0x10000];
    static const uint8_t code[] = {0xE4, 0x40, 0x8B, 0x1E, 0x10, 0x00, 0xF4};
    memcpy(ram + 0x1000, code, sizeof(code));
    const struct transit86_ram_slot slot = {.guest_phys = 0, .size = sizeof(ram), .host = ram};
    struct transit86_vcpu* vcpu = NULL;
    CHECK(transit86_create(&slot, 1, NULL, NULL, &vcpu) == TRANSIT86_OK);
    struct transit86_vcpu_state state = boot_state(TRANSIT86_RESET_KVM, 0x1000);
    state.sregs.ds.selector = 0x1000;
    state.sregs.ds.base = 0x10000;
    CHECK(transit86_set_state(vcpu, &state) == TRANSIT86_OK);

    struct transit86_limits limits = TRANSIT86_LIMITS_DEFAULT;
    limits.stop_when_valid = TRANSIT86_PROFILE_NONE;
    struct transit86_exit exit;
    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_IO);
    CHECK(exit.io.port == 0x40 && exit.io.direction == TRANSIT86_IO_IN && exit.io.size == 1);
    CHECK(transit86_get_state(vcpu, &state) == TRANSIT86_OK);
    CHECK(state.regs.rip == 0x1000); /* not retired until completed */
    CHECK(transit86_complete_io(vcpu, 0x5A) == TRANSIT86_OK);

    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_MMIO);
    CHECK(exit.mmio.address == 0x10010 && exit.mmio.size == 2 && exit.mmio.is_write == 0);
    CHECK(transit86_complete_mmio(vcpu, 0xBEEF) == TRANSIT86_OK);

    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_HALT);
    CHECK(strcmp(transit86_exit_reason_name(exit.reason), "halt") == 0);
    CHECK(transit86_get_state(vcpu, &state) == TRANSIT86_OK);
    CHECK((state.regs.rax & 0xFF) == 0x5A);
    CHECK(state.regs.rbx == 0xBEEF);
    CHECK(state.regs.rip == 0x1007);
    transit86_destroy(vcpu);
}

/* mov dr0, eax ; inc bx ; inc bx — with DR1 an instruction breakpoint on the second INC and
 * every exception handed to the host: the #DB exit, DR0 and DR6 read back in kvm_debugregs. */
static void test_debug_registers(void) {
    static uint8_t ram[0x10000];
    static const uint8_t code[] = {0x0F, 0x23, 0xC0, 0x43, 0x43};
    memcpy(ram + 0x1000, code, sizeof(code));
    const struct transit86_ram_slot slot = {.guest_phys = 0, .size = sizeof(ram), .host = ram};
    struct transit86_vcpu* vcpu = NULL;
    CHECK(transit86_create(&slot, 1, NULL, NULL, &vcpu) == TRANSIT86_OK);
    struct transit86_vcpu_state state = boot_state(TRANSIT86_RESET_KVM, 0x1000);
    CHECK(state.debugregs.dr6 == 0xFFFF0FF0u && state.debugregs.dr7 == 0x400u);
    state.regs.rax = 0x12345678;
    state.debugregs.db[1] = 0x1004;
    state.debugregs.dr7 = 0x408; /* G1, R/W 00 (execute), LEN 00 */
    CHECK(transit86_set_state(vcpu, &state) == TRANSIT86_OK);

    struct transit86_limits limits = TRANSIT86_LIMITS_DEFAULT;
    limits.stop_when_valid = TRANSIT86_PROFILE_NONE;
    limits.exceptions_to_host = 1;
    struct transit86_exit exit;
    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_EXCEPTION && exit.exception.vector == 1);
    CHECK(transit86_get_state(vcpu, &state) == TRANSIT86_OK);
    CHECK(state.regs.rip == 0x1004 && state.regs.rbx == 1);
    CHECK(state.debugregs.db[0] == 0x12345678);
    CHECK(state.debugregs.dr6 == 0xFFFF0FF2u); /* B1 */
    transit86_destroy(vcpu);
}

/* A state with 32-bit paging given by transit86_set_state (no run yet): linear 4000H is mapped
 * to frame 6000H, linear 5000H not at all. transit86_read_linear / write_linear follow that
 * state's tables, set no accessed flag, and report the unmapped page as an error. */
static void test_linear_memory(void) {
    static uint8_t ram[0x10000];
    const uint32_t pde = 0x3000 | 3, pte = 0x6000 | 1; /* PDE0 -> table 3000H; PTE 4 -> 6000H */
    memcpy(ram + 0x2000, &pde, 4);
    memcpy(ram + 0x3000 + 4 * 4, &pte, 4);
    memcpy(ram + 0x4000, "phys", 4);
    memcpy(ram + 0x6000, "page", 4);
    const struct transit86_ram_slot slot = {.guest_phys = 0, .size = sizeof(ram), .host = ram};
    struct transit86_vcpu* vcpu = NULL;
    CHECK(transit86_create(&slot, 1, NULL, NULL, &vcpu) == TRANSIT86_OK);
    struct transit86_vcpu_state state = boot_state(TRANSIT86_RESET_KVM, 0x1000);
    char bytes[4];
    CHECK(transit86_set_state(vcpu, &state) == TRANSIT86_OK); /* PG = 0: linear = physical */
    CHECK(transit86_read_linear(vcpu, 0x4000, bytes, 4) == TRANSIT86_OK);
    CHECK(memcmp(bytes, "phys", 4) == 0);
    state.sregs.cr0 |= 0x80000001u; /* PE, PG */
    state.sregs.cr3 = 0x2000;
    CHECK(transit86_set_state(vcpu, &state) == TRANSIT86_OK);
    CHECK(transit86_read_linear(vcpu, 0x4000, bytes, 4) == TRANSIT86_OK);
    CHECK(memcmp(bytes, "page", 4) == 0);
    CHECK(transit86_write_linear(vcpu, 0x4000, "PAGE", 4) == TRANSIT86_OK);
    CHECK(memcmp(ram + 0x6000, "PAGE", 4) == 0);
    CHECK((ram[0x3000 + 4 * 4] & 0x60) == 0); /* neither accessed nor dirty */
    CHECK(transit86_read_linear(vcpu, 0x5000, bytes, 4) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(transit86_write_linear(vcpu, 0x4FFE, "XXXX", 4) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(ram[0x6FFE] == 0);
    CHECK(transit86_read_linear(NULL, 0x4000, bytes, 4) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    transit86_destroy(vcpu);
}

/* L: in al, 0x61 ; test al, 0x20 ; je L — a polling loop on a port whose value never changes:
 * with the steady-read callback it is retired in bulk, calling the port callback only a few
 * times; without it, once per iteration. The same instructions retire either way. */
struct poll_counts {
    unsigned long accesses, promises;
};
static int poll_port(void* opaque, struct transit86_port_access* access) {
    ((struct poll_counts*)opaque)->accesses++;
    access->data = 0;
    return TRANSIT86_PORT_HANDLED;
}
static uint64_t poll_steady(void* opaque, struct transit86_port_access* access) {
    ((struct poll_counts*)opaque)->promises++;
    access->data = 0;
    return access->port == 0x61 ? 1000000000u : 0;
}
static void test_polling_loop(void) {
    static uint8_t ram[0x10000];
    static const uint8_t code[] = {0xE4, 0x61, 0xA8, 0x20, 0x74, 0xFA};
    memcpy(ram + 0x1000, code, sizeof(code));
    const struct transit86_ram_slot slot = {.guest_phys = 0, .size = sizeof(ram), .host = ram};
    for (int steady = 0; steady < 2; ++steady) {
        struct poll_counts counts = {0, 0};
        struct transit86_vcpu* vcpu = NULL;
        CHECK(transit86_create(&slot, 1, poll_port, &counts, &vcpu) == TRANSIT86_OK);
        CHECK(transit86_set_port_steady_fn(vcpu, steady ? poll_steady : NULL) == TRANSIT86_OK);
        struct transit86_vcpu_state state = boot_state(TRANSIT86_RESET_KVM, 0x1000);
        CHECK(transit86_set_state(vcpu, &state) == TRANSIT86_OK);
        struct transit86_limits limits = TRANSIT86_LIMITS_DEFAULT;
        limits.stop_when_valid = TRANSIT86_PROFILE_NONE;
        limits.budget = 300000;
        struct transit86_exit exit;
        CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
        CHECK(exit.reason == TRANSIT86_EXIT_BUDGET && exit.instructions == 300000);
        if (steady)
            CHECK(counts.accesses < 10 && counts.promises > 0);
        else
            CHECK(counts.accesses == 100000 && counts.promises == 0);
        transit86_destroy(vcpu);
    }
    CHECK(transit86_set_port_steady_fn(NULL, poll_steady) == TRANSIT86_ERROR_INVALID_ARGUMENT);
}

/* The MSRs a host hands over besides the state: what it sets is what RDMSR reads (SYSENTER_CS,
 * and the TSC, one more for the RDMSR), what WRMSR writes is what it gets (PAT); APIC_BASE (in
 * the sregs), EFER and unknown indices are refused.
 *   mov ecx, 0x174 ; rdmsr ; mov ebx, eax ; mov ecx, 0x277 ; mov eax, 6 ; xor edx, edx ; wrmsr ;
 *   rdtsc ; hlt */
static void test_msrs(void) {
    static uint8_t ram[0x10000];
    static const uint8_t code[] = {0x66, 0xB9, 0x74, 0x01, 0x00, 0x00, 0x0F, 0x32, 0x66, 0x89, 0xC3,
                                   0x66, 0xB9, 0x77, 0x02, 0x00, 0x00, 0x66, 0xB8, 0x06, 0x00, 0x00,
                                   0x00, 0x66, 0x31, 0xD2, 0x0F, 0x30, 0x0F, 0x31, 0xF4};
    memcpy(ram + 0x1000, code, sizeof(code));
    const struct transit86_ram_slot slot = {.guest_phys = 0, .size = sizeof(ram), .host = ram};
    struct transit86_vcpu* vcpu = NULL;
    CHECK(transit86_create(&slot, 1, NULL, NULL, &vcpu) == TRANSIT86_OK);
    struct transit86_vcpu_state state = boot_state(TRANSIT86_RESET_KVM, 0x1000);
    CHECK(transit86_set_state(vcpu, &state) == TRANSIT86_OK);
    CHECK(transit86_set_msr(vcpu, 0x174, 0x10) == TRANSIT86_OK);
    CHECK(transit86_set_msr(vcpu, 0x10, 1000) == TRANSIT86_OK);
    uint64_t value = 0;
    CHECK(transit86_get_msr(vcpu, 0x277, &value) == TRANSIT86_OK);
    CHECK(value == 0x0007040600070406ull); /* power-up PAT */

    struct transit86_limits limits = TRANSIT86_LIMITS_DEFAULT;
    limits.stop_when_valid = TRANSIT86_PROFILE_NONE;
    struct transit86_exit exit;
    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_OK);
    CHECK(exit.reason == TRANSIT86_EXIT_HALT);
    CHECK(transit86_get_state(vcpu, &state) == TRANSIT86_OK);
    CHECK(state.regs.rbx == 0x10);
    CHECK(state.regs.rax == 1000 + 7); /* RDTSC: the TSC set, one per instruction before it */
    CHECK(transit86_get_msr(vcpu, 0x277, &value) == TRANSIT86_OK && value == 6);
    CHECK(transit86_get_msr(vcpu, 0x10, &value) == TRANSIT86_OK && value == 1000 + 9);

    CHECK(transit86_get_msr(vcpu, 0x1B, &value) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(transit86_set_msr(vcpu, 0xC0000080u, 0) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(transit86_set_msr(vcpu, 0x12345, 0) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(transit86_get_msr(vcpu, 0x174, NULL) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(transit86_get_msr(NULL, 0x174, &value) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    transit86_destroy(vcpu);
}

static void test_arguments(void) {
    struct transit86_vcpu* vcpu = NULL;
    const struct transit86_ram_slot bad = {.guest_phys = 0, .size = 0x1000, .host = NULL};
    CHECK(transit86_create(&bad, 1, NULL, NULL, &vcpu) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(vcpu == NULL);
    CHECK(transit86_create(NULL, 0, NULL, NULL, &vcpu) == TRANSIT86_OK); /* all MMIO */
    struct transit86_limits limits = TRANSIT86_LIMITS_DEFAULT;
    limits.stop_when_valid = 42;
    struct transit86_exit exit;
    CHECK(transit86_run(vcpu, &limits, &exit) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(transit86_run(vcpu, NULL, &exit) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(transit86_reset_state(7, NULL) == TRANSIT86_ERROR_INVALID_ARGUMENT);
    CHECK(strcmp(transit86_status_name(TRANSIT86_ERROR_NOTHING_PENDING), "nothing pending") == 0);
    CHECK(transit86_abi_version() == TRANSIT86_ABI_VERSION);
    transit86_destroy(vcpu);
    transit86_destroy(NULL);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s pe_entry.bin\n", argv[0]);
        return 2;
    }
    test_boot_sample(argv[1]);
    test_io_and_mmio_exits();
    test_debug_registers();
    test_linear_memory();
    test_polling_loop();
    test_msrs();
    test_arguments();
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("capi_test: all checks passed\n");
    return 0;
}
