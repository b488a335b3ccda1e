// The block engine checked against independent engines: random loops of the instructions it
// translates (MOV, the ALU class, TEST, INC/DEC, LEA, MOVZX/MOVSX, XCHG, PUSH/POP, CALL/RET,
// LOOP/JCXZ, CLC/STC/CMC, MOVS/STOS/LODS/CMPS/SCAS, NOP, Jcc, JMP, shifts and rotates,
// MUL/IMUL, NEG/NOT, SETcc, CMOVcc, CBW/CWD, PUSHF/POPF), run on transit86 as one
// run() — so whole blocks execute with lazy flags and per-block budgets — and stepped the same
// number of instructions on Unicorn 2 and on KVM. Registers, EIP, EFLAGS and all of guest RAM
// must then agree. tests/emu/block_engine_test.cpp compares the same engine with the
// interpreter instruction by instruction; this is the check that does not trust either.
//
// The programs keep to what both oracles do as the SDM says (docs/known-differences.md): no
// undefined flags (every flag these instructions write is defined; AF after a logical operation
// is 0 on all three), no segment limit faults compared (Unicorn checks no limits, so a case
// stops being compared at transit86's first exit), real mode with plain caches and flat 32-bit
// protected mode (what Unicorn can import).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "oracle/kvm_stepper.hpp"
#include "oracle/state_diff.hpp"
#include "oracle/unicorn_runner.hpp"
#include "transit86/emulator.hpp"

namespace transit86::oracle {

namespace {

constexpr uint64_t kRam = 16u << 20; // the oracles' default RAM
// Code where no data access reaches it: stores into code could make any instruction, and
// self-modifying code is checked against the interpreter (tests/emu/block_engine_test.cpp).
// Real mode: code at 0000:1000, data and stack segments at 10000 and above; flat 32-bit: code
// at 2 MiB, data addresses below 256 KiB (registers < 10000H, scale <= 2, small displacements).
constexpr uint32_t kRealCode = 0x1000;
constexpr uint32_t kFlatCode = 0x200000;
constexpr uint32_t kGdt = 0x500;
constexpr uint64_t kBudget = 3000;

struct Program {
    std::vector<uint8_t> code;
    uint32_t address = 0;
    CpuState start;
};

// Random loops of translated forms with random ModRM bytes; registers hold small values (and
// sometimes the code's own address, so stores rewrite the loop).
class LoopGenerator {
  public:
    LoopGenerator(uint32_t seed, bool protected32) : engine_(seed), protected32_(protected32) {}

    Program program() {
        Program p;
        const int count = 3 + static_cast<int>(next() % 12);
        for (int i = 0; i < count; ++i)
            append_instruction(p.code);
        const auto rel = static_cast<int32_t>(-(p.code.size() + (protected32_ ? 5 : 3)));
        p.code.push_back(0xE9); // jmp back to the start
        for (int b = 0; b < (protected32_ ? 4 : 2); ++b)
            p.code.push_back(static_cast<uint8_t>(rel >> (8 * b)));
        p.start = protected32_ ? flat_state() : real_state();
        p.address = protected32_ ? kFlatCode : kRealCode;
        for (uint32_t& r : p.start.gpr)
            r = next() % 0x10000;
        p.start[Gpr::ESP] = 0x8000;
        p.start.eflags = flags::Fixed1 | (next() & flags::Status);
        return p;
    }

    static std::vector<uint8_t> gdt() {
        // Accessed bits set: loading a selector (as Unicorn's set_state does) would set them.
        const uint64_t entries[] = {0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull};
        std::vector<uint8_t> bytes(sizeof(entries));
        std::memcpy(bytes.data(), entries, sizeof(entries));
        return bytes;
    }

  private:
    uint32_t next() { return static_cast<uint32_t>(engine_()); }
    uint8_t byte() { return static_cast<uint8_t>(next()); }

