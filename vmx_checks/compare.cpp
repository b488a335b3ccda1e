// compare_profiles(): where KVM's verdict (profile kvm) and the processor's (profile sdm) part,
// and why. Each kvm row names the SDM rule it approximates; a row that fails in one profile
// while none of its counterparts fails in the other is a divergence, explained by the row's
// kvm_note.
#include "table.hpp"

#include <algorithm>
#include <array>

namespace transit86::vmx {
namespace {

// One kvm row and one sdm row that test the same rule (a kvm row may approximate several sdm
// rows and the other way round).
struct Counterpart {
    std::string_view kvm;
    std::string_view sdm;
};

// clang-format off
constexpr std::array kCounterparts = std::to_array<Counterpart>({
    // rmode_segment_valid: KVM's vm86 requirements are the SDM's virtual-8086 rows.
    {"rmode.cs.base", "sdm.cs.base.v86"}, {"rmode.cs.limit", "sdm.cs.limit.v86"},
    {"rmode.cs.usable", "sdm.cs.ar.v86"}, {"rmode.cs.s", "sdm.cs.ar.v86"},
    {"rmode.cs.s", "sdm.cs.s"}, {"rmode.cs.avl-l-db-g", "sdm.cs.ar.v86"},
    {"rmode.ss.base", "sdm.ss.base.v86"}, {"rmode.ss.limit", "sdm.ss.limit.v86"},
    {"rmode.ss.usable", "sdm.ss.ar.v86"}, {"rmode.ss.type", "sdm.ss.ar.v86"},
    {"rmode.ss.s", "sdm.ss.ar.v86"}, {"rmode.ss.s", "sdm.ss.s"},
    {"rmode.ss.avl-l-db-g", "sdm.ss.ar.v86"},
    {"rmode.ds.base", "sdm.ds.base.v86"}, {"rmode.ds.limit", "sdm.ds.limit.v86"},
    {"rmode.ds.usable", "sdm.ds.ar.v86"}, {"rmode.ds.type", "sdm.ds.ar.v86"},
    {"rmode.ds.s", "sdm.ds.ar.v86"}, {"rmode.ds.s", "sdm.ds.s"},
    {"rmode.ds.avl-l-db-g", "sdm.ds.ar.v86"},
    {"rmode.es.base", "sdm.es.base.v86"}, {"rmode.es.limit", "sdm.es.limit.v86"},
    {"rmode.es.usable", "sdm.es.ar.v86"}, {"rmode.es.type", "sdm.es.ar.v86"},
    {"rmode.es.s", "sdm.es.ar.v86"}, {"rmode.es.s", "sdm.es.s"},
    {"rmode.es.avl-l-db-g", "sdm.es.ar.v86"},
    {"rmode.fs.base", "sdm.fs.base.v86"}, {"rmode.fs.limit", "sdm.fs.limit.v86"},
    {"rmode.fs.usable", "sdm.fs.ar.v86"}, {"rmode.fs.type", "sdm.fs.ar.v86"},
    {"rmode.fs.s", "sdm.fs.ar.v86"}, {"rmode.fs.s", "sdm.fs.s"},
    {"rmode.fs.avl-l-db-g", "sdm.fs.ar.v86"},
    {"rmode.gs.base", "sdm.gs.base.v86"}, {"rmode.gs.limit", "sdm.gs.limit.v86"},
    {"rmode.gs.usable", "sdm.gs.ar.v86"}, {"rmode.gs.type", "sdm.gs.ar.v86"},
    {"rmode.gs.s", "sdm.gs.ar.v86"}, {"rmode.gs.s", "sdm.gs.s"},
    {"rmode.gs.avl-l-db-g", "sdm.gs.ar.v86"},
    // cs_ss_rpl_check, code_segment_valid (cs.usable has no counterpart: the SDM ignores
    // CS's unusable bit). KVM's CS.DPL-versus-CS.RPL test stands for the SDM's three-way rule
    // CS.DPL ~ SS.DPL = SS.RPL = CS.RPL.
    {"ss.rpl-eq-cs.rpl", "sdm.ss.rpl-eq-cs.rpl"},
    {"cs.type", "sdm.cs.type"}, {"cs.s", "sdm.cs.s"},
    {"cs.dpl-eq-rpl", "sdm.cs.dpl-eq-ss.dpl"}, {"cs.dpl-eq-rpl", "sdm.ss.dpl-eq-rpl"},
    {"cs.dpl-eq-rpl", "sdm.ss.rpl-eq-cs.rpl"},
    {"cs.dpl-le-rpl", "sdm.cs.dpl-le-ss.dpl"}, {"cs.dpl-le-rpl", "sdm.ss.dpl-eq-rpl"},
    {"cs.dpl-le-rpl", "sdm.ss.rpl-eq-cs.rpl"},
    // stack_segment_valid, data_segment_valid
    {"ss.type", "sdm.ss.type"}, {"ss.s", "sdm.ss.s"}, {"ss.dpl-eq-rpl", "sdm.ss.dpl-eq-rpl"},
    {"ds.s", "sdm.ds.s"}, {"ds.dpl-ge-rpl", "sdm.ds.dpl-ge-rpl"},
    {"es.s", "sdm.es.s"}, {"es.dpl-ge-rpl", "sdm.es.dpl-ge-rpl"},
    {"fs.s", "sdm.fs.s"}, {"fs.dpl-ge-rpl", "sdm.fs.dpl-ge-rpl"},
    {"gs.s", "sdm.gs.s"}, {"gs.dpl-ge-rpl", "sdm.gs.dpl-ge-rpl"},
    // tr_valid, ldtr_valid
    {"tr.usable", "sdm.tr.usable"}, {"tr.ti", "sdm.tr.ti"}, {"tr.type", "sdm.tr.type"},
    {"ldtr.ti", "sdm.ldtr.ti"}, {"ldtr.type", "sdm.ldtr.type"},
});
// clang-format on

bool is_kvm_row(const Check& row) noexcept {
    return row.id.substr(0, 4) != "sdm.";
}

// The ids of the failing rows of one profile's table, by row index.
std::vector<bool> failing_rows(const CpuState& s, Profile profile, const VmxContext& context) {
    const std::span<const Check> rows = checks(profile);
    std::vector<bool> failing(rows.size());
    for (const Violation& v : evaluate(s, profile, context))
        failing[static_cast<std::size_t>(v.check - rows.data())] = true;
    return failing;
}

bool fails(Profile profile, std::string_view id, const std::vector<bool>& failing) {
    const Check* row = find_check(profile, id);
    return row != nullptr && failing[static_cast<std::size_t>(row - checks(profile).data())];
}

// The failing rows of `profile` none of whose counterparts fails in `other`.
void add_divergences(const CpuState& s, const VmxContext& context, Profile profile, Profile other,
                     const std::vector<bool>& failing, const std::vector<bool>& other_failing,
                     std::vector<Divergence>& out) {
    const std::span<const Check> rows = checks(profile);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (!failing[i]) continue;
        const std::vector<std::string_view> peers = counterparts(rows[i]);
        const bool agreed = std::any_of(peers.begin(), peers.end(), [&](std::string_view id) {
            return fails(other, id, other_failing);
        });
        if (agreed) continue;
        const VmxContext ctx = effective_context(profile, context);
        out.push_back({profile, &rows[i], rows[i].describe(s, ctx), rows[i].kvm_note});
    }
}

} // namespace

std::vector<std::string_view> counterparts(const Check& row) {
    const bool kvm = is_kvm_row(row);
    std::vector<std::string_view> out;
    for (const Counterpart& pair : kCounterparts)
        if ((kvm ? pair.kvm : pair.sdm) == row.id) out.push_back(kvm ? pair.sdm : pair.kvm);
    return out;
}

std::vector<Divergence> compare_profiles(const CpuState& state, const VmxContext& context) {
    const std::vector<bool> kvm = failing_rows(state, Profile::Kvm, context);
    const std::vector<bool> sdm = failing_rows(state, Profile::Sdm, context);
    std::vector<Divergence> out;
    add_divergences(state, context, Profile::Kvm, Profile::Sdm, kvm, sdm, out);
    add_divergences(state, context, Profile::Sdm, Profile::Kvm, sdm, kvm, out);
    return out;
}

} // namespace transit86::vmx
