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
// its B flag. With an effective limit of FFFFFFFFH, an access that runs past offset FFFFFFFFH
// "may or may not" fault (5.3, implementation-specific): transit86 lets its offsets wrap to 0,
// as QEMU and Bochs do and as real code expects (SYSLINUX's hdt.c32 reads a dword through a
// pointer of -1; docs/known-differences.md).
bool within_limit(const SegmentCache& sc, uint32_t offset, uint32_t size) {
    const uint64_t last = uint64_t{offset} + size - 1;
    if (expand_down(sc)) {
        const uint64_t upper = ar::db(sc.access_rights) ? 0xFFFFFFFFull : 0xFFFFull;
        return offset > sc.limit && last <= upper;
    }
    return last <= sc.limit || sc.limit == 0xFFFFFFFFu;
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

constexpr uint32_t kA20Bit = 1u << 20;
constexpr uint32_t kPageSize = 0x1000;

} // namespace

bool Cpu::translate_page(uint32_t linear, AccessKind kind, bool user, const TlbEntry*& entry) {
    entry = tlb.hit(linear, access_bit(kind, user));
    if (entry) return true;
    if (!page_walker) return unsupported("paging without a page walker");
    TlbEntry fresh;
    if (!page_walker(*this, linear, kind, user, fresh)) return false;
    tlb.fill(linear, fresh);
    entry = tlb.hit(linear, access_bit(kind, user));
    return entry != nullptr || unsupported("page walk left no usable translation");
}

bool Cpu::translate(uint32_t linear, uint32_t size, AccessKind kind, Accessor who,
                    PhysicalAccess& out) {
    const bool write = kind == AccessKind::Write;
    const uint32_t in_page = kPageSize - (linear & (kPageSize - 1));
    const uint32_t first = size <= in_page ? size : in_page;
    if (!(s.cr0 & cr0::PG)) {
        // Linear = physical; A20 masking splits the range at a 1 MiB boundary, and the 32-bit
        // linear address space wraps at 4 GiB (an access at FFFFFFFFH of a 4-GByte segment).
        const uint32_t a20_mask = a20 ? ~0u : ~kA20Bit;
        const uint32_t next = linear + first;
        const bool split = first < size && (next == 0 || (!a20 && ((linear ^ next) & kA20Bit)));
        out.count = split ? 2 : 1;
        out.parts[0].address = a20 ? uint64_t{linear} : (linear & a20_mask);
        out.parts[0].size = split ? first : size;
        if (split) out.parts[1] = {next & a20_mask, size - first, nullptr};
    } else {
        // Every page first: a fault on the second leaves the first unwritten (SDM Vol. 3A
        // 4.7: the access does not happen).
        const bool user = who == Accessor::Program && s.cpl() == 3;
        out.count = first < size ? 2 : 1;
        for (uint8_t i = 0; i < out.count; ++i) {
            const uint32_t at = i == 0 ? linear : linear + first;
            const TlbEntry* e;
            if (!translate_page(at, kind, user, e)) return false;
            out.parts[i].address = e->frame | (at & (kPageSize - 1));
            out.parts[i].size = i == 0 ? first : size - first;
        }
    }
    for (uint8_t i = 0; i < out.count; ++i) {
        PhysicalAccess::Part& part = out.parts[i];
        part.host = mem.host_range(part.address, part.size, write);
    }
    return true;
}

// An access outside RAM: the host completes it (an Mmio exit, then the instruction runs
// again with the host's data, CompletedMmio), part by part.
bool Cpu::stop_for_mmio(uint64_t gpa, uint32_t size, bool write, const void* data) {
    mmio_address = gpa;
    mmio_size = static_cast<uint8_t>(size);
    mmio_write = write;
    mmio_data = 0;
    if (write) std::memcpy(&mmio_data, data, size <= 8 ? size : 8);
    stop = Stop::Mmio;
    return false;
}

