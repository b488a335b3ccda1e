// KvmStepper against hand-worked results: each test runs a few real-mode instructions
// (machine code inline, assembly in the comment) and checks what the SDM says they do.
#include "oracle/kvm_stepper.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace transit86::oracle {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kCodeAt = 0x1000;

class KvmStepperTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string why;
        kvm_ = KvmStepper::create({}, &why);
        if (kvm_ == nullptr) GTEST_SKIP() << "KVM unavailable: " << why;
    }

    // KVM's reset state moved to real-mode 0000:1000, stack at 0000:8000.
    CpuState real_mode() const {
        CpuState s = kvm_->reset_state();
        s[Seg::CS].selector = 0;
        s[Seg::CS].base = 0;
        s.eip = kCodeAt;
        s[Gpr::ESP] = 0x8000;
        return s;
    }

    void start(const Bytes& code, const CpuState& s) {
        ASSERT_TRUE(kvm_->load(kCodeAt, code));
        std::string why;
        ASSERT_TRUE(kvm_->set_state(s, &why)) << why;
    }

    StepResult step(StepReason expected) {
        StepResult r = kvm_->step();
        EXPECT_EQ(r.reason, expected) << "got " << to_string(r.reason) << ", exit " << r.exit_reason
                                      << ", EIP " << std::hex << r.state.eip;
        return r;
    }

    std::unique_ptr<KvmStepper> kvm_;
};

TEST(KvmStepperCreate, UnopenableDeviceGivesReason) {
    StepperOptions options;
    options.device = "/nonexistent/kvm";
    std::string why;
    EXPECT_EQ(KvmStepper::create(options, &why), nullptr);
    EXPECT_EQ(why.rfind("cannot open /nonexistent/kvm: ", 0), 0u) << why;
}

TEST_F(KvmStepperTest, MovImmediateToAxChangesOnlyAxAndEip) {
    // b8 34 12   mov ax, 0x1234
    CpuState s = real_mode();
    s[Gpr::EAX] = 0xAAAA0000;
    start({0xB8, 0x34, 0x12}, s);
    const StepResult r = step(StepReason::Debug);
    EXPECT_EQ(r.state[Gpr::EAX], 0xAAAA1234u); // 16-bit operand: EAX[31:16] kept
    EXPECT_EQ(r.state.eip, kCodeAt + 3);
    CpuState expected = s;
    expected[Gpr::EAX] = 0xAAAA1234;
    expected.eip = kCodeAt + 3;
    EXPECT_TRUE(r.state == expected);
    EXPECT_EQ(r.runs, 1u);
}

TEST_F(KvmStepperTest, RealModeFarJumpLoadsSelectorTimes16AndKeepsCache) {
    // 1000: ea 00 20 00 01   jmp 0x0100:0x2000   (linear 0x3000)
    // 3000: b0 5a            mov al, 0x5a
    const CpuState s = real_mode();
    start({0xEA, 0x00, 0x20, 0x00, 0x01}, s);
    ASSERT_TRUE(kvm_->load(0x3000, Bytes{0xB0, 0x5A}));

    StepResult r = step(StepReason::Debug);
    // SDM Vol. 2A JMP, real-address mode: CS = selector, base = selector << 4; the limit and
    // attributes of the cache are left as they were.
    EXPECT_EQ(r.state[Seg::CS].selector, 0x0100);
    EXPECT_EQ(r.state[Seg::CS].base, 0x1000u);
    EXPECT_EQ(r.state[Seg::CS].limit, s[Seg::CS].limit);
    EXPECT_EQ(r.state[Seg::CS].access_rights, s[Seg::CS].access_rights);
    EXPECT_EQ(r.state.eip, 0x2000u);

    r = step(StepReason::Debug);
    EXPECT_EQ(r.state[Gpr::EAX] & 0xFF, 0x5Au);
    EXPECT_EQ(r.state.eip, 0x2002u);
}

TEST_F(KvmStepperTest, OutReportsDataAndRetiresOnlyItself) {
    // b0 42    mov al, 0x42
    // e6 e9    out 0xe9, al
    // 90       nop
    start({0xB0, 0x42, 0xE6, 0xE9, 0x90}, real_mode());
    step(StepReason::Debug);

    const StepResult out = step(StepReason::Io);
    ASSERT_EQ(out.io.size(), 1u);
    EXPECT_EQ(out.io[0],
              (PortAccess{.port = 0xE9, .size = 1, .in = false, .count = 1, .data = {0x42}}));
    EXPECT_EQ(out.state.eip, kCodeAt + 4);

    // KVM would have run the NOP in the same KVM_RUN; step() must not.
    const StepResult nop = step(StepReason::Debug);
    EXPECT_EQ(nop.state.eip, kCodeAt + 5);
    EXPECT_TRUE(nop.io.empty());
}

