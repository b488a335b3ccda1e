// The block engine against the interpreter it stands in for: the same programs, the same
// run() calls, on an emulator with the engine and one with set_decode_cache(false) (every
// instruction interpreted). The interpreter is the reference the differential campaigns check
// against KVM, Unicorn and the 80286 vectors; here every exit, the whole CpuState and all of
// RAM must be identical after each run() — exits, budgets and faults included.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

namespace {

constexpr uint32_t kRam = 1u << 20;    // RAM at 0; above it, MMIO
constexpr uint32_t kRomBase = 0xF0000; // a read-only slot inside: stores there exit as MMIO
constexpr uint32_t kCode = 0x1000;

enum class Mode { Real16, RealCode32, Protected32, Protected16, Virtual8086 };

// The read-only slot's host bytes start kRomGap bytes after the RAM slot's end: an access
// that strays across a slot's start lands in the gap, not silently in the neighbour.
constexpr uint32_t kRomGap = 64;
uint32_t host_offset(uint32_t address) {
    return address < kRomBase ? address : address + kRomGap;
}

// One emulator over its own copy of guest memory.
struct Machine {
    explicit Machine(bool block_engine) : ram(kRam + kRomGap), slots{make_slots(ram)}, emu(slots) {
        emu.set_decode_cache(block_engine);
    }
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
    Exit run(const RunLimits& limits) {
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
    void complete_mmio(uint64_t data) {
        blocks.emu.complete_mmio(data);
        interpreter.emu.complete_mmio(data);
    }
};

SegmentCache cache(uint16_t selector, uint32_t base, uint32_t limit, uint32_t access_rights) {
    return {.base = base, .limit = limit, .access_rights = access_rights, .selector = selector};
}

CpuState start_state(Mode mode) {
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

const RunLimits kRunToHost{
    .budget = 5000000, .stop_when_valid = std::nullopt, .exceptions_to_host = true};

// ---- named behaviours

// mov ecx, N ; L: add eax, ebx ; dec ecx ; jnz L ; hlt   (the register loop of bench/)
TEST(BlockEngine, RegisterLoopRunsInBlocksWithTheInterpretersResult) {
    Pair p;
    p.load(kCode, {0x66, 0xB9, 0x10, 0x27, 0, 0, 0x66, 0x01, 0xD8, 0x66, 0x49, 0x75, 0xF9, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::EBX] = 3;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(exit.instructions, 1u + 3 * 10000 + 1);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 30000u);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 29000u);
    EXPECT_EQ(p.interpreter.emu.engine_stats().in_blocks, 0u);
}

// Every budget from 1 to 40 stops at the same instruction, blocks or not (the engine runs a
// block only when it fits in what is left).
TEST(BlockEngine, BudgetStopsAtTheSameInstructionAsTheInterpreter) {
    for (uint64_t budget = 1; budget <= 40; ++budget) {
        Pair p;
        p.load(kCode, {0x66, 0xB9, 0x10, 0, 0, 0, 0x66, 0x01, 0xD8, 0x66, 0x49, 0x75, 0xF9, 0xF4});
        p.set_state(start_state(Mode::Real16));
        for (int run = 0; run < 3; ++run) // warm, then from the middle of the loop
            p.run(RunLimits{.budget = budget, .stop_when_valid = std::nullopt});
    }
}

// L: mov byte [cs:patch+1], al ; inc al ; patch: mov bl, 0 ; add cl, bl ; dec dx ; jnz L ; hlt
// The store rewrites an immediate later in its own block: each pass must use the new byte.
TEST(BlockEngine, StoreIntoTheRunningBlockTakesEffectAtOnce) {
    Pair p;
    p.load(kCode,
           {0x2E, 0xA2, 0x07, 0x10, 0xFE, 0xC0, 0xB3, 0x00, 0x00, 0xD9, 0x4A, 0x75, 0xF3, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::EAX] = 1;
    s[Gpr::EDX] = 10;
    p.set_state(s);
    EXPECT_EQ(p.run(kRunToHost).reason, ExitReason::Halt);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ECX] & 0xFF, 1u + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10);
}

// The host rewrites the loop body between two runs (as a VMM loading code would).
TEST(BlockEngine, HostWriteBetweenRunsTakesEffect) {
    Pair p;
    // L: add ax, 1 ; dec cx ; jnz L ; hlt
    p.load(kCode, {0x83, 0xC0, 0x01, 0x49, 0x75, 0xFA, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ECX] = 100;
    p.set_state(s);
    p.run(kRunToHost);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 100u);
    p.load(kCode + 2, {0x05}); // add ax, 5
    s[Gpr::EAX] = 0;
    p.set_state(s);
    p.run(kRunToHost);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 500u);
}

