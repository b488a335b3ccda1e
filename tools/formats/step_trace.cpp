#include "tools/formats/step_trace.hpp"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/formats/state_json.hpp"
#include "tools/formats/trace_format.hpp"
#include "tools/formats/vmx_report.hpp"
#include "transit86/kvm_fixup.hpp"

namespace transit86::tools {

namespace {

// The trace writes a line per instruction, millions a second: its common pieces are appended
// by hand, without parsing a format string each time (docs/performance.md, workload e).
constexpr char kHexDigits[] = "0123456789abcdef";

// At least `digits` lower-case hex digits, like {:0Nx}.
void append_hex(std::string& out, uint64_t v, int digits) {
    int n = 1;
    while (n < 16 && (v >> (4 * n)) != 0)
        ++n;
    for (int i = std::max(n, digits) - 1; i >= 0; --i)
        out += kHexDigits[(v >> (4 * i)) & 15];
}

// Pads with spaces to `width` characters from `start`, like {:<N}.
void pad_from(std::string& out, size_t start, size_t width) {
    if (out.size() - start < width) out.append(width - (out.size() - start), ' ');
}

// "66 01 d8".
void append_hex_bytes(std::string& out, const uint8_t* bytes, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (i) out += ' ';
        append_hex(out, bytes[i], 2);
    }
}

std::string flag_letters(uint32_t eflags) {
    static constexpr struct {
        uint32_t bit;
        char letter;
    } kFlags[] = {{flags::OF, 'O'}, {flags::DF, 'D'}, {flags::IF, 'I'},
                  {flags::TF, 'T'}, {flags::SF, 'S'}, {flags::ZF, 'Z'},
                  {flags::AF, 'A'}, {flags::PF, 'P'}, {flags::CF, 'C'}};
    std::string out;
    for (const auto& f : kFlags)
        out += (eflags & f.bit) ? f.letter : '-';
    return out;
}

// Register and control-state changes, each as a name and its value in the trace's words.
template <typename Emit>
void for_each_register_change(const CpuState& a, const CpuState& b, Emit emit) {
    for (int i = 0; i < 8; ++i)
        if (a.gpr[i] != b.gpr[i]) emit(gpr_name(i), hex(b.gpr[i], 8));
    if (a.eflags != b.eflags) emit("eflags", hex(b.eflags, 8) + '[' + flag_letters(b.eflags) + ']');
    const std::pair<const char*, uint64_t CpuState::*> crs[] = {{"cr0", &CpuState::cr0},
                                                                {"cr2", &CpuState::cr2},
                                                                {"cr3", &CpuState::cr3},
                                                                {"cr4", &CpuState::cr4},
                                                                {"efer", &CpuState::efer}};
    for (const auto& [name, member] : crs)
        if (a.*member != b.*member) emit(name, fmt::format("{:08x}->{:08x}", a.*member, b.*member));
    const std::pair<const char*, uint32_t> drs[] = {{"dr0", 0}, {"dr1", 1}, {"dr2", 2}, {"dr3", 3}};
    for (const auto& [name, n] : drs)
        if (a.dr[n] != b.dr[n]) emit(name, fmt::format("{:08x}->{:08x}", a.dr[n], b.dr[n]));
    if (a.dr6 != b.dr6) emit("dr6", fmt::format("{:08x}->{:08x}", a.dr6, b.dr6));
    if (a.dr7 != b.dr7) emit("dr7", fmt::format("{:08x}->{:08x}", a.dr7, b.dr7));
}

} // namespace

std::string hex(uint64_t v, int digits) {
    std::string out;
    append_hex(out, v, digits);
    return out;
}

std::string hex_bytes(const uint8_t* bytes, size_t n) {
    std::string out;
    append_hex_bytes(out, bytes, n);
    return out;
}

StepTrace::StepTrace(bool json, vmx::Profile profile, bool kvm_fixup)
    : json_(json), profile_(profile), kvm_fixup_(kvm_fixup),
      valid_line_(fmt::format("    vmx[{}] valid\n", vmx::to_string(profile))) {}

namespace {

// "#GP" for the architecture's exception vectors (SDM Vol. 3A Table 6-1), "" otherwise.
std::string_view exception_mnemonic(uint8_t vector) {
    static constexpr std::string_view kNames[] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "",    "#TS",
        "#NP", "#SS", "#GP", "#PF", "",    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};
    return vector < std::size(kNames) ? kNames[vector] : std::string_view{};
}

