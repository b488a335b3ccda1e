#include "pc_arguments.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <stdexcept>
#include <string_view>

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

} // namespace

PcArgumentsOrError parse_pc_arguments(std::span<const char* const> arguments) {
    PcArguments a;
    transit86::pc::ConsoleScriptBuilder script;
    for (size_t i = 0; i < arguments.size(); ++i) {
        const std::string_view word = arguments[i];
        static constexpr std::string_view kValued[] = {
            "--bios",          "--disk",   "--cdrom",  "--floppy",  "--boot",    "--kernel",
            "--initrd",        "--append", "--memory", "--until",   "--timeout", "--linuxboot-rom",
            "--multiboot-rom", "--expect", "--send",   "--send-gap"};
        const bool takes_value =
            std::find(std::begin(kValued), std::end(kValued), word) != std::end(kValued);
        if (takes_value && i + 1 == arguments.size())
            return failure(std::string(word) + " needs a value");
        const std::string_view value = takes_value ? arguments[++i] : std::string_view();
        if (word == "--pc") {
            continue;
        } else if (word == "--bios") {
            a.machine.bios = value;
        } else if (word == "--disk") {
            a.machine.disk = value;
        } else if (word == "--cdrom") {
            a.machine.cdrom = value;
        } else if (word == "--floppy") {
            a.machine.floppy = value;
        } else if (word == "--boot") {
            if (const std::optional<std::string> error = transit86::pc::boot_order_error(value))
                return failure("--boot: " + *error);
            a.machine.boot_order = value;
        } else if (word == "--kernel") {
            a.machine.kernel = value;
        } else if (word == "--initrd") {
            a.machine.initrd = value;
        } else if (word == "--append") {
            a.machine.append = value;
        } else if (word == "--linuxboot-rom") {
            a.machine.linuxboot_rom = value;
        } else if (word == "--multiboot-rom") {
            a.machine.multiboot_rom = value;
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
