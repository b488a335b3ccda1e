// fw_cfg: QEMU's firmware configuration interface, x86 I/O-port layout (QEMU
// docs/specs/fw_cfg.rst; hw/nvram/fw_cfg.c; include/standard-headers/linux/qemu_fw_cfg.h).
//
//   0x510        selector (16-bit write): selects an item and rewinds its offset to 0;
//   0x510/0x511  data (8-bit read): the next byte of the selected item, 0 past its end or for
//                an unknown selector. Data writes are ignored (QEMU >= 2.4), logged once;
//   0x514-0x51B  DMA address, a 64-bit big-endian register written as two 32-bit halves; the
//                write of the low half (0x518) starts the transfer. Reads give "QEMU CFG".
//
// A DMA transfer reads a FWCfgDmaAccess from guest memory { be32 control; be32 length;
// be64 address; }. Control: bit 0 error, 1 read, 2 skip, 3 select (item key in bits 31-16),
// 4 write. The device does the transfer at once and stores the final control word back (0, or
// the error bit): reads past the item's end fill zeros; writes succeed only into items marked
// writable and only within the item; every guest-memory access goes through DmaMemory, and an
// access it refuses sets the error bit.
//
// Items 0x00-0x1F are the well-known keys; files start at 0x20 and are listed in FILE_DIR
// (0x19: be32 count, then one 64-byte entry a file: be32 size, be16 select, be16 reserved,
// char name[56]), sorted by name as QEMU does for current machine types. Keys with bit 15 set
// are the architecture's own table (x86: ACPI tables 0x8000, SMBIOS 0x8001, IRQ0 override
// 0x8002, HPET 0x8004); bit 14 (write channel) is ignored in the selector.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pc/device.hpp"

namespace transit86::pc {

class FwCfg final : public IoDevice {
  public:
    static constexpr uint16_t kSelectorPort = 0x510;
    static constexpr uint16_t kDataPort = 0x511;
    static constexpr uint16_t kDmaAddressPort = 0x514; // high half; low half at 0x518
    static constexpr uint16_t kDmaAddressLowPort = 0x518;

    // Well-known keys (qemu_fw_cfg.h).
    static constexpr uint16_t kSignature = 0x00;
    static constexpr uint16_t kId = 0x01;
    static constexpr uint16_t kUuid = 0x02;
    static constexpr uint16_t kRamSize = 0x03;
    static constexpr uint16_t kNoGraphic = 0x04;
    static constexpr uint16_t kNbCpus = 0x05;
    static constexpr uint16_t kMachineId = 0x06;
    static constexpr uint16_t kKernelAddr = 0x07;
    static constexpr uint16_t kKernelSize = 0x08;
    static constexpr uint16_t kKernelCmdline = 0x09;
    static constexpr uint16_t kInitrdAddr = 0x0A;
    static constexpr uint16_t kInitrdSize = 0x0B;
    static constexpr uint16_t kBootDevice = 0x0C;
    static constexpr uint16_t kNuma = 0x0D;
    static constexpr uint16_t kBootMenu = 0x0E;
    static constexpr uint16_t kMaxCpus = 0x0F;
    static constexpr uint16_t kKernelEntry = 0x10;
    static constexpr uint16_t kKernelData = 0x11;
    static constexpr uint16_t kInitrdData = 0x12;
    static constexpr uint16_t kCmdlineAddr = 0x13;
    static constexpr uint16_t kCmdlineSize = 0x14;
    static constexpr uint16_t kCmdlineData = 0x15;
    static constexpr uint16_t kSetupAddr = 0x16;
    static constexpr uint16_t kSetupSize = 0x17;
    static constexpr uint16_t kSetupData = 0x18;
    static constexpr uint16_t kFileDir = 0x19;
    static constexpr uint16_t kFileFirst = 0x20;
    static constexpr uint16_t kWriteChannel = 0x4000;
    static constexpr uint16_t kArchLocal = 0x8000;

    // FW_CFG_ID bits: the traditional interface, the DMA interface.
    static constexpr uint32_t kIdTraditional = 0x01;
    static constexpr uint32_t kIdDma = 0x02;
    // FWCfgDmaAccess control bits.
    static constexpr uint32_t kDmaError = 0x01;
    static constexpr uint32_t kDmaRead = 0x02;
    static constexpr uint32_t kDmaSkip = 0x04;
    static constexpr uint32_t kDmaSelect = 0x08;
    static constexpr uint32_t kDmaWrite = 0x10;

    // QEMU's default "x-file-slots" for current machine types.
    static constexpr uint16_t kDefaultFileSlots = 0x20;
    static constexpr size_t kFileNameSize = 56;
    static constexpr size_t kFileDirEntrySize = 64;

