// Debug-register conditions (see debug.hpp).
#include "emu/cpu/debug.hpp"

namespace transit86::emu {

namespace {

// LEN (SDM Vol. 3B 18.2.4, Table 18-2): 00 one byte, 01 two, 11 four; 10 is eight bytes on
// processors that support it ("undefined" before them), which is what is modelled.
constexpr uint32_t kLenBytes[4] = {1, 2, 8, 4};

// Breakpoint n watches [start, start + length): its address aligned down to its length.
bool range_meets(uint32_t address, uint32_t len_field, uint64_t first, uint32_t size) {
    const uint32_t length = kLenBytes[len_field];
    const uint64_t start = address & ~(length - 1);
    return first < start + length && start < first + size;
}

} // namespace

uint32_t instruction_breakpoints_at(const CpuState& s, uint32_t linear) {
    uint32_t hits = 0;
    for (int n = 0; n < 4; ++n)
        if (dr7::enabled(s.dr7, n) && dr7::rw(s.dr7, n) == dr7::kExecute && s.dr[n] == linear)
            hits |= dr6::B0 << n;
    return hits;
}

uint32_t data_breakpoints_hit(const CpuState& s, uint32_t linear, uint32_t size, bool write) {
    uint32_t hits = 0;
    for (int n = 0; n < 4; ++n) {
        if (!dr7::enabled(s.dr7, n)) continue;
        const uint32_t rw = dr7::rw(s.dr7, n);
        if (rw != dr7::kReadWrite && !(rw == dr7::kWrite && write)) continue;
        if (range_meets(s.dr[n], dr7::len(s.dr7, n), linear, size)) hits |= dr6::B0 << n;
    }
    return hits;
}

uint32_t io_breakpoints_hit(const CpuState& s, uint16_t port, uint32_t size) {
    if (!(s.cr4 & cr4::DE)) return 0; // R/W = 10 is undefined without CR4.DE
    uint32_t hits = 0;
    for (int n = 0; n < 4; ++n)
        if (dr7::enabled(s.dr7, n) && dr7::rw(s.dr7, n) == dr7::kIo &&
            range_meets(s.dr[n], dr7::len(s.dr7, n), port, size))
            hits |= dr6::B0 << n;
    return hits;
}

bool watches_accesses(const CpuState& s) {
    for (int n = 0; n < 4; ++n)
        if (dr7::enabled(s.dr7, n) && dr7::rw(s.dr7, n) != dr7::kExecute) return true;
    return false;
}

void record_debug_exception(CpuState& s, uint32_t conditions) {
    s.dr6 = dr6::with_fixed_bits((s.dr6 & ~dr6::Breakpoints) | conditions);
    s.dr7 &= ~dr7::GD;
}

void load_resume_flag(CpuState& s, uint32_t popped_eflags, uint8_t operand_size) {
    if (operand_size == 4) s.eflags = (s.eflags & ~flags::RF) | (popped_eflags & flags::RF);
}

} // namespace transit86::emu
