// transit86 — the architectural state of one x86 CPU in the real/protected-mode window.
//
// Segment registers carry their hidden descriptor caches in the VMCS layout (SDM Vol. 3C
// 24.4.1, "Guest Register State"), so the VM-entry checks read them exactly as hardware
// would and the KVM state layout (kvm_segment) converts one field at a time.
#pragma once

#include <array>
#include <cstdint>

namespace transit86 {

// VMCS guest-segment access-rights bits (SDM Vol. 3C, Table 24-2).
namespace ar {
inline constexpr uint32_t kTypeMask = 0xF;
inline constexpr uint32_t kAccessed = 1u << 0; // type bit 0 for code/data
inline constexpr uint32_t kTypeCode = 1u << 3; // type bit 3: code segment
inline constexpr uint32_t kS = 1u << 4;        // descriptor type: 1 = code/data
inline constexpr uint32_t kDplShift = 5;
inline constexpr uint32_t kDplMask = 3u << kDplShift;
inline constexpr uint32_t kP = 1u << 7;
inline constexpr uint32_t kAvl = 1u << 12;
inline constexpr uint32_t kL = 1u << 13;
inline constexpr uint32_t kDb = 1u << 14;
inline constexpr uint32_t kG = 1u << 15;
inline constexpr uint32_t kUnusable = 1u << 16;
inline constexpr uint32_t kReservedMask = 0xFFFE0F00; // bits 11:8 and 31:17

constexpr uint32_t type(uint32_t a) {
    return a & kTypeMask;
}
constexpr uint32_t dpl(uint32_t a) {
    return (a & kDplMask) >> kDplShift;
}
constexpr bool s(uint32_t a) {
    return (a & kS) != 0;
}
constexpr bool present(uint32_t a) {
    return (a & kP) != 0;
}
constexpr bool unusable(uint32_t a) {
    return (a & kUnusable) != 0;
}
constexpr bool db(uint32_t a) {
    return (a & kDb) != 0;
}
constexpr bool g(uint32_t a) {
    return (a & kG) != 0;
}
} // namespace ar

// One segment register: the visible selector and the hidden descriptor cache.
struct SegmentCache {
    uint64_t base = 0;
    uint32_t limit = 0;         // byte-granular (already scaled when G = 1)
    uint32_t access_rights = 0; // VMCS format, see namespace ar
    uint16_t selector = 0;