    // `dma` may be null: the device then has no DMA interface (FW_CFG_ID bit 1 clear, the DMA
    // ports read all ones). The signature "QEMU" and the ID item are present from the start.
    FwCfg(DmaMemory* dma, DeviceLog* log, uint16_t file_slots = kDefaultFileSlots);

    // Installs (or replaces) an item under `key`. False if the key lies outside the table.
    bool set_item(uint16_t key, std::vector<uint8_t> bytes, bool writable = false);
    // fw_cfg_add_i16/i32/i64: little-endian numbers.
    bool set_le16(uint16_t key, uint16_t value);
    bool set_le32(uint16_t key, uint32_t value);
    bool set_le64(uint16_t key, uint64_t value);
    // Adds a named file, kept sorted by name (later files may move existing ones to other
    // selectors, as in QEMU). False if the name is empty, too long (56 bytes with its NUL),
    // already present, or every slot is taken.
    bool add_file(std::string_view name, std::vector<uint8_t> bytes, bool writable = false);
    // The selector of a file, if present.
    std::optional<uint16_t> file_selector(std::string_view name) const;
    // The bytes of an item (after guest DMA writes, for writable items); null if absent.
    const std::vector<uint8_t>* item(uint16_t key) const;

    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;

  private:
    // The bytes are shared between copies of the device (snapshots for reverse execution
    // copy it, and a kernel and initrd can be tens of MiB); a DMA write into a writable item
    // replaces them.
    struct Item {
        std::shared_ptr<const std::vector<uint8_t>> bytes;
        bool present = false;
        bool writable = false;
    };
    struct File {
        std::string name;
        Item item;
    };

    Item* find(uint16_t key);
    const Item* find(uint16_t key) const;
    void select(uint16_t key);
    uint8_t read_data_byte();
    void write_dma_address(uint16_t port, uint32_t value);
    void dma_transfer(uint64_t descriptor_address);
    uint32_t dma_run(uint32_t control, uint32_t length, uint64_t address);
    bool dma_fill_zero(uint64_t address, uint32_t length);
    void rebuild_file_dir();
    void unmodelled(std::string_view what);

    static constexpr uint16_t kInvalid = 0xFFFF;
    DmaMemory* dma_;
    DeviceLog* log_;
    uint16_t file_slots_;
    std::vector<Item> items_;      // keys 0 .. kFileFirst-1 (files live in files_)
    std::vector<Item> arch_items_; // kArchLocal | 0 .. kFileFirst + file_slots - 1
    std::vector<File> files_;      // sorted by name; file i is key kFileFirst + i
    uint16_t current_ = kSignature;
    uint32_t offset_ = 0;
    uint64_t dma_address_ = 0;
    bool data_write_logged_ = false;
};

// struct e820_entry { le64 address; le64 length; le32 type; } (packed, 20 bytes), the
// "etc/e820" file's records (hw/i386/e820_memory_layout.h).
struct E820Entry {
    static constexpr uint32_t kRam = 1;
    static constexpr uint32_t kReserved = 2;
    uint64_t address = 0;
    uint64_t length = 0;
    uint32_t type = kRam;
};
std::vector<uint8_t> e820_file(std::span<const E820Entry> entries);
// "bootorder": the device paths, each followed by '\n' except the last, which ends in NUL
// (QEMU's get_boot_devices_list); empty when there are none.
std::vector<uint8_t> bootorder_file(std::span<const std::string> device_paths);
// "etc/sercon-port": the I/O port SeaBIOS sends INT 10h text to (le16; romfile_loadint).
std::vector<uint8_t> sercon_port_file(uint16_t port);

// The items QEMU's x86 machines install (fw_cfg_arch_create, fw_cfg_common_realize).
struct FwCfgMachine {
    uint64_t ram_size = 0;  // FW_CFG_RAM_SIZE, le64
    uint16_t boot_cpus = 1; // FW_CFG_NB_CPUS, le16
    uint16_t max_cpus = 1;  // FW_CFG_MAX_CPUS, le16: the APIC-ID limit
    bool boot_menu = false; // FW_CFG_BOOT_MENU, le16
    bool no_graphic = true; // FW_CFG_NOGRAPHIC, le16
};
void install_machine_items(FwCfg& fw_cfg, const FwCfgMachine& machine);

// QEMU's -kernel route (x86_load_linux): addresses and sizes as le32, data as bytes; the
// command line's data ends in NUL and its size counts the NUL.
struct FwCfgLinuxBoot {
    uint32_t setup_addr = 0;
    std::vector<uint8_t> setup;
    uint32_t kernel_addr = 0;
    std::vector<uint8_t> kernel;
    uint32_t initrd_addr = 0;
    std::vector<uint8_t> initrd;
    uint32_t cmdline_addr = 0;
    std::string cmdline;
};
void install_linux_boot(FwCfg& fw_cfg, const FwCfgLinuxBoot& boot);

} // namespace transit86::pc
