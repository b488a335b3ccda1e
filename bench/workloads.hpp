// Guest workloads shared by the micro-benchmarks and the compare program (docs/performance.md).
// Each is machine code with its Intel syntax beside it, a load address and a starting state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86::bench {

struct Workload {
    std::string name;
    std::vector<uint8_t> code;
    uint32_t load_address = 0x1000;
    CpuState start{};
    uint64_t instructions = 0; // guest instructions one run retires (for rates)
    // Other guest memory the workload needs (a GDT, page tables), loaded with the code.
    struct Bytes {
        uint32_t address = 0;
        std::vector<uint8_t> bytes;
    };
    std::vector<Bytes> memory;
};

// (a) add/dec/jnz register loop, `iterations` times, in real mode or 32-bit protected mode.
Workload register_loop(bool protected32, uint32_t iterations);
// (b) segmented byte copy: mov al,[si]; mov es:[di],al; inc si; inc di; dec ecx; jnz.
Workload segmented_copy_loop(uint32_t iterations);
// (c) rep movsd of `bytes` in unreal mode, from 2 MiB to 4 MiB.
Workload unreal_rep_movsd(uint32_t bytes);

// (d) rep movsd of `bytes` in flat 32-bit protected mode, from 2 MiB to 4 MiB.
Workload flat_rep_movsd(uint32_t bytes);
// The same workload with 32-bit paging on: 4-KByte pages identity-mapping the first 8 MiB,
// the page directory at 1 MiB (docs/performance.md, "Paging").
Workload with_identity_paging(Workload w);

// A flat 32-bit protected-mode state (CS 0x08, data 0x10, TR 0x18) with its GDT at 0x500;
// the GDT bytes are returned for loading into guest memory.
CpuState flat_protected_state(std::vector<uint8_t>& gdt_bytes, uint32_t& gdt_address);

// A workload loaded into 8 MiB of RAM at guest-physical 0 (its code and other bytes), with an
// emulator over that RAM; the caller sets emu.state() from Workload::start.
struct LoadedWorkload {
    static constexpr size_t kRamSize = 8u << 20;
    std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize);
    RamSlot slot{.guest_phys = 0, .size = kRamSize, .host = ram.data()};
    Emulator emu{{&slot, 1}};
    explicit LoadedWorkload(const Workload& w) {
        std::copy(w.code.begin(), w.code.end(), ram.begin() + w.load_address);
        for (const Workload::Bytes& extra : w.memory)
            std::copy(extra.bytes.begin(), extra.bytes.end(), ram.begin() + extra.address);
    }
};

} // namespace transit86::bench
