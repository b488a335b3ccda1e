// byte_ring: a first-in first-out byte queue of fixed capacity held inline, for the device
// FIFOs whose hardware has a fixed depth (the 16550's 16-byte receive FIFO, a PS/2 device's
// queue). Reverse execution and the fuzzers copy devices by value for every snapshot, so a
// queue that copies without allocating keeps a snapshot a plain copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace transit86::pc {

template <size_t Capacity>
class ByteRing {
    static_assert(Capacity > 0 && Capacity <= 0xFFFF);

  public:
    static constexpr size_t kCapacity = Capacity;

    // False, and nothing stored, when the queue is full.
    bool push_back(uint8_t byte) {
        if (size_ == Capacity) return false;
        bytes_[(head_ + size_) % Capacity] = byte;
        ++size_;
        return true;
    }
    // The oldest byte; the queue must not be empty.
    uint8_t front() const { return bytes_[head_]; }
    void pop_front() {
        head_ = static_cast<uint16_t>((head_ + 1) % Capacity);
        --size_;
    }
    void clear() { head_ = size_ = 0; }
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }

  private:
    std::array<uint8_t, Capacity> bytes_{};
    uint16_t head_ = 0;
    uint16_t size_ = 0;
};

} // namespace transit86::pc
