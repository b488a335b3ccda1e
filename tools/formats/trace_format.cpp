#include "tools/formats/trace_format.hpp"

#include <fmt/format.h>

namespace transit86::tools {

std::string mode_tag(const CpuState& s) {
    const bool d = ar::db(s[Seg::CS].access_rights);
    if (s.v86()) return "V86";
    if (s.protected_mode()) return d ? "P32" : "P16";
    bool big = false;
    for (const SegmentCache& seg : s.seg)
        big = big || seg.limit > 0xFFFF;
    return fmt::format("{}{}", big ? 'U' : 'R', d ? 32 : 16);
}

std::string describe_access_rights(uint32_t a) {
    if (ar::unusable(a)) return "unusable";
    const uint32_t type = ar::type(a);
    std::string text;
    if (ar::s(a)) {
        if (type & ar::kTypeCode) {
            text = (type & 2) ? "code exec/read" : "code exec-only";
            if (type & 4) text += " conforming";
        } else {
            text = (type & 2) ? "data read/write" : "data read-only";
            if (type & 4) text += " expand-down";
        }
        if (type & ar::kAccessed) text += " accessed";
        text += ar::db(a) ? ", 32-bit" : ", 16-bit";
    } else {
        static constexpr const char* kSystemTypes[16] = {
            "reserved system type 0", "available 16-bit TSS",    "LDT",
            "busy 16-bit TSS",        "16-bit call gate",        "task gate",
            "16-bit interrupt gate",  "16-bit trap gate",        "reserved system type 8",
            "available 32-bit TSS",   "reserved system type 10", "busy 32-bit TSS",
            "32-bit call gate",       "reserved system type 13", "32-bit interrupt gate",
            "32-bit trap gate"};
        text = kSystemTypes[type];
    }
    if (ar::g(a)) text += ", 4K granular";
    text += fmt::format(", DPL {}", ar::dpl(a));
    if (!ar::present(a)) text += ", not present";
    return text;
}

std::string segment_fields(const SegmentCache& seg) {
    const uint32_t flags_field = (seg.access_rights & 0xF0FF) << 8;
    return fmt::format("{:04x} {:08x} {:08x} {:08x}  {}", seg.selector, seg.base, seg.limit,
                       flags_field, describe_access_rights(seg.access_rights));
}

std::string describe_descriptor(uint64_t raw) {
    if (raw == 0) return "null";
    const auto access = static_cast<uint32_t>(((raw >> 40) & 0xFF) | (((raw >> 52) & 0xF) << 12));
    const uint64_t base = ((raw >> 16) & 0xFFFFFF) | (((raw >> 56) & 0xFF) << 24);
    auto limit = static_cast<uint32_t>((raw & 0xFFFF) | ((raw >> 32) & 0xF0000));
    if (ar::g(access)) limit = (limit << 12) | 0xFFF;
    return fmt::format("base {:08x} limit {:08x}  {}", base, limit, describe_access_rights(access));
}

} // namespace transit86::tools