    constexpr uint16_t rpl() const { return selector & 3; }
    constexpr bool ti() const { return (selector & 4) != 0; }
    friend constexpr bool operator==(const SegmentCache&, const SegmentCache&) = default;
};

// GDTR / IDTR.
struct DescriptorTableRegister {
    uint64_t base = 0;
    uint32_t limit = 0; // 16 bits architecturally; VMCS field is 32 bits (26.3.1.3 checks 31:16)
    friend constexpr bool operator==(const DescriptorTableRegister&,
                                     const DescriptorTableRegister&) = default;
};

// Segment register numbers in ModRM sreg-field order (SDM Vol. 2, Table 3-6).
enum class Seg : uint8_t { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5 };
inline constexpr int kNumSegs = 6;

// General-purpose registers in ModRM encoding order.
enum class Gpr : uint8_t { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

namespace flags {
inline constexpr uint32_t CF = 1u << 0;
inline constexpr uint32_t Fixed1 = 1u << 1;
inline constexpr uint32_t PF = 1u << 2;
inline constexpr uint32_t AF = 1u << 4;
inline constexpr uint32_t ZF = 1u << 6;
inline constexpr uint32_t SF = 1u << 7;
inline constexpr uint32_t TF = 1u << 8;
inline constexpr uint32_t IF = 1u << 9;
inline constexpr uint32_t DF = 1u << 10;
inline constexpr uint32_t OF = 1u << 11;
inline constexpr uint32_t IOPL = 3u << 12;
inline constexpr uint32_t NT = 1u << 14;
inline constexpr uint32_t RF = 1u << 16;
inline constexpr uint32_t VM = 1u << 17;
inline constexpr uint32_t AC = 1u << 18;
inline constexpr uint32_t VIF = 1u << 19;
inline constexpr uint32_t VIP = 1u << 20;
inline constexpr uint32_t ID = 1u << 21;
// Arithmetic status flags.
inline constexpr uint32_t Status = CF | PF | AF | ZF | SF | OF;
} // namespace flags

namespace cr0 {
inline constexpr uint32_t PE = 1u << 0;
inline constexpr uint32_t MP = 1u << 1;
inline constexpr uint32_t EM = 1u << 2;
inline constexpr uint32_t TS = 1u << 3;
inline constexpr uint32_t ET = 1u << 4;
inline constexpr uint32_t NE = 1u << 5;
inline constexpr uint32_t WP = 1u << 16;
inline constexpr uint32_t AM = 1u << 18;
inline constexpr uint32_t NW = 1u << 29;
inline constexpr uint32_t CD = 1u << 30;
inline constexpr uint32_t PG = 1u << 31;
} // namespace cr0

namespace cr4 { // SDM Vol. 3A 2.5, Figure 2-7: the bits of the modelled CPU
inline constexpr uint32_t VME = 1u << 0; // virtual-8086 mode extensions (Vol. 3A 20.3)
inline constexpr uint32_t PVI = 1u << 1; // protected-mode virtual interrupts (Vol. 3A 20.4)
inline constexpr uint32_t TSD = 1u << 2;
inline constexpr uint32_t DE = 1u << 3;  // debugging extensions: DR4/DR5 #UD, I/O breakpoints
inline constexpr uint32_t PSE = 1u << 4; // 4-MByte pages with 32-bit paging
inline constexpr uint32_t PAE = 1u << 5; // PAE paging (64-bit entries, PDPTE registers)
inline constexpr uint32_t MCE = 1u << 6;
inline constexpr uint32_t PGE = 1u << 7; // global pages
inline constexpr uint32_t PCE = 1u << 8;
inline constexpr uint32_t OSFXSR = 1u << 9;
inline constexpr uint32_t OSXMMEXCPT = 1u << 10;
} // namespace cr4

// IA32_EFER bits (SDM Vol. 3A 2.2.1).
namespace efer {
inline constexpr uint64_t LME = 1u << 8;  // long mode enable: not modelled
inline constexpr uint64_t LMA = 1u << 10; // long mode active: not modelled
inline constexpr uint64_t NXE = 1u << 11; // execute-disable bit in PAE paging entries
} // namespace efer

// Debug status register DR6 (SDM Vol. 3B 18.2.3, Figure 18-1) for an i486-class CPU without
// RTM or bus-lock detection: B0-B3, BD, BS and BT can change; bits 4-11 and 16-31 read as 1,
// bit 12 as 0. The reset value (Vol. 3A Table 10-1) is all fixed bits and nothing else.
namespace dr6 {
inline constexpr uint32_t B0 = 1u << 0; // breakpoint n's condition was met: B0 << n
inline constexpr uint32_t Breakpoints = 0xF;
inline constexpr uint32_t BD = 1u << 13; // the next instruction accesses a debug register (GD)
inline constexpr uint32_t BS = 1u << 14; // single step (EFLAGS.TF)
inline constexpr uint32_t BT = 1u << 15; // task switch to a TSS with the T bit
inline constexpr uint32_t Writable = Breakpoints | BD | BS | BT;
inline constexpr uint32_t Reset = 0xFFFF0FF0; // also the bits fixed at 1
// A value as the register holds it: the fixed bits forced (a MOV to DR6 cannot change them).
constexpr uint32_t with_fixed_bits(uint32_t value) {
    return (value & Writable) | Reset;
}
} // namespace dr6

// Debug control register DR7 (SDM Vol. 3B 18.2.4). Breakpoint n is enabled by Ln (bit 2n) or
// Gn (bit 2n + 1); its R/W field (bits 16 + 4n) says what it watches, LEN (bits 18 + 4n) how
// many bytes. Bit 10 reads as 1; bits 11, 12, 14 and 15 as 0 (no RTM, no SMM-debug bits).
namespace dr7 {
inline constexpr uint32_t Enables = 0xFF;        // L0, G0, ..., L3, G3
inline constexpr uint32_t LocalEnables = 0x55;   // L0-L3: cleared on every task switch
inline constexpr uint32_t GD = 1u << 13;         // general detect: #DB before a MOV DRn
inline constexpr uint32_t Writable = 0xFFFF23FF; // everything but the fixed bits
inline constexpr uint32_t Reset = 0x400;         // also the bits fixed at 1
constexpr uint32_t with_fixed_bits(uint32_t value) {
    return (value & Writable) | Reset;
}
// R/W encodings.
inline constexpr uint32_t kExecute = 0, kWrite = 1, kIo = 2, kReadWrite = 3;

constexpr bool enabled(uint32_t dr7, int n) {
    return ((dr7 >> (2 * n)) & 3) != 0;
}
constexpr uint32_t rw(uint32_t dr7, int n) {
    return (dr7 >> (16 + 4 * n)) & 3;
}
constexpr uint32_t len(uint32_t dr7, int n) {
    return (dr7 >> (18 + 4 * n)) & 3;
}
} // namespace dr7

// VMCS guest interruptibility state (SDM Vol. 3C, Table 24-3).
namespace interruptibility {
inline constexpr uint32_t BlockingBySti = 1u << 0;
inline constexpr uint32_t BlockingByMovSs = 1u << 1;
inline constexpr uint32_t BlockingBySmi = 1u << 2;
inline constexpr uint32_t BlockingByNmi = 1u << 3;
} // namespace interruptibility

// VMCS guest activity state (SDM Vol. 3C, 24.4.2).
enum class ActivityState : uint32_t { Active = 0, Hlt = 1, Shutdown = 2, WaitForSipi = 3 };

// The memory type range registers (SDM Vol. 3A 12.11), held as software writes them: memory
// types have no effect here (every access behaves as it would in write-back RAM).
struct Mtrrs {
    uint64_t def_type = 0;               // IA32_MTRR_DEF_TYPE: MTRRs disabled at power-up
    std::array<uint64_t, 11> fixed{};    // FIX64K_00000, FIX16K_80000/A0000, FIX4K_C0000..F8000
    std::array<uint64_t, 16> variable{}; // PHYSBASE0, PHYSMASK0, ..., PHYSBASE7, PHYSMASK7
    friend constexpr bool operator==(const Mtrrs&, const Mtrrs&) = default;
};

// Model-specific registers boot code touches (SDM Vol. 4); EFER lives in CpuState::efer.
struct Msrs {
    uint64_t apic_base = 0xFEE00900; // BSP, enabled, default base (SDM Vol. 3A 11.4.4)
    uint64_t sysenter_cs = 0;
    uint64_t sysenter_esp = 0;
    uint64_t sysenter_eip = 0;
    uint64_t pat = 0x0007040600070406; // power-up value (SDM Vol. 3A 12.12.4)
    uint64_t misc_enable = 1;          // fast-strings enabled
    Mtrrs mtrr{};
    friend constexpr bool operator==(const Msrs&, const Msrs&) = default;
};

// The indices of the MSRs Msrs holds (SDM Vol. 4 Table 2-2), IA32_APIC_BASE first: what a host
// hands over besides the state, as with KVM_GET_MSRS / KVM_SET_MSRS (APIC_BASE travels in
// kvm_sregs).
inline constexpr std::array<uint32_t, 34> kMsrIndices = {
    0x1B,                                     // IA32_APIC_BASE
    0x174, 0x175, 0x176,                      // IA32_SYSENTER_CS, _ESP, _EIP
    0x1A0,                                    // IA32_MISC_ENABLE
    0x277,                                    // IA32_PAT
    0x2FF,                                    // IA32_MTRR_DEF_TYPE
    0x250, 0x258, 0x259,                      // IA32_MTRR_FIX64K_00000, FIX16K_80000, _A0000
    0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, // IA32_MTRR_FIX4K_C0000 .. _F8000
    0x26E, 0x26F,                             //
    0x200, 0x201, 0x202, 0x203, 0x204, 0x205, // IA32_MTRR_PHYSBASE0, PHYSMASK0, ...
    0x206, 0x207, 0x208, 0x209, 0x20A, 0x20B, //
    0x20C, 0x20D, 0x20E, 0x20F};              // ... PHYSBASE7, PHYSMASK7

// Where MSR `index` lives in `m`; nullptr for an index not in kMsrIndices.
constexpr uint64_t* msr_field(Msrs& m, uint32_t index) {
    switch (index) {
    case 0x1B: return &m.apic_base;
    case 0x174: return &m.sysenter_cs;
    case 0x175: return &m.sysenter_esp;
    case 0x176: return &m.sysenter_eip;
    case 0x1A0: return &m.misc_enable;
    case 0x277: return &m.pat;
    case 0x2FF: return &m.mtrr.def_type;
    case 0x250: return &m.mtrr.fixed[0];
    case 0x258:
    case 0x259: return &m.mtrr.fixed[index - 0x258 + 1];
    default: break;
    }
    if (index >= 0x268 && index <= 0x26F) return &m.mtrr.fixed[index - 0x268 + 3];
    if (index >= 0x200 && index <= 0x20F) return &m.mtrr.variable[index - 0x200];
    return nullptr;
}
constexpr const uint64_t* msr_field(const Msrs& m, uint32_t index) {
    return msr_field(const_cast<Msrs&>(m), index);
}

// One x87 data register: a double extended-precision value (SDM Vol. 1 4.2.2, Figure 4-3),
// the 64-bit significand (bit 63 is the explicit integer bit J) and sign << 15 | exponent.
struct X87Register {
    uint64_t significand = 0;
    uint16_t sign_exponent = 0;
    friend constexpr bool operator==(const X87Register&, const X87Register&) = default;
};

// x87 status word bits (SDM Vol. 1 8.1.3, Figure 8-4).
namespace fsw {
inline constexpr uint16_t IE = 1u << 0, DE = 1u << 1, ZE = 1u << 2, OE = 1u << 3, UE = 1u << 4,
                          PE = 1u << 5, SF = 1u << 6, ES = 1u << 7, C0 = 1u << 8, C1 = 1u << 9,
                          C2 = 1u << 10, C3 = 1u << 14, B = 1u << 15;
inline constexpr uint16_t Exceptions = IE | DE | ZE | OE | UE | PE; // maskable, Figure 8-6
inline constexpr int TopShift = 11;
inline constexpr uint16_t TopMask = 7u << TopShift;
} // namespace fsw

// The whole x87 FPU state (SDM Vol. 1 8.1): what FSAVE stores, plus the opcode register.
// The registers are kept by physical number R0..R7, as the tags are; ST(i) is
// r[(TOP + i) mod 8] (fsw bits 13:11 hold TOP). The tag is kept in the abridged form
// FXSAVE and KVM's kvm_fpu use (bit i set: Ri holds a value; clear: empty): modern processors
// keep only that and derive the two-bit tags of FSTENV/FSAVE from the register contents
// (SDM Vol. 1 8.1.7). Power-up values from SDM Vol. 3A Table 10-1 (FTW 5555H: every
// register tagged "zero", holding +0.0).
struct X87State {
    uint16_t fcw = 0x0040; // control word (Figure 8-6)
    uint16_t fsw = 0x0000; // status word (see namespace fsw)
    uint8_t ftw = 0xFF;    // abridged tag word, by physical register
    uint16_t fop = 0;      // last non-control instruction's opcode, 11 bits (8.1.9)
    uint32_t fip = 0;      // last non-control instruction: offset and CS selector (8.1.8)
    uint16_t fcs = 0;
    uint32_t fdp = 0; // its memory operand: offset and segment selector
    uint16_t fds = 0;
    std::array<X87Register, 8> r{}; // R0..R7

