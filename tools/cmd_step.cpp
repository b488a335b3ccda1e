// `transit86 step IMAGE`: run boot code one instruction at a time and show, after each, what
// changed and which VM-entry checks the state fails.
#include "tools/commands.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pc/pc_ports.hpp"
#include "tools/formats/state_json.hpp"
#include "tools/formats/step_fetch.hpp"
#include "tools/formats/trace_format.hpp"
#include "tools/formats/vmx_report.hpp"
#include "tools/gdb/gdb_server.hpp"
#include "tools/gdb/step_target.hpp"
#include "tools/guest_image.hpp"
#include "transit86/emulator.hpp"

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

std::string hex(uint64_t v, int digits) {
    std::string out;
    append_hex(out, v, digits);
    return out;
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

std::string hex_bytes(const uint8_t* bytes, size_t n) {
    std::string out;
    append_hex_bytes(out, bytes, n);
    return out;
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
}

class StepRun {
  public:
    explicit StepRun(const StepOptions& o) : opt_(o), ram_(o.memory_mib << 20) {}
    int run();

  private:
    void print_verdict(const CpuState& s, bool valid, bool first);
    void print_banners(const CpuState& before, const CpuState& after);
    void print_descriptor_table(const char* name, const DescriptorTableRegister& t);
    void flush_console(nlohmann::json* line);
    int finish(const std::string& why, int status, const CpuState& s);
    int serve_gdb(const CpuState& start);

    const StepOptions& opt_;
    GuestRam ram_;
    pc::PcPorts ports_;
    Emulator* emu_ = nullptr;
    FetchCache fetch_cache_;
    std::string line_; // the text line, reused
    const std::string valid_line_ =
        fmt::format("    vmx[{}] valid\n", vmx::to_string(opt_.profile));
    std::vector<std::string> last_failing_;
    bool was_invalid_ = false;
    uint64_t count_ = 0;
};

void StepRun::flush_console(nlohmann::json* line) {
    const std::string text = ports_.take_console();
    if (text.empty()) return;
    if (line)
        (*line)["console"] = text;
    else {
        std::string shown = text;
        while (!shown.empty() && shown.back() == '\n')
            shown.pop_back();
        fmt::print("    console: {}\n", shown);
    }
}

// `valid` is vmx::is_valid(s, profile), known by the caller: the fast path spares the
// report's work on the common line.
void StepRun::print_verdict(const CpuState& s, bool valid, bool first) {
    if (valid) {
        std::fputs(valid_line_.c_str(), stdout);
        last_failing_.clear();
        return;
    }
    const auto violations = vmx::evaluate(s, opt_.profile);
    std::vector<std::string> ids;
    for (const auto& v : violations)
        ids.emplace_back(v.check->id);
    const std::string profile{vmx::to_string(opt_.profile)};
    if (violations.empty()) { // is_valid and evaluate agree (tests/vmx_checks)
        fmt::print("    vmx[{}] valid\n", profile);
    } else if (!first && ids == last_failing_) {
        fmt::print("    vmx[{}] INVALID  (unchanged: {})\n", profile, fmt::join(ids, ", "));
    } else {
        const std::string text = format_violations(violations, opt_.profile);
        std::fwrite(text.data(), 1, text.size(), stdout);
    }
    last_failing_ = std::move(ids);
}

void StepRun::print_descriptor_table(const char* name, const DescriptorTableRegister& t) {
    const uint32_t entries = std::min<uint32_t>((t.limit + 1) / 8, 16);
    for (uint32_t i = 0; i < entries; ++i) {
        uint64_t raw = 0;
        if (!emu_->read_physical(t.base + i * 8, &raw, 8)) break;
        fmt::print("        {}[{:#04x}] {:016x}  {}\n", name, i * 8, raw, describe_descriptor(raw));
    }
}

void StepRun::print_banners(const CpuState& a, const CpuState& b) {
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
        print_descriptor_table("gdt", b.gdtr);
    }
    if (a.idtr != b.idtr)
        fmt::print("    idtr {:08x}:{:04x} -> {:08x}:{:04x}\n", a.idtr.base, a.idtr.limit,
                   b.idtr.base, b.idtr.limit);
}

int StepRun::finish(const std::string& why, int status, const CpuState& s) {
    if (opt_.json) {
        nlohmann::json end = {{"end", why},
                              {"instructions", count_},
                              {"status", status},
                              {"state", state_to_json(s)}};
        fmt::print("{}\n", dump_json(end));
    } else {
        fmt::print("== {} after {} instructions ==\n", why, count_);
    }
    std::fflush(stdout);
    return status;
}