// Data breakpoints are matched here, on the linear address of every access an instruction
// makes — the processor's own accesses to system structures included — before paging
// translates it (SDM Vol. 3B 18.2.5: DR0-DR3 hold linear addresses), and reported as a trap
// once the instruction completes (emu/emulator.cpp).
bool Cpu::read_linear(uint32_t linear, void* out, uint32_t size) {
    if (watch_accesses) [[unlikely]]
        debug_traps |= data_breakpoints_hit(s, linear, size, false);
    if (!translated && mem.read(linear, out, size)) return true; // linear = physical, RAM
    return read_translated(linear, out, size, Accessor::Program);
}
bool Cpu::write_linear(uint32_t linear, const void* in, uint32_t size) {
    if (watch_accesses) [[unlikely]]
        debug_traps |= data_breakpoints_hit(s, linear, size, true);
    if (!translated && mem.write(linear, in, size)) return true;
    return write_translated(linear, in, size, Accessor::Program);
}
bool Cpu::read_system(uint32_t linear, void* out, uint32_t size) {
    if (watch_accesses) [[unlikely]]
        debug_traps |= data_breakpoints_hit(s, linear, size, false);
    if (!translated && mem.read(linear, out, size)) return true;
    return read_translated(linear, out, size, Accessor::System);
}
bool Cpu::write_system(uint32_t linear, const void* in, uint32_t size) {
    if (watch_accesses) [[unlikely]]
        debug_traps |= data_breakpoints_hit(s, linear, size, true);
    if (!translated && mem.write(linear, in, size)) return true;
    return write_translated(linear, in, size, Accessor::System);
}

bool Cpu::locked_destination(uint32_t linear, uint32_t size, uint8_t*& host) {
    host = nullptr;
    if (!translated) {
        host = mem.host_range(linear, size, true);
        return true;
    }
    // A locked access is a write for paging (its #PF error code has W set, and the dirty
    // flag is set) whether or not the value changes; with A20 masked, a range across a 1 MiB
    // boundary wraps. Two parts (two pages, or the wrap) are not one host range.
    PhysicalAccess where;
    if (!translate(linear, size, AccessKind::Write, Accessor::Program, where)) return false;
    if (where.count == 1) host = where.parts[0].host;
    return true;
}

bool Cpu::read_translated(uint32_t linear, void* out, uint32_t size, Accessor who) {
    auto* dst = static_cast<uint8_t*>(out);
    // Paging's common case: one page, a TLB hit, RAM.
    if ((s.cr0 & cr0::PG) && (linear & (kPageSize - 1)) + size <= kPageSize) {
        const bool user = who == Accessor::Program && s.cpl() == 3;
        if (const TlbEntry* e = tlb.hit(linear, access_bit(AccessKind::Read, user)); e && e->host) {
            std::memcpy(dst, e->host + (linear & (kPageSize - 1)), size);
            return true;
        }
    }
    PhysicalAccess where;
    if (!translate(linear, size, AccessKind::Read, who, where)) return false;
    for (uint8_t i = 0; i < where.count; ++i) {
        const PhysicalAccess::Part& part = where.parts[i];
        if (part.host) {
            std::memcpy(dst, part.host, part.size);
        } else if (!mem.read(part.address, dst, part.size)) {
            const auto* done =
                mmio_completed ? mmio_completed->find(part.address, part.size, false) : nullptr;
            if (!done) return stop_for_mmio(part.address, part.size, false, nullptr);
            std::memcpy(dst, &done->data, part.size);
        }
        dst += part.size;
    }
    return true;
}

bool Cpu::write_translated(uint32_t linear, const void* in, uint32_t size, Accessor who) {
    const auto* src = static_cast<const uint8_t*>(in);
    if ((s.cr0 & cr0::PG) && (linear & (kPageSize - 1)) + size <= kPageSize) {
        const bool user = who == Accessor::Program && s.cpl() == 3;
        if (const TlbEntry* e = tlb.hit(linear, access_bit(AccessKind::Write, user));
            e && e->host_write) {
            const uint32_t offset = linear & (kPageSize - 1);
            std::memcpy(e->host_write + offset, src, size);
            mem.note_written(e->frame | offset, size); // the block engine's code check
            return true;
        }
    }
    PhysicalAccess where;
    if (!translate(linear, size, AccessKind::Write, who, where)) return false;
    // Parts outside RAM exit one at a time; the RAM parts are written when every part is
    // complete, so a re-executed instruction writes RAM once, with the same bytes.
    uint32_t at = 0;
    for (uint8_t i = 0; i < where.count; at += where.parts[i].size, ++i) {
        const PhysicalAccess::Part& part = where.parts[i];
        if (part.host || mem.writable(part.address, part.size)) continue;
        if (!(mmio_completed && mmio_completed->find(part.address, part.size, true)))
            return stop_for_mmio(part.address, part.size, true, src + at);
    }
    for (uint8_t i = 0; i < where.count; ++i) {
        const PhysicalAccess::Part& part = where.parts[i];
        if (part.host)
            std::memcpy(part.host, src, part.size);
        else
            mem.write(part.address, src, part.size); // straddles slots, or MMIO already done
        src += part.size;
    }
    return true;
}

} // namespace transit86::emu
