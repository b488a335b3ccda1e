// The block engine's differential harness (block_engine_test.cpp, block_engine_poll_test.cpp):
// two emulators over their own copies of guest memory, one with the block engine and one
// interpreting every instruction, driven by the same calls and compared after each.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86::block_test {

constexpr uint32_t kRam = 1u << 20;    // RAM at 0; above it, MMIO
constexpr uint32_t kRomBase = 0xF0000; // a read-only slot inside: stores there exit as MMIO
constexpr uint32_t kCode = 0x1000;

// Paged32: Protected32 with 32-bit paging (the program sets up its tables); PagedUser32: the
// same at CPL 3; PagedPae32: Protected32 with PAE paging.
enum class Mode {
    Real16,
    RealCode32,
    Protected32,
    Protected16,
    Virtual8086,
    Paged32,
    PagedUser32,
    PagedPae32
};

inline bool paged(Mode mode) {
    return mode == Mode::Paged32 || mode == Mode::PagedUser32 || mode == Mode::PagedPae32;
}
inline bool code32(Mode mode) {
    return mode == Mode::Protected32 || mode == Mode::RealCode32 || paged(mode);
}

// The read-only slot's host bytes start kRomGap bytes after the RAM slot's end: an access
// that strays across a slot's start lands in the gap, not silently in the neighbour.
constexpr uint32_t kRomGap = 64;
inline uint32_t host_offset(uint32_t address) {
    return address < kRomBase ? address : address + kRomGap;
}

// Zeroed guest RAM for a machine, from the buffers of machines destroyed before it: the random
// tests make two machines per program, and a fresh megabyte each time cost a page fault per
// page whenever malloc had handed the last one back to the kernel (500,000 faults, most of
// the tests' time, for 1,000 programs).
inline std::vector<std::vector<uint8_t>>& spare_ram() {
    static std::vector<std::vector<uint8_t>> spares;
    return spares;
}
inline std::vector<uint8_t> zeroed_ram() {
    std::vector<std::vector<uint8_t>>& spares = spare_ram();
    if (spares.empty()) return std::vector<uint8_t>(kRam + kRomGap);
    std::vector<uint8_t> ram = std::move(spares.back());
    spares.pop_back();
    std::fill(ram.begin(), ram.end(), uint8_t{0});
    return ram;
}

// One emulator over its own copy of guest memory.
struct Machine {
    explicit Machine(bool block_engine, PortHandler* ports = nullptr)
        : ram(zeroed_ram()), slots{make_slots(ram)}, emu(slots, ports) {
        emu.set_decode_cache(block_engine);
    }
    ~Machine() {
        if (spare_ram().size() < 4) spare_ram().push_back(std::move(ram));
    }
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;
    static std::vector<RamSlot> make_slots(std::vector<uint8_t>& ram) {
        return {RamSlot{.guest_phys = 0, .size = kRomBase, .host = ram.data()},
                RamSlot{.guest_phys = kRomBase,
                        .size = kRam - kRomBase,
                        .host = ram.data() + host_offset(kRomBase),
                        .read_only = true}};
    }
    std::vector<uint8_t> ram;
    std::vector<RamSlot> slots;
    Emulator emu;
};

// Runs both machines; fails the test at the first difference. Returns the common exit.
inline Exit run_both(Machine& blocks, Machine& interpreter, const RunLimits& limits) {
    const Exit a = blocks.emu.run(limits);
    const Exit b = interpreter.emu.run(limits);
    EXPECT_EQ(a.reason, b.reason) << to_string(a.reason) << " vs " << to_string(b.reason);
    EXPECT_EQ(a.instructions, b.instructions);
    EXPECT_EQ(a.vector, b.vector);
    EXPECT_EQ(a.error_code, b.error_code);
    EXPECT_EQ(a.mmio_address, b.mmio_address);
    EXPECT_EQ(a.mmio_size, b.mmio_size);
    EXPECT_EQ(a.mmio_write, b.mmio_write);
    EXPECT_EQ(a.mmio_data, b.mmio_data);
    EXPECT_EQ(a.linear_address, b.linear_address);
    EXPECT_TRUE(blocks.emu.state() == interpreter.emu.state())
        << "EIP " << std::hex << blocks.emu.state().eip << " vs " << interpreter.emu.state().eip
        << ", EFLAGS " << blocks.emu.state().eflags << " vs " << interpreter.emu.state().eflags;
    EXPECT_TRUE(blocks.ram == interpreter.ram) << "RAM differs";
    return a;
}

// Both machines, driven in lockstep by the same calls.
struct Pair {
    Machine blocks{true};
    Machine interpreter{false};

    void load(uint32_t address, const std::vector<uint8_t>& bytes) {
        for (Machine* m : {&blocks, &interpreter})
            std::memcpy(m->ram.data() + host_offset(address), bytes.data(), bytes.size());
    }
    void set_state(const CpuState& s) {
        blocks.emu.state() = s;
        interpreter.emu.state() = s;
    }
    // Runs both; fails the test at the first difference. Returns the common exit.
    Exit run(const RunLimits& limits) { return run_both(blocks, interpreter, limits); }
    void complete_mmio(uint64_t data) {
        blocks.emu.complete_mmio(data);
        interpreter.emu.complete_mmio(data);
    }
};

inline SegmentCache cache(uint16_t selector, uint32_t base, uint32_t limit,
                          uint32_t access_rights) {
    return {.base = base, .limit = limit, .access_rights = access_rights, .selector = selector};
}

