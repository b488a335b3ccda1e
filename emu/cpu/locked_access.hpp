// Locked read-modify-writes on guest RAM shared with other vCPUs: the LOCK prefix and XCHG with
// a memory operand (SDM Vol. 3A 9.1.2.2: a locked instruction's read-modify-write is atomic
// with respect to every other processor; SDM XCHG: with memory the lock is implicit).
//
// Other vCPUs run on other host threads — other Emulators over the same RAM slots, or KVM vCPUs
// running natively — so the update is a host compare-exchange on the RAM slot's host memory:
// read the word, compute the new value with the interpreter's own ALU, compare-exchange, and on
// a lost race compute again from the value found. The flags and registers then come from the
// value the successful exchange replaced, exactly as if nothing had raced.
//
//   naturally aligned 1/2/4/8 bytes      compare-exchange on the value itself
//   misaligned inside an aligned 8-byte  compare-exchange on that 8-byte word; its other bytes
//   word                                 are written back as found, in the same atomic step
//   anything else: a split lock (across  the ordinary read then write, under one process-wide
//   8 bytes or slots), MMIO, a read-     SplitLock: atomic against other split locks of this
//   only slot, a misaligned host buffer  process only (not against a CAS on an overlapping word,
//                                        nor KVM vCPUs); MMIO exits to the host as usual
//
// docs/embedding.md ("SMP guests") says what a VMM can rely on.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>

#include "emu/cpu/cpu.hpp"
#include "emu/cpu/debug.hpp"

namespace transit86::emu {

static_assert(std::endian::native == std::endian::little,
              "guest memory is little-endian: a value inside a wider word is found by byte offset");

// Holds the process-wide lock of the accesses no host atomic covers, for its lifetime. A spin
// lock on an atomic flag (yielding while contended): it neither throws nor allocates, as run()
// must not, and it is held only while the emulator touches RAM, never across an exit.
class SplitLock {
  public:
    SplitLock() noexcept;
    ~SplitLock();
    SplitLock(const SplitLock&) = delete;
    SplitLock& operator=(const SplitLock&) = delete;
};

namespace detail {

// Compare-exchange loop on the aligned Word at `word_host`, replacing the T at byte `offset`
// with update(T found there). Returns the T the successful exchange replaced.
template <class T, class Word, class Update>
T compare_exchange_loop(uint8_t* word_host, uint32_t offset, Update& update) {
    std::atomic_ref<Word> word(*reinterpret_cast<Word*>(word_host));
    Word expected = word.load(std::memory_order_relaxed);
    for (;;) {
        T found;
        std::memcpy(&found, reinterpret_cast<const uint8_t*>(&expected) + offset, sizeof(T));
        const T value = update(found);
        Word desired = expected;
        std::memcpy(reinterpret_cast<uint8_t*>(&desired) + offset, &value, sizeof(T));
        // seq_cst: a locked instruction orders all loads and stores around it (SDM Vol. 3A
        // 9.2.3.8, "Locked Instructions Have a Total Order").
        if (word.compare_exchange_weak(expected, desired, std::memory_order_seq_cst,
                                       std::memory_order_relaxed))
            return found;
    }
}

} // namespace detail

// lock op m, ... : replaces the T at seg:offset with update(old) as one atomic operation, and
// stores in `old` the value it replaced. `update` may run more than once (when another vCPU
// changed the word in between), so it must only compute; the value stored is the one its last
// call returned, from `old`. The segment checks are those of a write, and every fault is
// raised before anything is stored (SDM LOCK: the destination is read and written as one
// locked operation).
template <class T, class Update>
bool locked_update(Cpu& cpu, Seg seg, uint32_t offset, Update&& update, T& old) {
    constexpr uint32_t size = sizeof(T);
    uint32_t linear;
    if (!cpu.linearize(seg, offset, size, true, linear)) return false;
    // With paging the destination is translated for a write before anything is read (SDM
    // Vol. 3A 4.7: a locked access's #PF reports a write, CR2 the operand's own address), so
    // the word below and the split path's read and write find it in the TLB.
    if (cpu.s.cr0 & cr0::PG) {
        PhysicalAccess where;
        if (!cpu.translate(linear, size, AccessKind::Write, Accessor::Program, where)) return false;
    }
    const bool aligned = linear % size == 0;
    const uint32_t in_word = linear % 8;
    if (aligned || in_word + size <= 8) {
        const uint32_t word_size = aligned ? size : 8;
        uint8_t* host = nullptr;
        if (!cpu.locked_destination(linear - (aligned ? 0 : in_word), word_size, host))
            return false;
        if (host && reinterpret_cast<uintptr_t>(host) % word_size == 0) {
            // A data breakpoint sees a read and a write of the operand (SDM Vol. 3B 18.2.5),
            // as read_linear and write_linear note them on the split path.
            if (cpu.watch_accesses) [[unlikely]]
                cpu.debug_traps |= data_breakpoints_hit(cpu.s, linear, size, true);
            old = aligned ? detail::compare_exchange_loop<T, T>(host, 0, update)
                          : detail::compare_exchange_loop<T, uint64_t>(host, in_word, update);
            return true;
        }
    }
    const SplitLock held;
    if (!cpu.read_linear(linear, &old, size)) return false;
    const T value = update(old);
    return cpu.write_linear(linear, &value, size);
}

} // namespace transit86::emu
