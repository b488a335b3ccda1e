#include "pc_report.hpp"

#include <fmt/format.h>

#include <vector>

namespace kvm_vmm {

void PcReport::ConsoleLines::feed(std::string_view bytes, const Sink& out) {
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        if (escape_ == Escape::Esc) {
            escape_ = byte == '[' ? Escape::Csi : Escape::None;
        } else if (escape_ == Escape::Csi) {
            // Parameters and intermediates are 0x20-0x3F; a final byte 0x40-0x7E ends it.
            if (byte >= 0x40 && byte <= 0x7E) escape_ = Escape::None;
        } else if (byte == 0x1B) {
            escape_ = Escape::Esc;
        } else if (byte == '\n') {
            out(fmt::format("{}: {}\n", label_, pending_));
            pending_.clear();
        } else if (byte == '\t' || (byte >= 0x20 && byte != 0x7F)) {
            pending_.push_back(c);
        }
    }
}

void PcReport::ConsoleLines::flush_partial(const Sink& out) {
    if (pending_.empty()) return;
    out(fmt::format("{}: {}\n", label_, pending_));
    pending_.clear();
}

void PcReport::flush_console() {
    serial_.flush_partial(out_);
    debugcon_.flush_partial(out_);
}

void PcReport::device_log(const std::string& line) {
    out_(fmt::format("platform: {}\n", line));
}

void PcReport::window(const transit86::CensusWindow& window) {
    out_(text_.window(window));
}

void PcReport::typed(const transit86::pc::ConsoleStep& step) {
    flush_console();
    out_(transit86::pc::typed_line(step));
}

void PcReport::end(const PcVmmResult& r, double wall_seconds) {
    flush_console();
    out_(transit86::pc::not_typed_line(r.not_typed));
    std::vector<std::string> ports, pages;
    for (const uint16_t port : r.unclaimed_ports)
        ports.push_back(fmt::format("{:#x}", port));
    for (const uint64_t page : r.unassigned_pages)
        pages.push_back(fmt::format("{:#x}", page));
    if (!ports.empty())
        out_(fmt::format("platform: ports no device claims (read as all ones): {}\n",
                         fmt::join(ports, " ")));
    if (!pages.empty())
        out_(fmt::format("platform: pages nothing maps (read as all ones): {}\n",
                         fmt::join(pages, " ")));
    out_(text_.shape_table());
    out_(transit86::format_census_end(r.detail, r.instructions, r.virtual_ns));
    out_(transit86::format_census_summary(r.census,
                                          {.instructions = r.instructions,
                                           .block_engine_instructions = r.block_engine_instructions,
                                           .wall_seconds = wall_seconds}));
    size_t late = 0;
    for (const WindowStart start : r.window_starts)
        late += start == WindowStart::KvmExit ? 1 : 0;
    out_(fmt::format("kvm-vmm: KVM exits {} (single steps {}), transit86 instructions {} "
                     "({} PUSHF or INT and {} interrupts delivered where KVM was stepped, {} KVM "
                     "could not emulate), hand-overs to transit86 {} (windows first seen at a "
                     "KVM exit: {}), to KVM {}; {}\n",
                     r.kvm_exits, r.kvm_single_steps, r.emulated_instructions,
                     r.flags_stores_on_transit86, r.interrupts_on_transit86,
                     r.kvm_could_not_emulate, r.to_transit86, late, r.to_kvm,
                     r.instruction_clock ? "instructions counted on both sides"
                                         : "instruction numbers count KVM's single steps and "
                                           "transit86's instructions, not KVM's free runs"));
}

} // namespace kvm_vmm
