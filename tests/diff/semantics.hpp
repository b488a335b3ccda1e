// What the differential tool needs to know about one instruction before it runs: its bytes and
// decode, whether a case may run it, which results the SDM leaves undefined, and whether it
// touches memory past a real-mode segment limit (docs/differential.md).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "decoder/decoder.hpp"
#include "diff/layout.hpp"
#include "transit86/cpu_state.hpp"

namespace transit86::diff {

// The instruction at CS:EIP as transit86 fetches it.
struct Fetched {
    decoder::DecodeStatus status = decoder::DecodeStatus::Truncated;
    decoder::Insn insn{};
    std::array<uint8_t, 15> bytes{};
    uint8_t length = 0; // insn.length when decoded, else the bytes available
    uint32_t linear = 0;
};

decoder::FetchMode fetch_mode(const CpuState& s);
Fetched fetch(const CpuState& s, std::span<const uint8_t> ram);
// "1234:0056  66 0f a5 d8  shld eax, ebx, cl"
std::string describe(const Fetched& f, const CpuState& s);

// Whether the generator may emit this instruction in `mode` (docs/differential.md lists the set).
bool allowed(const decoder::Insn& insn, Mode mode);

// Why the case has to stop before this instruction (outside the allowed set, a REP count above
// kMaxRepCount, a POPF that would set TF — KVM owns TF —, an instruction crossing the real-mode
// CS limit), or nullptr when it may run.
inline constexpr uint32_t kMaxRepCount = 64;
const char* gate(const Fetched& f, const CpuState& s, std::span<const uint8_t> ram, Mode mode);

// Results the SDM leaves undefined for this instruction in this state. The tool copies the
// oracle's value of these bits into transit86's state before comparing, so that later
// instructions see the same inputs.
struct Undefined {
    uint32_t eflags = 0;
    std::array<uint32_t, 8> gpr{}; // undefined bits of each GPR (ModRM order)
    uint64_t mem_linear = 0;       // undefined destination bytes in memory
    uint8_t mem_size = 0;
};
Undefined undefined_results(const Fetched& f, const CpuState& before, std::span<const uint8_t> ram);

// Whether the instruction may access bytes past a segment limit (or load an EIP past the CS
// limit): in real mode the SDM raises #GP or #SS there (Vol. 3A 21.1.1) and QEMU TCG, which
// has no limit checks, does not; with a 4 GiB limit an access that wraps past 0xFFFFFFFF "may
// or may not" fault (Vol. 3A 5.3). Conservative: stack and string pointers within 16 bytes of
// either end count, and so does a near transfer with a 32-bit operand size and a 64 KiB CS.
bool may_cross_limit(const decoder::Insn& insn, const CpuState& before);

} // namespace transit86::diff
