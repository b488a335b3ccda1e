// examples/kvm-vmm's PC mode (pc_vmm.hpp) against `transit86 boot` (tools/boot BootMachine):
// the same PC — Debian's SeaBIOS, GRUB's disk, pc/'s devices — booted by the example's loop,
// with a KVM vCPU for the valid stretches and transit86 for the windows, and by transit86
// alone from the same reset state (KVM's). The console must be the same. The census must end
// every window the VMM saw where `transit86 boot` ends one, and where the VMM saw a window
// begin (single-stepped code, the reset) it must begin there too; single-stepping everything,
// the VMM must list exactly the windows `transit86 boot` lists (pc_vmm.hpp says why a free
// KVM run sees a window late or not at all).
//
// Two processors run the loop: /dev/kvm (the tests skip where it cannot be opened) and
// KvmModel, a transit86 Emulator behaving as KVM with unrestricted guest, so that the loop —
// exits, completion, injection, HLT, memory regions — is tested on every machine.
#include <gtest/gtest.h>

#include <boot_files.hpp>

#include <compare>
#include <fstream>
#include <iterator>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "kvm_model.hpp"
#include "kvm_vm.hpp"
#include "pc/block_backend.hpp"
#include "pc/platform.hpp"
#include "pc_vmm.hpp"
#include "tools/boot/boot_machine.hpp"
#include "transit86/census.hpp"

