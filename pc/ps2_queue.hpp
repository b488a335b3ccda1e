// ps2_queue: the byte queue of a PS/2 device, as QEMU's hw/input/ps2.c keeps it.
//
// Device data (scancodes, mouse packets) goes in only while at most 16 bytes are waiting
// (PS2_QUEUE_SIZE), a multi-byte unit all or nothing. The keyboard's command replies go in
// front of the waiting scancodes and replace replies the controller has not read yet
// (ps2_cqueue_*: a new command cancels the answer to the previous one). Reading an empty
// queue gives the last byte read again.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <span>

namespace transit86::pc {

class Ps2Queue {
  public:
    static constexpr size_t kCapacity = 16;

    bool push(std::span<const uint8_t> bytes) {
        if (size() + bytes.size() > kCapacity) return false;
        data_.insert(data_.end(), bytes.begin(), bytes.end());
        return true;
    }
    bool push(std::initializer_list<uint8_t> bytes) {
        return push(std::span<const uint8_t>(bytes.begin(), bytes.size()));
    }
    void push_reply(std::initializer_list<uint8_t> bytes) {
        replies_.assign(bytes.begin(), bytes.end());
    }
    void drop_replies() { replies_.clear(); }
    void clear() {
        replies_.clear();
        data_.clear();
    }
    bool empty() const { return replies_.empty() && data_.empty(); }
    size_t size() const { return replies_.size() + data_.size(); }
    uint8_t pop() {
        std::deque<uint8_t>& from = replies_.empty() ? data_ : replies_;
        if (from.empty()) return last_;
        last_ = from.front();
        from.pop_front();
        return last_;
    }

  private:
    std::deque<uint8_t> replies_;
    std::deque<uint8_t> data_;
    uint8_t last_ = 0;
};

} // namespace transit86::pc
