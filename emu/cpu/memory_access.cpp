// Segmented and linear memory access: limit and type checks, A20, RAM vs MMIO.
#include <cstring>

#include "emu/cpu/cpu.hpp"
#include "emu/cpu/debug.hpp"

namespace transit86::emu {

namespace {

// Stack-segment faults report #SS, all others #GP (SDM Vol. 3A 6.15, interrupts 12 and 13).
uint8_t limit_fault_vector(Seg seg) {
    return seg == Seg::SS ? vec::SS : vec::GP;
}

bool expand_down(const SegmentCache& sc) {
    const uint32_t type = ar::type(sc.access_rights);
    return ar::s(sc.access_rights) && !(type & ar::kTypeCode) && (type & 4);
}

// Offsets [offset, offset + size) inside the segment's limit (SDM Vol. 3A 5.3). An
// expand-down data segment holds the offsets above its limit, up to 0xFFFF or 0xFFFFFFFF by
// its B flag.
bool within_limit(const SegmentCache& sc, uint32_t offset, uint32_t size) {
    const uint64_t last = uint64_t{offset} + size - 1;
    if (expand_down(sc)) {
        const uint64_t upper = ar::db(sc.access_rights) ? 0xFFFFFFFFull : 0xFFFFull;
        return offset > sc.limit && last <= upper;
    }
    return last <= sc.limit;
}

// The type checks of a protected-mode access (SDM Vol. 3A 5.4.1): a null selector in DS..GS
// faults on use; code segments are never writable and must be readable to be read; data must
// be writable to write. Real and virtual-8086 mode check no types.
bool type_permits(const CpuState& s, const SegmentCache& sc, bool write) {
    if (!s.protected_mode() || s.v86()) return true;
    if (ar::unusable(sc.access_rights)) return false;
    const uint32_t type = ar::type(sc.access_rights);
    if (type & ar::kTypeCode) return !write && (type & 2);
    return !write || (type & 2);
}

} // namespace

bool Cpu::linearize(Seg seg, uint32_t offset, uint32_t size, bool write, uint32_t& linear) {
    const SegmentCache& sc = s[seg];
    if (!type_permits(s, sc, write)) return raise(limit_fault_vector(seg), 0);
    // Real mode checks the cached limit too: that is what unreal mode lifts (SDM Vol. 3A
    // 20.1.1: an access beyond offset 0FFFFH raises #GP or #SS).
    if (!within_limit(sc, offset, size)) return raise(limit_fault_vector(seg), 0);
    linear = static_cast<uint32_t>(sc.base + offset);
    return true;
}

SegmentWindow segment_window(const CpuState& s, Seg seg) {
    const SegmentCache& sc = s[seg];
    SegmentWindow w{.base = static_cast<uint32_t>(sc.base)};
    if (expand_down(sc)) return w; // the interpreter's within_limit() handles the upper range
    if (type_permits(s, sc, false)) w.read_last = sc.limit;
    if (type_permits(s, sc, true)) w.write_last = sc.limit;
    return w;
}

namespace {

// Splits an access at each A20-masked byte when it would cross a 1 MiB boundary with A20
// off; otherwise one contiguous physical range.
constexpr uint32_t kA20Bit = 1u << 20;

} // namespace

// Data breakpoints are matched here, on the linear address of every access an instruction
// makes (SDM Vol. 3B 18.2.5), and reported as a trap once it completes (emu/emulator.cpp).
bool Cpu::read_linear(uint32_t linear, void* out, uint32_t size) {
    if (watch_accesses) [[unlikely]]
        debug_traps |= data_breakpoints_hit(s, linear, size, false);
    auto* dst = static_cast<uint8_t*>(out);
    const uint32_t a20_mask = a20 ? ~0u : ~kA20Bit;
    if (a20 || ((linear ^ (linear + size - 1)) & kA20Bit) == 0) {
        if (mem.read(linear & a20_mask, dst, size)) return true;
    } else {
        bool ok = true;
        for (uint32_t i = 0; i < size && ok; ++i)
            ok = mem.read((linear + i) & a20_mask, dst + i, 1);
        if (ok) return true;
    }
    const uint64_t gpa = linear & a20_mask;
    if (mmio_completed) {
        if (const auto* done = mmio_completed->find(gpa, size, false)) {
            std::memcpy(dst, &done->data, size);
            return true;
        }
    }
    mmio_address = gpa;
    mmio_size = static_cast<uint8_t>(size);
    mmio_write = false;
    stop = Stop::Mmio;
    return false;
}

bool Cpu::locked_destination(uint32_t linear, uint32_t size, uint8_t*& host) {
    host = nullptr;
    // With A20 off a range across a 1 MiB boundary wraps: not one host range.
    if (!a20 && ((linear ^ (linear + size - 1)) & kA20Bit) != 0) return true;
    host = mem.host_range(linear & (a20 ? ~0u : ~kA20Bit), size, true);
    return true;
}

bool Cpu::write_linear(uint32_t linear, const void* in, uint32_t size) {
    if (watch_accesses) [[unlikely]]
        debug_traps |= data_breakpoints_hit(s, linear, size, true);
    const auto* src = static_cast<const uint8_t*>(in);
    const uint32_t a20_mask = a20 ? ~0u : ~kA20Bit;
    bool ok;
    if (a20 || ((linear ^ (linear + size - 1)) & kA20Bit) == 0) {
        ok = mem.write(linear & a20_mask, src, size);
    } else {
        ok = true;
        for (uint32_t i = 0; i < size && ok; ++i)
            ok = mem.host_range((linear + i) & a20_mask, 1, true) != nullptr;
        for (uint32_t i = 0; i < size && ok; ++i)
            mem.write((linear + i) & a20_mask, src + i, 1);
    }
    if (ok) return true;
    const uint64_t gpa = linear & a20_mask;
    if (mmio_completed && mmio_completed->find(gpa, size, true)) return true;
    mmio_address = gpa;
    mmio_size = static_cast<uint8_t>(size);
    mmio_write = true;
    mmio_data = 0;
    std::memcpy(&mmio_data, src, size <= 8 ? size : 8);
    stop = Stop::Mmio;
    return false;
}

} // namespace transit86::emu
