// `monitor ...` (qRcmd) commands common to every target: the VM-entry verdicts, the segment
// caches and descriptor tables, KVM's fix-up model, the window watch, the history.
#include <fmt/format.h>

#include "tools/formats/state_json.hpp"
#include "tools/formats/trace_format.hpp"
#include "tools/formats/vmx_report.hpp"
#include "tools/gdb/gdb_session.hpp"
#include "tools/gdb/registers.hpp"
#include "transit86/kvm_fixup.hpp"

namespace transit86::gdb {

namespace {

constexpr std::string_view kHelp =
    "transit86 monitor commands:\n"
    "  vmx               the VM-entry verdict under kvm, sdm and unrestricted, every failing "
    "check\n"
    "  sregs             segment registers with their hidden caches, LDTR, TR, GDTR, IDTR, CRs\n"
    "  gdt [N]           the first N (default 16) GDT entries, decoded\n"
    "  idt [N]           the first N (default 16) IDT gates, or IVT vectors in real mode\n"
    "  kvm-fixup         what KVM with emulate_invalid_guest_state=0 would change\n"
    "  window-watch on|off  stop when the state turns valid or invalid for VM entry\n"
    "  history           the reverse-execution history: position, snapshots, memory\n"
    "  help              this list\n";

std::string trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n'))
        s.remove_suffix(1);
    return std::string(s);
}

// "gdt 8" -> 8; the default when absent; nullopt when not a number in 1..256.
std::optional<uint32_t> entry_count(std::string_view arg) {
    if (arg.empty()) return 16;
    uint32_t n = 0;
    for (const char c : arg) {
        if (c < '0' || c > '9' || n > 1000) return std::nullopt;
        n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    if (n == 0 || n > 256) return std::nullopt;
    return n;
}

std::string sregs(const CpuState& s) {
    std::string out =
        fmt::format("mode {}   cs:eip {:04x}:{:08x} = linear {:08x}   cpl {}\n", tools::mode_tag(s),
                    s[Seg::CS].selector, s.eip, linear_pc(s), s.cpl());
    out += "      sel  base     limit    flags\n";
    for (int i = 0; i < kNumSegs; ++i)
        out += fmt::format("{:<4}={}\n", tools::seg_name(i), tools::segment_fields(s.seg[i]));
    out += fmt::format("ldtr={}\n", tools::segment_fields(s.ldtr));
    out += fmt::format("tr  ={}\n", tools::segment_fields(s.tr));
    out += fmt::format("gdtr {:08x}:{:04x}   idtr {:08x}:{:04x}\n", s.gdtr.base, s.gdtr.limit,
                       s.idtr.base, s.idtr.limit);
    out += fmt::format("cr0 {:08x}  cr2 {:08x}  cr3 {:08x}  cr4 {:08x}  efer {:08x}\n", s.cr0,
                       s.cr2, s.cr3, s.cr4, s.efer);
    return out;
}

} // namespace

std::string GdbSession::monitor(std::string_view command) {
    const std::string text = trim(command);
    if (auto answer = target_.monitor(text)) return *answer;
    return monitor_common(text);
}

std::string GdbSession::monitor_common(std::string_view command) {
    const CpuState& s = target_.state();
    const size_t space = command.find(' ');
    const std::string_view verb = command.substr(0, space);
    const std::string arg = space == std::string_view::npos ? "" : trim(command.substr(space + 1));
    if (verb == "help" || verb.empty()) return std::string(kHelp) + target_.monitor_help();
    if (verb == "vmx") {
        std::string out;
        for (const vmx::Profile p :
             {vmx::Profile::Kvm, vmx::Profile::Sdm, vmx::Profile::Unrestricted})
            out += tools::format_violations(vmx::evaluate(s, p), p, "");
        return out;
    }
    if (verb == "sregs") return sregs(s);
    if (verb == "gdt" || verb == "idt") {
        const auto count = entry_count(arg);
        if (!count) return fmt::format("{}: the count must be 1..256\n", verb);
        const bool gdt = verb == "gdt";
        const DescriptorTableRegister& t = gdt ? s.gdtr : s.idtr;
        std::string out = fmt::format("{} base {:08x} limit {:04x}\n", verb, t.base, t.limit);
        // Real mode reads the IDTR as the IVT: 4-byte segment:offset vectors (SDM Vol. 3A 21.1.4).
        const bool ivt = !gdt && !s.protected_mode();
        const uint32_t size = ivt ? 4 : 8;
        for (uint32_t i = 0; i < *count && uint64_t{i} * size + size - 1 <= t.limit; ++i) {
            uint8_t raw[8] = {};
            // Descriptor tables are at linear addresses (SDM Vol. 3A 3.5.1).
            if (target_.read_linear(t.base + uint64_t{i} * size, std::span(raw, size)) != size) {
                out += fmt::format("  [{:#x}] outside RAM\n", i * size);
                break;
            }
            uint64_t v = 0;
            for (uint32_t b = 0; b < size; ++b)
                v |= uint64_t{raw[b]} << (8 * b);
            if (ivt)
                out += fmt::format("  vector {:#04x}  {:04x}:{:04x}\n", i, v >> 16, v & 0xFFFF);
            else
                out += fmt::format("  [{:#06x}] {:016x}  {}\n", gdt ? i * 8 : i, v,
                                   tools::describe_descriptor(v));
        }
        return out;
    }
    if (verb == "kvm-fixup") return tools::format_fixup(vmx::kvm_fixup(s), "");
    if (verb == "window-watch") {
        if (arg == "on" || arg == "off")
            exec_.set_window_watch(arg == "on");
        else if (!arg.empty())
            return "window-watch: on or off\n";
        return fmt::format("window-watch {} (profile {}; the state is {} now)\n",
                           exec_.window_watch() ? "on" : "off", vmx::to_string(target_.profile()),
                           vmx::is_valid(s, target_.profile()) ? "valid" : "invalid");
    }
    if (verb == "history") {
        const ReverseHistory& h = exec_.history();
        return fmt::format("position {} (instructions since GDB attached), history from {}\n"
                           "{} snapshots every {} instructions, {} KiB of pages and machine "
                           "state, base copy {} KiB\n",
                           exec_.position(), h.begin(), h.snapshot_count(), h.interval(),
                           h.bytes() >> 10, h.base_bytes() >> 10);
    }
    return fmt::format("unknown monitor command \"{}\"; `monitor help` lists them\n", command);
}

} // namespace transit86::gdb
