// x87 sequences stepped on transit86 (the host's x87 unit, docs/architecture.md "The x87
// model") and on Unicorn 2.0.1 (QEMU 5.0's softfloat x87), compared after every instruction.
//
// A case is real-mode code: FRSTOR of a random starting state (control word with every
// exception masked and random precision and rounding control, random tags, TOP and register
// values: zeros, normals, denormals, infinities, NaNs), then random ESC instructions (register
// forms from the whole map, memory forms on random operand bytes, FNSTSW AX, WAIT), each
// followed by FNSAVE + FRSTOR of a fresh area, so each state is in memory. After every step the
// general registers, EIP and EFLAGS are compared, after every FNSAVE the control, status and tag
// words and the eight registers of the image (not the pointers: QEMU 5.0 stores them as 0), and
// at the end the store targets. A case stops at its first difference; a difference is either
// explained by a rule of docs/known-differences.md ("x87 on Unicorn") or a failure.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/decoder.hpp"
#include "oracle/unicorn_runner.hpp"
#include "transit86/emulator.hpp"

namespace transit86::oracle {
namespace {

using decoder::X87Op;

constexpr uint64_t kRam = 1u << 20;
constexpr uint32_t kCode = 0x1000;
constexpr uint32_t kStartImage = 0x3000;
constexpr uint32_t kOperands = 0x4000; // 64 slots of 16 bytes read by memory forms
constexpr uint32_t kTargets = 0x6000;  // 16 slots of 16 bytes written by store forms
constexpr uint32_t kAreas = 0x8000;    // one 94-byte FNSAVE image per step
constexpr uint32_t kAreaSize = 94;
constexpr int kInstructions = 8;

struct Step {
    std::vector<uint8_t> bytes;
    X87Op op = X87Op::None;
    uint32_t area = 0;   // the FNSAVE after it
    uint32_t target = 0; // a store form's destination (16-byte slot), else 0
};

// What sits at each instruction address of a case: the starting FRSTOR, random instruction
// i, the FNSAVE after it, the FRSTOR after that.
enum class Role : uint8_t { Start, Random, Save, Restore };
struct Position {
    Role role = Role::Start;
    int step = 0;
};

struct Case {
    std::vector<uint8_t> memory; // the first 64 KiB of RAM
    std::vector<Step> steps;
    std::map<uint32_t, Position> positions; // by IP
};

class Generator {
  public:
    explicit Generator(uint64_t seed) : rng_(seed) {}

    Case next_case() {
        Case c;
        c.memory.assign(0x10000, 0);
        write_start_image(c.memory);
        for (uint32_t slot = 0; slot < 64; ++slot)
            write_operand(c.memory, kOperands + 16 * slot);
        std::vector<uint8_t> code = {0xDD, 0x26, kStartImage & 0xFF, kStartImage >> 8}; // frstor
        c.positions[kCode] = {Role::Start, 0};
        for (int i = 0; i < kInstructions; ++i) {
            Step s = instruction();
            s.area = kAreas + kAreaSize * i;
            const auto here = static_cast<uint32_t>(kCode + code.size());
            c.positions[here] = {Role::Random, i};
            c.positions[here + static_cast<uint32_t>(s.bytes.size())] = {Role::Save, i};
            c.positions[here + static_cast<uint32_t>(s.bytes.size()) + 4] = {Role::Restore, i};
            code.insert(code.end(), s.bytes.begin(), s.bytes.end());
            const auto lo = static_cast<uint8_t>(s.area), hi = static_cast<uint8_t>(s.area >> 8);
            for (const uint8_t b : {uint8_t{0xDD}, uint8_t{0x36}, lo, hi, uint8_t{0xDD},
                                    uint8_t{0x26}, lo, hi}) // fnsave [area] ; frstor [area]
                code.push_back(b);
            c.steps.push_back(std::move(s));
        }
        code.push_back(0xF4); // hlt
        std::memcpy(c.memory.data() + kCode, code.data(), code.size());
        return c;
    }

  private:
    uint64_t bits() { return rng_(); }
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(bits() % n); }