    CpuState real_state() {
        CpuState s{};
        s.cr0 = cr0::ET;
        s.eip = kRealCode;
        for (auto& sc : s.seg)
            sc = {.base = 0, .limit = 0xFFFF, .access_rights = 0x93, .selector = 0};
        s[Seg::CS].access_rights = 0x9B;
        for (Seg seg : {Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS}) { // bases from selectors
            const auto selector = static_cast<uint16_t>(0x1000 * (1 + next() % 7));
            s[seg].selector = selector;
            s[seg].base = uint32_t{selector} << 4;
        }
        s.idtr = {.base = 0, .limit = 0x3FF};
        s.ldtr = {.base = 0, .limit = 0, .access_rights = ar::kUnusable, .selector = 0};
        s.tr = {.base = 0, .limit = 0xFFFF, .access_rights = 0x8B, .selector = 0};
        return s;
    }

    static CpuState flat_state() {
        CpuState s{};
        s.cr0 = cr0::ET | cr0::PE;
        s.eip = kFlatCode;
        s.gdtr = {.base = kGdt, .limit = 0x17};
        for (auto& sc : s.seg)
            sc = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = 0x10};
        s[Seg::CS] = {.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = 0x08};
        s.ldtr = {.base = 0, .limit = 0, .access_rights = ar::kUnusable, .selector = 0};
        s.tr = {.base = 0x900, .limit = 0x67, .access_rights = 0x8B, .selector = 0};
        return s;
    }

    void modrm(std::vector<uint8_t>& code, int forced_reg = -1) {
        uint8_t m = byte();
        if (forced_reg >= 0) m = static_cast<uint8_t>((m & 0xC7) | (forced_reg << 3));
        code.push_back(m);
        const uint8_t mod = m >> 6, rm = m & 7;
        if (mod == 3) return;
        int disp = mod == 1 ? 1 : mod == 2 ? (protected32_ ? 4 : 2) : 0;
        if (protected32_ && rm == 4) {
            const auto sib = static_cast<uint8_t>(byte() & 0x7F); // scale <= 2: stays in RAM
            code.push_back(sib);
            if (mod == 0 && (sib & 7) == 5) disp = 4;
        }
        if (mod == 0 && !protected32_ && rm == 6) disp = 2;
        if (mod == 0 && protected32_ && rm == 5) disp = 4;
        for (int i = 0; i < disp; ++i)
            code.push_back(i == 0 ? byte() : 0);
    }

    void immediate(std::vector<uint8_t>& code, int bytes) {
        for (int i = 0; i < bytes; ++i)
            code.push_back(byte());
    }

