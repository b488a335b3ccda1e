#include "diff/layout.hpp"

#include "diff/rng.hpp"

#include <cstring>

namespace transit86::diff {

namespace {

constexpr uint64_t kMemorySeed = 0x7472616E73697438; // "transit8": the same bytes for every run

uint64_t descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
    uint64_t d = limit & 0xFFFF;
    d |= uint64_t{base & 0xFFFFFF} << 16;
    d |= uint64_t{access} << 40;
    d |= uint64_t{(limit >> 16) & 0xF} << 48;
    d |= uint64_t{flags & 0xFu} << 52;
    d |= uint64_t{base >> 24} << 56;
    return d;
}

// 32-bit interrupt gate, DPL 0 (SDM Vol. 3A 6.11, Figure 6-2).
uint64_t interrupt_gate(uint16_t selector, uint32_t offset) {
    uint64_t g = offset & 0xFFFF;
    g |= uint64_t{selector} << 16;
    g |= uint64_t{0x8E} << 40;
    g |= uint64_t{offset >> 16} << 48;
    return g;
}

bool g_identity_paging = false;

} // namespace

void set_identity_paging(bool on) {
    g_identity_paging = on;
}
bool identity_paging() {
    return g_identity_paging;
}

const char* to_string(Mode mode) {
    return mode == Mode::Real ? "real" : "pm32";
}

SegmentCache pm_segment(uint16_t selector) {
    // Access bytes carry the accessed bit so that loading a selector writes nothing to the GDT.
    switch (selector) {
    case kCodeSel:
        return {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = selector};
    case kBasedDataSel:
        return {.base = kBasedDataBase,
                .limit = 0xFFFFFFFF,
                .access_rights = 0xC093,
                .selector = selector};
    case kStack16Sel:
        return {.base = kStack16Base,
                .limit = 0xFFFFFFFF,
                .access_rights = 0x8093,
                .selector = selector};
    default:
        return {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = kFlatDataSel};
    }
}

void build_pristine_memory(std::span<uint8_t> ram, Mode mode) {
    Rng rng(kMemorySeed);
    for (size_t i = 0; i + 8 <= ram.size(); i += 8) {
        const uint64_t v = rng.next();
        std::memcpy(&ram[i], &v, 8);
    }
    std::memset(&ram[kStubBase], 0x90, 256); // nop
    if (mode == Mode::Real) {
        for (uint32_t v = 0; v < 256; ++v) {
            const uint32_t entry = kStubBase + v; // offset kStubBase + v, segment 0
            std::memcpy(&ram[v * 4], &entry, 4);
        }
        return;
    }
    const uint64_t gdt[] = {
        0,
        descriptor(0, 0xFFFFF, 0x9B, 0xC),
        descriptor(0, 0xFFFFF, 0x93, 0xC),
        descriptor(kBasedDataBase, 0xFFFFF, 0x93, 0xC),
        descriptor(kStack16Base, 0xFFFFF, 0x93, 0x8), // G = 1, B = 0
    };
    static_assert(sizeof gdt == kGdtLimit + 1);
    std::memcpy(&ram[kGdtBase], gdt, sizeof gdt);
    for (uint32_t v = 0; v < 256; ++v) {
        const uint64_t gate = interrupt_gate(kCodeSel, kStubBase + v);
        std::memcpy(&ram[kIdtBase + v * 8], &gate, 8);
    }
    if (!g_identity_paging) return;
    constexpr uint32_t kPresentWritable = 0x3, kAccessedDirty = 0x60, kPageSize4M = 0x80;
    for (uint32_t i = 0; i < 1024; ++i) { // SDM Vol. 3A Table 4-4
        const uint32_t pde = (i << 22) | kPresentWritable | kAccessedDirty | kPageSize4M;
        std::memcpy(&ram[kPageDirectory + i * 4], &pde, 4);
    }
}

CpuState base_state(Mode mode) {
    CpuState s = reset_state(ResetPreset::Kvm);
    s.gpr = {};
    s.eflags = flags::Fixed1;
    if (mode == Mode::Real) {
        for (SegmentCache& c : s.seg)
            c = {.base = 0, .limit = 0xFFFF, .access_rights = 0x93};
        s[Seg::CS].access_rights = 0x9B;
        s.idtr = {.base = 0, .limit = 0x3FF};
        return s;
    }
    s.cr0 |= cr0::PE;
    s.gdtr = {.base = kGdtBase, .limit = kGdtLimit};
    s.idtr = {.base = kIdtBase, .limit = kIdtLimit};
    s[Seg::CS] = pm_segment(kCodeSel);
    for (Seg seg : {Seg::ES, Seg::SS, Seg::DS, Seg::FS, Seg::GS})
        s[seg] = pm_segment(kFlatDataSel);
    if (g_identity_paging) {
        s.cr3 = kPageDirectory;
        s.cr4 |= cr4::PSE;
        s.cr0 |= cr0::PG;
    }
    return s;
}

} // namespace transit86::diff
