// VMCS dumps: Linux kvm_intel's dump_vmcs() (arch/x86/kvm/vmx/vmx.c) and Xen's
// vmcs_dump_vcpu() (xen/arch/x86/hvm/vmx/vmcs.c). Both print the guest-state area, then the
// host state, then the control fields; Xen's layout descends from Linux's, differing mainly in
// the segment lines ("CS: 0010 0a09b ffffffff 0000000000000000" under a "sel attr limit base"
// header instead of "CS: sel=0x0010, attr=0x0a09b, limit=..., base=..."). Field order and
// spacing changed between kernel versions, so every field is matched on its own.
#include "tools/explain/explain_dump.hpp"

#include <fmt/format.h>
#include <regex>

namespace transit86::tools::explain::detail {
namespace {

using std::regex_constants::icase;

constexpr std::string_view kHex = R"((?:0x)?([0-9a-f]+))";

std::regex make(std::string_view pattern) {
    return std::regex(std::string(pattern), std::regex::ECMAScript | icase);
}

// "X = 0x1234" with the spacing and "0x" optional; the value is group 1.
std::regex assignment(std::string_view name) {
    return make(fmt::format(R"(\b{}\s*=\s*{})", name, kHex));
}

struct Patterns {
    std::regex seg_linux = make(fmt::format(
        R"(^(ES|CS|SS|DS|FS|GS|LDTR|TR)\s*:\s*sel\s*=\s*{0}\s*,?\s*attr\s*=\s*{0}\s*,?\s*)"
        R"(limit\s*=\s*{0}\s*,?\s*base\s*=\s*{0})",
        kHex));
    std::regex dt_linux =
        make(fmt::format(R"(^(GDTR|IDTR)\s*:\s*limit\s*=\s*{0}\s*,?\s*base\s*=\s*{0})", kHex));
    std::regex seg_xen = make(R"(^(ES|CS|SS|DS|FS|GS|LDTR|TR)\s*:\s+([0-9a-f]{4})\s+)"
                              R"(([0-9a-f]{5})\s+([0-9a-f]{8})\s+([0-9a-f]{16})\b)");
    std::regex dt_xen = make(R"(^(GDTR|IDTR)\s*:\s+([0-9a-f]{8})\s+([0-9a-f]{16})\b)");
    std::regex cr =
        make(fmt::format(R"(^(CR0|CR4)\s*:\s*actual\s*=\s*{0}(?:.*shadow\s*=\s*{0})?)", kHex));
    std::regex cr3 = make(fmt::format(R"(^CR3\s*=\s*{})", kHex));
    std::regex rsp = assignment("RSP");
    std::regex rip = assignment("RIP");
    std::regex rflags = assignment("RFLAGS");
    std::regex dr7 = assignment("DR7");
    std::regex efer = assignment(R"(EFER(?:\s*\(VMCS\))?)"); // later Xen: "EFER(VMCS) ="
    std::regex pat = assignment("PAT");
    std::regex debugctl = assignment("DebugCtl");
    std::regex pending = assignment("DebugExceptions");
    std::regex intr = assignment("Interruptibility");
    std::regex activity = assignment("ActivityState");
    std::regex sysenter =
        make(fmt::format(R"(Sysenter RSP\s*=\s*{0}\s+CS:RIP\s*=\s*{0}:{0})", kHex));
    std::regex pin = assignment("PinBased");
    std::regex cpu = assignment("CPUBased");
    std::regex secondary = assignment("SecondaryExec");
    std::regex entry_controls = assignment("EntryControls");
    std::regex entry_intr = make(fmt::format(
        R"((?:^|VM)Entry\s*:\s*intr_info\s*=\s*{0}\s+errcode\s*=\s*{0}\s+ilen\s*=\s*{0})", kHex));
    std::regex reason = make(fmt::format(
        R"((?:vmentry failure \(reason|hardware error|entry_failure_reason\s*=|\breason\s*=)\s*{})",
        kHex));
    std::regex guest_header = make(R"(\*\*\*\s*Guest State\s*\*\*\*)");
    std::regex host_header = make(R"(\*\*\*\s*Host State\s*\*\*\*)");
    std::regex control_header = make(R"(\*\*\*\s*Control State\s*\*\*\*)");
    std::regex vmcs_area = make(R"(VMCS Area|vmentry failure \(reason)");
};

const Patterns& patterns() {
    static const Patterns p;
    return p;
}

Field named_field(const std::string& name) {
    static constexpr std::array<std::string_view, 10> kNames = {"ES", "CS",   "SS", "DS",   "FS",
                                                                "GS", "LDTR", "TR", "GDTR", "IDTR"};
    for (std::size_t i = 0; i < kNames.size(); ++i)
        if (std::equal(name.begin(), name.end(), kNames[i].begin(), kNames[i].end(),
                       [](char a, char b) { return std::toupper(a) == b; }))
            return static_cast<Field>(i);
    return Field::Count_;
}

// One search; the match lands in `m`.
bool find(const std::string& line, std::smatch& m, const std::regex& re) {
    return std::regex_search(line, m, re);
}

void parse_guest_line(const std::string& line, Dump& dump) {
    const Patterns& p = patterns();
    std::smatch m;
    CpuState& s = dump.state;
    if (find(line, m, p.seg_linux) || find(line, m, p.seg_xen)) {
        SegmentCache seg;
        seg.selector = static_cast<uint16_t>(group_hex(m, 2));
        seg.access_rights = static_cast<uint32_t>(group_hex(m, 3));
        seg.limit = static_cast<uint32_t>(group_hex(m, 4));
        seg.base = group_hex(m, 5);
        set_segment(dump, named_field(m.str(1)), seg);
        return;
    }
    if (find(line, m, p.dt_linux) || find(line, m, p.dt_xen)) {
        const Field f = named_field(m.str(1));
        DescriptorTableRegister& dt = f == Field::Gdtr ? s.gdtr : s.idtr;
        dt.limit = static_cast<uint32_t>(group_hex(m, 2));
        dt.base = group_hex(m, 3);
        dump.known.insert(f);
        return;
    }
    if (find(line, m, p.cr)) {
        const bool cr0 = named_field(m.str(1)) == Field::Count_ && m.str(1).back() == '0';
        const uint64_t actual = group_hex(m, 2);
        if (cr0) {
            s.cr0 = actual;
            dump.known.insert({Field::Cr0, Field::Cr0Vmcs});
            if (m[3].matched) dump.cr0_shadow = group_hex(m, 3);
        } else {
            s.cr4 = actual;
            dump.known.insert({Field::Cr4, Field::Cr4Vmcs});
        }
        return;
    }
    if (find(line, m, p.cr3)) {
        s.cr3 = group_hex(m, 1);
        dump.known.insert(Field::Cr3);
        return;
    }
    if (find(line, m, p.sysenter)) {
        s.msrs.sysenter_esp = group_hex(m, 1);
        s.msrs.sysenter_cs = group_hex(m, 2);
        s.msrs.sysenter_eip = group_hex(m, 3);
        dump.known.insert(Field::Sysenter);
        return;
    }
    if (find(line, m, p.rsp)) {
        dump.rsp = group_hex(m, 1);
        s[Gpr::ESP] = static_cast<uint32_t>(dump.rsp);
        if (dump.rsp <= 0xFFFFFFFF) dump.known.insert(Field::Rsp);
    }
    if (find(line, m, p.rip)) {
        dump.rip = group_hex(m, 1);
        s.eip = static_cast<uint32_t>(dump.rip);
        if (dump.rip <= 0xFFFFFFFF)
            dump.known.insert(Field::Rip);
        else
            dump.notes.push_back(fmt::format("RIP {:#x} is wider than transit86's 32-bit EIP; "
                                             "checks on RIP are not judged",
                                             dump.rip));
    }
    if (find(line, m, p.rflags)) {
        dump.rflags = group_hex(m, 1);
        s.eflags = static_cast<uint32_t>(dump.rflags);
        dump.known.insert(Field::Rflags);
        if (dump.rflags > 0xFFFFFFFF)
            dump.notes.push_back(fmt::format("RFLAGS {:#x} has bits above 31 set (reserved, SDM "
                                             "26.3.1.4); only bits 31:0 are judged",
                                             dump.rflags));
    }
    if (find(line, m, p.dr7)) dump.known.insert(Field::Dr7);
    if (find(line, m, p.efer)) {
        s.efer = group_hex(m, 1);
        dump.known.insert(Field::Efer);
    }
    if (find(line, m, p.pat)) {
        s.msrs.pat = group_hex(m, 1);
        dump.known.insert(Field::Pat);
    }
    if (find(line, m, p.debugctl)) {
        dump.controls.debugctl = group_hex(m, 1);
        dump.known.insert(Field::DebugCtl);
    }
    if (find(line, m, p.pending)) {
        dump.controls.pending_debug = group_hex(m, 1);
        dump.known.insert(Field::PendingDebug);
    }
    if (find(line, m, p.intr)) {
        s.interruptibility = static_cast<uint32_t>(group_hex(m, 1));
        dump.known.insert(Field::Interruptibility);
    }
    if (find(line, m, p.activity)) {
        s.activity = static_cast<ActivityState>(group_hex(m, 1));
        dump.known.insert(Field::Activity);
    }
}

void parse_control_line(const std::string& line, Dump& dump) {
    const Patterns& p = patterns();
    EntryControls& c = dump.controls;
    std::smatch m;
    const auto take = [&](const std::regex& re, uint32_t& out, Field f) {
        if (!find(line, m, re)) return;
        out = static_cast<uint32_t>(group_hex(m, 1));
        dump.known.insert(f);
    };
    take(p.pin, c.pin_based, Field::PinBased);
    take(p.cpu, c.cpu_based, Field::CpuBased);
    take(p.secondary, c.secondary_exec, Field::SecondaryExec);
    take(p.entry_controls, c.entry_controls, Field::EntryControls);
    if (find(line, m, p.entry_intr)) {
        c.intr_info = static_cast<uint32_t>(group_hex(m, 1));
        c.error_code = static_cast<uint32_t>(group_hex(m, 2));
        c.instr_len = static_cast<uint32_t>(group_hex(m, 3));
        dump.known.insert({Field::EntryIntrInfo, Field::EntryErrorCode, Field::EntryInstrLen});
    }
}

enum class Section : uint8_t { Guest, Host, Control };

} // namespace

int vmcs_score(const std::vector<std::string>& lines, bool& xen) {
    const Patterns& p = patterns();
    int score = 0, xen_segments = 0, linux_segments = 0;
    bool xen_marker = false;
    for (const std::string& line : lines) {
        if (std::regex_search(line, p.seg_linux) || std::regex_search(line, p.dt_linux)) {
            ++score;
            ++linux_segments;
        } else if (std::regex_search(line, p.seg_xen) || std::regex_search(line, p.dt_xen)) {
            ++score;
            ++xen_segments;
        } else if (std::regex_search(line, p.cr) || std::regex_search(line, p.guest_header) ||
                   std::regex_search(line, p.intr) || std::regex_search(line, p.entry_intr)) {
            ++score;
        }
        if (std::regex_search(line, p.vmcs_area)) xen_marker = true;
    }
    xen = xen_segments > linux_segments || (xen_segments == 0 && linux_segments == 0 && xen_marker);
    return score;
}

void parse_vmcs_lines(const std::vector<std::string>& lines, Dump& dump) {
    const Patterns& p = patterns();
    Section section = Section::Guest;
    for (const std::string& line : lines) {
        std::smatch m;
        if (!dump.exit_reason && find(line, m, p.reason)) dump.exit_reason = group_hex(m, 1);
        if (std::regex_search(line, p.guest_header)) {
            section = Section::Guest;
            continue;
        }
        if (std::regex_search(line, p.host_header)) {
            section = Section::Host; // host RIP, CR0, ... must not land in the guest state
            continue;
        }
        if (std::regex_search(line, p.control_header)) {
            section = Section::Control;
            continue;
        }
        switch (section) {
        case Section::Guest: // a dump cut before "*** Control State ***" may still show them
            parse_guest_line(line, dump);
            parse_control_line(line, dump);
            break;
        case Section::Host: break;
        case Section::Control: parse_control_line(line, dump); break;
        }
    }
}

} // namespace transit86::tools::explain::detail