TEST_F(KvmStepperTest, OutDxAxSendsTwoBytesLittleEndian) {
    // ba f8 03   mov dx, 0x3f8
    // b8 34 12   mov ax, 0x1234
    // ef         out dx, ax
    start({0xBA, 0xF8, 0x03, 0xB8, 0x34, 0x12, 0xEF}, real_mode());
    step(StepReason::Debug);
    step(StepReason::Debug);
    const StepResult r = step(StepReason::Io);
    ASSERT_EQ(r.io.size(), 1u);
    EXPECT_EQ(
        r.io[0],
        (PortAccess{.port = 0x3F8, .size = 2, .in = false, .count = 1, .data = {0x34, 0x12}}));
    EXPECT_EQ(r.state.eip, kCodeAt + 7);
}

TEST_F(KvmStepperTest, InTakesTheCallersValue) {
    // e4 60   in al, 0x60
    // 90      nop
    CpuState s = real_mode();
    s[Gpr::EAX] = 0x11223344;
    start({0xE4, 0x60, 0x90}, s);
    kvm_->set_port_input(
        [](uint16_t port, uint8_t size) { return port == 0x60 && size == 1 ? 0x5Au : 0u; });
    const StepResult r = step(StepReason::Io);
    EXPECT_EQ(r.state[Gpr::EAX], 0x1122335Au);
    EXPECT_EQ(r.state.eip, kCodeAt + 2);
    ASSERT_EQ(r.io.size(), 1u);
    EXPECT_EQ(r.io[0],
              (PortAccess{.port = 0x60, .size = 1, .in = true, .count = 1, .data = {0x5A}}));
    EXPECT_EQ(step(StepReason::Debug).state.eip, kCodeAt + 3);
}

TEST_F(KvmStepperTest, InDefaultsToAllOnes) {
    // ba f8 03   mov dx, 0x3f8
    // ed         in ax, dx
    CpuState s = real_mode();
    s[Gpr::EAX] = 0;
    start({0xBA, 0xF8, 0x03, 0xED}, s);
    step(StepReason::Debug);
    const StepResult r = step(StepReason::Io);
    EXPECT_EQ(r.state[Gpr::EAX], 0x0000FFFFu);
}

TEST_F(KvmStepperTest, RepOutsbIsOneStepWithAllItsBytes) {
    // f3 6e   rep outsb    (DS:SI -> port DX, CX times)
    // 90      nop
    CpuState s = real_mode();
    s[Gpr::ECX] = 3;
    s[Gpr::ESI] = 0x2000;
    s[Gpr::EDX] = 0xE9;
    start({0xF3, 0x6E, 0x90}, s);
    ASSERT_TRUE(kvm_->load(0x2000, Bytes{'a', 'b', 'c'}));

    const StepResult r = step(StepReason::Io);
    Bytes sent;
    for (const PortAccess& a : r.io) {
        EXPECT_EQ(a.port, 0xE9);
        EXPECT_FALSE(a.in);
        sent.insert(sent.end(), a.data.begin(), a.data.end());
    }
    EXPECT_EQ(sent, (Bytes{'a', 'b', 'c'}));
    EXPECT_EQ(r.state[Gpr::ECX], 0u);
    EXPECT_EQ(r.state[Gpr::ESI], 0x2003u);
    EXPECT_EQ(r.state.eip, kCodeAt + 2);
    EXPECT_EQ(r.state.eflags & flags::RF, 0u);
    EXPECT_EQ(step(StepReason::Debug).state.eip, kCodeAt + 3);
}

TEST_F(KvmStepperTest, RepInsbStoresEachValueInTurn) {
    // f3 6c   rep insb     (port DX -> ES:DI, CX times)
    CpuState s = real_mode();
    s[Gpr::ECX] = 4;
    s[Gpr::EDI] = 0x3000;
    s[Gpr::EDX] = 0x60;
    start({0xF3, 0x6C}, s);
    uint32_t next = 1;
    kvm_->set_port_input([&next](uint16_t, uint8_t) { return next++; });

    const StepResult r = step(StepReason::Io);
    EXPECT_EQ(r.state[Gpr::ECX], 0u);
    EXPECT_EQ(r.state[Gpr::EDI], 0x3004u);
    EXPECT_EQ(r.state.eip, kCodeAt + 2);
    Bytes stored(4);
    ASSERT_TRUE(kvm_->read(0x3000, stored));
    EXPECT_EQ(stored, (Bytes{1, 2, 3, 4}));
}