// "delivered #GP(0x0010) (vector 13) through the IDT -> 0008:00001234", "delivered interrupt
// 0x08 through the IVT -> f000:fea5".
std::string delivery_text(const Emulator::Delivery& d, uint64_t n, const CpuState& before) {
    const bool protected_mode = before.protected_mode();
    std::string what;
    if (d.interrupt) {
        what = fmt::format("interrupt {:#04x}", d.vector);
    } else {
        const std::string_view name = exception_mnemonic(d.vector);
        what =
            fmt::format("{}{} (vector {})", name.empty() ? "exception" : name,
                        d.has_error_code ? fmt::format("({:#06x})", d.error_code) : "", d.vector);
    }
    return fmt::format("delivered {} through the {} -> {:04x}:{:0{}x}{}", what,
                       protected_mode ? "IDT" : "IVT", d.handler_cs, d.handler_eip,
                       protected_mode ? 8 : 4, n > 1 ? fmt::format(" (the last of {})", n) : "");
}

} // namespace

std::optional<StepTrace::StepDelivery> StepTrace::new_delivery(const Emulator& emu,
                                                               const CpuState& before) {
    const Emulator::Delivery d = emu.last_delivery();
    const uint64_t n = d.count - deliveries_seen_;
    deliveries_seen_ = d.count;
    // Deliveries while no line was printed (outside the traced windows) are not this step's.
    if (n == 0 || d.tsc < before.tsc) return std::nullopt;
    return StepDelivery{.last = d, .count = n};
}

void StepTrace::finish() {
    if (!json_) console_.flush_partial();
}

void StepTrace::line(const Emulator& emu, const CpuState& before, const Exit& exit,
                     std::string_view console) {
    line(emu, before, fetch_cache_.fetch(emu, before), exit, console);
}

void StepTrace::line(const Emulator& emu, const CpuState& before, const FetchedInstruction& f,
                     const Exit& exit, std::string_view console) {
    const CpuState& s = emu.state();
    const bool retired = exit.instructions != 0;
    const bool valid = vmx::is_valid(s, profile_);
    const std::optional<StepDelivery> delivered = new_delivery(emu, before);
    const std::string ip = hex(before.eip, ar::db(before[Seg::CS].access_rights) ? 8 : 4);
    if (json_) {
        nlohmann::json line = {{"mode", mode_tag(before)},
                               {"cs", fmt::format("{:04x}", before[Seg::CS].selector)},
                               {"ip", ip},
                               {"linear", fmt::format("{:08x}", before[Seg::CS].base + before.eip)},
                               {"bytes", hex_bytes(f.bytes, f.count)},
                               {"asm", f.text},
                               {"exit", to_string(exit.reason)}};
        nlohmann::json changes = nlohmann::json::object();
        for_each_register_change(before, s,
                                 [&](const char* k, std::string v) { changes[k] = std::move(v); });
        for (int i = 0; i < kNumSegs; ++i)
            if (before.seg[i] != s.seg[i]) changes[seg_name(i)] = segment_to_json(s.seg[i]);
        if (before.tr != s.tr) changes["tr"] = segment_to_json(s.tr);
        if (before.ldtr != s.ldtr) changes["ldtr"] = segment_to_json(s.ldtr);
        if (before.gdtr != s.gdtr)
            changes["gdtr"] = {{"base", s.gdtr.base}, {"limit", s.gdtr.limit}};
        if (before.idtr != s.idtr)
            changes["idtr"] = {{"base", s.idtr.base}, {"limit", s.idtr.limit}};
        line["changes"] = changes;
        line["vmx"] = {{"profile", vmx::to_string(profile_)},
                       {"valid", valid},
                       {"failing", violations_to_json(vmx::evaluate(s, profile_))}};
        if (kvm_fixup_ && !vmx::is_valid(s, vmx::Profile::Kvm))
            line["kvm_fixup"] = fixup_to_json(vmx::kvm_fixup(s));
        if (!console.empty()) line["console"] = std::string(console);
        if (delivered) {
            const Emulator::Delivery& d = delivered->last;
            line["delivered"] = {
                {"vector", d.vector},
                {"name", d.interrupt ? "interrupt" : std::string(exception_mnemonic(d.vector))},
                {"error_code",
                 d.has_error_code ? nlohmann::json(d.error_code) : nlohmann::json(nullptr)},
                {"injected", d.injected},
                {"through", before.protected_mode() ? "IDT" : "IVT"},
                {"handler", fmt::format("{:04x}:{:x}", d.handler_cs, d.handler_eip)},
                {"count", delivered->count}};
        }
        fmt::print("{}\n", dump_json(line));
    } else {
        // An event the host injected came before this instruction; one it raised, after.
        if (delivered && delivered->last.injected)
            fmt::print("    {}\n", delivery_text(delivered->last, delivered->count, before));
        // "R16 0000:1009 001009  66 49                    dec ecx     ecx=05f5e0ff"
        std::string& text = text_;
        text = mode_tag(before);
        text += ' ';
        append_hex(text, before[Seg::CS].selector, 4);
        text += ':';
        text += ip;
        text += ' ';
        append_hex(text, before[Seg::CS].base + before.eip, 6);
        text += "  ";
        size_t column = text.size();
        append_hex_bytes(text, f.bytes, f.count);
        pad_from(text, column, 24);
        text += ' ';
        column = text.size();
        text += f.text;
        pad_from(text, column, 30);
        for_each_register_change(before, s, [&](const char* k, const std::string& v) {
            text += ' ';
            text += k;
            text += '=';
            text += v;
        });
        text += '\n';
        std::fwrite(text.data(), 1, text.size(), stdout);
        if (delivered && !delivered->last.injected)
            fmt::print("    {}\n", delivery_text(delivered->last, delivered->count, before));
        banners(emu, before, s);
        console_.feed(console);
        if (exit.reason != ExitReason::Step && exit.reason != ExitReason::Io &&
            exit.reason != ExitReason::Halt)
            fmt::print("    exit {}{}\n", to_string(exit.reason),
                       exit.detail ? fmt::format(": {}", exit.detail) : "");
        if (retired || exit.reason != ExitReason::Io) verdict(s, valid, false);
        if (kvm_fixup_ && !vmx::is_valid(s, vmx::Profile::Kvm))
            print_fixup(vmx::kvm_fixup(s), "    ");
    }
}