namespace kvm_vmm {
namespace {

namespace files = transit86::boot_files;
namespace pc = transit86::pc;

constexpr uint64_t kTimeoutNs = 300'000'000'000; // virtual time, either side

std::vector<uint8_t> read_file(std::string_view path) {
    std::ifstream in{std::string(path), std::ios::binary};
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The PC of `transit86 boot --bios seabios [--disk grub-echo.img]`.
pc::PcConfig seabios_pc(bool with_grub_disk) {
    std::unique_ptr<pc::BlockBackend> disk;
    if (with_grub_disk) disk = pc::open_image_file(std::string(files::grub_echo_img)).backend;
    return pc_config(read_file(files::seabios_bin), std::move(disk), 128);
}

// An instruction as the census text names it, without its number (the two runs count
// differently).
std::string where(const transit86::InstructionRef& i) {
    const std::string text = transit86::format_instruction(i);
    return text.substr(text.find(' ') + 1);
}

struct WindowSignature {
    std::string first, last, failing, ended_by;
    friend auto operator<=>(const WindowSignature&, const WindowSignature&) = default;
};

WindowSignature signature(const transit86::CensusWindow& w) {
    std::string failing;
    for (const std::string& id : w.failing)
        failing += id + " ";
    return {where(w.first), where(w.last), failing, w.ended_by};
}

bool stopped_inside(const transit86::CensusWindow& w) {
    return w.ended_by.rfind("stopped", 0) == 0;
}

// The reference: transit86 alone, from KVM's reset state, under the kvm profile.
struct ReferenceBoot {
    std::string serial;
    std::vector<transit86::CensusWindow> windows;
    transit86::tools::BootEnd end;
};

ReferenceBoot boot_on_transit86(bool with_grub_disk, const std::string& until) {
    transit86::tools::BootMachine machine(seabios_pc(with_grub_disk), transit86::ResetPreset::Kvm,
                                          transit86::vmx::Profile::Kvm);
    ReferenceBoot boot;
    machine.on_serial = [&](const std::string& s) { boot.serial += s; };
    boot.end = machine.run({.stop_at_console = until, .timeout_ns = kTimeoutNs});
    boot.windows = machine.census().windows();
    return boot;
}

// The serial output up to the end of the first `marker` (both runs stop soon after it, not
// at the same byte).
std::string up_to(const std::string& serial, const std::string& marker) {
    const size_t at = serial.find(marker);
    return at == std::string::npos ? serial : serial.substr(0, at + marker.size());
}

// The console as text lines: terminal escape sequences (ESC [ ... final byte), carriage
// returns and other control characters left out, empty lines dropped. SeaBIOS's serial
// console moves the cursor lazily (src/sercon.c, sercon_lazy_cursor_sync: CR LF or a cursor
// position sequence, whichever its timer-driven flush finds), so only the text is the same.
std::vector<std::string> text_lines(const std::string& serial) {
    std::vector<std::string> lines(1);
    for (size_t i = 0; i < serial.size(); ++i) {
        const auto byte = static_cast<unsigned char>(serial[i]);
        if (byte == 0x1B && i + 1 < serial.size() && serial[i + 1] == '[') {
            for (i += 2; i < serial.size() && (serial[i] < 0x40 || serial[i] > 0x7E); ++i) {
            }
        } else if (byte == '\n') {
            if (!lines.back().empty()) lines.emplace_back();
        } else if (byte == '\t' || (byte >= 0x20 && byte != 0x7F)) {
            lines.back().push_back(serial[i]);
        }
    }
    if (lines.back().empty()) lines.pop_back();
    return lines;
}

std::string census_text(const std::vector<transit86::CensusWindow>& windows, size_t limit) {
    std::string text;
    for (size_t i = 0; i < windows.size() && i < limit; ++i)
        text += transit86::format_window(windows[i]);
    return text;
}

enum class Processor { KvmModel, Kvm };
void PrintTo(Processor p, std::ostream* out) {
    *out << (p == Processor::Kvm ? "/dev/kvm" : "KvmModel");
}

class PcBootOnKvm : public ::testing::TestWithParam<Processor> {
  protected:
    void SetUp() override {
        if (!files::seabios_skip_reason.empty()) GTEST_SKIP() << files::seabios_skip_reason;
        if (GetParam() == Processor::Kvm) {
            if (auto why = KvmVm::unavailable_reason()) GTEST_SKIP() << *why;
        }
    }

    PcVmmResult boot(bool with_grub_disk, PcVmmOptions options) {
        options.timeout_ns = kTimeoutNs;
        options.log = [this](std::string_view line) {
            if (log_.size() < 200'000) (log_ += line) += '\n';
        };
        if (GetParam() == Processor::Kvm) return run_pc(seabios_pc(with_grub_disk), options);
        KvmModel model;
        return run_pc(seabios_pc(with_grub_disk), options, model);
    }

    std::string log_; // hand-overs, for a failure's message
};

// Every instruction boundary checked (KVM single-stepped everywhere): each window begins,
// fails, and ends where `transit86 boot` has it. The number of windows depends on how often
// SeaBIOS's polling loops turn (host time on one side, instructions on the other), so the
// distinct windows are compared.
TEST_P(PcBootOnKvm, SeabiosSteppedEverywhereListsTheWindowsOfTransit86Boot) {
    const std::string marker = "No bootable device";
    const ReferenceBoot reference = boot_on_transit86(false, marker);
    ASSERT_EQ(reference.end.kind, transit86::tools::BootEnd::Kind::ConsoleText)
        << reference.end.detail;
    PcVmmOptions options;
    options.step_everything = true;
    options.stop_at_console = marker;
    const PcVmmResult kvm = boot(false, options);
    ASSERT_STREQ(to_string(kvm.end), to_string(PcEnd::ConsoleText)) << kvm.detail;
    EXPECT_EQ(text_lines(up_to(kvm.serial, marker)), text_lines(up_to(reference.serial, marker)));

    std::set<WindowSignature> expected, seen;
    for (const transit86::CensusWindow& w : reference.windows)
        if (!stopped_inside(w)) expected.insert(signature(w));
    for (const transit86::CensusWindow& w : kvm.census.windows())
        if (!stopped_inside(w)) seen.insert(signature(w));
    EXPECT_EQ(seen.size(), expected.size());
    EXPECT_TRUE(seen == expected) << "transit86 boot:\n"
                                  << census_text(reference.windows, 60) << "kvm-vmm --pc:\n"
                                  << census_text(kvm.census.windows(), 60);
    for (const WindowStart start : kvm.window_starts)
        EXPECT_NE(start, WindowStart::KvmExit) << "a window opened inside a KVM run";
}

// The default mode (free KVM runs in 32-bit protected mode) to GRUB's ACPI power-off: the
// same console; every window the VMM saw ends as one of transit86 boot's, and those it saw
// begin (single-stepped real mode: GRUB's real_to_prot; the reset) begin as there.
TEST_P(PcBootOnKvm, GrubConsoleEqualsTransit86BootAndEachWindowSeenEndsAsThere) {
    if (!files::grub_echo_skip_reason.empty()) GTEST_SKIP() << files::grub_echo_skip_reason;
    const ReferenceBoot reference = boot_on_transit86(true, "");
    ASSERT_EQ(reference.end.kind, transit86::tools::BootEnd::Kind::PowerOff)
        << reference.end.detail;
    const PcVmmResult kvm = boot(true, {});
    SCOPED_TRACE("hand-overs (kvm-vmm --pc --verbose):\n" + log_.substr(0, 20'000));
    ASSERT_STREQ(to_string(kvm.end), to_string(PcEnd::PowerOff)) << kvm.detail;
    // GRUB's own output (its serial terminal, from grub.cfg's first echo on) is the same byte
    // for byte. Before it, SeaBIOS's console (INT 10h text) holds the last character back
    // until its next flush (src/sercon.c, sercon_char and sercon_lazy_flush, run from its
    // timer-driven event check): whether "Welcome to GRUB!"'s "!" reached the UART before GRUB
    // took it over depends on time, so the last line before GRUB's may be cut short on either
    // side.
    const std::string grub_output = "transit86-grub-marker";
    const size_t kvm_grub = kvm.serial.find(grub_output);
    const size_t reference_grub = reference.serial.find(grub_output);
    ASSERT_NE(kvm_grub, std::string::npos) << kvm.serial;
    ASSERT_NE(reference_grub, std::string::npos) << reference.serial;
    EXPECT_EQ(kvm.serial.substr(kvm_grub), reference.serial.substr(reference_grub));
    const std::vector<std::string> bios = text_lines(kvm.serial.substr(0, kvm_grub));
    const std::vector<std::string> bios_reference =
        text_lines(reference.serial.substr(0, reference_grub));
    ASSERT_EQ(bios.size(), bios_reference.size()) << kvm.serial << "\n" << reference.serial;
    for (size_t i = 0; i + 1 < bios.size(); ++i)
        EXPECT_EQ(bios[i], bios_reference[i]);
    if (!bios.empty()) {
        const std::string &a = bios.back(), &b = bios_reference.back();
        EXPECT_TRUE(a.rfind(b, 0) == 0 || b.rfind(a, 0) == 0) << a << "\n" << b;
    }

    std::set<WindowSignature> expected;
    std::set<std::pair<std::string, std::string>> expected_ends;
    for (const transit86::CensusWindow& w : reference.windows) {
        expected.insert(signature(w));
        expected_ends.emplace(where(w.last), w.ended_by);
    }
    const std::vector<transit86::CensusWindow>& windows = kvm.census.windows();
    ASSERT_EQ(windows.size(), kvm.window_starts.size());
    size_t seen_beginning = 0;
    for (size_t i = 0; i < windows.size(); ++i) {
        const transit86::CensusWindow& w = windows[i];
        EXPECT_TRUE(expected_ends.count({where(w.last), w.ended_by}) == 1)
            << "window " << w.number << " ends where no window of transit86 boot does:\n"
            << transit86::format_window(w);
        if (kvm.window_starts[i] == WindowStart::SingleStep ||
            kvm.window_starts[i] == WindowStart::Reset) {
            ++seen_beginning;
            EXPECT_TRUE(expected.count(signature(w)) == 1)
                << "window " << w.number << " (" << to_string(kvm.window_starts[i])
                << ") is not one of transit86 boot's:\n"
                << transit86::format_window(w);
        }
    }
    // The reset vector (CS.base FFFF0000 is not 16 * F000) and GRUB's real_to_prot.
    EXPECT_GE(seen_beginning, 2u);
    EXPECT_GT(kvm.emulated_instructions, 0u);
    EXPECT_LE(kvm.to_transit86 - kvm.to_kvm, 1u); // back to KVM after each, but maybe the last
}

INSTANTIATE_TEST_SUITE_P(Processors, PcBootOnKvm,
                         ::testing::Values(Processor::KvmModel, Processor::Kvm),
                         [](const ::testing::TestParamInfo<Processor>& p) {
                             return p.param == Processor::Kvm ? "Kvm" : "KvmModel";
                         });

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
