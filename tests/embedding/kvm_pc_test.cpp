// examples/kvm-vmm's PC mode (pc_vmm.hpp) against `transit86 boot`'s machine (tools/boot
// BootMachine): the same PC — Debian's SeaBIOS, GRUB's disk, pc/'s devices — booted by the
// example's loop, with a KVM vCPU for the valid stretches and transit86 for the windows, and by
// transit86 alone from the same reset state (KVM's), under the kvm profile.
//
// Two vCPUs run the loop:
//   - KvmModel (kvm_model.hpp): KVM's API with a transit86 Emulator behind it, as KVM with
//     unrestricted guest behaves, on every machine. It counts instructions, so the loop runs
//     on `transit86 boot`'s instruction clock and the comparison is exact: the same console
//     bytes, the same instruction counts, and, where the loop checks every boundary, the same
//     windows with the same numbers;
//   - /dev/kvm (skipped where there is none): host time, so only what does not depend on
//     time is compared — the console's text, which windows there are (their shapes), and
//     where each window the VMM saw ends; not instruction numbers or how often a window repeats.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "kvm_model.hpp"
#include "kvm_vm.hpp"
#include "pc/machine_files.hpp"
#include "pc_reference.hpp"
#include "pc_vmm.hpp"
#include "tests/boot/handmade_bios.hpp"
#include "transit86/census.hpp"

namespace kvm_vmm {
namespace {

using namespace testing_pc;
namespace pc = transit86::pc;

const std::string kNoBootableDevice = "No bootable device";

// GTEST_SKIP returns from the function it is in: these are statements of the test itself.
#define SKIP_WITHOUT_SEABIOS()                                                                     \
    if (!files::seabios_skip_reason.empty()) GTEST_SKIP() << files::seabios_skip_reason
#define SKIP_WITHOUT_GRUB_DISK()                                                                   \
    if (!files::grub_echo_skip_reason.empty()) GTEST_SKIP() << files::grub_echo_skip_reason
#define SKIP_WITHOUT_KVM()                                                                         \
    if (auto why = KvmVm::unavailable_reason()) GTEST_SKIP() << *why

bool equal_windows(const transit86::CensusWindow& a, const transit86::CensusWindow& b) {
    return transit86::format_instruction(a.first) == transit86::format_instruction(b.first) &&
           transit86::format_instruction(a.last) == transit86::format_instruction(b.last) &&
           a.length == b.length && a.failing == b.failing && a.ended_by == b.ended_by;
}

// An instruction as the census names it, without its number (host time numbers it
// differently).
std::string where(const transit86::InstructionRef& i) {
    const std::string text = transit86::format_instruction(i);
    return text.substr(text.find(' ') + 1);
}

// A window's shape (CensusText): first and last instruction, the checks failing at its start.
std::string shape(const transit86::CensusWindow& w) {
    std::string failing;
    for (const std::string_view id : w.failing)
        (failing += id) += " ";
    return where(w.first) + " | " + where(w.last) + " | " + failing + "| " + w.ended_by;
}

bool stopped_inside(const transit86::CensusWindow& w) {
    return w.ended_by.rfind("stopped", 0) == 0;
}

PcVmmResult boot_on_model(bool with_grub_disk, uint64_t timeout_ns, bool step_everything) {
    PcVmmOptions options;
    options.step_everything = step_everything;
    options.timeout_ns = timeout_ns;
    KvmModel model;
    return run_pc(seabios_pc(with_grub_disk), options, model);
}

// ---- KvmModel: the instruction clock, exact comparisons.

// Every instruction boundary checked (the vCPU single-stepped everywhere): the census is
// transit86 boot's, window for window — where each begins and ends, its length, what fails,
// its instruction numbers — and so are the console bytes and the instruction count.
TEST(PcBootOnKvmModel, SeabiosSteppedEverywhereGivesTheCensusOfTransit86Boot) {
    SKIP_WITHOUT_SEABIOS();
    const ReferenceBoot reference = boot_on_transit86(false, "", kSeabiosAloneNs);
    ASSERT_EQ(reference.end.kind, transit86::tools::BootEnd::Kind::Timeout) << reference.end.detail;
    ASSERT_NE(reference.serial.find(kNoBootableDevice), std::string::npos) << reference.serial;
    KvmModel model;
    PcVmmOptions options;
    options.step_everything = true;
    options.timeout_ns = kSeabiosAloneNs;
    const PcVmmResult vmm = run_pc(seabios_pc(false), options, model);
    ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::Timeout)) << vmm.detail;
    EXPECT_TRUE(vmm.instruction_clock);
    EXPECT_EQ(vmm.serial, reference.serial);
    EXPECT_EQ(vmm.instructions, reference.instructions);
    EXPECT_EQ(vmm.virtual_ns, reference.virtual_ns);
    const std::vector<transit86::CensusWindow>& windows = vmm.census.windows();
    ASSERT_EQ(windows.size(), reference.windows.size())
        << "transit86 boot:\n"
        << census_text(reference.windows) << "kvm-vmm --pc:\n"
        << census_text(windows);
    for (size_t i = 0; i < windows.size(); ++i)
        ASSERT_TRUE(equal_windows(windows[i], reference.windows[i]))
            << "transit86 boot:\n"
            << transit86::format_window(reference.windows[i]) << "kvm-vmm --pc:\n"
            << transit86::format_window(windows[i]);
    for (const WindowStart start : vmm.window_starts)
        EXPECT_NE(start, WindowStart::KvmExit) << "a window opened inside a free run";
    // SeaBIOS's PUSHF and INT instructions, and the timer's interrupts, went to transit86 (KVM
    // would store its stepping TF with them, and run a handler unstepped) and changed nothing
    // above.
    EXPECT_GT(vmm.flags_stores_on_transit86, 100u);
    EXPECT_GT(vmm.interrupts_on_transit86, 10u);
    EXPECT_EQ(model.unstepped_handlers(), 0u);
}

