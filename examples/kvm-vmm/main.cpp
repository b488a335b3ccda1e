// kvm-vmm: boot a raw image on /dev/kvm, with transit86 for the invalid-state window.
//
//   kvm-vmm [--kvm-only] [--quiet] [--load ADDRESS] IMAGE
//
// Prints the hand-overs between KVM and transit86, the guest's console output and the final
// state. Exit status as QEMU's isa-debug-exit gives it ((code << 1) | 1), 0 after HLT, 1 on
// an error, 77 when KVM is not available.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kvm_vm.hpp"
#include "pc/pc_ports.hpp"
#include "vmm.hpp"

namespace {

int usage() {
    std::fprintf(stderr, "usage: kvm-vmm [--kvm-only] [--quiet] [--load ADDRESS] IMAGE\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    kvm_vmm::VmmOptions options;
    bool quiet = false;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--kvm-only")
            options.mode = kvm_vmm::Mode::KvmOnly;
        else if (arg == "--quiet")
            quiet = true;
        else if (arg == "--load" && i + 1 < argc)
            options.load_address = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 0));
        else if (!arg.empty() && arg[0] != '-' && path.empty())
            path = arg;
        else
            return usage();
    }
    if (path.empty()) return usage();
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> image{std::istreambuf_iterator<char>(in), {}};
    if (image.empty()) {
        std::fprintf(stderr, "kvm-vmm: cannot read %s\n", path.c_str());
        return 1;
    }
    if (const auto why = kvm_vmm::KvmVm::unavailable_reason()) {
        std::fprintf(stderr, "kvm-vmm: KVM unavailable: %s\n", why->c_str());
        return 77;
    }
    if (!quiet)
        options.log = [](std::string_view line) {
            std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
        };

    std::printf("kvm-vmm: %s, %zu bytes at %#x, %s\n", path.c_str(), image.size(),
                options.load_address,
                options.mode == kvm_vmm::Mode::Hybrid
                    ? "KVM + transit86 while VM entry would fail (profile kvm)"
                    : "KVM only");
    kvm_vmm::VmmResult result;
    try {
        result = kvm_vmm::run_image(image, options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kvm-vmm: %s\n", e.what());
        return 1;
    }
    std::printf("console:\n%s", result.console.c_str());
    if (!result.console.empty() && result.console.back() != '\n') std::printf("\n");
    std::printf("stop: %s", result.stop.c_str());
    if (result.debug_exit_code) std::printf(" (code %#x)", *result.debug_exit_code);
    std::printf("\nfinal state:\n%s\n", kvm_vmm::describe_state(result.final_state).c_str());
    std::printf("KVM exits %llu (single steps %llu), transit86 instructions %llu, hand-overs "
                "to transit86 %u, to KVM %u\n",
                static_cast<unsigned long long>(result.kvm_exits),
                static_cast<unsigned long long>(result.kvm_single_steps),
                static_cast<unsigned long long>(result.emulated_instructions), result.to_transit86,
                result.to_kvm);
    if (!result.finished) return 1;
    if (result.debug_exit_code)
        return transit86::pc::PcPorts::exit_status_for(*result.debug_exit_code);
    return 0;
}
