#include "tools/guest_image.hpp"

#include <fmt/format.h>
#include <fstream>
#include <iterator>

namespace transit86::tools {

size_t GuestRam::load_file(const std::string& path, uint64_t address) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ImageError(fmt::format("cannot open image \"{}\"", path));
    std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    if (in.bad()) throw ImageError(fmt::format("cannot read image \"{}\"", path));
    if (image.empty()) throw ImageError(fmt::format("image \"{}\" is empty", path));
    if (address >= bytes_.size() || image.size() > bytes_.size() - address)
        throw ImageError(
            fmt::format("image \"{}\" ({} bytes at {:#x}) does not fit in {} MiB of RAM", path,
                        image.size(), address, bytes_.size() >> 20));
    std::copy(image.begin(), image.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(address));
    return image.size();
}

} // namespace transit86::tools
