// ps2_queue: the byte queue of a PS/2 device, as QEMU's hw/input/ps2.c keeps it.
//
// Device data (scancodes, mouse packets) goes in only while at most 16 bytes are waiting
// (PS2_QUEUE_SIZE), a multi-byte unit all or nothing. The keyboard's command replies go in
// front of the waiting scancodes and replace replies the controller has not read yet
// (ps2_cqueue_*: a new command cancels the answer to the previous one). Reading an empty
// queue gives the last byte read again.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>

#include "pc/byte_ring.hpp"

namespace transit86::pc {

class Ps2Queue {
  public:
    static constexpr size_t kCapacity = 16;

    bool push(std::span<const uint8_t> bytes) {
        if (size() + bytes.size() > kCapacity) return false;
        for (const uint8_t b : bytes)
            data_.push_back(b);
        return true;
    }
    bool push(std::initializer_list<uint8_t> bytes) {
        return push(std::span<const uint8_t>(bytes.begin(), bytes.size()));
    }
    // A reply is at most an ACK and a two-byte ID (kMaxReply).
    void push_reply(std::initializer_list<uint8_t> bytes) {
        replies_.clear();
        for (const uint8_t b : bytes)
            replies_.push_back(b);
    }
    void drop_replies() { replies_.clear(); }
    void clear() {
        replies_.clear();
        data_.clear();
    }
    bool empty() const { return replies_.empty() && data_.empty(); }
    size_t size() const { return replies_.size() + data_.size(); }
    uint8_t pop() {
        if (!replies_.empty()) return take(replies_);
        if (!data_.empty()) return take(data_);
        return last_;
    }

  private:
    static constexpr size_t kMaxReply = 4;
    template <class Ring>
    uint8_t take(Ring& from) {
        last_ = from.front();
        from.pop_front();
        return last_;
    }
    ByteRing<kMaxReply> replies_;
    ByteRing<kCapacity> data_;
    uint8_t last_ = 0;
};

} // namespace transit86::pc
