#include "pc/fw_cfg.hpp"

#include <algorithm>
#include <array>

namespace transit86::pc {

namespace {

constexpr uint16_t kEntryMask = 0x3FFF; // FW_CFG_ENTRY_MASK: without write channel, arch bits
constexpr std::array<uint8_t, 8> kDmaSignature = {'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};
constexpr size_t kDmaDescriptorSize = 16;

void put_be(std::span<uint8_t> out, uint64_t value) {
    for (size_t i = 0; i < out.size(); ++i)
        out[out.size() - 1 - i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t get_be(std::span<const uint8_t> in) {
    uint64_t value = 0;
    for (uint8_t byte : in)
        value = (value << 8) | byte;
    return value;
}

std::vector<uint8_t> le_bytes(uint64_t value, size_t size) {
    std::vector<uint8_t> out(size);
    for (size_t i = 0; i < size; ++i)
        out[i] = static_cast<uint8_t>(value >> (8 * i));
    return out;
}

std::shared_ptr<const std::vector<uint8_t>> shared_bytes(std::vector<uint8_t> bytes) {
    return std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
}

uint32_t byte_swap32(uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

} // namespace

FwCfg::FwCfg(DmaMemory* dma, DeviceLog* log, uint16_t file_slots)
    : dma_(dma), log_(log), file_slots_(file_slots), items_(kFileFirst),
      arch_items_(size_t{kFileFirst} + file_slots) {
    // fw_cfg_common_realize: the signature and the interface ID are always there.
    set_item(kSignature, {'Q', 'E', 'M', 'U'});
    set_le32(kId, kIdTraditional | (dma_ ? kIdDma : 0));
}

bool FwCfg::set_item(uint16_t key, std::vector<uint8_t> bytes, bool writable) {
    const uint16_t index = key & kEntryMask;
    // Files (0x20 and up) and the directory are managed by add_file.
    if (!(key & kArchLocal) && (index >= kFileFirst || index == kFileDir)) return false;
    Item* item = find(key);
    if (!item) return false;
    *item = Item{shared_bytes(std::move(bytes)), true, writable};
    return true;
}

bool FwCfg::set_le16(uint16_t key, uint16_t value) {
    return set_item(key, le_bytes(value, 2));
}
bool FwCfg::set_le32(uint16_t key, uint32_t value) {
    return set_item(key, le_bytes(value, 4));
}
bool FwCfg::set_le64(uint16_t key, uint64_t value) {
    return set_item(key, le_bytes(value, 8));
}

bool FwCfg::add_file(std::string_view name, std::vector<uint8_t> bytes, bool writable) {
    if (name.empty() || name.size() >= kFileNameSize || files_.size() >= file_slots_ ||
        name.find('\0') != std::string_view::npos || file_selector(name))
        return false;
    // QEMU (non-legacy machine types) inserts in strcmp order; selectors follow the order.
    auto at = std::upper_bound(files_.begin(), files_.end(), name,
                               [](std::string_view n, const File& f) { return n < f.name; });
    files_.insert(at,
                  File{std::string(name), Item{shared_bytes(std::move(bytes)), true, writable}});
    rebuild_file_dir();
    return true;
}

std::optional<uint16_t> FwCfg::file_selector(std::string_view name) const {
    for (size_t i = 0; i < files_.size(); ++i)
        if (files_[i].name == name) return static_cast<uint16_t>(kFileFirst + i);
    return std::nullopt;
}

const std::vector<uint8_t>* FwCfg::item(uint16_t key) const {
    const Item* found = find(key);
    return found && found->present ? found->bytes.get() : nullptr;
}

FwCfg::Item* FwCfg::find(uint16_t key) {
    return const_cast<Item*>(static_cast<const FwCfg*>(this)->find(key));
}

const FwCfg::Item* FwCfg::find(uint16_t key) const {
    const uint16_t index = key & kEntryMask;
    if (key & kArchLocal) return index < arch_items_.size() ? &arch_items_[index] : nullptr;
    if (index < kFileFirst) return &items_[index];
    const size_t file = index - kFileFirst;
    return file < files_.size() ? &files_[file].item : nullptr;
}

// The directory has room for every slot, as QEMU allocates it (unused entries are zero).
void FwCfg::rebuild_file_dir() {
    std::vector<uint8_t> dir(4 + kFileDirEntrySize * file_slots_, 0);
    put_be(std::span(dir).first(4), files_.size());
    for (size_t i = 0; i < files_.size(); ++i) {
        std::span<uint8_t> entry = std::span(dir).subspan(4 + i * kFileDirEntrySize);
        put_be(entry.first(4), files_[i].item.bytes->size());
        put_be(entry.subspan(4, 2), kFileFirst + i);
        std::copy(files_[i].name.begin(), files_[i].name.end(), entry.begin() + 8);
    }
    items_[kFileDir] = Item{shared_bytes(std::move(dir)), true, false};
}

// fw_cfg_select: keys beyond the table select nothing; the offset always rewinds.
void FwCfg::select(uint16_t key) {
    offset_ = 0;
    current_ = (key & kEntryMask) >= kFileFirst + file_slots_ ? kInvalid : key;
}

uint8_t FwCfg::read_data_byte() {
    const Item* item = current_ == kInvalid ? nullptr : find(current_);
    if (!item || !item->present || offset_ >= item->bytes->size()) return 0;
    return (*item->bytes)[offset_++];
}

uint32_t FwCfg::io_read(uint16_t port, uint8_t size) {
    if (port == kSelectorPort || port == kDataPort) {
        // QEMU's combined x86 region takes byte reads only (fw_cfg_comb_valid).
        if (size == 1) return read_data_byte();
        unmodelled("data read wider than a byte");
        return 0;
    }
    if (dma_ && port >= kDmaAddressPort && port < kDmaAddressPort + kDmaSignature.size()) {
        uint32_t value = 0;
        for (uint8_t lane = 0; lane < size && lane < 4; ++lane) {
            const size_t at = port - kDmaAddressPort + lane;
            const uint8_t byte = at < kDmaSignature.size() ? kDmaSignature[at] : 0xFF;
            value |= uint32_t{byte} << (8 * lane);
        }
        return value;
    }
    return all_ones(size);
}

void FwCfg::io_write(uint16_t port, uint8_t size, uint32_t value) {
    if (port == kSelectorPort && size == 2) {
        select(static_cast<uint16_t>(value));
    } else if ((port == kSelectorPort || port == kDataPort) && size == 1) {
        // Write support was removed in QEMU 2.4; the byte is dropped.
        if (!data_write_logged_) unmodelled("data port write (ignored since QEMU 2.4)");
        data_write_logged_ = true;
    } else if (port == kSelectorPort || port == kDataPort) {
        unmodelled("selector/data access of an unsupported width");
    } else if (dma_ && (port == kDmaAddressPort || port == kDmaAddressLowPort) && size == 4) {
        write_dma_address(port, value);
    } else if (dma_ && port >= kDmaAddressPort && port < kDmaAddressPort + 8) {
        unmodelled("DMA address write other than 32 bits at 0x514 or 0x518");
    }
}

// The register is big-endian: the bytes the guest writes to 0x514..0x517 in port order are
// the high half, most significant first (SeaBIOS writes cpu_to_be32(addr >> 32)).
void FwCfg::write_dma_address(uint16_t port, uint32_t value) {
    const uint64_t half = byte_swap32(value);
    if (port == kDmaAddressPort) {
        dma_address_ = half << 32;
        return;
    }
    const uint64_t descriptor = dma_address_ | half;
    dma_address_ = 0; // QEMU resets the address before the next access
    dma_transfer(descriptor);
}

void FwCfg::dma_transfer(uint64_t descriptor_address) {
    std::array<uint8_t, kDmaDescriptorSize> descriptor{};
    std::array<uint8_t, 4> control{};
    if (!dma_->dma_read(descriptor_address, descriptor)) {
        put_be(control, kDmaError);
        dma_->dma_write(descriptor_address, control); // may fail too: nothing more to do
        return;
    }
    const auto result = dma_run(static_cast<uint32_t>(get_be(std::span(descriptor).first(4))),
                                static_cast<uint32_t>(get_be(std::span(descriptor).subspan(4, 4))),
                                get_be(std::span(descriptor).subspan(8, 8)));
    put_be(control, result);
    dma_->dma_write(descriptor_address, control);
}

// fw_cfg_dma_transfer: returns the control word to store (0 or the error bit).
uint32_t FwCfg::dma_run(uint32_t control, uint32_t length, uint64_t address) {
    if (control & kDmaSelect) select(static_cast<uint16_t>(control >> 16));
    const bool read = control & kDmaRead;
    const bool write = !read && (control & kDmaWrite);
    if (!read && !write && !(control & kDmaSkip)) length = 0;

    uint32_t result = 0;
    while (length > 0 && !(result & kDmaError)) {
        Item* item = current_ == kInvalid ? nullptr : find(current_);
        uint32_t chunk = length;
        if (!item || !item->present || offset_ >= item->bytes->size()) {
            // Past the end (or no item): reads give zeros, writes fail.
            if (read && !dma_fill_zero(address, chunk)) result |= kDmaError;
            if (write) result |= kDmaError;
        } else {
            chunk =
                static_cast<uint32_t>(std::min<uint64_t>(length, item->bytes->size() - offset_));
            const std::span<const uint8_t> bytes = std::span(*item->bytes).subspan(offset_, chunk);
            if (read && !dma_->dma_write(address, bytes)) result |= kDmaError;
            if (write) {
                // All or nothing, within the item, into a writable item only.
                std::vector<uint8_t> incoming(chunk);
                if (!item->writable || chunk != length || !dma_->dma_read(address, incoming)) {
                    result |= kDmaError;
                } else {
                    auto written = std::make_shared<std::vector<uint8_t>>(*item->bytes);
                    std::copy(incoming.begin(), incoming.end(), written->begin() + offset_);
                    item->bytes = std::move(written);
                }
            }
            offset_ += chunk;
        }
        address += chunk;
        length -= chunk;
    }
    return result;
}

bool FwCfg::dma_fill_zero(uint64_t address, uint32_t length) {
    static constexpr std::array<uint8_t, 4096> kZeros{};
    while (length > 0) {
        const uint32_t chunk = std::min<uint32_t>(length, kZeros.size());
        if (!dma_->dma_write(address, std::span(kZeros).first(chunk))) return false;
        address += chunk;
        length -= chunk;
    }
    return true;
}

void FwCfg::unmodelled(std::string_view what) {
    if (log_) log_->unmodelled("fw_cfg", what);
}

std::vector<uint8_t> e820_file(std::span<const E820Entry> entries) {
    std::vector<uint8_t> out;
    out.reserve(entries.size() * 20);
    for (const E820Entry& e : entries) {
        for (auto [value, size] :
             {std::pair<uint64_t, size_t>{e.address, 8}, {e.length, 8}, {e.type, 4}}) {
            const std::vector<uint8_t> bytes = le_bytes(value, size);
            out.insert(out.end(), bytes.begin(), bytes.end());
        }
    }
    return out;
}

std::vector<uint8_t> bootorder_file(std::span<const std::string> device_paths) {
    std::vector<uint8_t> out;
    for (const std::string& path : device_paths) {
        if (!out.empty()) out.back() = '\n';
        out.insert(out.end(), path.begin(), path.end());
        out.push_back('\0');
    }
    return out;
}

std::vector<uint8_t> sercon_port_file(uint16_t port) {
    return le_bytes(port, 2);
}

void install_machine_items(FwCfg& fw_cfg, const FwCfgMachine& machine) {
    constexpr uint16_t kIrq0Override = FwCfg::kArchLocal | 2;
    fw_cfg.set_item(FwCfg::kUuid, std::vector<uint8_t>(16, 0));
    fw_cfg.set_le16(FwCfg::kNoGraphic, machine.no_graphic ? 1 : 0);
    fw_cfg.set_le16(FwCfg::kBootMenu, machine.boot_menu ? 1 : 0);
    fw_cfg.set_le16(FwCfg::kNbCpus, machine.boot_cpus);
    fw_cfg.set_le16(FwCfg::kMaxCpus, machine.max_cpus);
    fw_cfg.set_le64(FwCfg::kRamSize, machine.ram_size);
    fw_cfg.set_le32(kIrq0Override, 1);
    // NUMA: one word for the node count (0), one per APIC ID (node 0), no per-node sizes.
    fw_cfg.set_item(FwCfg::kNuma, std::vector<uint8_t>((1 + size_t{machine.max_cpus}) * 8, 0));
    // fw_cfg_reboot: le32 -1 = SeaBIOS never reboots after a failed boot.
    fw_cfg.add_file("etc/boot-fail-wait", le_bytes(0xFFFFFFFFu, 4));
}

void install_linux_boot(FwCfg& fw_cfg, const FwCfgLinuxBoot& boot) {
    const auto size32 = [](size_t n) { return static_cast<uint32_t>(n); };
    fw_cfg.set_le32(FwCfg::kCmdlineAddr, boot.cmdline_addr);
    fw_cfg.set_le32(FwCfg::kCmdlineSize, size32(boot.cmdline.size() + 1));
    std::vector<uint8_t> cmdline(boot.cmdline.begin(), boot.cmdline.end());
    cmdline.push_back('\0');
    fw_cfg.set_item(FwCfg::kCmdlineData, std::move(cmdline));
    if (!boot.initrd.empty()) {
        fw_cfg.set_le32(FwCfg::kInitrdAddr, boot.initrd_addr);
        fw_cfg.set_le32(FwCfg::kInitrdSize, size32(boot.initrd.size()));
        fw_cfg.set_item(FwCfg::kInitrdData, boot.initrd);
    }
    fw_cfg.set_le32(FwCfg::kKernelAddr, boot.kernel_addr);
    fw_cfg.set_le32(FwCfg::kKernelSize, size32(boot.kernel.size()));
    fw_cfg.set_item(FwCfg::kKernelData, boot.kernel);
    fw_cfg.set_le32(FwCfg::kSetupAddr, boot.setup_addr);
    fw_cfg.set_le32(FwCfg::kSetupSize, size32(boot.setup.size()));
    fw_cfg.set_item(FwCfg::kSetupData, boot.setup);
}

} // namespace transit86::pc
