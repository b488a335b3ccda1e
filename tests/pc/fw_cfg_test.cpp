// fw_cfg through its ports, against QEMU docs/specs/fw_cfg.rst and hw/nvram/fw_cfg.c.
#include "pc/fw_cfg.hpp"

#include <gtest/gtest.h>

#include <string>

#include "fake_platform.hpp"

namespace transit86::pc {
namespace {

using testing::RamDma;
using testing::RecordingLog;

class FwCfgTest : public ::testing::Test {
  protected:
    void select(uint16_t key) { fw.io_write(FwCfg::kSelectorPort, 2, key); }
    uint8_t next() { return static_cast<uint8_t>(fw.io_read(FwCfg::kDataPort, 1)); }
    std::vector<uint8_t> read(uint16_t key, size_t n) {
        select(key);
        std::vector<uint8_t> out;
        for (size_t i = 0; i < n; ++i)
            out.push_back(next());
        return out;
    }
    // The guest's side of a DMA transfer: descriptor at `at`, address register written as
    // SeaBIOS does (outl(cpu_to_be32(high), 0x514); outl(cpu_to_be32(low), 0x518)).
    uint32_t dma(uint64_t at, uint32_t control, uint32_t length, uint64_t address) {
        put_be(at, control, 4);
        put_be(at + 4, length, 4);
        put_be(at + 8, address, 8);
        fw.io_write(FwCfg::kDmaAddressPort, 4, be32(static_cast<uint32_t>(at >> 32)));
        fw.io_write(FwCfg::kDmaAddressLowPort, 4, be32(static_cast<uint32_t>(at)));
        return static_cast<uint32_t>(get_be(at, 4));
    }
    void put_be(uint64_t at, uint64_t value, size_t size) {
        for (size_t i = 0; i < size; ++i)
            ram.ram[at + i] = static_cast<uint8_t>(value >> (8 * (size - 1 - i)));
    }
    uint64_t get_be(uint64_t at, size_t size) const {
        uint64_t v = 0;
        for (size_t i = 0; i < size; ++i)
            v = v << 8 | ram.ram[at + i];
        return v;
    }
    static uint32_t be32(uint32_t v) {
        return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
    }
    std::string text(uint64_t at, size_t n) const {
        return std::string(ram.ram.begin() + static_cast<ptrdiff_t>(at),
                           ram.ram.begin() + static_cast<ptrdiff_t>(at + n));
    }

