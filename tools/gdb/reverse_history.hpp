// Snapshots of a GdbTarget for reverse execution (docs/gdb.md, "Reverse execution").
//
// The machine is deterministic (virtual time, no host input), so the state at any earlier
// position — the number of instructions retired since GDB attached — is the nearest earlier
// snapshot plus re-execution. A snapshot is the target's MachineSnapshot plus the RAM pages
// that differ from a base copy taken at the start; one is due every `interval` positions.
// Memory stays bounded: at most `max_snapshots`, and at most `max_bytes` of page copies and
// machine snapshots together; past either, every other snapshot of the older half goes
// (history stays reachable, re-execution from further back gets longer), and when two are
// left the oldest goes and the start of history moves forward.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "tools/gdb/gdb_target.hpp"

namespace transit86::gdb {

class ReverseHistory {
  public:
    static constexpr size_t kPageSize = 4096;
    struct Limits {
        uint64_t interval = 0; // 0: chosen from the RAM size (default_interval)
        size_t max_snapshots = 256;
        size_t max_bytes = size_t{256} << 20;
    };
    // The interval that keeps comparing RAM with the base below ~10% of the run time:
    // one instruction per 64 bytes of RAM, at least 4096.
    static uint64_t default_interval(std::span<const RamSlot> slots);

    ReverseHistory(GdbTarget& target, Limits limits);

    // Starts the history at `position` with the target's current state: the base copy and
    // the first snapshot. Drops any earlier history.
    void start(uint64_t position);
    // The state at `position` was just reached by a retired step: snapshots when due.
    void after_step(uint64_t position);
    // The first position after `position` at which after_step() takes a snapshot: a run of
    // many steps stops there.
    uint64_t next_due(uint64_t position) const {
        if (retry_ || snapshots_.empty()) return position + 1;
        return std::max(position + 1, snapshots_.back().position + interval_);
    }
    // The user changed the state at `position` (registers, memory): history after it no
    // longer follows, and the state at it is no longer what re-execution gives. Drops the
    // later snapshots and takes one here.
    void rewrite_at(uint64_t position);
    // Restores the latest snapshot at or before `position` (>= begin()); returns its position.
    uint64_t restore_at_or_before(uint64_t position);
    // Positions of the snapshots, oldest first, for reverse scans.
    std::vector<uint64_t> snapshot_positions() const;

    uint64_t begin() const { return snapshots_.empty() ? 0 : snapshots_.front().position; }
    uint64_t interval() const { return interval_; }
    size_t snapshot_count() const { return snapshots_.size(); }
    size_t bytes() const { return bytes_; }
    size_t base_bytes() const { return base_bytes_; }

  private:
    struct Snapshot {
        uint64_t position = 0;
        std::unique_ptr<MachineSnapshot> machine;
        // Per writable slot: page index -> the page, for pages that differ from the base.
        std::vector<std::map<size_t, std::vector<uint8_t>>> pages;
        size_t bytes = 0;
    };
    bool take(uint64_t position);
    void thin();

    GdbTarget& target_;
    Limits limits_;
    uint64_t interval_ = 0;
    // A copy of each writable slot (size 0 for read-only ones), page by page: a page that was
    // all zeros has no copy (nullptr), so a large, mostly untouched RAM costs no memory, and
    // starting a history costs one allocation per page that holds something.
    struct Base {
        std::vector<std::unique_ptr<uint8_t[]>> pages;
        size_t size = 0;
        const uint8_t* page(size_t index) const;
    };
    std::vector<Base> base_;
    std::deque<Snapshot> snapshots_;
    bool retry_ = false; // the last save was refused: take the next boundary
    size_t bytes_ = 0;
    size_t base_bytes_ = 0;
};

} // namespace transit86::gdb
