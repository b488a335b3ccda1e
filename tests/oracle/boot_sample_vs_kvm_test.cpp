// The bundled boot sample, single-stepped on transit86 and in a KVM VM on /dev/kvm from the
// same `kvm` reset state: every register and segment cache must agree after every instruction,
// the port writes too. KVM is the oracle here (shared/guide/oracles.md §1).
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <vector>

#include "oracle/kvm_stepper.hpp"
#include "oracle/state_diff.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {
namespace {

constexpr uint32_t kLoadAddress = 0x7C00;
constexpr size_t kRamSize = 16u << 20;

std::vector<uint8_t> read_sample(const char* name) {
    std::ifstream in(std::string(TRANSIT86_CORPUS_DIR) + "/boot/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every port completes at once; records OUTs to compare with KVM's.
class RecordingPorts final : public PortHandler {
  public:
    Result access(PortAccess& a) override {
        if (a.is_in)
            a.data = a.size == 4 ? ~0u : (1u << (a.size * 8)) - 1;
        else
            writes.push_back(a);
        return Result::Handled;
    }
    std::vector<PortAccess> writes;
};

class BootSampleVsKvm : public testing::TestWithParam<ResetPreset> {};

TEST_P(BootSampleVsKvm, PeEntryMatchesKvmAfterEveryInstruction) {
    if (auto reason = oracle::KvmStepper::unavailable_reason()) GTEST_SKIP() << *reason;
    const std::vector<uint8_t> image = read_sample("pe_entry.bin");
    ASSERT_EQ(image.size(), 512u) << "build/corpus/boot/pe_entry.bin missing";

    std::string error;
    auto kvm = oracle::KvmStepper::create({}, &error);
    ASSERT_TRUE(kvm) << error;
    ASSERT_TRUE(kvm->load(kLoadAddress, image));

    CpuState start = reset_state(GetParam());
    start[Seg::CS].selector = 0;
    start[Seg::CS].base = 0;
    start.eip = kLoadAddress;
    ASSERT_TRUE(kvm->set_state(start, &error)) << error;

    std::vector<uint8_t> ram(kRamSize);
    std::copy(image.begin(), image.end(), ram.begin() + kLoadAddress);
    const RamSlot slot{.guest_phys = 0, .size = ram.size(), .host = ram.data()};
    RecordingPorts ports;
    Emulator emu({&slot, 1}, &ports);
    emu.state() = start;

    std::vector<uint8_t> kvm_out_bytes;
    const RunLimits one{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    int steps = 0;
    for (; steps < 64; ++steps) {
        const uint32_t eip = emu.state().eip;
        const Exit ours = emu.run(one);
        const oracle::StepResult theirs = kvm->step();
        ASSERT_TRUE(ours.reason == ExitReason::Step || ours.reason == ExitReason::Halt)
            << "transit86 stopped at " << std::hex << eip << ": " << to_string(ours.reason);
        ASSERT_TRUE(theirs.reason == oracle::StepReason::Debug ||
                    theirs.reason == oracle::StepReason::Io ||
                    theirs.reason == oracle::StepReason::Hlt)
            << "KVM stopped at " << std::hex << eip;
        for (const auto& io : theirs.io)
            if (!io.in) kvm_out_bytes.insert(kvm_out_bytes.end(), io.data.begin(), io.data.end());
        const auto diffs = oracle::diff_states(emu.state(), theirs.state);
        EXPECT_TRUE(diffs.empty()) << "after the instruction at " << std::hex << eip << ":\n  "
                                   << testing::PrintToString(diffs);
        if (!diffs.empty() || ours.reason == ExitReason::Halt) break;
    }
    EXPECT_EQ(emu.state().activity, ActivityState::Active);
    EXPECT_GT(steps, 25) << "the sample ends with HLT after ~32 instructions";
    std::vector<uint8_t> our_out_bytes;
    for (const auto& w : ports.writes)
        our_out_bytes.push_back(static_cast<uint8_t>(w.data));
    EXPECT_EQ(our_out_bytes, kvm_out_bytes); // "OK\n" on port E9, then 0x10 to port F4
}

// `kvm` is the reset state KVM itself starts from; `intel` (CS a data segment, TR 0x82) is
// imported with KVM_SET_SREGS, which accepts any hidden segment state.
INSTANTIATE_TEST_SUITE_P(Presets, BootSampleVsKvm,
                         testing::Values(ResetPreset::Kvm, ResetPreset::Intel),
                         [](const testing::TestParamInfo<ResetPreset>& preset) {
                             return preset.param == ResetPreset::Kvm ? "kvm" : "intel";
                         });

} // namespace
} // namespace transit86
