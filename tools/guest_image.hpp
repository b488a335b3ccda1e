// Guest RAM for the command line: one slot at physical 0 with a raw image loaded into it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "transit86/emulator.hpp"

namespace transit86::tools {

// Thrown for an image that cannot be loaded; what() is one line.
struct ImageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Reads a raw image file. Reads at most `max_size` + 1 bytes, so that an endless file
// (/dev/zero) or one larger than RAM is refused without being read whole. `what` names the
// file in the error ("cannot open BIOS ...").
std::vector<uint8_t> read_image_file(const std::string& path, uint64_t max_size,
                                     const char* what = "image");

class GuestRam {
  public:
    // Zeroed RAM of `size` bytes. The pages are mapped lazily (calloc), so a large --memory
    // costs what the guest touches; an allocation the host refuses is an ImageError.
    explicit GuestRam(uint64_t size);
    // Loads the file at `address`; the whole image must fit in RAM.
    size_t load_file(const std::string& path, uint64_t address);
    // Copies `image` (named `name` in errors) to `address`; it must fit in RAM and not be empty.
    size_t load(std::span<const uint8_t> image, uint64_t address, const std::string& name);
    RamSlot slot() { return RamSlot{.guest_phys = 0, .size = size_, .host = bytes_.get()}; }
    uint64_t size() const { return size_; }

  private:
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint8_t[], Free> bytes_;
    uint64_t size_ = 0;
};

} // namespace transit86::tools
