// Port I/O and MMIO exits are resumable, as in KVM: the exit says what the instruction wants,
// the host performs it (and for a read supplies the data with complete_io / complete_mmio),
// and the next run() retires the instruction without repeating the access. Run through
// Emulator::run(VcpuState&, ...), the embedding API.
#include <gtest/gtest.h>

#include "guest.hpp"

namespace transit86::test {
namespace {

class Resume : public ::testing::Test {
  protected:
    Exit run() { return emu.run(state, kUntilExit); }
    uint16_t ip() const { return static_cast<uint16_t>(state.regs.rip); }

    Guest guest;
    Emulator emu{guest.slots()}; // no port handler: every port access exits to the host
    VcpuState state = real_mode_state();
};

TEST_F(Resume, InExitsBeforeRetiringAndCompleteIoSuppliesTheValue) {
    guest.load(kCode, {0xBA, 0x34, 0x12, // mov dx, 0x1234
                       0xEC,             // in al, dx
                       0xF4});           // hlt
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Io);
    EXPECT_EQ(exit.io.port, 0x1234);
    EXPECT_EQ(exit.io.size, 1);
    EXPECT_TRUE(exit.io.is_in);
    EXPECT_EQ(exit.io.count, 1u);
    EXPECT_EQ(ip(), kCode + 3) << "RIP stays at the IN until it completes";
    EXPECT_TRUE(emu.completion_pending());
    emu.complete_io(0xA5);
    exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rax & 0xFF, 0xA5u);
    EXPECT_EQ(ip(), kCode + 5);
    EXPECT_FALSE(emu.completion_pending());
}

TEST_F(Resume, OutExitCarriesTheDataAndResumingDoesNotRepeatIt) {
    guest.load(kCode, {0xB8, 0x34, 0x12, // mov ax, 0x1234
                       0xE7, 0x80,       // out 0x80, ax
                       0xF4});           // hlt
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Io);
    EXPECT_EQ(exit.io.port, 0x80);
    EXPECT_EQ(exit.io.size, 2);
    EXPECT_FALSE(exit.io.is_in);
    EXPECT_EQ(exit.io.data, 0x1234u);
    EXPECT_EQ(exit.io.count, 1u);
    exit = run();
    EXPECT_EQ(exit.reason, ExitReason::Halt) << "the OUT was performed once, by the host";
    EXPECT_EQ(exit.instructions, 2u);
}

TEST_F(Resume, MmioReadExitsAndCompleteMmioSuppliesTheValue) {
    set_real_segment(state.sregs.ds, kMmioSegment);
    guest.load(kCode, {0xA1, 0x10, 0x00, // mov ax, [0x10]
                       0xF4});
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, 0x10010u);
    EXPECT_EQ(exit.mmio_size, 2);
    EXPECT_FALSE(exit.mmio_write);
    EXPECT_EQ(ip(), kCode);
    emu.complete_mmio(0xBEEF);
    exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rax & 0xFFFF, 0xBEEFu);
}

TEST_F(Resume, MmioWriteExitCarriesTheDataAndIsNotRepeated) {
    set_real_segment(state.sregs.ds, kMmioSegment);
    guest.load(kCode, {0x66, 0xB8, 0x78, 0x56, 0x34, 0x12, // mov eax, 0x12345678
                       0x66, 0xA3, 0x20, 0x00,             // mov [0x20], eax
                       0xF4});
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, 0x10020u);
    EXPECT_EQ(exit.mmio_size, 4);
    EXPECT_TRUE(exit.mmio_write);
    EXPECT_EQ(exit.mmio_data, 0x12345678u);
    EXPECT_EQ(run().reason, ExitReason::Halt);
}

// MOVSW from MMIO to MMIO touches MMIO twice: one exit each, as KVM's emulator does; the
// read is not repeated when the instruction resumes for its write.
TEST_F(Resume, MovswFromMmioToMmioExitsOncePerAccess) {
    set_real_segment(state.sregs.ds, kMmioSegment);
    set_real_segment(state.sregs.es, kMmioSegment2);
    state.regs.rsi = 4;
    state.regs.rdi = 8;
    guest.load(kCode, {0xA5, 0xF4}); // movsw ; hlt
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, 0x10004u);
    EXPECT_FALSE(exit.mmio_write);
    emu.complete_mmio(0x4321);
    exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, 0x20008u);
    EXPECT_TRUE(exit.mmio_write);
    EXPECT_EQ(exit.mmio_data, 0x4321u);
    EXPECT_EQ(ip(), kCode);
    exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rsi, 6u);
    EXPECT_EQ(state.regs.rdi, 10u);
}

