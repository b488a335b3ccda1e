#include "describe.hpp"

#include <array>

namespace transit86::vmx::detail {

std::string_view seg_name(Seg seg) noexcept {
    switch (seg) {
    case Seg::ES: return "ES";
    case Seg::CS: return "CS";
    case Seg::SS: return "SS";
    case Seg::DS: return "DS";
    case Seg::FS: return "FS";
    case Seg::GS: return "GS";
    }
    return "?S";
}

std::string type_name(uint32_t access_rights) {
    const uint32_t type = ar::type(access_rights);
    if (!ar::s(access_rights)) {
        // System descriptor types, SDM Vol. 3A Table 3-2 (32-bit column).
        static constexpr std::array<std::string_view, 16> kSystem = {
            "reserved system type",  "available 16-bit TSS", "LDT",
            "busy 16-bit TSS",       "16-bit call gate",     "task gate",
            "16-bit interrupt gate", "16-bit trap gate",     "reserved system type",
            "available 32-bit TSS",  "reserved system type", "busy 32-bit TSS",
            "32-bit call gate",      "reserved system type", "32-bit interrupt gate",
            "32-bit trap gate",
        };
        return std::string(kSystem[type]);
    }
    // Code and data types, SDM Vol. 3A Table 3-1: bit 3 code, bit 2 conforming/expand-down,
    // bit 1 readable/writable, bit 0 accessed.
    std::string out;
    if ((type & ar::kTypeCode) != 0) {
        out = (type & 2) != 0 ? "code, execute/read" : "code, execute-only";
        if ((type & 4) != 0) out += ", conforming";
    } else {
        out = (type & 2) != 0 ? "data, read/write" : "data, read-only";
        if ((type & 4) != 0) out += ", expand-down";
    }
    if ((type & ar::kAccessed) != 0) out += ", accessed";
    return out;
}

} // namespace transit86::vmx::detail
