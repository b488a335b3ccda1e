// QEMU's register dump (x86_cpu_dump_state in target/i386/cpu-dump.c): what "info registers",
// "-d cpu" and QEMU's "KVM: entry failed" / "emulation failure" messages print.
//
// Segments are "CS =0008 00000000 ffffffff 00c09b00 DPL=0 CS32 [-RA]": selector, base, limit
// and the descriptor's flag bits in place (bits 8-23 of the descriptor's high dword). The VMCS
// access rights are those bits shifted down: AR = (flags >> 8) & 0xF0FF (type, S, DPL, P in
// 7:0; AVL, L, D/B, G in 15:12).
//
// Unusable segments: QEMU has no unusable bit. Its KVM glue (target/i386/kvm/kvm.c) maps
// KVM's "unusable" to P = 0 when reading a segment (get_seg) and P = 0 back to "unusable"
// when writing one (set_seg), and KVM itself reports present = !unusable (vmx_get_segment).
// So a segment QEMU prints without P is taken as unusable (AR bit 16 set), which is what the
// VMCS held; its remaining bits are kept as printed.
//
// QEMU shows the guest's architectural CR0/CR4, not the VMCS values (KVM adds NE, and PE/PG
// without unrestricted guest), and no interruptibility state: those fields stay unknown.
#include "tools/explain/explain_dump.hpp"

#include <fmt/format.h>
#include <regex>

