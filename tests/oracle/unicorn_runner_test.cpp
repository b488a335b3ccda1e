// UnicornRunner against hand-worked results: each test runs a few instructions (machine code
// inline, assembly in the comment) and checks what the runner reports — the SDM's answer where
// Unicorn gives it, and the documented Unicorn 2.0.1 behaviour (unicorn_runner.hpp) where not.
#include "oracle/unicorn_runner.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace transit86::oracle {
namespace {

using Bytes = std::vector<uint8_t>;

// Real-mode code at 1234:0010 (linear 0x12350): CS != 0 tells IP from linear addresses.
constexpr uint16_t kCodeSeg = 0x1234;
constexpr uint32_t kCodeIp = 0x10;
constexpr uint32_t kCodeLinear = kCodeSeg * 16 + kCodeIp;

class UnicornRunnerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string why;
        runner_ = UnicornRunner::create({.memory_size = 2u << 20}, &why);
        ASSERT_NE(runner_, nullptr) << why;
    }

    static CpuState real_mode() {
        CpuState s = reset_state(ResetPreset::Kvm);
        s.gpr = {};
        for (SegmentCache& c : s.seg) {
            c.selector = 0;
            c.base = 0;
            c.limit = 0xFFFF;
        }
        s[Seg::CS] = {
            .base = kCodeSeg * 16, .limit = 0xFFFF, .access_rights = 0x9B, .selector = kCodeSeg};
        s.eip = kCodeIp;
        s[Gpr::ESP] = 0x8000;
        return s;
    }

    // Flat 32-bit protected mode; GDT at 0x800: 08 code, 10 data, 18 data with base 0x12340.
    CpuState protected_mode() {
        const Bytes gdt = {0,    0,    0,    0,    0, 0,    0,    0, //
                           0xFF, 0xFF, 0,    0,    0, 0x9B, 0xCF, 0, //
                           0xFF, 0xFF, 0,    0,    0, 0x93, 0xCF, 0, //
                           0xFF, 0xFF, 0x40, 0x23, 1, 0x93, 0xCF, 0x00};
        EXPECT_TRUE(runner_->load(0x800, gdt));
        CpuState s = real_mode();
        s.cr0 |= cr0::PE;
        s.gdtr = {.base = 0x800, .limit = static_cast<uint32_t>(gdt.size() - 1)};
        s[Seg::CS] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = 0x08};
        for (Seg seg : {Seg::ES, Seg::SS, Seg::DS, Seg::FS, Seg::GS})
            s[seg] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x10};
        s.eip = 0x1000;
        return s;
    }

    void start(const Bytes& code, const CpuState& s) {
        const uint32_t at = s.protected_mode() ? s.eip : kCodeLinear;
        ASSERT_TRUE(runner_->load(at, code));
        std::string why;
        ASSERT_TRUE(runner_->set_state(s, &why)) << why;
    }

    UnicornStepResult step(UnicornStepReason expected) {
        UnicornStepResult r = runner_->step();
        EXPECT_EQ(r.reason, expected) << "got " << to_string(r.reason) << " (" << r.error_text
                                      << "), EIP " << std::hex << r.state.eip;
        return r;
    }

    uint16_t word_at(uint32_t linear) const {
        return static_cast<uint16_t>(runner_->memory()[linear] | runner_->memory()[linear + 1]
                                                                     << 8);
    }

    std::unique_ptr<UnicornRunner> runner_;
};

TEST_F(UnicornRunnerTest, RealModeEipIsRelativeToCs) {
    // e8 00 00   call $+3   -> IP 0x13, pushes 0x0013 (SDM Vol. 2A CALL, near relative)
    start({0xE8, 0x00, 0x00}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state.eip, kCodeIp + 3);
    EXPECT_EQ(r.state[Seg::CS].selector, kCodeSeg);
    EXPECT_EQ(r.state[Gpr::ESP], 0x8000u - 2);
    EXPECT_EQ(word_at(0x8000 - 2), kCodeIp + 3);
}

