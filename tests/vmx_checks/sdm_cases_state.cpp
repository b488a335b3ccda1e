// SDM Vol. 3C 26.3.1.3 (descriptor-table registers), 26.3.1.4 (RIP and RFLAGS), 26.3.1.5
// (non-register state) and the event-injection checks of 26.2.1.3: one case per row, each
// traced to its sentence.
#include "sdm_cases.hpp"

namespace transit86::vmx::test {

namespace {

using injection::Type;

VmxContext injecting(uint32_t info, uint32_t error_code = 0, uint32_t length = 0) {
    VmxContext ctx;
    ctx.entry_interruption_info = info;
    ctx.entry_exception_error_code = error_code;
    ctx.entry_instruction_length = length;
    return ctx;
}

CpuState with_if() {
    CpuState s = paged_protected();
    s.eflags |= flags::IF;
    return s;
}

CpuState halted() {
    CpuState s = paged_protected();
    s.activity = ActivityState::Hlt;
    return s;
}

void descriptor_table_cases(RuleCases& c) {
    // "On processors that support Intel 64 architecture, the base-address fields must contain
    // canonical addresses."
    c.add("sdm.gdtr.base.canonical", paged_protected(),
          [](CpuState& s) { s.gdtr.base = 0x0000'8000'0000'0000; });
    c.add("sdm.idtr.base.canonical", paged_protected(),
          [](CpuState& s) { s.idtr.base = 0x1234'0000'0000'0000; });
    // "Bits 31:16 of each limit field must be 0."
    c.add("sdm.gdtr.limit", paged_protected(), [](CpuState& s) { s.gdtr.limit = 0x10000; });
    c.add("sdm.idtr.limit", paged_protected(), [](CpuState& s) { s.idtr.limit = 0x1FFFF; });
}

void rflags_cases(RuleCases& c) {
    // "Reserved bits 63:22 [...], bit 15, bit 5 and bit 3 must be 0 in the field, and reserved
    // bit 1 must be 1."
    c.add("sdm.rflags.reserved", paged_protected(), [](CpuState& s) { s.eflags |= 1u << 15; });
    c.add("sdm.rflags.bit1", paged_protected(), [](CpuState& s) { s.eflags &= ~flags::Fixed1; });
    // "The VM flag (bit 17) must be 0 either if the 'IA-32e mode guest' VM-entry control is 1 or
    // if bit 0 in the CR0 field (corresponding to CR0.PE) is 0." A vm86 task with PE and PG
    // cleared, which only unrestricted guest lets through FIXED0.
    c.add(
        "sdm.rflags.vm", v86_task(), [](CpuState& s) { s.cr0 &= ~uint64_t{cr0::PE | cr0::PG}; },
        Profile::Unrestricted);
    // "The IF flag (RFLAGS[bit 9]) must be 1 if the valid bit (bit 31) in the VM-entry
    // interruption-information field is 1 and the interruption type (bits 10:8) is external
    // interrupt."
    c.add(
        "sdm.rflags.if-for-external-interrupt", with_if(),
        [](CpuState& s) { s.eflags &= ~flags::IF; }, Profile::Sdm,
        injecting(injection::make(Type::ExternalInterrupt, 0x20)));
}

void activity_cases(RuleCases& c) {
    // "The activity-state field must contain a value in the range 0 - 3, indicating an
    // activity state supported by the implementation." A host without wait-for-SIPI support.
    {
        VmxContext ctx;
        ctx.supported_activity_states = 0x3;
        c.add(
            "sdm.activity.supported", halted(),
            [](CpuState& s) { s.activity = ActivityState::WaitForSipi; }, Profile::Sdm, ctx);
    }
    // "The activity-state field must not indicate the HLT state if the DPL (bits 6:5) in the
    // access-rights field for SS is not 0." A vm86 task has SS.DPL 3.
    c.add("sdm.activity.hlt-needs-ss.dpl0", v86_task(),
          [](CpuState& s) { s.activity = ActivityState::Hlt; });
    // "The activity-state field must indicate the active state if the interruptibility-state
    // field indicates blocking by either MOV-SS or by STI."
    {
        CpuState blocked = paged_protected();
        blocked.interruptibility = interruptibility::BlockingByMovSs;
        c.add("sdm.activity.active-when-blocking", blocked,
              [](CpuState& s) { s.activity = ActivityState::Hlt; });
    }
    // "If the valid bit (bit 31) in the VM-entry interruption-information field is 1, the
    // interruption to be delivered [...] must not be one that would normally be blocked while
    // a logical processor is in the activity state": HLT lets #DB through, not #GP.
    c.add(
        "sdm.activity.event-allowed", paged_protected(),
        [](CpuState& s) { s.activity = ActivityState::Hlt; }, Profile::Sdm,
        injecting(injection::make(Type::HardwareException, 13, true)));
}

void interruptibility_cases(RuleCases& c) {
    // "The reserved bits (bits 31:5) must be 0."
    c.add("sdm.interruptibility.reserved", paged_protected(),
          [](CpuState& s) { s.interruptibility = 1u << 5; });
    // "The field cannot indicate blocking by both STI and MOV SS (bits 0 and 1 cannot both be
    // 1)."
    {
        CpuState sti = with_if();
        sti.interruptibility = interruptibility::BlockingBySti;
        c.add("sdm.interruptibility.sti-and-mov-ss", sti,
              [](CpuState& s) { s.interruptibility |= interruptibility::BlockingByMovSs; });
        // "Bit 0 (blocking by STI) must be 0 if the IF flag (bit 9) is 0 in the RFLAGS field."
        c.add("sdm.interruptibility.sti-needs-if", sti,
              [](CpuState& s) { s.eflags &= ~flags::IF; });
    }
    // "Bit 0 (blocking by STI) and bit 1 (blocking by MOV-SS) must both be 0 if the valid bit
    // [...] is 1 and the interruption type [...] has value 0, indicating external interrupt."
    c.add(
        "sdm.interruptibility.external-interrupt", with_if(),
        [](CpuState& s) { s.interruptibility = interruptibility::BlockingByMovSs; }, Profile::Sdm,
        injecting(injection::make(Type::ExternalInterrupt, 0x30)));
    // "Bit 1 (blocking by MOV-SS) must be 0 if the valid bit [...] is 1 and the interruption
    // type [...] has value 2, indicating non-maskable interrupt (NMI)."
    const VmxContext nmi = injecting(injection::make(Type::Nmi, 2));
    c.add(
        "sdm.interruptibility.nmi-mov-ss", paged_protected(),
        [](CpuState& s) { s.interruptibility = interruptibility::BlockingByMovSs; }, Profile::Sdm,
        nmi);
    // "A processor may require bit 0 (blocking by STI) to be 0 if the valid bit [...] is 1 and
    // the interruption type [...] has value 2, indicating NMI."
    c.add(
        "sdm.interruptibility.nmi-sti", with_if(),
        [](CpuState& s) { s.interruptibility = interruptibility::BlockingBySti; }, Profile::Sdm,
        nmi);
    // "Bit 2 (blocking by SMI) must be 0 if the processor is not in SMM."
    c.add("sdm.interruptibility.smi", paged_protected(),
          [](CpuState& s) { s.interruptibility = interruptibility::BlockingBySmi; });
    // "Bit 3 (blocking by NMI) must be 0 if the 'virtual NMIs' VM-execution control is 1, the
    // valid bit [...] is 1, and the interruption type [...] has value 2 (indicating NMI)."
    c.add(
        "sdm.interruptibility.nmi-blocking", paged_protected(),
        [](CpuState& s) { s.interruptibility = interruptibility::BlockingByNmi; }, Profile::Sdm,
        nmi);
    // "If bit 4 (enclave interruption) is 1, bit 1 (blocking by MOV-SS) must be 0 and the
    // processor must support for SGX".
    c.add("sdm.interruptibility.enclave", paged_protected(),
          [](CpuState& s) { s.interruptibility = 1u << 4; });
}

void injection_cases(RuleCases& c) {
    const VmxContext interrupt = injecting(injection::make(Type::ExternalInterrupt, 0x20));
    // 26.2.1.3: "The field's interruption type (bits 10:8) is not set to a reserved value. Value
    // 1 is reserved on all logical processors".
    c.add_contexts("sdm.entry-intr.type", with_if(), interrupt,
                   injecting(injection::kValid | 1u << 8 | 0x20));
    // "If the interruption type is non-maskable interrupt (NMI), the vector is 2."
    c.add_contexts("sdm.entry-intr.vector", paged_protected(),
                   injecting(injection::make(Type::Nmi, 2)),
                   injecting(injection::make(Type::Nmi, 3)));
    // "The field's deliver-error-code bit (bit 11) is 1 if and only if [...] (2) the
    // interruption type is hardware exception; and (3) the vector indicates an exception that
    // would normally deliver an error code": #GP (13) delivers one.
    c.add_contexts("sdm.entry-intr.error-code-bit", paged_protected(),
                   injecting(injection::make(Type::HardwareException, 13, true)),
                   injecting(injection::make(Type::HardwareException, 13, false)));
    // "Reserved bits in the field (30:12) are 0."
    c.add_contexts("sdm.entry-intr.reserved", with_if(), interrupt,
                   injecting(injection::make(Type::ExternalInterrupt, 0x20) | 1u << 12));
    // "If the deliver-error-code bit (bit 11) is 1, bits 31:16 [31:15 in older editions] of the
    // VM-entry exception error-code field are 0."
    c.add_contexts("sdm.entry-intr.error-code", paged_protected(),
                   injecting(injection::make(Type::HardwareException, 13, true), 0xFFFF),
                   injecting(injection::make(Type::HardwareException, 13, true), 0x10000));
    // "If the interruption type is software interrupt, software exception, or privileged
    // software exception, the VM-entry instruction-length field is in the range 0 - 15. A
    // VM-entry instruction length of 0 is allowed only if IA32_VMX_MISC[30] is read as 1".
    c.add_contexts("sdm.entry-intr.instruction-length", paged_protected(),
                   injecting(injection::make(Type::SoftwareInterrupt, 0x21), 0, 2),
                   injecting(injection::make(Type::SoftwareInterrupt, 0x21), 0, 0));
}

} // namespace

std::vector<RuleCase> non_register_cases() {
    RuleCases c;
    descriptor_table_cases(c);
    rflags_cases(c);
    activity_cases(c);
    interruptibility_cases(c);
    injection_cases(c);
    return c.take();
}

} // namespace transit86::vmx::test
