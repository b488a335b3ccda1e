// The transit86 subcommands. Each returns the process exit status.
#pragma once

#include <cstdint>
#include <string>

#include "transit86/cpu_state.hpp"
#include "transit86/vmx_checks.hpp"

namespace transit86::tools {

enum class StopAt : uint8_t { Valid, Halt, Budget };

struct StepOptions {
    std::string image;
    uint64_t load_address = 0x7C00;
    uint16_t start_cs = 0;
    uint32_t start_ip = 0x7C00;
    ResetPreset preset = ResetPreset::Intel;
    vmx::Profile profile = vmx::Profile::Kvm;
    StopAt stop_at = StopAt::Valid;
    uint64_t budget = 130;
    bool hlt_resume = false;
    bool json = false;
    bool a20_off = false;
    uint64_t memory_mib = 16;
};
int run_step(const StepOptions& options);

struct CheckOptions {
    std::string state_file; // "-" for standard input
    vmx::Profile profile = vmx::Profile::Kvm;
    bool json = false;
};
int run_check(const CheckOptions& options);

// Exit statuses shared by every subcommand.
inline constexpr int kExitUsage = 2; // bad command line or unreadable/malformed input

} // namespace transit86::tools