TEST_F(UnicornRunnerTest, ConsecutiveStepsContinueAtTheNextInstruction) {
    // 40   inc ax ; 41   inc cx ; 42   inc dx
    start({0x40, 0x41, 0x42}, real_mode());
    for (int i = 0; i < 3; ++i)
        step(UnicornStepReason::Step);
    const CpuState s = runner_->state();
    EXPECT_EQ(s.eip, kCodeIp + 3);
    EXPECT_EQ(s[Gpr::EAX] & 0xFFFF, 1u);
    EXPECT_EQ(s[Gpr::ECX] & 0xFFFF, 1u);
    EXPECT_EQ(s[Gpr::EDX] & 0xFFFF, 1u);
}

TEST_F(UnicornRunnerTest, RealModeSegmentBaseIsSelectorTimes16) {
    // a0 05 00   mov al, [0x0005]   with DS = 0x1000 -> reads linear 0x10005
    CpuState s = real_mode();
    s[Seg::DS] = {.base = 0x10000, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0x1000};
    ASSERT_TRUE(runner_->load(0x10005, Bytes{0x77}));
    start({0xA0, 0x05, 0x00}, s);
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state[Gpr::EAX] & 0xFF, 0x77u);
}

TEST_F(UnicornRunnerTest, RealModeRejectsHiddenCaches) {
    CpuState s = real_mode();
    s[Seg::DS].limit = 0xFFFFFFFF; // unreal mode
    std::string why;
    EXPECT_FALSE(runner_->set_state(s, &why));
    EXPECT_NE(why.find("hidden segment caches"), std::string::npos) << why;
}

TEST_F(UnicornRunnerTest, HltIsReportedWithIpAfterIt) {
    // f4   hlt ; 40   inc ax
    start({0xF4, 0x40}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Hlt);
    EXPECT_EQ(r.state.eip, kCodeIp + 1);
    EXPECT_EQ(r.state.activity, ActivityState::Hlt);
    const UnicornStepResult next = step(UnicornStepReason::Step);
    EXPECT_EQ(next.state.eip, kCodeIp + 2);
    EXPECT_EQ(next.state[Gpr::EAX] & 0xFFFF, 1u);
}

TEST_F(UnicornRunnerTest, DivideErrorIsReportedNotDelivered) {
    // f6 f3   div bl   with BL = 0 -> #DE (vector 0) at the DIV; nothing pushed
    start({0xF6, 0xF3}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Exception);
    EXPECT_EQ(r.vector, 0);
    EXPECT_FALSE(r.invalid_opcode);
    EXPECT_EQ(r.state.eip, kCodeIp);
    EXPECT_EQ(r.state[Gpr::ESP], 0x8000u);
}

TEST_F(UnicornRunnerTest, SetStateClearsAnInterceptedFault) {
    // Without the context restore the second #DE would come back as #DF (vector 8).
    start({0xF6, 0xF3}, real_mode());
    step(UnicornStepReason::Exception);
    start({0xF6, 0xF3}, real_mode());
    EXPECT_EQ(step(UnicornStepReason::Exception).vector, 0);
}

TEST_F(UnicornRunnerTest, InvalidOpcodeIsVector6) {
    // 0f 0b   ud2
    start({0x0F, 0x0B}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Exception);
    EXPECT_EQ(r.vector, 6);
    EXPECT_TRUE(r.invalid_opcode);
    EXPECT_EQ(r.state.eip, kCodeIp);
}

TEST_F(UnicornRunnerTest, SoftwareInterruptStopsWithTheNextIp) {
    // cd 21   int 0x21
    start({0xCD, 0x21}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Exception);
    EXPECT_EQ(r.vector, 0x21);
    EXPECT_EQ(r.state.eip, kCodeIp + 2);
}