// L: mov ax, [si] ; inc si ; jmp L — the word at SI = FFFF crosses the 64 KiB limit: #GP(0)
// at the load, with every earlier iteration retired (SDM Vol. 3A 20.1.1).
TEST(BlockEngine, LimitFaultInsideABlockIsPreciseWithTheInterpreter) {
    Pair p;
    p.load(kCode, {0x8B, 0x04, 0x46, 0xEB, 0xFB});
    CpuState s = start_state(Mode::Real16);
    s[Gpr::ESI] = 0xFF00;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception);
    EXPECT_EQ(exit.vector, 13);
    EXPECT_EQ(p.blocks.emu.state().eip, kCode);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ESI], 0xFFFFu);
}

// L: mov [di], al ; inc di ; jmp L with ES:DI walking into the read-only slot: an MMIO write
// exit at the first byte there, resumed by the host, then the next.
TEST(BlockEngine, StoreIntoReadOnlyMemoryExitsAsMmioAtTheSameInstruction) {
    Pair p;
    p.load(kCode, {0x26, 0x88, 0x05, 0x47, 0xEB, 0xFA});
    CpuState s = start_state(Mode::Real16);
    s[Seg::ES] = cache(0xE010, 0xE0100, 0xFFFF, 0x93);
    s[Gpr::EDI] = 0xFEF0; // 16 stores below the read-only slot
    s[Gpr::EAX] = 0x5A;
    p.set_state(s);
    Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, kRomBase);
    EXPECT_TRUE(exit.mmio_write);
    p.complete_mmio(0);
    exit = p.run(RunLimits{.budget = 4, .stop_when_valid = std::nullopt});
    EXPECT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, kRomBase + 1);
}

// The same loop running from the read-only slot itself (firmware code in ROM): the engine
// runs in that slot's window, and its stores there must still exit.
TEST(BlockEngine, StoreFromRomCodeIntoRomExitsAsMmio) {
    Pair p;
    p.load(kRomBase + 0x1000, {0x26, 0x88, 0x05, 0x47, 0xEB, 0xFA});
    CpuState s = start_state(Mode::Real16);
    s[Seg::CS] = cache(0xF000, kRomBase, 0xFFFF, 0x9B);
    s[Seg::ES] = cache(0xE010, 0xE0100, 0xFFFF, 0x93);
    s[Gpr::EDI] = 0xFEF0; // the last RAM byte, just below the slot the code runs in, included
    s[Gpr::EAX] = 0x5A;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Mmio);
    EXPECT_EQ(exit.mmio_address, kRomBase);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 0u);
}

// jnz to a target beyond a small CS limit: #GP(0) at the Jcc (SDM Jcc), after the loop ran.
TEST(BlockEngine, BranchBeyondTheCsLimitFaultsAtTheBranch) {
    Pair p;
    // L: dec cx ; jz out ; jmp L    out is 0x2000, beyond CS.limit 0x1FFF
    p.load(kCode, {0x49, 0x0F, 0x84, 0xFB, 0x0F, 0xEB, 0xF9});
    CpuState s = start_state(Mode::Real16);
    s[Seg::CS].limit = 0x1FFF;
    s[Gpr::ECX] = 50;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception);
    EXPECT_EQ(exit.vector, 13);
    EXPECT_EQ(p.blocks.emu.state().eip, kCode + 1);
}