namespace transit86::tools::explain::detail {
namespace {

using std::regex_constants::icase;

struct QemuPatterns {
    std::regex gpr{R"(\b([ER](?:AX|BX|CX|DX|SI|DI|BP|SP))\s*=\s*([0-9a-f]+)\b)",
                   std::regex::ECMAScript | icase};
    std::regex ip{R"(^[ER]IP\s*=\s*([0-9a-f]+)\s+(?:EFL|RFL)\s*=\s*([0-9a-f]+))",
                  std::regex::ECMAScript | icase};
    std::regex cpl{R"(\bCPL=(\d)\s+II=(\d)\s+A20=(\d)\s+SMM=(\d)\s+HLT=(\d))",
                   std::regex::ECMAScript | icase};
    std::regex seg{R"(^(ES|CS|SS|DS|FS|GS|LDT|TR)\s*=\s*([0-9a-f]{4})\s+([0-9a-f]{8}|[0-9a-f]{16}))"
                   R"(\s+([0-9a-f]{8})\s+([0-9a-f]{8})\b)",
                   std::regex::ECMAScript | icase};
    std::regex dt{R"(^(GDT|IDT)\s*=\s*([0-9a-f]{8}|[0-9a-f]{16})\s+([0-9a-f]{8})\b)",
                  std::regex::ECMAScript | icase};
    std::regex field_start{R"(^(ES|CS|SS|DS|FS|GS|LDT|TR|GDT|IDT)\s*=)",
                           std::regex::ECMAScript | icase};
    std::regex crs{R"(^CR0\s*=\s*([0-9a-f]+)\s+CR2\s*=\s*([0-9a-f]+)\s+CR3\s*=\s*([0-9a-f]+)\s+)"
                   R"(CR4\s*=\s*([0-9a-f]+))",
                   std::regex::ECMAScript | icase};
    std::regex efer{R"(^EFER\s*=\s*([0-9a-f]+))", std::regex::ECMAScript | icase};
    std::regex dr7{R"(\bDR7\s*=\s*([0-9a-f]+))", std::regex::ECMAScript | icase};
    std::regex reason{R"(hardware error\s+(?:0x)?([0-9a-f]+))", std::regex::ECMAScript | icase};
};

const QemuPatterns& qemu_patterns() {
    static const QemuPatterns p;
    return p;
}

constexpr uint32_t kDescP = 1u << 15; // DESC_P_MASK in QEMU's flags

Field qemu_segment_field(const std::string& name) {
    static constexpr std::array<std::string_view, 8> kNames = {"ES", "CS", "SS",  "DS",
                                                               "FS", "GS", "LDT", "TR"};
    for (std::size_t i = 0; i < kNames.size(); ++i)
        if (std::equal(name.begin(), name.end(), kNames[i].begin(), kNames[i].end(),
                       [](char a, char b) { return std::toupper(a) == b; }))
            return static_cast<Field>(i); // Es..Gs, Ldtr, Tr are the first eight fields
    return Field::Count_;
}

int gpr_index(const std::string& name) {
    static constexpr std::array<std::string_view, 8> kNames = {"AX", "CX", "DX", "BX",
                                                               "SP", "BP", "SI", "DI"};
    for (std::size_t i = 0; i < kNames.size(); ++i)
        if (name.size() == 3 && std::toupper(name[1]) == kNames[i][0] &&
            std::toupper(name[2]) == kNames[i][1])
            return static_cast<int>(i);
    return -1;
}

void parse_registers(const std::string& line, Dump& dump) {
    const QemuPatterns& p = qemu_patterns();
    for (auto it = std::sregex_iterator(line.begin(), line.end(), p.gpr);
         it != std::sregex_iterator(); ++it) {
        const int index = gpr_index((*it).str(1));
        if (index < 0) continue;
        const uint64_t value = parse_hex((*it).str(2)).value_or(0);
        dump.state.gpr[static_cast<std::size_t>(index)] = static_cast<uint32_t>(value);
        if (index == static_cast<int>(Gpr::ESP)) {
            dump.rsp = value;
            if (value <= 0xFFFFFFFF) dump.known.insert(Field::Rsp);
        }
    }
}

void parse_line(const std::string& line, Dump& dump) {
    const QemuPatterns& p = qemu_patterns();
    std::smatch m;
    if (!dump.exit_reason && std::regex_search(line, m, p.reason))
        dump.exit_reason = group_hex(m, 1);
    if (std::regex_search(line, m, p.seg)) {
        const uint32_t flags = static_cast<uint32_t>(group_hex(m, 5));
        SegmentCache seg;
        seg.selector = static_cast<uint16_t>(group_hex(m, 2));
        seg.base = group_hex(m, 3);
        seg.limit = static_cast<uint32_t>(group_hex(m, 4));
        seg.access_rights = (flags >> 8) & 0xF0FF;
        if ((flags & kDescP) == 0) seg.access_rights |= ar::kUnusable;
        set_segment(dump, qemu_segment_field(m.str(1)), seg);
        return;
    }
    if (std::regex_search(line, m, p.dt)) {
        const bool gdt = std::toupper(static_cast<unsigned char>(m.str(1)[0])) == 'G';
        DescriptorTableRegister& dt = gdt ? dump.state.gdtr : dump.state.idtr;
        dt.base = group_hex(m, 2);
        dt.limit = static_cast<uint32_t>(group_hex(m, 3));
        dump.known.insert(gdt ? Field::Gdtr : Field::Idtr);
        return;
    }
    if (std::regex_search(line, m, p.field_start)) {
        dump.notes.push_back(fmt::format("could not read the {} line \"{}\": left out", m.str(1),
                                         line.substr(0, 60)));
        return;
    }
    if (std::regex_search(line, m, p.ip)) {
        dump.rip = group_hex(m, 1);
        dump.rflags = group_hex(m, 2);
        dump.state.eip = static_cast<uint32_t>(dump.rip);
        dump.state.eflags = static_cast<uint32_t>(dump.rflags);
        dump.known.insert(Field::Rflags);
        if (dump.rip <= 0xFFFFFFFF)
            dump.known.insert(Field::Rip);
        else
            dump.notes.push_back(fmt::format("RIP {:#x} is wider than transit86's 32-bit EIP; "
                                             "checks on RIP are not judged",
                                             dump.rip));
        if (std::regex_search(line, m, p.cpl)) {
            dump.state.activity = m.str(5) == "1" ? ActivityState::Hlt : ActivityState::Active;
            dump.known.insert(Field::Activity);
            dump.notes.push_back(fmt::format(
                "QEMU shows CPL={} II={} (interrupt shadow) SMM={}; it has no interruptibility "
                "field, so the interruptibility checks are not judged",
                m.str(1), m.str(2), m.str(4)));
        }
        return;
    }
    parse_registers(line, dump);
    if (std::regex_search(line, m, p.crs)) {
        dump.state.cr0 = group_hex(m, 1);
        dump.state.cr2 = group_hex(m, 2);
        dump.state.cr3 = group_hex(m, 3);
        dump.state.cr4 = group_hex(m, 4);
        dump.known.insert({Field::Cr0, Field::Cr3, Field::Cr4});
        return;
    }
    if (std::regex_search(line, m, p.efer)) {
        dump.state.efer = group_hex(m, 1);
        dump.known.insert(Field::Efer);
        return;
    }
    if (std::regex_search(line, p.dr7)) dump.known.insert(Field::Dr7);
}

} // namespace

int qemu_score(const std::vector<std::string>& lines) {
    const QemuPatterns& p = qemu_patterns();
    int score = 0;
    for (const std::string& line : lines)
        if (std::regex_search(line, p.seg) || std::regex_search(line, p.dt) ||
            std::regex_search(line, p.ip) || std::regex_search(line, p.crs))
            ++score;
    return score;
}

void parse_qemu_lines(const std::vector<std::string>& lines, Dump& dump) {
    for (const std::string& line : lines)
        parse_line(line, dump);
}

} // namespace transit86::tools::explain::detail
