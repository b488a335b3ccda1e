// The named differences between the 80286 the SingleStepTests were captured on and the
// 386-class CPU transit86 models. Each is a rule over the test (never a list of tests) and
// each is justified in docs/known-differences.md, under the same id.
#pragma once

#include <cstdint>
#include <optional>

#include "tools/sst/sst_test.hpp"

namespace transit86::tools::sst {

struct MaskRule {
    const char* id;      // the heading in docs/known-differences.md
    const char* summary; // one line
};

// Skip masks: the test is set aside (counted as skipped), never compared.
enum class SkipMask : uint8_t { InstructionLength, LockPrefix, SegmentRegisterFsGs };
inline constexpr int kNumSkipMasks = 3;
inline constexpr MaskRule kSkipMasks[kNumSkipMasks] = {
    {"insn-length-10", "longer than 10 bytes: the 80286 raises interrupt 13, a 386+ runs it"},
    {"lock-not-lockable", "LOCK on a form a 386+ cannot lock: #UD there, the 80286 runs it"},
    {"sreg-fs-gs", "MOV to/from segment register 4 or 5: FS/GS, absent on the 80286 (#UD)"},
};

// Compare masks: the test is compared with fewer bits or with an equivalent reading. A test
// that passes only thanks to one of them is counted as passed and tallied under its id.
enum class CompareMask : uint8_t {
    UndefinedFlags,
    SdmUndefinedFlags,
    FlagsIoplNt,
    StackFaultVector,
    InstructionPointer16
};
inline constexpr int kNumCompareMasks = 5;
inline constexpr MaskRule kCompareMasks[kNumCompareMasks] = {
    {"undefined-flags", "flags metadata.json marks undefined on the 80286 (flags-mask)"},
    {"sdm-undefined-flags", "flags the SDM leaves undefined on a 386+ for these operands"},
    {"flags-iopl-nt", "FLAGS bits 12-15: cleared before loading, masked in POPF/IRET results"},
    {"stack-fault-vector", "SS-relative overrun: interrupt 13 on the 80286, #SS (12) on a 386+"},
    {"ip-16-bit",
     "IP past offset FFFF: the 80286's 16-bit IP wraps to 0, a 386+ EIP reaches 10000"},
};

// FLAGS bits 12-15 (IOPL, NT, bit 15): never set in 80286 real mode.
inline constexpr uint16_t kIoplNtBits = 0xF000;

// Which skip mask, if any, sets this test aside.
std::optional<SkipMask> skip_mask_for(const Test& test);

// FLAGS bits the SDM (Vol. 2, "Flags Affected" of each instruction) leaves undefined after
// this instruction with these operands; 0 when all are defined.
uint16_t sdm_undefined_flags(const Test& test);

// POPF (9D) and IRET (CF): FLAGS loaded from the stack, where a 386+ takes IOPL/NT in real
// mode and the 80286 keeps them clear.
bool loads_flags_from_stack(const Test& test);

} // namespace transit86::tools::sst