    constexpr unsigned top() const { return (fsw & fsw::TopMask) >> fsw::TopShift; }
    X87Register& st(unsigned i) { return r[(top() + i) & 7]; }
    const X87Register& st(unsigned i) const { return r[(top() + i) & 7]; }
    // An unmasked exception flag is set (ES): the next waiting x87 instruction or WAIT takes
    // it (SDM Vol. 1 8.6). Computed from the flags and masks, as the processor does when a
    // control word or an environment is loaded.
    constexpr bool error_pending() const { return (fsw & ~fcw & fsw::Exceptions) != 0; }
    friend constexpr bool operator==(const X87State&, const X87State&) = default;
};

// The SSE registers of non-64-bit modes (SDM Vol. 1 10.2): no SSE instruction executes here,
// but FXSAVE and FXRSTOR store and load them (SDM Vol. 2A FXSAVE, Table 3-43), so what a
// guest or its VMM puts there comes back unchanged. MXCSR's power-up value: Vol. 3A Table 10-1.
struct SseState {
    std::array<std::array<uint8_t, 16>, 8> xmm{}; // XMM0..XMM7, little-endian
    uint32_t mxcsr = 0x1F80;
    friend constexpr bool operator==(const SseState&, const SseState&) = default;
};

// The whole architectural state transit86 emulates and the VM-entry checks judge.
struct CpuState {
    std::array<uint32_t, 8> gpr{}; // indexed by Gpr
    uint32_t eip = 0;
    uint32_t eflags = flags::Fixed1;

