// What the harness reported for each case, and the per-field comparison of two runs
// (docs/differential.md, "Random page tables against QEMU").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "diff/paging_walks/case_table.hpp"

namespace transit86::diff::paging {

inline constexpr uint32_t kNoFault = 0x100, kSkipped = 0x1FE;

struct Slot {
    uint32_t vector = kNoFault; // kNoFault, kSkipped (a fetch whose probe found no RET), or 0-31
    uint32_t error_code = 0;
    uint32_t cr2 = 0; // #PF only
    uint32_t value = 0;
};

struct CaseReport {
    uint32_t index = 0;
    Slot setup;            // a fault while turning paging on (MOV to CR0/CR3)
    std::vector<Slot> ops; // one per op
    std::vector<uint64_t> watch;
    uint32_t digest = 0;       // of the scratch pages, watched entries zeroed
    std::vector<uint8_t> dump; // the scratch pages, when the case asked (replay)
    std::vector<uint8_t> raw;  // the record's bytes (without the dump)
};

// Splits a port-0xE9 stream into one report per case; false with `error` set when it is cut
// short or out of step with the table.
bool parse_stream(std::span<const uint8_t> stream, std::span<const Case> cases,
                  std::vector<CaseReport>& out, std::string& error);

enum class Verdict : uint8_t { Passed, Failed, Explained };

struct Comparison {
    Verdict verdict = Verdict::Passed;
    std::string rule;                      // Explained: the known-difference id
    std::vector<std::string> fields;       // what differed, e.g. "op3.error"
    std::string report;                    // per-field text for the failures printed
    bool whole_case = false;               // Explained by a rule of the case (Case::rules)
    std::vector<size_t> accessed_on_fault; // watch indexes explained by that rule
};

// transit86 (`ours`) against the oracle's report of the same case.
Comparison compare(const Case& c, const CaseReport& ours, const CaseReport& oracle);

// CRC32 of a report with the oracle departures that have a fixed SDM reading undone (a
// reserved-bit #PF has P = 1; bit 5 of a PAE PDPTE is 0) and the A flag of the listed watch
// indexes masked: what the golden file stores for QEMU and what transit86's run must match.
uint32_t normalized_crc(const Case& c, const CaseReport& r, std::span<const size_t> masked);

} // namespace transit86::diff::paging