    void append_instruction(std::vector<uint8_t>& code) {
        bool operand32 = protected32_;
        if (next() % 8 == 0) {
            code.push_back(0x66);
            operand32 = !operand32;
        }
        const int imm_v = operand32 ? 4 : 2;
        switch (next() % 19) {
        case 0: // add/or/adc/sbb/and/sub/xor/cmp, both directions, both widths
            code.push_back(static_cast<uint8_t>((next() % 8) << 3 | (next() % 4)));
            modrm(code);
            break;
        case 1: { // group 1 with an immediate
            const uint8_t ops[] = {0x80, 0x81, 0x83};
            const uint8_t op = ops[next() % 3];
            code.push_back(op);
            modrm(code);
            immediate(code, op == 0x81 ? imm_v : 1);
            break;
        }
        case 2: // mov r/m, r ; mov r, r/m
            code.push_back(static_cast<uint8_t>(0x88 + next() % 4));
            modrm(code);
            break;
        case 3: { // mov r/m, imm
            const bool byte_form = next() % 2;
            code.push_back(byte_form ? 0xC6 : 0xC7);
            modrm(code, 0);
            immediate(code, byte_form ? 1 : imm_v);
            break;
        }
        case 4: { // mov r, imm (not ESP: the stack stays put)
            const auto reg = static_cast<uint8_t>(next() % 16);
            code.push_back(static_cast<uint8_t>(0xB0 + (reg == 12 ? 13 : reg)));
            immediate(code, reg < 8 ? 1 : imm_v);
            break;
        }
        case 5: // inc r ; dec r
            code.push_back(static_cast<uint8_t>(0x40 + next() % 16));
            break;
        case 6: // inc r/m ; dec r/m
            code.push_back(next() % 2 ? 0xFE : 0xFF);
            modrm(code, static_cast<int>(next() % 2));
            break;
        case 7: { // lea r, m
            code.push_back(0x8D);
            uint8_t m = byte();
            if ((m >> 6) == 3) m &= 0x7F; // a memory form
            code.push_back(m);
            const uint8_t mod = m >> 6, rm = m & 7;
            int disp = mod == 1 ? 1 : mod == 2 ? (protected32_ ? 4 : 2) : 0;
            if (protected32_ && rm == 4) {
                code.push_back(byte());
                if (mod == 0 && (code.back() & 7) == 5) disp = 4;
            }
            if (mod == 0 && !protected32_ && rm == 6) disp = 2;
            if (mod == 0 && protected32_ && rm == 5) disp = 4;
            immediate(code, disp);
            break;
        }
        case 8: // test r/m, r
            code.push_back(next() % 2 ? 0x84 : 0x85);
            modrm(code);
            break;
        case 9: // jcc +0: a block end whichever way it goes
            code.push_back(static_cast<uint8_t>(0x70 + next() % 16));
            code.push_back(0);
            break;
        case 11: { // call sub ; jmp short over ; sub: add/or/.. r, r ; ret ; over:
            code.push_back(0xE8);
            for (int b = 0; b < (operand32 ? 4 : 2); ++b)
                code.push_back(b == 0 ? 2 : 0);
            const bool prefixed_ret = operand32 != protected32_;
            code.push_back(0xEB);
            code.push_back(prefixed_ret ? 4 : 3);
            code.push_back(static_cast<uint8_t>((next() % 8) << 3 | 1));
            code.push_back(static_cast<uint8_t>(0xC0 | (next() % 64)));
            if (prefixed_ret) code.push_back(0x66); // the RET pops what the CALL pushed
            code.push_back(0xC3);
            break;
        }
        case 12: { // push r ; pop r (ESP left alone)
            const auto pushed = static_cast<uint8_t>(next() % 8),
                       popped = static_cast<uint8_t>(next() % 8);
            code.push_back(static_cast<uint8_t>(0x50 + pushed));
            if (operand32 != protected32_) code.push_back(0x66);
            code.push_back(static_cast<uint8_t>(0x58 + (popped == 4 ? 5 : popped)));
            break;
        }
        case 13: // loop / loope / loopne / jcxz +0
            code.push_back(static_cast<uint8_t>(0xE0 + next() % 4));
            code.push_back(0);
            break;
        case 14: { // movzx / movsx r, r/m ; xchg r, r/m ; clc ; stc ; cmc
            const uint8_t ops[] = {0xB6, 0xB7, 0xBE, 0xBF, 0x87, 0x86, 0xF8, 0xF9, 0xF5};
            const uint8_t op = ops[next() % std::size(ops)];
            if (op >= 0xB6) {
                code.push_back(0x0F);
                code.push_back(op);
                modrm(code);
            } else if (op == 0x87 || op == 0x86) {
                code.push_back(op);
                if (next() % 2)
                    code.push_back(static_cast<uint8_t>(0xC0 | (next() % 64)));
                else
                    modrm(code); // with memory: an atomic exchange in the block engine
            } else {
                code.push_back(op);
            }
            break;
        }
        case 15: { // movs / cmps / stos / lods / scas once, sometimes after STD or CLD
            const uint8_t ops[] = {0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF};
            if (next() % 4 == 0) code.push_back(next() % 2 ? 0xFD : 0xFC);
            code.push_back(ops[next() % std::size(ops)]);
            break;
        }
        case 16: { // a shift, rotate, MUL, IMUL, NEG or NOT, then add/or/../cmp r, r: the
                   // flags the first leaves undefined (AF; OF above count 1; SF ZF PF after
                   // a multiplication) are written again before anything reads them
            const uint32_t pick = next() % 4;
            if (pick == 0) { // rol/ror/rcl/rcr/shl/shr/sar r/m, 1|cl|imm8
                const uint8_t ops[] = {0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3};
                const uint8_t op = ops[next() % std::size(ops)];
                code.push_back(op);
                modrm(code, static_cast<int>(next() % 8 == 6 ? 4 : next() % 8));
                if (op <= 0xC1) code.push_back(static_cast<uint8_t>(next() % 40));
            } else if (pick == 1) { // not/neg/mul/imul r/m
                code.push_back(next() % 2 ? 0xF6 : 0xF7);
                modrm(code, static_cast<int>(2 + next() % 4));
            } else if (pick == 2) { // imul r, r/m
                code.push_back(0x0F);
                code.push_back(0xAF);
                modrm(code);
            } else { // imul r, r/m, imm8|imm
                const bool imm8 = next() % 2;
                code.push_back(imm8 ? 0x6B : 0x69);
                modrm(code);
                immediate(code, imm8 ? 1 : imm_v);
            }
            code.push_back(static_cast<uint8_t>((next() % 8) << 3 | 1));
            code.push_back(static_cast<uint8_t>(0xC0 | (next() % 64)));
            break;
        }
        case 17: // setcc r/m8 ; cmovcc r, r/m
            code.push_back(0x0F);
            code.push_back(static_cast<uint8_t>((next() % 2 ? 0x90 : 0x40) + next() % 16));
            modrm(code);
            break;
        case 18: { // cbw/cwde ; cwd/cdq ; pushf ; popf (with the operand size pushf had)
            const uint32_t pick = next() % 3;
            if (pick == 2) {
                code.push_back(0x9C);
                if (operand32 != protected32_) code.push_back(0x66);
                code.push_back(0x9D);
            } else {
                code.push_back(pick == 0 ? 0x98 : 0x99);
            }
            break;
        }
        default: // the register forms loops are made of
            code.push_back(static_cast<uint8_t>((next() % 8) << 3 | 1));
            code.push_back(static_cast<uint8_t>(0xC0 | (next() % 64)));
            break;
        }
    }

