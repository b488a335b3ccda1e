// Judging a parsed dump against the sdm profile, KVM's checks and explain's own entry rows,
// judging only what the dump shows (see explain_checks.hpp).
#include "tools/explain/explain_checks.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <utility>

namespace transit86::tools::explain {
namespace {

// The register (or field) named by one word of a check id.
struct IdWord {
    std::string_view word;
    FieldSet fields;
};

const std::array<IdWord, 26> kIdWords = {{
    {"es", {Field::Es}},
    {"cs", {Field::Cs}},
    {"ss", {Field::Ss}},
    {"ds", {Field::Ds}},
    {"fs", {Field::Fs}},
    {"gs", {Field::Gs}},
    {"ldtr", {Field::Ldtr}},
    {"tr", {Field::Tr}},
    {"gdtr", {Field::Gdtr}},
    {"idtr", {Field::Idtr}},
    {"cr0", {Field::Cr0, Field::Cr0Vmcs}},
    {"cr3", {Field::Cr3}},
    {"cr4", {Field::Cr4, Field::Cr4Vmcs}},
    {"rflags", {Field::Rflags}},
    {"eflags", {Field::Rflags}},
    {"rip", {Field::Rip}},
    {"rsp", {Field::Rsp}},
    {"efer", {Field::Efer}},
    {"pat", {Field::Pat}},
    {"dr7", {Field::Dr7}},
    {"debugctl", {Field::DebugCtl}},
    {"sysenter", {Field::Sysenter}},
    {"interruptibility", {Field::Interruptibility}},
    {"activity", {Field::Activity}},
    {"pending", {Field::PendingDebug}},
    {"intr", {Field::EntryIntrInfo}},
}};

// What a row reads beyond the registers its id names.
struct ExtraReads {
    std::string_view id;
    FieldSet fields;
};

const std::array<ExtraReads, 16> kExtraReads = {{
    // Rules that depend on CR0.PE: "The DPL of SS must be 0 if the type in CS is 3 or CR0.PE
    // is 0"; RFLAGS.VM only with PE = 1; the error-code bit outside unrestricted real mode.
    {"sdm.ss.dpl-zero", {Field::Cs, Field::Cr0}},
    {"sdm.rflags.vm", {Field::Cr0}},
    {"sdm.entry-intr.error-code-bit", {Field::Cr0}},
    // The rules on the injected event (VmxContext::entry_interruption_info).
    {"sdm.rflags.if-for-external-interrupt", {Field::EntryIntrInfo}},
    {"sdm.activity.event-allowed", {Field::EntryIntrInfo}},
    {"sdm.interruptibility.external-interrupt", {Field::EntryIntrInfo}},
    {"sdm.interruptibility.nmi-mov-ss", {Field::EntryIntrInfo}},
    {"sdm.interruptibility.nmi-sti", {Field::EntryIntrInfo}},
    {"sdm.interruptibility.nmi-blocking", {Field::EntryIntrInfo}},
    {"sdm.entry-intr.error-code", {Field::EntryErrorCode}},
    {"sdm.entry-intr.instruction-length", {Field::EntryInstrLen}},
    // Rules across two fields.
    {"sdm.activity.active-when-blocking", {Field::Interruptibility}},
    {"sdm.interruptibility.sti-needs-if", {Field::Rflags}},
    // LMA must equal LME only when CR0.PG = 1.
    {"sdm.efer.lme-eq-lma", {Field::Cr0, Field::Cr0Vmcs}},
    // The host capabilities no dump shows.
    {"sdm.cr4.fixed1", {Field::HostCr4Fixed1}},
    {"sdm.cr3.reserved", {Field::HostMaxPhyAddr}},
}};

// Everything a row that names no register may read.
constexpr FieldSet kWholeGuestState = {Field::Es,      Field::Cs,      Field::Ss,
                                       Field::Ds,      Field::Fs,      Field::Gs,
                                       Field::Ldtr,    Field::Tr,      Field::Gdtr,
                                       Field::Idtr,    Field::Cr0,     Field::Cr0Vmcs,
                                       Field::Cr4,     Field::Cr4Vmcs, Field::Rflags,
                                       Field::Rip,     Field::Efer,    Field::Interruptibility,
                                       Field::Activity};

constexpr FieldSet kSegments = {Field::Es, Field::Cs, Field::Ss,   Field::Ds,
                                Field::Fs, Field::Gs, Field::Ldtr, Field::Tr};

// The mode: real, protected or virtual-8086 (and with it KVM's branch).
constexpr FieldSet kMode = {Field::Cr0, Field::Rflags};

std::vector<std::string_view> id_words(std::string_view id) {
    std::vector<std::string_view> words;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= id.size(); ++i) {
        if (i == id.size() || id[i] == '.' || id[i] == '-' || id[i] == '_') {
            if (i > start) words.push_back(id.substr(start, i - start));
            start = i + 1;
        }
    }
    return words;
}

// A vmx_checks row with the fields it reads.
struct Row {
    const vmx::Check* check;
    FieldSet reads;
};

std::vector<Row> rows_of(vmx::Profile profile) {
    std::vector<Row> rows;
    for (const vmx::Check& check : vmx::checks(profile)) {
        FieldSet reads = reads_of(check);
        // The processor checks the segments the VMCS holds; KVM checks the guest's own.
        if (profile != vmx::Profile::Kvm && kSegments.missing_from(reads) != kSegments)
            reads.insert(Field::SegmentsVmcs);
        rows.push_back({&check, reads});
    }
    return rows;
}

} // namespace

