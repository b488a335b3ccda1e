#include "diff/generator.hpp"

#include "decoder/decoder.hpp"
#include "diff/rng.hpp"
#include "diff/semantics.hpp"

#include <array>
#include <cstring>

namespace transit86::diff {

namespace {

using decoder::Insn;
using decoder::OperandKind;

constexpr uint8_t kHlt = 0xF4;

constexpr std::array<uint32_t, 14> kBoundaryValues = {
    0,      1,      2,       0x7F,       0x80,       0xFF,       0x7FFF,
    0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE};

// Opcodes random bytes reach rarely: group opcodes (one ModRM reg value in eight picks the
// operation), 0F-escaped ones, and single-byte ones among 256. The generator starts about a
// third of its candidates with one of these.
struct Opcode {
    uint8_t length;
    std::array<uint8_t, 2> bytes;
};
constexpr std::array<Opcode, 37> kFocusOpcodes = {{
    {1, {0xF6}},       {1, {0xF7}},       {1, {0xD0}},       {1, {0xD1}},       {1, {0xD2}},
    {1, {0xD3}},       {1, {0xC0}},       {1, {0xC1}},       {1, {0xD4}},       {1, {0xD5}},
    {1, {0x27}},       {1, {0x2F}},       {1, {0x37}},       {1, {0x3F}},       {1, {0x62}},
    {1, {0xC8}},       {1, {0xFE}},       {1, {0xFF}},       {2, {0x0F, 0xA3}}, {2, {0x0F, 0xAB}},
    {2, {0x0F, 0xB3}}, {2, {0x0F, 0xBB}}, {2, {0x0F, 0xBA}}, {2, {0x0F, 0xBC}}, {2, {0x0F, 0xBD}},
    {2, {0x0F, 0xA4}}, {2, {0x0F, 0xA5}}, {2, {0x0F, 0xAC}}, {2, {0x0F, 0xAD}}, {2, {0x0F, 0xB0}},
    {2, {0x0F, 0xB1}}, {2, {0x0F, 0xC0}}, {2, {0x0F, 0xC1}}, {2, {0x0F, 0xC7}}, {2, {0x0F, 0xAF}},
    {2, {0x0F, 0xB6}}, {2, {0x0F, 0xBF}},
}};

bool is_prefix(uint8_t b) {
    switch (b) {
    case 0x26:
    case 0x2E:
    case 0x36:
    case 0x3E:
    case 0x64:
    case 0x65:
    case 0x66:
    case 0x67:
    case 0xF0:
    case 0xF2:
    case 0xF3: return true;
    default: return false;
    }
}

uint32_t random_gpr(Rng& rng, Mode mode) {
    const uint32_t kind = rng.below(10);
    if (kind < 4)
        return rng.chance(50) ? rng.below(0x100)
                              : rng.below(mode == Mode::Real ? 0x10000 : 0x100000);
    if (kind < 6) return kBoundaryValues[rng.below(kBoundaryValues.size())];
    const uint32_t v = rng.u32();
    // Protected mode: keep half of the large values inside RAM so they can serve as bases.
    return mode == Mode::Pm32 && rng.chance(50) ? v & 0x1FFFFF : v;
}

// Instructions whose memory operands would mostly miss RAM (a 32-bit displacement far outside
// it) are mostly redrawn: an access outside RAM ends a case early.
bool displacement_fits(const Insn& insn, Rng& rng) {
    for (int i = 0; i < insn.operand_count; ++i) {
        const auto& o = insn.operands[i];
        if (o.kind != OperandKind::Mem || insn.address_size != 4) continue;
        if (o.value >= 0x200000 && o.value < 0xFFE00000 && !rng.chance(5)) return false;
    }
    return true;
}

// One random instruction that decodes to an allowed Op in `mode`.
std::vector<uint8_t> random_instruction(Rng& rng, Mode mode, const decoder::FetchMode& fetch) {
    static constexpr uint8_t kSegOverrides[] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
    for (;;) {
        std::array<uint8_t, 15> b{};
        for (auto& x : b)
            x = rng.byte();
        size_t n = 0;
        if (rng.chance(12)) b[n++] = 0x66;
        if (rng.chance(10)) b[n++] = 0x67;
        if (rng.chance(8)) b[n++] = kSegOverrides[rng.below(6)];
        if (rng.chance(6)) b[n++] = rng.chance(50) ? 0xF3 : 0xF2;
        if (rng.chance(2)) b[n++] = 0xF0;
        if (rng.chance(30)) { // an opcode that random bytes rarely reach (group forms, 0F ..)
            const auto& focus = kFocusOpcodes[rng.below(kFocusOpcodes.size())];
            for (uint8_t i = 0; i < focus.length; ++i)
                b[n++] = focus.bytes[i];
        } else if (rng.chance(20)) {
            b[n++] = 0x0F;
        }
        Insn insn;
        if (decoder::decode(b.data(), b.size(), fetch, insn) != decoder::DecodeStatus::Ok) continue;
        if (!allowed(insn, mode) || !displacement_fits(insn, rng)) continue;
        return {b.begin(), b.begin() + insn.length};
    }
}

// Width of the relative displacement at the end of a branch (1, 2 or 4 bytes), 0 if none.
uint32_t rel_width(const std::vector<uint8_t>& bytes, const Insn& insn) {
    bool relative = false;
    for (int i = 0; i < insn.operand_count; ++i)
        relative = relative || insn.operands[i].kind == OperandKind::Rel;
    if (!relative) return 0;
    size_t i = 0;
    while (i < bytes.size() && is_prefix(bytes[i]))
        ++i;
    if (i >= bytes.size()) return 0;
    const uint8_t op = bytes[i];
    if ((op >= 0x70 && op <= 0x7F) || op == 0xEB || (op >= 0xE0 && op <= 0xE3)) return 1;
    return insn.operand_size; // E8, E9, 0F 80..8F
}

// Point relative branches at instruction boundaries of the buffer (mostly forward).
void retarget_branches(Rng& rng, std::vector<std::vector<uint8_t>>& insns,
                       const decoder::FetchMode& fetch) {
    std::vector<uint32_t> offsets(insns.size() + 1, 0);
    for (size_t i = 0; i < insns.size(); ++i)
        offsets[i + 1] = offsets[i] + static_cast<uint32_t>(insns[i].size());
    for (size_t i = 0; i < insns.size(); ++i) {
        Insn insn;
        decoder::decode(insns[i].data(), insns[i].size(), fetch, insn);
        const uint32_t width = rel_width(insns[i], insn);
        if (width == 0) continue;
        const size_t target = rng.chance(75) ? rng.range(static_cast<uint32_t>(i + 1),
                                                         static_cast<uint32_t>(insns.size()))
                                             : rng.below(static_cast<uint32_t>(i + 1));
        const auto rel = static_cast<int64_t>(offsets[target]) - offsets[i + 1];
        const int64_t limit = int64_t{1} << (8 * width - 1);
        if (rel < -limit || rel >= limit) continue;
        const auto value = static_cast<uint32_t>(rel);
        std::memcpy(insns[i].data() + insns[i].size() - width, &value, width);
    }
}

void randomise_state(Rng& rng, Mode mode, CpuState& s) {
    for (uint32_t& r : s.gpr)
        r = random_gpr(rng, mode);
    if (rng.chance(40)) s[Gpr::ECX] = rng.below(21); // REP, LOOP and shift counts
    s.eflags = flags::Fixed1;
    for (uint32_t f :
         {flags::CF, flags::PF, flags::AF, flags::ZF, flags::SF, flags::OF, flags::DF, flags::IF})
        if (rng.chance(50)) s.eflags |= f;
    if (mode == Mode::Real) {
        for (Seg seg : {Seg::ES, Seg::SS, Seg::DS, Seg::FS, Seg::GS}) {
            const auto selector = static_cast<uint16_t>(rng.below(0x10000));
            s[seg].selector = selector;
            s[seg].base = uint64_t{selector} * 16;
        }
        if (rng.chance(70)) s[Gpr::ESP] = (s[Gpr::ESP] & 0xFFFF0000) | rng.range(0x100, 0xFFF0);
        return;
    }
    static constexpr uint16_t kData[] = {kFlatDataSel, kBasedDataSel, kStack16Sel};
    for (Seg seg : {Seg::ES, Seg::DS, Seg::FS, Seg::GS})
        s[seg] = pm_segment(kData[rng.below(3)]);
    s[Seg::SS] = pm_segment(rng.chance(70) ? kFlatDataSel : kStack16Sel);
    if (s[Seg::SS].selector == kStack16Sel) {
        if (rng.chance(70)) s[Gpr::ESP] = (s[Gpr::ESP] & 0xFFFF0000) | rng.range(0x100, 0xFFF0);
    } else if (rng.chance(80)) {
        s[Gpr::ESP] = rng.range(0x2000, 0x1F0000);
    }
}

} // namespace

Case generate_case(uint64_t seed, Mode mode, uint32_t instructions) {
    Rng rng(seed);
    Case c;
    c.seed = seed;
    c.mode = mode;
    c.instructions = instructions;
    c.start = base_state(mode);
    const decoder::FetchMode fetch{.protected_mode = mode == Mode::Pm32,
                                   .code32 = mode == Mode::Pm32};

    std::vector<std::vector<uint8_t>> insns;
    for (uint32_t i = 0; i < instructions; ++i)
        insns.push_back(random_instruction(rng, mode, fetch));
    retarget_branches(rng, insns, fetch);
    for (const auto& insn : insns)
        c.code.insert(c.code.end(), insn.begin(), insn.end());
    c.code.push_back(kHlt); // not in the allowed set: the case ends there

    randomise_state(rng, mode, c.start);
    const auto size = static_cast<uint32_t>(c.code.size());
    if (mode == Mode::Real) {
        const auto cs = static_cast<uint16_t>(rng.range(kCodeMin / 16, 0xFFFF));
        c.start[Seg::CS].selector = cs;
        c.start[Seg::CS].base = uint64_t{cs} * 16;
        c.start.eip = rng.below(0x10000 - size);
    } else {
        c.start.eip = rng.range(kCodeMin, static_cast<uint32_t>(kRamSize) - size - 1);
    }
    c.code_linear = static_cast<uint32_t>(c.start[Seg::CS].base + c.start.eip);
    return c;
}

} // namespace transit86::diff
