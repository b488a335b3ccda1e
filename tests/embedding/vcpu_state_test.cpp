// The embedding API's state in KVM's layout (vcpu.hpp): conversion to and from CpuState, the
// event state (interrupt shadow, pending exception, pending interrupt), and the bundled boot
// sample run to a valid state through Emulator::run(VcpuState&, ...).
#include <gtest/gtest.h>

#include "guest.hpp"

namespace transit86::test {
namespace {

static_assert(std::is_standard_layout_v<VcpuState> && std::is_trivially_copyable_v<VcpuState>);
static_assert(sizeof(EventState) == 16);
// The API promises never to throw: checked on the declarations.
static_assert(noexcept(std::declval<Emulator&>().run(std::declval<VcpuState&>(), RunLimits{})));
static_assert(noexcept(std::declval<Emulator&>().run(RunLimits{})));
static_assert(noexcept(std::declval<Emulator&>().deliver_event(InjectedEvent{})));

TEST(VcpuState, ResetStateInKvmLayout) {
    const VcpuState s = reset_vcpu_state(ResetPreset::Kvm);
    EXPECT_EQ(s.sregs.cs.selector, 0xF000);
    EXPECT_EQ(s.sregs.cs.base, 0xFFFF0000u);
    EXPECT_EQ(s.sregs.cs.type, 11);
    EXPECT_EQ(s.sregs.tr.type, 11);
    EXPECT_EQ(s.regs.rip, 0xFFF0u);
    EXPECT_EQ(s.regs.rflags, 2u);
    EXPECT_EQ(s.sregs.cr0, 0x60000010u);
    EXPECT_EQ(s.sregs.apic_base, 0xFEE00900u);
    EXPECT_EQ(s.events, EventState{});
    EXPECT_EQ(to_cpu_state(s), reset_state(ResetPreset::Kvm));
}

TEST(VcpuState, RoundTripKeepsWhatCpuStateLacks) {
    VcpuState s = reset_vcpu_state(ResetPreset::Intel);
    s.regs.r9 = 0x99;
    s.sregs.cr8 = 5;
    s.sregs.interrupt_bitmap[1] = 0x10;
    CpuState cpu = to_cpu_state(s);
    cpu[Gpr::EBX] = 0x1234;
    store_cpu_state(cpu, s);
    EXPECT_EQ(s.regs.rbx, 0x1234u);
    EXPECT_EQ(s.regs.r9, 0x99u);
    EXPECT_EQ(s.sregs.cr8, 5u);
    EXPECT_EQ(s.sregs.interrupt_bitmap[1], 0x10u);
}

TEST(VcpuState, DebugRegistersTravelInKvmDebugregs) {
    // kvm_debugregs: db[0..3], dr6, dr7; the reset values are SDM Vol. 3A Table 10-1's.
    VcpuState s = reset_vcpu_state(ResetPreset::Kvm);
    EXPECT_EQ(s.debugregs, KvmDebugregs{});
    EXPECT_EQ(s.debugregs.dr6, 0xFFFF0FF0u);
    EXPECT_EQ(s.debugregs.dr7, 0x400u);
    s.debugregs.db = {0x1000, 0x2000, 0x3000, 0xFFFFFFFF00004000};
    s.debugregs.dr6 = 0x1;        // fixed bits missing: read as the SDM fixes them
    s.debugregs.dr7 = 0xFFFFFFFF; // bits 11, 12, 14, 15 read as 0
    s.debugregs.flags = 0;
    s.debugregs.reserved[3] = 7;
    CpuState cpu = to_cpu_state(s);
    EXPECT_EQ(cpu.dr, (std::array<uint32_t, 4>{0x1000, 0x2000, 0x3000, 0x4000}));
    EXPECT_EQ(cpu.dr6, 0xFFFF0FF1u);
    EXPECT_EQ(cpu.dr7, 0xFFFF27FFu);
    cpu.dr[3] = 0x5000;
    store_cpu_state(cpu, s);
    EXPECT_EQ(s.debugregs.db[3], 0x5000u);
    EXPECT_EQ(s.debugregs.dr6, 0xFFFF0FF1u);
    EXPECT_EQ(s.debugregs.dr7, 0xFFFF27FFu);
    EXPECT_EQ(s.debugregs.reserved[3], 7u); // not CpuState's: left alone
}

TEST(VcpuState, ZeroFilledDebugregsReadAsTheResetValues) {
    VcpuState s = reset_vcpu_state(ResetPreset::Intel);
    s.debugregs = KvmDebugregs{.dr6 = 0, .dr7 = 0};
    const CpuState cpu = to_cpu_state(s);
    EXPECT_EQ(cpu.dr6, dr6::Reset);
    EXPECT_EQ(cpu.dr7, dr7::Reset);
}

TEST(VcpuState, InterruptShadowAndNmiBlockingMapToInterruptibility) {
    VcpuState s = reset_vcpu_state(ResetPreset::Kvm);
    s.events.interrupt_shadow = kShadowMovSs;
    s.events.nmi_masked = 1;
    const CpuState cpu = to_cpu_state(s);
    EXPECT_EQ(cpu.interruptibility,
              interruptibility::BlockingByMovSs | interruptibility::BlockingByNmi);
    VcpuState back{};
    store_cpu_state(cpu, back);
    EXPECT_EQ(back.events.interrupt_shadow, kShadowMovSs);
    EXPECT_EQ(back.events.nmi_masked, 1);
}

class Events : public ::testing::Test {
  protected:
    void SetUp() override {
        guest.set_ivt(0x06, 0, 0x3000);
        guest.set_ivt(0x20, 0, 0x3100);
        guest.load(0x3000, {0xF4}); // #UD handler: hlt
        guest.load(0x3100, {0xF4}); // IRQ handler: hlt
    }
    Exit run(const RunLimits& limits = kUntilExit) { return emu.run(state, limits); }

