// The PC platform: QEMU's i440FX "pc" machine as far as SeaBIOS, GRUB and the Linux boot
// protocol need it, wired from the device models of this folder. It knows nothing of the CPU
// that runs the guest: a host (transit86's `boot` command, or a KVM VMM such as
// examples/kvm-vmm) loads slots() into its memory map, sends port I/O to access() (this is a
// transit86::PortHandler) and MMIO to mmio(), injects acknowledge_interrupt()'s vector when
// interrupt_pending() and the guest can take it, and moves virtual time with advance_to().
//
// What is where (QEMU's `-M pc -vga none -nodefaults` plus what -serial/-drive add):
//   0x20/0xA0 8259 pair, 0x4D0 ELCR           0x40-0x43 8254, 0x61 port B
//   0x60/0x64 8042                            0x70/0x71 CMOS/RTC
//   0x92 port A (A20, reset)                  0x3F8 COM1 (IRQ 4)
//   0x402 debugcon (SeaBIOS's log)            0x501 isa-debug-exit
//   0x510/0x511/0x514 fw_cfg                  0xCF8-0xCFF PCI, 0xCF9 reset
//   0x1F0-0x1F7/0x3F6 ATA disk (IRQ 14)       PMBA (set by the BIOS) PIIX4 ACPI, 0xB2/0xB3 APM
//   0x170-0x177/0x376 ATAPI CD-ROM (IRQ 15)   a channel without its drive: empty (reads 0)
//   0x3F0-0x3F5/0x3F7 floppy controller (IRQ 6, DMA 2), a drive A: with --floppy
//   0x00-0x0F/0xC0-0xDF/0x81-0x8F 8237 DMA pair and page registers
//   0xAE00 PCI hotplug, 0xAF00 CPU hotplug, 0xAFE0 GPE0 (QEMU's piix4 ACPI hotplug registers)
//   BMIBA (set by the BIOS) the PIIX bus-master IDE block
//   PCI 00:00.0 i440FX, 00:01.0 PIIX3 ISA, 00:01.1 PIIX3 IDE, 00:01.3 PIIX4 PM
//   0xFEE00000 local APIC, 0xFEC00000 I/O APIC (register windows, no delivery)
// Anything else: reads all ones, writes ignored, and listed (unclaimed_ports()).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pc/acpi_hotplug.hpp"
#include "pc/apic_windows.hpp"
#include "pc/ata_disk.hpp"
#include "pc/atapi_cdrom.hpp"
#include "pc/block_backend.hpp"
#include "pc/cmos_rtc.hpp"
#include "pc/debug_exit.hpp"
#include "pc/debugcon.hpp"
#include "pc/device.hpp"
#include "pc/empty_ide_channel.hpp"
#include "pc/floppy_controller.hpp"
#include "pc/fw_cfg.hpp"
#include "pc/i440fx.hpp"
#include "pc/i8042.hpp"
#include "pc/i8237.hpp"
#include "pc/i8254.hpp"
#include "pc/i8259.hpp"
#include "pc/ide_bus_master.hpp"
#include "pc/memory_map.hpp"
#include "pc/multiboot_loader.hpp"
#include "pc/pci_bus.hpp"
#include "pc/piix3.hpp"
#include "pc/piix3_ide.hpp"
#include "pc/piix4_pm.hpp"
#include "pc/port61.hpp"
#include "pc/port92.hpp"
#include "pc/serial_16550.hpp"
#include "transit86/emulator.hpp"