inline CpuState start_state(Mode mode) {
    CpuState s{};
    s.eflags = flags::Fixed1;
    s.cr0 = cr0::ET;
    s.eip = kCode;
    s[Gpr::ESP] = 0x8000;
    for (auto& sc : s.seg)
        sc = cache(0, 0, 0xFFFF, 0x93);
    s[Seg::CS] = cache(0, 0, 0xFFFF, 0x9B);
    s.idtr = {.base = 0, .limit = 0x3FF};
    s.ldtr = cache(0, 0, 0, ar::kUnusable);
    s.tr = cache(0, 0, 0xFFFF, 0x8B);
    switch (mode) {
    case Mode::Real16: break;
    case Mode::RealCode32: s[Seg::CS].access_rights |= 0x4000; break;
    case Mode::Protected32:
    case Mode::Protected16:
        s.cr0 |= cr0::PE;
        s[Seg::CS] = mode == Mode::Protected32 ? cache(0x08, 0, 0xFFFFFFFF, 0xC09B)
                                               : cache(0x18, 0, 0xFFFF, 0x9B);
        for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
            s[seg] = cache(0x10, 0, 0xFFFFFFFF, 0xC093);
        break;
    case Mode::Paged32:
    case Mode::PagedPae32:
    case Mode::PagedUser32: {
        const bool user = mode == Mode::PagedUser32;
        s.cr0 |= cr0::PE | cr0::PG;
        s[Seg::CS] = user ? cache(0x1B, 0, 0xFFFFFFFF, 0xC0FB) : cache(0x08, 0, 0xFFFFFFFF, 0xC09B);
        for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
            s[seg] = user ? cache(0x23, 0, 0xFFFFFFFF, 0xC0F3) : cache(0x10, 0, 0xFFFFFFFF, 0xC093);
        break;
    }
    case Mode::Virtual8086:
        s.cr0 |= cr0::PE;
        s.eflags |= flags::VM | flags::IOPL;
        for (auto& sc : s.seg)
            sc = cache(0, 0, 0xFFFF, 0xF3);
        s.tr = cache(0x18, 0x9000, 0x67, 0x8B);
        break;
    }
    return s;
}

// The paged modes' tables, in the pages from kPageTables to kPageTablesEnd (which the tests
// leave unmapped): with 32-bit paging a page directory whose first entry points at one page
// table for the first 4 MiB, and a 4-MByte page at kLargeAlias over physical 0 (all of RAM
// again, the code included); with PAE paging a page-directory-pointer table whose first entry
// leads to one page table for the first 2 MiB and whose second to a 2-MByte page at
// kLargeAlias over physical 0. kCodeAlias is the linear page the tests map to the code page
// as well.
constexpr uint32_t kPageTables = 0x9000;
constexpr uint32_t kPageTablesEnd = 0xD000;
constexpr uint32_t kCodeAlias = 0x3000;
constexpr uint32_t kLargeAlias = 0x40000000;
namespace pte { // SDM Vol. 3A 4.3 and 4.4, Tables 4-5, 4-6, 4-8 to 4-11
constexpr uint32_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80;
constexpr uint64_t XD = uint64_t{1} << 63;
} // namespace pte

inline bool page_table_page(uint32_t page) {
    return page >= kPageTables >> 12 && page < kPageTablesEnd >> 12;
}

// Writes those tables into both machines and points CR3 at them (CR4.PSE for the large page;
// with `pae` CR4.PAE and the PDPTE registers as MOV to CR3 loads them): `pde` and `large` are
// the rights of the directory entries, `entry(page)` the page-table entry of each 4-KByte page
// the table maps (1,024 or, with PAE, 512).
template <class EntryOf>
void load_page_tables(Pair& p, CpuState& s, bool pae, uint32_t pde, uint32_t large, EntryOf entry) {
    std::vector<uint8_t> tables(kPageTablesEnd - kPageTables);
    const auto put = [&](uint32_t at, uint32_t index, uint64_t value) {
        std::memcpy(tables.data() + (at - kPageTables) + (pae ? 8 : 4) * index, &value,
                    pae ? 8 : 4);
    };
    constexpr uint32_t kPdpt = kPageTables, kDirectory = kPageTables + 0x1000,
                       kTable = kPageTables + 0x2000, kAliasDirectory = kPageTables + 0x3000;
    if (pae) {
        put(kPdpt, 0, kDirectory | pte::P);
        put(kPdpt, kLargeAlias >> 30, kAliasDirectory | pte::P);
        put(kDirectory, 0, kTable | pde);
        put(kAliasDirectory, 0, large | pte::PS);
        s.cr3 = kPdpt;
        s.cr4 |= cr4::PAE;
        s.pdpte = {kDirectory | pte::P, kAliasDirectory | pte::P, 0, 0};
    } else {
        put(kDirectory, 0, kTable | pde);
        put(kDirectory, kLargeAlias >> 22, large | pte::PS);
        s.cr3 = kDirectory;
        s.cr4 |= cr4::PSE;
    }
    for (uint32_t page = 0; page < (pae ? 512u : 1024u); ++page)
        put(kTable, page, entry(page));
    p.load(kPageTables, tables);
}

inline const RunLimits kRunToHost{
    .budget = 5000000, .stop_when_valid = std::nullopt, .exceptions_to_host = true};

} // namespace transit86::block_test
