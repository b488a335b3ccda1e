// SDM Vol. 3C 26.3.1.1, "Checks on Guest Control Registers, Debug Registers, and MSRs": one
// case per row, each traced to its sentence.
#include "sdm_cases.hpp"

namespace transit86::vmx::test {

namespace {

constexpr uint64_t kCr4Pae = 1u << 5;
constexpr uint64_t kCr4Pcide = 1u << 17;
constexpr uint64_t kCr4Pke = 1u << 22;
constexpr uint64_t kEferLme = 1u << 8;
constexpr uint64_t kEferLma = 1u << 10;

// An IA-32e mode guest as far as these rows look: PG and PAE on, EFER.LMA = LME = 1.
CpuState long_mode() {
    CpuState s = paged_protected();
    s.cr4 |= kCr4Pae;
    s.efer = kEferLme | kEferLma;
    return s;
}
VmxContext ia32e() {
    VmxContext ctx;
    ctx.ia32e_mode_guest = true;
    return ctx;
}

} // namespace

std::vector<RuleCase> control_register_cases() {
    RuleCases c;
    // "The CR0 field must not set any bit to a value not supported in VMX operation": FIXED0 is
    // PE | NE | PG. (NE comes from the VMM by default, VmxContext::cr0_vmm_set.)
    c.add("sdm.cr0.fixed0", paged_protected(), [](CpuState& s) { s.cr0 &= ~uint64_t{cr0::PG}; });
    // Same sentence, FIXED1: a host whose IA32_VMX_CR0_FIXED1 lacks AM.
    {
        VmxContext ctx;
        ctx.cr0_fixed1 = 0xFFFBFFFF;
        c.add(
            "sdm.cr0.fixed1", paged_protected(), [](CpuState& s) { s.cr0 |= cr0::AM; },
            Profile::Sdm, ctx);
    }
    // FIXED1 reads 0 in bits 63:32, so CR0 bits 63:32 must be 0.
    c.add("sdm.cr0.bits-63-32", paged_protected(), [](CpuState& s) { s.cr0 |= uint64_t{1} << 32; });
    // "If bit 31 in the CR0 field (corresponding to PG) is 1, bit 0 in that field (PE) must also
    // be 1." Only reachable alone with unrestricted guest (else FIXED0 wants PE too).
    c.add(
        "sdm.cr0.pg-needs-pe", flat_protected(),
        [](CpuState& s) { s.cr0 = (s.cr0 & ~uint64_t{cr0::PE}) | cr0::PG; }, Profile::Unrestricted);
    // "If the 'IA-32e mode guest' VM-entry control is 1, bit 31 in the CR0 field (corresponding
    // to CR0.PG) and bit 5 in the CR4 field (corresponding to CR4.PAE) must each be 1." With
    // unrestricted guest so that FIXED0 does not ask for PG as well; EFER not loaded.
    {
        VmxContext ctx = with_unrestricted_guest(ia32e());
        ctx.load_efer = false;
        c.add(
            "sdm.cr0.pg-for-ia32e", long_mode(), [](CpuState& s) { s.cr0 &= ~uint64_t{cr0::PG}; },
            Profile::Sdm, ctx);
        c.add(
            "sdm.cr4.pae-for-ia32e", long_mode(), [](CpuState& s) { s.cr4 &= ~kCr4Pae; },
            Profile::Sdm, ctx);
    }
    // "The CR4 field must not set any bit to a value not supported in VMX operation": FIXED0 is
    // VMXE; here the VMM does not add it.
    {
        VmxContext ctx;
        ctx.cr4_vmm_set = 0;
        CpuState with_vmxe = paged_protected();
        with_vmxe.cr4 = 0x2000;
        c.add(
            "sdm.cr4.fixed0", with_vmxe, [](CpuState& s) { s.cr4 = 0; }, Profile::Sdm, ctx);
    }
    // Same sentence, FIXED1 (0x3767FF by default): PKE is not in it.
    c.add("sdm.cr4.fixed1", paged_protected(), [](CpuState& s) { s.cr4 |= kCr4Pke; });
    c.add("sdm.cr4.bits-63-32", paged_protected(), [](CpuState& s) { s.cr4 |= uint64_t{1} << 40; });
    // "If the 'IA-32e mode guest' VM-entry control is 0, bit 17 in the CR4 field (corresponding
    // to CR4.PCIDE) must be 0."
    c.add("sdm.cr4.pcide-needs-ia32e", paged_protected(), [](CpuState& s) { s.cr4 |= kCr4Pcide; });
    // "The CR3 field must be such that bits 63:52 and bits in the range 51:32 beyond the
    // processor's physical-address width are 0." (39 bits by default.)
    c.add("sdm.cr3.reserved", paged_protected(),
          [](CpuState& s) { s.cr3 = uint64_t{1} << 39 | 0x1000; });
    // 26.3.1.6: a VM entry to a PAE-paging guest "checks the validity of the PDPTEs" with "the
    // same checks that are used when CR3 is loaded with MOV to CR3" (Vol. 3A 4.4.1, Table
    // 4-8: bits 2:1, 8:5 and 63:MAXPHYADDR of a present PDPTE are reserved).
    {
        CpuState pae = paged_protected();
        pae.cr4 |= kCr4Pae;
        pae.pdpte = {0x1001, 0x2001, 0, 0x4000 | 0x2}; // the last is not present: unchecked
        c.add("sdm.pdpte.reserved", pae, [](CpuState& s) { s.pdpte[1] |= 0x2; });
    }
    // "The IA32_SYSENTER_ESP field and the IA32_SYSENTER_EIP field must each contain a
    // canonical address."
    {
        CpuState high = paged_protected();
        high.msrs.sysenter_esp = 0xFFFF'8000'0000'0000; // canonical, upper half
        high.msrs.sysenter_eip = 0xFFFF'FFFF'8000'0000;
        c.add("sdm.sysenter-esp.canonical", high,
              [](CpuState& s) { s.msrs.sysenter_esp = 0x0000'8000'0000'0000; });
        c.add("sdm.sysenter-eip.canonical", high,
              [](CpuState& s) { s.msrs.sysenter_eip = 0x8000'0000'0000'0000; });
    }
    // "If the 'load IA32_PAT' VM-entry control is 1, [...] each of the 8 bytes in the field must
    // have one of the values 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), or 7 (UC-)."
    c.add("sdm.pat.memory-types", paged_protected(),
          [](CpuState& s) { s.msrs.pat = 0x0007040600030406; }); // PA2 = 3
    // "If the 'load IA32_EFER' VM-entry control is 1 [...] Bits reserved in the IA32_EFER MSR
    // must be 0."
    c.add("sdm.efer.reserved", paged_protected(), [](CpuState& s) { s.efer = 1u << 1; });
    // "Bit 10 (corresponding to IA32_EFER.LMA) must equal the value of the 'IA-32e mode guest'
    // VM-entry control."
    c.add(
        "sdm.efer.lma-eq-ia32e", long_mode(), [](CpuState& s) { s.efer = 0; }, Profile::Sdm,
        ia32e());
    // "It must also be identical to bit 8 (LME) if bit 31 in the CR0 field (corresponding to
    // CR0.PG) is 1."
    c.add(
        "sdm.efer.lme-eq-lma", long_mode(), [](CpuState& s) { s.efer = kEferLma; }, Profile::Sdm,
        ia32e());
    return c.take();
}

} // namespace transit86::vmx::test
