#include "pc/block_backend.hpp"

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace transit86::pc {

namespace {

// The size check both factories make; empty when the size is acceptable.
std::string size_problem(const std::string& what, uint64_t bytes) {
    if (bytes == 0) return what + ": the image is empty";
    if (bytes % BlockBackend::kSectorSize != 0)
        return what + ": size " + std::to_string(bytes) + " bytes is not a multiple of 512";
    return {};
}

// Image formats and compressed files that are not a raw disk, by the signature at their start
// (as QEMU's block drivers probe them: qcow2.c, qed.c, vmdk.c, vdi.c, vhdx.c, vpc.c). A raw
// image holds boot code there; reading one of these as a disk would give the guest the
// container's header ("not a bootable disk") instead of a reason.
struct NotRaw {
    const char* what;
    bool compressed; // decompress it; else qemu-img converts it
};
std::optional<NotRaw> not_a_raw_image(std::span<const uint8_t> head) {
    const auto starts = [&](std::string_view magic, size_t at = 0) {
        return head.size() >= at + magic.size() &&
               std::memcmp(head.data() + at, magic.data(), magic.size()) == 0;
    };
    if (starts("QFI\xfb"))
        return NotRaw{head.size() >= 8 && head[7] == 1 ? "a qcow image" : "a qcow2 image", false};
    if (starts(std::string_view("QED\0", 4))) return NotRaw{"a QED image", false};
    if (starts("KDMV") || starts("COWD") || starts("# Disk DescriptorFile"))
        return NotRaw{"a VMDK image", false};
    if (starts("\x7f\x10\xda\xbe", 0x40)) return NotRaw{"a VDI image", false};
    if (starts("vhdxfile")) return NotRaw{"a VHDX image", false};
    if (starts("conectix")) return NotRaw{"a dynamic VHD image", false};
    if (starts("\x1f\x8b\x08")) return NotRaw{"a gzip-compressed file", true};
    if (starts(std::string_view("\xfd"
                                "7zXZ\0",
                                6)))
        return NotRaw{"an xz-compressed file", true};
    if (starts("\x28\xb5\x2f\xfd")) return NotRaw{"a zstd-compressed file", true};
    if (starts("BZh") && starts("1AY&SY", 4)) return NotRaw{"a bzip2-compressed file", true};
    return std::nullopt;
}

bool read_fully(int fd, uint8_t* out, size_t bytes, uint64_t offset) {
    while (bytes > 0) {
        const ssize_t got = ::pread(fd, out, bytes, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        out += got;
        bytes -= static_cast<size_t>(got);
        offset += static_cast<uint64_t>(got);
    }
    return true;
}

bool write_fully(int fd, const uint8_t* in, size_t bytes, uint64_t offset) {
    while (bytes > 0) {
        const ssize_t put = ::pwrite(fd, in, bytes, static_cast<off_t>(offset));
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return false;
        in += put;
        bytes -= static_cast<size_t>(put);
        offset += static_cast<uint64_t>(put);
    }
    return true;
}

} // namespace

bool BlockBackend::in_range(uint64_t first, size_t bytes) const {
    if (bytes % kSectorSize != 0) return false;
    const uint64_t count = bytes / kSectorSize;
    return first <= sector_count() && count <= sector_count() - first;
}

bool MemoryBlockBackend::read_sectors(uint64_t first, std::span<uint8_t> out) {
    if (!in_range(first, out.size())) return false;
    std::memcpy(out.data(), bytes_.data() + first * kSectorSize, out.size());
    return true;
}

bool MemoryBlockBackend::write_sectors(uint64_t first, std::span<const uint8_t> in) {
    if (!in_range(first, in.size())) return false;
    std::memcpy(bytes_.data() + first * kSectorSize, in.data(), in.size());
    return true;
}

FileBlockBackend::~FileBlockBackend() {
    ::close(fd_);
}

bool FileBlockBackend::read_sectors(uint64_t first, std::span<uint8_t> out) {
    if (!in_range(first, out.size())) return false;
    for (size_t done = 0; done < out.size(); done += kSectorSize) {
        const uint64_t sector = first + done / kSectorSize;
        uint8_t* into = out.data() + done;
        if (auto copy = overlay_.find(sector); copy != overlay_.end()) {
            std::memcpy(into, copy->second.data(), kSectorSize);
        } else if (!read_fully(fd_, into, kSectorSize, sector * kSectorSize)) {
            return false;
        }
    }
    return true;
}

bool FileBlockBackend::write_sectors(uint64_t first, std::span<const uint8_t> in) {
    if (!in_range(first, in.size())) return false;
    if (writes_ == ImageWrites::write_through)
        return write_fully(fd_, in.data(), in.size(), first * kSectorSize);
    for (size_t done = 0; done < in.size(); done += kSectorSize)
        std::memcpy(overlay_[first + done / kSectorSize].data(), in.data() + done, kSectorSize);
    return true;
}

bool JournaledBlockBackend::write_sectors(uint64_t first, std::span<const uint8_t> in) {
    if (!recording_) return medium_.write_sectors(first, in);
    Overwritten entry{first, std::vector<uint8_t>(in.size())};
    // A write the medium refuses (out of range, a failing file) changes nothing to undo.
    if (!medium_.read_sectors(first, entry.before)) return medium_.write_sectors(first, in);
    if (!medium_.write_sectors(first, in)) return false;
    journal_bytes_ += entry.before.size();
    journal_.push_back(std::move(entry));
    return true;
}

void JournaledBlockBackend::undo_to(size_t mark) {
    while (journal_.size() > mark) {
        const Overwritten& entry = journal_.back();
        medium_.write_sectors(entry.first, entry.before);
        journal_bytes_ -= entry.before.size();
        journal_.pop_back();
    }
}

BlockBackendOrError make_memory_image(std::vector<uint8_t> bytes) {
    if (auto problem = size_problem("memory image", bytes.size()); !problem.empty())
        return {nullptr, problem};
    return {std::make_unique<MemoryBlockBackend>(std::move(bytes)), {}};
}

BlockBackendOrError open_image_file(const std::string& path, ImageWrites writes) {
    const int flags = (writes == ImageWrites::write_through ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) return {nullptr, path + ": " + std::strerror(errno)};
    // A directory opens read-only and seeks to an undefined end; a pipe or terminal cannot
    // be read at an offset. Only a regular file or a block device is a disk.
    struct stat kind {};
    if (::fstat(fd, &kind) != 0 || !(S_ISREG(kind.st_mode) || S_ISBLK(kind.st_mode))) {
        const std::string error =
            path + (S_ISDIR(kind.st_mode) ? ": is a directory" : ": not a file or block device");
        ::close(fd);
        return {nullptr, error};
    }
    uint8_t head[512];
    const ssize_t got = ::pread(fd, head, sizeof head, 0);
    if (const std::optional<NotRaw> other =
            not_a_raw_image(std::span<const uint8_t>(head, got > 0 ? size_t(got) : 0))) {
        ::close(fd);
        const std::string fix = other->compressed
                                    ? "decompress it first"
                                    : "qemu-img convert -O raw " + path + " " + path + ".raw";
        return {nullptr, path + ": " + other->what + ", not a raw disk image (" + fix + ")"};
    }
    // lseek rather than fstat's size: a block device reports its size only this way.
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
        const std::string error = path + ": " + std::strerror(errno);
        ::close(fd);
        return {nullptr, error};
    }
    if (auto problem = size_problem(path, static_cast<uint64_t>(end)); !problem.empty()) {
        ::close(fd);
        return {nullptr, problem};
    }
    const uint64_t sectors = static_cast<uint64_t>(end) / BlockBackend::kSectorSize;
    return {std::make_unique<FileBlockBackend>(fd, sectors, writes), {}};
}

} // namespace transit86::pc
