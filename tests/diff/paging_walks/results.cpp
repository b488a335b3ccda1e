// Parsing the harness's records and comparing two runs field by field (results.hpp).
#include "diff/paging_walks/results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace transit86::diff::paging {

namespace {

constexpr uint32_t kRecordMagic = 0x52574750; // "PGWR"
constexpr uint32_t kEndMagic = 0x45574750;    // "PGWE"
constexpr uint32_t kDumpBytes = kScratchPages * 4096;

uint32_t get32(const uint8_t* at) {
    uint32_t v = 0;
    std::memcpy(&v, at, 4);
    return v;
}

Slot get_slot(const uint8_t* at) {
    return Slot{get32(at), get32(at + 4), get32(at + 8), get32(at + 12)};
}

std::string slot_text(const Slot& s) {
    if (s.vector == kNoFault) return fmt::format("ok value {:#x}", s.value);
    if (s.vector == kSkipped) return "skipped (no RET at the target)";
    if (s.vector == 14) return fmt::format("#PF error {:#x} CR2 {:#010x}", s.error_code, s.cr2);
    return fmt::format("vector {} error {:#x}", s.vector, s.error_code);
}

} // namespace

bool parse_stream(std::span<const uint8_t> stream, std::span<const Case> cases,
                  std::vector<CaseReport>& out, std::string& error) {
    size_t at = 0;
    out.clear();
    for (const Case& c : cases) {
        CaseReport r;
        if (c.dump) {
            if (at + kDumpBytes > stream.size()) break;
            r.dump.assign(stream.begin() + at, stream.begin() + at + kDumpBytes);
            at += kDumpBytes;
        }
        const uint32_t size = result_size(c);
        if (at + size > stream.size()) break;
        const uint8_t* p = stream.data() + at;
        if (get32(p) != kRecordMagic || get32(p + 4) != c.index) {
            error = fmt::format("record of case {} out of step at byte {}", c.index, at);
            return false;
        }
        r.index = c.index;
        r.setup = get_slot(p + 8);
        for (size_t i = 0; i < c.ops.size(); ++i)
            r.ops.push_back(get_slot(p + 24 + 16 * i));
        const uint8_t* w = p + 24 + 16 * c.ops.size();
        for (size_t i = 0; i < c.watch.size(); ++i)
            r.watch.push_back(get32(w + 8 * i) | (uint64_t{get32(w + 8 * i + 4)} << 32));
        r.digest = get32(w + 8 * c.watch.size());
        r.raw.assign(p, p + size);
        at += size;
        out.push_back(std::move(r));
    }
    if (out.size() != cases.size()) {
        error = fmt::format("the stream ends after {} of {} cases", out.size(), cases.size());
        return false;
    }
    if (at + 8 > stream.size() || get32(stream.data() + at) != kEndMagic) {
        error = "the stream has no end marker";
        return false;
    }
    return true;
}

Comparison compare(const Case& c, const CaseReport& ours, const CaseReport& oracle) {
    Comparison out;
    std::vector<std::string> field_rules; // one per differing field; empty: unexplained
    auto differ = [&](std::string field, const std::string& a, const std::string& b,
                      const char* rule) {
        out.report += fmt::format("    {:<22} transit86 {:<36} oracle {}{}\n", field, a, b,
                                  rule != nullptr ? fmt::format(" ({})", rule) : "");
        out.fields.push_back(std::move(field));
        field_rules.push_back(rule != nullptr ? rule : "");
    };
    bool page_fault = false;
    for (const Slot& s : oracle.ops)
        page_fault |= s.vector == 14;
    auto compare_slot = [&](const std::string& name, const Slot& a, const Slot& b) {
        if (a.vector == b.vector && a.error_code == b.error_code && a.cr2 == b.cr2 &&
            a.value == b.value)
            return;
        // QEMU 7.2 reports a reserved-bit #PF with P = 0 in the error code.
        const bool rsvd_p = a.vector == 14 && b.vector == 14 && a.cr2 == b.cr2 &&
                            a.value == b.value && (b.error_code & 8) &&
                            a.error_code == (b.error_code | 1);
        differ(name, slot_text(a), slot_text(b), rsvd_p ? "qemu-rsvd-fault-p-clear" : nullptr);
    };
    compare_slot("setup", ours.setup, oracle.setup);
    for (size_t i = 0; i < c.ops.size(); ++i)
        compare_slot(fmt::format("op{}.{}", i, to_string(c.ops[i].kind)), ours.ops[i],
                     oracle.ops[i]);
    for (size_t i = 0; i < c.watch.size(); ++i) {
        const uint64_t a = ours.watch[i], b = oracle.watch[i];
        if (a == b) continue;
        const char* rule = nullptr;
        if ((a ^ b) == 0x20 && (b & 0x20)) {
            const bool pdpte = c.pae() && c.watch[i] >= kPdpt && c.watch[i] < kPdpt + 32;
            // QEMU 7.2 sets bit 5 (reserved in a PAE PDPTE) when a walk uses the PDPTE, and
            // A in a directory entry whose walk then faults.
            if (pdpte)
                rule = "qemu-pdpte-accessed";
            else if (page_fault && (!(b & 0x80) || c.mode == PagingMode::Bits32))
                rule = "unicorn-accessed-on-fault", out.accessed_on_fault.push_back(i);
        }
        differ(fmt::format("entry[{:#x}]", c.watch[i]), fmt::format("{:#x}", a),
               fmt::format("{:#x}", b), rule);
    }
    if (ours.digest != oracle.digest)
        differ("scratch digest", fmt::format("{:#010x}", ours.digest),
               fmt::format("{:#010x}", oracle.digest), nullptr);
    if (out.fields.empty()) return out;
    const bool all_explained = std::all_of(field_rules.begin(), field_rules.end(),
                                           [](const std::string& r) { return !r.empty(); });
    if (!c.rules.empty()) {
        out.verdict = Verdict::Explained;
        out.rule = c.rules.front(); // the case set bits where QEMU departs: all bets are off
        out.whole_case = true;
    } else if (all_explained) {
        out.verdict = Verdict::Explained;
        std::vector<std::string> rules = field_rules;
        std::sort(rules.begin(), rules.end());
        rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
        for (const auto& r : rules)
            out.rule += (out.rule.empty() ? "" : "+") + r;
    } else {
        out.verdict = Verdict::Failed;
    }
    return out;
}

uint32_t normalized_crc(const Case& c, const CaseReport& r, std::span<const size_t> masked) {
    std::vector<uint8_t> bytes;
    auto put = [&](uint64_t v, int size) {
        for (int i = 0; i < size; ++i)
            bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    auto put_slot = [&](const Slot& s) {
        const bool rsvd_fault = s.vector == 14 && (s.error_code & 8);
        put(s.vector, 4), put(rsvd_fault ? s.error_code | 1 : s.error_code, 4), put(s.cr2, 4),
            put(s.value, 4);
    };
    put(r.index, 4);
    put_slot(r.setup);
    for (const Slot& s : r.ops)
        put_slot(s);
    for (size_t i = 0; i < r.watch.size(); ++i) {
        uint64_t w = r.watch[i];
        const bool pdpte = c.pae() && c.watch[i] >= kPdpt && c.watch[i] < kPdpt + 32;
        if (pdpte || std::find(masked.begin(), masked.end(), i) != masked.end())
            w &= ~uint64_t{0x20};
        put(w, 8);
    }
    put(r.digest, 4);
    return crc32(bytes);
}

} // namespace transit86::diff::paging
