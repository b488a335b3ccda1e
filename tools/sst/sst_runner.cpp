#include "tools/sst/sst_runner.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <sys/mman.h>

#include "decoder/decoder.hpp"

namespace transit86::tools::sst {

namespace {

// Generous: the instruction, then the HLT after it or at the handler it transferred to.
constexpr uint64_t kInstructionBudget = 16;
constexpr uint8_t kVectorSS = 12, kVectorGP = 13;

// Real-mode segment cache for a selector: base selector * 16, 64 KiB limit, and the
// "present, read/write, accessed" data attributes the SDM gives every segment after reset
// (Vol. 3A Table 10-1), CS included: a real-mode far transfer only changes selector and base.
SegmentCache real_mode_segment(uint16_t selector) {
    return SegmentCache{.base = uint64_t{selector} << 4,
                        .limit = 0xFFFF,
                        .access_rights = ar::kP | ar::kS | 0x3,
                        .selector = selector};
}

constexpr Gpr gpr_of(Reg r) {
    switch (r) {
    case Reg::AX: return Gpr::EAX;
    case Reg::BX: return Gpr::EBX;
    case Reg::CX: return Gpr::ECX;
    case Reg::DX: return Gpr::EDX;
    case Reg::SP: return Gpr::ESP;
    case Reg::BP: return Gpr::EBP;
    case Reg::SI: return Gpr::ESI;
    default: return Gpr::EDI;
    }
}
constexpr bool is_segment(Reg r) {
    return r == Reg::CS || r == Reg::SS || r == Reg::DS || r == Reg::ES;
}
constexpr Seg seg_of(Reg r) {
    switch (r) {
    case Reg::CS: return Seg::CS;
    case Reg::SS: return Seg::SS;
    case Reg::DS: return Seg::DS;
    default: return Seg::ES;
    }
}

uint16_t initial_value(const Test& t, Reg r) {
    return *t.initial[static_cast<int>(r)];
}
// Registers absent from `final` keep their initial value.
uint16_t expected_value(const Test& t, Reg r) {
    const auto& fin = t.final[static_cast<int>(r)];
    return fin ? *fin : initial_value(t, r);
}

CpuState start_state(const Test& t) {
    CpuState s = reset_state(ResetPreset::Intel);
    for (int i = 0; i < kNumRegs; ++i) {
        const auto r = static_cast<Reg>(i);
        if (r == Reg::IP || r == Reg::FLAGS) continue;
        if (is_segment(r))
            s[seg_of(r)] = real_mode_segment(initial_value(t, r));
        else
            s[gpr_of(r)] = initial_value(t, r);
    }
    s.eip = initial_value(t, Reg::IP);
    // Mask flags-iopl-nt: the 80286 cannot hold IOPL/NT in real mode; bit 1 always reads 1.
    s.eflags = (initial_value(t, Reg::FLAGS) & ~uint32_t{kIoplNtBits}) | flags::Fixed1;
    // The real-mode IVT: 256 four-byte vectors at 0 (SDM Vol. 3A 20.1.4; the 80286's reset IDTR).
    s.idtr = {.base = 0, .limit = 0x3FF};
    return s;
}

// How FLAGS words are compared: metadata.json's flags-mask, the SDM's undefined flags for
// this instruction, and bits 12-15 for POPF/IRET results.
struct FlagsRule {
    uint16_t metadata_mask = 0xFFFF;
    uint16_t sdm_undefined = 0;
    bool iopl_nt = false;

