// `transit86 boot --gdb`'s target (tools/boot/boot_target.hpp): determinism first — a machine
// restored from a snapshot and run again reaches the same CPU state, RAM and console, however
// the runs are sliced — then the GDB session on it: breakpoints reached through exits and
// interrupt deliveries, reverse steps over an interrupt, and SeaBIOS's first 32-bit window.
//
// Two guests: a 64 KiB firmware written here (a PAM write, or the 8254 interrupting a loop),
// and Debian's SeaBIOS (skipped with the reason when the package is missing).
#include <filesystem>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "session_packets.hpp"
#include "tools/boot/boot_target.hpp"
#include "tools/gdb/gdb_session.hpp"
#include "tools/gdb/registers.hpp"
#include "tools/gdb/rsp_packet.hpp"
#include "tools/guest_image.hpp"

namespace transit86::tools {
namespace {

// A 64 KiB BIOS: `code` at F000:0000 (linear 0xF0000, the isa-bios alias), the reset vector
// jumping there.
std::vector<uint8_t> tiny_bios(std::initializer_list<uint8_t> code,
                               std::initializer_list<uint8_t> handler = {}) {
    std::vector<uint8_t> bios(64 * 1024, 0xF4);
    std::copy(code.begin(), code.end(), bios.begin());
    std::copy(handler.begin(), handler.end(), bios.begin() + 0x40);
    const uint8_t reset[] = {0xEA, 0x00, 0x00, 0x00, 0xF0}; // jmp far f000:0000
    std::copy(std::begin(reset), std::end(reset), bios.begin() + 0xFFF0);
    return bios;
}

// Writes PAM1 = 0x33 (the memory map changes: the platform ends the emulator's run at the
// OUT), then a nop at 0xF0011 and hlt with IF = 0.
std::vector<uint8_t> pam_write_bios() {
    return tiny_bios({0x66, 0xB8, 0x58, 0x00, 0x00, 0x80, // mov eax, 0x80000058
                      0xBA, 0xF8, 0x0C,                   // mov dx, 0xcf8
                      0x66, 0xEF,                         // out dx, eax
                      0xBA, 0xFE, 0x0C,                   // mov dx, 0xcfe
                      0xB0, 0x33,                         // mov al, 0x33
                      0xEE,                               // out dx, al
                      0x90,                               // 0xF0011: nop
                      0xF4});                             // hlt
}

// The 8259 initialised as SeaBIOS does (vectors 8-15, IRQ0 only), the 8254's channel 0 in
// mode 2 with a count of 256 (an interrupt every ~214 us of virtual time), IVT vector 8 at
// F000:0040, then `sti; jmp $` at 0xF002D. The handler counts in [0x500].
std::vector<uint8_t> timer_bios() {
    return tiny_bios(
        {0xB0, 0x11, 0xE6, 0x20, 0xB0, 0x08, 0xE6, 0x21, 0xB0, 0x04, 0xE6, 0x21, // ICW1-3
         0xB0, 0x01, 0xE6, 0x21, 0xB0, 0xFE, 0xE6, 0x21,                         // ICW4, OCW1
         0xB0, 0x34, 0xE6, 0x43, 0xB0, 0x00, 0xE6, 0x40, 0xB0, 0x01, 0xE6, 0x40, // 8254
         0xC7, 0x06, 0x20, 0x00, 0x40, 0x00,                                     // [0x20]
         0xC7, 0x06, 0x22, 0x00, 0x00, 0xF0,                                     // [0x22]
         0xFB, 0xEB, 0xFE},                                                      // sti; jmp $
        {0xFF, 0x06, 0x00, 0x05,                                                 // inc word [0x500]
         0xB0, 0x20, 0xE6, 0x20,                                                 // EOI
         0xCF});                                                                 // iret
}
constexpr uint64_t kTimerLoop = 0xF002D, kTimerHandler = 0xF0040;

std::optional<std::vector<uint8_t>> seabios() {
    const std::filesystem::path path = TRANSIT86_SEABIOS_BIN;
    if (!std::filesystem::exists(path)) return std::nullopt;
    return read_image_file(path.string(), 16u << 20, "BIOS");
}

// FNV-1a over guest RAM.
uint64_t ram_hash(std::span<const RamSlot> slots) {
    uint64_t h = 1469598103934665603ull;
    for (const RamSlot& s : slots)
        for (uint64_t i = 0; i < s.size; ++i)
            h = (h ^ s.host[i]) * 1099511628211ull;
    return h;
}

struct BootTargetTest : ::testing::Test {
    std::unique_ptr<BootMachine> machine;
    std::unique_ptr<BootTarget> target;
    std::unique_ptr<gdb::GdbSession> session;