TEST_F(UnicornRunnerTest, OutAndInAreReported) {
    // b0 5a   mov al, 0x5a ; e6 80   out 0x80, al ; 66 ed   in eax, dx
    CpuState s = real_mode();
    s[Gpr::EDX] = 0x3F8;
    start({0xB0, 0x5A, 0xE6, 0x80, 0x66, 0xED}, s);
    runner_->set_port_input([](uint16_t port, uint8_t) { return 0x11220000u | port; });
    step(UnicornStepReason::Step);
    const UnicornStepResult out = step(UnicornStepReason::Io);
    ASSERT_EQ(out.io.size(), 1u);
    EXPECT_FALSE(out.io[0].in);
    EXPECT_EQ(out.io[0].port, 0x80);
    EXPECT_EQ(out.io[0].data, Bytes{0x5A});
    const UnicornStepResult in = step(UnicornStepReason::Io);
    ASSERT_EQ(in.io.size(), 1u);
    EXPECT_TRUE(in.io[0].in);
    EXPECT_EQ(in.io[0].size, 4);
    EXPECT_EQ(in.state[Gpr::EAX], 0x112203F8u);
    EXPECT_EQ(in.state.eip, kCodeIp + 6);
}

TEST_F(UnicornRunnerTest, RepMovsbIsOneStep) {
    // f3 a4   rep movsb   CX = 3: DS:SI 0x100 -> ES:DI 0x200
    CpuState s = real_mode();
    s[Gpr::ECX] = 3;
    s[Gpr::ESI] = 0x100;
    s[Gpr::EDI] = 0x200;
    ASSERT_TRUE(runner_->load(0x100, Bytes{1, 2, 3, 4}));
    start({0xF3, 0xA4, 0x90}, s);
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state.eip, kCodeIp + 2);
    EXPECT_EQ(r.state[Gpr::ECX], 0u);
    EXPECT_EQ(r.state[Gpr::EDI], 0x203u);
    EXPECT_EQ(runner_->memory()[0x202], 3);
    EXPECT_EQ(runner_->memory()[0x203], 0);
    EXPECT_EQ(r.iterations, 4u); // three elements and the pass that finds CX = 0
}

TEST_F(UnicornRunnerTest, AccessOutsideRamIsInvalidMemory) {
    // 66 67 8b 00   mov eax, [eax]   EAX = 0x300000, past the 2 MiB of RAM
    CpuState s = real_mode();
    s[Gpr::EAX] = 0x300000;
    start({0x66, 0x67, 0x8B, 0x00}, s);
    const UnicornStepResult r = step(UnicornStepReason::InvalidMemory);
    ASSERT_TRUE(r.memory_fault.has_value());
    EXPECT_EQ(r.memory_fault->address, 0x300000u);
    EXPECT_FALSE(r.memory_fault->write);
    EXPECT_EQ(r.state.eip, kCodeIp);
}

TEST_F(UnicornRunnerTest, JumpOutsideRamRetires) {
    // ff e0   jmp eax   EAX = 0x300000 (protected mode): the jump retires; Unicorn then fails
    // to fetch at the target, which step() reports with the Step.
    CpuState s = protected_mode();
    s[Gpr::EAX] = 0x300000;
    start({0xFF, 0xE0}, s);
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state.eip, 0x300000u);
    ASSERT_TRUE(r.memory_fault.has_value());
    EXPECT_TRUE(r.memory_fault->fetch);
}

TEST_F(UnicornRunnerTest, RealModeLimitIsNotChecked) {
    // a1 ff ff   mov ax, [0xffff]: the SDM raises #GP (a word past the 64 KiB limit, Vol. 3A
    // 21.1.1); QEMU TCG has no data-segment limit checks and reads it. Differential tools that
    // use this oracle must allow for it (docs/differential.md).
    start({0xA1, 0xFF, 0xFF}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state.eip, kCodeIp + 3);
}

