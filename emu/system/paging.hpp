// Paging (SDM Vol. 3A chapter 4): 32-bit paging with 4-KByte and 4-MByte pages (CR4.PSE), PAE
// paging with its PDPTE registers and the execute-disable bit (EFER.NXE); the page walk with
// its access rights (4.6), accessed and dirty flags (4.8) and page faults (4.7); the control-
// register writes that switch or reconfigure paging, and TLB invalidation (4.10.4).
//
// The walk fills the software TLB of emu/cpu/tlb.hpp: Cpu's memory accesses look there first
// and call page_walk() (installed as Cpu::page_walker) on a miss. Long mode (IA-32e paging) is
// not modelled: enabling it stops with Unsupported.
#pragma once

#include <array>
#include <cstdint>

#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

// What the modelled CPU reports in CPUID (include/transit86/cpu_model.hpp): no PSE-36, and no
// CPUID leaf 80000008H, so MAXPHYADDR is 36 with PAE (SDM Vol. 3A 4.1.4).
inline constexpr unsigned kMaxPhysicalAddressBits = 36;

// Page-fault error code bits (SDM Vol. 3A 4.7, Figure 4-12).
namespace pf {
inline constexpr uint32_t P = 1u << 0;    // 0: not present; 1: protection or reserved bit
inline constexpr uint32_t W = 1u << 1;    // the access was a write
inline constexpr uint32_t U = 1u << 2;    // the access was a user-mode access
inline constexpr uint32_t RSVD = 1u << 3; // a reserved bit was set in an entry
inline constexpr uint32_t ID = 1u << 4;   // an instruction fetch, with PAE and NXE
} // namespace pf

// The translation of the page holding `linear` for an access of `kind`, checked, with the
// accessed and dirty flags set, into `entry` (its tag is left for Tlb::fill). False with #PF
// raised (fault.address = linear, for CR2), or with Unsupported when a paging structure lies
// outside guest RAM. `user`: a user-mode access (CPL 3 and not an implicit supervisor access).
bool page_walk(Cpu& cpu, uint32_t linear, AccessKind kind, bool user, TlbEntry& entry);

// The guest-physical address of the byte at `linear` under the current paging mode, as a
// debugger sees it (Emulator::read_linear): the same walk, but no access rights checked, no
// accessed or dirty flags set and no fault raised. With CR0.PG = 0, `linear` with A20 applied.
// False where a page is not present, an entry sets a reserved bit, a paging structure lies
// outside RAM, or the paging mode is not modelled.
bool peek_translation(const CpuState& s, const GuestMemory& mem, bool a20, uint32_t linear,
                      uint64_t& physical);

// MOV to CR0 / CR3 / CR4 with every rule the SDM gives them (MOV—Move to/from Control
// Registers; Vol. 3A 2.5, 4.1.1, 4.4.1, 4.10.4.1): #GP(0) for invalid combinations and for
// PDPTEs with reserved bits when PAE paging would be in use, the PDPTE loads, TLB flushes.
// A task switch loads CR3 through write_cr3 too (SDM Vol. 3A 7.3 step 11).
bool write_cr0(Cpu& cpu, uint32_t value);
bool write_cr3(Cpu& cpu, uint32_t value);
bool write_cr4(Cpu& cpu, uint32_t value);

// WRMSR to IA32_EFER (value already checked against the writable bits): #GP(0) for a change
// of LME while paging is on (SDM Vol. 3A 9.8.5); a change of NXE flushes the TLB.
bool write_efer(Cpu& cpu, uint64_t value);

// invlpg m: the TLB entries for the page holding `linear` (SDM INVLPG; Vol. 3A 4.10.4.1).
void invalidate_page(Cpu& cpu, uint32_t linear);

// The four PDPTEs of the table at `cr3` (bits 31:5), as MOV to CR3 loads them (SDM Vol. 3A
// 4.4.1). False with #GP(0) raised when one that is present sets a reserved bit, or with
// Unsupported when the table is outside guest RAM; the caller commits nothing then.
bool read_pdptes(Cpu& cpu, uint64_t cr3, std::array<uint64_t, 4>& out);

// PAE paging is in use (SDM Vol. 3A 4.1.1): CR0.PG = 1 and CR4.PAE = 1 (LME is not modelled).
inline bool pae_paging(const CpuState& s) {
    return (s.cr0 & cr0::PG) && (s.cr4 & cr4::PAE);
}

// Why a state with CR0.PG = 1 cannot run: long mode (EFER.LME or LMA with paging) is not
// modelled. nullptr when it can.
inline const char* unmodelled_paging_mode(const CpuState& s) {
    if (s.efer & (efer::LMA | efer::LME)) return "long mode (EFER.LME with CR0.PG) is not modelled";
    return nullptr;
}

} // namespace transit86::emu