    uint16_t compared() const {
        return static_cast<uint16_t>(metadata_mask & ~sdm_undefined &
                                     (iopl_nt ? ~kIoplNtBits : 0xFFFF));
    }
    // Equal under the masks; records which masks a difference needed.
    bool equal(uint16_t want, uint16_t got, std::array<bool, kNumCompareMasks>& relied) const {
        const auto diff = static_cast<uint16_t>(want ^ got);
        if (diff & compared()) return false;
        auto needs = [&](CompareMask m, uint16_t bits) {
            if (diff & bits) relied[static_cast<int>(m)] = true;
        };
        needs(CompareMask::UndefinedFlags, static_cast<uint16_t>(~metadata_mask));
        needs(CompareMask::SdmUndefinedFlags, static_cast<uint16_t>(metadata_mask & sdm_undefined));
        needs(CompareMask::FlagsIoplNt, iopl_nt ? kIoplNtBits : 0);
        return true;
    }
};

// The instruction references the stack segment: an implicit stack access or an SS-relative
// memory operand (decoded as a 386+ decodes it in real mode).
bool references_stack_segment(const Test& t) {
    decoder::Insn insn;
    if (decoder::decode(t.bytes.data(), t.bytes.size(), decoder::FetchMode{}, insn) !=
        decoder::DecodeStatus::Ok)
        return false;
    using decoder::Op;
    switch (insn.op) {
    case Op::Push:
    case Op::Pop:
    case Op::Pusha:
    case Op::Popa:
    case Op::Pushf:
    case Op::Popf:
    case Op::Enter:
    case Op::Leave:
    case Op::Call:
    case Op::CallFar:
    case Op::Ret:
    case Op::RetFar:
    case Op::Int:
    case Op::Int1:
    case Op::Int3:
    case Op::Into:
    case Op::Iret: return true;
    case Op::Movs:
    case Op::Cmps:
    case Op::Lods:
    case Op::Outs:
    case Op::Xlat:
        // The source segment of a string operation or XLAT (DS unless overridden).
        if (insn.segment == static_cast<uint8_t>(Seg::SS)) return true;
        break;
    default: break;
    }
    for (int i = 0; i < insn.operand_count; ++i)
        if (insn.operands[i].kind == decoder::OperandKind::Mem &&
            insn.operands[i].segment == static_cast<uint8_t>(Seg::SS))
            return true;
    return false;
}

// Mask stack-fault-vector: where the 80286 took interrupt 13 on an instruction that uses the
// stack segment, a 386+ may take #SS (12) for the same overrun. IVT entry 12 gets the same
// handler as entry 13 under another segment:offset spelling of the same linear address, so
// the run lands on the same HLT and the spelling tells which vector was delivered.
struct StackFaultMirror {
    uint16_t cs = 0, ip = 0;         // the handler of vector 13
    uint16_t alt_cs = 0, alt_ip = 0; // the same address as entry 12

    static std::optional<StackFaultMirror> install(const Test& t, uint8_t* ram) {
        if (!t.exception || t.exception->number != kVectorGP) return std::nullopt;
        bool has13 = false;
        for (const auto& [address, value] : t.initial_ram) {
            if (address >= kVectorSS * 4u && address < kVectorSS * 4u + 4) return std::nullopt;
            has13 = has13 || address == kVectorGP * 4u;
        }
        if (!has13 || !references_stack_segment(t)) return std::nullopt;
        StackFaultMirror m;
        std::memcpy(&m.ip, ram + kVectorGP * 4, 2);
        std::memcpy(&m.cs, ram + kVectorGP * 4 + 2, 2);
        // seg:off and (seg + 1):(off - 16) name the same byte; without another spelling
        // (handler at offset < 16 in segment 0, say) both vectors look alike.
        const int shift = (m.ip >= 0x10 && m.cs < 0xFFFF) ? 1
                          : (m.ip <= 0xFFEF && m.cs > 0)  ? -1
                                                          : 0;
        m.alt_cs = static_cast<uint16_t>(m.cs + shift);
        m.alt_ip = static_cast<uint16_t>(m.ip - shift * 0x10);
        std::memcpy(ram + kVectorSS * 4, &m.alt_ip, 2);
        std::memcpy(ram + kVectorSS * 4 + 2, &m.alt_cs, 2);
        return m;
    }

    // Rewrites CS:IP delivered through entry 12 to entry 13's spelling.
    bool normalize(CpuState& s) const {
        if (alt_cs == cs || s[Seg::CS].selector != alt_cs) return false;
        s[Seg::CS] = real_mode_segment(cs);
        s.eip = (s.eip - alt_ip + ip) & 0xFFFF;
        return true;
    }
};

std::string hex16or32(uint32_t v) {
    return v > 0xFFFF ? fmt::format("{:#010x}", v) : fmt::format("{:#06x}", v);
}

class Comparison {
  public:
    Comparison(const Test& t, const CpuState& s, const uint8_t* ram, const FlagsRule& rule,
               Outcome& out)
        : t_(t), s_(s), ram_(ram), rule_(rule), out_(out) {}