// `valid` is vmx::is_valid(s, profile), known by the caller: the fast path spares the
// report's work on the common line.
void StepTrace::verdict(const CpuState& s, bool valid, bool first) {
    if (valid) {
        std::fputs(valid_line_.c_str(), stdout);
        last_failing_.clear();
        return;
    }
    const auto violations = vmx::evaluate(s, profile_);
    std::vector<std::string> ids;
    for (const auto& v : violations)
        ids.emplace_back(v.check->id);
    const std::string profile{vmx::to_string(profile_)};
    if (violations.empty()) { // is_valid and evaluate agree (tests/vmx_checks)
        fmt::print("    vmx[{}] valid\n", profile);
    } else if (!first && ids == last_failing_) {
        fmt::print("    vmx[{}] INVALID  (unchanged: {})\n", profile, fmt::join(ids, ", "));
    } else {
        const std::string text = format_violations(violations, profile_);
        std::fwrite(text.data(), 1, text.size(), stdout);
    }
    last_failing_ = std::move(ids);
}

void StepTrace::descriptor_table(const Emulator& emu, const char* name,
                                 const DescriptorTableRegister& t) {
    const uint32_t entries = std::min<uint32_t>((t.limit + 1) / 8, 16);
    for (uint32_t i = 0; i < entries; ++i) {
        uint64_t raw = 0;
        if (!emu.read_linear(t.base + i * 8, &raw, 8)) break; // the base is linear
        fmt::print("        {}[{:#04x}] {:016x}  {}\n", name, i * 8, raw, describe_descriptor(raw));
    }
}

void StepTrace::banners(const Emulator& emu, const CpuState& a, const CpuState& b) {
    if ((a.cr0 ^ b.cr0) & cr0::PE) {
        fmt::print("    == CR0.PE {}->{}: {} ==\n", a.cr0 & 1, b.cr0 & 1,
                   (b.cr0 & cr0::PE) ? "protected mode; CS still caches the real-mode segment"
                                     : "real mode; the segment caches keep their limits");
    }
    for (int i = 0; i < kNumSegs; ++i)
        if (a.seg[i] != b.seg[i])
            fmt::print("    {:<2} ={}\n", seg_name(i), segment_fields(b.seg[i]));
    if (a.tr != b.tr) fmt::print("    tr ={}\n", segment_fields(b.tr));
    if (a.ldtr != b.ldtr) fmt::print("    ldtr={}\n", segment_fields(b.ldtr));
    if (a.gdtr != b.gdtr) {
        fmt::print("    gdtr {:08x}:{:04x} -> {:08x}:{:04x}\n", a.gdtr.base, a.gdtr.limit,
                   b.gdtr.base, b.gdtr.limit);
        descriptor_table(emu, "gdt", b.gdtr);
    }
    if (a.idtr != b.idtr)
        fmt::print("    idtr {:08x}:{:04x} -> {:08x}:{:04x}\n", a.idtr.base, a.idtr.limit,
                   b.idtr.base, b.idtr.limit);
}

} // namespace transit86::tools
