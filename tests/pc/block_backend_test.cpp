// The disk images behind pc/ata_disk.hpp: size checks with one-line errors, bounds on every
// access, and a file left untouched unless writes go through.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "pc/block_backend.hpp"

namespace transit86::pc {
namespace {

class ImageFile {
  public:
    explicit ImageFile(size_t bytes, uint8_t fill = 0x5A) {
        path_ = (std::filesystem::temp_directory_path() /
                 ("transit86-image-" +
                  std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                    .string();
        std::ofstream(path_, std::ios::binary) << std::string(bytes, static_cast<char>(fill));
    }
    ~ImageFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }
    std::vector<uint8_t> contents() const {
        std::ifstream in(path_, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

  private:
    std::string path_;
};

// An empty image or one that ends in a partial sector is refused with a one-line message.
TEST(BlockBackend, FactoriesRejectEmptyAndPartialSectorImages) {
    auto empty = make_memory_image({});
    EXPECT_EQ(empty.backend, nullptr);
    EXPECT_EQ(empty.error, "memory image: the image is empty");
    ImageFile odd(1000);
    auto partial = open_image_file(odd.path());
    EXPECT_EQ(partial.backend, nullptr);
    EXPECT_EQ(partial.error, odd.path() + ": size 1000 bytes is not a multiple of 512");
    EXPECT_EQ(partial.error.find('\n'), std::string::npos);
    auto missing = open_image_file("/nonexistent/transit86.img");
    EXPECT_EQ(missing.backend, nullptr);
    EXPECT_EQ(missing.error, "/nonexistent/transit86.img: No such file or directory");
}

// Only a regular file or a block device is a disk: a directory or a character device is refused.
TEST(BlockBackend, DirectoriesAndCharacterDevicesAreRefused) {
    auto directory = open_image_file("/");
    EXPECT_EQ(directory.backend, nullptr);
    EXPECT_EQ(directory.error, "/: is a directory");
    auto device = open_image_file("/dev/null");
    EXPECT_EQ(device.backend, nullptr);
    EXPECT_EQ(device.error, "/dev/null: not a file or block device");
}

// A file that is an image format or a compressed file, by the signature QEMU's block drivers
// probe, is refused with what it is; a raw image may hold the same bytes anywhere else.
TEST(BlockBackend, ContainerFormatsAndCompressedFilesAreRefused) {
    const struct {
        std::string head;
        size_t at;
        const char* kind;
    } cases[] = {
        {std::string("QFI\xfb\0\0\0\x03", 8), 0, "a qcow2 image"},
        {std::string("QFI\xfb\0\0\0\x01", 8), 0, "a qcow image"},
        {std::string("QED\0", 4), 0, "a QED image"},
        {"KDMV", 0, "a VMDK image"},
        {"# Disk DescriptorFile", 0, "a VMDK image"},
        {"\x7f\x10\xda\xbe", 0x40, "a VDI image"},
        {"vhdxfile", 0, "a VHDX image"},
        {"conectix", 0, "a dynamic VHD image"},
        {"\x1f\x8b\x08", 0, "a gzip-compressed file"},
        {std::string("\xfd"
                     "7zXZ\0",
                     6),
         0, "an xz-compressed file"},
        {"\x28\xb5\x2f\xfd", 0, "a zstd-compressed file"},
        {"BZh91AY&SY", 0, "a bzip2-compressed file"},
    };
    for (const auto& c : cases) {
        ImageFile file(1024, 0);
        {
            std::fstream out(file.path(), std::ios::binary | std::ios::in | std::ios::out);
            out.seekp(static_cast<std::streamoff>(c.at));
            out << c.head;
        }
        auto image = open_image_file(file.path());
        EXPECT_EQ(image.backend, nullptr) << c.kind;
        EXPECT_NE(image.error.find(std::string(": ") + c.kind + ", not a raw disk image ("),
                  std::string::npos)
            << image.error;
        EXPECT_EQ(image.error.find('\n'), std::string::npos);
    }
    ImageFile raw(1024, 0);
    {
        std::fstream out(raw.path(), std::ios::binary | std::ios::in | std::ios::out);
        out.seekp(1);
        out << "QFI\xfb";
    }
    EXPECT_NE(open_image_file(raw.path()).backend, nullptr);
}

// Every access is checked against the end: a range that reaches past it transfers nothing.
TEST(BlockBackend, AccessPastTheEndFails) {
    auto image = make_memory_image(std::vector<uint8_t>(4 * 512, 0x11));
    ASSERT_NE(image.backend, nullptr);
    std::vector<uint8_t> buffer(2 * 512, 0);
    EXPECT_TRUE(image.backend->read_sectors(2, buffer));
    EXPECT_FALSE(image.backend->read_sectors(3, buffer));
    EXPECT_FALSE(image.backend->read_sectors(~uint64_t{0}, buffer));
    EXPECT_FALSE(image.backend->write_sectors(4, std::span<const uint8_t>(buffer.data(), 512)));
    EXPECT_FALSE(image.backend->read_sectors(0, std::span(buffer.data(), 100))); // not whole
}

// By default a file is written to a private copy: reads see the writes, the file does not.
TEST(BlockBackend, FileWritesGoToPrivateCopyByDefault) {
    ImageFile file(8 * 512);
    auto image = open_image_file(file.path());
    ASSERT_NE(image.backend, nullptr) << image.error;
    EXPECT_EQ(image.backend->sector_count(), 8u);
    const std::vector<uint8_t> ones(512, 0x01);
    ASSERT_TRUE(image.backend->write_sectors(3, ones));
    std::vector<uint8_t> back(512);
    ASSERT_TRUE(image.backend->read_sectors(3, back));
    EXPECT_EQ(back, ones);
    EXPECT_EQ(file.contents(), std::vector<uint8_t>(8 * 512, 0x5A));
}

// ImageWrites::write_through changes the file.
TEST(BlockBackend, WriteThroughChangesTheFile) {
    ImageFile file(2 * 512);
    auto image = open_image_file(file.path(), ImageWrites::write_through);
    ASSERT_NE(image.backend, nullptr) << image.error;
    ASSERT_TRUE(image.backend->write_sectors(1, std::vector<uint8_t>(512, 0x02)));
    const auto contents = file.contents();
    EXPECT_EQ(contents[511], 0x5A);
    EXPECT_EQ(contents[512], 0x02);
}

} // namespace
} // namespace transit86::pc