namespace transit86::pc {

// The OpenFirmware device paths SeaBIOS matches "bootorder" entries against (its
// bootprio_find_ata_device: PIIX3 IDE at 00:01.1, drive@CHANNEL/disk@UNIT), as QEMU writes them
// for a bootindex: the ATA disk and the CD-ROM.
inline constexpr const char* kDiskBootPath = "/pci@i0cf8/ide@1,1/drive@0/disk@0";
inline constexpr const char* kCdromBootPath = "/pci@i0cf8/ide@1,1/drive@1/disk@0";
// The floppy drive A: behind the PIIX3's ISA bridge (SeaBIOS's bootprio_find_fdc_device).
inline constexpr const char* kFloppyBootPath = "/pci@i0cf8/isa@1/fdc@03f0/floppy@0";

struct PcConfig {
    uint64_t ram_bytes = 128ull << 20;    // QEMU's default -m
    std::vector<uint8_t> bios;            // the firmware image (SeaBIOS's bios.bin)
    std::unique_ptr<BlockBackend> disk;   // primary master, or none
    std::unique_ptr<BlockBackend> cdrom;  // the disc in the secondary master CD-ROM, or none
    std::unique_ptr<BlockBackend> floppy; // the diskette in drive A:, or none (no drive)
    // Option ROMs SeaBIOS loads from fw_cfg "genroms/NAME" (e.g. linuxboot_dma.bin).
    std::vector<std::pair<std::string, std::vector<uint8_t>>> option_roms;
    // fw_cfg "bootorder" device paths, in order (QEMU's -boot / bootindex), or none.
    std::vector<std::string> boot_order;
    // The -kernel items, when booting a kernel through fw_cfg: a Linux kernel's, or a multiboot
    // kernel's (QEMU's multiboot_dma.bin route).
    std::optional<FwCfgLinuxBoot> linux_boot;
    std::optional<FwCfgMultiboot> multiboot;
    // The Linux kernel is a 64-bit one (LinuxImage::kernel_64bit): what its setup code needs of
    // the CPU, for the host to say; the platform does not use it.
    bool kernel_64bit = false;
    unsigned cpus = 1;
    RtcDateTime rtc_base{};
    // Each instruction takes 2^icount_shift ns of virtual time (QEMU's -icount shift=N, at most
    // kMaxIcountShift): the host's run loop keeps time so, and steady_read() counts so.
    unsigned icount_shift = 0;
};
inline constexpr unsigned kMaxIcountShift = 10; // QEMU's MAX_ICOUNT_SHIFT

// Why the guest asked the platform to stop.
enum class PlatformRequest : uint8_t {
    None,
    Reset,     // 0xCF9, port 0x92 bit 0, an 8042 pulse or output-port write
    DebugExit, // isa-debug-exit was written (debug_exit_value())
    PowerOff,  // ACPI sleep state S5 through PM1a_CNT (QEMU's piix4 powers off)
};

class PcPlatform final : public PortHandler, private IrqLines, private DeviceLog {
  public:
    // Throws std::invalid_argument (one line) for a configuration QEMU would refuse.
    explicit PcPlatform(PcConfig config);
    PcPlatform(const PcPlatform&) = delete;
    PcPlatform& operator=(const PcPlatform&) = delete;

    // ---- memory
    PcMemoryMap& memory() { return memory_; }
    std::span<const RamSlot> slots() const { return memory_.slots(); }
    uint64_t memory_generation() const { return memory_.generation(); }
    unsigned icount_shift() const { return icount_shift_; }

    // ---- buses. An access returns ExitToHost, ending the host's run after the instruction,
    // when the host must act before the next one: the memory map changed, the guest asked for
    // a stop, the 8259's INTR rose, or (an OUT) a timer was programmed to fire before the
    // deadline of begin_run(). So interrupts arrive at the same instruction however the host
    // slices its runs: a boot is deterministic. For an IN the value is in access.data: the
    // host completes the instruction with it (Emulator::complete_io).
    Result access(PortAccess& access) override;
    // A read of a port whose device promises a steady value (IoDevice::steady_read, today port
    // 0x61): the number of instructions for which it holds, counting one instruction per
    // 2^icount_shift nanoseconds of time_source, cut at the next timer event; 0 while an
    // access would end the run (a timer due before the deadline, a request, a remap). Moves
    // the clock to now, as access() does.
    uint64_t steady_read(PortAccess& access) override;
    // The host starts a run that ends by `deadline_ns` at the latest (next_event_ns()).
    void begin_run(uint64_t deadline_ns) { run_deadline_ns_ = deadline_ns; }
    // MMIO outside the slots: completes the access (reads fill `data`). Never fails: an
    // access nothing answers reads all ones and is logged.
    void mmio(uint64_t gpa, uint8_t size, bool write, uint64_t& data);