std::string_view to_string(KvmCatch c) noexcept {
    switch (c) {
    case KvmCatch::Catches: return "catches";
    case KvmCatch::CatchesElsewhere: return "catches-elsewhere";
    case KvmCatch::Misses: return "misses";
    case KvmCatch::Unknown: return "unknown";
    }
    return "?";
}

FieldSet reads_of(const vmx::Check& row) {
    FieldSet reads;
    for (const ExtraReads& extra : kExtraReads)
        if (extra.id == row.id) reads.insert(extra.fields);
    bool named = false;
    const std::vector<std::string_view> words = id_words(row.id);
    for (std::size_t i = 0; i < words.size(); ++i) {
        // "mov-ss" is blocking by MOV SS (interruptibility), not the SS register.
        if (words[i] == "ss" && i > 0 && words[i - 1] == "mov") continue;
        for (const IdWord& w : kIdWords)
            if (w.word == words[i]) {
                reads.insert(w.fields);
                named = true;
            }
    }
    if (!named) reads.insert(kWholeGuestState);
    switch (row.scope) {
    case vmx::Scope::Always: break;
    case vmx::Scope::RealOrV86:
    case vmx::Scope::Protected: reads.insert(kMode); break; // CR0.PE and RFLAGS.VM
    case vmx::Scope::V86:
    case vmx::Scope::NotV86: reads.insert(Field::Rflags); break;
    }
    return reads;
}