TEST_F(UnicornRunnerTest, ProtectedModeLoadsSegmentsFromTheGdt) {
    // a1 10 00 00 00   mov eax, [0x10]   DS = 0x18, base 0x12340 -> reads linear 0x12350
    CpuState s = protected_mode();
    s[Seg::DS] = {.base = 0x12340, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x18};
    ASSERT_TRUE(runner_->load(0x12350, Bytes{0xEF, 0xBE, 0xAD, 0xDE}));
    start({0xA1, 0x10, 0x00, 0x00, 0x00}, s);
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state[Gpr::EAX], 0xDEADBEEFu);
    EXPECT_EQ(r.state.eip, 0x1005u);
    EXPECT_EQ(r.state[Seg::DS].selector, 0x18);
    EXPECT_EQ(r.state.cr0 & cr0::PE, cr0::PE);
}

TEST_F(UnicornRunnerTest, ReadHiddenGivesTheCachesTrAndLdtr) {
    // 8e e0   mov fs, eax   EAX = 0x18 (base 0x12340); TR and LDTR as set_state() gave them
    CpuState s = protected_mode();
    s[Gpr::EAX] = 0x18;
    s.tr = {.base = 0x3000, .limit = 0x67, .access_rights = 0x8B, .selector = 0x20};
    s.ldtr = {.base = 0, .limit = 0, .access_rights = ar::kUnusable, .selector = 0};
    start({0x8E, 0xE0}, s);
    step(UnicornStepReason::Step);
    CpuState hidden{};
    ASSERT_TRUE(runner_->read_hidden(hidden));
    EXPECT_EQ(
        hidden[Seg::FS],
        (SegmentCache{
            .base = 0x12340, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x18}));
    EXPECT_EQ(hidden[Seg::CS].access_rights, 0xC09Bu);
    EXPECT_EQ(hidden.tr, s.tr);
    EXPECT_TRUE(ar::unusable(hidden.ldtr.access_rights));
}

TEST_F(UnicornRunnerTest, ProtectedModeRejectsACacheTheGdtDoesNotHold) {
    CpuState s = protected_mode();
    s[Seg::DS].base = 0x5000; // descriptor 0x10 says base 0
    std::string why;
    EXPECT_FALSE(runner_->set_state(s, &why));
    EXPECT_NE(why.find("ds:"), std::string::npos) << why;
}

TEST_F(UnicornRunnerTest, InstructionWritingItselfRetiresOnce) {
    // 1000: c6 05 00 10 00 00 90   mov byte [0x1000], 0x90   (overwrites its own opcode)
    // The fetched instruction completes (SDM Vol. 3A 11.6); the next fetch sees the new byte.
    start({0xC6, 0x05, 0x00, 0x10, 0x00, 0x00, 0x90}, protected_mode());
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state.eip, 0x1007u);
    EXPECT_EQ(runner_->memory()[0x1000], 0x90);
}

TEST_F(UnicornRunnerTest, RefusesBlocksUnicornCannotTranslate) {
    // 90   nop ; ff e9   jmp far ecx (invalid: needs memory) -- translating the block would
    // abort the process in Unicorn 2.0.1, so step() does not run it.
    start({0x90, 0xFF, 0xE9}, protected_mode());
    const UnicornStepResult r = step(UnicornStepReason::Refused);
    EXPECT_EQ(r.state.eip, 0x1000u);
    EXPECT_EQ(r.iterations, 0u);
    // 40   inc eax ; f0 39 00   lock cmp [eax], eax
    start({0x40, 0xF0, 0x39, 0x00}, protected_mode());
    step(UnicornStepReason::Refused);
    // A branch ends the block: what follows it is not translated with it.
    start({0xEB, 0x02, 0xFF, 0xE9, 0x90}, protected_mode()); // jmp $+4 skips ff e9
    EXPECT_EQ(step(UnicornStepReason::Step).state.eip, 0x1004u);
}

TEST_F(UnicornRunnerTest, RealModeInstructionWritingItselfRetiresOnce) {
    // 1234:0010  2e fe 06 10 00   inc byte cs:[0x0010]   (its own first byte: 2e -> 2f)
    start({0x2E, 0xFE, 0x06, 0x10, 0x00}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state.eip, kCodeIp + 5);
    EXPECT_EQ(runner_->memory()[kCodeLinear], 0x2F);
}

