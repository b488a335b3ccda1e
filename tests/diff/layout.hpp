// The guest machine every differential case runs on: RAM size, where the tables and handler
// stubs live, and the selectors of the protected-mode GDT (docs/differential.md).
//
//   0x00000  IVT (real mode): vector v -> 0000:(kStubBase + v)
//   0x00400  256 handler stubs, one NOP each: an oracle that delivers an exception and runs the
//            handler's first instruction (KVM) ends one byte past the stub of the vector
//   0x00800  GDT (protected mode): 08 code32, 10 flat data, 18 data at 0x10000, 20 data at
//            0x20000 with B = 0 (a 16-bit stack); all limits 4 GiB (QEMU does not check limits)
//   0x00900  IDT (protected mode): 256 32-bit interrupt gates -> 08:(kStubBase + v)
//   0x01000  the page directory with --paging (protected mode), else random bytes
//   0x01100  random bytes (the same for every case), code placed at random above kCodeMin
#pragma once

#include <cstdint>
#include <span>

#include "transit86/cpu_state.hpp"

namespace transit86::diff {

enum class Mode : uint8_t { Real, Pm32 };
const char* to_string(Mode mode);

inline constexpr uint64_t kRamSize = 2u << 20; // covers 1 MiB + the HMA (FFFF:FFFF = 0x10FFEF)
inline constexpr uint32_t kStubBase = 0x400;
inline constexpr uint32_t kGdtBase = 0x800;
inline constexpr uint32_t kGdtLimit = 5 * 8 - 1;
inline constexpr uint32_t kIdtBase = 0x900;
inline constexpr uint32_t kIdtLimit = 256 * 8 - 1;
inline constexpr uint32_t kCodeMin = 0x2000; // code buffers start at or above this linear address

inline constexpr uint16_t kCodeSel = 0x08;
inline constexpr uint16_t kFlatDataSel = 0x10;
inline constexpr uint16_t kBasedDataSel = 0x18;
inline constexpr uint32_t kBasedDataBase = 0x10000;
inline constexpr uint16_t kStack16Sel = 0x20;
inline constexpr uint32_t kStack16Base = 0x20000;

// With identity paging (transit86-diff --paging) protected-mode cases start with CR0.PG = 1
// under 32-bit paging: the page directory at kPageDirectory maps all 4 GiB with 4-MByte pages
// (CR4.PSE) onto themselves, every PDE present, writable, accessed and dirty (so no walk
// writes RAM). Every access goes through the translated path and the TLB. An oracle that
// does not translate (Unicorn 2.0.1 identity-maps) agrees as long as the directory is not
// overwritten; a store into it is reported, not masked.
inline constexpr uint32_t kPageDirectory = 0x1000;
void set_identity_paging(bool on);
bool identity_paging();

// The segment cache a protected-mode selector of this GDT loads.
SegmentCache pm_segment(uint16_t selector);

// Fills `ram` (kRamSize bytes) with the memory every case of `mode` starts from: a fixed random
// pattern, then the IVT or GDT + IDT and the stubs.
void build_pristine_memory(std::span<uint8_t> ram, Mode mode);

// The state every case of `mode` starts from before the generator randomises it (KVM's reset
// state for what the cases do not touch: CR0, TR, LDTR).
CpuState base_state(Mode mode);

// Exceptions that push an error code (SDM Vol. 3A Table 6-1).
constexpr bool has_error_code(uint8_t vector) {
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

} // namespace transit86::diff
