#include "vcpu_view.hpp"

#include <fmt/format.h>

namespace kvm_vmm {

namespace {

std::string segment(const char* name, const transit86::KvmSegment& s) {
    return fmt::format("{}={:04x} base={:08x} limit={:08x} type={:x}{}{}", name, s.selector, s.base,
                       s.limit, s.type, s.s != 0 ? "" : " system", s.db != 0 ? " 32-bit" : "");
}

} // namespace

bool real_mode(const transit86::VcpuState& s) {
    return (s.sregs.cr0 & 1) == 0;
}

std::string position(const transit86::VcpuState& s) {
    if (s.sregs.cs.db != 0)
        return fmt::format("{:04x}:{:08x}", s.sregs.cs.selector, static_cast<uint32_t>(s.regs.rip));
    return fmt::format("{:04x}:{:04x}", s.sregs.cs.selector, static_cast<uint32_t>(s.regs.rip));
}

std::string mode_name(const transit86::VcpuState& s) {
    if (real_mode(s)) return "real mode";
    if ((s.regs.rflags & transit86::flags::VM) != 0) return "virtual-8086 mode";
    return s.sregs.cs.db != 0 ? "32-bit protected mode" : "16-bit protected mode";
}

bool valid_for_entry(const transit86::VcpuState& s) {
    return transit86::vmx::is_valid(transit86::to_cpu_state(s), kProfile);
}

std::string first_failure(const transit86::VcpuState& s) {
    const auto violations = transit86::vmx::evaluate(transit86::to_cpu_state(s), kProfile);
    if (violations.empty()) return "valid";
    return fmt::format("{}: {}", violations.front().check->id, violations.front().message);
}

std::optional<uint8_t> opcode_at(const transit86::VcpuState& s, const KvmVcpu& vcpu) {
    const uint64_t at = s.sregs.cs.base + s.regs.rip;
    for (uint64_t i = 0; i < 15; ++i) {
        uint8_t b = 0;
        if (!vcpu.read_linear(at + i, &b, 1)) return std::nullopt;
        const bool prefix = b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 ||
                            b == 0x65 || b == 0x66 || b == 0x67 || b == 0xF0 || b == 0xF2 ||
                            b == 0xF3;
        if (!prefix) return b;
    }
    return std::nullopt;
}

bool hlt_at(const transit86::VcpuState& s, const KvmVcpu& vcpu) {
    return opcode_at(s, vcpu) == kHltOpcode;
}

bool stores_flags(std::optional<uint8_t> opcode) {
    // PUSHF, INT3, INT n, INTO, INT1 (ICEBP)
    return opcode == 0x9C || opcode == 0xCC || opcode == 0xCD || opcode == 0xCE || opcode == 0xF1;
}

std::string describe_state(const transit86::VcpuState& s) {
    const auto& r = s.regs;
    const auto& q = s.sregs;
    return fmt::format("eax={:08x} ebx={:08x} ecx={:08x} edx={:08x} esi={:08x} edi={:08x} "
                       "esp={:08x} ebp={:08x}\neip={:08x} eflags={:08x} cr0={:08x} "
                       "gdt={:08x}/{:04x} idt={:08x}/{:04x}\n{}\n{}\n{}\n{}",
                       r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.rip, r.rflags,
                       q.cr0, q.gdt.base, q.gdt.limit, q.idt.base, q.idt.limit, segment("cs", q.cs),
                       segment("ss", q.ss), segment("ds", q.ds), segment("tr", q.tr));
}

} // namespace kvm_vmm