TEST_F(UnicornRunnerTest, NewCodeRunsAfterSetState) {
    // Translated blocks are cached; set_state() drops them so rewritten bytes take effect.
    start({0x40}, real_mode()); // inc ax
    step(UnicornStepReason::Step);
    runner_->memory()[kCodeLinear] = 0x41; // inc cx
    start({0x41}, real_mode());
    const UnicornStepResult r = step(UnicornStepReason::Step);
    EXPECT_EQ(r.state[Gpr::EAX] & 0xFFFF, 0u);
    EXPECT_EQ(r.state[Gpr::ECX] & 0xFFFF, 1u);
}

TEST(UnicornRunnerCopyUnobservable, KeepsSelectorsTakesCaches) {
    CpuState ours;
    ours[Seg::DS] = {.base = 0x1000, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0x100};
    ours.interruptibility = interruptibility::BlockingBySti;
    CpuState oracle;
    oracle[Seg::DS].selector = 0x200;
    UnicornRunner::copy_unobservable(ours, oracle);
    EXPECT_EQ(oracle[Seg::DS].selector, 0x200);
    EXPECT_EQ(oracle[Seg::DS].base, 0x1000u);
    EXPECT_EQ(oracle.interruptibility, interruptibility::BlockingBySti);
}

} // namespace
} // namespace transit86::oracle

namespace transit86::oracle {

// The error code of a fault is QEMU's, read from its saved context (unicorn_runner.hpp).
TEST_F(UnicornRunnerTest, FaultErrorCodeIsReported) {
    // 8e d8   mov ds, ax with AX = 0x1238: beyond the GDT limit -> #GP(0x1238)
    CpuState s = protected_mode();
    s[Gpr::EAX] = 0x1238;
    start({0x8E, 0xD8}, s);
    const UnicornStepResult r = step(UnicornStepReason::Exception);
    EXPECT_EQ(r.vector, 13);
    EXPECT_EQ(r.error_code, std::optional<uint32_t>(0x1238));
}

// Debian's Unicorn 2.0.1 identity-maps linear addresses (unicorn_runner.hpp, "Paging"): the
// probe says so, and a 2.1 or later answers true. Either way the answer is stable.
TEST_F(UnicornRunnerTest, PagingProbeIsStable) {
    EXPECT_EQ(UnicornRunner::models_paging(), UnicornRunner::models_paging());
}

// The 16-bit engine that entered protected mode (MOV to CR0, far jump) reports the EIP of the
// 32-bit code, not the linear address less selector * 16. (Its uc_emu_start writes IP, not EIP:
// the 32-bit code must lie below 64 KiB.)
TEST_F(UnicornRunnerTest, SixteenBitEngineFollowsAFarJumpIntoProtectedMode) {
    const Bytes gdt = {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0};
    ASSERT_TRUE(runner_->load(0x800, gdt));
    CpuState s = real_mode();
    s.gdtr = {.base = 0x800, .limit = 15};
    s[Gpr::EAX] = static_cast<uint32_t>(s.cr0 | cr0::PE);
    // mov cr0, eax ; jmp dword 0x08:kCodeLinear + 0x20 ; at +0x20: nop
    const uint32_t target = 0x3000;
    start({0x0F, 0x22, 0xC0, 0x66, 0xEA, static_cast<uint8_t>(target),
           static_cast<uint8_t>(target >> 8), static_cast<uint8_t>(target >> 16), 0, 0x08, 0},
          s);
    ASSERT_TRUE(runner_->load(target, Bytes{0x90}));
    step(UnicornStepReason::Step);
    const UnicornStepResult jump = step(UnicornStepReason::Step);
    EXPECT_EQ(jump.state[Seg::CS].selector, 0x08);
    EXPECT_EQ(jump.state.eip, target);
    EXPECT_EQ(step(UnicornStepReason::Step).state.eip, target + 1);
}

} // namespace transit86::oracle
