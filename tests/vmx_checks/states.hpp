// Hand-built guest states and expectations shared by the vmx_checks tests. Nothing here comes
// from emu/: every state is written out field by field.
#pragma once

#include "transit86/vmx_checks.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace transit86::vmx::test {

inline constexpr uint32_t kCr0Reset = 0x60000010; // CD | NW | ET
inline constexpr uint32_t kUnusable = ar::kUnusable;

inline SegmentCache segment(uint16_t selector, uint64_t base, uint32_t limit, uint32_t rights) {
    SegmentCache s;
    s.selector = selector;
    s.base = base;
    s.limit = limit;
    s.access_rights = rights;
    return s;
}

// A real-mode segment as a real-mode load leaves it: base = selector << 4, 64 KiB, 16-bit.
inline SegmentCache real_segment(uint16_t selector, uint32_t rights = 0x93) {
    return segment(selector, uint64_t{selector} << 4, 0xFFFF, rights);
}

// Real mode in a boot sector, every segment register different so a check that reads the
// wrong register shows: CS 07C0, SS 0030, DS 0000, ES 1000, FS B800, GS F000.
inline CpuState real_mode() {
    CpuState s;
    s.cr0 = kCr0Reset;
    s.eip = 0x0010;
    s[Seg::CS] = real_segment(0x07C0, 0x9B);
    s[Seg::SS] = real_segment(0x0030);
    s[Seg::DS] = real_segment(0x0000);
    s[Seg::ES] = real_segment(0x1000);
    s[Seg::FS] = real_segment(0xB800);
    s[Seg::GS] = real_segment(0xF000);
    s.tr = segment(0, 0, 0xFFFF, 0x8B);
    s.ldtr = segment(0, 0, 0xFFFF, 0x82);
    s.gdtr = {0, 0xFFFF};
    s.idtr = {0, 0x3FF};
    return s;
}

// Flat 32-bit protected mode after a Linux-style switch: CS 0x08 (code, 0xC09B), data 0x10
// (0xC093) in SS..GS, TR 0x18 (busy 32-bit TSS), LDTR unusable.
inline CpuState flat_protected() {
    CpuState s;
    s.cr0 = kCr0Reset | cr0::PE;
    s.eip = 0x7C41;
    s[Seg::CS] = segment(0x08, 0, 0xFFFFFFFF, 0xC09B);
    for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s[seg] = segment(0x10, 0, 0xFFFFFFFF, 0xC093);
    s.tr = segment(0x18, 0x7C70, 0x67, 0x8B);
    s.ldtr = segment(0, 0, 0, kUnusable);
    s.gdtr = {0x7C48, 0x1F};
    return s;
}

// Processor state after power-up/reset/INIT (SDM Vol. 3A Table 10-1): CS F000 with base
// FFFF0000 and access rights 0x93 (a read/write data segment), LDTR and TR 0x82.
inline CpuState intel_reset() {
    CpuState s;
    s.cr0 = kCr0Reset;
    s.eip = 0xFFF0;
    s[Seg::CS] = segment(0xF000, 0xFFFF0000, 0xFFFF, 0x93);
    for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        s[seg] = segment(0, 0, 0xFFFF, 0x93);
    s.tr = segment(0, 0, 0xFFFF, 0x82);
    s.ldtr = segment(0, 0, 0xFFFF, 0x82);
    s.gdtr = {0, 0xFFFF};
    s.idtr = {0, 0xFFFF};
    return s;
}

// KVM's vCPU reset as KVM_GET_SREGS reports it: like the Intel state, but CS 0x9B (code),
// TR 0x8B (busy 32-bit TSS).
inline CpuState kvm_reset() {
    CpuState s = intel_reset();
    s[Seg::CS].access_rights = 0x9B;
    s.tr.access_rights = 0x8B;
    return s;
}

// flat_protected() with paging on (CR0.PG, CR3 = 0x1000): what VT-x without unrestricted guest
// accepts as is (the VMM adds NE and CR4.VMXE, VmxContext's default). Valid under every profile.
inline CpuState paged_protected() {
    CpuState s = flat_protected();
    s.cr0 |= cr0::PG;
    s.cr3 = 0x1000;
    return s;
}

