// The window census (include/transit86/census.hpp).
#include "transit86/census.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <span>
#include <vector>

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

namespace {

const char* mode_name(const InstructionAddress& where) {
    return where.v86              ? "V86"
           : where.protected_mode ? (where.code32 ? "P32" : "P16")
                                  : (where.code32 ? "R32" : "R16");
}

// The bytes at `ref.linear` up to the first that cannot be read: how many.
size_t read_instruction_bytes(const Emulator& emulator, InstructionRef& ref) {
    if (emulator.read_linear(ref.linear, ref.bytes.data(), ref.bytes.size()))
        return ref.bytes.size();
    ref.bytes.fill(0);
    size_t available = 0;
    while (available < ref.bytes.size() &&
           emulator.read_linear(ref.linear + available, &ref.bytes[available], 1))
        ++available;
    return available;
}

InstructionRef located(const InstructionAddress& where, uint64_t index) {
    InstructionRef ref;
    ref.index = index;
    ref.mode = mode_name(where);
    ref.cs = where.cs;
    ref.eip = where.eip;
    ref.linear = where.linear;
    return ref;
}

// Decodes and disassembles the `available` bytes read into `ref`.
void decode_into(InstructionRef& ref, size_t available, const InstructionAddress& where) {
    if (available == 0) {
        ref.text = "(not in RAM or not mapped)";
        return;
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
}

} // namespace

InstructionRef describe_instruction(const Emulator& emulator, const InstructionAddress& where,
                                    uint64_t index) {
    InstructionRef ref = located(where, index);
    decode_into(ref, read_instruction_bytes(emulator, ref), where);
    return ref;
}

InstructionRef WindowCensus::describe(const Emulator& emulator, const InstructionAddress& where,
                                      uint64_t index) {
    InstructionRef ref = located(where, index);
    const size_t available = read_instruction_bytes(emulator, ref);
    for (const Described& d : described_)
        if (d.ref.index != 0 && d.available == available && d.ref.linear == ref.linear &&
            d.ref.eip == ref.eip && d.ref.cs == ref.cs && d.ref.mode == ref.mode &&
            d.ref.bytes == ref.bytes) {
            ref.length = d.ref.length;
            ref.text = d.ref.text;
            return ref;
        }
    decode_into(ref, available, where);
    described_[next_described_] = {.ref = ref, .available = available};
    next_described_ = (next_described_ + 1) % described_.size();
    return ref;
}

void WindowCensus::begin(const Emulator& emulator, const CpuState& state, uint64_t next_index) {
    if (open_) return;
    CensusWindow w;
    w.number = count_ + 1;
    w.first = describe(emulator, next_instruction(state), next_index);
    // The failing rows, as vmx::evaluate() finds them, without formatting their messages
    // (thousands of windows in a real boot).
    const vmx::VmxContext context = vmx::effective_context(profile_, vmx::VmxContext{});
    // Counted first, so that the window's list is allocated once (a realistic boot's windows
    // fail up to 18 rows each: growing the list row by row was 3 % of a GRUB boot).
    const std::span<const vmx::Check> rows = vmx::checks(profile_);
    const auto fails = [&](const vmx::Check& row) {
        return vmx::in_scope(row.scope, state) && !row.passes(state, context);
    };
    thread_local std::vector<const vmx::Check*> failing_rows;
    failing_rows.clear();
    for (const vmx::Check& row : rows)
        if (fails(row)) failing_rows.push_back(&row);
    w.failing.reserve(failing_rows.size());
    for (const vmx::Check* row : failing_rows)
        w.failing.emplace_back(row->id);
    if (windows_.size() < kept_ && windows_.size() == count_)
        windows_.push_back(std::move(w));
    else
        last_ = std::move(w);
    ++count_;
    open_ = true;
}

void WindowCensus::add(uint64_t instructions) {
    if (!open_) return;
    current().length += instructions;
    instructions_in_windows_ += instructions;
}

void WindowCensus::end(const Emulator& emulator, const InstructionAddress& last,
                       uint64_t last_index, std::string why) {
    if (!open_) return;
    CensusWindow& w = current();
    w.last = w.length ? describe(emulator, last, last_index) : w.first;
    w.ended_by = std::move(why);
    open_ = false;
    if (!longest_ || w.length > longest_->length) longest_ = w;
}

const CensusWindow* WindowCensus::last() const {
    return count_ ? &current() : nullptr;
}

const CensusWindow* WindowCensus::longest() const {
    if (open_ && (!longest_ || current().length > longest_->length)) return &current();
    return longest_ ? &*longest_ : nullptr;
}

WindowCensus::Mark WindowCensus::mark() const {
    return {.count = count_,
            .open = open_,
            .instructions_in_windows = instructions_in_windows_,
            .last = count_ ? std::optional(current()) : std::nullopt,
            .longest = longest_};
}

void WindowCensus::rewind(const Mark& mark) {
    count_ = mark.count;
    open_ = mark.open;
    instructions_in_windows_ = mark.instructions_in_windows;
    longest_ = mark.longest;
    if (windows_.size() > count_) windows_.resize(count_);
    if (mark.last) current() = *mark.last;
}

std::string format_instruction(const InstructionRef& i) {
    const bool eip32 = i.mode == "P32" || i.mode == "R32" || i.mode == "U32";
    std::string bytes;
    for (uint8_t k = 0; k < i.length && k < i.bytes.size(); ++k)
        bytes += fmt::format("{}{:02x}", k ? " " : "", i.bytes[k]);
    return fmt::format("#{} {} {:04x}:{:0{}x} {:06x}  {}  {}", i.index, i.mode, i.cs, i.eip,
                       eip32 ? 8 : 4, i.linear, bytes, i.text);
}

namespace {

std::string window_head(const CensusWindow& w) {
    return fmt::format("== window {}: {} instruction{} #{}..#{}, ended: {}", w.number, w.length,
                       w.length == 1 ? "" : "s", w.first.index, w.last.index, w.ended_by);
}

} // namespace

std::string format_window(const CensusWindow& w) {
    return fmt::format("{}\n   failing at start: {}\n   first {}\n   last  {}\n", window_head(w),
                       fmt::join(w.failing, ", "), format_instruction(w.first),
                       format_instruction(w.last));
}

std::string CensusText::window(const CensusWindow& w) {
    const WindowShape& shape = count(w);
    if (shape.count > 1)
        return fmt::format("{} (as window {})\n", window_head(w), shape.first_window);
    return format_window(w);
}

const WindowShape& CensusText::count(const CensusWindow& w) {
    ++windows_;
    return shape_of(w);
}

WindowShape& CensusText::shape_of(const CensusWindow& w) {
    for (WindowShape& shape : shapes_)
        if (shape.first_linear == w.first.linear && shape.last_linear == w.last.linear &&
            shape.failing == w.failing) {
            ++shape.count;
            shape.instructions += w.length;
            return shape;
        }
    shapes_.push_back({.first_linear = w.first.linear,
                       .last_linear = w.last.linear,
                       .failing = w.failing,
                       .first_window = w.number,
                       .count = 1,
                       .instructions = w.length,
                       .first_text = w.first.text,
                       .last_text = w.last.text});
    return shapes_.back();
}

std::string CensusText::shape_table() const {
    if (shapes_.size() <= 1 || shapes_.size() >= windows_) return {};
    std::vector<const WindowShape*> by_count;
    for (const WindowShape& shape : shapes_)
        by_count.push_back(&shape);
    std::stable_sort(by_count.begin(), by_count.end(),
                     [](const auto* a, const auto* b) { return a->count > b->count; });
    std::string text =
        fmt::format("== {} window shapes (same first and last instruction, same failing checks):\n",
                    shapes_.size());
    for (const WindowShape* shape : by_count)
        text +=
            fmt::format("   {:>6} x as window {:<6} {:>10} instructions  {:08x} {} .. {:08x} {}\n",
                        shape->count, shape->first_window, shape->instructions, shape->first_linear,
                        shape->first_text, shape->last_linear, shape->last_text);
    return text;
}

std::string format_census_end(const std::string& detail, uint64_t instructions,
                              uint64_t virtual_ns) {
    return fmt::format("== end: {} after {} instructions, {:.3f} s of virtual time\n", detail,
                       instructions, static_cast<double>(virtual_ns) / 1e9);
}

std::string format_census_summary(const WindowCensus& census, const CensusTotals& totals) {
    const CensusWindow* longest = census.longest();
    const double share = totals.instructions
                             ? 100.0 * static_cast<double>(totals.block_engine_instructions) /
                                   static_cast<double>(totals.instructions)
                             : 0.0;
    return fmt::format("== census ({}): {} window{}, {} instructions inside windows, longest {}, "
                       "{} instructions ({:.1f}% in the block engine), {:.2f} s\n",
                       vmx::to_string(census.profile()), census.count(),
                       census.count() == 1 ? "" : "s", census.instructions_in_windows(),
                       longest ? fmt::format("{} (window {})", longest->length, longest->number)
                               : "-",
                       totals.instructions, share, totals.wall_seconds);
}

} // namespace transit86