// The default mode (free runs in 32-bit protected mode, the kick at each timer event) to
// GRUB's ACPI power-off: the same console bytes and instruction count; every window the VMM
// saw begin (single-stepped code, the reset) is one of transit86 boot's, numbers included;
// every window first seen at an exit of a free run ends at the instruction one of transit86
// boot's ends at, and began no earlier than it (pc_vmm.hpp: KVM ran its start).
// `kvm-vmm --pc --kernel` and `transit86 boot --kernel` build their machine with the same code
// (pc/machine_files.hpp): memtest86+ through fw_cfg and linuxboot_dma.bin, on the KVM model in
// free runs, gives transit86 boot's console bytes and instruction count (12 ms of virtual time:
// SeaBIOS, the option ROM reading the kernel through fw_cfg DMA, memtest86+'s setup; the real
// mode is single-stepped on the model, a few seconds).
TEST(PcBootOnKvmModel, AKernelThroughTheOptionRomGivesTheConsoleOfTransit86Boot) {
    SKIP_WITHOUT_SEABIOS();
    if (!files::memtest_skip_reason.empty()) GTEST_SKIP() << files::memtest_skip_reason;
    if (!files::linuxboot_dma_skip_reason.empty()) GTEST_SKIP() << files::linuxboot_dma_skip_reason;
    pc::MachineFiles machine;
    machine.bios = files::seabios_bin;
    machine.kernel = files::memtest_bin;
    machine.append = "console=ttyS0,115200";
    machine.linuxboot_rom = files::linuxboot_dma_rom;
    constexpr uint64_t kTimeout = 12'000'000;
    transit86::tools::BootMachine reference(
        pc::read_machine_files(machine), transit86::ResetPreset::Kvm, transit86::vmx::Profile::Kvm);
    std::string reference_serial;
    reference.on_serial = [&](const std::string& s) { reference_serial += s; };
    transit86::tools::BootLimits limits;
    limits.timeout_ns = kTimeout;
    const transit86::tools::BootEnd end = reference.run(limits);
    ASSERT_EQ(end.kind, transit86::tools::BootEnd::Kind::Timeout) << end.detail;
    ASSERT_NE(reference_serial.find("Booting from ROM"), std::string::npos) << reference_serial;

    PcVmmOptions options;
    options.timeout_ns = kTimeout;
    KvmModel model;
    const PcVmmResult vmm = run_pc(pc::read_machine_files(machine), options, model);
    ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::Timeout)) << vmm.detail;
    EXPECT_EQ(vmm.serial, reference_serial);
    // transit86 boot ends its run at the timeout; the VMM looks at the clock after each exit or
    // transit86 run (at most 130 instructions, KVM's count), so it may pass the timeout by a few.
    EXPECT_GE(vmm.instructions, reference.instructions());
    EXPECT_LE(vmm.instructions, reference.instructions() + 130);
}