    // An 80-bit value: the classes of SDM Vol. 1 Table 4-? and 8.2 the unit tells apart.
    void extended(uint8_t* out) {
        uint64_t significand = bits() | (uint64_t{1} << 63);
        uint16_t exponent = static_cast<uint16_t>(0x3FFF - 70 + below(140));
        switch (below(12)) {
        case 0: significand = 0, exponent = 0; break;                       // zero
        case 1: significand = uint64_t{1} << 63, exponent = 0x7FFF; break;  // infinity
        case 2: significand |= uint64_t{1} << 62, exponent = 0x7FFF; break; // QNaN
        case 3:
            significand &= ~(uint64_t{1} << 62); // SNaN
            significand |= 1, exponent = 0x7FFF;
            break;
        case 4: significand &= ~(uint64_t{1} << 63), exponent = 0; break;   // denormal
        case 5: exponent = static_cast<uint16_t>(1 + below(0x7FFE)); break; // any normal
        case 6: significand = uint64_t{1} << 63; break;                     // a power of two
        case 7: significand &= 0xFFFFFFFFFF000000u; break;                  // short significand
        default: break;
        }
        if (bits() & 1) exponent |= 0x8000;
        std::memcpy(out, &significand, 8);
        std::memcpy(out + 8, &exponent, 2);
    }

    void write_start_image(std::vector<uint8_t>& m) {
        uint8_t* image = m.data() + kStartImage; // real-mode 16-bit FSAVE image (Figure 8-12)
        // Bit 6 of the control word is reserved and reads as 1 (FNINIT's 037FH); QEMU would
        // keep a 0 (docs/known-differences.md).
        const uint16_t control = static_cast<uint16_t>(0x007F | below(4) << 8 | below(4) << 10);
        // A stack as programs keep one: ST(0)..ST(depth - 1) hold values, the rest is empty,
        // so that most instructions find their operands (a stack fault is its own rule).
        const unsigned top = below(8), depth = 2 + below(5);
        const uint16_t status = static_cast<uint16_t>(top << 11);
        uint16_t tags = 0;
        for (unsigned i = 0; i < 8; ++i)
            if (i >= depth) tags |= static_cast<uint16_t>(3u << (2 * ((top + i) & 7)));
        std::memcpy(image, &control, 2);
        std::memcpy(image + 2, &status, 2);
        std::memcpy(image + 4, &tags, 2);
        for (int i = 0; i < 8; ++i)
            extended(image + 14 + 10 * i);
    }

    void write_operand(std::vector<uint8_t>& m, uint32_t at) {
        uint8_t* p = m.data() + at;
        switch (below(8)) {
        case 0: { // float
            const float values[] = {0.0f, 1.0f, -2.5f, 3.0f, 1e-40f, 3.4e38f, 0.1f, -0.0f};
            const float f = below(2) ? values[below(8)] : static_cast<float>(bits()) * 1e-10f;
            std::memcpy(p, &f, 4);
            break;
        }
        case 1: { // double
            const double values[] = {0.0, 1.0, -2.5, 1.0 / 3, 4.9e-324, 1.7e308, 1e16, -7.0};
            const double d = below(2) ? values[below(8)] : static_cast<double>(bits()) * 1e-5;
            std::memcpy(p, &d, 8);
            break;
        }
        case 2: extended(p); break;
        case 3: { // a small integer
            const int64_t v = static_cast<int64_t>(below(2001)) - 1000;
            std::memcpy(p, &v, 8);
            break;
        }
        case 4: // packed BCD
            for (int i = 0; i < 9; ++i)
                p[i] = static_cast<uint8_t>(below(10) << 4 | below(10));
            p[9] = below(2) ? 0x80 : 0x00;
            break;
        default:
            for (int i = 0; i < 16; ++i)
                p[i] = static_cast<uint8_t>(bits());
            // Read as m80, keep to supported encodings: J set exactly when the exponent is not
            // 0 (no pseudo-denormals or unnormals; SDM Vol. 1 8.2.2).
            if (((p[9] & 0x7F) | p[8]) != 0)
                p[7] |= 0x80;
            else
                p[7] &= 0x7F;
            break;
        }
    }

    // Forms compared: everything but the control forms that load a control word or an image
    // (the starting image sets those), the 8087/80287 no-ops, FISTTP (an SSE3 form this
    // model's CPUID lacks) and FXSAVE.
    static bool generated(X87Op op) {
        switch (op) {
        case X87Op::None:
        case X87Op::Fldcw:
        case X87Op::Fldenv:
        case X87Op::Frstor:
        case X87Op::Fnstenv:
        case X87Op::Fnsave:
        case X87Op::Fninit:
        case X87Op::Fneni:
        case X87Op::Fndisi:
        case X87Op::Fnsetpm:
        case X87Op::Fisttp:
        case X87Op::Fxsave:
        case X87Op::Fxrstor: return false;
        default: return true;
        }
    }

