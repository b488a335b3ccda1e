/* main.cpp through the C ABI: KVM's part single-stepped, transit86's windows reported. */
#include <stdio.h>
#include <transit86/transit86.h>

static int on_port(void* opaque, struct transit86_port_access* a) {
    (void)opaque;
    if (a->direction == TRANSIT86_IO_IN) a->data = 0xFF; /* or return TRANSIT86_PORT_EXIT */
    if (a->direction == TRANSIT86_IO_OUT && a->port == 0xE9) putchar((int)a->data);
    return TRANSIT86_PORT_HANDLED;
}

int main(int argc, char** argv) {
    static uint8_t ram[1 << 20];
    FILE* f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    if (f == NULL || fread(ram + 0x7C00, 1, 512, f) != 512) return 2;
    const struct transit86_ram_slot slot = {.guest_phys = 0, .size = sizeof(ram), .host = ram};
    struct transit86_vcpu* vcpu;
    if (transit86_create(&slot, 1, on_port, NULL, &vcpu) != TRANSIT86_OK) return 1;
    struct transit86_vcpu_state s; /* a VMM: KVM_GET_REGS + KVM_GET_SREGS */
    transit86_reset_state(TRANSIT86_RESET_INTEL, &s);
    s.sregs.cs.selector = 0, s.sregs.cs.base = 0, s.regs.rip = 0x7C00;
    struct transit86_limits window = TRANSIT86_LIMITS_DEFAULT, step = TRANSIT86_LIMITS_DEFAULT;
    window.budget = 0, step.budget = 1, step.stop_when_valid = TRANSIT86_PROFILE_NONE;
    struct transit86_exit exit = {.reason = TRANSIT86_EXIT_BUDGET};
    int windows = 0;
    while (exit.reason == TRANSIT86_EXIT_BUDGET || exit.reason == TRANSIT86_EXIT_VALID) {
        const int valid = transit86_is_valid(&s, TRANSIT86_PROFILE_KVM);
        transit86_set_state(vcpu, &s);
        transit86_run(vcpu, valid ? &step : &window, &exit);
        transit86_get_state(vcpu, &s);
        if (exit.reason == TRANSIT86_EXIT_VALID)
            printf("window %d: %u instructions\n", ++windows, (unsigned)exit.instructions);
    }
    printf("stopped: %s\n", transit86_exit_reason_name(exit.reason));
    transit86_destroy(vcpu);
    fclose(f);
    return exit.reason == TRANSIT86_EXIT_HALT && windows > 0 ? 0 : 1;
}
