// A small VMM on /dev/kvm that boots a raw image the way a BIOS boots a boot sector, and uses
// transit86 for the stretch of real -> protected mode switch that VM entry refuses.
//
//   Hybrid:  KVM runs the guest whenever transit86's checks (profile kvm, no unrestricted
//            guest) say VM entry would accept the state. When they say it would not, the state
//            goes from KVM_GET_REGS / KVM_GET_SREGS into transit86, which runs until the state
//            is valid again, and comes back with KVM_SET_SREGS / KVM_SET_REGS. KVM here cannot
//            trap the guest's CR0 write (no CR0 exits, and kvm_pvm emulates everything), so
//            while the guest is in real mode KVM is single-stepped and the state is checked at
//            every instruction boundary — the view a VT-x VMM gets from its CR0 and
//            invalid-guest-state exits (docs/embedding.md).
//   KvmOnly: KVM alone, for comparison.
//
// Port I/O from either side goes to the same device models (pc/pc_ports.hpp): the debug
// console 0xE9, COM1 at 0x3F8, isa-debug-exit 0xF4 (ends the run), the A20 ports. There is no
// MMIO device: reads outside RAM return all ones, writes are dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transit86/vcpu.hpp"
#include "vcpu_view.hpp" // describe_state()

namespace kvm_vmm {

enum class Mode { Hybrid, KvmOnly };

struct VmmOptions {
    Mode mode = Mode::Hybrid;
    uint64_t ram_size = 16u << 20;
    uint32_t load_address = 0x7C00; // entered at 0000:load_address, from KVM's reset state
    uint64_t max_exits = 1u << 20;  // KVM exits and transit86 runs, a guard against hangs
    // Receives one line per event worth telling (hand-overs, the end of the run).
    std::function<void(std::string_view)> log;
};

struct VmmResult {
    bool finished = false; // the guest ended by isa-debug-exit or HLT
    std::string stop;      // how it ended: "isa-debug-exit", "hlt", or what went wrong
    std::optional<uint32_t> debug_exit_code;
    std::string console; // what the guest wrote to 0xE9 and COM1
    transit86::VcpuState final_state{};
    uint64_t ram_hash = 0; // FNV-1a of guest RAM at the end
    // Statistics.
    uint64_t kvm_exits = 0;             // KVM_RUN calls that returned an exit
    uint64_t kvm_single_steps = 0;      // of which KVM_EXIT_DEBUG
    uint64_t emulated_instructions = 0; // retired by transit86
    uint32_t to_transit86 = 0;          // hand-overs KVM -> transit86
    uint32_t to_kvm = 0;                // and back
};

// Boots `image` at options.load_address. Throws KvmError (kvm_vm.hpp) if KVM is unusable.
VmmResult run_image(const std::vector<uint8_t>& image, const VmmOptions& options);

} // namespace kvm_vmm