    Step instruction() {
        for (;;) {
            Step s;
            const uint32_t kind = below(10);
            if (kind == 0) {
                s.bytes = {0xDF, 0xE0}; // fnstsw ax
            } else if (kind < 5) {
                // ST(0)..ST(2) mostly: registers the starting stack holds
                const uint32_t i = below(4) == 0 ? below(8) : below(3);
                s.bytes = {static_cast<uint8_t>(0xD8 + below(8)),
                           static_cast<uint8_t>(0xC0 + (below(8) << 3) + i)};
            } else {
                const uint8_t esc = static_cast<uint8_t>(0xD8 + below(8));
                const uint8_t reg = static_cast<uint8_t>(below(8));
                s.bytes = {esc, static_cast<uint8_t>(reg << 3 | 6), 0, 0};
            }
            decoder::Insn insn;
            if (decode(s.bytes.data(), s.bytes.size(), {}, insn) != decoder::DecodeStatus::Ok ||
                insn.op != decoder::Op::X87 || !generated(insn.x87))
                continue;
            s.op = insn.x87;
            if (s.bytes.size() == 4) { // the memory operand: a store target or an operand slot
                const bool store = insn.x87 == X87Op::Fst || insn.x87 == X87Op::Fstp ||
                                   insn.x87 == X87Op::Fist || insn.x87 == X87Op::Fistp ||
                                   insn.x87 == X87Op::Fbstp || insn.x87 == X87Op::Fnstcw ||
                                   insn.x87 == X87Op::Fnstsw;
                const uint32_t at = store ? kTargets + 16 * below(16) : kOperands + 16 * below(64);
                if (store) s.target = at;
                s.bytes[2] = static_cast<uint8_t>(at);
                s.bytes[3] = static_cast<uint8_t>(at >> 8);
            }
            return s;
        }
    }