// LOOP whose target is beyond the CS limit: #GP(0) at the LOOP with CX not yet decremented
// (SDM LOOP: the check comes before the counter changes EIP; the interpreter rolls it back).
TEST(BlockEngine, LoopBeyondTheCsLimitFaultsWithTheCounterUnchanged) {
    Pair p;
    // L: inc ax ; loop L+0x82 ; mov cx, dx ; dec dx ; jnz L ; hlt   (at 1F00, CS.limit 1F80)
    p.load(0x1F00, {0x40, 0xE2, 0x7F, 0x89, 0xD1, 0x4A, 0x75, 0xF8, 0xF4});
    CpuState s = start_state(Mode::Real16);
    s.eip = 0x1F00;
    s[Seg::CS].limit = 0x1F80;
    s[Gpr::ECX] = 1;
    s[Gpr::EDX] = 5;
    p.set_state(s);
    const Exit exit = p.run(kRunToHost);
    EXPECT_EQ(exit.reason, ExitReason::Exception);
    EXPECT_EQ(exit.vector, 13);
    EXPECT_EQ(p.blocks.emu.state().eip, 0x1F01u);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::ECX], 5u);
}

// A loop in the invalid window (CS still a real-mode data-type cache under CR0.PE = 1) that
// ends with the far jump making the state valid: the kvm profile stops at the same boundary,
// blocks or not.
TEST(BlockEngine, StopWhenValidStopsAtTheSameBoundary) {
    Pair p;
    // L: inc ax ; cmp ax, 300 ; jne L ; jmp far 0x08:0x1020 ; (0x1020) hlt
    p.load(kCode, {0x40, 0x3D, 0x2C, 0x01, 0x75, 0xFA, 0xEA, 0x20, 0x10, 0x08, 0x00});
    p.load(kCode + 0x20, {0xF4});
    p.load(0x600, {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0});
    CpuState s = start_state(Mode::Real16);
    s.cr0 |= cr0::PE;
    s[Seg::CS].access_rights = 0x93;
    s.gdtr = {.base = 0x600, .limit = 0xF};
    p.set_state(s);
    const Exit exit = p.run(RunLimits{.budget = 0, .stop_when_valid = vmx::Profile::Kvm});
    EXPECT_EQ(exit.reason, ExitReason::GuestStateValid);
    EXPECT_EQ(p.blocks.emu.state()[Gpr::EAX], 300u);
    EXPECT_EQ(p.blocks.emu.state().eip, kCode + 0x20);
    EXPECT_GT(p.blocks.emu.engine_stats().in_blocks, 500u);
}

// ---- random programs

// Random encodings of the forms the engine translates (and some it does not), with random
// ModRM bytes, displacements, prefixes and registers, looping back to the start; segments with
// random bases, limits and types. Memory operands land in the code (self-modifying stores),
// in the read-only slot, beyond RAM (MMIO) and beyond the limits (faults).
class ProgramGenerator {
  public:
    ProgramGenerator(uint32_t seed, Mode mode) : engine_(seed), mode_(mode) {}

    std::vector<uint8_t> program() {
        std::vector<uint8_t> code;
        const int count = 4 + static_cast<int>(rng_() % 14);
        for (int i = 0; i < count; ++i)
            append_instruction(code);
        // jmp start (rel16/rel32 by the code size; in 32-bit code rel32)
        const bool code32 = mode_ == Mode::Protected32 || mode_ == Mode::RealCode32;
        const auto rel = static_cast<int32_t>(-(code.size() + (code32 ? 5 : 3)));
        code.push_back(0xE9);
        for (int b = 0; b < (code32 ? 4 : 2); ++b)
            code.push_back(static_cast<uint8_t>(rel >> (8 * b)));
        return code;
    }

    CpuState state() {
        CpuState s = start_state(mode_);
        for (uint32_t& r : s.gpr)
            r = register_value();
        s[Gpr::ESP] = 0x8000;
        s.eflags |= static_cast<uint32_t>(rng_()) & flags::Status;
        for (Seg seg : {Seg::DS, Seg::ES, Seg::SS, Seg::FS, Seg::GS})
            randomize(s, seg);
        return s;
    }

    uint64_t budget() { return 1 + rng_() % 3000; }

