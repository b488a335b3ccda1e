// The process-wide lock of the locked accesses no host atomic covers (locked_access.hpp).
#include "emu/cpu/locked_access.hpp"

#include <thread>

namespace transit86::emu {

namespace {

// One for the whole process: every Emulator (and C handle) over shared RAM takes the same one.
std::atomic_flag split_lock_taken = ATOMIC_FLAG_INIT;

} // namespace

SplitLock::SplitLock() noexcept {
    while (split_lock_taken.test_and_set(std::memory_order_acquire))
        while (split_lock_taken.test(std::memory_order_relaxed))
            std::this_thread::yield();
}

SplitLock::~SplitLock() {
    split_lock_taken.clear(std::memory_order_release);
}

} // namespace transit86::emu