    std::array<SegmentCache, kNumSegs> seg{}; // indexed by Seg
    SegmentCache ldtr{};
    SegmentCache tr{};
    DescriptorTableRegister gdtr{};
    DescriptorTableRegister idtr{};

    uint64_t cr0 = 0;
    uint64_t cr2 = 0;
    uint64_t cr3 = 0;
    uint64_t cr4 = 0;
    uint64_t efer = 0;
    // The PDPTE registers of PAE paging (SDM Vol. 3A 4.4.1): loaded from the table at CR3 by
    // MOV to CR0/CR3/CR4 and task switches, used by every PAE walk, not re-read from memory.
    // The VMCS guest PDPTE0-3 fields; KVM's kvm_sregs2.pdptrs.
    std::array<uint64_t, 4> pdpte{};

    // Debug registers (SDM Vol. 3B 18.2): breakpoint linear addresses (or I/O ports), status
    // and control. DR4 and DR5 are not registers of their own: they alias DR6 and DR7.
    std::array<uint32_t, 4> dr{};
    uint32_t dr6 = dr6::Reset;
    uint32_t dr7 = dr7::Reset;

    uint32_t interruptibility = 0; // see namespace interruptibility
    ActivityState activity = ActivityState::Active;

    uint64_t tsc = 0; // time-stamp counter: advances by one per retired instruction
    Msrs msrs{};
    X87State x87{};
    SseState sse{};