  private:
    uint32_t register_value() {
        switch (rng_() % 5) {
        case 0: return rng_() % 0x400;
        case 1: return 0xFFF0 + rng_() % 0x20;
        case 2: return kCode + rng_() % 0x40; // the code: self-modifying stores
        case 3: return 0xE0000 + rng_() % 0x20000;
        default: return static_cast<uint32_t>(rng_());
        }
    }

    void randomize(CpuState& s, Seg seg) {
        SegmentCache& sc = s[seg];
        const uint32_t choice = rng_() % 10;
        sc.base = choice < 4 ? 0 : (rng_() % 0x10) << 16 | (rng_() % 0x10) << 4;
        if (choice == 9)
            sc.limit = 0xFFFFFFFF; // unreal / flat
        else if (choice == 8)
            sc.limit = rng_() % 0x2000;
        const bool protected_mode = mode_ == Mode::Protected32 || mode_ == Mode::Protected16;
        if (protected_mode && seg != Seg::SS) {
            const uint32_t types[] = {0x93, 0x93, 0x91, 0x9B, 0x99, 0x97, ar::kUnusable};
            sc.access_rights = types[rng_() % std::size(types)] | (sc.access_rights & 0xC000);
        } else if (rng_() % 12 == 0) {
            sc.access_rights = (sc.access_rights & ~0xFu) | 0x7; // expand-down data
        }
    }

    uint8_t byte() { return static_cast<uint8_t>(rng_()); }

    // A ModRM byte and the displacement its mod/rm select (16- or 32-bit addressing).
    void modrm(std::vector<uint8_t>& code, bool address32, int forced_reg = -1) {
        uint8_t m = byte();
        if (forced_reg >= 0) m = static_cast<uint8_t>((m & 0xC7) | (forced_reg << 3));
        code.push_back(m);
        const uint8_t mod = m >> 6, rm = m & 7;
        if (mod == 3) return;
        int disp = mod == 1 ? 1 : mod == 2 ? (address32 ? 4 : 2) : 0;
        if (address32 && rm == 4) { // SIB
            const uint8_t sib = byte();
            code.push_back(sib);
            if (mod == 0 && (sib & 7) == 5) disp = 4;
        }
        if (mod == 0 && !address32 && rm == 6) disp = 2;
        if (mod == 0 && address32 && rm == 5) disp = 4;
        for (int i = 0; i < disp; ++i)
            code.push_back(i == 0 ? byte() : static_cast<uint8_t>(rng_() % 3 == 0 ? byte() : 0));
    }

    void immediate(std::vector<uint8_t>& code, int bytes) {
        for (int i = 0; i < bytes; ++i)
            code.push_back(byte());
    }

    // call sub ; jmp short over ; sub: <one register instruction> ; ret [imm16] ; over:
    void append_subroutine_call(std::vector<uint8_t>& code, bool operand32) {
        const bool ret_imm = rng_() % 4 == 0;
        const uint8_t body = static_cast<uint8_t>(2 + (ret_imm ? 3 : 1));
        code.push_back(0xE8); // call rel16/rel32 (with the operand size), to sub
        for (int b = 0; b < (operand32 ? 4 : 2); ++b)
            code.push_back(b == 0 ? 2 : 0);
        code.push_back(0xEB); // jmp short over
        code.push_back(body);
        code.push_back(static_cast<uint8_t>((rng_() % 8) << 3 | 1)); // add/or/.. r, r
        code.push_back(static_cast<uint8_t>(0xC0 | (rng_() % 64)));
        if (ret_imm) {
            code.push_back(0xC2);
            code.push_back(static_cast<uint8_t>(rng_() % 3 * 2));
            code.push_back(0);
        } else {
            code.push_back(0xC3);
        }
    }

