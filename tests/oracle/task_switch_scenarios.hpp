// Guest memory and starting state shared by the task-switch oracle tests
// (task_switch_vs_kvm_test.cpp, task_switch_vs_unicorn_test.cpp): flat code 08 and data 10,
// the GDT at 0x800, the IDT at 0xC00, TSSs from 0x3000, all in 1 MiB of RAM at GPA 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "transit86/cpu_state.hpp"

namespace transit86::oracle::scenario {

inline constexpr size_t kRamSize = 1u << 20;
inline constexpr uint32_t kGdt = 0x800, kIdt = 0xC00;
inline constexpr uint32_t kTablesEnd = 0x3400; // GDT, IDT, TSSs all lie in [kGdt, kTablesEnd)
inline constexpr uint16_t kCode = 0x08, kData = 0x10, kTssA = 0x18, kTssB = 0x20, kGateC = 0x28,
                          kTssC = 0x30, kTssD = 0x38;

class Guest {
  public:
    Guest() : ram_(kRamSize) {}
    std::vector<uint8_t>& ram() { return ram_; }
    void put(uint32_t at, std::initializer_list<uint8_t> bytes) {
        std::copy(bytes.begin(), bytes.end(), ram_.begin() + at);
    }
    void put16(uint32_t at, uint16_t v) { std::memcpy(&ram_[at], &v, 2); }
    void put32(uint32_t at, uint32_t v) { std::memcpy(&ram_[at], &v, 4); }
    void put64(uint32_t at, uint64_t v) { std::memcpy(&ram_[at], &v, 8); }
    uint32_t get32(uint32_t at) const {
        uint32_t v = 0;
        std::memcpy(&v, &ram_[at], 4);
        return v;
    }
    // A GDT descriptor (SDM Vol. 3A Figure 3-8).
    void descriptor(uint16_t selector, uint32_t base, uint32_t limit, uint8_t access,
                    uint8_t flags) {
        put64(kGdt + selector, (limit & 0xFFFFull) | (uint64_t{base} & 0xFFFFFF) << 16 |
                                   uint64_t{access} << 40 | uint64_t{(limit >> 16) & 0xF} << 48 |
                                   uint64_t{flags} << 52 | uint64_t{base >> 24} << 56);
    }
    // A gate (SDM Vol. 3A Figure 6-2).
    void gate(uint32_t at, uint16_t selector, uint32_t offset, uint8_t access) {
        put64(at, (offset & 0xFFFFull) | uint64_t{selector} << 16 | uint64_t{access} << 40 |
                      uint64_t{offset >> 16} << 48);
    }
    // A 32-bit TSS (SDM Vol. 3A Figure 7-2) for a flat ring-0 task.
    void task(uint32_t base, uint32_t eip, uint32_t esp) {
        put32(base + 0x20, eip);
        put32(base + 0x24, flags::Fixed1);
        put32(base + 0x38, esp);
        for (uint32_t slot : {0x48u, 0x50u, 0x54u, 0x58u, 0x5Cu})
            put16(base + slot, kData);
        put16(base + 0x4C, kCode);
    }
    // The GDT every scenario starts from: code 08, data 10, task A's busy TSS at 0x3000.
    void flat_with_task_a() {
        descriptor(kCode, 0, 0xFFFFF, 0x9B, 0xC);
        descriptor(kData, 0, 0xFFFFF, 0x93, 0xC);
        descriptor(kTssA, 0x3000, 0x67, 0x8B, 0); // busy: the current task
    }

  private:
    std::vector<uint8_t> ram_;
};

// Flat 32-bit ring 0 in task A (TSS at 0x3000, busy, TR loaded); `reset` otherwise.
inline CpuState ring0_start(const CpuState& reset, uint32_t eip) {
    CpuState s = reset;
    s.cr0 = reset.cr0 | cr0::PE;
    s.eip = eip;
    s.eflags = flags::Fixed1;
    s[Gpr::ESP] = 0x8000;
    s.gdtr = {.base = kGdt, .limit = 0xFF};
    s.idtr = {.base = kIdt, .limit = 0x7FF};
    for (auto& sc : s.seg)
        sc = SegmentCache{
            .base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC093, .selector = kData};
    s[Seg::CS] =
        SegmentCache{.base = 0, .limit = 0xFFFFFFFF, .access_rights = 0xC09B, .selector = kCode};
    s.tr = SegmentCache{.base = 0x3000, .limit = 0x67, .access_rights = 0x8B, .selector = kTssA};
    return s;
}

// Tasks A (running, code at 0x1000), B, C and D (TSSs at 0x3100..0x3300, code at 0x1100..
// 0x1300): A JMPs to B; B CALLs C through the task gate 28, then INT 0x40 reaches D through an
// IDT task gate; C and D return with IRET (NT). After that B runs a NOP at 0x110E.
inline void task_chain(Guest& g) {
    g.descriptor(kTssB, 0x3100, 0x67, 0x89, 0);
    g.gate(kGdt + kGateC, kTssC, 0, 0x85); // task gate for C
    g.descriptor(kTssC, 0x3200, 0x67, 0x89, 0);
    g.descriptor(kTssD, 0x3300, 0x67, 0x89, 0);
    g.gate(kIdt + 0x40 * 8, kTssD, 0, 0x85); // IDT[40]: task gate for D
    g.task(0x3100, 0x1100, 0x7000);
    g.task(0x3200, 0x1200, 0x6000);
    g.task(0x3300, 0x1300, 0x5000);
    g.put(0x1000, {0xB8, 0x11, 0x11, 0x11, 0x11,               // A: mov eax, 0x11111111
                   0xEA, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00}); //    jmp 0x20:0 (TSS B)
    g.put(0x1100, {0xBB, 0x22, 0x00, 0x00, 0x00,               // B: mov ebx, 0x22
                   0x9A, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00,   //    call 0x28:0 (gate -> C)
                   0xCD, 0x40,                                 //    int 0x40 (IDT gate -> D)
                   0x90});                                     //    nop
    g.put(0x1200, {0xB9, 0x33, 0x00, 0x00, 0x00, 0xCF});       // C: mov ecx, 0x33 ; iretd
    g.put(0x1300, {0xBA, 0x44, 0x00, 0x00, 0x00, 0xCF});       // D: mov edx, 0x44 ; iretd
}

// A virtual-8086 round trip from ring 0: task A's SS0:ESP0 = 10:9000, IDT[40] a DPL-3 32-bit
// interrupt gate to 08:1500, and at 0x9000 - 36 an IRET frame into V86 at 0100:0020 with
// IOPL 3 (EIP, CS, EFLAGS, ESP 1000, SS 0700, ES 0400, DS 0300, FS 0500, GS 0600); an IRETD at
// 0x1000. Start at EIP 0x1000 with ESP = kV86Frame.
inline constexpr uint32_t kV86Frame = 0x9000 - 36;
inline void v86_entry(Guest& g) {
    g.put32(0x3000 + 4, 0x9000);                  // ESP0
    g.put16(0x3000 + 8, kData);                   // SS0
    g.gate(kIdt + 0x40 * 8, kCode, 0x1500, 0xEE); // DPL 3 32-bit interrupt gate
    const uint32_t frame[] = {0x0020, 0x0100, 0x23002, 0x1000, 0x0700,
                              0x0400, 0x0300, 0x0500,  0x0600};
    for (uint32_t i = 0; i < 9; ++i)
        g.put32(kV86Frame + 4 * i, frame[i]);
    g.put(0x1000, {0xCF}); // ring 0: iretd
}

} // namespace transit86::oracle::scenario
