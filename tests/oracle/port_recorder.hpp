// Port I/O on transit86 recorded the way the oracles report theirs (oracle::PortAccess), so a
// lockstep test can compare the accesses of a step: port, size, direction and data bytes.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "oracle/kvm_stepper.hpp" // oracle::PortAccess, oracle::PortInput
#include "transit86/emulator.hpp"

namespace transit86::oracle {

// The value every port reads in the lockstep tests: distinct per port and size, so a swapped
// port or width shows in the data.
inline uint32_t lockstep_port_input(uint16_t port, uint8_t size) {
    const uint32_t value = 0xA5000000u | uint32_t{port} << 8 | size;
    return size == 4 ? value : value & ((1u << (size * 8)) - 1);
}

// One access as a one-element oracle::PortAccess.
inline PortAccess element(uint16_t port, uint8_t size, bool in, uint32_t value) {
    PortAccess a{.port = port, .size = size, .in = in, .count = 1, .data = {}};
    for (uint8_t b = 0; b < size; ++b)
        a.data.push_back(static_cast<uint8_t>(value >> (8 * b)));
    return a;
}

// An oracle's accesses with string I/O chunks (count > 1) split into one element each.
inline std::vector<PortAccess> elements(const std::vector<PortAccess>& accesses) {
    std::vector<PortAccess> out;
    for (const PortAccess& a : accesses)
        for (uint32_t i = 0; i < a.count; ++i) {
            PortAccess one{.port = a.port, .size = a.size, .in = a.in, .count = 1, .data = {}};
            one.data.assign(a.data.begin() + i * a.size, a.data.begin() + (i + 1) * a.size);
            out.push_back(std::move(one));
        }
    return out;
}

// A transit86 PortHandler that completes every access (IN reads lockstep_port_input) and
// records it.
class PortRecorder : public PortHandler {
  public:
    Result access(transit86::PortAccess& access) override {
        if (access.is_in) access.data = lockstep_port_input(access.port, access.size);
        log_.push_back(element(access.port, access.size, access.is_in, access.data));
        return Result::Handled;
    }
    // The accesses since the last call.
    std::vector<PortAccess> take() { return std::exchange(log_, {}); }

  private:
    std::vector<PortAccess> log_;
};

} // namespace transit86::oracle
