// The table of a direct-mapped cache (the decode cache, the block engine's blocks): allocated
// once with the emulator and left uninitialized — its owner keeps which entries hold something
// in a bitmap, so an emulator that runs a few instructions (the cold window) pays for no more
// than that, and run() never allocates (docs/embedding.md).
//
// Entries are spread over the whole table by their hash, so a boot that touched the table's
// 4 KiB pages one by one took a page fault for each (~1,400 for the block table in a GRUB
// boot, 3 % of its wall time in this VM). The table starts at a 2 MiB boundary of its memory
// and the kernel is asked to back it with huge pages (MADV_HUGEPAGE).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <sys/mman.h>

namespace transit86::emu {

template <class Entry, size_t kEntries>
class HugePageTable {
  public:
    static constexpr size_t kBytes = kEntries * sizeof(Entry);

    HugePageTable() : memory_(std::malloc(kBytes + kHugePage)) {
        if (!memory_) throw std::bad_alloc();
        const auto first =
            (reinterpret_cast<uintptr_t>(memory_.get()) + kHugePage - 1) & ~(kHugePage - 1);
        entries_ = reinterpret_cast<Entry*>(first);
#ifdef MADV_HUGEPAGE
        // A hint, given once per address: emulators made one after another (BM_ColdWindow)
        // get the same memory back from malloc, with the pages it already has.
        static std::atomic<uintptr_t> advised{0};
        if (advised.exchange(first, std::memory_order_relaxed) != first)
            madvise(entries_, kBytes, MADV_HUGEPAGE);
#endif
    }

    Entry& operator[](size_t i) {
        return entries_[i];
    }
    const Entry& operator[](size_t i) const {
        return entries_[i];
    }

  private:
    static constexpr size_t kHugePage = size_t{2} << 20;
    struct FreeDeleter {
        void operator()(void* p) const { std::free(p); }
    };
    std::unique_ptr<void, FreeDeleter> memory_;
    Entry* entries_ = nullptr;
};

} // namespace transit86::emu
