// The PC a `transit86 boot` command line describes: its options turned into pc::PcConfig
// (firmware, disk, the Linux boot protocol's fw_cfg items and option ROM) and into the CPU
// model CPUID reports. Shared by the boot command and the corpus's boot chains.
#pragma once

#include "pc/platform.hpp"
#include "tools/commands.hpp"
#include "transit86/cpu_model.hpp"

namespace transit86::tools {

// Reads every file the options name; throws ImageError (one line naming the file and what is
// wrong with it) for a missing, empty or oversized file, a disk image of an impossible size or
// a kernel that is not a bzImage.
pc::PcConfig make_platform_config(const BootOptions& options);

// The CPUID the boot runs with (docs/boot.md, "CPU models").
CpuModel cpu_model_for(BootCpu cpu);

} // namespace transit86::tools
