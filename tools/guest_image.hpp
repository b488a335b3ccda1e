// Guest RAM for the command line: one slot at physical 0 with a raw image loaded into it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "transit86/emulator.hpp"

namespace transit86::tools {

// Thrown for an image that cannot be loaded; what() is one line.
struct ImageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class GuestRam {
  public:
    explicit GuestRam(uint64_t size) : bytes_(size, 0) {}
    // Loads the file at `address`; the whole image must fit in RAM.
    size_t load_file(const std::string& path, uint64_t address);
    RamSlot slot() {
        return RamSlot{.guest_phys = 0, .size = bytes_.size(), .host = bytes_.data()};
    }
    uint64_t size() const { return bytes_.size(); }

  private:
    std::vector<uint8_t> bytes_;
};

} // namespace transit86::tools