    void run() {
        for (int i = 0; i < kNumRegs; ++i)
            compare_reg(static_cast<Reg>(i));
        compare_ram();
    }

  private:
    void mismatch(std::string field, std::string want, std::string got) {
        out_.mismatches.push_back({std::move(field), std::move(want), std::move(got)});
    }

    std::string flags_field(const char* name) const {
        const uint16_t m = rule_.compared();
        return m == 0xFFFF ? name : fmt::format("{}&{:#06x}", name, m);
    }

    void compare_reg(Reg r) {
        const char* name = kRegNames[static_cast<int>(r)];
        const uint16_t want = expected_value(t_, r);
        if (is_segment(r)) {
            const SegmentCache& seg = s_[seg_of(r)];
            if (seg.selector != want)
                mismatch(name, fmt::format("{:#06x}", want), fmt::format("{:#06x}", seg.selector));
            if (seg.base != uint64_t{seg.selector} << 4)
                mismatch(fmt::format("{}.base", name),
                         fmt::format("{:#x}", uint32_t{seg.selector} << 4),
                         fmt::format("{:#x}", seg.base));
            return;
        }
        if (r == Reg::FLAGS) {
            const auto got = static_cast<uint16_t>(s_.eflags);
            if (!rule_.equal(want, got, out_.relied_on))
                mismatch(flags_field("flags"), fmt::format("{:#06x}", want),
                         fmt::format("{:#06x}", got));
            return;
        }
        // The upper halves of EIP and the GPRs start at 0 and no 16-bit instruction may
        // change them: compare all 32 bits.
        const uint32_t got = r == Reg::IP ? s_.eip : s_[gpr_of(r)];
        // The 80286 IP is 16 bits: after the last byte of the segment it wraps to 0, where a
        // 386+ EIP advances to 10000H (straight-line code does not truncate EIP).
        if (r == Reg::IP && got == 0x10000 && want == 0) {
            out_.relied_on[static_cast<int>(CompareMask::InstructionPointer16)] = true;
            return;
        }
        if (got != want) mismatch(name, fmt::format("{:#06x}", want), hex16or32(got));
    }

    // The FLAGS word an exception or INT pushed: at SS:SP+4 once FLAGS, CS and IP are on the
    // stack. (The tests' flag_address says the same, rounded down to even when SP is odd.)
    std::optional<std::pair<uint32_t, uint32_t>> pushed_flags() const {
        if (!t_.exception) return std::nullopt;
        const uint32_t base = uint32_t{expected_value(t_, Reg::SS)} << 4;
        const uint16_t sp = expected_value(t_, Reg::SP);
        return std::pair{base + ((sp + 4u) & 0xFFFF), base + ((sp + 5u) & 0xFFFF)};
    }

    void compare_ram() {
        const auto flags_at = pushed_flags();
        uint16_t want_flags = 0, got_flags = 0;
        bool have_low = false, have_high = false;
        for (const auto& [address, want] : t_.final_ram) {
            const uint8_t got = ram_[address];
            if (flags_at && address == flags_at->first) {
                want_flags = static_cast<uint16_t>((want_flags & 0xFF00) | want);
                got_flags = static_cast<uint16_t>((got_flags & 0xFF00) | got);
                have_low = true;
            } else if (flags_at && address == flags_at->second) {
                want_flags = static_cast<uint16_t>((want_flags & 0xFF) | (want << 8));
                got_flags = static_cast<uint16_t>((got_flags & 0xFF) | (got << 8));
                have_high = true;
            } else if (got != want) {
                mismatch(fmt::format("ram[{:#08x}]", address), fmt::format("{:#04x}", want),
                         fmt::format("{:#04x}", got));
            }
        }
        if (!have_low && !have_high) return;
        FlagsRule pushed = rule_;
        pushed.iopl_nt = false; // the pushed word is FLAGS before POPF/IRET ran
        if (!have_low) pushed.metadata_mask &= 0xFF00;
        if (!have_high) pushed.metadata_mask &= 0x00FF;
        if (!pushed.equal(want_flags, got_flags, out_.relied_on))
            mismatch(
                fmt::format("pushed flags[{:#08x}]&{:#06x}", flags_at->first, pushed.compared()),
                fmt::format("{:#06x}", want_flags), fmt::format("{:#06x}", got_flags));
    }

