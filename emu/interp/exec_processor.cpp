// Processor identification and control: CPUID, RDTSC, RDMSR/WRMSR.
#include <atomic>

#include "emu/cpu/cpuid.hpp"
#include "emu/interp/handlers.hpp"
#include "emu/system/paging.hpp"

namespace transit86::emu {

namespace {

// cpuid (SDM CPUID): the configured model's leaf EAX (emu/cpu/cpuid.hpp).
void cpuid(Cpu& cpu) {
    const CpuidLeaf r = cpuid_leaf(*cpu.model, cpu.s[Gpr::EAX]);
    cpu.s[Gpr::EAX] = r.eax;
    cpu.s[Gpr::EBX] = r.ebx;
    cpu.s[Gpr::ECX] = r.ecx;
    cpu.s[Gpr::EDX] = r.edx;
}

// EFER bits the model lets software set (SDM Vol. 4, IA32_EFER): SCE with SYSCALL, LME with
// long mode, NXE with NX; everything else is reserved and raises #GP(0).
uint64_t efer_writable(const CpuModel& m) {
    uint64_t mask = 0;
    if (m.extended_features_edx & cpuid_ext_edx::SYSCALL) mask |= 1u << 0;
    if (m.extended_features_edx & cpuid_ext_edx::LM) mask |= 1u << 8;
    if (m.extended_features_edx & cpuid_ext_edx::NX) mask |= 1u << 11;
    return mask;
}

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrBiosSignId = 0x8B; // microcode revision: reads 0, writes ignored
constexpr uint32_t kMsrEfer = 0xC0000080;

// ---- MTRRs (SDM Vol. 3A 12.11; Vol. 4 Table 2-2), where the model reports them
constexpr uint32_t kMsrMtrrCap = 0xFE;
// IA32_MTRRCAP, read-only: 8 variable ranges (VCNT), the fixed ranges (FIX), write-combining
// (WC); no SMRR (12.11.2.1).
constexpr uint64_t kMtrrCap = 8 | 1u << 8 | 1u << 10;
constexpr uint32_t kMsrMtrrPhysBase0 = 0x200; // PHYSBASEn = 0x200 + 2n, PHYSMASKn = 0x201 + 2n
constexpr uint32_t kMsrMtrrDefType = 0x2FF;
// Bits 12 to MAXPHYADDR - 1 of a variable range's base and mask (12.11.3).
constexpr uint64_t kMtrrAddressBits = ((uint64_t{1} << kMaxPhysicalAddressBits) - 1) & ~0xFFFull;

bool fixed_range_mtrr(uint32_t index) { // 12.11.2.2, Table 12-9
    return index == 0x250 || index == 0x258 || index == 0x259 || (index >= 0x268 && index <= 0x26F);
}
bool variable_range_mtrr(uint32_t index) {
    return index >= kMsrMtrrPhysBase0 && index < kMsrMtrrPhysBase0 + 16;
}

// The MSRs boot code touches (SDM Vol. 4, Table 2-2) other than the MTRRs. Others raise
// #GP(0), as on silicon.
uint64_t* msr_slot(Cpu& cpu, uint32_t index) {
    if (index == kMsrMtrrDefType || fixed_range_mtrr(index) || variable_range_mtrr(index))
        return nullptr;
    return msr_field(cpu.s.msrs, index);
}

// UC, WC, WT, WP, WB: writing any other encoding raises #GP (12.11.2.2).
bool is_memory_type(uint64_t type) {
    return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

// RDMSR/WRMSR of an MTRR. False when `index` is none (with the model's CPUID.01H:EDX.MTRR);
// otherwise `gp` says whether the access raises #GP(0): a write to MTRRCAP, reserved bits, an
// undefined memory type.
bool mtrr_access(Cpu& cpu, uint32_t index, bool write, uint64_t value, uint64_t& result, bool& gp) {
    if (!(cpu.model->features_edx & cpuid_edx::MTRR)) return false;
    gp = false;
    if (index == kMsrMtrrCap) {
        gp = write;
        result = kMtrrCap;
        return true;
    }
    uint64_t* slot = msr_field(cpu.s.msrs, index);
    if (index == kMsrMtrrDefType) {
        // type, FE (bit 10), E (bit 11)
        gp = write && ((value & ~0xCFFull) || !is_memory_type(value & 0xFF));
    } else if (fixed_range_mtrr(index)) { // eight ranges, a type in each byte
        for (int range = 0; write && range < 8; ++range)
            gp = gp || !is_memory_type(value >> (8 * range) & 0xFF);
    } else if (variable_range_mtrr(index)) {
        const bool mask = (index & 1) != 0; // PHYSMASK: V (bit 11) and the mask
        gp =
            write && (mask ? (value & ~(kMtrrAddressBits | 0x800))
                           : (value & ~(kMtrrAddressBits | 0xFF)) || !is_memory_type(value & 0xFF));
    } else {
        return false;
    }
    if (write && !gp) *slot = value;
    result = *slot;
    return true;
}

bool rdmsr_wrmsr(Cpu& cpu, bool write) {
    if (cpu.s.cpl() != 0) return cpu.raise(vec::GP, 0);
    const uint32_t index = cpu.s[Gpr::ECX];
    const uint64_t value = (uint64_t{cpu.s[Gpr::EDX]} << 32) | cpu.s[Gpr::EAX];
    uint64_t result = 0;
    if (index == kMsrTsc) {
        if (write) cpu.s.tsc = value;
        result = cpu.s.tsc;
    } else if (index == kMsrBiosSignId) {
        result = 0;
    } else if (index == kMsrEfer) {
        if (write && (value & ~efer_writable(*cpu.model))) return cpu.raise(vec::GP, 0);
        if (write && !write_efer(cpu, value)) return false;
        result = cpu.s.efer;
    } else if (uint64_t* slot = msr_slot(cpu, index)) {
        if (write) *slot = value;
        result = *slot;
    } else if (bool gp; mtrr_access(cpu, index, write, value, result, gp)) {
        if (gp) return cpu.raise(vec::GP, 0);
    } else {
        return cpu.raise(vec::GP, 0);
    }
    if (!write) {
        cpu.s[Gpr::EAX] = static_cast<uint32_t>(result);
        cpu.s[Gpr::EDX] = static_cast<uint32_t>(result >> 32);
    }
    return true;
}

} // namespace

bool exec_processor(Cpu& cpu, const Insn& insn) {
    CpuState& s = cpu.s;
    switch (insn.op) {
    case Op::Cpuid: cpuid(cpu); return true; // cpuid
    case Op::Rdtsc:                          // rdtsc — CR4.TSD restricts it to CPL 0
        if ((s.cr4 & (1u << 2)) && s.cpl() != 0) return cpu.raise(vec::GP, 0);
        s[Gpr::EAX] = static_cast<uint32_t>(s.tsc);
        s[Gpr::EDX] = static_cast<uint32_t>(s.tsc >> 32);
        return true;
    case Op::Rdmsr: return rdmsr_wrmsr(cpu, false); // rdmsr
    case Op::Wrmsr: return rdmsr_wrmsr(cpu, true);  // wrmsr
    case Op::Lfence:                                // lfence
    case Op::Mfence:                                // mfence
    case Op::Sfence: {                              // sfence
        // The order they impose is the host's, for vCPUs on other threads (every access of
        // this one is in program order already).
        const uint32_t feature = insn.op == Op::Sfence ? cpuid_edx::SSE : cpuid_edx::SSE2;
        if (!(cpu.model->features_edx & feature)) return cpu.raise(vec::UD);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        return true;
    }
    default: return cpu.unsupported("processor operation");
    }
}

} // namespace transit86::emu
