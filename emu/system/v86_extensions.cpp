// Software interrupt redirection in virtual-8086 mode (SDM Vol. 3A 20.3.3).
#include "emu/system/v86_extensions.hpp"

#include "emu/system/segment_load.hpp"
#include "emu/system/task_switch.hpp"

namespace transit86::emu {

bool read_redirection_bit(Cpu& cpu, uint8_t vector, bool& set) {
    uint16_t map_base = 0;
    if (!read_io_map_base(cpu, map_base)) return false;
    // Bit 0 of the redirection bit map "is located at the I/O base map address in the TSS
    // minus 32 bytes" (SDM Vol. 3A 20.3.3); the offset is computed as the processor adds
    // addresses, modulo 2^32.
    const uint32_t offset = uint32_t{map_base} - 32u + vector / 8u;
    const SegmentCache& tr = cpu.s.tr;
    if (offset > tr.limit) return cpu.raise(vec::GP, 0);
    uint8_t bits = 0;
    if (!cpu.read_system(static_cast<uint32_t>(tr.base + offset), &bits, 1)) return false;
    set = ((bits >> (vector & 7)) & 1) != 0;
    return true;
}

bool redirect_to_v86_handler(Cpu& cpu, uint8_t vector) {
    CpuState& s = cpu.s;
    // "Locates the 8086 program interrupt vector table at linear address 0 for the 8086-mode
    // task" — not through IDTR, and with no limit check. Read before anything is pushed, at
    // CPL 3 for paging: the table is the 8086 program's memory, not a system structure.
    uint32_t entry = 0;
    if (!cpu.read_linear(uint32_t{vector} * 4, &entry, 4)) return false;
    const bool iopl3 = iopl_of(s) == 3;
    const auto image = iopl3 ? static_cast<uint16_t>(s.eflags) : virtual_flags_image(s);
    if (!cpu.push<uint16_t>(image) || !cpu.push<uint16_t>(s[Seg::CS].selector) ||
        !cpu.push<uint16_t>(static_cast<uint16_t>(cpu.next_eip)))
        return false;
    s.eflags &= ~(flags::TF | (iopl3 ? flags::IF : flags::VIF));
    s[Seg::CS] = v86_segment(static_cast<uint16_t>(entry >> 16));
    cpu.next_eip = entry & 0xFFFF;
    return true;
}

} // namespace transit86::emu