    std::mt19937 engine_;
    bool protected32_;
};

// What one oracle needs to offer: load, set_state, step (returning its state after the step, or
// nothing when the oracle stopped otherwise).
struct UnicornOracle {
    UnicornRunner& uc;
    static bool retired(UnicornStepReason r) { return r == UnicornStepReason::Step; }
    bool prepare(const std::vector<uint8_t>& ram, const CpuState& start, std::string& error) {
        std::memcpy(uc.memory().data(), ram.data(), ram.size());
        uc.code_changed();
        return uc.set_state(start, &error);
    }
    bool step(CpuState& after) {
        const UnicornStepResult r = uc.step();
        after = r.state;
        return retired(r.reason);
    }
    std::span<const uint8_t> memory() const { return uc.memory(); }
    static void align(const CpuState& ours, CpuState& theirs) {
        UnicornRunner::copy_unobservable(ours, theirs);
    }
};

struct KvmOracle {
    KvmStepper& kvm;
    bool prepare(const std::vector<uint8_t>& ram, const CpuState& start, std::string& error) {
        std::memcpy(kvm.memory().data(), ram.data(), ram.size());
        return kvm.set_state(start, &error);
    }
    bool step(CpuState& after) {
        const StepResult r = kvm.step();
        after = r.state;
        return r.reason == StepReason::Debug;
    }
    std::span<const uint8_t> memory() const { return kvm.memory(); }
    static void align(const CpuState& ours, CpuState& theirs) {
        theirs.tsc = ours.tsc; // the TSC runs on its own clock in a VM
    }
};

struct Tally {
    int cases = 0;
    int compared = 0;
    uint64_t instructions = 0;
    uint64_t in_blocks = 0;
};

template <class Oracle>
void compare_programs(Oracle& oracle, bool protected32, uint32_t seed, int count, Tally& tally) {
    for (int i = 0; i < count; ++i) {
        LoopGenerator gen(seed + static_cast<uint32_t>(i), protected32);
        const Program p = gen.program();
        std::vector<uint8_t> ram(kRam);
        std::memcpy(ram.data() + p.address, p.code.data(), p.code.size());
        const std::vector<uint8_t> gdt = LoopGenerator::gdt();
        std::memcpy(ram.data() + kGdt, gdt.data(), gdt.size());
        const std::vector<uint8_t> initial = ram;

        const RamSlot slot{.guest_phys = 0, .size = ram.size(), .host = ram.data()};
        Emulator emu({&slot, 1});
        emu.state() = p.start;
        const Exit exit = emu.run(RunLimits{
            .budget = kBudget, .stop_when_valid = std::nullopt, .exceptions_to_host = true});
        ++tally.cases;

        std::string error;
        ASSERT_TRUE(oracle.prepare(initial, p.start, error))
            << "seed " << seed + i << ": " << error;
        CpuState theirs;
        bool ran = true;
        for (uint64_t n = 0; n < exit.instructions && ran; ++n)
            ran = oracle.step(theirs);
        if (!ran || exit.instructions == 0) continue; // the oracle stopped (e.g. its own fault)
        Oracle::align(emu.state(), theirs);
        const auto diffs = diff_states(emu.state(), theirs, {.compare_interruptibility = false});
        ASSERT_TRUE(diffs.empty()) << "seed " << seed + i << " after " << exit.instructions
                                   << " instructions: " << diffs.front();
        const auto mismatch = std::mismatch(ram.begin(), ram.end(), oracle.memory().begin());
        ASSERT_TRUE(mismatch.first == ram.end())
            << "seed " << seed + i << ": guest RAM differs first at 0x" << std::hex
            << (mismatch.first - ram.begin()) << ": " << +*mismatch.first << " vs "
            << +*mismatch.second;
        ++tally.compared;
        tally.instructions += exit.instructions;
        tally.in_blocks += emu.engine_stats().in_blocks;
    }
}

// Runs `count` programs from `seed` against the oracle, prints the tally and checks that most
// were compared and that the block engine did most of the work (or the test proves little).
template <class Oracle>
void check_against(Oracle& oracle, const char* name, bool protected32, uint32_t seed, int count) {
    Tally t;
    compare_programs(oracle, protected32, seed, count, t);
    std::printf("%d of %d programs compared with %s: %llu instructions, %llu in blocks\n",
                t.compared, t.cases, name, static_cast<unsigned long long>(t.instructions),
                static_cast<unsigned long long>(t.in_blocks));
    EXPECT_GT(t.compared, count * 3 / 4);
    EXPECT_GT(t.in_blocks, t.instructions / 2);
}

// Programs per mode: `fallback`, times TRANSIT86_ORACLE_SCALE for a longer campaign;
// TRANSIT86_ORACLE_PROGRAMS, when set, instead (the sanitizer build runs the first few: the
// sanitizers check memory, the default build the programs).
int programs(int fallback) {
    if (const char* count = std::getenv("TRANSIT86_ORACLE_PROGRAMS"))
        return std::max(1, std::atoi(count));
    const char* scale = std::getenv("TRANSIT86_ORACLE_SCALE");
    return fallback * (scale ? std::max(1, std::atoi(scale)) : 1);
}

std::string mode_name(const testing::TestParamInfo<bool>& info) {
    return info.param ? "Flat32" : "Real16";
}

} // namespace

