#include "tools/guest_image.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "pc/machine_files.hpp"

namespace transit86::tools {

std::vector<uint8_t> read_image_file(const std::string& path, uint64_t max_size, const char* what) {
    try {
        return pc::read_whole_file(path, max_size, what);
    } catch (const pc::MachineFileError& e) {
        throw ImageError(e.what());
    }
}

GuestRam::GuestRam(uint64_t size) : size_(size) {
    if (size == 0) throw ImageError("guest RAM must not be empty");
    bytes_.reset(static_cast<uint8_t*>(std::calloc(size, 1)));
    if (!bytes_) throw ImageError(fmt::format("cannot allocate {} MiB of guest RAM", size >> 20));
}

size_t GuestRam::load_file(const std::string& path, uint64_t address) {
    const uint64_t room = address < size_ ? size_ - address : 0;
    return load(read_image_file(path, room), address, path);
}

size_t GuestRam::load(std::span<const uint8_t> image, uint64_t address, const std::string& name) {
    if (image.empty()) throw ImageError(fmt::format("image \"{}\" is empty", name));
    if (address >= size_)
        throw ImageError(
            fmt::format("load address {:#x} is outside the {} MiB of RAM", address, size_ >> 20));
    if (image.size() > size_ - address)
        throw ImageError(fmt::format("image \"{}\" is larger than the {} bytes from {:#x} to the "
                                     "end of the {} MiB of RAM",
                                     name, size_ - address, address, size_ >> 20));
    std::copy(image.begin(), image.end(), bytes_.get() + address);
    return image.size();
}

} // namespace transit86::tools
