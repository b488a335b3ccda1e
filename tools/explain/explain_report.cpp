// Rendering an Explanation as text or JSON.
#include "tools/explain/explain_report.hpp"

#include <fmt/format.h>
#include <map>

#include "tools/formats/state_json.hpp"

namespace transit86::tools::explain {
namespace {

std::string join_fields(const std::vector<Field>& fields) {
    std::string out;
    for (Field f : fields) {
        if (!out.empty()) out += ", ";
        out += field_name(f);
    }
    return out;
}

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

// Every field some unjudged check needed.
FieldSet needed_fields(const Explanation& ex) {
    FieldSet out;
    for (const Unjudged& u : ex.unjudged)
        out.insert(u.missing);
    return out;
}

std::string exit_reason_text(uint64_t reason) {
    if (reason == 0x80000021) return "0x80000021 (VM-entry failure: invalid guest state)";
    if (reason == 0x80000022) return "0x80000022 (VM-entry failure: MSR loading)";
    return fmt::format("{:#x}", reason);
}

std::string kvm_text(const Explanation& ex) {
    if (ex.assumptions.unrestricted_guest)
        return "with unrestricted guest KVM checks nothing and always enters";
    switch (ex.kvm) {
    case KvmVerdict::Invalid:
        return fmt::format("guest_state_valid() rejects the state ({}): KVM emulates instead of "
                           "entering",
                           join(ex.kvm_failing));
    case KvmVerdict::Valid:
        return "guest_state_valid() accepts the state: KVM enters and the CPU judges the rest";
    case KvmVerdict::Unknown: break;
    }
    return "cannot tell: no KVM check the dump lets us judge fails, but some cannot be judged";
}

std::string catch_text(const Finding& f) {
    switch (f.kvm) {
    case KvmCatch::Catches: return fmt::format("KVM would catch ({})", join(f.kvm_checks));
    case KvmCatch::CatchesElsewhere:
        return "KVM would catch the state, but has no check for this rule";
    case KvmCatch::Misses: return "KVM misses";
    case KvmCatch::Unknown: break;
    }
    return "KVM: unknown (its verdict needs fields the dump lacks)";
}

nlohmann::json field_keys(const std::vector<Field>& fields) {
    nlohmann::json out = nlohmann::json::array();
    for (Field f : fields)
        out.push_back(field_key(f));
    return out;
}

nlohmann::json controls_json(const Dump& d) {
    nlohmann::json out = nlohmann::json::object();
    const auto put = [&](Field f, uint64_t value) {
        if (d.known.contains(f)) out[std::string(field_key(f))] = fmt::format("{:#x}", value);
    };
    put(Field::EntryIntrInfo, d.controls.intr_info);
    put(Field::EntryErrorCode, d.controls.error_code);
    put(Field::EntryInstrLen, d.controls.instr_len);
    put(Field::PinBased, d.controls.pin_based);
    put(Field::CpuBased, d.controls.cpu_based);
    put(Field::SecondaryExec, d.controls.secondary_exec);
    put(Field::EntryControls, d.controls.entry_controls);
    put(Field::PendingDebug, d.controls.pending_debug);
    put(Field::DebugCtl, d.controls.debugctl);
    return out;
}

} // namespace

std::string describe_mode(const Dump& d) {
    if (!d.known.contains(Field::Cr0)) return "mode unknown (no CR0 in the dump)";
    const CpuState& s = d.state;
    std::string mode;
    if (!s.protected_mode())
        mode = "real mode";
    else if (d.known.contains(Field::Rflags) && s.v86())
        mode = "virtual-8086 mode";
    else if ((s.efer & vmcs_bits::kEferLma) != 0 && d.known.contains(Field::Efer))
        mode = "IA-32e mode";
    else
        mode = "protected mode";
    mode += (s.cr0 & cr0::PG) != 0 ? ", paging on" : ", paging off";
    return fmt::format("{} (CR0 {:#x}{})", mode, s.cr0,
                       d.known.contains(Field::Rflags) ? fmt::format(", RFLAGS {:#x}", d.rflags)
                                                       : std::string(", no RFLAGS"));
}

std::string render_text(const Explanation& ex, std::string_view source) {
    const Dump& d = ex.dump;
    std::string out;
    const auto line = [&out](std::string_view label, std::string_view text) {
        out += fmt::format("{:<10}{}\n", label, text);
    };
    line("explain:", source);
    line("format:", describe(d.format));
    if (d.exit_reason) line("exit:", exit_reason_text(*d.exit_reason));
    line("guest:", describe_mode(d));
    line("read:", join_fields(d.known.list()));
    const FieldSet needed = needed_fields(ex);
    if (!needed.empty()) line("missing:", join_fields(needed.list()));
    line("assumed:",
         fmt::format("unrestricted guest {} ({})", ex.assumptions.unrestricted_guest ? "on" : "off",
                     ex.assumptions.unrestricted_reason));
    line("",
         fmt::format("IA-32e mode guest {} ({})", ex.assumptions.ia32e_mode_guest ? "on" : "off",
                     ex.assumptions.ia32e_reason));
    for (const std::string& note : d.notes)
        line("note:", note);
    line("KVM:", kvm_text(ex));
    out += "\n";

    if (ex.failing.empty())
        out += fmt::format("sdm: VALID as far as the dump shows: {} check{} judged, none fails\n",
                           ex.judged, ex.judged == 1 ? "" : "s");
    else
        out += fmt::format("sdm: INVALID: {} of {} judged check{} fail\n", ex.failing.size(),
                           ex.judged, ex.judged == 1 ? "" : "s");
    for (const Finding& f : ex.failing) {
        out += fmt::format("  FAIL {}  (SDM {})\n", f.id, f.section);
        out += fmt::format("       {}\n", f.message);
        out += fmt::format("       {}\n", catch_text(f));
        if (!f.kvm_note.empty() && f.kvm != KvmCatch::Catches)
            out += fmt::format("       (KVM: {})\n", f.kvm_note);
    }

    if (!ex.unjudged.empty()) {
        out += fmt::format("\nnot judged: {} check{}, the dump lacks what they read\n",
                           ex.unjudged.size(), ex.unjudged.size() == 1 ? "" : "s");
        std::map<std::string, std::vector<std::string>> by_missing;
        for (const Unjudged& u : ex.unjudged)
            by_missing[join_fields(u.missing.list())].push_back(u.id);
        for (const auto& [missing, ids] : by_missing)
            out += fmt::format("  needs {}: {}\n", missing, join(ids));
    }
    return out;
}

nlohmann::json render_json(const Explanation& ex, std::string_view source) {
    const Dump& d = ex.dump;
    nlohmann::json failing = nlohmann::json::array();
    for (const Finding& f : ex.failing)
        failing.push_back({{"id", f.id},
                           {"section", f.section},
                           {"message", f.message},
                           {"source", f.source},
                           {"kvm", to_string(f.kvm)},
                           {"kvm_checks", f.kvm_checks},
                           {"kvm_note", f.kvm_note}});
    nlohmann::json unjudged = nlohmann::json::array();
    for (const Unjudged& u : ex.unjudged)
        unjudged.push_back({{"id", u.id},
                            {"section", u.section},
                            {"source", u.source},
                            {"missing", field_keys(u.missing.list())}});
    const std::string_view verdict = ex.kvm == KvmVerdict::Invalid ? "invalid"
                                     : ex.kvm == KvmVerdict::Valid ? "valid"
                                                                   : "unknown";
    nlohmann::json doc = {
        {"file", source},
        {"format", to_string(d.format)},
        {"format_description", describe(d.format)},
        {"exit_reason",
         d.exit_reason ? nlohmann::json(fmt::format("{:#x}", *d.exit_reason)) : nlohmann::json()},
        {"mode", describe_mode(d)},
        {"known", field_keys(d.known.list())},
        {"missing", field_keys(needed_fields(ex).list())},
        {"state", state_to_json(d.state)},
        {"controls", controls_json(d)},
        {"assumptions",
         {{"unrestricted_guest",
           {{"value", ex.assumptions.unrestricted_guest},
            {"reason", ex.assumptions.unrestricted_reason}}},
          {"ia32e_mode_guest",
           {{"value", ex.assumptions.ia32e_mode_guest}, {"reason", ex.assumptions.ia32e_reason}}}}},
        {"notes", d.notes},
        {"kvm",
         {{"profile", ex.assumptions.unrestricted_guest ? "none (unrestricted guest)" : "kvm"},
          {"verdict", verdict},
          {"failing", ex.kvm_failing}}},
        {"valid", ex.valid()},
        {"judged", ex.judged},
        {"failing", failing},
        {"unjudged", unjudged},
    };
    if (d.cr0_shadow) doc["cr0_shadow"] = fmt::format("{:#x}", *d.cr0_shadow);
    return doc;
}

} // namespace transit86::tools::explain
