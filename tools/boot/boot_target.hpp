// `transit86 boot --gdb`: the booting PC (BootMachine) as the GDB server's target
// (tools/gdb/gdb_target.hpp, docs/gdb.md "Booting under GDB").
//
// A position is an instruction retired or an interrupt delivered (BootMachine::position()).
// Stepping and continuing go through BootMachine::run with BootLimits::resumable, so port I/O
// and MMIO are completed by the platform's devices, timer interrupts arrive at the same
// instructions as in a plain `transit86 boot`, and the census goes on across GDB's stops;
// run() takes the block engine, with the breakpoints and the window edges as the emulator's
// own stop conditions. A snapshot is BootMachine::Snapshot (the CPU, every device, the
// memory map, virtual time, the census) plus the console's length; the reverse history
// copies guest RAM as one slot.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tools/boot/boot_machine.hpp"
#include "tools/gdb/gdb_target.hpp"

namespace transit86::tools {

struct BootTargetOptions {
    uint64_t budget = 0;     // instructions; 0 = no limit
    uint64_t timeout_ns = 0; // virtual time; 0 = no limit
    bool debugcon = true;    // the firmware's debug log (port 0x402) joins the console
};

class BootTarget final : public gdb::GdbTarget {
  public:
    // Takes over the machine's output callbacks; the machine must outlive the target.
    BootTarget(BootMachine& machine, BootTargetOptions options);

    const CpuState& state() const override { return machine_.emulator().state(); }
    void set_state(const CpuState& state) override { machine_.emulator().state() = state; }
    size_t read_linear(uint64_t linear, std::span<uint8_t> out) const override;
    size_t write_linear(uint64_t linear, std::span<const uint8_t> in) override;
    gdb::StepResult step() override;
    gdb::RunResult run(const gdb::RunRequest& request) override;
    std::span<const RamSlot> ram_slots() const override { return {&ram_, 1}; }
    std::unique_ptr<gdb::MachineSnapshot> save_machine() const override;
    void restore_machine(const gdb::MachineSnapshot& snapshot) override;
    std::optional<std::string> monitor(std::string_view command) override;
    std::string monitor_help() const override;
    vmx::Profile profile() const override { return machine_.census().profile(); }

    // What the guest printed on this timeline: serial, debugcon, the platform's log lines.
    const std::string& console() const { return console_; }
    // Why the boot ended (empty while it goes on).
    const std::string& ended() const { return ended_; }
    // `monitor census`: the windows so far as `transit86 boot` prints them (the first and
    // last 20 unless `all`), the open one, the shapes and a summary line.
    std::string census_text(bool all) const;

  private:
    BootMachine& machine_;
    BootTargetOptions options_;
    RamSlot ram_; // all of guest RAM, whatever the PAM registers map where
    std::string console_;
    std::string ended_;
};

} // namespace transit86::tools