    // ---- interrupts: the 8259's INTR pin and the INTA cycle.
    bool interrupt_pending() const { return pic_.interrupt_pending(); }
    uint8_t acknowledge_interrupt() { return pic_.acknowledge(); }
    // The 8259 pair, read-only (its registers, for invariant checks).
    const I8259Pair& pic() const { return pic_; }

    // ---- time
    const VirtualClock& clock() const { return clock_; }
    // Moves virtual time forward to `ns` and lets every timed device catch up.
    void advance_to(uint64_t ns);
    // Where the host's CPU is in virtual time while it runs: consulted before each port or
    // MMIO access, so that a guest polling a timer sees it move within one run (the host's
    // instruction count; without it time moves only at advance_to()).
    std::function<uint64_t()> time_source;
    // The next virtual time at which a device needs advance_to (TimedDevice::kNever: none).
    uint64_t next_event_ns() const;

    // ---- what the guest asked for
    PlatformRequest request() const { return request_; }
    void clear_request() { request_ = PlatformRequest::None; }
    std::optional<uint32_t> debug_exit_value() const { return debug_exit_.value(); }
    bool a20() const { return a20_; }
    // Called when the guest gates A20 (port 0x92 or the 8042), for the CPU's address wrap.
    std::function<void(bool)> on_a20;

    // ---- snapshots, for reverse execution (tools/gdb): every device, the clock, the PAM
    // settings (the memory map follows them), the requests and the output not yet taken, and
    // the disk's write-journal mark. Not the RAM (the host copies memory().ram() itself) and
    // not the ROM (read-only). A snapshot restores into the platform that saved it: its
    // devices' callbacks and references point there (pc/device.hpp restore_device).
    class Snapshot {
      public:
        // Host memory held, roughly (fw_cfg's items are shared, not counted).
        size_t bytes() const;

      private:
        friend class PcPlatform;
        explicit Snapshot(const PcPlatform& p);
        VirtualClock clock;
        std::string serial_out, debugcon_out;
        std::vector<std::string> log;
        std::set<std::string> logged;
        std::set<uint16_t> unclaimed_ports;
        std::set<uint64_t> unassigned_pages;
        PlatformRequest request;
        bool a20;
        uint16_t pm_window_base;
        uint16_t bus_master_window_base;
        bool memory_map_changed;
        uint64_t run_deadline_ns;
        size_t disk_journal_mark;
        size_t floppy_journal_mark;
        I8259Pair pic;
        I8254Pit pit;
        SystemControlPortB port61;
        CmosRtc rtc;
        Serial16550 com1;
        Debugcon debugcon;
        DebugExit debug_exit;
        Port92 port92;
        I8042 kbc;
        FwCfg fw_cfg;
        PciBus pci;
        I440fxHostBridge host_bridge;
        Piix3IsaBridge isa_bridge;
        Piix3Ide ide;
        IdeBusMaster bus_master;
        Piix4Pm pm;
        AcpiHotplug acpi_hotplug;
        I8237Dma dma;
        FloppyController fdc;
        std::optional<AtaDisk> ata;
        std::optional<AtapiCdrom> cdrom;
        LocalApicWindow local_apic;
        IoApicWindow io_apic;
    };
    Snapshot save() const { return Snapshot(*this); }
    // Puts the platform back; the memory map may change (memory_generation() then moves on,
    // and the host reloads slots() as after a PAM write). Calls on_a20 with the restored A20.
    void restore(const Snapshot& snapshot);
    // Keep what disk writes overwrite from now on, so restore() can undo them (512 bytes per
    // sector written, for as long as the platform lives). Off by default.
    void journal_disk_writes() {
        if (disk_journal_) disk_journal_->record(true);
        if (floppy_journal_) floppy_journal_->record(true);
    }