int StepRun::run() {
    const RamSlot slot = ram_.slot();
    Emulator emu({&slot, 1}, &ports_);
    emu_ = &emu;
    const size_t image_size = ram_.load_file(opt_.image, opt_.load_address);
    emu.set_a20(!opt_.a20_off);
    ports_.initial_a20(!opt_.a20_off);
    ports_.on_a20 = [&emu](bool enabled) { emu.set_a20(enabled); };
    CpuState& s = emu.state();
    s = reset_state(opt_.preset);
    // Start at CS:IP the way a BIOS far jump would: selector and base change, the hidden
    // limit and attributes of the reset state stay.
    s[Seg::CS].selector = opt_.start_cs;
    s[Seg::CS].base = uint32_t{opt_.start_cs} << 4;
    s.eip = opt_.start_ip;
    // An entry point the first fetch cannot reach is a bad command line, not a guest event.
    const std::string start = fmt::format("--start {:04x}:{:04x}", opt_.start_cs, opt_.start_ip);
    if (s.eip > s[Seg::CS].limit)
        throw ImageError(fmt::format("{}: offset {:#x} is beyond the CS limit {:#x}", start, s.eip,
                                     s[Seg::CS].limit));
    const uint64_t entry = (s[Seg::CS].base + s.eip) & (opt_.a20_off ? ~uint64_t{1 << 20} : ~0ull);
    if (entry >= ram_.size())
        throw ImageError(fmt::format("{}: linear address {:#x} is outside the {} MiB of RAM", start,
                                     entry, ram_.size() >> 20));

    const char* preset = opt_.preset == ResetPreset::Intel ? "intel" : "kvm";
    if (opt_.gdb) {
        fmt::print("transit86: {} ({} bytes) at {:#x}, reset preset {}, start {:04x}:{:04x}, "
                   "profile {}\n",
                   opt_.image, image_size, opt_.load_address, preset, opt_.start_cs, opt_.start_ip,
                   vmx::to_string(opt_.profile));
        return serve_gdb(s);
    }
    if (opt_.json) {
        nlohmann::json head = {{"image", opt_.image},
                               {"load_address", opt_.load_address},
                               {"size", image_size},
                               {"preset", preset},
                               {"profile", vmx::to_string(opt_.profile)},
                               {"state", state_to_json(s)}};
        fmt::print("{}\n", dump_json(head));
    } else {
        fmt::print(
            "transit86: {} ({} bytes) at {:#x}, reset preset {}, start {:04x}:{:04x}, profile {}\n",
            opt_.image, image_size, opt_.load_address, preset, opt_.start_cs, opt_.start_ip,
            vmx::to_string(opt_.profile));
        print_verdict(s, vmx::is_valid(s, opt_.profile), true);
    }
    was_invalid_ = !vmx::is_valid(s, opt_.profile);

    RunLimits one_step{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    for (;;) {
        if (opt_.budget != 0 && count_ >= opt_.budget)
            return finish(fmt::format("budget of {} spent", opt_.budget),
                          opt_.stop_at == StopAt::Budget ? 0 : 1, s);
        const CpuState before = s;
        const FetchedInstruction& f = fetch_cache_.fetch(emu, before);
        const Exit exit = emu.run(one_step);
        const bool retired = exit.instructions != 0;
        if (retired) ++count_;
        const bool valid = vmx::is_valid(s, opt_.profile);

        const std::string ip = hex(before.eip, ar::db(before[Seg::CS].access_rights) ? 8 : 4);
        if (opt_.json) {
            nlohmann::json line = {
                {"mode", mode_tag(before)},
                {"cs", fmt::format("{:04x}", before[Seg::CS].selector)},
                {"ip", ip},
                {"linear", fmt::format("{:08x}", before[Seg::CS].base + before.eip)},
                {"bytes", hex_bytes(f.bytes, f.count)},
                {"asm", f.text},
                {"exit", to_string(exit.reason)}};
            nlohmann::json changes = nlohmann::json::object();
            for_each_register_change(
                before, s, [&](const char* k, std::string v) { changes[k] = std::move(v); });
            for (int i = 0; i < kNumSegs; ++i)
                if (before.seg[i] != s.seg[i]) changes[seg_name(i)] = segment_to_json(s.seg[i]);
            if (before.tr != s.tr) changes["tr"] = segment_to_json(s.tr);
            if (before.ldtr != s.ldtr) changes["ldtr"] = segment_to_json(s.ldtr);
            if (before.gdtr != s.gdtr)
                changes["gdtr"] = {{"base", s.gdtr.base}, {"limit", s.gdtr.limit}};
            if (before.idtr != s.idtr)
                changes["idtr"] = {{"base", s.idtr.base}, {"limit", s.idtr.limit}};
            line["changes"] = changes;
            line["vmx"] = {{"profile", vmx::to_string(opt_.profile)},
                           {"valid", valid},
                           {"failing", violations_to_json(vmx::evaluate(s, opt_.profile))}};
            if (opt_.kvm_fixup && !vmx::is_valid(s, vmx::Profile::Kvm))
                line["kvm_fixup"] = fixup_to_json(vmx::kvm_fixup(s));
            flush_console(&line);
            fmt::print("{}\n", dump_json(line));
        } else {
            // "R16 0000:1009 001009  66 49                    dec ecx     ecx=05f5e0ff"
            std::string& text = line_;
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
            print_banners(before, s);
            flush_console(nullptr);
            if (exit.reason != ExitReason::Step && exit.reason != ExitReason::Io &&
                exit.reason != ExitReason::Halt)
                fmt::print("    exit {}{}\n", to_string(exit.reason),
                           exit.detail ? fmt::format(": {}", exit.detail) : "");
            if (retired || exit.reason != ExitReason::Io) print_verdict(s, valid, false);
            if (opt_.kvm_fixup && !vmx::is_valid(s, vmx::Profile::Kvm))
                print_fixup(vmx::kvm_fixup(s), "    ");
        }

        switch (exit.reason) {
        case ExitReason::Step: break;
        case ExitReason::Halt:
            if (opt_.hlt_resume && (s.eflags & flags::IF)) break;
            return finish(fmt::format("hlt at {:04x}:{:x}", before[Seg::CS].selector, before.eip),
                          opt_.stop_at == StopAt::Halt ? 0 : 1, s);
        case ExitReason::Io:
            if (auto code = ports_.debug_exit_code())
                return finish(fmt::format("isa-debug-exit wrote {:#x}", *code),
                              pc::PcPorts::exit_status_for(*code), s);
            return finish(fmt::format("port {:#x} needs the host", exit.io.port), 1, s);
        case ExitReason::Exception:
            return finish(
                fmt::format("exception {} (error code {:#x}) the emulator cannot deliver: {}",
                            exit.vector, exit.error_code, exit.detail ? exit.detail : ""),
                1, s);
        case ExitReason::Unsupported:
            return finish(fmt::format("unsupported instruction [{}] at linear {:#x}: {}",
                                      hex_bytes(exit.bytes.data(), exit.byte_count),
                                      exit.linear_address, exit.detail ? exit.detail : ""),
                          1, s);
        default:
            return finish(fmt::format("{}{}", to_string(exit.reason),
                                      exit.detail ? fmt::format(" ({})", exit.detail) : ""),
                          1, s);
        }
        if (opt_.stop_at == StopAt::Valid && was_invalid_ && valid) {
            return finish(
                fmt::format("VALID under {}: hand back to the VMM", vmx::to_string(opt_.profile)),
                0, s);
        }
        was_invalid_ = was_invalid_ || !valid;
    }
}

// --gdb: the same machine, driven by GDB (tools/gdb, docs/gdb.md).
int StepRun::serve_gdb(const CpuState& start) {
    gdb::StepTarget target(ram_.slot(), ports_, start,
                           {.profile = opt_.profile,
                            .budget = opt_.budget,
                            .hlt_resume = opt_.hlt_resume,
                            .a20 = !opt_.a20_off});
    const gdb::ServeResult result =
        gdb::serve_gdb(target, {opt_.gdb_host, opt_.gdb_port}, {}, stdout);
    const char* how = result.end == gdb::ServeResult::End::Detached ? "detached"
                      : result.end == gdb::ServeResult::End::Killed ? "killed the run"
                                                                    : "disconnected";
    fmt::print("== GDB {} after {} instructions{} ==\n", how, target.retired(),
               target.ended().empty() ? "" : "; the run had ended: " + target.ended());
    std::fflush(stdout);
    return 0;
}

} // namespace

int run_step(const StepOptions& options) {
    StepRun run(options);
    return run.run();
}

} // namespace transit86::tools