    const Test& t_;
    const CpuState& s_;
    const uint8_t* ram_;
    const FlagsRule& rule_;
    Outcome& out_;
};

std::string describe_exit(const Exit& exit) {
    std::string text = to_string(exit.reason);
    if (exit.reason == ExitReason::Exception) text += fmt::format(" vector {}", exit.vector);
    if (exit.detail) text += fmt::format(" ({})", exit.detail);
    return text;
}

} // namespace

PortHandler::Result SstMachine::OpenBus::access(PortAccess& access) {
    if (access.is_in) access.data = access.size == 4 ? ~0u : (1u << (access.size * 8)) - 1;
    return Result::Handled;
}

SstMachine::SstMachine(bool strict) : strict_(strict) {
    void* p = mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        throw std::runtime_error(
            fmt::format("cannot map 16 MiB of guest RAM: {}", std::strerror(errno)));
    ram_ = static_cast<uint8_t*>(p);
    const RamSlot slot{.guest_phys = 0, .size = kRamSize, .host = ram_, .read_only = false};
    emu_ = std::make_unique<Emulator>(std::span{&slot, 1}, &ports_);
    emu_->set_a20(true);
}

SstMachine::~SstMachine() {
    emu_.reset();
    munmap(ram_, kRamSize);
}

// Back to all zeroes: the kernel drops only the pages a test touched, and the next touch
// maps a fresh zero page — far cheaper than clearing 16 MiB per test.
void SstMachine::reset_ram() {
    if (madvise(ram_, kRamSize, MADV_DONTNEED) != 0) std::memset(ram_, 0, kRamSize);
}

Outcome SstMachine::run(const Test& test, const OpcodeInfo& info) {
    Outcome outcome;
    const auto mask = strict_ ? std::nullopt : skip_mask_for(test);
    if (mask) {
        outcome.verdict = Outcome::Verdict::Masked;
        outcome.skip = *mask;
        return outcome;
    }
    for (const auto& [address, value] : test.initial_ram)
        ram_[address] = value;
    const auto mirror = strict_ ? std::nullopt : StackFaultMirror::install(test, ram_);

    // One emulator for every test (building one per test cost more than the test under
    // ASan); dropping what the last test may have left pending and setting the same slot again
    // (which drops its decoded instructions, blocks and TLB) keeps a test's outcome
    // independent of the tests before it.
    const RamSlot slot{.guest_phys = 0, .size = kRamSize, .host = ram_, .read_only = false};
    emu_->forget_pending();
    emu_->set_ram_slots({&slot, 1});
    emu_->state() = start_state(test);
    const RunLimits limits{
        .budget = kInstructionBudget, .stop_when_valid = std::nullopt, .single_step = false};
    const Exit exit = emu_->run(limits);

    CpuState final_state = emu_->state();
    if (mirror && mirror->normalize(final_state))
        outcome.relied_on[static_cast<int>(CompareMask::StackFaultVector)] = true;
    const FlagsRule rule{.metadata_mask = info.flags_mask,
                         .sdm_undefined = strict_ ? uint16_t{0} : sdm_undefined_flags(test),
                         .iopl_nt = !strict_ && loads_flags_from_stack(test)};
    Comparison(test, final_state, ram_, rule, outcome).run();
    if (exit.reason != ExitReason::Halt)
        outcome.mismatches.insert(outcome.mismatches.begin(),
                                  {"exit", "halt", describe_exit(exit)});
    if (!outcome.mismatches.empty()) {
        outcome.verdict = Outcome::Verdict::Fail;
        outcome.relied_on = {};
    }
    reset_ram();
    return outcome;
}

} // namespace transit86::tools::sst