// REP MOVSW between MMIO ranges: two exits per element, each element's accesses completed once.
TEST_F(Resume, RepMovswFromMmioToMmioExitsTwicePerElement) {
    set_real_segment(state.sregs.ds, kMmioSegment);
    set_real_segment(state.sregs.es, kMmioSegment2);
    state.regs.rcx = 3;
    guest.load(kCode, {0xF3, 0xA5, 0xF4}); // rep movsw ; hlt
    for (uint32_t i = 0; i < 3; ++i) {
        Exit exit = run();
        ASSERT_EQ(exit.reason, ExitReason::Mmio) << "element " << i;
        EXPECT_EQ(exit.mmio_address, 0x10000u + 2 * i);
        EXPECT_FALSE(exit.mmio_write);
        EXPECT_EQ(state.regs.rcx, 3u - i) << "the completed elements are committed";
        emu.complete_mmio(0x100 + i);
        exit = run();
        ASSERT_EQ(exit.reason, ExitReason::Mmio) << "element " << i;
        EXPECT_EQ(exit.mmio_address, 0x20000u + 2 * i);
        EXPECT_TRUE(exit.mmio_write);
        EXPECT_EQ(exit.mmio_data, 0x100u + i);
    }
    const Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rcx, 0u);
    EXPECT_EQ(state.regs.rsi, 6u);
}

// REP OUTSB: one Io exit per element (count 1), never batched; (E)CX counts down between them.
TEST_F(Resume, RepOutsbExitsOncePerElement) {
    guest.load(0x2000, {'a', 'b', 'c'});
    state.regs.rsi = 0x2000;
    state.regs.rcx = 3;
    state.regs.rdx = 0x3F8;
    guest.load(kCode, {0xF3, 0x6E, 0xF4}); // rep outsb ; hlt
    for (char expected : {'a', 'b', 'c'}) {
        const Exit exit = run();
        ASSERT_EQ(exit.reason, ExitReason::Io);
        EXPECT_EQ(exit.io.port, 0x3F8);
        EXPECT_FALSE(exit.io.is_in);
        EXPECT_EQ(exit.io.count, 1u);
        EXPECT_EQ(exit.io.data, static_cast<uint32_t>(expected));
        EXPECT_EQ(ip(), kCode);
    }
    ASSERT_EQ(run().reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rcx, 0u);
    EXPECT_EQ(state.regs.rsi, 0x2003u);
}

TEST_F(Resume, RepInsbExitsOncePerElementAndStoresTheCompletedData) {
    state.regs.rdi = 0x2000;
    state.regs.rcx = 3;
    state.regs.rdx = 0x60;
    guest.load(kCode, {0xF3, 0x6C, 0xF4}); // rep insb ; hlt
    for (char value : {'x', 'y', 'z'}) {
        const Exit exit = run();
        ASSERT_EQ(exit.reason, ExitReason::Io);
        EXPECT_TRUE(exit.io.is_in);
        EXPECT_EQ(exit.io.port, 0x60);
        EXPECT_EQ(exit.io.count, 1u);
        emu.complete_io(static_cast<uint8_t>(value));
    }
    ASSERT_EQ(run().reason, ExitReason::Halt);
    EXPECT_EQ(guest.ram()[0x2000], 'x');
    EXPECT_EQ(guest.ram()[0x2001], 'y');
    EXPECT_EQ(guest.ram()[0x2002], 'z');
    EXPECT_EQ(state.regs.rdi, 0x2003u);
}

// INSB into MMIO: the port is read once (Io exit), then the store exits (Mmio write with the
// port's data); resuming after the store does not read the port again.
TEST_F(Resume, InsbIntoMmioReadsThePortOnce) {
    set_real_segment(state.sregs.es, kMmioSegment);
    state.regs.rdx = 0x60;
    guest.load(kCode, {0x6C, 0xF4}); // insb ; hlt
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Io);
    emu.complete_io(0x5A);
    exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_TRUE(exit.mmio_write);
    EXPECT_EQ(exit.mmio_address, 0x10000u);
    EXPECT_EQ(exit.mmio_data, 0x5Au);
    exit = run();
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rdi, 1u);
}

TEST_F(Resume, OutsbFromMmioReadsMmioOnce) {
    set_real_segment(state.sregs.ds, kMmioSegment);
    state.regs.rdx = 0xE9;
    guest.load(kCode, {0x6E, 0xF4}); // outsb ; hlt
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_FALSE(exit.mmio_write);
    emu.complete_mmio('Q');
    exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Io);
    EXPECT_EQ(exit.io.data, static_cast<uint32_t>('Q'));
    EXPECT_EQ(run().reason, ExitReason::Halt);
}