    RamDma ram{0x10000};
    RecordingLog log;
    FwCfg fw{&ram, &log};
};

// qemu_fw_cfg.h: every well-known selector number.
TEST_F(FwCfgTest, KeyNumbersAreQemus) {
    const std::pair<uint16_t, uint16_t> keys[] = {
        {FwCfg::kSignature, 0x00},     {FwCfg::kId, 0x01},          {FwCfg::kRamSize, 0x03},
        {FwCfg::kNbCpus, 0x05},        {FwCfg::kKernelAddr, 0x07},  {FwCfg::kKernelSize, 0x08},
        {FwCfg::kKernelCmdline, 0x09}, {FwCfg::kInitrdAddr, 0x0A},  {FwCfg::kInitrdSize, 0x0B},
        {FwCfg::kBootDevice, 0x0C},    {FwCfg::kNuma, 0x0D},        {FwCfg::kBootMenu, 0x0E},
        {FwCfg::kMaxCpus, 0x0F},       {FwCfg::kKernelEntry, 0x10}, {FwCfg::kKernelData, 0x11},
        {FwCfg::kInitrdData, 0x12},    {FwCfg::kCmdlineAddr, 0x13}, {FwCfg::kCmdlineSize, 0x14},
        {FwCfg::kCmdlineData, 0x15},   {FwCfg::kSetupAddr, 0x16},   {FwCfg::kSetupSize, 0x17},
        {FwCfg::kSetupData, 0x18},     {FwCfg::kFileDir, 0x19},     {FwCfg::kFileFirst, 0x20}};
    for (auto [key, qemu] : keys)
        EXPECT_EQ(key, qemu);
}

// fw_cfg.rst "Signature": selector 0x0000 reads "QEMU" one byte at a time from 0x511.
TEST_F(FwCfgTest, SignatureReadsQemu) {
    const std::vector<uint8_t> sig = read(FwCfg::kSignature, 4);
    EXPECT_EQ(std::string(sig.begin(), sig.end()), "QEMU");
}

// The data port is reachable at 0x510 too for byte reads (QEMU's combined x86 region).
TEST_F(FwCfgTest, ByteReadAtSelectorPortReadsData) {
    select(FwCfg::kSignature);
    EXPECT_EQ(fw.io_read(FwCfg::kSelectorPort, 1), 'Q');
    EXPECT_EQ(fw.io_read(FwCfg::kDataPort, 1), 'E');
}

// fw_cfg.rst "Revision / feature bitmap": le32, bit 0 traditional, bit 1 DMA.
TEST_F(FwCfgTest, IdAdvertisesTraditionalAndDma) {
    EXPECT_EQ(read(FwCfg::kId, 4), (std::vector<uint8_t>{0x03, 0, 0, 0}));
    FwCfg no_dma(nullptr, nullptr);
    no_dma.io_write(FwCfg::kSelectorPort, 2, FwCfg::kId);
    EXPECT_EQ(no_dma.io_read(FwCfg::kDataPort, 1), 0x01u);
}

// Reading beyond an item's end gives 0; selecting again rewinds to offset 0.
TEST_F(FwCfgTest, ReadPastEndGivesZeroAndSelectRewinds) {
    EXPECT_EQ(read(FwCfg::kSignature, 6), (std::vector<uint8_t>{'Q', 'E', 'M', 'U', 0, 0}));
    select(FwCfg::kSignature);
    EXPECT_EQ(next(), 'Q');
}

// fw_cfg_select: a key past the table, or a key with no item, reads 0.
TEST_F(FwCfgTest, UnknownSelectorReadsZero) {
    EXPECT_EQ(read(0x1234, 2), (std::vector<uint8_t>{0, 0}));
    EXPECT_EQ(read(FwCfg::kKernelEntry, 2), (std::vector<uint8_t>{0, 0}));
    EXPECT_EQ(read(FwCfg::kArchLocal | 0x10, 1), (std::vector<uint8_t>{0}));
}

// The write-channel bit (0x4000) is masked off the selector.
TEST_F(FwCfgTest, WriteChannelBitSelectsSameItem) {
    EXPECT_EQ(read(FwCfg::kWriteChannel | FwCfg::kSignature, 1), (std::vector<uint8_t>{'Q'}));
}

// QEMU >= 2.4 ignores data-port writes; the log says so once.
TEST_F(FwCfgTest, DataPortWritesIgnoredAndLoggedOnce) {
    select(FwCfg::kSignature);
    fw.io_write(FwCfg::kDataPort, 1, 'X');
    fw.io_write(FwCfg::kDataPort, 1, 'Y');
    EXPECT_EQ(next(), 'Q');
    EXPECT_EQ(log.lines.size(), 1u);
}

// fw_cfg.rst "File Directory": be32 count, 64-byte entries {be32 size, be16 select,
// be16 reserved, char name[56]}, room for every slot (QEMU's default 0x20).
TEST_F(FwCfgTest, FileDirLayout) {
    ASSERT_TRUE(fw.add_file("etc/sercon-port", sercon_port_file(0x3F8)));
    ASSERT_TRUE(fw.add_file("bootorder", {'x', 0}));
    const std::vector<uint8_t>* dir = fw.item(FwCfg::kFileDir);
    ASSERT_NE(dir, nullptr);
    EXPECT_EQ(dir->size(), 4u + 64u * FwCfg::kDefaultFileSlots);
    const std::vector<uint8_t> bytes = read(FwCfg::kFileDir, 4 + 2 * 64);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 4),
              (std::vector<uint8_t>{0, 0, 0, 2}));
    // Entry 0: "bootorder" (sorted first), size 2, select 0x0020.
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 4, bytes.begin() + 12),
              (std::vector<uint8_t>{0, 0, 0, 2, 0x00, 0x20, 0, 0}));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&bytes[12])), "bootorder");
    EXPECT_EQ(bytes[12 + 55], 0);
    // Entry 1: "etc/sercon-port", size 2, select 0x0021.
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 68, bytes.begin() + 76),
              (std::vector<uint8_t>{0, 0, 0, 2, 0x00, 0x21, 0, 0}));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&bytes[76])), "etc/sercon-port");
}

// Files are kept in strcmp order and their selectors follow it (fw_cfg_add_file_callback).
TEST_F(FwCfgTest, FilesSortedByNameAndSelectorsFollow) {
    fw.add_file("etc/e820", {1});
    fw.add_file("bootorder", {2});
    fw.add_file("etc/boot-fail-wait", {3});
    EXPECT_EQ(fw.file_selector("bootorder"), 0x20);
    EXPECT_EQ(fw.file_selector("etc/boot-fail-wait"), 0x21);
    EXPECT_EQ(fw.file_selector("etc/e820"), 0x22);
    EXPECT_EQ(read(0x22, 1), (std::vector<uint8_t>{1}));
}

