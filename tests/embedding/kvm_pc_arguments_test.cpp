// `kvm-vmm --pc`'s command line (examples/kvm-vmm/pc_arguments.hpp): the defaults and ranges
// of `transit86 boot`'s options for the same machine (tools/cli_options.cpp), the VMM's own
// flags, and one line for each way a command line can be wrong.
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "pc_arguments.hpp"

namespace kvm_vmm {
namespace {

PcArgumentsOrError parse(std::initializer_list<const char*> words) {
    const std::vector<const char*> list(words);
    return parse_pc_arguments(list);
}

TEST(PcArguments, DefaultsAreTransit86BootsMachine) {
    const PcArgumentsOrError parsed = parse({"--pc"});
    ASSERT_TRUE(parsed.arguments) << parsed.error;
    const PcArguments& a = *parsed.arguments;
    EXPECT_EQ(a.machine.bios, "/usr/share/seabios/bios.bin");
    EXPECT_EQ(a.machine.disk, "");
    EXPECT_EQ(a.machine.cdrom, "");
    EXPECT_EQ(a.machine.floppy, "");
    EXPECT_EQ(a.machine.memory_mib, 128u);
    EXPECT_EQ(a.until, "");
    EXPECT_EQ(a.timeout_seconds, 600u);
    EXPECT_FALSE(a.step_everything);
    EXPECT_TRUE(a.debugcon);
    EXPECT_FALSE(a.verbose);
}

TEST(PcArguments, EveryOptionIsTaken) {
    const PcArgumentsOrError parsed = parse({"--bios",
                                             "b.bin",
                                             "--disk",
                                             "d.img",
                                             "--cdrom",
                                             "c.iso",
                                             "--floppy",
                                             "a.img",
                                             "--memory",
                                             "3072",
                                             "--until",
                                             "GRUB",
                                             "--timeout",
                                             "0",
                                             "--pc",
                                             "--step-all",
                                             "--no-debugcon",
                                             "--verbose",
                                             "--boot",
                                             "dca",
                                             "--kernel",
                                             "k",
                                             "--initrd",
                                             "i",
                                             "--append",
                                             "console=ttyS0",
                                             "--linuxboot-rom",
                                             "l.bin",
                                             "--multiboot-rom",
                                             "m.bin",
                                             "--rtc-base",
                                             "2030-01-02"});
    ASSERT_TRUE(parsed.arguments) << parsed.error;
    const PcArguments& a = *parsed.arguments;
    EXPECT_EQ(a.machine.bios, "b.bin");
    EXPECT_EQ(a.machine.disk, "d.img");
    EXPECT_EQ(a.machine.cdrom, "c.iso");
    EXPECT_EQ(a.machine.floppy, "a.img");
    EXPECT_EQ(a.machine.memory_mib, 3072u);
    EXPECT_EQ(a.machine.boot_order, "dca");
    EXPECT_EQ(a.machine.kernel, "k");
    EXPECT_EQ(a.machine.initrd, "i");
    EXPECT_EQ(a.machine.append, "console=ttyS0");
    EXPECT_EQ(a.machine.linuxboot_rom, "l.bin");
    EXPECT_EQ(a.machine.multiboot_rom, "m.bin");
    EXPECT_EQ(a.machine.rtc_base, "2030-01-02");
    EXPECT_EQ(a.until, "GRUB");
    EXPECT_EQ(a.timeout_seconds, 0u);
    EXPECT_TRUE(a.step_everything);
    EXPECT_FALSE(a.debugcon);
    EXPECT_TRUE(a.verbose);
}

// --expect/--send as transit86 boot reads them (pc/console_script.hpp): in order, escapes
// decoded, the same one-line errors.
TEST(PcArguments, ExpectAndSendMakeTheConsoleScriptInOrder) {
    const PcArgumentsOrError parsed =
        parse({"--send", "a", "--expect", "grub> ", "--send", "c\\r", "--until", "x"});
    ASSERT_TRUE(parsed.arguments) << parsed.error;
    const std::vector<transit86::pc::ConsoleStep>& steps = parsed.arguments->input;
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].expect, "");
    EXPECT_EQ(steps[0].send, "a");
    EXPECT_EQ(steps[1].expect, "grub> ");
    EXPECT_EQ(steps[1].send, "c\r");
    EXPECT_EQ(parse({"--expect", "grub> "}).error, "--expect \"grub> \" has no --send after it");
    EXPECT_EQ(parse({"--send", "\\q"}).error,
              "--send \"\\q\": unknown escape \"\\q\" (\\r \\n \\t \\b \\e \\xHH \\\\)");
    EXPECT_EQ(parse({"--pc", "--send"}).error, "--send needs a value");
    EXPECT_EQ(parse({"--send-gap", "0"}).arguments->send_gap_ms, 0u);
    EXPECT_EQ(parse({}).arguments->send_gap_ms, 5u); // transit86 boot's default
    EXPECT_EQ(parse({"--send-gap", "60001"}).error,
              "--send-gap wants a whole number of milliseconds up to 60000, not \"60001\"");
}

// transit86 boot's rules: --boot letters c, a, d each at most once; --initrd and --append only
// with --kernel.
TEST(PcArguments, BootOrderAndKernelOptionsFollowTransit86Boot) {
    EXPECT_EQ(parse({"--boot", "cac"}).error,
              "--boot: c (the disk), a (the floppy) and d (the CD-ROM), each at most once, not "
              "\"cac\"");
    EXPECT_EQ(parse({"--initrd", "i"}).error, "--initrd needs --kernel");
    EXPECT_EQ(parse({"--append", "x"}).error, "--append needs --kernel");
}

// transit86 boot: --memory is checked with CLI::Range(2, 3072).
TEST(PcArguments, MemoryIsAWholeNumberFrom2To3072) {
    EXPECT_TRUE(parse({"--memory", "2"}).arguments);
    for (const char* bad : {"1", "3073", "0", "-5", "12x", "", "0x80", "99999999999999999999"}) {
        const PcArgumentsOrError parsed = parse({"--memory", bad});
        EXPECT_FALSE(parsed.arguments) << bad;
        EXPECT_NE(parsed.error.find("--memory"), std::string::npos) << parsed.error;
    }
}

TEST(PcArguments, TimeoutIsAWholeNumberOfSecondsThatFitsInNanoseconds) {
    EXPECT_EQ(parse({"--timeout", "18446744073"}).arguments->timeout_seconds, 18446744073u);
    for (const char* bad : {"18446744074", "1.5", "x", ""})
        EXPECT_FALSE(parse({"--timeout", bad}).arguments) << bad;
}

TEST(PcArguments, AnOptionWithoutItsValueIsAnError) {
    for (const char* option : {"--bios", "--disk", "--cdrom", "--memory", "--until", "--timeout"}) {
        const PcArgumentsOrError parsed = parse({"--pc", option});
        EXPECT_FALSE(parsed.arguments) << option;
        EXPECT_EQ(parsed.error, std::string(option) + " needs a value");
    }
}

TEST(PcArguments, AnUnknownWordIsAnErrorNamingIt) {
    for (const char* word : {"--kvm-only", "image.bin", "--Memory"}) {
        const PcArgumentsOrError parsed = parse({"--pc", word});
        EXPECT_FALSE(parsed.arguments) << word;
        EXPECT_EQ(parsed.error, "unknown argument \"" + std::string(word) + "\"");
    }
}

} // namespace
} // namespace kvm_vmm
