// --icount-shift (pc::PcConfig::icount_shift, QEMU's -icount shift=N): each instruction takes
// 2^N ns of virtual time. A BIOS written here waits for 200 toggles of port 0x61's refresh bit
// (one every 15 us of virtual time): the wait takes the same virtual time at every shift and
// 2^N times fewer instructions; the TSC still counts one per instruction.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/boot/handmade_bios.hpp"
#include "tools/boot/boot_machine.hpp"

namespace transit86::tools {
namespace {

std::vector<uint8_t> refresh_wait_bios() {
    return testing::handmade_bios({
        0xB9, 0xC8, 0x00, // E000 mov cx, 200
        0xE4, 0x61,       // E003 in al, 0x61
        0x24, 0x10,       // E005 and al, 0x10 (the refresh bit)
        0x88, 0xC3,       // E007 mov bl, al
        0xE4, 0x61,       // E009 in al, 0x61
        0x24, 0x10,       // E00B and al, 0x10
        0x38, 0xD8,       // E00D cmp al, bl
        0x74, 0xF8,       // E00F je 0xe009: not toggled yet
        0x88, 0xC3,       // E011 mov bl, al
        0x49,             // E013 dec cx
        0x75, 0xF3,       // E014 jnz 0xe009
        0xF4,             // E016 hlt (IF = 0: the boot ends)
    });
}

struct Wait {
    uint64_t instructions = 0, virtual_ns = 0, tsc = 0;
};

Wait run_at_shift(unsigned shift) {
    pc::PcConfig config;
    config.bios = refresh_wait_bios();
    config.icount_shift = shift;
    BootMachine machine(std::move(config), ResetPreset::Kvm, vmx::Profile::Kvm);
    const BootEnd end = machine.run({});
    EXPECT_EQ(end.kind, BootEnd::Kind::Halted) << end.detail;
    return {machine.instructions(), machine.virtual_ns(), machine.emulator().state().tsc};
}

TEST(IcountShift, AWaitOnTheClockTakesTheSameTimeInFewerInstructions) {
    const Wait base = run_at_shift(0);
    // 200 toggles of 15 us: 3 ms, one instruction a nanosecond.
    EXPECT_GE(base.virtual_ns, 2'985'000u);
    EXPECT_LE(base.virtual_ns, 3'015'000u);
    EXPECT_EQ(base.virtual_ns, base.instructions);
    for (const unsigned shift : {1u, 4u, 8u}) {
        const Wait w = run_at_shift(shift);
        EXPECT_EQ(w.virtual_ns, w.instructions << shift) << "shift " << shift;
        // Within the last toggle's polling and the steps of 2^shift ns.
        EXPECT_GE(w.virtual_ns + (32u << shift), base.virtual_ns) << "shift " << shift;
        EXPECT_LE(w.virtual_ns, base.virtual_ns + (32u << shift)) << "shift " << shift;
        EXPECT_EQ(w.tsc - base.tsc, w.instructions - base.instructions) << "shift " << shift;
    }
}

// A shift beyond QEMU's largest (10) is refused when the machine is built.
TEST(IcountShift, BeyondTenIsRefused) {
    pc::PcConfig config;
    config.bios = refresh_wait_bios();
    config.icount_shift = 11;
    EXPECT_THROW(pc::PcPlatform platform(std::move(config)), std::invalid_argument);
}

} // namespace
} // namespace transit86::tools
