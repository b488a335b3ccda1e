// The medium behind a disk model: a whole number of 512-byte sectors, read and written a sector
// at a time, every access checked against the end.
//
// Two kinds: an in-memory image, and a file. A file is opened read-only and written to a
// private copy in memory by default (ImageWrites::private_copy: the user's image is never
// modified unless asked); ImageWrites::write_through writes to the file with pwrite.
// The factories refuse an image that is empty or not a multiple of 512 bytes, with a one-line
// message, so a disk model is never built on a partial sector.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace transit86::pc {

class BlockBackend {
  public:
    static constexpr uint32_t kSectorSize = 512;

    virtual ~BlockBackend() = default;
    virtual uint64_t sector_count() const = 0;
    // `out.size()` / `in.size()` bytes (a multiple of 512) from sector `first` on; false, with
    // nothing transferred, when any of it lies past the end or the medium fails.
    virtual bool read_sectors(uint64_t first, std::span<uint8_t> out) = 0;
    virtual bool write_sectors(uint64_t first, std::span<const uint8_t> in) = 0;

  protected:
    bool in_range(uint64_t first, size_t bytes) const;
};

class MemoryBlockBackend final : public BlockBackend {
  public:
    // Use make_memory_image(): the size is checked there.
    explicit MemoryBlockBackend(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}

    uint64_t sector_count() const override { return bytes_.size() / kSectorSize; }
    bool read_sectors(uint64_t first, std::span<uint8_t> out) override;
    bool write_sectors(uint64_t first, std::span<const uint8_t> in) override;

    std::span<const uint8_t> bytes() const { return bytes_; }

  private:
    std::vector<uint8_t> bytes_;
};

enum class ImageWrites : uint8_t {
    private_copy,  // writes stay in memory; the file is opened read-only
    write_through, // writes go to the file
};

class FileBlockBackend final : public BlockBackend {
  public:
    FileBlockBackend(int fd, uint64_t sectors, ImageWrites writes)
        : fd_(fd), sectors_(sectors), writes_(writes) {}
    ~FileBlockBackend() override;
    FileBlockBackend(const FileBlockBackend&) = delete;
    FileBlockBackend& operator=(const FileBlockBackend&) = delete;

    uint64_t sector_count() const override { return sectors_; }
    bool read_sectors(uint64_t first, std::span<uint8_t> out) override;
    bool write_sectors(uint64_t first, std::span<const uint8_t> in) override;

    // Sectors written to the private copy so far.
    size_t private_sectors() const { return overlay_.size(); }

  private:
    int fd_;
    uint64_t sectors_;
    ImageWrites writes_;
    std::map<uint64_t, std::array<uint8_t, kSectorSize>> overlay_;
};

// A disk whose writes can be wound back, for reverse execution (tools/gdb): while recording,
// each write first keeps the sectors it is about to overwrite; undo_to(mark) puts them back,
// newest first, so the medium is as it was when mark() returned `mark`. Winding forward is
// re-execution's job: the guest writes the same sectors again. Not recording (the default), it
// passes everything through and keeps nothing.
class JournaledBlockBackend final : public BlockBackend {
  public:
    explicit JournaledBlockBackend(BlockBackend& medium) : medium_(medium) {}

    uint64_t sector_count() const override { return medium_.sector_count(); }
    bool read_sectors(uint64_t first, std::span<uint8_t> out) override {
        return medium_.read_sectors(first, out);
    }
    bool write_sectors(uint64_t first, std::span<const uint8_t> in) override;

    void record(bool on) { recording_ = on; }
    size_t mark() const { return journal_.size(); }
    void undo_to(size_t mark);
    // Host memory the journal holds.
    size_t journal_bytes() const { return journal_bytes_; }

  private:
    struct Overwritten {
        uint64_t first = 0;
        std::vector<uint8_t> before;
    };
    BlockBackend& medium_;
    bool recording_ = false;
    std::vector<Overwritten> journal_;
    size_t journal_bytes_ = 0;
};

// A backend, or the one-line reason there is none.
struct BlockBackendOrError {
    std::unique_ptr<BlockBackend> backend;
    std::string error;
};

BlockBackendOrError make_memory_image(std::vector<uint8_t> bytes);
BlockBackendOrError open_image_file(const std::string& path,
                                    ImageWrites writes = ImageWrites::private_copy);

} // namespace transit86::pc
