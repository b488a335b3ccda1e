// Guest system tables for the task-switch and virtual-8086 tests: a TSS image, IDT gates and
// task gates written into a Machine's memory (layouts from SDM Vol. 3A Figures 6-2, 7-2, 7-8
// and 7-10).
#pragma once

#include <cstdint>

#include "machine.hpp"

namespace transit86::test {

// 32-bit TSS offsets (SDM Vol. 3A Figure 7-2).
namespace tss32 {
inline constexpr uint32_t kLink = 0x00, kEsp0 = 0x04, kSs0 = 0x08, kCr3 = 0x1C, kEip = 0x20,
                          kEflags = 0x24, kEax = 0x28, kEcx = 0x2C, kEsp = 0x38, kEdi = 0x44,
                          kEs = 0x48, kCs = 0x4C, kSs = 0x50, kDs = 0x54, kFs = 0x58, kGs = 0x5C,
                          kLdt = 0x60;
} // namespace tss32
// 16-bit TSS offsets (SDM Vol. 3A Figure 7-10).
namespace tss16 {
inline constexpr uint32_t kLink = 0x00, kIp = 0x0E, kFlags = 0x10, kAx = 0x12, kSp = 0x1A,
                          kEs = 0x22, kCs = 0x24, kSs = 0x26, kDs = 0x28, kLdt = 0x2A;
} // namespace tss16

inline constexpr uint8_t kTaskGate = 0x85;       // present, DPL 0, task gate (type 5)
inline constexpr uint8_t kIntGate32 = 0x8E;      // present, DPL 0, 32-bit interrupt gate
inline constexpr uint8_t kTrapGate32 = 0x8F;     // present, DPL 0, 32-bit trap gate
inline constexpr uint8_t kTss16Available = 0x81; // present, DPL 0, available 16-bit TSS
inline constexpr uint8_t kDpl3 = 0x60;           // OR into an access byte

// A 32-bit task: flat code 08 and data 10, EFLAGS and EIP/ESP/EAX as given.
inline void write_task32(Machine& m, uint32_t base, uint32_t eip, uint32_t esp, uint32_t eax,
                         uint32_t eflags = flags::Fixed1) {
    m.write32(base + tss32::kEip, eip);
    m.write32(base + tss32::kEflags, eflags);
    m.write32(base + tss32::kEax, eax);
    m.write32(base + tss32::kEsp, esp);
    for (uint32_t slot : {tss32::kEs, tss32::kSs, tss32::kDs, tss32::kFs, tss32::kGs})
        m.write16(base + slot, kData32);
    m.write16(base + tss32::kCs, kCode32);
}

// A gate (SDM Vol. 3A Figure 6-2 / 7-8): offset 15:0, selector, access byte, offset 31:16.
inline void write_gate(Machine& m, uint32_t address, uint16_t selector, uint32_t offset,
                       uint8_t access_byte) {
    m.write64(address, (uint64_t{offset} & 0xFFFF) | uint64_t{selector} << 16 |
                           uint64_t{access_byte} << 40 | uint64_t{offset >> 16} << 48);
}

} // namespace transit86::test