    SegmentCache& operator[](Seg s) { return seg[static_cast<int>(s)]; }
    const SegmentCache& operator[](Seg s) const { return seg[static_cast<int>(s)]; }
    uint32_t& operator[](Gpr r) { return gpr[static_cast<int>(r)]; }
    uint32_t operator[](Gpr r) const { return gpr[static_cast<int>(r)]; }

    bool protected_mode() const { return (cr0 & cr0::PE) != 0; }
    bool v86() const { return (eflags & flags::VM) != 0; }
    // CPL: 0 in real mode, 3 in virtual-8086 mode, else SS.DPL — the place VMX keeps it
    // (SDM Vol. 3C 24.4.1) and KVM's vmx_get_cpl reads; right after CR0.PE is set it is
    // still the real-mode 0 whatever the stale selectors' RPL bits say.
    uint32_t cpl() const {
        if (!protected_mode()) return 0;
        if (v86()) return 3;
        return ar::dpl((*this)[Seg::SS].access_rights);
    }

    friend bool operator==(const CpuState&, const CpuState&) = default;
};

// Which documented reset state to start from.
enum class ResetPreset : uint8_t {
    Intel, // SDM Vol. 3A Table 10-1, state after power-up/reset/INIT
    Kvm,   // KVM's vCPU reset as KVM_GET_SREGS reports it
};

// The state after reset under the given preset (see docs/reset-states.md).
CpuState reset_state(ResetPreset preset);

} // namespace transit86
