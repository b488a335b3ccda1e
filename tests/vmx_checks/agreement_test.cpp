// Randomised, deterministic cross-checks over many states:
//  - the fast path (is_valid, first_failure) agrees with the report (evaluate) in every profile;
//  - the KVM rows, taken together, decide exactly what a second reading of KVM's
//    __vmx_guest_state_valid() decides, and the first failing row belongs to the KVM function
//    where that reading stops.
#include "state_generator.hpp"

#include <cstddef>
#include <map>

namespace transit86::vmx::test {
namespace {

TEST(Agreement, FastPathAgreesWithReportInEveryProfile) {
    StateGenerator gen(kSeed);
    std::map<Profile, std::size_t> valid_count;
    for (std::size_t i = 0; i < kStates; ++i) {
        const CpuState s = gen.next();
        for (Profile p : {Profile::Kvm, Profile::Sdm, Profile::Unrestricted}) {
            const std::vector<Violation> report = evaluate(s, p);
            const Check* first = first_failure(s, p);
            ASSERT_EQ(is_valid(s, p), report.empty()) << to_string(p) << " state " << i;
            ASSERT_EQ(first, report.empty() ? nullptr : report.front().check)
                << to_string(p) << " state " << i;
            const std::span<const Check> rows = checks(p);
            for (std::size_t v = 0; v < report.size(); ++v) {
                ASSERT_GE(report[v].check, rows.data());
                ASSERT_LT(report[v].check, rows.data() + rows.size());
                ASSERT_FALSE(report[v].message.empty()) << report[v].check->id;
                if (v > 0) {
                    ASSERT_LT(report[v - 1].check, report[v].check) << "table order";
                }
            }
            valid_count[p] += report.empty() ? 1 : 0;
        }
    }
    // A test that cannot fail proves nothing: the sample must hold both outcomes in every
    // profile.
    for (Profile p : {Profile::Kvm, Profile::Sdm, Profile::Unrestricted}) {
        EXPECT_GT(valid_count[p], kStates / 50) << to_string(p);
        EXPECT_LT(valid_count[p], kStates - kStates / 50) << to_string(p);
    }
}

// --- A second reading of KVM, shaped like arch/x86/kvm/vmx/vmx.c: kvm_segment fields taken
// from the VMCS access rights by vmx_get_segment() (present := !unusable), rebuilt by
// vmx_segment_access_rights(), one function per KVM function, early returns. Each returns
// true when valid; guest_state_valid() returns the name of the function that refused.

struct KvmSegment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint32_t type, s, dpl, present, avl, l, db, g, unusable;
};

KvmSegment get_segment(const SegmentCache& c) {
    const uint32_t a = c.access_rights;
    const uint32_t unusable = (a >> 16) & 1;
    return {.base = c.base,
            .limit = c.limit,
            .selector = c.selector,
            .type = a & 15,
            .s = (a >> 4) & 1,
            .dpl = (a >> 5) & 3,
            .present = unusable ^ 1, // "var->present = !var->unusable"
            .avl = (a >> 12) & 1,
            .l = (a >> 13) & 1,
            .db = (a >> 14) & 1,
            .g = (a >> 15) & 1,
            .unusable = unusable};
}

uint32_t access_rights(const KvmSegment& v) {
    return (v.type & 15) | (v.s & 1) << 4 | (v.dpl & 3) << 5 | (v.present & 1) << 7 |
           (v.avl & 1) << 12 | (v.l & 1) << 13 | (v.db & 1) << 14 | (v.g & 1) << 15 |
           static_cast<uint32_t>(v.unusable != 0 || v.present == 0) << 16;
}

bool rmode_segment_valid(const CpuState& st, Seg seg) {
    KvmSegment var = get_segment(st[seg]);
    var.dpl = 3;
    if (seg == Seg::CS) var.type = 3;
    const uint32_t a = access_rights(var);
    if (var.base != static_cast<uint64_t>(var.selector << 4)) return false;
    if (var.limit != 0xFFFF) return false;
    if (a != 0xF3) return false;
    return true;
}

bool code_segment_valid(const CpuState& st) {
    const KvmSegment cs = get_segment(st[Seg::CS]);
    const uint32_t cs_rpl = cs.selector & 3u;
    if (cs.unusable) return false;
    if (~cs.type & (8 | 1)) return false;
    if (!cs.s) return false;
    if (cs.type & 4) {
        if (cs.dpl > cs_rpl) return false;
    } else {
        if (cs.dpl != cs_rpl) return false;
    }
    if (!cs.present) return false;
    return true;
}

bool stack_segment_valid(const CpuState& st) {
    const KvmSegment ss = get_segment(st[Seg::SS]);
    if (ss.unusable) return true;
    if (ss.type != 3 && ss.type != 7) return false;
    if (!ss.s) return false;
    if (ss.dpl != (ss.selector & 3u)) return false;
    if (!ss.present) return false;
    return true;
}

bool data_segment_valid(const CpuState& st, Seg seg) {
    const KvmSegment var = get_segment(st[seg]);
    if (var.unusable) return true;
    if (!var.s) return false;
    if (!var.present) return false;
    if (~var.type & (8 | 4)) {
        if (var.dpl < (var.selector & 3u)) return false;
    }
    return true;
}

bool tr_valid(const CpuState& st) {
    const KvmSegment tr = get_segment(st.tr);
    if (tr.unusable) return false;
    if (tr.selector & 4) return false;
    if (tr.type != 3 && tr.type != 11) return false;
    if (!tr.present) return false;
    return true;
}

bool ldtr_valid(const CpuState& st) {
    const KvmSegment ldtr = get_segment(st.ldtr);
    if (ldtr.unusable) return true;
    if (ldtr.selector & 4) return false;
    if (ldtr.type != 2) return false;
    if (!ldtr.present) return false;
    return true;
}

bool cs_ss_rpl_check(const CpuState& st) {
    return (st[Seg::CS].selector & 3) == (st[Seg::SS].selector & 3);
}

// "" when valid, else the refusing function and, where KVM passes one, its segment.
std::string guest_state_valid(const CpuState& st) {
    const bool protmode = (st.cr0 & cr0::PE) != 0;
    if (!protmode || (st.eflags & flags::VM) != 0) {
        for (const auto& [seg, name] : kKvmSegOrder)
            if (!rmode_segment_valid(st, seg)) return "rmode_segment_valid " + std::string(name);
        return "";
    }
    if (!cs_ss_rpl_check(st)) return "cs_ss_rpl_check";
    if (!code_segment_valid(st)) return "code_segment_valid";
    if (!stack_segment_valid(st)) return "stack_segment_valid";
    for (const auto& [seg, name] : kDataSegs)
        if (!data_segment_valid(st, seg)) return "data_segment_valid " + std::string(name);
    if (!tr_valid(st)) return "tr_valid";
    if (!ldtr_valid(st)) return "ldtr_valid";
    return "";
}

// The same naming for a table row: its origin without "KVM ", plus the register for the two
// functions KVM calls once per register.
std::string kvm_function_of(const Check& row) {
    std::string fn(row.origin.substr(4));
    if (fn == "rmode_segment_valid") return fn + " " + std::string(row.id.substr(6, 2));
    if (fn == "data_segment_valid") return fn + " " + std::string(row.id.substr(0, 2));
    return fn;
}

TEST(Agreement, KvmRowsMatchASecondReadingOfKvm) {
    StateGenerator gen(kSeed + 1);
    for (std::size_t i = 0; i < kStates; ++i) {
        const CpuState s = gen.next();
        const std::string refused_by = guest_state_valid(s);
        ASSERT_EQ(is_valid(s, Profile::Kvm), refused_by.empty())
            << "state " << i << ", reference: " << refused_by << report(s, Profile::Kvm);
        if (const Check* first = first_failure(s, Profile::Kvm)) {
            ASSERT_EQ(kvm_function_of(*first), refused_by) << "state " << i;
        }
    }
}

// Every KVM row, in its scope, both passes and fails somewhere in the sample, so the two tests
// above reach every predicate.
TEST(Agreement, SampleReachesEveryKvmRow) {
    const std::span<const Check> rows = checks(Profile::Kvm);
    std::vector<int> passed(rows.size()), failed(rows.size());
    StateGenerator gen(kSeed + 2);
    for (std::size_t i = 0; i < kStates; ++i) {
        const CpuState s = gen.next();
        for (std::size_t r = 0; r < rows.size(); ++r) {
            if (!in_scope(rows[r].scope, s)) continue;
            (rows[r].passes(s, VmxContext{}) ? passed : failed)[r] = 1;
        }
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
        EXPECT_TRUE(passed[r]) << rows[r].id << " never passed";
        EXPECT_TRUE(failed[r]) << rows[r].id << " never failed";
    }
}

} // namespace
} // namespace transit86::vmx::test
