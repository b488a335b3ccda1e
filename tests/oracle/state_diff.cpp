#include "oracle/state_diff.hpp"

#include <fmt/format.h>

namespace transit86::oracle {

namespace {

constexpr const char* kGpr[] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
constexpr const char* kSeg[] = {"es", "cs", "ss", "ds", "fs", "gs"};

void field(std::vector<std::string>& out, const std::string& name, uint64_t ours, uint64_t oracle) {
    if (ours != oracle)
        out.push_back(fmt::format("{} ours={:#x} oracle={:#x}", name, ours, oracle));
}

void segment(std::vector<std::string>& out, const std::string& name, const SegmentCache& a,
             const SegmentCache& b) {
    field(out, name + ".selector", a.selector, b.selector);
    const bool a_unusable = ar::unusable(a.access_rights);
    field(out, name + ".unusable", a_unusable, ar::unusable(b.access_rights));
    if (a_unusable || ar::unusable(b.access_rights)) return;
    field(out, name + ".base", a.base, b.base);
    field(out, name + ".limit", a.limit, b.limit);
    field(out, name + ".ar", a.access_rights, b.access_rights);
}

} // namespace

std::vector<std::string> diff_states(const CpuState& a, const CpuState& b,
                                     const CompareOptions& o) {
    std::vector<std::string> out;
    for (int i = 0; i < 8; ++i)
        field(out, kGpr[i], a.gpr[i], b.gpr[i]);
    field(out, "eip", a.eip, b.eip);
    field(out, "eflags", a.eflags & ~o.eflags_ignore, b.eflags & ~o.eflags_ignore);
    for (int i = 0; i < kNumSegs; ++i)
        segment(out, kSeg[i], a.seg[i], b.seg[i]);
    segment(out, "tr", a.tr, b.tr);
    segment(out, "ldtr", a.ldtr, b.ldtr);
    field(out, "gdtr.base", a.gdtr.base, b.gdtr.base);
    field(out, "gdtr.limit", a.gdtr.limit, b.gdtr.limit);
    field(out, "idtr.base", a.idtr.base, b.idtr.base);
    field(out, "idtr.limit", a.idtr.limit, b.idtr.limit);
    field(out, "cr0", a.cr0, b.cr0);
    field(out, "cr2", a.cr2, b.cr2);
    field(out, "cr3", a.cr3, b.cr3);
    field(out, "cr4", a.cr4, b.cr4);
    field(out, "efer", a.efer, b.efer);
    for (int i = 0; i < 4; ++i)
        field(out, fmt::format("dr{}", i), a.dr[i], b.dr[i]);
    field(out, "dr6", a.dr6, b.dr6);
    field(out, "dr7", a.dr7, b.dr7);
    if (o.compare_interruptibility)
        field(out, "interruptibility", a.interruptibility, b.interruptibility);
    return out;
}

} // namespace transit86::oracle