// The pending IN retires before the run looks for an interrupt window (KVM completes
// userspace I/O first thing in KVM_RUN).
TEST_F(Resume, CompletionComesBeforeTheInterruptWindow) {
    guest.load(kCode, {0xE4, 0x40, 0xF4}); // in al, 0x40 ; hlt
    Exit exit = run();
    ASSERT_EQ(exit.reason, ExitReason::Io);
    state.regs.rflags |= flags::IF;
    emu.complete_io(0x77);
    RunLimits limits = kUntilExit;
    limits.interrupt_pending = true;
    exit = emu.run(state, limits);
    EXPECT_EQ(exit.reason, ExitReason::InterruptWindow);
    EXPECT_EQ(exit.instructions, 1u);
    EXPECT_EQ(state.regs.rax & 0xFF, 0x77u);
}

// A host replacing the whole state (a debugger stepping back, a snapshot restored) drops the
// pending completion with forget_pending(): the next run() starts the new state's instruction
// afresh instead of retiring the old IN with the old data.
TEST_F(Resume, ForgetPendingDropsTheCompletion) {
    guest.load(kCode, {0xE4, 0x40, // in al, 0x40
                       0xF4});     // hlt
    const VcpuState before = state;
    ASSERT_EQ(run().reason, ExitReason::Io);
    ASSERT_TRUE(emu.completion_pending());
    emu.forget_pending();
    EXPECT_FALSE(emu.completion_pending());
    state = before;
    const Exit exit = run();
    EXPECT_EQ(exit.reason, ExitReason::Io) << "the IN asks the host again";
    EXPECT_EQ(exit.instructions, 0u);
}

// A data breakpoint hit by MOV SS is held for the instruction after it (SDM Vol. 3A 6.8.3):
// debug_traps_held() says so between the two, and forget_pending() drops it; otherwise the
// #DB comes after the NOP, through IVT vector 1.
TEST_F(Resume, DebugTrapsAMovSsHoldsAreVisibleAndForgettable) {
    guest.load(kCode, {0x8E, 0x16, 0x00, 0x05,   // mov ss, [0x500]
                       0x90,                     // nop
                       0xF4});                   // hlt
    guest.load(4 * 1, {0x00, 0x20, 0x00, 0x00}); // IVT vector 1 -> 0000:2000
    guest.load(0x2000, {0xF4});                  // hlt
    state.debugregs.db[0] = 0x500;
    state.debugregs.dr7 |= 0x2 | (0x3u << 16) | (0x1u << 18); // G0, R/W0 = 11, LEN0 = 01
    const VcpuState start = state;
    const RunLimits one{.budget = 1, .stop_when_valid = std::nullopt};
    for (const bool forget : {false, true}) {
        Emulator fresh(guest.slots());
        state = start;
        ASSERT_EQ(fresh.run(state, one).instructions, 1u);
        EXPECT_TRUE(fresh.debug_traps_held());
        if (forget) fresh.forget_pending();
        EXPECT_EQ(fresh.debug_traps_held(), !forget);
        const Exit exit = fresh.run(state, kUntilExit);
        ASSERT_EQ(exit.reason, ExitReason::Halt);
        EXPECT_EQ(ip(), forget ? kCode + 6 : 0x2001) << (forget ? "no #DB" : "#DB after the NOP");
    }
}

// A PortHandler can also exit to the host for one port and complete the rest itself.
TEST(ResumeWithDevices, HandlerExitToHostIsResumedLikeAnyIoExit) {
    class OnlyE9 final : public PortHandler {
      public:
        Result access(PortAccess& a) override {
            if (a.port != 0xE9) return Result::ExitToHost;
            ++handled;
            return Result::Handled;
        }
        int handled = 0;
    } ports;
    Guest guest;
    Emulator emu(guest.slots(), &ports);
    VcpuState state = real_mode_state();
    guest.load(kCode, {0xE6, 0xE9, // out 0xe9, al
                       0xE6, 0xF4, // out 0xf4, al
                       0xE6, 0xE9, // out 0xe9, al
                       0xF4});
    Exit exit = emu.run(state, kUntilExit);
    ASSERT_EQ(exit.reason, ExitReason::Io);
    EXPECT_EQ(exit.io.port, 0xF4);
    EXPECT_EQ(ports.handled, 1);
    EXPECT_EQ(emu.run(state, kUntilExit).reason, ExitReason::Halt);
    EXPECT_EQ(ports.handled, 2);
}

} // namespace
} // namespace transit86::test
