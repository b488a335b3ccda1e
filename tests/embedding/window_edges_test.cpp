// Both edges of a window: RunLimits::stop_when_valid ends one, stop_when_invalid finds where
// the next begins, so a host running valid code (KVM in examples/kvm-vmm, or transit86 itself
// in `transit86 boot`) knows the instruction at which the state turns invalid. And the memory
// map replaced between runs (Emulator::set_ram_slots), as a chipset's PAM registers do.
#include <gtest/gtest.h>

#include "guest.hpp"

namespace transit86::test {
namespace {

TEST(WindowEdges, StopWhenInvalidStopsBeforeTheFirstInstructionOfTheWindow) {
    Guest guest;
    guest.load(kCode, kEnterAndLeaveWindow);
    Emulator emu{guest.slots()};
    VcpuState state = stale_ss_state();
    const Exit exit = emu.run(state, RunLimits{.budget = 0,
                                               .stop_when_valid = std::nullopt,
                                               .stop_when_invalid = vmx::Profile::Kvm});
    ASSERT_EQ(exit.reason, ExitReason::GuestStateInvalid);
    EXPECT_EQ(exit.instructions, 3u) << "mov eax,cr0; or al,1; mov cr0,eax retired";
    EXPECT_EQ(state.regs.rip, kCode + 8u) << "stopped before and al, 0xfe";
}

TEST(WindowEdges, StopWhenValidThenEndsItWhenRealModeReturns) {
    Guest guest;
    guest.load(kCode, kEnterAndLeaveWindow);
    Emulator emu{guest.slots()};
    VcpuState state = stale_ss_state();
    emu.run(state, RunLimits{.budget = 0,
                             .stop_when_valid = std::nullopt,
                             .stop_when_invalid = vmx::Profile::Kvm});
    const Exit exit = emu.run(state, RunLimits{.budget = 0, .stop_when_valid = vmx::Profile::Kvm});
    ASSERT_EQ(exit.reason, ExitReason::GuestStateValid);
    EXPECT_EQ(exit.instructions, 2u) << "the window is and al, 0xfe and mov cr0, eax";
    EXPECT_EQ(state.regs.rip, kCode + 13u);
    EXPECT_EQ(emu.last_interpreted().linear, kCode + 10u) << "the mov cr0 that ended it";
}

TEST(WindowEdges, AnInvalidStartingStateStopsAtOnce) {
    Guest guest;
    guest.load(kCode, kEnterAndLeaveWindow);
    Emulator emu{guest.slots()};
    VcpuState state = stale_ss_state();
    state.sregs.cr0 |= 1; // already protected: SS.RPL 3 != CS.RPL 0
    const Exit exit = emu.run(state, RunLimits{.budget = 0,
                                               .stop_when_valid = std::nullopt,
                                               .stop_when_invalid = vmx::Profile::Kvm});
    EXPECT_EQ(exit.reason, ExitReason::GuestStateInvalid);
    EXPECT_EQ(exit.instructions, 0u);
}

TEST(WindowEdges, ProfilesOtherThanKvmAreJudgedBeforeEveryInstruction) {
    // Without unrestricted guest the SDM admits no real-mode guest (CR0.PE must be 1), so
    // under the sdm profile the real-mode start is already a window.
    Guest guest;
    guest.load(kCode, kEnterAndLeaveWindow);
    Emulator emu{guest.slots()};
    VcpuState state = stale_ss_state();
    const Exit exit = emu.run(state, RunLimits{.budget = 0,
                                               .stop_when_valid = std::nullopt,
                                               .stop_when_invalid = vmx::Profile::Sdm});
    EXPECT_EQ(exit.reason, ExitReason::GuestStateInvalid);
    EXPECT_EQ(exit.instructions, 0u);
}

TEST(SetRamSlots, ANewMapTakesEffectAtTheNextRun) {
    // Two 64 KiB buffers; the code at 0x1000 reads [0x2000] into AX and halts. First run with
    // buffer A mapped, then with buffer B: each run sees its own buffer's data.
    std::vector<uint8_t> a(kGuestRam), b(kGuestRam);
    for (auto* ram : {&a, &b}) {
        const uint8_t code[] = {0xA1, 0x00, 0x20, 0xF4}; // mov ax, [0x2000]; hlt
        std::copy(std::begin(code), std::end(code), ram->begin() + kCode);
    }
    a[0x2000] = 0xAA;
    b[0x2000] = 0xBB;
    const RamSlot slot_a{.guest_phys = 0, .size = kGuestRam, .host = a.data()};
    const RamSlot slot_b{.guest_phys = 0, .size = kGuestRam, .host = b.data()};
    Emulator emu{{&slot_a, 1}};
    VcpuState state = real_mode_state();
    ASSERT_EQ(emu.run(state, kUntilExit).reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rax & 0xFF, 0xAAu);
    emu.set_ram_slots({&slot_b, 1});
    state.regs.rip = kCode;
    ASSERT_EQ(emu.run(state, kUntilExit).reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rax & 0xFF, 0xBBu);
}

TEST(SetRamSlots, AReadOnlySlotTurnsWritesIntoMmioExits) {
    Guest guest;
    guest.load(kCode, {0xC6, 0x06, 0x00, 0x20, 0x55, // mov byte [0x2000], 0x55
                       0xF4});                       // hlt
    Emulator emu{guest.slots()};
    RamSlot read_only = guest.slots()[0];
    read_only.read_only = true;
    emu.set_ram_slots({&read_only, 1});
    VcpuState state = real_mode_state();
    const Exit exit = emu.run(state, kUntilExit);
    ASSERT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_TRUE(exit.mmio_write);
    EXPECT_EQ(exit.mmio_address, 0x2000u);
    EXPECT_EQ(guest.ram()[0x2000], 0u);
}

} // namespace
} // namespace transit86::test
