// examples/kvm-vmm vcpu_view: what the VMM reads of a vCPU to decide how to run it next.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "kvm_model.hpp"
#include "vcpu_view.hpp"

namespace kvm_vmm {
namespace {

using namespace transit86;

// Page-aligned guest RAM, as KVM_SET_USER_MEMORY_REGION requires.
struct AlignedRam {
    static constexpr size_t kSize = 0x10000;
    std::unique_ptr<uint8_t, decltype(&std::free)> bytes{
        static_cast<uint8_t*>(std::aligned_alloc(4096, kSize)), &std::free};
    uint8_t* data() { return bytes.get(); }
};

// A KVM_EXIT_HLT comes only from a vCPU that is not single-stepping, so the VMM must see a
// HLT where the processor would fetch it: with CR0.PG = 1 that is the page the linear address
// maps to (SDM Vol. 3A 4.3), not the physical address equal to CS.base + EIP.
TEST(HltAt, ReadsTheInstructionThroughTheVcpusPaging) {
    AlignedRam ram;
    std::memset(ram.data(), 0x90, AlignedRam::kSize); // NOP everywhere
    const auto put32 = [&](uint32_t at, uint32_t v) { std::memcpy(ram.data() + at, &v, 4); };
    put32(0x1000, 0x2000 | 0x3);         // PDE 0 -> the page table at 2000H, present, writable
    put32(0x2000 + 3 * 4, 0x5000 | 0x3); // PTE 3: linear 3000H -> physical 5000H
    ram.data()[0x5000] = 0xF4;           // HLT on the page the code runs from

    KvmModel vcpu;
    const RamSlot slot{.guest_phys = 0, .size = AlignedRam::kSize, .host = ram.data()};
    vcpu.set_memory({&slot, 1});
    VcpuState s = reset_vcpu_state(ResetPreset::Kvm);
    s.sregs.cs = {.base = 0,
                  .limit = 0xFFFFFFFF,
                  .selector = 8,
                  .type = 0xB,
                  .present = 1,
                  .dpl = 0,
                  .db = 1,
                  .s = 1,
                  .l = 0,
                  .g = 1,
                  .avl = 0,
                  .unusable = 0,
                  .padding = 0};
    s.sregs.cr0 = cr0::PE | cr0::PG | cr0::ET;
    s.sregs.cr3 = 0x1000;
    s.regs.rip = 0x3000;
    vcpu.set_state(s);
    EXPECT_TRUE(hlt_at(s, vcpu));

    s.regs.rip = 0x5000; // linear 5000H is not mapped: no instruction to read
    vcpu.set_state(s);
    EXPECT_FALSE(hlt_at(s, vcpu));

    s.sregs.cr0 = cr0::PE | cr0::ET; // paging off: linear 5000H is physical 5000H
    s.regs.rip = 0x5000;
    vcpu.set_state(s);
    EXPECT_TRUE(hlt_at(s, vcpu));
}

} // namespace
} // namespace kvm_vmm
