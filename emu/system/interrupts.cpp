// Interrupt and exception delivery: real mode through the IVT (SDM Vol. 3A 20.1.4),
// protected mode through the IDT (emu/privilege.cpp, SDM Vol. 3A 6.12).
#include "emu/system/interrupts.hpp"

#include "emu/system/privilege.hpp"
#include "emu/system/v86_extensions.hpp"

namespace transit86::emu {

namespace {

// Pushes FLAGS, CS, IP and loads CS:IP from the IVT entry (SDM Vol. 3A 20.1.4).
bool deliver_real_mode(Cpu& cpu, uint8_t vector, uint32_t return_eip) {
    CpuState& s = cpu.s;
    const uint32_t entry = uint32_t{vector} * 4;
    if (entry + 3 > s.idtr.limit) return cpu.raise(vec::GP, 0); // SDM: IVT limit check
    uint32_t ivt_entry;
    if (!cpu.read_system(static_cast<uint32_t>(s.idtr.base + entry), &ivt_entry, 4)) return false;
    const auto new_ip = static_cast<uint16_t>(ivt_entry);
    const auto new_cs = static_cast<uint16_t>(ivt_entry >> 16);
    if (new_ip > s[Seg::CS].limit) return cpu.raise(vec::GP, 0);
    if (!cpu.push<uint16_t>(static_cast<uint16_t>(s.eflags)) ||
        !cpu.push<uint16_t>(s[Seg::CS].selector) ||
        !cpu.push<uint16_t>(static_cast<uint16_t>(return_eip)))
        return false;
    s.eflags &= ~(flags::IF | flags::TF | flags::AC | flags::RF);
    s[Seg::CS].selector = new_cs;
    s[Seg::CS].base = uint32_t{new_cs} << 4;
    cpu.next_eip = new_ip;
    return true;
}

bool deliver(Cpu& cpu, const Event& event) {
    if (cpu.s.protected_mode()) return deliver_protected_mode(cpu, event);
    return deliver_real_mode(cpu, event.vector, event.return_eip);
}

} // namespace

bool software_interrupt(Cpu& cpu, uint8_t vector, SoftwareInterrupt kind) {
    // INT n in virtual-8086 mode: the six methods of SDM Vol. 3A Table 20-2 (VME, IOPL, the
    // vector's bit in the redirection bit map). Methods 1 and 4, and INT3/INTO, use the IDT.
    if (kind == SoftwareInterrupt::IntN && cpu.s.v86()) {
        if (cpu.s.cr4 & cr4::VME) {
            bool to_protected_mode = false;
            if (!read_redirection_bit(cpu, vector, to_protected_mode)) return false;
            if (!to_protected_mode) return redirect_to_v86_handler(cpu, vector); // 5 and 6
        }
        if (iopl_of(cpu.s) < 3) return cpu.raise(vec::GP, 0); // methods 2 and 3
    }
    const bool software = kind != SoftwareInterrupt::Int1;
    return deliver(cpu, Event{.vector = vector, .software = software, .return_eip = cpu.next_eip});
}

bool deliver_exception(Cpu& cpu, const Fault& fault) {
    cpu.stop = Stop::None;
    const Event event{.vector = fault.vector,
                      .software = false,
                      .has_error_code = fault.has_error_code,
                      .error_code = fault.error_code,
                      .return_eip = cpu.s.eip,
                      .fault_class = is_fault_class(fault.vector) || fault.fault_class};
    if (!deliver(cpu, event)) return false;
    cpu.s.eip = cpu.next_eip;
    return true;
}

} // namespace transit86::emu