// A virtual-8086 task under paged_protected(): RFLAGS.VM = 1 and every segment as a vm86 load
// leaves it (base = selector << 4, limit 0xFFFF, access rights 0xF3).
inline CpuState v86_task() {
    CpuState s = paged_protected();
    s.eflags |= flags::VM;
    s.eip = 0x0100;
    s[Seg::CS] = real_segment(0x1000, 0xF3);
    s[Seg::SS] = real_segment(0x2003, 0xF3);
    s[Seg::DS] = real_segment(0x2001, 0xF3);
    s[Seg::ES] = real_segment(0xB800, 0xF3);
    s[Seg::FS] = real_segment(0x0000, 0xF3);
    s[Seg::GS] = real_segment(0xFFFF, 0xF3);
    return s;
}

inline VmxContext with_unrestricted_guest(VmxContext ctx = {}) {
    ctx.unrestricted_guest = true;
    return ctx;
}

struct SegName {
    Seg seg;
    std::string_view name; // as in check ids
};
inline constexpr std::array<SegName, 6> kKvmSegOrder = {{
    {Seg::CS, "cs"},
    {Seg::SS, "ss"},
    {Seg::DS, "ds"},
    {Seg::ES, "es"},
    {Seg::FS, "fs"},
    {Seg::GS, "gs"},
}};
inline constexpr std::array<SegName, 4> kDataSegs = {{
    {Seg::DS, "ds"},
    {Seg::ES, "es"},
    {Seg::FS, "fs"},
    {Seg::GS, "gs"},
}};

inline std::string id(std::string_view a, std::string_view b, std::string_view c = {}) {
    std::string out(a);
    out += '.';
    out += b;
    if (!c.empty()) {
        out += '.';
        out += c;
    }
    return out;
}

// The ids of the failing rows, in report order.
inline std::vector<std::string> failing_ids(const CpuState& s, Profile p = Profile::Kvm,
                                            const VmxContext& ctx = {}) {
    std::vector<std::string> ids;
    for (const Violation& v : evaluate(s, p, ctx))
        ids.emplace_back(v.check->id);
    return ids;
}

inline std::string report(const CpuState& s, Profile p, const VmxContext& ctx = {}) {
    std::string out;
    for (const Violation& v : evaluate(s, p, ctx)) {
        out += "\n  ";
        out += v.check->id;
        out += ": ";
        out += v.message;
    }
    return out.empty() ? "\n  (no violations)" : out;
}

// Valid on both paths.
inline ::testing::AssertionResult valid(const CpuState& s, Profile p = Profile::Kvm,
                                        const VmxContext& ctx = {}) {
    if (is_valid(s, p, ctx) && evaluate(s, p, ctx).empty() && first_failure(s, p, ctx) == nullptr)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected valid under " << to_string(p) << "; is_valid=" << is_valid(s, p, ctx)
           << ", report:" << report(s, p, ctx);
}

// Invalid on both paths, and the one failing row is `expected`.
inline ::testing::AssertionResult fails_only(const CpuState& s, std::string_view expected,
                                             Profile p = Profile::Kvm, const VmxContext& ctx = {}) {
    const std::vector<Violation> violations = evaluate(s, p, ctx);
    const Check* first = first_failure(s, p, ctx);
    if (!is_valid(s, p, ctx) && violations.size() == 1 && violations[0].check->id == expected &&
        first == violations[0].check && !violations[0].message.empty())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected only " << expected << " to fail under " << to_string(p)
           << "; is_valid=" << is_valid(s, p, ctx) << ", report:" << report(s, p, ctx);
}

// The message of the one row with this id in the report ("" when it did not fail).
inline std::string message_of(const CpuState& s, std::string_view check_id,
                              Profile p = Profile::Kvm, const VmxContext& ctx = {}) {
    for (const Violation& v : evaluate(s, p, ctx))
        if (v.check->id == check_id) return v.message;
    return {};
}

} // namespace transit86::vmx::test