TEST_F(KvmStepperTest, LongRepStosbIsOneStep) {
    // f3 aa   rep stosb   (AL -> ES:DI, CX = 5000 times; KVM does it in several passes)
    CpuState s = real_mode();
    s[Gpr::EAX] = 0xEE;
    s[Gpr::ECX] = 5000;
    s[Gpr::EDI] = 0x3000;
    start({0xF3, 0xAA}, s);
    const StepResult r = step(StepReason::Debug);
    EXPECT_EQ(r.state[Gpr::ECX], 0u);
    EXPECT_EQ(r.state[Gpr::EDI], 0x3000u + 5000);
    EXPECT_EQ(r.state.eip, kCodeAt + 2);
    EXPECT_GT(r.runs, 1u);
    const auto mem = kvm_->memory();
    EXPECT_EQ(mem[0x3000], 0xEE);
    EXPECT_EQ(mem[0x3000 + 4999], 0xEE);
    EXPECT_EQ(mem[0x3000 + 5000], 0x00);
}

TEST_F(KvmStepperTest, HltIsReportedAndExecutionResumesAfterIt) {
    // f4   hlt
    // 90   nop
    start({0xF4, 0x90}, real_mode());
    const StepResult r = step(StepReason::Hlt);
    EXPECT_EQ(r.state.eip, kCodeAt + 1); // SDM Vol. 2A HLT: saved EIP points past the HLT
    EXPECT_EQ(r.state.activity, ActivityState::Hlt);
    EXPECT_EQ(step(StepReason::Debug).state.eip, kCodeAt + 2);
}

TEST_F(KvmStepperTest, RealToProtectedTransition) {
    // GDT at 0x800: null; 0x08 flat 32-bit code (00CF9B00_0000FFFF); 0x10 flat data (00CF9300..)
    ASSERT_TRUE(kvm_->load(0x800, Bytes{0,    0,    0, 0, 0, 0,    0,    0,    //
                                        0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0,    //
                                        0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0})); //
    // GDTR image at 0x900: limit 0x17, base 0x800.
    ASSERT_TRUE(kvm_->load(0x900, Bytes{0x17, 0x00, 0x00, 0x08, 0x00, 0x00}));
    start(
        {
            0x0F, 0x01, 0x16, 0x00, 0x09,                   // 1000: lgdt [0x900]
            0x0F, 0x20, 0xC0,                               // 1005: mov eax, cr0
            0x66, 0x83, 0xC8, 0x01,                         // 1008: or eax, 1
            0x0F, 0x22, 0xC0,                               // 100c: mov cr0, eax
            0x66, 0xEA, 0x00, 0x11, 0x00, 0x00, 0x08, 0x00, // 100f: jmp dword 0x08:0x1100
        },
        real_mode());
    ASSERT_TRUE(kvm_->load(0x1100, Bytes{
                                       0x66, 0xB8, 0x10, 0x00, // 1100: mov ax, 0x10
                                       0x8E, 0xD8,             // 1104: mov ds, ax
                                       0x8E, 0xD0,             // 1106: mov ss, ax
                                   }));

    StepResult r = step(StepReason::Debug);
    EXPECT_EQ(r.state.gdtr, (DescriptorTableRegister{.base = 0x800, .limit = 0x17}));
    r = step(StepReason::Debug);
    EXPECT_EQ(r.state[Gpr::EAX], 0x60000010u); // KVM's reset CR0: CD | NW | ET
    r = step(StepReason::Debug);
    EXPECT_EQ(r.state[Gpr::EAX], 0x60000011u);
    r = step(StepReason::Debug);
    EXPECT_EQ(r.state.cr0, 0x60000011u);
    EXPECT_EQ(r.state.eip, 0x100Fu);
    // Setting PE does not touch CS (SDM Vol. 3A 10.9.1): still the real-mode cache.
    EXPECT_EQ(r.state[Seg::CS].selector, 0);
    EXPECT_EQ(r.state[Seg::CS].limit, 0xFFFFu);

    r = step(StepReason::Debug);
    // The far jump loads CS from GDT entry 1: base 0, limit FFFFF with G = 1 -> FFFFFFFF,
    // access rights P=1 DPL=0 S=1 type B, D=1, G=1 -> 0xC09B (VMCS layout).
    EXPECT_EQ(
        r.state[Seg::CS],
        (SegmentCache{.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = 0x08}));
    EXPECT_EQ(r.state.eip, 0x1100u);

    r = step(StepReason::Debug);
    EXPECT_EQ(r.state[Gpr::EAX] & 0xFFFF, 0x10u);
    EXPECT_EQ(r.state.eip, 0x1104u);
    r = step(StepReason::Debug);
    EXPECT_EQ(
        r.state[Seg::DS],
        (SegmentCache{.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x10}));
    r = step(StepReason::Debug);
    EXPECT_EQ(
        r.state[Seg::SS],
        (SegmentCache{.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x10}));
    EXPECT_EQ(r.state.interruptibility, interruptibility::BlockingByMovSs);
    EXPECT_EQ(r.state.cpl(), 0u);
}

