#include "tools/gdb/reverse_history.hpp"

#include <algorithm>
#include <cstring>

namespace transit86::gdb {

namespace {

constexpr uint8_t kZeroPage[ReverseHistory::kPageSize] = {};

} // namespace

const uint8_t* ReverseHistory::Base::page(size_t index) const {
    return pages[index] ? pages[index].get() : kZeroPage;
}

uint64_t ReverseHistory::default_interval(std::span<const RamSlot> slots) {
    uint64_t ram = 0;
    for (const RamSlot& s : slots)
        ram += s.size;
    return std::max<uint64_t>(4096, ram / 64);
}

ReverseHistory::ReverseHistory(GdbTarget& target, Limits limits)
    : target_(target), limits_(limits) {
    limits_.max_snapshots = std::max<size_t>(limits_.max_snapshots, 2);
    interval_ = limits_.interval ? limits_.interval : default_interval(target.ram_slots());
}

void ReverseHistory::start(uint64_t position) {
    snapshots_.clear();
    bytes_ = 0;
    base_.clear();
    base_bytes_ = 0;
    for (const RamSlot& slot : target_.ram_slots()) {
        Base& base = base_.emplace_back();
        if (slot.read_only || slot.host == nullptr || slot.size == 0) continue;
        base.size = slot.size;
        base.pages.resize((slot.size + kPageSize - 1) / kPageSize);
        for (size_t off = 0; off < slot.size; off += kPageSize) {
            const size_t n = std::min<size_t>(kPageSize, slot.size - off);
            if (std::memcmp(slot.host + off, kZeroPage, n) == 0) continue;
            auto& page = base.pages[off / kPageSize];
            page = std::make_unique_for_overwrite<uint8_t[]>(kPageSize);
            std::memcpy(page.get(), slot.host + off, n);
            base_bytes_ += kPageSize;
        }
    }
    take(position);
}

void ReverseHistory::after_step(uint64_t position) {
    // Re-executed positions are behind the newest snapshot and never snapshotted again; a
    // save the target refused (a completion pending) is retried at the next boundary.
    if (!retry_ && !snapshots_.empty() && position < snapshots_.back().position + interval_) return;
    if (!snapshots_.empty() && position <= snapshots_.back().position) return;
    take(position);
}

void ReverseHistory::rewrite_at(uint64_t position) {
    while (!snapshots_.empty() && snapshots_.back().position >= position) {
        bytes_ -= snapshots_.back().bytes;
        snapshots_.pop_back();
    }
    take(position); // refused: the next boundary takes it (after_step)
}

bool ReverseHistory::take(uint64_t position) {
    Snapshot snap;
    snap.position = position;
    snap.machine = target_.save_machine();
    retry_ = !snap.machine;
    if (!snap.machine) return false;
    snap.bytes = snap.machine->bytes();
    const auto slots = target_.ram_slots();
    snap.pages.resize(slots.size());
    for (size_t i = 0; i < slots.size() && i < base_.size(); ++i) {
        const Base& base = base_[i];
        for (size_t off = 0; off < base.size; off += kPageSize) {
            const size_t n = std::min(kPageSize, base.size - off);
            if (std::memcmp(slots[i].host + off, base.page(off / kPageSize), n) == 0) continue;
            snap.pages[i].emplace(off / kPageSize, std::vector<uint8_t>(slots[i].host + off,
                                                                        slots[i].host + off + n));
            snap.bytes += n;
        }
    }
    bytes_ += snap.bytes;
    snapshots_.push_back(std::move(snap));
    thin();
    return true;
}

void ReverseHistory::thin() {
    while (snapshots_.size() > limits_.max_snapshots ||
           (bytes_ > limits_.max_bytes && snapshots_.size() > 1)) {
        if (snapshots_.size() <= 2) { // only the start and the newest: the start goes
            bytes_ -= snapshots_.front().bytes;
            snapshots_.pop_front();
            continue;
        }
        // Every other snapshot of the older half, keeping the oldest: recent history stays
        // dense, older history gets sparser. With three, the older "half" is the oldest and
        // the middle one, and the middle one goes (without the floor of 2 nothing would, and
        // three snapshots over the bytes bound would loop here for ever).
        const size_t half = std::max<size_t>(snapshots_.size() / 2, 2);
        std::deque<Snapshot> kept;
        for (size_t i = 0; i < snapshots_.size(); ++i) {
            if (i > 0 && i < half && i % 2 == 1) {
                bytes_ -= snapshots_[i].bytes;
                continue;
            }
            kept.push_back(std::move(snapshots_[i]));
        }
        snapshots_ = std::move(kept);
    }
}

uint64_t ReverseHistory::restore_at_or_before(uint64_t position) {
    auto it = std::upper_bound(snapshots_.begin(), snapshots_.end(), position,
                               [](uint64_t p, const Snapshot& s) { return p < s.position; });
    if (it == snapshots_.begin()) return ~uint64_t{0}; // before the start (callers check begin)
    const Snapshot& snap = *std::prev(it);
    const auto slots = target_.ram_slots();
    for (size_t i = 0; i < slots.size() && i < base_.size(); ++i) {
        const Base& base = base_[i];
        for (size_t off = 0; off < base.size; off += kPageSize) {
            const size_t n = std::min(kPageSize, base.size - off);
            const auto page = snap.pages[i].find(off / kPageSize);
            const uint8_t* want =
                page != snap.pages[i].end() ? page->second.data() : base.page(off / kPageSize);
            if (std::memcmp(slots[i].host + off, want, n) != 0)
                std::memcpy(slots[i].host + off, want, n);
        }
    }
    target_.restore_machine(*snap.machine);
    return snap.position;
}

std::vector<uint64_t> ReverseHistory::snapshot_positions() const {
    std::vector<uint64_t> out;
    for (const Snapshot& s : snapshots_)
        out.push_back(s.position);
    return out;
}

} // namespace transit86::gdb
