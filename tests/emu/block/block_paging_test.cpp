// The block engine under paging (emu/block/block_engine.hpp): blocks fetch their code and
// reach their data through the translations the interpreter's TLB holds, with the rights of
// the current privilege level, and a store into code the epoch has checked is found by its
// guest-physical address, whichever linear address it went through. Each test runs a pair
// (block_pair.hpp): the interpreter alone says what the right result is, and the sums are
// worked out by hand. Random programs under paging: block_engine_test.cpp (Paged32,
// PagedUser32).
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <vector>

#include "block/block_pair.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

namespace {

using namespace block_test;

// The first 4 MiB mapped to themselves, present, writable, user, accessed and dirty; the
// tables not mapped; kCodeAlias over the code page; `supervisor_page` (if not 0) not user.
CpuState paged_state(Pair& p, Mode mode, uint32_t supervisor_page = 0) {
    using namespace pte;
    CpuState s = start_state(mode);
    load_page_tables(p, s, false, P | RW | US | A, P | RW | US | A | D, [&](uint32_t page) {
        if (page_table_page(page)) return 0u;
        const uint32_t frame = page == kCodeAlias >> 12 ? kCode : page << 12;
        return frame | P | RW | (page == supervisor_page ? 0 : US) | A | D;
    });
    return s;
}

uint64_t in_blocks(const Pair& p) {
    return p.blocks.emu.engine_stats().in_blocks;
}

// L: add eax, [esi] ; add esi, 4 ; dec ecx ; jnz L ; hlt — over 16 KiB from 0x10000 (four
// pages) holding 1, 2, 3, ...: the engine runs the loop from the TLB's translations.
TEST(BlockPaging, LoopOverSeveralPagesRunsInBlocks) {
    Pair p;
    p.load(kCode, {0x03, 0x06, 0x83, 0xC6, 0x04, 0x49, 0x75, 0xF8, 0xF4});
    std::vector<uint8_t> data(0x4000);
    for (uint32_t i = 0; i < 0x1000; ++i) {
        const uint32_t value = i + 1;
        std::memcpy(data.data() + 4 * i, &value, 4);
    }
    p.load(0x10000, data);
    CpuState s = paged_state(p, Mode::Paged32);
    s[Gpr::ESI] = 0x10000;
    s[Gpr::ECX] = 0x1000;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 0x1000u * 0x1001 / 2);
    EXPECT_GT(in_blocks(p), 4 * 0x1000u - 100);
}

// At CPL 0 the program reads the supervisor page at 0x12000 (the TLB now holds it, for
// supervisor accesses), then IRETs to the same loop at CPL 3, which meets that page after two
// user pages: #PF with P and U in the error code (a user-mode read of a present page, SDM
// Vol. 3A 4.7) and CR2 = 0x12000, at the same instruction as the interpreter, although the
// engine ran the loop and the TLB entry would let a supervisor read through.
TEST(BlockPaging, UserLoopFaultsAtASupervisorPageTheTlbHolds) {
    Pair p;
    // GDT at 0xD000: null, 08 code DPL 0, 10 data DPL 0, 18 code DPL 3, 20 data DPL 3 (flat).
    std::vector<uint8_t> gdt(8);
    for (const uint8_t type : std::initializer_list<uint8_t>{0x9B, 0x93, 0xFB, 0xF3})
        gdt.insert(gdt.end(), {0xFF, 0xFF, 0x00, 0x00, 0x00, type, 0xCF, 0x00});
    p.load(0xD000, gdt);
    // mov ax, 0x23 ; mov ds, ax (kept by the IRET: DPL 3) ; mov eax, [0x12000] ; push 0x23 ;
    // push 0x8000 ; pushfd ; push 0x1b ; push kCode + 0x40 ; iretd
    p.load(kCode,
           {0x66, 0xB8, 0x23, 0x00, 0x8E, 0xD8, 0xA1, 0x00, 0x20, 0x01, 0x00, 0x6A, 0x23, 0x68,
            0x00, 0x80, 0x00, 0x00, 0x9C, 0x6A, 0x1B, 0x68, 0x40, 0x10, 0x00, 0x00, 0xCF});
    p.load(kCode + 0x40, {0x03, 0x06, 0x83, 0xC6, 0x04, 0x49, 0x75, 0xF8, 0xF4});
    CpuState s = paged_state(p, Mode::Paged32, 0x12);
    s.gdtr = {.base = 0xD000, .limit = 0x27};
    s[Gpr::ESI] = 0x10000;
    s[Gpr::ECX] = 0x1000;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception);
    EXPECT_EQ(exit.vector, 14);
    EXPECT_EQ(exit.error_code, 5u);
    EXPECT_EQ(p.blocks.emu.state().cr2, 0x12000u);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ESI], 0x12000u);
    EXPECT_EQ(p.blocks.emu.state().cpl(), 3u);
    EXPECT_GT(in_blocks(p), 4 * 0x800u - 100);
}

// L: add eax, 1 ; xor byte [kCodeAlias + 2], 3 ; dec ecx ; jnz L ; hlt — the XOR rewrites the
// ADD's immediate (1, 2, 1, ...) through the alias page: the engine's store check must see
// the code's physical address. 1,000 passes add 500 * 1 + 500 * 2.
TEST(BlockPaging, EngineStoreThroughAnAliasRewritesTheCode) {
    Pair p;
    p.load(kCode,
           {0x83, 0xC0, 0x01, 0x80, 0x35, 0x02, 0x30, 0x00, 0x00, 0x03, 0x49, 0x75, 0xF3, 0xF4});
    CpuState s = paged_state(p, Mode::Paged32);
    s[Gpr::ECX] = 1000;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 1500u);
}

// The same with BTC, which the engine leaves to the interpreter: bit 16 of the dword at
// kCodeAlias is the ADD's immediate's bit 0 (1, 0, 1, ...). The interpreter's store goes
// through its TLB straight to the page, and must still end the engine's epoch: 1,000 passes
// add 500.
TEST(BlockPaging, InterpretedStoreThroughAnAliasRewritesTheCode) {
    Pair p;
    p.load(kCode, {0x83, 0xC0, 0x01, 0x0F, 0xBA, 0x3D, 0x00, 0x30, 0x00, 0x00, 0x10, 0x49, 0x75,
                   0xF2, 0xF4});
    CpuState s = paged_state(p, Mode::Paged32);
    s[Gpr::ECX] = 1000;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 500u);
    EXPECT_GT(in_blocks(p), 1000u);
}

} // namespace

} // namespace transit86