// Real mode with a 4 GiB DS limit: the state a "flat real mode" BIOS leaves behind.
CpuState unreal(CpuState s) {
    s[Seg::DS].limit = 0xFFFFFFFF;
    s[Seg::DS].access_rights |= ar::kG;
    return s;
}

TEST_F(KvmStepperTest, UnrealModeDsCacheIsImported) {
    // 66 67 8b 06   mov eax, [esi]     (ESI = 2 MiB: past the 64 KiB real-mode limit)
    CpuState s = unreal(real_mode());
    s[Gpr::ESI] = 0x200000;
    start({0x66, 0x67, 0x8B, 0x06}, s);
    ASSERT_TRUE(kvm_->load(0x200000, Bytes{0x78, 0x56, 0x34, 0x12}));
    const StepResult r = step(StepReason::Debug);
    EXPECT_EQ(r.state[Gpr::EAX], 0x12345678u);
    EXPECT_EQ(r.state.eip, kCodeAt + 4);
    EXPECT_EQ(r.state[Seg::DS].limit, 0xFFFFFFFFu);
}

TEST_F(KvmStepperTest, AccessPastRamIsMmio) {
    // 66 67 8b 06   mov eax, [esi]     (ESI = 32 MiB, past the 16 MiB of RAM)
    // 66 67 89 06   mov [esi], eax
    CpuState s = unreal(real_mode());
    s[Gpr::ESI] = 0x2000000;
    start({0x66, 0x67, 0x8B, 0x06, 0x66, 0x67, 0x89, 0x06, 0x90}, s);
    kvm_->set_mmio_read([](uint64_t, uint32_t) { return 0xCAFEBABEu; });

    StepResult r = step(StepReason::Mmio);
    EXPECT_EQ(r.state[Gpr::EAX], 0xCAFEBABEu);
    ASSERT_EQ(r.mmio.size(), 1u);
    EXPECT_EQ(r.mmio[0].address, 0x2000000u);
    EXPECT_EQ(r.mmio[0].length, 4u);
    EXPECT_FALSE(r.mmio[0].write);

    r = step(StepReason::Mmio);
    ASSERT_EQ(r.mmio.size(), 1u);
    EXPECT_TRUE(r.mmio[0].write);
    EXPECT_EQ(r.mmio[0].data, (std::array<uint8_t, 8>{0xBE, 0xBA, 0xFE, 0xCA, 0, 0, 0, 0}));
    EXPECT_EQ(r.state.eip, kCodeAt + 8);
    EXPECT_EQ(step(StepReason::Debug).state.eip, kCodeAt + 9); // the NOP, on its own
}

TEST_F(KvmStepperTest, StiAndMovSsShadowsAreReported) {
    // fb      sti
    // 8e d0   mov ss, ax
    // 90      nop
    start({0xFB, 0x8E, 0xD0, 0x90}, real_mode());
    EXPECT_EQ(step(StepReason::Debug).state.interruptibility, interruptibility::BlockingBySti);
    EXPECT_EQ(step(StepReason::Debug).state.interruptibility, interruptibility::BlockingByMovSs);
    EXPECT_EQ(step(StepReason::Debug).state.interruptibility, 0u);
}

