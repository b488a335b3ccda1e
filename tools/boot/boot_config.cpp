#include "tools/boot/boot_config.hpp"

#include "pc/machine_files.hpp"
#include "tools/guest_image.hpp"

namespace transit86::tools {

pc::PcConfig make_platform_config(const BootOptions& o) {
    try {
        return pc::read_machine_files(o.machine);
    } catch (const pc::MachineFileError& e) {
        throw ImageError(e.what());
    }
}

CpuModel cpu_model_for(BootCpu cpu) {
    CpuModel model;
    if (cpu == BootCpu::X86_64) {
        // What a 64-bit Linux kernel's setup code requires before it goes on
        // (arch/x86/boot/cpucheck.c against asm/required-features.h for CONFIG_X86_64): the
        // paging features, FXSR, SSE, SSE2 and long mode (the default model has the paging
        // features and FXSR already). The 16- and 32-bit boot code
        // executes none of the SSE instructions or long mode; if a guest does, transit86 stops
        // with Unsupported naming it.
        model.features_edx |= cpuid_edx::PSE | cpuid_edx::PAE | cpuid_edx::PGE | cpuid_edx::FXSR |
                              cpuid_edx::SSE | cpuid_edx::SSE2;
        model.extended_features_edx |= cpuid_ext_edx::LM | cpuid_ext_edx::SYSCALL;
    }
    return model;
}

} // namespace transit86::tools