Assumptions assume(const Dump& dump, std::optional<bool> force_unrestricted) {
    Assumptions a;
    const EntryControls& c = dump.controls;
    const FieldSet& known = dump.known;
    if (force_unrestricted) {
        a.unrestricted_guest = *force_unrestricted;
        a.unrestricted_reason = "set on the command line";
    } else if (known.contains(Field::SecondaryExec)) {
        const bool secondary_active = !known.contains(Field::CpuBased) ||
                                      (c.cpu_based & vmcs_bits::kCpuBasedSecondaryActive) != 0;
        a.unrestricted_guest =
            secondary_active && (c.secondary_exec & vmcs_bits::kSecondaryUnrestrictedGuest) != 0;
        a.unrestricted_reason = fmt::format("SecondaryExec {:#010x}, bit 7", c.secondary_exec);
    } else if (known.contains(Field::Cr0Vmcs) &&
               (dump.state.cr0 & (cr0::PE | cr0::PG)) != (cr0::PE | cr0::PG)) {
        // Without unrestricted guest KVM and Xen always load PE = PG = 1 into the VMCS (real
        // mode runs as virtual-8086 mode under an identity-mapped page table).
        a.unrestricted_guest = true;
        a.unrestricted_reason =
            fmt::format("the VMCS CR0 {:#x} has PE or PG clear, which KVM and Xen load only "
                        "with unrestricted guest",
                        dump.state.cr0);
    } else {
        a.unrestricted_reason = "not in the dump; --unrestricted to change";
    }

    if (known.contains(Field::EntryControls)) {
        a.ia32e_mode_guest = (c.entry_controls & vmcs_bits::kEntryIa32eModeGuest) != 0;
        a.ia32e_reason = fmt::format("EntryControls {:#010x}, bit 9", c.entry_controls);
    } else if (known.contains(Field::Efer)) {
        a.ia32e_mode_guest = (dump.state.efer & vmcs_bits::kEferLma) != 0;
        a.ia32e_reason = fmt::format("EFER {:#x}, LMA", dump.state.efer);
    } else if (known.contains(Field::Cs) && known.contains(Field::Cr0) &&
               (dump.state[Seg::CS].access_rights & ar::kL) != 0 &&
               (dump.state.cr0 & cr0::PG) != 0) {
        a.ia32e_mode_guest = true;
        a.ia32e_reason = "no entry controls or EFER in the dump; CS.L = 1 with paging on";
    } else {
        a.ia32e_reason = "no entry controls or EFER in the dump";
    }
    return a;
}

vmx::VmxContext context_for(const Dump& dump, const Assumptions& assumptions,
                            const Settings& settings) {
    vmx::VmxContext ctx;
    if (settings.cr4_fixed1) ctx.cr4_fixed1 = *settings.cr4_fixed1;
    if (settings.maxphyaddr)
        ctx.physical_address_width = static_cast<uint8_t>(*settings.maxphyaddr);
    // Five-level paging widens canonical addresses to 57 bits.
    constexpr uint64_t kCr4La57 = 1u << 12;
    if (dump.known.contains(Field::Cr4) && (dump.state.cr4 & kCr4La57) != 0)
        ctx.linear_address_width = 57;
    const EntryControls& c = dump.controls;
    ctx.unrestricted_guest = assumptions.unrestricted_guest;
    ctx.ia32e_mode_guest = assumptions.ia32e_mode_guest;
    if (dump.known.contains(Field::EntryControls)) {
        ctx.load_efer = (c.entry_controls & (1u << 15)) != 0;
        ctx.load_pat = (c.entry_controls & (1u << 14)) != 0;
    }
    if (dump.known.contains(Field::PinBased))
        ctx.virtual_nmis = (c.pin_based & vmcs_bits::kPinVirtualNmis) != 0;
    if (dump.known.contains(Field::EntryIntrInfo)) {
        ctx.entry_interruption_info = c.intr_info;
        ctx.entry_exception_error_code = c.error_code;
        ctx.entry_instruction_length = c.instr_len;
    }
    if (dump.format != DumpFormat::Qemu) {
        ctx.cr0_vmm_set = 0; // "actual" is the VMCS field itself
        ctx.cr4_vmm_set = 0;
    }
    return ctx;
}

FieldSet judged_fields(const Dump& dump, const Assumptions& assumptions, const Settings& settings) {
    FieldSet known = dump.known;
    if (settings.cr4_fixed1) known.insert(Field::HostCr4Fixed1);
    if (settings.maxphyaddr) known.insert(Field::HostMaxPhyAddr);
    if (dump.format != DumpFormat::Qemu) {
        known.insert(Field::SegmentsVmcs);
    } else if (assumptions.unrestricted_guest) {
        if (known.contains(Field::Cr0)) known.insert(Field::Cr0Vmcs);
        if (known.contains(Field::Cr4)) known.insert(Field::Cr4Vmcs);
        known.insert(Field::SegmentsVmcs);
    } else if (known.contains(Field::Cr0) && dump.state.protected_mode()) {
        known.insert(Field::SegmentsVmcs);
    }
    return known;
}