    std::mt19937_64 rng_;
};

// What a rule may look at: the step, and how the two sides' states differ.
struct Difference {
    const Step& step;
    bool stack_fault = false;      // the step set SF on transit86 (SDM Vol. 1 8.5.1.1)
    bool denormal_operand = false; // the step set DE on transit86
    bool only_status = false;      // the status word is all that differs
    bool only_tags = false;        // the tag word is all that differs
    uint16_t our_status = 0;       // the status words after the step
    uint16_t their_status = 0;
    uint16_t control_word = 0;    // transit86's after the step (FNSAVE reinitialises it)
    bool our_st1_special = false; // transit86's ST(1) after the step is a NaN or infinity
    bool st0_quieted = false;     // ST(0) alone differs, by its quiet bit, set on transit86
};

bool defines_c0_c2_c3(X87Op op) {
    switch (op) {
    case X87Op::Fcom:
    case X87Op::Fcomp:
    case X87Op::Fcompp:
    case X87Op::Fucom:
    case X87Op::Fucomp:
    case X87Op::Fucompp:
    case X87Op::Ficom:
    case X87Op::Ficomp:
    case X87Op::Ftst:
    case X87Op::Fxam:
    case X87Op::Fprem:
    case X87Op::Fprem1:
    case X87Op::Fsin:
    case X87Op::Fcos:
    case X87Op::Fsincos:
    case X87Op::Fptan:
    case X87Op::Fnclex:
    case X87Op::Fninit: return true;
    default: return false;
    }
}

// FNSAVE images (Figure 8-12) whose control word, tags and registers differ only in ST(0)'s
// quiet bit (significand bit 62), set in `ours` (the status word may differ: IE).
bool st0_quieted(const uint8_t* ours, const uint8_t* theirs) {
    if (std::memcmp(ours, theirs, 2) != 0 || std::memcmp(ours + 4, theirs + 4, 2) != 0 ||
        std::memcmp(ours + 24, theirs + 24, 70) != 0)
        return false;
    uint64_t a, b;
    std::memcpy(&a, ours + 14, 8);
    std::memcpy(&b, theirs + 14, 8);
    return (a ^ b) == uint64_t{1} << 62 && (a >> 62 & 1) && ours[22] == theirs[22] &&
           ours[23] == theirs[23];
}

// Rules for what a store form wrote (the stack-fault rule aside).
const char* explain_store(const Step& step, const uint8_t* ours, const uint8_t* theirs) {
    // FBSTP of a value beyond 18 digits, a NaN or infinity: the x87 stores the packed BCD
    // indefinite, and -0 keeps its sign; QEMU 5.0 converts through a 64-bit integer.
    if (step.op == X87Op::Fbstp) return "unicorn-x87-fbstp";
    // FST/FSTP of a signaling NaN to m32/m64: the x87 stores it quieted (IE); QEMU keeps it
    // signaling. The two differ in the quiet bit only (bit 22 / 51 of the format).
    if (step.op == X87Op::Fst || step.op == X87Op::Fstp) {
        const int quiet_bit = step.bytes[0] == 0xD9 ? 22 : step.bytes[0] == 0xDD ? 51 : -1;
        if (quiet_bit >= 0) {
            uint64_t a = 0, b = 0;
            std::memcpy(&a, ours, 8);
            std::memcpy(&b, theirs, 8);
            if ((a ^ b) == uint64_t{1} << quiet_bit && (a >> quiet_bit & 1))
                return "unicorn-x87-snan";
        }
    }
    return nullptr;
}

// The rules of docs/known-differences.md, "x87 on Unicorn": each a property of the step.
const char* explain(const Difference& d) {
    const X87Op op = d.step.op;
    switch (op) {
    case X87Op::Fsin:
    case X87Op::Fcos:
    case X87Op::Fsincos:
    case X87Op::Fptan:
    case X87Op::Fpatan:
    case X87Op::F2xm1:
    case X87Op::Fyl2x:
    case X87Op::Fyl2xp1:
    case X87Op::Fprem:
    case X87Op::Fprem1: return "unicorn-x87-double-helpers";
    case X87Op::Fldl2t:
    case X87Op::Fldl2e:
    case X87Op::Fldpi:
    case X87Op::Fldlg2:
    case X87Op::Fldln2:
        if ((d.control_word & 0x0C00) != 0) return "unicorn-x87-constant-rounding";
        break;
    case X87Op::Fst:
    case X87Op::Fstp:
        // D9 D8+i, the FSTP ST(i) alias the x87 executes as FSTP: QEMU pops without storing.
        if (d.step.bytes[0] == 0xD9 && !d.only_status) return "unicorn-x87-fstp1-alias";
        if (d.step.bytes[1] >= 0xC0 && d.only_tags) return "unicorn-x87-fst-tag";
        break;
    case X87Op::Fld: // an SNaN from m32/m64 arrives quieted on the x87 (IE); QEMU keeps it
        if (d.st0_quieted) return "unicorn-x87-snan";
        break;
    case X87Op::Fxtract: // a NaN, infinity or zero: ST(1) is not a finite exponent
        if (d.our_st1_special) return "unicorn-x87-fxtract-special";
        break;
    case X87Op::Fscale: // ST(1) infinite or NaN, or a denormal operand
        if (d.our_st1_special || (d.our_status & fsw::DE)) return "unicorn-x87-fscale-special";
        break;
    default: break;
    }
    // A stack fault on transit86 where QEMU 5.0 computes on an empty register's stale
    // contents, or pushes over a full one.
    if (d.stack_fault) return "unicorn-x87-no-stack-fault";
    // A denormal operand with the precision control below 64 bits: QEMU 5.0 rounds the
    // result differently (SDM Vol. 1 8.1.5.2, 4.8.3.2).
    if (d.denormal_operand && (d.control_word & 0x0300) != 0x0300 && !d.only_status)
        return "unicorn-x87-denormal-reduced-precision";
    if (!d.only_status) return nullptr;
    const uint16_t differing = d.our_status ^ d.their_status;
    const uint16_t only_ours = d.our_status & differing, only_theirs = d.their_status & differing;
    // Flags transit86 set and QEMU 5.0 did not: its helpers raise no invalid-operation,
    // denormal, overflow, underflow or precision flag from the arithmetic and never set C1 for a
    // result rounded up.
    constexpr uint16_t kFlagsQemuLacks =
        fsw::IE | fsw::DE | fsw::OE | fsw::UE | fsw::PE | fsw::SF | fsw::C1;
    // (C1 also where QEMU left an older C1 that the instruction clears.)
    if ((differing & ~kFlagsQemuLacks) == 0 && (only_theirs & ~fsw::C1) == 0)
        return "unicorn-x87-missing-flags";
    // A zero divisor: QEMU raises ZE whatever the dividend; the x87 raises IE for 0/0 and
    // nothing for a NaN or infinite dividend (SDM Vol. 1 4.9.2, 8.5.3).
    const bool divide = op == X87Op::Fdiv || op == X87Op::Fdivp || op == X87Op::Fdivr ||
                        op == X87Op::Fdivrp || op == X87Op::Fidiv || op == X87Op::Fidivr;
    if (divide && only_theirs == fsw::ZE && (only_ours & ~(fsw::IE | fsw::PE)) == 0)
        return "unicorn-x87-zero-divisor";
    // FSQRT of a negative number: QEMU sets C2 instead of raising invalid operation.
    // (C0 and C3 are undefined after FSQRT.)
    if (op == X87Op::Fsqrt && (only_theirs & fsw::C2) &&
        (differing & ~(fsw::IE | fsw::C0 | fsw::C2 | fsw::C3)) == 0)
        return "unicorn-x87-fsqrt-negative";
    // C0, C2, C3 where the instruction leaves them undefined (SDM Vol. 2A, each instruction's
    // "FPU Flags Affected"): only comparisons, FXAM, FPREM/FPREM1 and the reductions define them.
    if ((differing & ~(fsw::C0 | fsw::C2 | fsw::C3)) == 0 && !defines_c0_c2_c3(op))
        return "undefined-condition-codes";
    return nullptr;
}

struct Tally {
    uint64_t cases = 0, steps = 0, agreed_cases = 0, failed = 0;
    uint64_t x87_compared = 0; // random x87 instructions whose whole state agreed after them
    uint64_t x87_compared_without_status = 0; // ... all but a status word a rule explains
    std::map<std::string, uint64_t> explained;
    std::map<std::string, uint64_t> failed_ops;
    std::map<uint16_t, uint64_t> status_bits; // status-word-only differences: which bits
};

TEST(X87VsUnicorn, RandomSequencesAgreeOrAreExplained) {
    std::string error;
    auto uc = UnicornRunner::create({.memory_size = kRam}, &error);
    if (!uc) GTEST_SKIP() << "Unicorn: " << error;
    uint64_t cases = 400;
    if (const char* scale = std::getenv("TRANSIT86_ORACLE_SCALE")) cases *= std::atoi(scale);

    std::vector<uint8_t> ram(kRam);
    const RamSlot slot{.guest_phys = 0, .size = kRam, .host = ram.data()};
    // The same step on a second emulator whose status word has no sticky flags, to see whether
    // the step itself faults on the stack (SDM Vol. 1 8.5.1.1: SF with IE).
    std::vector<uint8_t> probe_ram(kRam);
    const RamSlot probe_slot{.guest_phys = 0, .size = kRam, .host = probe_ram.data()};
    Emulator probe({&probe_slot, 1});
    const std::pair<uint32_t, uint32_t> kProbeRegions[] = {
        {kCode, 0x400}, {kOperands, 0x400}, {kTargets, 0x100}};
    Tally tally;
    Generator generator(0x87877);
    for (uint64_t n = 0; n < cases; ++n) {
        const Case c = generator.next_case();
        std::fill(ram.begin(), ram.end(), 0);
        std::memcpy(ram.data(), c.memory.data(), c.memory.size());
        uc->load(0, c.memory);
        Emulator emu({&slot, 1});
        const CpuState start = real_mode_at_zero(kCode, 0x7000);
        emu.state() = start;
        ASSERT_TRUE(uc->set_state(start, &error)) << error;
        ++tally.cases;

        bool differed = false;
        bool stack_fault = false;      // the last random instruction faulted on the stack
        bool denormal_operand = false; // ... or had a denormal operand (DE)
        // After a difference in the status word alone that a rule explains, the case goes on
        // without comparing the status word (nothing but FNSTSW/FNSTENV/FNSAVE reads it).
        bool status_set_aside = false;
        bool ax_set_aside = false;
        const RunLimits one{
            .budget = 1, .stop_when_valid = std::nullopt, .exceptions_to_host = true};
        for (int guard = 0; guard < 3 * kInstructions + 2 && !differed; ++guard) {
            const uint32_t eip = emu.state().eip;
            const auto at = c.positions.find(eip);
            if (at == c.positions.end()) break; // the HLT
            const Position pos = at->second;
            const Step& step = c.steps[static_cast<size_t>(pos.step)];
            if (pos.role == Role::Random) { // a stack fault shows as SF in a clean status word
                for (const auto& [from, size] : kProbeRegions)
                    std::memcpy(&probe_ram[from], &ram[from], size);
                probe.state() = emu.state();
                probe.state().x87.fsw &= static_cast<uint16_t>(~(fsw::Exceptions | fsw::SF));
                (void)probe.run(one);
                stack_fault = (probe.state().x87.fsw & fsw::SF) != 0;
                denormal_operand = (probe.state().x87.fsw & fsw::DE) != 0;
            }
            const Exit ours = emu.run(one);
            const UnicornStepResult theirs = uc->step();
            ++tally.steps;
            const bool our_exception = ours.reason == ExitReason::Exception;
            const bool their_exception = theirs.reason == UnicornStepReason::Exception;
            std::string what;
            const char* why = nullptr;
            uint16_t image_status = 0; // transit86's status word in this step's FNSAVE image
            if (our_exception || their_exception) {
                differed = true; // a case ends at its first exception
                if (!(our_exception && their_exception && ours.vector == theirs.vector)) {
                    what = "exception: ours " +
                           std::to_string(our_exception ? int{ours.vector} : -1) + ", unicorn " +
                           std::to_string(their_exception ? int{theirs.vector} : -1);
                    if (our_exception && ours.vector == 16) why = "unicorn-x87-no-pending-check";
                }
            } else {
                const CpuState& a = emu.state();
                CpuState b = theirs.state;
                if (status_set_aside && step.op == X87Op::Fnstsw && pos.role == Role::Random &&
                    step.bytes.size() == 2)
                    ax_set_aside = true; // FNSTSW AX copied the status word set aside
                if (ax_set_aside) b.gpr[0] = (b.gpr[0] & 0xFFFF0000) | (a.gpr[0] & 0xFFFF);
                if (a.gpr != b.gpr || a.eip != b.eip ||
                    (a.eflags & flags::Status) != (b.eflags & flags::Status)) {
                    char text[96];
                    std::snprintf(text, sizeof text,
                                  "EAX %08x / %08x, EIP %08x / %08x, EFLAGS %08x / %08x", a.gpr[0],
                                  b.gpr[0], a.eip, b.eip, a.eflags, b.eflags);
                    what = text;
                    // FNSTSW AX copies the status word: the status-word rules cover it.
                    const bool only_ax = a.eip == b.eip && a.eflags == b.eflags;
                    why = explain({.step = step,
                                   .stack_fault = stack_fault,
                                   .denormal_operand = denormal_operand,
                                   .only_status = only_ax && step.op == X87Op::Fnstsw,
                                   .our_status = static_cast<uint16_t>(a.gpr[0]),
                                   .their_status = static_cast<uint16_t>(b.gpr[0]),
                                   .control_word = emu.state().x87.fcw});
                }
                const bool status_store = step.op == X87Op::Fnstsw && status_set_aside;
                if (what.empty() && pos.role == Role::Save && step.target != 0 && !status_store) {
                    uint8_t other[16];
                    uc->read(step.target, other);
                    if (std::memcmp(other, &ram[step.target], 16) != 0) {
                        what = "stored: ours " + hex_bytes(&ram[step.target], 16) + ", unicorn " +
                               hex_bytes(other, 16);
                        why = explain({.step = step, .stack_fault = stack_fault});
                        if (!why) why = explain_store(step, &ram[step.target], other);
                    }
                }
                if (what.empty() && pos.role == Role::Save) {
                    std::vector<uint8_t> mine(ram.begin() + step.area,
                                              ram.begin() + step.area + kAreaSize);
                    std::vector<uint8_t> other(kAreaSize);
                    uc->read(step.area, other);
                    // Figure 8-12: control, status, tag words at 0, 2, 4; pointers at 6..13
                    // (not compared); ST(0)..ST(7) from 14.
                    image_status = static_cast<uint16_t>(mine[2] | mine[3] << 8);
                    const bool control_same = std::memcmp(&mine[0], &other[0], 2) == 0;
                    const bool status_same =
                        status_set_aside || std::memcmp(&mine[2], &other[2], 2) == 0;
                    const bool tags_same = std::memcmp(&mine[4], &other[4], 2) == 0;
                    const bool registers_same = std::memcmp(&mine[14], &other[14], 80) == 0;
                    if (control_same && tags_same && registers_same && !status_same)
                        ++tally.status_bits[static_cast<uint16_t>((mine[2] ^ other[2]) |
                                                                  (mine[3] ^ other[3]) << 8)];
                    if (!control_same || !status_same || !tags_same || !registers_same) {
                        what = "x87 state: ours    " + hex_bytes(mine.data(), 6) + " " +
                               hex_bytes(&mine[14], 80) + "\n            unicorn " +
                               hex_bytes(other.data(), 6) + " " + hex_bytes(&other[14], 80);
                        why = explain(
                            {.step = step,
                             .stack_fault = stack_fault,
                             .denormal_operand = denormal_operand,
                             .only_status = control_same && tags_same && registers_same,
                             .only_tags = control_same && status_same && registers_same,
                             .our_status = static_cast<uint16_t>(mine[2] | mine[3] << 8),
                             .their_status = static_cast<uint16_t>(other[2] | other[3] << 8),
                             .control_word = static_cast<uint16_t>(mine[0] | mine[1] << 8),
                             .our_st1_special =
                                 (mine[14 + 10 + 9] & 0x7F) == 0x7F && mine[14 + 10 + 8] == 0xFF,
                             .st0_quieted = st0_quieted(mine.data(), other.data())});
                    }
                }
            }
            if (what.empty()) {
                if (pos.role == Role::Save) {
                    if (status_set_aside)
                        ++tally.x87_compared_without_status;
                    else
                        ++tally.x87_compared;
                }
                continue;
            }

            if (why) {
                ++tally.explained[why];
                const bool status_rule = std::string_view(why) == "unicorn-x87-missing-flags" ||
                                         std::string_view(why) == "unicorn-x87-zero-divisor" ||
                                         std::string_view(why) == "unicorn-x87-fsqrt-negative" ||
                                         std::string_view(why) == "undefined-condition-codes";
                // Set aside only while SF is clear, so that a later stack fault still shows.
                if (status_rule && pos.role == Role::Save && !(image_status & fsw::SF)) {
                    status_set_aside = true;
                    ++tally.x87_compared_without_status;
                } else {
                    differed = true;
                }
                continue;
            }
            differed = true;
            ++tally.failed;
            ++tally.failed_ops[decoder::x87_op_name(step.op)];
            if (tally.failed <= 400)
                ADD_FAILURE() << "case " << n << ", step " << pos.step << " ("
                              << decoder::x87_op_name(step.op) << " "
                              << hex_bytes(step.bytes.data(), step.bytes.size())
                              << (status_set_aside ? ", status word set aside" : "")
                              << "): " << what;
        }
        if (!differed) ++tally.agreed_cases;
    }
    std::printf("x87 vs Unicorn: %llu cases, %llu steps; x87 instructions with the whole state "
                "equal after them: %llu, with all but a status word a rule explains: %llu; %llu "
                "cases agree to the end, %llu failed\n",
                static_cast<unsigned long long>(tally.cases),
                static_cast<unsigned long long>(tally.steps),
                static_cast<unsigned long long>(tally.x87_compared),
                static_cast<unsigned long long>(tally.x87_compared_without_status),
                static_cast<unsigned long long>(tally.agreed_cases),
                static_cast<unsigned long long>(tally.failed));
    for (const auto& [rule, count] : tally.explained)
        std::printf("  explained by %s: %llu differences\n", rule.c_str(),
                    static_cast<unsigned long long>(count));
    for (const auto& [bits, count] : tally.status_bits)
        std::printf("  status word bits %04x differ: %llu\n", bits,
                    static_cast<unsigned long long>(count));
    for (const auto& [op, count] : tally.failed_ops)
        std::printf("  unexplained after %s: %llu\n", op.c_str(),
                    static_cast<unsigned long long>(count));
}

} // namespace
} // namespace transit86::oracle
