// CPUID's leaves for a CpuModel (cpuid.hpp).
#include "emu/cpu/cpuid.hpp"

#include <cstring>

namespace transit86::emu {

namespace {

constexpr uint32_t kMaxBasicLeaf = 1;
constexpr uint32_t kMaxExtendedLeaf = 0x80000004;

uint32_t four_chars(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

} // namespace

CpuidLeaf cpuid_leaf(const CpuModel& m, uint32_t leaf) {
    const bool extended = leaf >= 0x80000000;
    if ((!extended && leaf > kMaxBasicLeaf) || (extended && leaf > kMaxExtendedLeaf))
        leaf = kMaxBasicLeaf;
    switch (leaf) {
    case 0:
        return {.eax = kMaxBasicLeaf,
                .ebx = four_chars(m.vendor.data()),
                .ecx = four_chars(m.vendor.data() + 8),
                .edx = four_chars(m.vendor.data() + 4)};
    case 1: return {.eax = m.signature, .ebx = 0, .ecx = m.features_ecx, .edx = m.features_edx};
    case 0x80000000: return {.eax = kMaxExtendedLeaf, .ebx = 0, .ecx = 0, .edx = 0};
    case 0x80000001: return {.eax = 0, .ebx = 0, .ecx = 0, .edx = m.extended_features_edx};
    default: { // 80000002H..80000004H: 16 brand characters each
        const char* p = m.brand.data() + (leaf - 0x80000002) * 16;
        return {.eax = four_chars(p),
                .ebx = four_chars(p + 4),
                .ecx = four_chars(p + 8),
                .edx = four_chars(p + 12)};
    }
    }
}

} // namespace transit86::emu