TEST(PcBootOnKvmModel, GrubInFreeRunsGivesTheConsoleAndWindowEndsOfTransit86Boot) {
    SKIP_WITHOUT_SEABIOS();
    SKIP_WITHOUT_GRUB_DISK();
    const ReferenceBoot reference = boot_on_transit86(true, "");
    ASSERT_EQ(reference.end.kind, transit86::tools::BootEnd::Kind::PowerOff)
        << reference.end.detail;
    const PcVmmResult vmm = boot_on_model(true, kTimeoutNs, /*step_everything=*/false);
    ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::PowerOff)) << vmm.detail;
    EXPECT_EQ(vmm.serial, reference.serial);
    EXPECT_EQ(vmm.instructions, reference.instructions);

    const std::vector<transit86::CensusWindow>& windows = vmm.census.windows();
    ASSERT_EQ(windows.size(), vmm.window_starts.size());
    size_t seen_beginning = 0, seen_late = 0;
    for (size_t i = 0; i < windows.size(); ++i) {
        const transit86::CensusWindow& w = windows[i];
        const auto same_end = [&](const transit86::CensusWindow& r) {
            return r.last.index == w.last.index && r.ended_by == w.ended_by;
        };
        const auto match =
            std::find_if(reference.windows.begin(), reference.windows.end(), same_end);
        ASSERT_NE(match, reference.windows.end())
            << "window " << w.number << " (" << to_string(vmm.window_starts[i])
            << ") ends where no window of transit86 boot does:\n"
            << transit86::format_window(w);
        if (vmm.window_starts[i] == WindowStart::KvmExit) {
            ++seen_late;
            EXPECT_GE(w.first.index, match->first.index) << transit86::format_window(w);
        } else {
            ++seen_beginning;
            EXPECT_TRUE(equal_windows(w, *match))
                << "transit86 boot:\n"
                << transit86::format_window(*match) << "kvm-vmm --pc:\n"
                << transit86::format_window(w);
        }
    }
    // The reset vector (CS.base FFFF0000 is not 16 * F000), GRUB's real_to_prot (seen after a
    // single step), SeaBIOS's transition16 back to real mode (seen late: its 32-bit caller
    // runs freely).
    EXPECT_GE(seen_beginning, 2u);
    EXPECT_GT(seen_late, 0u);
    EXPECT_LE(vmm.to_transit86 - vmm.to_kvm, 1u); // back to KVM after each, but maybe the last
}

// KVM without unrestricted guest emulates invalid states itself; where its emulator gives up
// (KVM_EXIT_INTERNAL_ERROR, emulation) the VMM hands the window over. A model whose emulator
// gives up at once stops every free run at a window's first instruction: in free runs,
// SeaBIOS's POST then gives transit86 boot's census window for window (its transition16 and
// transition16big windows open inside 32-bit free runs), as stepping everywhere does.
TEST(PcBootOnKvmModel, WithoutUnrestrictedGuestEachWindowIsHandedOverAtItsStart) {
    SKIP_WITHOUT_SEABIOS();
    const ReferenceBoot reference = boot_on_transit86(false, "", kSeabiosAloneNs);
    ASSERT_EQ(reference.end.kind, transit86::tools::BootEnd::Kind::Timeout) << reference.end.detail;
    KvmModel model;
    model.set_unrestricted_guest(false);
    PcVmmOptions options;
    options.timeout_ns = kSeabiosAloneNs;
    const PcVmmResult vmm = run_pc(seabios_pc(false), options, model);
    ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::Timeout)) << vmm.detail;
    EXPECT_EQ(vmm.serial, reference.serial);
    EXPECT_EQ(vmm.instructions, reference.instructions);
    const std::vector<transit86::CensusWindow>& windows = vmm.census.windows();
    ASSERT_EQ(windows.size(), reference.windows.size());
    size_t handed_over_by_kvm = 0;
    for (size_t i = 0; i < windows.size(); ++i) {
        ASSERT_TRUE(equal_windows(windows[i], reference.windows[i]))
            << "transit86 boot:\n"
            << transit86::format_window(reference.windows[i]) << "kvm-vmm --pc:\n"
            << transit86::format_window(windows[i]);
        EXPECT_NE(vmm.window_starts[i], WindowStart::KvmExit);
        handed_over_by_kvm += vmm.window_starts[i] == WindowStart::KvmCannotEmulate ? 1 : 0;
    }
    EXPECT_GT(handed_over_by_kvm, 10u);
}