class BlockEngineVsUnicorn : public testing::TestWithParam<bool> {};

TEST_P(BlockEngineVsUnicorn, RandomLoopsEndInTheSameState) {
    std::string error;
    auto uc = UnicornRunner::create({.memory_size = kRam}, &error);
    if (!uc) GTEST_SKIP() << "Unicorn unavailable: " << error;
    UnicornOracle oracle{*uc};
    check_against(oracle, "Unicorn", GetParam(), GetParam() ? 0x5EED0000 : 0x5EED8000,
                  programs(80));
}

class BlockEngineVsKvm : public testing::TestWithParam<bool> {};

TEST_P(BlockEngineVsKvm, RandomLoopsEndInTheSameState) {
    if (auto reason = KvmStepper::unavailable_reason()) GTEST_SKIP() << *reason;
    std::string error;
    auto kvm = KvmStepper::create({.memory_size = kRam}, &error);
    if (!kvm) GTEST_SKIP() << "KVM unavailable: " << error;
    KvmOracle oracle{*kvm};
    check_against(oracle, "KVM", GetParam(), GetParam() ? 0x4B564D00 : 0x4B564D80, programs(40));
}

INSTANTIATE_TEST_SUITE_P(Modes, BlockEngineVsUnicorn, testing::Values(false, true), mode_name);
INSTANTIATE_TEST_SUITE_P(Modes, BlockEngineVsKvm, testing::Values(false, true), mode_name);

} // namespace transit86::oracle
