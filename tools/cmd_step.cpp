// `transit86 step IMAGE`: run boot code one instruction at a time and show, after each, what
// changed and which VM-entry checks the state fails.
#include "tools/commands.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "decoder/decoder.hpp"
#include "tools/guest_image.hpp"
#include "tools/pc_ports.hpp"
#include "tools/state_json.hpp"
#include "tools/trace_format.hpp"
#include "tools/vmx_report.hpp"
#include "transit86/emulator.hpp"

namespace transit86::tools {

namespace {

struct Fetched {
    uint8_t bytes[15] = {};
    size_t count = 0;
    decoder::Insn insn{};
    std::string text;
};

decoder::FetchMode fetch_mode(const CpuState& s) {
    return {.protected_mode = s.protected_mode(),
            .code32 = ar::db(s[Seg::CS].access_rights),
            .v86 = s.v86()};
}

Fetched peek_instruction(const Emulator& emu, const CpuState& s) {
    Fetched f;
    const uint64_t linear = s[Seg::CS].base + s.eip;
    while (f.count < 15 && emu.read_physical(linear + f.count, f.bytes + f.count, 1))
        ++f.count;
    if (decoder::decode(f.bytes, f.count, fetch_mode(s), f.insn) == decoder::DecodeStatus::Ok ||
        f.insn.length != 0) {
        f.count = f.insn.length ? f.insn.length : f.count;
        f.text = decoder::disassemble(f.bytes, f.count, fetch_mode(s), s.eip);
    } else {
        f.count = std::min<size_t>(f.count, 4);
        f.text = "(bad)";
    }
    return f;
}

std::string hex_bytes(const uint8_t* bytes, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i)
        out += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
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

// Register and control-state changes as "name=value" words.
std::vector<std::pair<std::string, std::string>> register_changes(const CpuState& a,
                                                                  const CpuState& b) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < 8; ++i)
        if (a.gpr[i] != b.gpr[i]) out.emplace_back(gpr_name(i), fmt::format("{:08x}", b.gpr[i]));
    if (a.eflags != b.eflags)
        out.emplace_back("eflags", fmt::format("{:08x}[{}]", b.eflags, flag_letters(b.eflags)));
    const std::pair<const char*, uint64_t CpuState::*> crs[] = {{"cr0", &CpuState::cr0},
                                                                {"cr2", &CpuState::cr2},
                                                                {"cr3", &CpuState::cr3},
                                                                {"cr4", &CpuState::cr4},
                                                                {"efer", &CpuState::efer}};
    for (const auto& [name, member] : crs)
        if (a.*member != b.*member)
            out.emplace_back(name, fmt::format("{:08x}->{:08x}", a.*member, b.*member));
    return out;
}

class StepRun {
  public:
    explicit StepRun(const StepOptions& o) : opt_(o), ram_(o.memory_mib << 20) {}
    int run();

  private:
    void print_verdict(const CpuState& s, bool first);
    void print_banners(const CpuState& before, const CpuState& after);
    void print_descriptor_table(const char* name, const DescriptorTableRegister& t);
    void flush_console(nlohmann::json* line);
    int finish(const std::string& why, int status, const CpuState& s);

    const StepOptions& opt_;
    GuestRam ram_;
    PcPorts ports_;
    Emulator* emu_ = nullptr;
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

void StepRun::print_verdict(const CpuState& s, bool first) {
    const auto violations = vmx::evaluate(s, opt_.profile);
    std::vector<std::string> ids;
    for (const auto& v : violations)
        ids.emplace_back(v.check->id);
    const std::string profile{vmx::to_string(opt_.profile)};
    if (violations.empty()) {
        fmt::print("    vmx[{}] valid\n", profile);
    } else if (!first && ids == last_failing_) {
        fmt::print("    vmx[{}] INVALID  (unchanged: {})\n", profile, fmt::join(ids, ", "));
    } else {
        bool head = true;
        for (const auto& v : violations) {
            fmt::print("    {:<18}{:<18} {}  (SDM {})\n",
                       head ? fmt::format("vmx[{}] INVALID", profile) : "", v.check->id, v.message,
                       v.check->section);
            head = false;
        }
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
        print_verdict(s, true);
    }
    was_invalid_ = !vmx::is_valid(s, opt_.profile);

    RunLimits one_step{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    for (;;) {
        if (opt_.budget != 0 && count_ >= opt_.budget)
            return finish(fmt::format("budget of {} spent", opt_.budget),
                          opt_.stop_at == StopAt::Budget ? 0 : 1, s);
        const CpuState before = s;
        const Fetched f = peek_instruction(emu, before);
        const Exit exit = emu.run(one_step);
        const bool retired = exit.instructions != 0;
        if (retired) ++count_;
        const bool valid = vmx::is_valid(s, opt_.profile);

        const std::string ip = ar::db(before[Seg::CS].access_rights)
                                   ? fmt::format("{:08x}", before.eip)
                                   : fmt::format("{:04x}", before.eip);
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
            for (const auto& [k, v] : register_changes(before, s))
                changes[k] = v;
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
            std::string changes;
            for (const auto& [k, v] : register_changes(before, s))
                changes += fmt::format(" {}={}", k, v);
            fmt::print("{} {:04x}:{} {:06x}  {:<24} {:<30}{}\n", mode_tag(before),
                       before[Seg::CS].selector, ip, before[Seg::CS].base + before.eip,
                       hex_bytes(f.bytes, f.count), f.text, changes);
            print_banners(before, s);
            flush_console(nullptr);
            if (exit.reason != ExitReason::Step && exit.reason != ExitReason::Io &&
                exit.reason != ExitReason::Halt)
                fmt::print("    exit {}{}\n", to_string(exit.reason),
                           exit.detail ? fmt::format(": {}", exit.detail) : "");
            if (retired || exit.reason != ExitReason::Io) print_verdict(s, false);
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
                              PcPorts::exit_status_for(*code), s);
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

} // namespace

int run_step(const StepOptions& options) {
    StepRun run(options);
    return run.run();
}

} // namespace transit86::tools