    void append_instruction(std::vector<uint8_t>& code) {
        const bool code32 = mode_ == Mode::Protected32 || mode_ == Mode::RealCode32;
        bool operand32 = code32, address32 = code32;
        if (rng_() % 8 == 0) {
            code.push_back(0x66);
            operand32 = !operand32;
        }
        if (rng_() % 10 == 0) {
            code.push_back(0x67);
            address32 = !address32;
        }
        if (rng_() % 6 == 0) {
            const uint8_t overrides[] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
            code.push_back(overrides[rng_() % 6]);
        }
        const int imm_v = operand32 ? 4 : 2;
        switch (rng_() % 21) {
        case 0:
        case 1: // add/or/adc/sbb/and/sub/xor/cmp r/m, r and r, r/m
            code.push_back(static_cast<uint8_t>((rng_() % 8) << 3 | (rng_() % 4)));
            modrm(code, address32);
            break;
        case 2: { // 80 / 81 / 83 group 1 with an immediate
            const uint8_t op = std::array<uint8_t, 3>{0x80, 0x81, 0x83}[rng_() % 3];
            code.push_back(op);
            modrm(code, address32);
            immediate(code, op == 0x81 ? imm_v : 1);
            break;
        }
        case 3:
        case 4: // mov r/m, r ; mov r, r/m
            code.push_back(static_cast<uint8_t>(0x88 + rng_() % 4));
            modrm(code, address32);
            break;
        case 5: { // mov r/m, imm
            const bool byte_form = rng_() % 2;
            code.push_back(byte_form ? 0xC6 : 0xC7);
            modrm(code, address32, 0);
            immediate(code, byte_form ? 1 : imm_v);
            break;
        }
        case 6: // mov r, imm ; inc r ; dec r
            if (rng_() % 2) {
                const uint8_t op = static_cast<uint8_t>(0xB0 + rng_() % 16);
                code.push_back(op);
                immediate(code, op < 0xB8 ? 1 : imm_v);
            } else {
                code.push_back(static_cast<uint8_t>(0x40 + rng_() % 16));
            }
            break;
        case 7: // inc r/m ; dec r/m
            code.push_back(rng_() % 2 ? 0xFE : 0xFF);
            modrm(code, address32, static_cast<int>(rng_() % 2));
            break;
        case 8: // lea r, m
            code.push_back(0x8D);
            modrm(code, address32);
            if ((code[code.size() - 1] >> 6) == 3) code.back() &= 0x3F;
            break;
        case 9: // test r/m, r ; test al/eax, imm
            if (rng_() % 2) {
                code.push_back(rng_() % 2 ? 0x84 : 0x85);
                modrm(code, address32);
            } else {
                code.push_back(rng_() % 2 ? 0xA8 : 0xA9);
                immediate(code, code.back() == 0xA8 ? 1 : imm_v);
            }
            break;
        case 10: // jcc rel8 over 0..2 bytes (a block end that falls through or skips a nop)
            code.push_back(static_cast<uint8_t>(0x70 + rng_() % 16));
            code.push_back(0);
            break;
        case 11: // mov al/ax, moffs ; mov moffs, al/ax
            code.push_back(static_cast<uint8_t>(0xA0 + rng_() % 4));
            immediate(code, address32 ? 4 : 2);
            break;
        case 12: { // flags: sahf, lahf, clc, stc, cmc, nop
            const uint8_t ops[] = {0x9E, 0x9F, 0xF8, 0xF9, 0xF5, 0x90};
            code.push_back(ops[rng_() % std::size(ops)]);
            break;
        }
        case 13: { // not translated: shifts, xchg with memory, push imm, popf-free flags moves
            const uint32_t pick = rng_() % 3;
            code.push_back(pick == 0 ? 0xD1 : pick == 1 ? 0x87 : 0x6A);
            if (pick == 2)
                code.push_back(byte());
            else
                modrm(code, address32);
            break;
        }
        case 14: // call a subroutine of one instruction: call sub ; jmp short over ; sub: ... ret
            append_subroutine_call(code, operand32);
            break;
        case 15: // push r ; pop r (any register, ESP included)
            code.push_back(static_cast<uint8_t>(0x50 + rng_() % 8));
            if (rng_() % 2) code.push_back(static_cast<uint8_t>(0x58 + rng_() % 8));
            break;
        case 16: // loop / loope / loopne / jcxz +0
            code.push_back(static_cast<uint8_t>(0xE0 + rng_() % 4));
            code.push_back(0);
            break;
        case 17: { // movzx / movsx r, r/m8|16
            const uint8_t ops[] = {0xB6, 0xB7, 0xBE, 0xBF};
            code.push_back(0x0F);
            code.push_back(ops[rng_() % 4]);
            modrm(code, address32);
            break;
        }
        case 18: { // xchg r, r ; clc ; stc ; cmc ; ret (to whatever the stack holds)
            const uint8_t ops[] = {0x87, 0x86, 0xF8, 0xF9, 0xF5, 0xC3};
            const uint8_t op = ops[rng_() % std::size(ops)];
            code.push_back(op);
            if (op == 0x87 || op == 0x86) code.push_back(static_cast<uint8_t>(0xC0 | rng_() % 64));
            break;
        }
        case 19: { // movs / cmps / stos / lods / scas, sometimes with REP, sometimes after STD
            const uint8_t ops[] = {0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF};
            if (rng_() % 6 == 0) code.push_back(rng_() % 2 ? 0xFD : 0xFC); // std / cld
            if (rng_() % 5 == 0) code.push_back(rng_() % 2 ? 0xF3 : 0xF2);
            code.push_back(ops[rng_() % std::size(ops)]);
            break;
        }
        default: // the common loop forms: register ALU and moves
            code.push_back(static_cast<uint8_t>((rng_() % 8) << 3 | 1));
            code.push_back(static_cast<uint8_t>(0xC0 | (rng_() % 64)));
            break;
        }
    }

