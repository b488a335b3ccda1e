// Loading segment registers, GDTR-relative descriptor reads, LDTR/TR loads.
#pragma once

#include <cstdint>

#include "emu/cpu/cpu.hpp"

namespace transit86::emu {

// A descriptor as stored in the GDT/LDT (SDM Vol. 3A 3.4.5), decoded.
struct Descriptor {
    uint64_t raw = 0;
    uint32_t linear = 0; // where it lives, for setting the accessed/busy bit

    uint32_t access_rights() const { // VMCS layout: bits 47:40 and 55:52 of the descriptor
        return static_cast<uint32_t>(((raw >> 40) & 0xFF) | (((raw >> 52) & 0xF) << 12));
    }
    uint64_t base() const { return ((raw >> 16) & 0xFFFFFF) | (((raw >> 56) & 0xFF) << 24); }
    uint32_t limit() const { // scaled by G
        const auto raw_limit = static_cast<uint32_t>((raw & 0xFFFF) | ((raw >> 32) & 0xF0000));
        return ar::g(access_rights()) ? (raw_limit << 12) | 0xFFF : raw_limit;
    }
    SegmentCache cache(uint16_t selector) const {
        return SegmentCache{.base = base(),
                            .limit = limit(),
                            .access_rights = access_rights(),
                            .selector = selector};
    }
};

// The null selector (index 0 in the GDT) loads an unusable segment (SDM Vol. 3A 3.4.2).
constexpr bool is_null_selector(uint16_t selector) {
    return (selector & 0xFFFC) == 0;
}

// Reads the descriptor `selector` names from the GDT or LDT. Beyond the table limit, or an
// LDT reference with no LDT loaded, raises `vector` with the selector as error code.
bool read_descriptor(Cpu& cpu, uint16_t selector, Descriptor& out, uint8_t vector = vec::GP);

// Sets the accessed bit of a code/data descriptor in memory (SDM Vol. 3A 3.4.5.1).
bool mark_accessed(Cpu& cpu, Descriptor& desc);

// Sets or clears the busy bit (type bit 1) of a TSS descriptor in memory (SDM Vol. 3A 7.2.2).
bool set_tss_busy(Cpu& cpu, Descriptor& desc, bool busy);

// The cache every segment register holds in virtual-8086 mode (SDM Vol. 3A 20.2.1): base =
// selector * 16, limit FFFFH, a present DPL 3 read/write accessed data segment (AR F3H, the
// value VM entry requires of a virtual-8086 guest, SDM Vol. 3C 26.3.1.2).
constexpr SegmentCache v86_segment(uint16_t selector) {
    return SegmentCache{.base = uint32_t{selector} << 4,
                        .limit = 0xFFFF,
                        .access_rights = 0xF3,
                        .selector = selector};
}

// MOV Sreg / POP Sreg / LDS..LSS: real mode changes only selector and base (the hidden
// limit and attributes stay: unreal mode), virtual-8086 mode sets the whole cache, protected
// mode reads and checks the descriptor (SDM Vol. 2 MOV, "Operation").
bool load_data_or_stack_segment(Cpu& cpu, Seg seg, uint16_t selector);

// Far JMP/CALL/RET to a code segment: loads CS and sets EIP (SDM Vol. 2 JMP, "Operation").
// `return_to` relaxes the privilege rule for far RET (RPL >= CPL; RPL > CPL is the return to
// an outer level, not modelled yet).
enum class FarKind : uint8_t { Jump, Call, Return };
bool load_code_segment(Cpu& cpu, uint16_t selector, uint32_t offset, uint8_t operand_size,
                       FarKind kind);

// LLDT / LTR (SDM Vol. 2 LLDT, LTR).
bool load_ldtr(Cpu& cpu, uint16_t selector);
bool load_tr(Cpu& cpu, uint16_t selector);

} // namespace transit86::emu