// Duplicate names, names that do not fit 56 bytes with their NUL, and a full directory.
TEST_F(FwCfgTest, AddFileRefusesDuplicatesLongNamesAndFullDirectory) {
    EXPECT_TRUE(fw.add_file("a", {}));
    EXPECT_FALSE(fw.add_file("a", {}));
    EXPECT_FALSE(fw.add_file(std::string(56, 'n'), {}));
    EXPECT_TRUE(fw.add_file(std::string(55, 'n'), {}));
    FwCfg small(nullptr, nullptr, 0x10);
    for (int i = 0; i < 0x10; ++i)
        EXPECT_TRUE(small.add_file("f" + std::to_string(i + 10), {}));
    EXPECT_FALSE(small.add_file("zz", {}));
}

// fw_cfg_arch_create: RAM size le64, CPU counts le16, NUMA one zero word per APIC ID plus the
// node count; fw_cfg_common_realize: boot menu le16.
TEST_F(FwCfgTest, MachineItemsAreLittleEndian) {
    install_machine_items(
        fw, {.ram_size = 0x12345678ABull, .boot_cpus = 2, .max_cpus = 4, .boot_menu = true});
    EXPECT_EQ(read(FwCfg::kRamSize, 8),
              (std::vector<uint8_t>{0xAB, 0x78, 0x56, 0x34, 0x12, 0, 0, 0}));
    EXPECT_EQ(read(FwCfg::kNbCpus, 2), (std::vector<uint8_t>{2, 0}));
    EXPECT_EQ(read(FwCfg::kMaxCpus, 2), (std::vector<uint8_t>{4, 0}));
    EXPECT_EQ(read(FwCfg::kBootMenu, 2), (std::vector<uint8_t>{1, 0}));
    ASSERT_NE(fw.item(FwCfg::kNuma), nullptr);
    EXPECT_EQ(*fw.item(FwCfg::kNuma), std::vector<uint8_t>(5 * 8, 0));
    EXPECT_TRUE(fw.file_selector("etc/boot-fail-wait"));
}

// x86_load_linux: addresses and sizes le32; the command line's size counts its NUL.
TEST_F(FwCfgTest, LinuxBootItems) {
    FwCfgLinuxBoot boot;
    boot.setup_addr = 0x90000;
    boot.setup = {1, 2};
    boot.kernel_addr = 0x100000;
    boot.kernel = {3, 4, 5};
    boot.cmdline_addr = 0x20000;
    boot.cmdline = "quiet";
    install_linux_boot(fw, boot);
    EXPECT_EQ(read(FwCfg::kSetupAddr, 4), (std::vector<uint8_t>{0x00, 0x00, 0x09, 0x00}));
    EXPECT_EQ(read(FwCfg::kSetupSize, 4), (std::vector<uint8_t>{2, 0, 0, 0}));
    EXPECT_EQ(read(FwCfg::kKernelAddr, 4), (std::vector<uint8_t>{0x00, 0x00, 0x10, 0x00}));
    EXPECT_EQ(read(FwCfg::kKernelData, 3), (std::vector<uint8_t>{3, 4, 5}));
    EXPECT_EQ(read(FwCfg::kCmdlineSize, 4), (std::vector<uint8_t>{6, 0, 0, 0}));
    EXPECT_EQ(read(FwCfg::kCmdlineData, 6), (std::vector<uint8_t>{'q', 'u', 'i', 'e', 't', 0}));
    EXPECT_EQ(fw.item(FwCfg::kInitrdSize), nullptr); // no initrd, no initrd items
}

// struct e820_entry { le64 address; le64 length; le32 type; } packed: 20 bytes.
TEST_F(FwCfgTest, E820FileLayout) {
    const E820Entry entries[] = {{0, 0x9FC00, E820Entry::kRam},
                                 {0xFEFFC000, 0x4000, E820Entry::kReserved}};
    const std::vector<uint8_t> file = e820_file(entries);
    ASSERT_EQ(file.size(), 40u);
    EXPECT_EQ(std::vector<uint8_t>(file.begin() + 8, file.begin() + 20),
              (std::vector<uint8_t>{0x00, 0xFC, 0x09, 0, 0, 0, 0, 0, 1, 0, 0, 0}));
    EXPECT_EQ(std::vector<uint8_t>(file.begin() + 20, file.begin() + 24),
              (std::vector<uint8_t>{0x00, 0xC0, 0xFF, 0xFE}));
    EXPECT_EQ(file[36], 2);
}