    // ---- input: bytes typed on COM1's line (Serial16550::receive: at the line's rate, one
    // every `gap_ns` at most, held while the UART has no room).
    void serial_input(std::string_view bytes, uint64_t gap_ns = 0) { com1_.receive(bytes, gap_ns); }

    // ---- output. Bytes the guest sent to COM1 and to debugcon (0x402) since the last take.
    std::string take_serial();
    // End the host's run after an access that sent bytes to COM1 (a host waiting for console
    // text sees it at once instead of at the next timer event).
    void set_exit_on_serial(bool enabled) { exit_on_serial_ = enabled; }
    std::string take_debugcon();
    // Lines about what a device does not model (each distinct one once), since the last take.
    std::vector<std::string> take_log();
    // Ports no device claims and pages nothing maps that the guest touched: an empty ISA bus
    // and empty address space answer all ones, as probing firmware expects.
    const std::set<uint16_t>& unclaimed_ports() const { return unclaimed_ports_; }
    const std::set<uint64_t>& unassigned_pages() const { return unassigned_pages_; }

  private:
    void set_irq(unsigned irq, bool level) override { pic_.set_irq(irq, level); }
    void unmodelled(std::string_view device, std::string_view what) override;
    void map_ports(uint16_t first, uint16_t count, IoDevice* device);
    void move_window(IoDevice* block, uint16_t size, uint16_t& current, uint16_t base);
    void map_pm_window(uint16_t base);
    void map_bus_master_window(uint16_t base);
    void set_a20(bool enabled);
    void install_firmware_config(const PcConfig& config);
    void request(PlatformRequest request) {
        if (request_ == PlatformRequest::None) request_ = request;
    }

    VirtualClock clock_;
    PcMemoryMap memory_;
    std::unique_ptr<BlockBackend> disk_image_;
    std::unique_ptr<JournaledBlockBackend> disk_journal_; // what the ATA disk writes through
    std::unique_ptr<BlockBackend> disc_;                  // in the CD-ROM (read only)
    std::unique_ptr<BlockBackend> floppy_image_;
    std::unique_ptr<JournaledBlockBackend> floppy_journal_; // what the floppy drive writes through
    std::string serial_out_;
    std::string debugcon_out_;
    std::vector<std::string> log_;
    std::set<std::string> logged_;
    std::set<uint16_t> unclaimed_ports_;
    std::set<uint64_t> unassigned_pages_;
    PlatformRequest request_ = PlatformRequest::None;
    bool a20_ = true; // QEMU powers on with A20 enabled (the 8042 output port resets to 0x03)

    I8259Pair pic_;
    I8254Pit pit_;
    SystemControlPortB port61_;
    CmosRtc rtc_;
    Serial16550 com1_;
    Debugcon debugcon_;
    DebugExit debug_exit_;
    Port92 port92_;
    I8042 kbc_;
    FwCfg fw_cfg_;
    PciBus pci_;
    I440fxHostBridge host_bridge_;
    Piix3IsaBridge isa_bridge_;
    Piix3Ide ide_;
    IdeBusMaster bus_master_; // BMIBA's block: the DMA engine of both channels
    Piix4Pm pm_;
    AcpiHotplug acpi_hotplug_;
    I8237Dma dma_;
    FloppyController fdc_; // always there, as on QEMU's pc machine; a drive with --floppy
    std::unique_ptr<AtaDisk> ata_;
    std::unique_ptr<AtapiCdrom> cdrom_;
    EmptyIdeChannel empty_ide_; // a channel without a drive
    LocalApicWindow local_apic_;
    IoApicWindow io_apic_;

    std::array<IoDevice*, 0x10000> ports_{};
    uint16_t pm_window_base_ = 0;         // where the PIIX4 ACPI block is mapped (0: not mapped)
    uint16_t bus_master_window_base_ = 0; // where the bus-master block is (0: not mapped)
    bool memory_map_changed_ = false;
    bool exit_on_serial_ = false;
    uint64_t run_deadline_ns_ = TimedDevice::kNever;
    unsigned icount_shift_ = 0;
};

} // namespace transit86::pc