    uint32_t rng_() { return static_cast<uint32_t>(engine_()); }

    std::mt19937 engine_;
    Mode mode_;
};

void run_random_programs(Mode mode, uint32_t seed, int count, uint64_t& in_blocks) {
    for (int i = 0; i < count; ++i) {
        ProgramGenerator gen(seed + static_cast<uint32_t>(i), mode);
        Pair p;
        p.load(kCode, gen.program());
        p.set_state(gen.state());
        // Several runs with random budgets; MMIO completed, anything else ends the case.
        for (int run = 0; run < 12; ++run) {
            const Exit exit = p.run(RunLimits{.budget = gen.budget(),
                                              .stop_when_valid = std::nullopt,
                                              .exceptions_to_host = true});
            if (::testing::Test::HasFailure()) {
                ADD_FAILURE() << "seed " << seed + i << ", run " << run;
                return;
            }
            if (exit.reason == ExitReason::Mmio)
                p.complete_mmio(0x1234);
            else if (exit.reason != ExitReason::Budget)
                break;
        }
        in_blocks += p.blocks.emu.engine_stats().in_blocks;
    }
}

struct RandomCase {
    const char* name;
    Mode mode;
};

class BlockEngineRandom : public ::testing::TestWithParam<RandomCase> {};

// A number from the environment, or `fallback`: TRANSIT86_BLOCK_PROGRAMS and
// TRANSIT86_BLOCK_SEED turn this test into a longer campaign (docs/differential.md).
uint32_t from_environment(const char* name, uint32_t fallback) {
    const char* text = std::getenv(name);
    return text ? static_cast<uint32_t>(std::strtoul(text, nullptr, 0)) : fallback;
}

TEST_P(BlockEngineRandom, ProgramsMatchTheInterpreterRunByRun) {
    uint64_t in_blocks = 0;
    const uint32_t seed = from_environment("TRANSIT86_BLOCK_SEED", 0xB10C0000u) +
                          static_cast<uint32_t>(GetParam().mode) * 7919;
    const auto count = static_cast<int>(from_environment("TRANSIT86_BLOCK_PROGRAMS", 1000));
    run_random_programs(GetParam().mode, seed, count, in_blocks);
    // The comparison means something only if blocks ran: most of these loops are translated.
    EXPECT_GT(in_blocks, 100000u);
}

INSTANTIATE_TEST_SUITE_P(Modes, BlockEngineRandom,
                         ::testing::Values(RandomCase{"Real16", Mode::Real16},
                                           RandomCase{"RealCode32", Mode::RealCode32},
                                           RandomCase{"Protected32", Mode::Protected32},
                                           RandomCase{"Protected16", Mode::Protected16},
                                           RandomCase{"Virtual8086", Mode::Virtual8086}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

} // namespace

} // namespace transit86