namespace {

// The failing KVM rows that test the same rule as an sdm row: its counterparts by id.
std::vector<std::string> kvm_counterparts_failing(const vmx::Check& row,
                                                  const std::vector<Row>& kvm_failing) {
    std::vector<std::string> out;
    const std::vector<std::string_view> names = vmx::counterparts(row);
    for (const Row& k : kvm_failing)
        if (std::find(names.begin(), names.end(), k.check->id) != names.end())
            out.emplace_back(k.check->id);
    return out;
}

} // namespace

Explanation explain_dump(Dump dump, const Settings& settings) {
    Explanation ex;
    ex.dump = std::move(dump);
    ex.assumptions = assume(ex.dump, settings.unrestricted);
    ex.context = context_for(ex.dump, ex.assumptions, settings);
    ex.judged_fields = judged_fields(ex.dump, ex.assumptions, settings);
    if (!ex.judged_fields.contains(Field::SegmentsVmcs))
        ex.dump.notes.push_back(fmt::format(
            "without unrestricted guest KVM enters real mode as virtual-8086 mode, with the "
            "segments converted; as the guest {}, the processor's segment rules are not judged "
            "on the segments QEMU shows (KVM's are)",
            ex.dump.known.contains(Field::Cr0) ? "is in real mode"
                                               : "is not known to be in protected mode"));
    const Dump& d = ex.dump;
    const CpuState& state = d.state;
    const FieldSet& known = ex.judged_fields;

    // KVM's view: guest_state_valid(); with unrestricted guest KVM checks nothing.
    std::vector<Row> kvm_failing;
    bool kvm_unjudged = false;
    if (!ex.assumptions.unrestricted_guest) {
        for (const Row& row : rows_of(vmx::Profile::Kvm)) {
            if (!row.reads.missing_from(known).empty()) {
                kvm_unjudged = true;
                continue;
            }
            if (vmx::in_scope(row.check->scope, state) && !row.check->passes(state, {})) {
                kvm_failing.push_back(row);
                ex.kvm_failing.emplace_back(row.check->id);
            }
        }
    }
    ex.kvm = !kvm_failing.empty() ? KvmVerdict::Invalid
             : kvm_unjudged       ? KvmVerdict::Unknown
                                  : KvmVerdict::Valid;
    const KvmCatch unmatched = ex.kvm == KvmVerdict::Invalid ? KvmCatch::CatchesElsewhere
                               : ex.kvm == KvmVerdict::Valid ? KvmCatch::Misses
                                                             : KvmCatch::Unknown;

    // The processor's view under the dump's controls (the sdm profile with that context).
    for (const Row& row : rows_of(vmx::Profile::Sdm)) {
        const FieldSet missing = row.reads.missing_from(known);
        if (!missing.empty()) {
            ex.unjudged.push_back(
                {std::string(row.check->id), std::string(row.check->section), "sdm", missing});
            continue;
        }
        ++ex.judged;
        if (!vmx::in_scope(row.check->scope, state) || row.check->passes(state, ex.context))
            continue;
        Finding f{std::string(row.check->id),
                  std::string(row.check->section),
                  row.check->describe(state, ex.context),
                  "sdm",
                  unmatched,
                  kvm_counterparts_failing(*row.check, kvm_failing),
                  std::string(row.check->kvm_note)};
        if (!f.kvm_checks.empty()) f.kvm = KvmCatch::Catches;
        ex.failing.push_back(std::move(f));
    }

    // explain's own rows, for the rules the sdm table cannot check.
    for (const EntryCheck& row : entry_checks()) {
        const FieldSet missing = row.reads.missing_from(known);
        if (!missing.empty()) {
            ex.unjudged.push_back(
                {std::string(row.id), std::string(row.section), "entry", missing});
            continue;
        }
        ++ex.judged;
        if (row.passes(d)) continue;
        ex.failing.push_back({std::string(row.id),
                              std::string(row.section),
                              row.describe(d),
                              "entry",
                              unmatched,
                              {},
                              "KVM's guest_state_valid() does not look at this field"});
    }
    return ex;
}

} // namespace transit86::tools::explain