// get_boot_devices_list: paths joined by '\n', the last one NUL-terminated.
TEST_F(FwCfgTest, BootorderFileLayout) {
    const std::string paths[] = {"/pci@i0cf8/ide@1,1/drive@0/disk@0", "HALT"};
    const std::vector<uint8_t> file = bootorder_file(paths);
    const std::string expected = std::string(paths[0]) + "\nHALT" + '\0';
    EXPECT_EQ(std::string(file.begin(), file.end()), expected);
    EXPECT_TRUE(bootorder_file({}).empty());
}

// SeaBIOS reads "etc/sercon-port" with romfile_loadint: a little-endian number.
TEST_F(FwCfgTest, SerconPortFileIsLe16) {
    EXPECT_EQ(sercon_port_file(0x3F8), (std::vector<uint8_t>{0xF8, 0x03}));
}

// fw_cfg_dma_mem_read: the DMA register reads "QEMU CFG", big-endian.
TEST_F(FwCfgTest, DmaPortsReadSignature) {
    EXPECT_EQ(fw.io_read(FwCfg::kDmaAddressPort, 4), 0x554D4551u);    // "QEMU" in port order
    EXPECT_EQ(fw.io_read(FwCfg::kDmaAddressLowPort, 4), 0x47464320u); // " CFG"
}

// fw_cfg.rst "DMA interface": select + read copies the item and the device stores control 0.
TEST_F(FwCfgTest, DmaSelectAndReadCopiesItem) {
    const uint32_t control = dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 4, 0x2000);
    EXPECT_EQ(control, 0u);
    EXPECT_EQ(text(0x2000, 4), "QEMU");
}

// Reads past the item's end fill zeros, and the transfer still succeeds.
TEST_F(FwCfgTest, DmaReadPastEndFillsZeros) {
    std::fill(ram.ram.begin() + 0x2000, ram.ram.begin() + 0x2008, 0xEE);
    EXPECT_EQ(dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 8, 0x2000), 0u);
    EXPECT_EQ(text(0x2000, 8), std::string("QEMU\0\0\0\0", 8));
}

// Skip advances the offset the traditional interface then reads from.
TEST_F(FwCfgTest, DmaSkipAdvancesOffset) {
    EXPECT_EQ(dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaSkip, 2, 0), 0u);
    EXPECT_EQ(next(), 'M');
}

// Every guest-memory access is bounds-checked: a destination outside RAM sets the error bit.
TEST_F(FwCfgTest, DmaOutsideRamSetsError) {
    EXPECT_EQ(dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 4, 0xFFFE), FwCfg::kDmaError);
    EXPECT_EQ(dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 4, 0x1'0000'0000ull),
              FwCfg::kDmaError);
    // A descriptor outside RAM: nothing to read, nothing written, no crash.
    fw.io_write(FwCfg::kDmaAddressPort, 4, be32(1));
    fw.io_write(FwCfg::kDmaAddressLowPort, 4, be32(0));
    EXPECT_EQ(read(FwCfg::kSignature, 1), (std::vector<uint8_t>{'Q'}));
}

// DMA writes: refused (error bit) into read-only items, accepted into writable ones within
// the item's size.
TEST_F(FwCfgTest, DmaWriteOnlyIntoWritableItems) {
    const uint32_t select_sig = uint32_t{FwCfg::kSignature} << 16;
    EXPECT_EQ(dma(0x1000, select_sig | FwCfg::kDmaSelect | FwCfg::kDmaWrite, 2, 0x2000),
              FwCfg::kDmaError);
    ASSERT_TRUE(fw.add_file("etc/writable", {0, 0, 0, 0}, true));
    const uint32_t key = uint32_t{*fw.file_selector("etc/writable")} << 16;
    ram.ram[0x2000] = 0xAA;
    ram.ram[0x2001] = 0xBB;
    EXPECT_EQ(dma(0x1000, key | FwCfg::kDmaSelect | FwCfg::kDmaWrite, 2, 0x2000), 0u);
    EXPECT_EQ(*fw.item(*fw.file_selector("etc/writable")),
              (std::vector<uint8_t>{0xAA, 0xBB, 0, 0}));
    EXPECT_EQ(dma(0x1000, key | FwCfg::kDmaSelect | FwCfg::kDmaWrite, 8, 0x2000), FwCfg::kDmaError);
}

// Without DmaMemory there is no DMA interface: the ports are an empty bus.
TEST_F(FwCfgTest, NoDmaMemoryMeansNoDmaPorts) {
    FwCfg no_dma(nullptr, nullptr);
    EXPECT_EQ(no_dma.io_read(FwCfg::kDmaAddressPort, 4), 0xFFFFFFFFu);
    no_dma.io_write(FwCfg::kDmaAddressLowPort, 4, 0); // ignored
}

} // namespace
} // namespace transit86::pc
