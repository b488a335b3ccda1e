// The window census (include/transit86/census.hpp).
#include "transit86/census.hpp"

#include <algorithm>

#include "decoder/decoder.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

InstructionAddress next_instruction(const CpuState& state) {
    return {.cs = state[Seg::CS].selector,
            .eip = state.eip,
            .linear = (state[Seg::CS].base + state.eip) & 0xFFFFFFFFu,
            .protected_mode = state.protected_mode(),
            .code32 = ar::db(state[Seg::CS].access_rights),
            .v86 = state.v86()};
}

InstructionRef describe_instruction(const Emulator& emulator, const InstructionAddress& where,
                                    uint64_t index) {
    InstructionRef ref;
    ref.index = index;
    ref.mode = where.v86              ? "V86"
               : where.protected_mode ? (where.code32 ? "P32" : "P16")
                                      : (where.code32 ? "R32" : "R16");
    ref.cs = where.cs;
    ref.eip = where.eip;
    ref.linear = where.linear;
    size_t available = 0;
    while (available < ref.bytes.size() &&
           emulator.read_physical(ref.linear + available, &ref.bytes[available], 1))
        ++available;
    if (available == 0) {
        ref.text = "(not in RAM)";
        return ref;
    }
    const decoder::FetchMode mode{
        .protected_mode = where.protected_mode, .code32 = where.code32, .v86 = where.v86};
    decoder::Insn insn{};
    if (decoder::decode(ref.bytes.data(), available, mode, insn) == decoder::DecodeStatus::Ok ||
        insn.length != 0) {
        ref.length = static_cast<uint8_t>(insn.length ? insn.length : available);
        ref.text = decoder::disassemble(ref.bytes.data(), ref.length, mode, where.eip);
    } else {
        ref.length = static_cast<uint8_t>(std::min<size_t>(available, 4));
        ref.text = "(bad)";
    }
    return ref;
}

void WindowCensus::begin(const Emulator& emulator, const CpuState& state, uint64_t next_index) {
    if (open_) return;
    CensusWindow w;
    w.number = windows_.size() + 1;
    w.first = describe_instruction(emulator, next_instruction(state), next_index);
    // The failing rows, as vmx::evaluate() finds them, without formatting their messages
    // (thousands of windows in a real boot).
    const vmx::VmxContext context = vmx::effective_context(profile_, vmx::VmxContext{});
    for (const vmx::Check& row : vmx::checks(profile_))
        if (vmx::in_scope(row.scope, state) && !row.passes(state, context))
            w.failing.emplace_back(row.id);
    windows_.push_back(std::move(w));
    open_ = true;
}

void WindowCensus::add(uint64_t instructions) {
    if (open_) windows_.back().length += instructions;
}

void WindowCensus::end(const Emulator& emulator, const InstructionAddress& last,
                       uint64_t last_index, std::string why) {
    if (!open_) return;
    CensusWindow& w = windows_.back();
    w.last = w.length ? describe_instruction(emulator, last, last_index) : w.first;
    w.ended_by = std::move(why);
    open_ = false;
}

uint64_t WindowCensus::instructions_in_windows() const {
    uint64_t total = 0;
    for (const CensusWindow& w : windows_)
        total += w.length;
    return total;
}

const CensusWindow* WindowCensus::longest() const {
    const CensusWindow* best = nullptr;
    for (const CensusWindow& w : windows_)
        if (!best || w.length > best->length) best = &w;
    return best;
}

} // namespace transit86
