#include "tools/corpus/qemu_registers.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fmt/format.h>
#include <map>
#include <vector>

namespace transit86::tools {

namespace {

std::optional<uint64_t> hex_value(std::string_view text) {
    uint64_t value = 0;
    if (text.empty() || text.size() > 16) return std::nullopt;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    size_t at = 0;
    while (at < line.size()) {
        const size_t start = line.find_first_not_of(' ', at);
        if (start == std::string_view::npos) break;
        const size_t end = std::min(line.find(' ', start), line.size());
        out.push_back(line.substr(start, end - start));
        at = end;
    }
    return out;
}

// The text cut into "NAME=value" fields and, for the segment and table lines, the name with
// its list of hexadecimal words ("CS =f000 ffff0000 0000ffff 00009b00 ..." -> CS: f000, ...).
struct Fields {
    std::map<std::string, std::string, std::less<>> scalar;
    std::map<std::string, std::vector<std::string_view>, std::less<>> table;
};

constexpr std::array<std::string_view, 10> kTableNames = {"ES", "CS",  "SS", "DS",  "FS",
                                                          "GS", "LDT", "TR", "GDT", "IDT"};

Fields split(std::string_view text) {
    Fields f;
    while (!text.empty()) {
        const size_t eol = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(std::min(eol + 1, text.size()));
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view name = line.substr(0, eq);
        while (!name.empty() && name.back() == ' ')
            name.remove_suffix(1);
        if (std::find(kTableNames.begin(), kTableNames.end(), name) != kTableNames.end()) {
            f.table[std::string(name)] = words(line.substr(eq + 1));
            continue;
        }
        for (std::string_view word : words(line)) {
            const size_t at = word.find('=');
            if (at != std::string_view::npos && at > 0)
                f.scalar[std::string(word.substr(0, at))] = std::string(word.substr(at + 1));
        }
    }
    return f;
}

class Reader {
  public:
    explicit Reader(const Fields& f) : f_(f) {}

    uint64_t scalar(std::string_view name) {
        const auto it = f_.scalar.find(name);
        std::optional<uint64_t> value;
        if (it != f_.scalar.end()) value = hex_value(it->second);
        if (!value) fail(name);
        return value.value_or(0);
    }
    // The first `n` hexadecimal words of a segment or table line.
    std::array<uint64_t, 4> table(std::string_view name, size_t n) {
        std::array<uint64_t, 4> out{};
        const auto it = f_.table.find(name);
        for (size_t i = 0; i < n; ++i) {
            std::optional<uint64_t> value;
            if (it != f_.table.end() && i < it->second.size()) value = hex_value(it->second[i]);
            if (!value) fail(name);
            out[i] = value.value_or(0);
        }
        return out;
    }
    SegmentCache segment(std::string_view name) {
        const auto [selector, base, limit, flags] = table(name, 4);
        SegmentCache c{.base = base,
                       .limit = static_cast<uint32_t>(limit),
                       .access_rights = static_cast<uint32_t>((flags >> 8) & 0xF0FF),
                       .selector = static_cast<uint16_t>(selector)};
        if ((c.access_rights & ar::kP) == 0) c.access_rights = ar::kUnusable;
        return c;
    }
    const std::string& error() const { return error_; }

  private:
    void fail(std::string_view name) {
        if (error_.empty()) error_ = fmt::format("info registers: no readable {}", name);
    }
    const Fields& f_;
    std::string error_;
};

} // namespace

std::optional<QemuRegisters> parse_info_registers(std::string_view text, std::string& error) {
    const Fields fields = split(text);
    Reader r(fields);
    QemuRegisters q;
    CpuState& s = q.state;
    constexpr std::array<const char*, 8> kGprs = {"EAX", "ECX", "EDX", "EBX",
                                                  "ESP", "EBP", "ESI", "EDI"};
    for (size_t i = 0; i < kGprs.size(); ++i)
        s.gpr[i] = static_cast<uint32_t>(r.scalar(kGprs[i]));
    s.eip = static_cast<uint32_t>(r.scalar("EIP"));
    s.eflags = static_cast<uint32_t>(r.scalar("EFL"));
    constexpr std::array<const char*, kNumSegs> kSegs = {"ES", "CS", "SS", "DS", "FS", "GS"};
    for (size_t i = 0; i < kSegs.size(); ++i)
        s.seg[i] = r.segment(kSegs[i]);
    s.ldtr = r.segment("LDT");
    s.tr = r.segment("TR");
    const auto gdt = r.table("GDT", 2);
    s.gdtr = {.base = gdt[0], .limit = static_cast<uint16_t>(gdt[1])};
    const auto idt = r.table("IDT", 2);
    s.idtr = {.base = idt[0], .limit = static_cast<uint16_t>(idt[1])};
    s.cr0 = r.scalar("CR0");
    s.cr2 = r.scalar("CR2");
    s.cr3 = r.scalar("CR3");
    s.cr4 = r.scalar("CR4");
    s.efer = r.scalar("EFER");
    for (size_t i = 0; i < s.dr.size(); ++i)
        s.dr[i] = static_cast<uint32_t>(r.scalar(fmt::format("DR{}", i)));
    s.dr6 = static_cast<uint32_t>(r.scalar("DR6"));
    s.dr7 = static_cast<uint32_t>(r.scalar("DR7"));
    q.halted = r.scalar("HLT") != 0;
    q.inhibit_irq = r.scalar("II") != 0;
    q.a20 = r.scalar("A20") != 0;
    if (!r.error().empty()) {
        error = r.error();
        return std::nullopt;
    }
    s.activity = q.halted ? ActivityState::Hlt : ActivityState::Active;
    return q;
}

} // namespace transit86::tools
