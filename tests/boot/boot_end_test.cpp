// How a boot ends, on firmware written here byte by byte (no package needed): the end names
// the instruction the guest stopped at, not where the emulator's last run began.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/boot/handmade_bios.hpp"
#include "tools/boot/boot_machine.hpp"

namespace transit86::tools {
namespace {

// A BIOS (handmade_bios.hpp) whose code at F000:E000 runs a few instructions, loads an
// IDT limit of 0 and executes UD2. In real mode #UD's vector lies past the limit: #GP, whose
// vector lies past it too: #DF, likewise: shutdown (SDM Vol. 3A 20.1.4, 6.15 "Interrupt 8").
std::vector<uint8_t> triple_fault_bios() {
    const std::vector<uint8_t> code = {0xB8, 0x34, 0x12,                   // E000 mov ax, 0x1234
                                       0x89, 0xC3,                         // E003 mov bx, ax
                                       0x41,                               // E005 inc cx
                                       0x2E, 0x0F, 0x01, 0x1E, 0x00, 0xE1, // E006 lidt cs:[0xe100]
                                       0x0F, 0x0B};                        // E00C ud2
    std::vector<uint8_t> bios = testing::handmade_bios(code);
    std::fill(bios.begin() + 0xE100, bios.begin() + 0xE106, 0); // limit 0, base 0
    return bios;
}

TEST(BootEnd, TripleFaultNamesTheFaultingInstruction) {
    for (const ResetPreset preset : {ResetPreset::Kvm, ResetPreset::Intel}) {
        pc::PcConfig config;
        config.bios = triple_fault_bios();
        BootMachine machine(std::move(config), preset, vmx::Profile::Kvm);
        BootLimits limits;
        limits.budget = 1000;
        const BootEnd end = machine.run(limits);
        EXPECT_EQ(end.kind, BootEnd::Kind::TripleFault);
        EXPECT_EQ(end.detail, "triple fault at f000:e00c");
        EXPECT_EQ(machine.instructions(), 5u); // the jmp far and four; UD2 never retires
    }
}

// A BIOS whose #UD handler is a bare IRET (as SeaBIOS's default handler is) under a UD2: the
// guest loops between the two for ever, as a processor would. The boot ends once the same
// fault repeated BootLimits::fault_loop_repeats times (1,000,000 by default; 1,000 here) with the
// same registers, naming it.
std::vector<uint8_t> fault_loop_bios() {
    const std::vector<uint8_t> code = {
        0x31, 0xC0,                         // E000 xor ax, ax
        0x8E, 0xD8,                         // E002 mov ds, ax
        0xC7, 0x06, 0x18, 0x00, 0x00, 0xE1, // E004 mov word [0x18], 0xe100
        0xC7, 0x06, 0x1A, 0x00, 0x00, 0xF0, // E00A mov word [0x1a], 0xf000
        0x0F, 0x0B};                        // E010 ud2
    std::vector<uint8_t> bios = testing::handmade_bios(code);
    bios[0xE100] = 0xCF; // iret
    return bios;
}

struct FaultLoopRun {
    BootEnd end;
    uint64_t repeats = 0; // Emulator::repeated_fault().times at the end
};

// Boots `bios` with a fault-loop threshold of 1,000 and a budget of four times that.
FaultLoopRun run_with_fault_loop_threshold(std::vector<uint8_t> bios) {
    pc::PcConfig config;
    config.bios = std::move(bios);
    BootMachine machine(std::move(config), ResetPreset::Kvm, vmx::Profile::Kvm);
    BootLimits limits;
    limits.fault_loop_repeats = 1000;
    limits.budget = 4 * limits.fault_loop_repeats;
    const BootEnd end = machine.run(limits);
    return {end, machine.emulator().repeated_fault().times};
}

TEST(BootEnd, AFaultWhoseHandlerReturnsToItEndsTheBoot) {
    const FaultLoopRun run = run_with_fault_loop_threshold(fault_loop_bios());
    EXPECT_EQ(run.end.kind, BootEnd::Kind::FaultLoop);
    // Checked between runs: at least the threshold, as many as the run that crossed it made.
    EXPECT_GE(run.repeats, 1000u);
    EXPECT_EQ(run.end.detail, "exception 6 raised " + std::to_string(run.repeats) +
                                  " times in a row at f000:e010 (linear 0xfe010) with the same "
                                  "registers: its handler returns to the instruction without "
                                  "removing the cause");
}

// Faults at one instruction with registers that change between them are progress, not a loop:
// a handler that increments BX each time and returns keeps the boot going to its budget.
TEST(BootEnd, RepeatedFaultsWithChangingRegistersAreNotALoop) {
    std::vector<uint8_t> bios = fault_loop_bios();
    bios[0xE100] = 0x43; // inc bx
    bios[0xE101] = 0xCF; // iret
    const FaultLoopRun run = run_with_fault_loop_threshold(std::move(bios));
    EXPECT_EQ(run.end.kind, BootEnd::Kind::Budget);
    EXPECT_EQ(run.repeats, 1u);
}

} // namespace
} // namespace transit86::tools
