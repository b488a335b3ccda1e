// transit86 — the CPU model CPUID reports (docs/cpu-model.md). Configurable per Emulator.
#pragma once

#include <array>
#include <cstdint>

namespace transit86 {

namespace cpuid_edx { // CPUID.01H:EDX feature bits (SDM Vol. 2A, CPUID, Table 3-11)
inline constexpr uint32_t FPU = 1u << 0;
inline constexpr uint32_t VME = 1u << 1; // virtual-8086 mode extensions, CR4.VME and CR4.PVI
inline constexpr uint32_t PSE = 1u << 3; // 4-MByte pages, CR4.PSE
inline constexpr uint32_t TSC = 1u << 4;
inline constexpr uint32_t MSR = 1u << 5;
inline constexpr uint32_t PAE = 1u << 6; // PAE paging, CR4.PAE
inline constexpr uint32_t CX8 = 1u << 8;
inline constexpr uint32_t MTRR = 1u << 12; // IA32_MTRRCAP and the MTRRs it describes
inline constexpr uint32_t PGE = 1u << 13;  // global pages, CR4.PGE
inline constexpr uint32_t CMOV = 1u << 15;
inline constexpr uint32_t PAT = 1u << 16;  // IA32_PAT; the PAT bit of paging entries
inline constexpr uint32_t FXSR = 1u << 24; // FXSAVE/FXRSTOR, CR4.OSFXSR
inline constexpr uint32_t SSE = 1u << 25;
inline constexpr uint32_t SSE2 = 1u << 26;
} // namespace cpuid_edx

namespace cpuid_ext_edx { // CPUID.80000001H:EDX
inline constexpr uint32_t SYSCALL = 1u << 11;
inline constexpr uint32_t NX = 1u << 20;
inline constexpr uint32_t LM = 1u << 29;
} // namespace cpuid_ext_edx

struct CpuModel {
    // "GenuineIntel": CPUID.0 returns it in EBX, EDX, ECX order.
    std::array<char, 12> vendor = {'G', 'e', 'n', 'u', 'i', 'n', 'e', 'I', 'n', 't', 'e', 'l'};
    // CPUID.01H:EAX: family 6, model 0, stepping 0 — the value EDX holds after reset.
    uint32_t signature = 0x00000600;
    // What transit86 implements: the x87 FPU (FPU), the virtual-8086 mode extensions with
    // protected-mode virtual interrupts (VME: SDM Vol. 3A 20.3, 20.4), RDTSC, RDMSR/WRMSR,
    // CMPXCHG8B, CMOVcc; 32-bit and PAE paging with 4-MByte pages, global pages and the PAT
    // bit (IA32_PAT holds its value; memory types have no effect here); the MTRRs (8 variable
    // ranges, the fixed ranges, write-combining: held and checked as written, with no effect
    // either; firmware such as U-Boot programs them without looking at CPUID); FXSAVE/FXRSTOR
    // (FXSR: the x87 state and the SSE registers they hold, no SSE instruction). No PSE-36 and
    // no leaf 80000008H: MAXPHYADDR is 36 (SDM Vol. 3A 4.1.4).
    uint32_t features_edx = cpuid_edx::FPU | cpuid_edx::VME | cpuid_edx::PSE | cpuid_edx::TSC |
                            cpuid_edx::MSR | cpuid_edx::PAE | cpuid_edx::CX8 | cpuid_edx::MTRR |
                            cpuid_edx::PGE | cpuid_edx::CMOV | cpuid_edx::PAT | cpuid_edx::FXSR;
    uint32_t features_ecx = 0;
    // Execute-disable (EFER.NXE, XD in PAE entries); no long mode or SYSCALL.
    uint32_t extended_features_edx = cpuid_ext_edx::NX;
    // CPUID.80000002H..80000004H, NUL-padded.
    std::array<char, 48> brand = {'t', 'r', 'a', 'n', 's', 'i', 't', '8', '6', ' ', 'v',
                                  'i', 'r', 't', 'u', 'a', 'l', ' ', 'C', 'P', 'U'};
};

} // namespace transit86