// Where KVM's emulator gives up on an instruction in a valid state (KVM_EXIT_INTERNAL_ERROR,
// emulation: an MMIO instruction it cannot decode; on kvm_pvm, which emulates everything, any
// instruction it lacks), transit86 runs that instruction and KVM goes on: no window, nothing
// else changes. A model that cannot emulate CALL rel (in SeaBIOS's 16- and 32-bit code alike)
// gives transit86 boot's console and instruction count, stepped everywhere (and its census)
// and in free runs.
TEST(PcBootOnKvmModel, AnInstructionKvmCannotEmulateInAValidStateRunsOnTransit86) {
    SKIP_WITHOUT_SEABIOS();
    const ReferenceBoot reference = boot_on_transit86(false, "", kSeabiosAloneNs);
    ASSERT_EQ(reference.end.kind, transit86::tools::BootEnd::Kind::Timeout) << reference.end.detail;
    constexpr uint8_t kCallRel = 0xE8;
    for (const bool step_everything : {true, false}) {
        SCOPED_TRACE(step_everything ? "stepped everywhere" : "free runs");
        KvmModel model;
        model.cannot_emulate({kCallRel});
        PcVmmOptions options;
        options.step_everything = step_everything;
        options.timeout_ns = kSeabiosAloneNs;
        const PcVmmResult vmm = run_pc(seabios_pc(false), options, model);
        ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::Timeout)) << vmm.detail;
        EXPECT_EQ(vmm.serial, reference.serial);
        EXPECT_EQ(vmm.instructions, reference.instructions);
        EXPECT_GT(vmm.kvm_could_not_emulate, 1000u);
        // In free runs a window may begin inside KVM and be first seen where the emulator
        // gives up in it: a hand-over, as at any other exit.
        if (!step_everything) continue;
        for (const WindowStart start : vmm.window_starts)
            EXPECT_NE(start, WindowStart::KvmCannotEmulate);
        const std::vector<transit86::CensusWindow>& windows = vmm.census.windows();
        ASSERT_EQ(windows.size(), reference.windows.size());
        for (size_t i = 0; i < windows.size(); ++i)
            ASSERT_TRUE(equal_windows(windows[i], reference.windows[i]))
                << "transit86 boot:\n"
                << transit86::format_window(reference.windows[i]) << "kvm-vmm --pc:\n"
                << transit86::format_window(windows[i]);
    }
}

// MSRs go with the state both ways: a BIOS written here sets IA32_SYSENTER_CS under KVM, then
// opens a window (PE set with DS = 3, whose RPL exceeds its DPL) in which it reads that MSR
// and writes the value to IA32_SYSENTER_ESP, closes it (PE cleared) and, under KVM again,
// reads SYSENTER_ESP and writes it to isa-debug-exit.
TEST(PcBootOnKvmModel, MsrsWrittenOnOneSideAreReadOnTheOther) {
    const std::vector<uint8_t> code = {
        0x66, 0xB9, 0x74, 0x01, 0x00, 0x00, // E000 mov ecx, 0x174 (IA32_SYSENTER_CS)
        0x66, 0xB8, 0x34, 0x12, 0x00, 0x00, // E006 mov eax, 0x1234
        0x66, 0x31, 0xD2,                   // E00C xor edx, edx
        0x0F, 0x30,                         // E00F wrmsr
        0xB8, 0x03, 0x00,                   // E011 mov ax, 3
        0x8E, 0xD8,                         // E014 mov ds, ax
        0x0F, 0x20, 0xC0,                   // E016 mov eax, cr0
        0x66, 0x83, 0xC8, 0x01,             // E019 or eax, 1
        0x0F, 0x22, 0xC0,                   // E01D mov cr0, eax: the window opens
        0x66, 0xB9, 0x74, 0x01, 0x00, 0x00, // E020 mov ecx, 0x174
        0x0F, 0x32,                         // E026 rdmsr
        0x66, 0xB9, 0x75, 0x01, 0x00, 0x00, // E028 mov ecx, 0x175 (IA32_SYSENTER_ESP)
        0x0F, 0x30,                         // E02E wrmsr
        0x0F, 0x20, 0xC0,                   // E030 mov eax, cr0
        0x66, 0x83, 0xE0, 0xFE,             // E033 and eax, ~1
        0x0F, 0x22, 0xC0,                   // E037 mov cr0, eax: real mode, valid
        0x66, 0xB9, 0x75, 0x01, 0x00, 0x00, // E03A mov ecx, 0x175
        0x0F, 0x32,                         // E040 rdmsr
        0xBA, 0x01, 0x05,                   // E042 mov dx, 0x501
        0x66, 0xEF};                        // E045 out dx, eax (isa-debug-exit)
    pc::PcConfig config;
    config.bios = transit86::tools::testing::handmade_bios(code);
    KvmModel model;
    PcVmmOptions options;
    options.timeout_ns = 1'000'000;
    const PcVmmResult vmm = run_pc(std::move(config), options, model);
    ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::DebugExit)) << vmm.detail;
    ASSERT_EQ(vmm.census.windows().size(), 2u); // the reset vector's, then this one
    EXPECT_EQ(vmm.census.windows()[1].first.eip, 0xE020u);
    EXPECT_EQ(vmm.debug_exit_value, 0x1234u);
}

