// Reading a pasted register dump: prefixes, wrapped lines, format detection, and the checks
// that there is something to judge. The formats themselves are in explain_vmcs_dump.cpp and
// explain_qemu_dump.cpp.
#include "tools/explain/explain_dump.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <regex>

namespace transit86::tools::explain {
namespace {

struct FieldNames {
    std::string_view name;
    std::string_view key;
};

constexpr std::array<FieldNames, kNumFields> kFieldNames = {{
    {"ES", "es"},
    {"CS", "cs"},
    {"SS", "ss"},
    {"DS", "ds"},
    {"FS", "fs"},
    {"GS", "gs"},
    {"LDTR", "ldtr"},
    {"TR", "tr"},
    {"GDTR", "gdtr"},
    {"IDTR", "idtr"},
    {"CR0", "cr0"},
    {"CR0 (VMCS)", "cr0_vmcs"},
    {"CR3", "cr3"},
    {"CR4", "cr4"},
    {"CR4 (VMCS)", "cr4_vmcs"},
    {"RFLAGS", "rflags"},
    {"RIP", "rip"},
    {"RSP", "rsp"},
    {"DR7", "dr7"},
    {"EFER", "efer"},
    {"PAT", "pat"},
    {"SYSENTER MSRs", "sysenter"},
    {"interruptibility state", "interruptibility"},
    {"activity state", "activity"},
    {"pending debug exceptions", "pending_debug"},
    {"IA32_DEBUGCTL", "debugctl"},
    {"VM-entry interruption information", "entry_intr_info"},
    {"VM-entry exception error code", "entry_error_code"},
    {"VM-entry instruction length", "entry_instr_len"},
    {"pin-based controls", "pin_based"},
    {"processor-based controls", "cpu_based"},
    {"secondary processor-based controls", "secondary_exec"},
    {"VM-entry controls", "entry_controls"},
    {"segments as the VMCS held them (KVM converts real mode without unrestricted guest)",
     "segments_vmcs"},
    {"the host's IA32_VMX_CR4_FIXED1 (--cr4-fixed1)", "host_cr4_fixed1"},
    {"the host's MAXPHYADDR (--maxphyaddr)", "host_maxphyaddr"},
}};

bool is_space(char c) noexcept {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// Removes one leading prefix if present; true when something was removed.
bool strip_one(std::string& line) {
    // Mail and Markdown quoting.
    if (!line.empty() && line.front() == '>') {
        line.erase(0, 1);
        return true;
    }
    // syslog: "Sep  8 22:52:20 host kernel: " (and journalctl's "... host kernel: ").
    static const std::regex syslog(R"(^(\S+\s+){1,4}?\S+\s+kernel:\s?)");
    static const std::regex month(R"(^[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d\s)");
    static const std::regex iso(R"(^\d{4}-\d\d-\d\dT\S+\s)");
    std::smatch m;
    if ((std::regex_search(line, month) || std::regex_search(line, iso)) &&
        std::regex_search(line, m, syslog)) {
        line.erase(0, static_cast<std::size_t>(m.length(0)));
        return true;
    }
    // dmesg timestamp "[12345.678901] ", optionally followed by a caller id "[T123]".
    static const std::regex stamp(R"(^\[\s*\d+\.\d+\]\s?(\[\s*[TC]\d+\]\s?)?)");
    // Xen's console prefix, with or without its own timestamp.
    static const std::regex xen(R"(^\(XEN\)\s?(\[[^\]]*\]\s?)?)");
    // Kernel module prefixes dump_vmcs gets through pr_fmt.
    static const std::regex module(R"(^(kvm_intel|kvm-intel|kvm):\s)");
    for (const std::regex* re : {&stamp, &xen, &module}) {
        if (std::regex_search(line, m, *re)) {
            line.erase(0, static_cast<std::size_t>(m.length(0)));
            return true;
        }
    }
    // Leading blanks (markdown indentation).
    if (!line.empty() && is_space(line.front())) {
        line.erase(0, line.find_first_not_of(" \t"));
        return true;
    }
    return false;
}

// The one-line reason a dump with a recognised format still cannot be judged.
std::string nothing_to_judge(const Dump& dump) {
    std::string what = "no guest segment registers (ES, CS, SS, DS, FS, GS) found in the dump";
    if (!dump.known.contains(Field::Cr0) && !dump.known.contains(Field::Rflags))
        return what + ", and no CR0 or RFLAGS: nothing to judge";
    return what + (dump.known.contains(Field::Cr0) ? ", and no RFLAGS" : ", and no CR0") +
           ": cannot tell the guest's mode";
}

} // namespace

std::string_view to_string(DumpFormat format) noexcept {
    switch (format) {
    case DumpFormat::KvmIntel: return "kvm_intel";
    case DumpFormat::Xen: return "xen";
    case DumpFormat::Qemu: return "qemu";
    }
    return "?";
}

std::string_view describe(DumpFormat format) noexcept {
    switch (format) {
    case DumpFormat::KvmIntel: return "Linux kvm_intel VMCS dump (dump_vmcs)";
    case DumpFormat::Xen: return "Xen VMCS dump (vmcs_dump_vcpu)";
    case DumpFormat::Qemu: return "QEMU register dump (info registers / KVM failure)";
    }
    return "?";
}

std::string_view field_name(Field field) noexcept {
    return kFieldNames[static_cast<std::size_t>(field)].name;
}

std::string_view field_key(Field field) noexcept {
    return kFieldNames[static_cast<std::size_t>(field)].key;
}

std::vector<Field> FieldSet::list() const {
    std::vector<Field> out;
    for (int i = 0; i < kNumFields; ++i)
        if (contains(static_cast<Field>(i))) out.push_back(static_cast<Field>(i));
    return out;
}

namespace detail {

std::string strip_log_prefix(std::string_view text) {
    std::string line(text);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
        line.pop_back();
    for (int guard = 0; guard < 16 && strip_one(line); ++guard) {
    }
    return line;
}

std::vector<std::string> normalise_lines(std::string_view text) {
    std::vector<std::string> lines;
    bool join_next = false;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view raw = text.substr(pos, end - pos);
        pos = end + 1;
        if (trim(raw).starts_with('#')) continue; // our own header comments
        std::string line = strip_log_prefix(raw);
        if (trim(line).empty()) {
            join_next = false;
            continue;
        }
        // A mail client wrapped "CR0: actual=0x...," before "shadow=...": rejoin.
        if (join_next && !lines.empty())
            lines.back() += " " + std::string(trim(line));
        else
            lines.push_back(line);
        join_next = trim(lines.back()).ends_with(',');
    }
    return lines;
}

std::optional<uint64_t> parse_hex(std::string_view text) noexcept {
    text = trim(text);
    if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
    if (text.empty() || text.size() > 16) return std::nullopt;
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

Field segment_field(Seg seg) noexcept {
    return static_cast<Field>(static_cast<int>(Field::Es) + static_cast<int>(seg));
}

void set_segment(Dump& dump, Field field, const SegmentCache& seg) {
    switch (field) {
    case Field::Ldtr: dump.state.ldtr = seg; break;
    case Field::Tr: dump.state.tr = seg; break;
    default:
        dump.state
            .seg[static_cast<std::size_t>(static_cast<int>(field) - static_cast<int>(Field::Es))] =
            seg;
    }
    dump.known.insert(field);
}

} // namespace detail

Dump parse_dump(std::string_view text) {
    const std::vector<std::string> lines = detail::normalise_lines(text);
    if (lines.empty()) throw DumpError("the input is empty: no register dump to explain");

    bool xen = false;
    const int vmcs = detail::vmcs_score(lines, xen);
    const int qemu = detail::qemu_score(lines);
    if (vmcs == 0 && qemu == 0)
        throw DumpError("no register dump found (expected a kvm_intel or Xen VMCS dump, or a "
                        "QEMU register dump)");

    Dump dump;
    if (vmcs >= qemu) {
        dump.format = xen ? DumpFormat::Xen : DumpFormat::KvmIntel;
        detail::parse_vmcs_lines(lines, dump);
        if (qemu > 0)
            dump.notes.push_back("QEMU register lines in the same text were ignored; explain "
                                 "them separately");
    } else {
        dump.format = DumpFormat::Qemu;
        detail::parse_qemu_lines(lines, dump);
        if (vmcs > 0)
            dump.notes.push_back("VMCS dump lines in the same text were ignored; explain them "
                                 "separately");
    }

    static constexpr FieldSet kSegments = {Field::Es, Field::Cs, Field::Ss,
                                           Field::Ds, Field::Fs, Field::Gs};
    const bool any_segment = kSegments.missing_from(dump.known) != kSegments;
    const bool mode_known = dump.known.contains(Field::Cr0) && dump.known.contains(Field::Rflags);
    if (!any_segment && !mode_known) throw DumpError(nothing_to_judge(dump));
    return dump;
}

} // namespace transit86::tools::explain
