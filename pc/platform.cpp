#include "pc/platform.hpp"

#include <algorithm>
#include <stdexcept>

#include "pc/byte_lanes.hpp"
#include "pc/pc_cmos.hpp"

namespace transit86::pc {

namespace {

constexpr uint16_t kDebugconPort = 0x402; // QEMU's isa-debugcon as SeaBIOS's builds expect it
constexpr uint64_t kLocalApicSize = 0x1000;
constexpr uint64_t kIoApicBase = 0xFEC00000;
constexpr uint64_t kIoApicSize = 0x1000;

// PCI slots of QEMU's pc machine (hw/i386/pc_piix.c).
constexpr uint8_t kHostBridgeDevice = 0;
constexpr uint8_t kPiix3Device = 1;
constexpr uint8_t kPiix3IsaFunction = 0, kPiix3IdeFunction = 1, kPiix4PmFunction = 3;

uint64_t all_ones64(uint8_t size) {
    return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
}

} // namespace

PcPlatform::PcPlatform(PcConfig config)
    : memory_(config.ram_bytes, std::move(config.bios)), disk_image_(std::move(config.disk)),
      disc_(std::move(config.cdrom)), floppy_image_(std::move(config.floppy)),
      floppy_journal_(floppy_image_ ? std::make_unique<JournaledBlockBackend>(*floppy_image_)
                                    : nullptr),
      pic_(this), pit_(clock_, *this, this), port61_(clock_, pit_, this),
      rtc_(clock_, *this, this, config.rtc_base),
      com1_(
          Serial16550::kCom1Base, Serial16550::kCom1Irq, *this, clock_,
          [this](uint8_t byte) { serial_out_.push_back(static_cast<char>(byte)); }, this),
      debugcon_(kDebugconPort,
                [this](uint8_t byte) { debugcon_out_.push_back(static_cast<char>(byte)); }),
      port92_([this](bool enabled) { set_a20(enabled); },
              [this] { request(PlatformRequest::Reset); }),
      kbc_(
          *this, [this](bool enabled) { set_a20(enabled); },
          [this] { request(PlatformRequest::Reset); }, this),
      fw_cfg_(&memory_, this), pci_(this), isa_bridge_(this), bus_master_(memory_, this),
      pm_(clock_, *this, this),
      acpi_hotplug_((1u << kHostBridgeDevice) | (1u << kPiix3Device), config.cpus, this),
      dma_(memory_, this), fdc_(floppy_journal_.get(), *this, dma_, this), local_apic_(0, this),
      io_apic_(kQemuIoApicVersion, this), icount_shift_(config.icount_shift) {
    if (icount_shift_ > kMaxIcountShift)
        throw std::invalid_argument("icount shift " + std::to_string(icount_shift_) +
                                    " is more than " + std::to_string(kMaxIcountShift));
    if (config.cpus != 1) throw std::invalid_argument("the transit86 PC has one CPU (--cpus 1)");
    if (disc_ && !AtapiCdrom::holds_a_sector(*disc_))
        throw std::invalid_argument("the CD-ROM image is smaller than one 2048-byte sector");

    map_ports(0x20, 2, &pic_);
    map_ports(0xA0, 2, &pic_);
    map_ports(I8259Pair::kElcrMaster, 2, &pic_);
    map_ports(I8254Pit::kCounter0, 4, &pit_);
    map_ports(SystemControlPortB::kPort, 1, &port61_);
    map_ports(I8042::kDataPort, 1, &kbc_);
    map_ports(I8042::kCommandPort, 1, &kbc_);
    map_ports(CmosRtc::kIndexPort, 2, &rtc_);
    map_ports(Port92::kPort, 1, &port92_);
    map_ports(Serial16550::kCom1Base, 8, &com1_);
    map_ports(kDebugconPort, 1, &debugcon_);
    map_ports(DebugExit::kQemuDefaultPort, DebugExit::kQemuDefaultSize, &debug_exit_);
    map_ports(FwCfg::kSelectorPort, 2, &fw_cfg_);
    map_ports(FwCfg::kDmaAddressPort, 8, &fw_cfg_);
    map_ports(PciBus::kConfigAddress, 8, &pci_);
    map_ports(Piix4Pm::kApmControl, 2, &pm_.apm_ports());
    map_ports(AcpiHotplug::kGpe0Base, AcpiHotplug::kGpe0Size, &acpi_hotplug_);
    map_ports(AcpiHotplug::kPciHotplugBase, AcpiHotplug::kPciHotplugSize, &acpi_hotplug_);
    map_ports(AcpiHotplug::kCpuHotplugBase, AcpiHotplug::kCpuHotplugSize, &acpi_hotplug_);
    map_ports(I8237Dma::kDma1Base, I8237Dma::kDma1Size, &dma_);
    map_ports(I8237Dma::kDma2Base, I8237Dma::kDma2Size, &dma_);
    for (const uint16_t port : I8237Dma::kPagePorts)
        map_ports(port, 1, &dma_);
    map_ports(FloppyController::kBase, 6, &fdc_); // 0x3F6 is the primary IDE channel's
    map_ports(FloppyController::kDigitalInput, 1, &fdc_);

    pci_.attach(kHostBridgeDevice, 0, host_bridge_);
    pci_.attach(kPiix3Device, kPiix3IsaFunction, isa_bridge_);
    pci_.attach(kPiix3Device, kPiix3IdeFunction, ide_);
    pci_.attach(kPiix3Device, kPiix4PmFunction, pm_);
    pci_.set_reset_control(isa_bridge_);
    isa_bridge_.on_reset_request = [this] { request(PlatformRequest::Reset); };
    host_bridge_.on_pam_change = [this](const auto& modes) {
        memory_.set_pam(modes);
        memory_map_changed_ = true;
    };
    ide_.on_bus_master_window_change = [this](uint16_t base) { map_bus_master_window(base); };
    pm_.on_io_window_change = [this](bool enabled, uint16_t base) {
        map_pm_window(enabled ? base : 0);
    };
    pm_.on_sleep = [this](unsigned sleep_type) {
        // QEMU's piix4: sleep type 0 is S5 in the DSDT SeaBIOS and QEMU ship (\_S5 = 0).
        if (sleep_type == 0)
            request(PlatformRequest::PowerOff);
        else
            unmodelled("piix4-pm", "sleep type " + std::to_string(sleep_type) + " (only S5)");
    };

    const auto map_channel = [this](const IdeChannelPorts& channel, IoDevice* drive) {
        map_ports(channel.command_block, 8, drive);
        map_ports(channel.device_control, 1, drive);
    };
    map_channel(kPrimaryIdeChannel, &empty_ide_);
    map_channel(kSecondaryIdeChannel, &empty_ide_);
    if (disc_) {
        cdrom_ = std::make_unique<AtapiCdrom>(*disc_, static_cast<IrqLines&>(*this),
                                              static_cast<DeviceLog*>(this));
        map_channel(kSecondaryIdeChannel, cdrom_.get());
        cdrom_->attach_bus_master(bus_master_, 1);
    }
    std::optional<PcCmosDisk> cmos_disk;
    if (disk_image_) {
        disk_journal_ = std::make_unique<JournaledBlockBackend>(*disk_image_);
        ata_ = std::make_unique<AtaDisk>(*disk_journal_, static_cast<IrqLines&>(*this),
                                         static_cast<DeviceLog*>(this));
        map_channel(kPrimaryIdeChannel, ata_.get());
        ata_->attach_bus_master(bus_master_, 0);
        const AtaDisk::Geometry g = AtaDisk::default_geometry(disk_image_->sector_count());
        // QEMU's pc_cmos_init_late: LBA translation once the disk outgrows 1024 cylinders.
        cmos_disk = PcCmosDisk{.cylinders = g.cylinders,
                               .heads = static_cast<uint8_t>(g.heads),
                               .sectors = static_cast<uint8_t>(g.sectors_per_track),
                               .translation = static_cast<uint8_t>(g.cylinders > 1024 ? 1 : 0)};
    }
    PcCmosConfig cmos{.below_4g_bytes = memory_.ram_size(), .cpus = config.cpus};
    if (fdc_.format()) cmos.floppy_type = fdc_.format()->cmos_type;
    cmos.disks[0] = cmos_disk;
    fill_pc_cmos(rtc_, cmos);
    install_firmware_config(config);
}

void PcPlatform::install_firmware_config(const PcConfig& config) {
    install_machine_items(fw_cfg_, FwCfgMachine{.ram_size = memory_.ram_size(),
                                                .boot_cpus = static_cast<uint16_t>(config.cpus),
                                                .max_cpus = static_cast<uint16_t>(config.cpus)});
    // QEMU's pc_memory_init: one RAM entry for all memory below 4 GiB; SeaBIOS carves its own
    // reservations out of it.
    const E820Entry ram{.address = 0, .length = memory_.ram_size(), .type = E820Entry::kRam};
    fw_cfg_.add_file("etc/e820", e820_file({&ram, 1}));
    // INT 10h text to COM1 (SeaBIOS's sercon): the machine has no VGA.
    fw_cfg_.add_file("etc/sercon-port", sercon_port_file(Serial16550::kCom1Base));
    if (!config.boot_order.empty())
        fw_cfg_.add_file("bootorder", bootorder_file(config.boot_order));
    for (const auto& [name, rom] : config.option_roms)
        fw_cfg_.add_file("genroms/" + name, rom);
    if (config.linux_boot) install_linux_boot(fw_cfg_, *config.linux_boot);
    if (config.multiboot) install_multiboot(fw_cfg_, *config.multiboot);
}

void PcPlatform::map_ports(uint16_t first, uint16_t count, IoDevice* device) {
    for (uint32_t port = first; port < uint32_t{first} + count && port < ports_.size(); ++port)
        ports_[port] = device;
}

// A block a guest places with a PCI register (PMBA, BMIBA) at `base` (0: nowhere). The guest
// can put it over other devices' ports; QEMU leaves the order of overlapping I/O regions of
// equal priority undefined, and decodes the devices under the block again once it moves away.
// Here the devices keep their ports and the block takes the free ones of its window, so that
// moving it never unmaps a device.
void PcPlatform::move_window(IoDevice* block, uint16_t size, uint16_t& current, uint16_t base) {
    const auto replace = [this, size](uint16_t first, IoDevice* from, IoDevice* to) {
        for (uint32_t port = first; port < uint32_t{first} + size; ++port)
            if (port < ports_.size() && ports_[port] == from) ports_[port] = to;
    };
    if (current != 0) replace(current, block, nullptr);
    current = base;
    if (current != 0) replace(current, nullptr, block);
}

void PcPlatform::map_pm_window(uint16_t base) {
    move_window(&pm_.pm_registers(), Piix4Pm::kBlockSize, pm_window_base_, base);
}

void PcPlatform::map_bus_master_window(uint16_t base) {
    move_window(&bus_master_, IdeBusMaster::kSize, bus_master_window_base_, base);
}

PcPlatform::Snapshot::Snapshot(const PcPlatform& p)
    : clock(p.clock_), serial_out(p.serial_out_), debugcon_out(p.debugcon_out_), log(p.log_),
      logged(p.logged_), unclaimed_ports(p.unclaimed_ports_), unassigned_pages(p.unassigned_pages_),
      request(p.request_), a20(p.a20_), pm_window_base(p.pm_window_base_),
      bus_master_window_base(p.bus_master_window_base_), memory_map_changed(p.memory_map_changed_),
      run_deadline_ns(p.run_deadline_ns_),
      disk_journal_mark(p.disk_journal_ ? p.disk_journal_->mark() : 0),
      floppy_journal_mark(p.floppy_journal_ ? p.floppy_journal_->mark() : 0), pic(p.pic_),
      pit(p.pit_), port61(p.port61_), rtc(p.rtc_), com1(p.com1_), debugcon(p.debugcon_),
      debug_exit(p.debug_exit_), port92(p.port92_), kbc(p.kbc_), fw_cfg(p.fw_cfg_), pci(p.pci_),
      host_bridge(p.host_bridge_), isa_bridge(p.isa_bridge_), ide(p.ide_),
      bus_master(p.bus_master_), pm(p.pm_), acpi_hotplug(p.acpi_hotplug_), dma(p.dma_), fdc(p.fdc_),
      local_apic(p.local_apic_), io_apic(p.io_apic_) {
    if (p.ata_) ata.emplace(*p.ata_);
    if (p.cdrom_) cdrom.emplace(*p.cdrom_);
}

size_t PcPlatform::Snapshot::bytes() const {
    size_t n = sizeof(*this) + serial_out.size() + debugcon_out.size();
    for (const std::string& line : log)
        n += sizeof(line) + line.size();
    for (const std::string& line : logged)
        n += 64 + line.size(); // a set node and its string
    return n + 48 * (unclaimed_ports.size() + unassigned_pages.size());
}

void PcPlatform::restore(const Snapshot& snapshot) {
    clock_ = snapshot.clock;
    serial_out_ = snapshot.serial_out;
    debugcon_out_ = snapshot.debugcon_out;
    log_ = snapshot.log;
    logged_ = snapshot.logged;
    unclaimed_ports_ = snapshot.unclaimed_ports;
    unassigned_pages_ = snapshot.unassigned_pages;
    request_ = snapshot.request;
    run_deadline_ns_ = snapshot.run_deadline_ns;
    if (disk_journal_) disk_journal_->undo_to(snapshot.disk_journal_mark);
    if (floppy_journal_) floppy_journal_->undo_to(snapshot.floppy_journal_mark);
    restore_device(pic_, snapshot.pic);
    restore_device(pit_, snapshot.pit);
    restore_device(port61_, snapshot.port61);
    restore_device(rtc_, snapshot.rtc);
    restore_device(com1_, snapshot.com1);
    restore_device(debugcon_, snapshot.debugcon);
    restore_device(debug_exit_, snapshot.debug_exit);
    restore_device(port92_, snapshot.port92);
    restore_device(kbc_, snapshot.kbc);
    restore_device(fw_cfg_, snapshot.fw_cfg);
    restore_device(pci_, snapshot.pci);
    restore_device(host_bridge_, snapshot.host_bridge);
    restore_device(isa_bridge_, snapshot.isa_bridge);
    restore_device(ide_, snapshot.ide);
    restore_device(pm_, snapshot.pm);
    restore_device(acpi_hotplug_, snapshot.acpi_hotplug);
    restore_device(dma_, snapshot.dma);
    restore_device(fdc_, snapshot.fdc);
    if (ata_ && snapshot.ata) restore_device(*ata_, *snapshot.ata);
    if (cdrom_ && snapshot.cdrom) restore_device(*cdrom_, *snapshot.cdrom);
    restore_device(local_apic_, snapshot.local_apic);
    restore_device(io_apic_, snapshot.io_apic);
    map_pm_window(snapshot.pm_window_base);
    restore_device(bus_master_, snapshot.bus_master);
    map_bus_master_window(snapshot.bus_master_window_base);
    // The memory map follows the bridge's PAM registers (set_pam changes the generation only
    // when the map changes).
    memory_.set_pam(host_bridge_.pam_modes());
    memory_map_changed_ = snapshot.memory_map_changed;
    a20_ = snapshot.a20;
    if (on_a20) on_a20(a20_);
}

void PcPlatform::set_a20(bool enabled) {
    a20_ = enabled;
    port92_.observe_a20(enabled);
    if (on_a20) on_a20(enabled);
}

PortHandler::Result PcPlatform::access(PortAccess& access) {
    if (time_source) advance_to(time_source());
    const bool intr_before = pic_.interrupt_pending();
    const uint64_t dma_writes_before = memory_.dma_writes();
    IoDevice* device = ports_[access.port];
    if (access.is_in) {
        if (device) {
            access.data = device->io_read(access.port, access.size);
        } else {
            access.data = all_ones(access.size);
            unclaimed_ports_.insert(access.port);
        }
    } else {
        if (device)
            device->io_write(access.port, access.size, access.data);
        else
            unclaimed_ports_.insert(access.port);
        if (debug_exit_.value() && request_ == PlatformRequest::None)
            request(PlatformRequest::DebugExit);
    }
    // Only fw_cfg's DMA interface writes guest RAM from a port access (as a DMA write).
    access.guest_memory_untouched = memory_.dma_writes() == dma_writes_before;
    const bool exit = memory_map_changed_ || request_ != PlatformRequest::None ||
                      (!intr_before && pic_.interrupt_pending()) ||
                      next_event_ns() < run_deadline_ns_ ||
                      (exit_on_serial_ && !serial_out_.empty());
    memory_map_changed_ = false;
    return exit ? Result::ExitToHost : Result::Handled;
}

uint64_t PcPlatform::steady_read(PortAccess& access) {
    IoDevice* device = ports_[access.port];
    if (!access.is_in || !device) return 0;
    const uint64_t now = time_source ? time_source() : clock_.now_ns();
    advance_to(now);
    const uint64_t next_event = next_event_ns();
    if (memory_map_changed_ || request_ != PlatformRequest::None || next_event < run_deadline_ns_)
        return 0;
    const std::optional<SteadyRead> steady = device->steady_read(access.port, access.size);
    if (!steady) return 0;
    const uint64_t until = std::min(steady->until_ns, next_event);
    if (until <= now) return 0;
    access.data = steady->value;
    // Instruction k from now starts at now + k * 2^shift: the first `(until - now) >> shift`
    // of them start before `until`.
    return (until - now) >> icount_shift_;
}

void PcPlatform::mmio(uint64_t gpa, uint8_t size, bool write, uint64_t& data) {
    if (time_source) advance_to(time_source());
    if (gpa >= LocalApicWindow::kBase && gpa < LocalApicWindow::kBase + kLocalApicSize) {
        if (write)
            local_apic_.mmio_write(gpa - LocalApicWindow::kBase, size, data);
        else
            data = local_apic_.mmio_read(gpa - LocalApicWindow::kBase, size);
        return;
    }
    if (gpa >= kIoApicBase && gpa < kIoApicBase + kIoApicSize) {
        if (write)
            io_apic_.mmio_write(gpa - kIoApicBase, size, data);
        else
            data = io_apic_.mmio_read(gpa - kIoApicBase, size);
        return;
    }
    if (memory_.handle_mmio(gpa, size, write, data)) return;
    if (!write) data = all_ones64(size);
    unassigned_pages_.insert(gpa & ~uint64_t{0xFFF});
}

void PcPlatform::advance_to(uint64_t ns) {
    clock_.advance_to(ns);
    pit_.advance();
    rtc_.advance();
    com1_.advance();
    pm_.advance();
}

uint64_t PcPlatform::next_event_ns() const {
    return std::min(
        {pit_.next_event_ns(), rtc_.next_event_ns(), com1_.next_event_ns(), pm_.next_event_ns()});
}

void PcPlatform::unmodelled(std::string_view device, std::string_view what) {
    std::string line = std::string(device) + ": " + std::string(what);
    if (logged_.insert(line).second) log_.push_back(std::move(line));
}

std::string PcPlatform::take_serial() {
    std::string out;
    out.swap(serial_out_);
    return out;
}

std::string PcPlatform::take_debugcon() {
    std::string out;
    out.swap(debugcon_out_);
    return out;
}

std::vector<std::string> PcPlatform::take_log() {
    std::vector<std::string> out;
    out.swap(log_);
    return out;
}

} // namespace transit86::pc