// VT-x refusing a state transit86's checks pass (a check transit86 does not make, or one KVM
// does not) must end the run and say so: handing the state to transit86 would give it back
// at once, and the loop would go round forever. Another failure reason (an MSR load, say) is
// no window at all.
TEST(PcBootOnKvmModel, AnEntryFailureOnAValidStateEndsTheRunWithItsReason) {
    SKIP_WITHOUT_SEABIOS();
    for (const uint64_t reason : {uint64_t{0x80000021}, uint64_t{0x80000022}}) {
        KvmModel model;
        model.fail_entries(1000, reason);
        PcVmmOptions options;
        options.timeout_ns = kTimeoutNs;
        const PcVmmResult vmm = run_pc(seabios_pc(false), options, model);
        ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::Unsupported)) << vmm.detail;
        EXPECT_NE(vmm.detail.find(fmt::format("VM entry failed (hardware reason {:#x})", reason)),
                  std::string::npos)
            << vmm.detail;
        EXPECT_LE(vmm.to_transit86, 1u); // the reset vector's window, no more
    }
}

// ---- /dev/kvm: host time; what does not depend on it.

// The serial output up to the end of the first `marker` (both runs stop soon after it, not
// at the same byte).
std::string up_to(const std::string& serial, const std::string& marker) {
    const size_t at = serial.find(marker);
    return at == std::string::npos ? serial : serial.substr(0, at + marker.size());
}

// Single-stepped everywhere: the console's text, and the same window shapes as transit86 boot
// (how often each repeats depends on how often SeaBIOS's polling loops turn).
TEST(PcBootOnKvm, SeabiosSteppedEverywhereHasTheWindowShapesOfTransit86Boot) {
    SKIP_WITHOUT_SEABIOS();
    SKIP_WITHOUT_KVM();
    const ReferenceBoot reference = boot_on_transit86(false, kNoBootableDevice);
    PcVmmOptions options;
    options.step_everything = true;
    options.stop_at_console = kNoBootableDevice;
    options.timeout_ns = kTimeoutNs;
    const PcVmmResult vmm = run_pc(seabios_pc(false), options);
    ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::ConsoleText)) << vmm.detail;
    EXPECT_FALSE(vmm.instruction_clock);
    EXPECT_EQ(text_lines(up_to(vmm.serial, kNoBootableDevice)),
              text_lines(up_to(reference.serial, kNoBootableDevice)));
    std::set<std::string> expected, seen;
    for (const transit86::CensusWindow& w : reference.windows)
        if (!stopped_inside(w)) expected.insert(shape(w));
    for (const transit86::CensusWindow& w : vmm.census.windows())
        if (!stopped_inside(w)) seen.insert(shape(w));
    EXPECT_TRUE(seen == expected) << "transit86 boot:\n"
                                  << census_text(reference.windows) << "kvm-vmm --pc:\n"
                                  << census_text(vmm.census.windows());
}

