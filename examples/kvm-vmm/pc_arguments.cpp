#include "pc_arguments.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace kvm_vmm {

namespace {

// A whole decimal number, nothing before or after it.
std::optional<uint64_t> whole_number(std::string_view text) {
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

PcArgumentsOrError failure(std::string what) {
    return {.arguments = std::nullopt, .error = std::move(what)};
}

// The options that name a file or hold text of the machine, taken as given (pc/machine_files
// reads and checks them).
using MachineText = std::string transit86::pc::MachineFiles::*;
constexpr std::pair<std::string_view, MachineText> kMachineText[] = {
    {"--bios", &transit86::pc::MachineFiles::bios},
    {"--disk", &transit86::pc::MachineFiles::disk},
    {"--cdrom", &transit86::pc::MachineFiles::cdrom},
    {"--floppy", &transit86::pc::MachineFiles::floppy},
    {"--kernel", &transit86::pc::MachineFiles::kernel},
    {"--initrd", &transit86::pc::MachineFiles::initrd},
    {"--append", &transit86::pc::MachineFiles::append},
    {"--linuxboot-rom", &transit86::pc::MachineFiles::linuxboot_rom},
    {"--multiboot-rom", &transit86::pc::MachineFiles::multiboot_rom},
    {"--rtc-base", &transit86::pc::MachineFiles::rtc_base}};
// The other options with a value.
constexpr std::string_view kValued[] = {"--boot",   "--memory", "--until",   "--timeout",
                                        "--expect", "--send",   "--send-gap"};

} // namespace

PcArgumentsOrError parse_pc_arguments(std::span<const char* const> arguments) {
    PcArguments a;
    transit86::pc::ConsoleScriptBuilder script;
    for (size_t i = 0; i < arguments.size(); ++i) {
        const std::string_view word = arguments[i];
        const auto text = std::find_if(std::begin(kMachineText), std::end(kMachineText),
                                       [&](const auto& option) { return option.first == word; });
        const bool takes_value =
            text != std::end(kMachineText) ||
            std::find(std::begin(kValued), std::end(kValued), word) != std::end(kValued);
        if (takes_value && i + 1 == arguments.size())
            return failure(std::string(word) + " needs a value");
        const std::string_view value = takes_value ? arguments[++i] : std::string_view();
        if (text != std::end(kMachineText)) {
            a.machine.*(text->second) = value;
        } else if (word == "--pc") {
            continue;
        } else if (word == "--boot") {
            if (const std::optional<std::string> error = transit86::pc::boot_order_error(value))
                return failure("--boot: " + *error);
            a.machine.boot_order = value;
        } else if (word == "--memory") {
            const std::optional<uint64_t> mib = whole_number(value);
            // The range of `transit86 boot --memory` (PcMemoryMap: 2 MiB up to the PCI hole).
            if (!mib || *mib < 2 || *mib > 3072)
                return failure("--memory wants a whole number of MiB from 2 to 3072, not \"" +
                               std::string(value) + "\"");
            a.machine.memory_mib = *mib;
        } else if (word == "--until") {
            a.until = value;
        } else if (word == "--timeout") {
            const std::optional<uint64_t> seconds = whole_number(value);
            if (!seconds || *seconds > UINT64_MAX / 1'000'000'000)
                return failure("--timeout wants a whole number of seconds, not \"" +
                               std::string(value) + "\"");
            a.timeout_seconds = *seconds;
        } else if (word == "--expect" || word == "--send") {
            try {
                if (word == "--expect")
                    script.expect(value);
                else
                    script.send(value);
            } catch (const std::invalid_argument& e) {
                return failure(e.what());
            }
        } else if (word == "--send-gap") {
            const std::optional<uint64_t> ms = whole_number(value);
            if (!ms || *ms > 60'000)
                return failure(
                    "--send-gap wants a whole number of milliseconds up to 60000, not \"" +
                    std::string(value) + "\"");
            a.send_gap_ms = *ms;
        } else if (word == "--step-all") {
            a.step_everything = true;
        } else if (word == "--no-debugcon") {
            a.debugcon = false;
        } else if (word == "--verbose") {
            a.verbose = true;
        } else {
            return failure("unknown argument \"" + std::string(word) + "\"");
        }
    }
    if (!a.machine.initrd.empty() && a.machine.kernel.empty())
        return failure("--initrd needs --kernel");
    if (!a.machine.append.empty() && a.machine.kernel.empty())
        return failure("--append needs --kernel");
    try {
        a.input = script.finish();
    } catch (const std::invalid_argument& e) {
        return failure(e.what());
    }
    return {.arguments = std::move(a), .error = {}};
}

} // namespace kvm_vmm
