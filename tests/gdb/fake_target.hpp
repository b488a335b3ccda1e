// A GdbTarget small enough to reason about in tests: 64 KiB of RAM at 0, and a "CPU" whose
// every step advances EIP by one, bumps the TSC, and stores the low byte of the new EIP at
// 0x100 + (EIP % 16). It ends (like HLT) when EIP reaches `end_eip`.
#pragma once

#include <cstring>
#include <vector>

#include "tools/gdb/gdb_target.hpp"

namespace transit86::gdb::testing {

class FakeTarget final : public GdbTarget {
  public:
    FakeTarget() : ram_(0x10000, 0) {
        slot_ = RamSlot{.guest_phys = 0, .size = ram_.size(), .host = ram_.data()};
        state_ = reset_state(ResetPreset::Kvm);
        state_[Seg::CS] = {.base = 0, .limit = 0xFFFF, .access_rights = 0x9B, .selector = 0};
        state_.eip = 0x1000;
    }
    uint32_t end_eip = 0xFFFF;

    const CpuState& state() const override { return state_; }
    void set_state(const CpuState& s) override { state_ = s; }
    size_t read_linear(uint64_t linear, std::span<uint8_t> out) const override {
        if (linear >= ram_.size()) return 0;
        const size_t n = std::min<size_t>(out.size(), ram_.size() - linear);
        std::memcpy(out.data(), ram_.data() + linear, n);
        return n;
    }
    size_t write_linear(uint64_t linear, std::span<const uint8_t> in) override {
        if (linear >= ram_.size()) return 0;
        const size_t n = std::min<size_t>(in.size(), ram_.size() - linear);
        std::memcpy(ram_.data() + linear, in.data(), n);
        return n;
    }
    StepResult step() override {
        if (state_.eip >= end_eip) return {false, true, "ended at the end", ""};
        ++state_.eip;
        ++state_.tsc;
        ram_[0x100 + (state_.eip % 16)] = static_cast<uint8_t>(state_.eip);
        ++steps;
        return {true, false, "", state_.eip % 1000 == 0 ? "k" : ""};
    }
    std::span<const RamSlot> ram_slots() const override { return {&slot_, 1}; }
    struct Snap final : MachineSnapshot {
        CpuState state;
        size_t bytes() const override { return sizeof(*this); }
    };
    std::unique_ptr<MachineSnapshot> save_machine() const override {
        auto s = std::make_unique<Snap>();
        s->state = state_;
        return s;
    }
    void restore_machine(const MachineSnapshot& s) override {
        state_ = static_cast<const Snap&>(s).state;
    }
    std::optional<std::string> monitor(std::string_view command) override {
        if (command == "census") return std::string("fake census\n");
        return std::nullopt;
    }
    std::string monitor_help() const override { return "  census  fake\n"; }
    vmx::Profile profile() const override { return vmx::Profile::Kvm; }

    std::vector<uint8_t> ram_;
    RamSlot slot_;
    CpuState state_;
    uint64_t steps = 0;
};

} // namespace transit86::gdb::testing