// The default mode to GRUB's power-off: GRUB's own output byte for byte, SeaBIOS's as text
// lines (its serial console flushes on a timer: src/sercon.c, sercon_lazy_flush, so the last
// characters before GRUB takes over may come later or not at all); each window seen ends as
// one of transit86 boot's, and each seen begin is one of its shapes.
TEST(PcBootOnKvm, GrubConsoleEqualsTransit86BootAndEachWindowSeenEndsAsThere) {
    SKIP_WITHOUT_SEABIOS();
    SKIP_WITHOUT_GRUB_DISK();
    SKIP_WITHOUT_KVM();
    const ReferenceBoot reference = boot_on_transit86(true, "");
    PcVmmOptions options;
    options.timeout_ns = kTimeoutNs;
    std::string log;
    options.log = [&](std::string_view line) {
        if (log.size() < 20'000) (log += line) += '\n';
    };
    const PcVmmResult vmm = run_pc(seabios_pc(true), options);
    SCOPED_TRACE("hand-overs (kvm-vmm --pc --verbose):\n" + log);
    ASSERT_STREQ(to_string(vmm.end), to_string(PcEnd::PowerOff)) << vmm.detail;
    const std::string grub_output = "transit86-grub-marker";
    const size_t vmm_grub = vmm.serial.find(grub_output);
    const size_t reference_grub = reference.serial.find(grub_output);
    ASSERT_NE(vmm_grub, std::string::npos) << vmm.serial;
    EXPECT_EQ(vmm.serial.substr(vmm_grub), reference.serial.substr(reference_grub));
    const std::vector<std::string> bios = text_lines(vmm.serial.substr(0, vmm_grub));
    const std::vector<std::string> bios_reference =
        text_lines(reference.serial.substr(0, reference_grub));
    ASSERT_EQ(bios.size(), bios_reference.size()) << vmm.serial << "\n" << reference.serial;
    for (size_t i = 0; i + 1 < bios.size(); ++i)
        EXPECT_EQ(bios[i], bios_reference[i]);

    std::set<std::string> shapes;
    std::set<std::pair<std::string, std::string>> ends;
    for (const transit86::CensusWindow& w : reference.windows) {
        shapes.insert(shape(w));
        ends.emplace(where(w.last), w.ended_by);
    }
    for (size_t i = 0; i < vmm.census.windows().size(); ++i) {
        const transit86::CensusWindow& w = vmm.census.windows()[i];
        EXPECT_EQ(ends.count({where(w.last), w.ended_by}), 1u) << transit86::format_window(w);
        if (vmm.window_starts[i] != WindowStart::KvmExit) {
            EXPECT_EQ(shapes.count(shape(w)), 1u) << transit86::format_window(w);
        }
    }
    EXPECT_LE(vmm.to_transit86 - vmm.to_kvm, 1u);
}

// ---- Memory regions.

// Every memory map the PC's PAM registers can give is a list of valid KVM memory regions
// (page-aligned guest address, size and host address, no overlap: virt/kvm/kvm_main.c
// __kvm_set_memory_region), driven through the i440FX's configuration ports (0xCF8/0xCFC,
// PAM0-PAM6 at 0x59-0x5F: QEMU hw/pci-host/i440fx.c).
TEST(PcMemoryRegions, EveryPamSettingGivesPageAlignedSlotsKvmAccepts) {
    pc::PcConfig config;
    config.bios.assign(128 * 1024, 0x90);
    pc::PcPlatform platform(std::move(config));
    const auto out = [&](uint16_t port, uint8_t size, uint32_t data) {
        transit86::PortAccess a{.port = port, .size = size, .is_in = false, .data = data};
        platform.access(a);
    };
    KvmModel model; // checks the regions as KVM_SET_USER_MEMORY_REGION does
    for (uint32_t pattern = 0; pattern < 16; ++pattern) {
        for (uint8_t reg = 0x59; reg <= 0x5F; ++reg) {
            const uint32_t low = (pattern + reg) & 3, high = (pattern >> 2) & 3;
            out(0xCF8, 4, 0x80000000u | (reg & 0xFCu)); // bus 0, device 0, function 0
            out(static_cast<uint16_t>(0xCFC + (reg & 3)), 1, low | high << 4);
        }
        const std::span<const transit86::RamSlot> slots = platform.slots();
        ASSERT_FALSE(slots.empty());
        EXPECT_NO_THROW(model.set_memory(slots)) << "PAM pattern " << pattern;
        for (const transit86::RamSlot& s : slots)
            EXPECT_EQ(reinterpret_cast<uintptr_t>(s.host) % 4096, 0u)
                << "slot at " << std::hex << s.guest_phys << ", PAM pattern " << pattern;
    }
}

} // namespace
} // namespace kvm_vmm
