// The boot images and files the real boot chains run, checked before any chain uses them: a
// GRUB disk laid out the way grub-bios-setup lays it out (GRUB 2.06 util/setup.c and
// include/grub/i386/pc/boot.h; the MBR layout), and the firmware, option ROM and kernels in the
// formats their loaders expect (the Linux boot protocol, Documentation/x86/boot.rst; the PCI
// option ROM header). Each test skips, with the reason, when its package is missing.
#include <gtest/gtest.h>

#include <boot_files.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace files = transit86::boot_files;

using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kSector = 512;
constexpr std::uint32_t kPartitionStart = 2048; // fdisk's 1 MiB alignment

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::uint64_t le(const Bytes& bytes, std::size_t offset, int width) {
    std::uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i)
        value = value << 8 | bytes.at(offset + static_cast<std::size_t>(i));
    return value;
}

bool contains(const Bytes& haystack, std::size_t from, const Bytes& needle) {
    if (needle.empty() || from >= haystack.size()) return false;
    const auto begin = haystack.begin() + static_cast<std::ptrdiff_t>(from);
    return std::search(begin, haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

struct GrubImage {
    std::string_view name;
    std::string_view path;
    std::string_view skip_reason;
    std::string_view cfg; // grub.cfg in tests/boot
};

std::ostream& operator<<(std::ostream& out, const GrubImage& image) {
    return out << image.name;
}

class GrubDisk : public ::testing::TestWithParam<GrubImage> {
  protected:
    void SetUp() override {
        const GrubImage& image = GetParam();
        if (!image.skip_reason.empty()) GTEST_SKIP() << image.skip_reason;
        disk_ = read_file(std::string(image.path));
        ASSERT_GE(disk_.size(), 4u * 1024 * 1024)
            << image.path << " missing or short: build target boot_images";
        boot_img_ = read_file(std::string(files::grub_pc_dir) + "/boot.img");
        diskboot_img_ = read_file(std::string(files::grub_pc_dir) + "/diskboot.img");
        ASSERT_EQ(boot_img_.size(), kSector);
        ASSERT_EQ(diskboot_img_.size(), kSector);
    }
    std::uint64_t core_sectors() const { return le(disk_, kSector + 0x1F4 + 8, 2) + 1; }

    Bytes disk_, boot_img_, diskboot_img_;
};

// The BIOS boots a sector only if it ends with 0x55 0xAA.
TEST_P(GrubDisk, MbrEndsWithBootSignature) {
    EXPECT_EQ(disk_[510], 0x55);
    EXPECT_EQ(disk_[511], 0xAA);
}

// One active FAT partition from LBA 2048 to the last whole cylinder of a 16-head, 63-sector
// geometry, its CHS end saying so (head 15, sector 63: QEMU guesses a disk's geometry from
// it); entries 2-4 empty.
TEST_P(GrubDisk, MbrHoldsOneActiveFatPartitionFrom1MiBToTheLastCylinder) {
    constexpr std::uint64_t kCylinder = 16 * 63;
    EXPECT_EQ(disk_[0x1BE], 0x80);
    const std::uint8_t type = disk_[0x1BE + 4];
    EXPECT_TRUE(type == 0x01 || type == 0x06 || type == 0x0C) << "type " << int(type);
    EXPECT_EQ(disk_[0x1BE + 5], 15);        // end head
    EXPECT_EQ(disk_[0x1BE + 6] & 0x3F, 63); // end sector
    EXPECT_EQ(le(disk_, 0x1BE + 8, 4), kPartitionStart);
    EXPECT_EQ(le(disk_, 0x1BE + 12, 4),
              disk_.size() / kSector / kCylinder * kCylinder - kPartitionStart);
    for (std::size_t offset = 0x1CE; offset < 0x1FE; ++offset)
        EXPECT_EQ(disk_[offset], 0) << offset;
}

// setup.c keeps boot.img's code: the jump (0x00-0x02) and everything from 0x5A to the disk
// signature, except the three fields it writes (checked below).
TEST_P(GrubDisk, MbrCodeIsGrubBootImg) {
    for (std::size_t offset = 0; offset < 0x1B8; ++offset) {
        const bool bpb = offset >= 0x03 && offset < 0x5A;
        const bool patched =
            (offset >= 0x5C && offset < 0x64) || offset == 0x64 || offset == 0x66 || offset == 0x67;
        if (!bpb && !patched) {
            EXPECT_EQ(disk_[offset], boot_img_[offset]) << "offset " << offset;
        }
    }
}

// boot.img 0x5C, kernel_sector: the LBA of core.img's first sector, the sector after the MBR.
TEST_P(GrubDisk, BootImgKernelSectorIsLba1) {
    EXPECT_EQ(le(disk_, 0x5C, 8), 1u);
}

// boot.img 0x64, boot_drive: 0xFF makes boot.img use the drive number the BIOS passed in DL.
TEST_P(GrubDisk, BootImgBootDriveIsTakenFromDl) {
    EXPECT_EQ(disk_[0x64], 0xFF);
}

// boot.img 0x66: for a hard disk setup replaces the jmp over the "force DL to 0x80 when it is
// not a hard disk" code with two NOPs.
TEST_P(GrubDisk, BootImgDriveCheckJumpIsNopped) {
    EXPECT_EQ(disk_[0x66], 0x90);
    EXPECT_EQ(disk_[0x67], 0x90);
}

// core.img begins with diskboot.img; only its blocklist (the last 12 bytes) differs.
TEST_P(GrubDisk, CoreImgAtLba1StartsWithDiskbootImg) {
    for (std::size_t offset = 0; offset < kSector - 12; ++offset)
        EXPECT_EQ(disk_[kSector + offset], diskboot_img_[offset]) << "offset " << offset;
}

// diskboot's first blocklist {u64 start, u16 sectors, u16 segment}: the rest of core.img from
// LBA 2, loaded at 0x820:0 (right after diskboot at 0x8000); the entry before it, the
// terminator, is zero.
TEST_P(GrubDisk, DiskbootBlocklistLoadsTheRestOfCoreImgAt0x8200) {
    EXPECT_EQ(le(disk_, kSector + 0x1F4, 8), 2u);
    EXPECT_GT(core_sectors(), 1u);
    EXPECT_EQ(le(disk_, kSector + 0x1F4 + 10, 2), 0x820u);
    for (std::size_t offset = 0x1E8; offset < 0x1F4; ++offset)
        EXPECT_EQ(disk_[kSector + offset], 0) << offset;
}

// The embedding area ends where the partition starts; diskboot loads below 0x78000 at most
// (setup.c's limit: (0x78000 - 0x9000) / 512 sectors).
TEST_P(GrubDisk, CoreImgFitsInThePostMbrGap) {
    EXPECT_LT(1 + core_sectors(), kPartitionStart);
    EXPECT_LE(core_sectors(), (0x78000u - 0x9000u) / kSector);
}

// The decompressor's header (startup_raw.S) at LBA 2: no Reed-Solomon redundancy (0x10) is
// what `grub-install --no-rs-codes` writes, and 0x14, the length not covered by it, is set.
TEST_P(GrubDisk, CoreImgCarriesNoReedSolomonCodes) {
    EXPECT_EQ(le(disk_, 2 * kSector + 0x10, 4), 0u);
    EXPECT_NE(le(disk_, 2 * kSector + 0x14, 2), 0xFFFFu);
}

// The partition's FAT boot sector: signature, 512-byte sectors, hidden sectors equal to the
// partition's start (GRUB does not need it, DOS-style loaders do), its size equal to the
// partition's.
TEST_P(GrubDisk, PartitionHoldsAFatFileSystem) {
    const std::size_t base = kPartitionStart * kSector;
    EXPECT_EQ(disk_[base + 510], 0x55);
    EXPECT_EQ(disk_[base + 511], 0xAA);
    EXPECT_EQ(le(disk_, base + 11, 2), kSector);
    EXPECT_EQ(le(disk_, base + 0x1C, 4), kPartitionStart);
    const std::uint64_t small_total = le(disk_, base + 0x13, 2);
    EXPECT_EQ(small_total != 0 ? small_total : le(disk_, base + 0x20, 4), le(disk_, 0x1BE + 12, 4));
    const std::string fat_type(disk_.begin() + static_cast<std::ptrdiff_t>(base + 54),
                               disk_.begin() + static_cast<std::ptrdiff_t>(base + 59));
    EXPECT_TRUE(fat_type == "FAT12" || fat_type == "FAT16") << fat_type;
}

// mtools stores a fresh file in consecutive clusters: the config's bytes are in the partition.
TEST_P(GrubDisk, PartitionHoldsItsGrubCfg) {
    const Bytes cfg =
        read_file(std::string(TRANSIT86_BOOT_SOURCE_DIR "/") + std::string(GetParam().cfg));
    ASSERT_FALSE(cfg.empty());
    EXPECT_TRUE(contains(disk_, kPartitionStart * kSector, cfg));
}

INSTANTIATE_TEST_SUITE_P(BootImages, GrubDisk,
                         ::testing::Values(GrubImage{"grub_echo", files::grub_echo_img,
                                                     files::grub_echo_skip_reason, "grub-echo.cfg"},
                                           GrubImage{"grub_memtest", files::grub_memtest_img,
                                                     files::grub_memtest_skip_reason,
                                                     "grub-memtest.cfg"}),
                         [](const ::testing::TestParamInfo<GrubImage>& param_info) {
                             return std::string(param_info.param.name);
                         });

// linux16 loads memtest86+ from the image's partition: its first 4 KiB are there.
TEST(GrubMemtestDisk, PartitionHoldsMemtest) {
    if (!files::grub_memtest_skip_reason.empty()) GTEST_SKIP() << files::grub_memtest_skip_reason;
    const Bytes disk = read_file(std::string(files::grub_memtest_img));
    Bytes head = read_file(std::string(files::memtest_bin));
    ASSERT_GE(head.size(), 4096u);
    head.resize(4096);
    EXPECT_TRUE(contains(disk, kPartitionStart * kSector, head));
}

// SeaBIOS for QEMU: 128 or 256 KiB, mapped to end at 4 GiB and 1 MiB; the reset vector (the
// last 16 bytes) is a far jump (0xEA).
TEST(BootFiles, SeabiosEndsWithAFarJumpAtTheResetVector) {
    if (!files::seabios_skip_reason.empty()) GTEST_SKIP() << files::seabios_skip_reason;
    const Bytes bios = read_file(std::string(files::seabios_bin));
    ASSERT_TRUE(bios.size() == 128 * 1024 || bios.size() == 256 * 1024) << bios.size();
    EXPECT_EQ(bios[bios.size() - 16], 0xEA);
}

// An option ROM: 0x55 0xAA, then its length in 512-byte units, covering the file.
TEST(BootFiles, LinuxbootDmaIsAnOptionRom) {
    if (!files::linuxboot_dma_skip_reason.empty()) GTEST_SKIP() << files::linuxboot_dma_skip_reason;
    const Bytes rom = read_file(std::string(files::linuxboot_dma_rom));
    ASSERT_GE(rom.size(), 512u);
    EXPECT_EQ(rom[0], 0x55);
    EXPECT_EQ(rom[1], 0xAA);
    EXPECT_EQ(rom[2] * 512u, rom.size());
}

// The Linux boot protocol header (boot.rst): "HdrS" at 0x202, version at 0x206, setup_sects
// at 0x1F1, loadflags bit 0 (LOADED_HIGH: a bzImage) at 0x211.
void expect_bzimage(const std::string& path, std::uint64_t min_version) {
    const Bytes image = read_file(path);
    ASSERT_GE(image.size(), 0x1000u) << path;
    EXPECT_EQ(std::string(image.begin() + 0x202, image.begin() + 0x206), "HdrS");
    EXPECT_GE(le(image, 0x206, 2), min_version);
    EXPECT_EQ(image[0x211] & 0x01, 0x01);
    EXPECT_LT((image[0x1F1] + 1u) * kSector, image.size());
}

// Debian's memtest86+ 6.10 is protocol 2.12, which linux16 and QEMU's -kernel both load.
TEST(BootFiles, MemtestIsABzImage) {
    if (!files::memtest_skip_reason.empty()) GTEST_SKIP() << files::memtest_skip_reason;
    expect_bzimage(std::string(files::memtest_bin), 0x020C);
}

TEST(BootFiles, LinuxKernelIsABzImage) {
    const std::string kernel = files::linux_kernel();
    if (!std::filesystem::exists(kernel)) GTEST_SKIP() << files::linux_kernel_skip_reason;
    expect_bzimage(kernel, 0x020F);
}

} // namespace
