// The input format of fuzz_execute: a fixed-size header (run options, then every field of the
// starting CpuState, little-endian), then `code_size` code bytes placed at `code_address`,
// then a data blob placed at `data_address` (a GDT, an IDT, a stack...). A short input reads
// zeros for what it lacks. fuzz_seeds writes the corpus cases in this format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "transit86/cpu_state.hpp"

namespace transit86::fuzz {

struct ExecuteInput {
    // Run options.
    uint8_t budget = 64;         // RunLimits::budget, 1..64
    uint8_t stop_when_valid = 0; // 0 none, 1 kvm, 2 sdm, 3 unrestricted
    uint8_t ports = 0;           // 0 device stub, 1 every port exits, 2 PcPorts, 3 no handler
    bool a20 = true;
    bool single_step = false;
    bool exceptions_to_host = false;
    bool interrupt_pending = false;
    bool vcpu_path = false; // Emulator::run(VcpuState&) instead of run(limits)
    uint8_t event_kind = 0; // 0 none, 1 exception, 2 external interrupt, before the first run
    uint8_t event_vector = 0;
    uint32_t error_code = 0;
    uint32_t host_data = 0;  // what the host answers to an IN or an MMIO read
    uint32_t breakpoint = 0; // a RunLimits::breakpoints entry
    uint32_t code_address = 0x7C00;
    uint32_t data_address = 0;
    CpuState state{};
    std::span<const uint8_t> code;
    std::span<const uint8_t> data;
};

ExecuteInput decode_execute_input(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode_execute_input(const ExecuteInput& input);

} // namespace transit86::fuzz