    // `budget`: a missed stop ends the run there instead of looping forever.
    void boot(std::vector<uint8_t> bios, uint64_t interval = 0, uint64_t budget = 0) {
        pc::PcConfig config;
        config.ram_bytes = 16u << 20;
        config.bios = std::move(bios);
        machine =
            std::make_unique<BootMachine>(std::move(config), ResetPreset::Intel, vmx::Profile::Kvm);
        target = std::make_unique<BootTarget>(*machine, BootTargetOptions{.budget = budget});
        session = std::make_unique<gdb::GdbSession>(
            *target, gdb::ReverseHistory::Limits{.interval = interval});
    }
    bool boot_seabios() {
        auto bios = seabios();
        if (!bios) return false;
        boot(std::move(*bios));
        return true;
    }
    // `n` positions through run(); false at an event.
    bool run_positions(uint64_t n) {
        while (n > 0) {
            const gdb::RunResult r = target->run({.max_positions = n});
            n -= r.positions;
            if (!r.event.empty()) return false;
        }
        return true;
    }
    std::string ask(std::string_view packet) { return gdb::testing::last_reply(*session, packet); }
    std::string console_of(std::string_view packet) {
        return gdb::testing::console_of(*session, packet);
    }
    std::string monitor(std::string_view command) {
        return gdb::testing::monitor(*session, command);
    }
    uint64_t pc() const { return gdb::linear_pc(target->state()); }
};

#define SKIP_WITHOUT_SEABIOS()                                                                     \
    if (!boot_seabios())                                                                           \
    GTEST_SKIP() << TRANSIT86_SEABIOS_BIN                                                          \
                 << " not found (Debian package seabios: scripts/install-deps.sh)"

// The rule reverse execution rests on: run N, snapshot, run M, restore, run M again -> the
// same CPU state, RAM and console (and census), through SeaBIOS's POST with its timer
// interrupts, PAM changes and fw_cfg DMA.
TEST_F(BootTargetTest, RestoredSnapshotRerunsToTheSameStateRamAndConsole) {
    SKIP_WITHOUT_SEABIOS();
    ASSERT_TRUE(run_positions(100'000));
    const std::unique_ptr<gdb::MachineSnapshot> snap = target->save_machine();
    ASSERT_TRUE(snap);
    const RamSlot ram = target->ram_slots()[0];
    const std::vector<uint8_t> ram_then(ram.host, ram.host + ram.size);
    ASSERT_TRUE(run_positions(6'000'000));
    const CpuState state = target->state();
    const uint64_t hash = ram_hash(target->ram_slots());
    const std::string console = target->console();
    const std::string census = target->census_text(true);
    ASSERT_NE(console.find("SeaBIOS"), std::string::npos);
    ASSERT_NE(census.find("== window 2:"), std::string::npos) << census;

    std::copy(ram_then.begin(), ram_then.end(), ram.host);
    target->restore_machine(*snap);
    EXPECT_NE(target->census_text(true), census);
    ASSERT_TRUE(run_positions(6'000'000));
    EXPECT_EQ(target->state(), state);
    EXPECT_EQ(ram_hash(target->ram_slots()), hash);
    EXPECT_EQ(target->console(), console);
    EXPECT_EQ(target->census_text(true), census);
}

// However the runs are sliced — one run of N positions, or N single steps — the machine is
// in the same state: interrupts arrive at the same instructions (pc/platform.hpp access()).
TEST_F(BootTargetTest, OneRunAndSingleStepsReachTheSameState) {
    SKIP_WITHOUT_SEABIOS();
    constexpr uint64_t kPositions = 120'000;
    ASSERT_TRUE(run_positions(kPositions));
    const CpuState state = target->state();
    const uint64_t hash = ram_hash(target->ram_slots());
    ASSERT_TRUE(boot_seabios());
    for (uint64_t i = 0; i < kPositions; ++i)
        ASSERT_TRUE(target->step().retired) << "at position " << i;
    EXPECT_EQ(target->state(), state);
    EXPECT_EQ(ram_hash(target->ram_slots()), hash);
}

// A breakpoint right after an OUT at which the platform ends the emulator's run (a PAM write
// changes the memory map): the emulator resumes the OUT and stops before the next instruction.
TEST_F(BootTargetTest, BreakpointRightAfterAnOutThatEndsTheRunStops) {
    boot(pam_write_bios());
    EXPECT_EQ(ask("Z0,f0011,1"), "OK");
    EXPECT_EQ(ask("c").substr(0, 12), "T05swbreak:;");
    EXPECT_EQ(pc(), 0xF0011u);
    const std::string end = console_of("c");
    EXPECT_NE(end.find("halted at f000:13 with interrupts disabled"), std::string::npos) << end;
}

// The emulator never stops at the instruction a run starts at, and after an interrupt
// delivery the run starts at the handler: the boot loop checks the breakpoints itself there.
TEST_F(BootTargetTest, BreakpointAtAnInterruptHandlerStops) {
    boot(timer_bios(), 0, 2'000'000);
    EXPECT_EQ(ask("Z0,f0040,1"), "OK");
    EXPECT_EQ(ask("c").substr(0, 12), "T05swbreak:;");
    EXPECT_EQ(pc(), kTimerHandler);
    EXPECT_EQ(target->ended(), "");
}

// An interrupt delivery is a position of its own: continue to the handler, reverse-stepi
// returns to the interrupted loop with IF = 1, stepi delivers it again to the same state.
TEST_F(BootTargetTest, ReverseStepiOverAnInterruptDeliveryReturnsToTheLoop) {
    boot(timer_bios(), 4096, 2'000'000);
    EXPECT_EQ(ask("Z0,f0040,1"), "OK");
    EXPECT_EQ(ask("c").substr(0, 12), "T05swbreak:;");
    ASSERT_EQ(pc(), kTimerHandler);
    const CpuState in_handler = target->state();
    ask("bs");
    EXPECT_EQ(pc(), kTimerLoop);
    EXPECT_TRUE(target->state().eflags & flags::IF);
    ask("s");
    EXPECT_EQ(target->state(), in_handler);
    // The second interrupt, then back to the first through reverse-continue.
    EXPECT_EQ(ask("c").substr(0, 12), "T05swbreak:;");
    uint16_t count = 0;
    target->read_linear(0x500, std::span(reinterpret_cast<uint8_t*>(&count), 2));
    EXPECT_EQ(count, 1);
    EXPECT_NE(target->state().tsc, in_handler.tsc);
    EXPECT_EQ(ask("bc").substr(0, 12), "T05swbreak:;");
    EXPECT_EQ(target->state(), in_handler);
    target->read_linear(0x500, std::span(reinterpret_cast<uint8_t*>(&count), 2));
    EXPECT_EQ(count, 0);
}

// `monitor screen`: the text buffer at 0xB8000 as `transit86 boot --screen` prints it, before
// and after the guest writes "OK" there.
TEST_F(BootTargetTest, MonitorScreenShowsTheTextBuffer) {
    boot(tiny_bios({0xB8, 0x00, 0xB8,                         // mov ax, 0xb800
                    0x8E, 0xC0,                               // mov es, ax
                    0x26, 0xC7, 0x06, 0x00, 0x00, 0x4F, 0x07, // mov word es:[0], 0x074f
                    0x26, 0xC7, 0x06, 0x02, 0x00, 0x4B, 0x07, // mov word es:[2], 0x074b
                    0xFA, 0xF4}));                            // cli; hlt
    EXPECT_EQ(monitor("screen"),
              "screen: (blank: nothing was written to the text buffer at 0xb8000)\n");
    ask("c");
    EXPECT_EQ(monitor("screen"), "screen: OK\n");
    EXPECT_NE(monitor("help").find("  screen "), std::string::npos);
}

// SeaBIOS's first switch to 32-bit mode (romlayout.S transition32: `mov cr0, ecx` at 0xfd0b8
// in Debian's 1.16.2 image) opens window 2 of the census, which 5.7 million instructions later
// the way back to real mode (transition16's `mov ss, cx` at 0xfd11d) closes; reverse-stepi from
// there gives the same registers, and reverse-continue with the window watch returns to the `mov
// cr0`, where the census has one window again.
TEST_F(BootTargetTest, SeabiosWindowWatchReverseStepiAndCensus) {
    SKIP_WITHOUT_SEABIOS();
    EXPECT_NE(monitor("window-watch on").find("window-watch on"), std::string::npos);
    std::string text = console_of("c"); // the reset state's window (CS base 0xffff0000) ends
    EXPECT_NE(text.find("makes the state VALID"), std::string::npos) << text;
    text = console_of("c");
    EXPECT_NE(text.find("the instruction at 0xfd0b8 makes the state INVALID"), std::string::npos)
        << text;
    text = console_of("c");
    EXPECT_NE(text.find("makes the state VALID"), std::string::npos) << text;
    const std::string regs = ask("g");
    const CpuState at_end = target->state();
    ask("s");
    ask("bs");
    EXPECT_EQ(target->state(), at_end);
    EXPECT_EQ(ask("g"), regs);
    const std::string census = monitor("census");
    EXPECT_NE(census.find("== window 2: "), std::string::npos) << census;
    EXPECT_NE(census.find("0fd11d  8e d1  mov ss, cx"), std::string::npos) << census;
    EXPECT_NE(census.find("== census (kvm): 2 windows"), std::string::npos) << census;

    ask("bc"); // back over the window's end
    text = console_of("bc");
    EXPECT_NE(text.find("the instruction at 0xfd0b8 makes the state INVALID"), std::string::npos)
        << text;
    EXPECT_EQ(pc(), 0xFD0B8u);
    EXPECT_NE(monitor("census").find("== census (kvm): 1 window,"), std::string::npos)
        << monitor("census");
}

} // namespace
} // namespace transit86::tools