TEST_F(KvmStepperTest, SetStateThenStateRoundTrips) {
    CpuState s = unreal(real_mode());
    for (int i = 0; i < 8; ++i)
        s.gpr[i] = 0x01010101u * static_cast<uint32_t>(i + 3);
    s.eflags = flags::Fixed1 | flags::IF | flags::CF | flags::ZF;
    s[Seg::ES] =
        SegmentCache{.base = 0x12340, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0x1234};
    s.idtr = {.base = 0x400, .limit = 0x3FF};
    s.interruptibility = interruptibility::BlockingBySti;
    std::string why;
    ASSERT_TRUE(kvm_->set_state(s, &why)) << why;
    EXPECT_TRUE(kvm_->state() == s);
}

TEST_F(KvmStepperTest, SetStateRejectsPagingWithoutProtection) {
    // CR0.PG = 1 with PE = 0 is invalid (SDM Vol. 3A 2.5: MOV CR0 raises #GP); KVM refuses it.
    CpuState s = real_mode();
    s.cr0 |= cr0::PG;
    std::string why;
    EXPECT_FALSE(kvm_->set_state(s, &why));
    EXPECT_EQ(why.rfind("KVM_SET_SREGS: ", 0), 0u) << why;
}

TEST_F(KvmStepperTest, FaultStepAlsoRunsFirstHandlerInstruction) {
    // KVM behaviour this oracle documents (kvm_stepper.hpp): a faulting instruction's step ends
    // after the first instruction of its handler.
    // 1000: 0f 0b   ud2      -> #UD, vector 6, IVT entry 0000:0500
    // 0500: 90      nop
    start({0x0F, 0x0B}, real_mode());
    ASSERT_TRUE(kvm_->load(0x18, Bytes{0x00, 0x05, 0x00, 0x00})); // IVT[6]
    ASSERT_TRUE(kvm_->load(0x500, Bytes{0x90, 0x90}));
    const StepResult r = step(StepReason::Debug);
    EXPECT_EQ(r.state.eip, 0x501u);
    // Real-mode delivery (SDM Vol. 3A 21.1.4) pushed FLAGS, CS, IP = the faulting UD2.
    EXPECT_EQ(r.state[Gpr::ESP], 0x8000u - 6);
    Bytes frame(6);
    ASSERT_TRUE(kvm_->read(0x8000 - 6, frame));
    EXPECT_EQ(frame[0] | frame[1] << 8, 0x1000); // IP
    EXPECT_EQ(frame[2] | frame[3] << 8, 0x0000); // CS
    // FLAGS should be 0x0002; KVM pushes its own single-step TF with it (kvm_stepper.hpp).
    const auto pushed_flags = static_cast<uint32_t>(frame[4] | frame[5] << 8);
    EXPECT_EQ(pushed_flags & ~flags::TF, 0x0002u);
}

TEST_F(KvmStepperTest, InstructionKvmCannotEmulateIsInternalError) {
    // 27   daa    (oracles.md: KVM's emulator has no DAA)
    start({0x27}, real_mode());
    const StepResult r = step(StepReason::InternalError);
    EXPECT_EQ(r.suberror, 1u); // KVM_INTERNAL_ERROR_EMULATION
    EXPECT_EQ(r.state.eip, kCodeAt);
}

TEST_F(KvmStepperTest, TripleFaultIsShutdown) {
    // Flat 32-bit protected mode with an empty IDT (limit 0): UD2 raises #UD, its gate is past
    // the limit -> #GP, same -> #DF, same -> triple fault -> shutdown (SDM Vol. 3A 7.14, 7.15).
    // (In real mode KVM ignores the IVT limit and delivers anyway; oracles.md: not the SDM.)
    ASSERT_TRUE(kvm_->load(0x800, Bytes{0,    0,    0, 0, 0, 0,    0,    0, //
                                        0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0, //
                                        0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0}));
    CpuState s = real_mode();
    s.cr0 |= cr0::PE;
    s.gdtr = {.base = 0x800, .limit = 0x17};
    s.idtr = {.base = 0, .limit = 0};
    s[Seg::CS] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = 0x08};
    for (Seg seg : {Seg::ES, Seg::SS, Seg::DS, Seg::FS, Seg::GS}) {
        s[seg] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x10};
    }
    start({0x0F, 0x0B}, s); // ud2
    const StepResult r = step(StepReason::Shutdown);
    EXPECT_EQ(r.exit_reason, 8u); // KVM_EXIT_SHUTDOWN
}

} // namespace
} // namespace transit86::oracle
