// Boots a sector (argv[1]) at 0x7C00 with transit86. Where a VMM would let KVM run the guest
// (VM entry accepts the state) it single-steps transit86 in KVM's place; it reports each window.
#include <transit86/emulator.hpp>
#include <transit86/vcpu.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
    using namespace transit86;
    std::ifstream in(argc == 2 ? argv[1] : "", std::ios::binary);
    std::vector<uint8_t> ram(1 << 20);
    std::copy(std::istreambuf_iterator<char>(in), {}, ram.begin() + 0x7C00);
    const RamSlot slot{.guest_phys = 0, .size = ram.size(), .host = ram.data()};
    Emulator emu({&slot, 1}); // no device models: every port access exits to us

    VcpuState state = reset_vcpu_state(ResetPreset::Intel); // a VMM: KVM_GET_REGS/_SREGS
    state.sregs.cs.selector = 0, state.sregs.cs.base = 0, state.regs.rip = 0x7C00;
    const RunLimits window{.budget = 0, .stop_when_valid = vmx::Profile::Kvm};
    const RunLimits kvm_would_run{.budget = 1, .stop_when_valid = std::nullopt};
    int windows = 0;
    for (;;) {
        const bool valid = vmx::is_valid(to_cpu_state(state), vmx::Profile::Kvm);
        const Exit exit = emu.run(state, valid ? kvm_would_run : window);
        if (exit.reason == ExitReason::GuestStateValid)
            std::printf("window %d: %llu instructions, valid again at %04x:%08llx\n", ++windows,
                        static_cast<unsigned long long>(exit.instructions), state.sregs.cs.selector,
                        static_cast<unsigned long long>(state.regs.rip));
        else if (exit.reason == ExitReason::Io && exit.io.is_in)
            emu.complete_io(0xFF); // the next run() retires the IN with this value
        else if (exit.reason == ExitReason::Io && exit.io.port == 0xE9)
            std::putchar(static_cast<int>(exit.io.data)); // an OUT needs no completion
        else if (exit.reason == ExitReason::Halt)
            return windows > 0 ? 0 : 1;
        else if (exit.reason != ExitReason::Budget && exit.reason != ExitReason::Io)
            return std::printf("stopped: %s\n", to_string(exit.reason)), 1;
    }
}
