// examples/kvm-vmm boots every boot sample twice on /dev/kvm: hybrid (transit86 runs the
// window where VM entry would fail, KVM the rest) and KVM alone. Both runs must end the same
// way with the same console output, the same final registers and the same guest RAM.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kvm_vm.hpp"
#include "vmm.hpp"

namespace kvm_vmm {
namespace {

// corpus/boot/*.bin and the example's own guests.
std::vector<std::string> boot_images() {
    std::vector<std::string> paths;
    for (const char* dir : {TRANSIT86_CORPUS_DIR "/boot", KVM_VMM_GUEST_DIR}) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
            if (entry.path().extension() == ".bin") paths.push_back(entry.path().string());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class BootOnKvm : public testing::TestWithParam<std::string> {};

TEST(BootOnKvmImages, CorpusAndExampleGuestsAreThere) {
    const std::vector<std::string> images = boot_images();
    const auto has = [&](const char* name) {
        return std::any_of(images.begin(), images.end(), [&](const std::string& p) {
            return std::filesystem::path(p).filename() == name;
        });
    };
    EXPECT_TRUE(has("pe_entry.bin"));
    EXPECT_TRUE(has("round_trip.bin"));
}

TEST_P(BootOnKvm, HybridRunEqualsKvmOnlyRun) {
    if (auto why = KvmVm::unavailable_reason()) GTEST_SKIP() << *why;
    const std::vector<uint8_t> image = read_file(GetParam());
    ASSERT_FALSE(image.empty());

    std::string log;
    VmmOptions hybrid_options;
    hybrid_options.log = [&](std::string_view line) { (log += line) += '\n'; };
    const VmmResult hybrid = run_image(image, hybrid_options);
    VmmOptions kvm_options;
    kvm_options.mode = Mode::KvmOnly;
    const VmmResult kvm = run_image(image, kvm_options);

    SCOPED_TRACE("hybrid run:\n" + log);
    ASSERT_TRUE(kvm.finished) << kvm.stop;
    ASSERT_TRUE(hybrid.finished) << hybrid.stop;
    EXPECT_EQ(hybrid.stop, kvm.stop);
    EXPECT_EQ(hybrid.debug_exit_code, kvm.debug_exit_code);
    EXPECT_EQ(hybrid.console, kvm.console);
    EXPECT_FALSE(hybrid.console.empty());
    EXPECT_EQ(hybrid.final_state.regs, kvm.final_state.regs)
        << "hybrid:\n"
        << describe_state(hybrid.final_state) << "\nKVM only:\n"
        << describe_state(kvm.final_state);
    EXPECT_EQ(hybrid.final_state.sregs, kvm.final_state.sregs)
        << "hybrid:\n"
        << describe_state(hybrid.final_state) << "\nKVM only:\n"
        << describe_state(kvm.final_state);
    EXPECT_EQ(hybrid.final_state.events.interrupt_shadow, kvm.final_state.events.interrupt_shadow);
    EXPECT_EQ(hybrid.ram_hash, kvm.ram_hash) << "guest RAM differs at the end";
    // Every sample opens the window at least once; each hand-over to transit86 came back.
    EXPECT_GE(hybrid.to_transit86, 1u);
    EXPECT_EQ(hybrid.to_kvm, hybrid.to_transit86);
    EXPECT_GT(hybrid.emulated_instructions, 0u);
    EXPECT_EQ(kvm.emulated_instructions, 0u);
}

// An external interrupt and a hardware exception KVM has queued but not delivered go with the
// state to whoever runs next (KVM_GET_VCPU_EVENTS), and what set_state() writes is what KVM
// queues: none once transit86 has delivered them, so that KVM does not deliver them again.
TEST(KvmVmEvents, QueuedInterruptAndExceptionGoWithTheStateAndBack) {
    if (auto why = KvmVm::unavailable_reason()) GTEST_SKIP() << *why;
    KvmVm kvm(1 << 20);
    transit86::VcpuState s = kvm.state(/*with_fpu=*/true);
    EXPECT_EQ(s.events.exception.pending, 0);
    EXPECT_EQ(s.events.interrupt.pending, 0);
    s.events.exception = {.pending = 1, .vector = 13, .has_error_code = 1, .error_code = 0x18};
    s.events.interrupt = {.pending = 1, .vector = 0x20};
    kvm.set_state(s);
    const transit86::VcpuState queued = kvm.state(/*with_fpu=*/true);
    EXPECT_EQ(queued.events.exception, s.events.exception);
    EXPECT_EQ(queued.events.interrupt, s.events.interrupt);
    EXPECT_EQ(queued.sregs.interrupt_bitmap, transit86::VcpuState{}.sregs.interrupt_bitmap);
    s.events.exception = {};
    s.events.interrupt = {};
    kvm.set_state(s);
    const transit86::VcpuState none = kvm.state(/*with_fpu=*/true);
    EXPECT_EQ(none.events.exception.pending, 0);
    EXPECT_EQ(none.events.interrupt.pending, 0);
}

// The MSRs transit86 keeps go to KVM and come back (KVM_SET_MSRS, KVM_GET_MSRS), those KVM has
// all at once.
TEST(KvmVmMsrs, SetMsrsAreReadBack) {
    if (auto why = KvmVm::unavailable_reason()) GTEST_SKIP() << *why;
    KvmVm kvm(1 << 20);
    kvm.set_cpuid(transit86::CpuModel{});
    transit86::Msrs msrs;
    kvm.get_msrs(msrs);
    msrs.sysenter_cs = 0x10;
    msrs.sysenter_esp = 0x7000;
    msrs.sysenter_eip = 0xC0001000;
    msrs.mtrr.def_type = 0xC06; // enabled, fixed ranges enabled, write-back
    kvm.set_msrs(msrs);
    transit86::Msrs back;
    kvm.get_msrs(back);
    EXPECT_EQ(back.sysenter_cs, 0x10u);
    EXPECT_EQ(back.sysenter_esp, 0x7000u);
    EXPECT_EQ(back.sysenter_eip, 0xC0001000u);
    EXPECT_EQ(back.mtrr.def_type, 0xC06u);
}

INSTANTIATE_TEST_SUITE_P(Images, BootOnKvm, testing::ValuesIn(boot_images()),
                         [](const testing::TestParamInfo<std::string>& image) {
                             return std::filesystem::path(image.param).stem().string();
                         });

} // namespace
} // namespace kvm_vmm