    Guest guest;
    Emulator emu{guest.slots()};
    VcpuState state = real_mode_state();
};

TEST_F(Events, MovSsAndStiLeaveTheirShadowInTheEventState) {
    guest.load(kCode, {0x8E, 0xD0, // mov ss, ax
                       0x90,       // nop
                       0xFB,       // sti
                       0x90});
    const RunLimits one{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    ASSERT_EQ(run(one).reason, ExitReason::Step);
    EXPECT_EQ(state.events.interrupt_shadow, kShadowMovSs);
    ASSERT_EQ(run(one).reason, ExitReason::Step);
    EXPECT_EQ(state.events.interrupt_shadow, 0);
    ASSERT_EQ(run(one).reason, ExitReason::Step);
    EXPECT_EQ(state.events.interrupt_shadow, kShadowSti);
}

TEST_F(Events, ShadowGivenInBlocksTheFirstInterruptWindow) {
    guest.load(kCode, {0x90, 0x90, 0xF4});
    state.regs.rflags |= flags::IF;
    state.events.interrupt_shadow = kShadowSti;
    RunLimits limits = kUntilExit;
    limits.interrupt_pending = true;
    const Exit exit = run(limits);
    EXPECT_EQ(exit.reason, ExitReason::InterruptWindow);
    EXPECT_EQ(exit.instructions, 1u);
}

TEST_F(Events, PendingExceptionIsDeliveredThroughTheIvtBeforeTheFirstInstruction) {
    guest.load(kCode, {0x90});
    state.events.exception = {.pending = 1, .vector = 0x06};
    const Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rip, 0x3001u);
    EXPECT_EQ(state.events.exception.pending, 0);
    EXPECT_EQ(state.regs.rsp, kStack - 6u);
    EXPECT_EQ(guest.read16(kStack - 6), kCode) << "the return IP is the interrupted instruction";
    EXPECT_EQ(exit.instructions, 1u) << "only the handler's HLT ran";
}

TEST_F(Events, PendingInterruptIsDeliveredWhenTheGuestCanTakeIt) {
    guest.load(kCode, {0x90});
    state.regs.rflags |= flags::IF;
    state.events.interrupt = {.pending = 1, .vector = 0x20};
    ASSERT_EQ(run().reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rip, 0x3101u);
    EXPECT_EQ(state.events.interrupt.pending, 0);
    EXPECT_EQ(state.regs.rflags & flags::IF, 0u) << "delivery clears IF";
    EXPECT_EQ(guest.read16(kStack - 2) & flags::IF, flags::IF) << "the pushed FLAGS keep it";
}

// Emulator::last_delivery: a #UD the code raised, then an interrupt the host injected, each
// with where its handler starts; the count says how many so far.
TEST_F(Events, LastDeliveryNamesWhatWasDeliveredAndWhere) {
    EXPECT_EQ(emu.last_delivery().count, 0u);
    guest.load(kCode, {0x0F, 0x0B}); // ud2
    ASSERT_EQ(run().reason, ExitReason::Halt);
    Emulator::Delivery d = emu.last_delivery();
    EXPECT_EQ(d.count, 1u);
    EXPECT_EQ(d.vector, 0x06);
    EXPECT_FALSE(d.has_error_code);
    EXPECT_FALSE(d.interrupt);
    EXPECT_FALSE(d.injected);
    EXPECT_EQ(d.handler_cs, 0u);
    EXPECT_EQ(d.handler_eip, 0x3000u);
    state.regs.rip = kCode;
    state.regs.rflags |= flags::IF;
    state.events.interrupt = {.pending = 1, .vector = 0x20};
    ASSERT_EQ(run().reason, ExitReason::Halt);
    d = emu.last_delivery();
    EXPECT_EQ(d.count, 2u);
    EXPECT_EQ(d.vector, 0x20);
    EXPECT_TRUE(d.interrupt);
    EXPECT_TRUE(d.injected);
    EXPECT_EQ(d.handler_eip, 0x3100u);
}

// IF = 0: the interrupt waits; run() stops at the window (after STI and its shadow) with the
// interrupt still pending, and the next run() delivers it.
TEST_F(Events, PendingInterruptWaitsForTheInterruptWindow) {
    guest.load(kCode, {0xFB,   // sti
                       0x90,   // nop (in the STI shadow)
                       0x90}); // the interrupt comes before this one
    state.events.interrupt = {.pending = 1, .vector = 0x20};
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::InterruptWindow);
    EXPECT_EQ(exit.instructions, 2u);
    EXPECT_EQ(state.events.interrupt.pending, 1);
    exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(guest.read16(kStack - 6), kCode + 2);
}

// Delivery that faults escalates as for a fault: #GP (IVT limit) while delivering #GP is a
// double fault, and a fault delivering that is a triple fault (SDM Vol. 3A 6.15).
TEST_F(Events, PendingExceptionThatCannotBeDeliveredIsATripleFault) {
    guest.load(kCode, {0x90});
    state.sregs.idt.limit = 0;
    state.events.exception = {.pending = 1, .vector = 13, .has_error_code = 1};
    const Exit exit = run();
    EXPECT_EQ(exit.reason, ExitReason::TripleFault);
    EXPECT_EQ(exit.instructions, 0u);
}

TEST_F(Events, ExceptionsToHostDoesNotApplyToInjectedEvents) {
    guest.load(kCode, {0x90});
    state.events.exception = {.pending = 1, .vector = 0x06};
    RunLimits limits = kUntilExit;
    limits.exceptions_to_host = true;
    EXPECT_EQ(run(limits).reason, ExitReason::Halt);
}

// The bundled boot sample from the Intel reset state, run through the VcpuState API to the first
// state KVM would enter, then to its HLT.
TEST(BootSample, RunsToValidThenToHaltInKvmLayout) {
    const std::vector<uint8_t> image = read_boot_sample("pe_entry.bin");
    ASSERT_EQ(image.size(), 512u);
    Guest guest(1u << 20);
    guest.load(kSampleLoad, image);
    QuietPorts ports;
    Emulator emu(guest.slots(), &ports);
    // The Intel reset state: CS caches a data segment and TR is not a TSS, so the window stays
    // open from the CR0 write to the far jump and LTR.
    VcpuState state = real_mode_state(static_cast<uint16_t>(kSampleLoad));
    store_cpu_state(reset_state(ResetPreset::Intel), state);
    state.sregs.cs.selector = 0;
    state.sregs.cs.base = 0;
    state.regs.rip = kSampleLoad;

    // Real mode with segments KVM can run as vm86 segments is valid for KVM: step it, as KVM
    // would run it, until the CR0 write opens the invalid window.
    const RunLimits one{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    for (int i = 0; i < 32 && vmx::is_valid(to_cpu_state(state), vmx::Profile::Kvm); ++i)
        ASSERT_EQ(emu.run(state, one).reason, ExitReason::Step);
    ASSERT_EQ(state.sregs.cr0 & 1, 1u) << "CR0.PE = 1 made the state invalid";
    ASSERT_EQ(state.sregs.cs.selector, 0);

    RunLimits limits{.budget = 0, .stop_when_valid = vmx::Profile::Kvm};
    const Exit valid = emu.run(state, limits);
    ASSERT_EQ(valid.reason, ExitReason::GuestStateValid);
    EXPECT_GE(valid.instructions, 10u); // lgdt, jmp, six segment loads, mov esp, ..., ltr
    EXPECT_EQ(state.sregs.cs.selector, 0x08);
    EXPECT_EQ(state.sregs.cs.db, 1);
    EXPECT_EQ(state.sregs.ss.selector, 0x10);
    EXPECT_EQ(state.sregs.tr.selector, 0x18);
    EXPECT_EQ(state.sregs.tr.type, 11) << "busy 32-bit TSS after LTR";
    EXPECT_EQ(state.sregs.cr0 & 1, 1u);
    EXPECT_EQ(state.regs.rsp, 0x9000u);

    limits.stop_when_valid = std::nullopt;
    const Exit halt = emu.run(state, limits);
    ASSERT_EQ(halt.reason, ExitReason::Halt);
    EXPECT_EQ(ports.text(), "OK\n");
    EXPECT_EQ(ports.debug_exit, 0x10u);
}

} // namespace
} // namespace transit86::test
