// The hand-written seeds of fuzz_platform: what SeaBIOS, a boot loader and a kernel's early
// code do to the platform, in the script language of platform_script.hpp.
#include <initializer_list>

#include "platform_script.hpp"

namespace transit86::fuzz {

namespace {

constexpr uint8_t kSmallDisk = 0x05; // 64 sectors in memory
constexpr uint8_t kNoDisk = 0x10;
constexpr uint8_t kCdrom = 0x20;
constexpr uint8_t kBothFreshBits = kFreshRerun;  // a second platform checks it all
constexpr uint32_t kDmaSelectRead = 0x08 | 0x02; // FW_CFG_DMA_CTL_SELECT | READ
constexpr uint8_t kLba = 0xE0, kChs = 0xA0;      // device register: LBA bit, DEV 0

// The 8259 pair as SeaBIOS programs it (vectors 0x08 and 0x70, IRQ 2 cascade), `mask` unmasked.
void init_pics(PlatformScriptWriter& s, uint8_t master_mask, uint8_t slave_mask) {
    for (const auto& [port, value] : {std::pair<uint16_t, uint8_t>{0x20, 0x11},
                                      {0x21, 0x08},
                                      {0x21, 0x04},
                                      {0x21, 0x01},
                                      {0xA0, 0x11},
                                      {0xA1, 0x70},
                                      {0xA1, 0x02},
                                      {0xA1, 0x01}})
        s.outb(port, value);
    s.outb(0x21, master_mask);
    s.outb(0xA1, slave_mask);
}

// SeaBIOS's qemu_cfg_init and romfile loading: signature, ID, the directory, then files and
// the -kernel items by DMA (src/fw/paravirt.c).
std::vector<uint8_t> fw_cfg_directory() {
    PlatformScriptWriter s(kSmallDisk, kLinuxBootItems | kBootFiles | kBothFreshBits, 12);
    s.fw_cfg_read(0x00, 3);                                 // "QEMU"
    s.fw_cfg_read(0x01, 3);                                 // ID: traditional + DMA
    s.port_read(0x514, 4);                                  // "QEMU CFG"
    s.fw_cfg_read(0x19, 255);                               // FILE_DIR: count and the first entries
    s.fw_cfg_dma(kDmaSelectRead, 0x22, 20, 0x7000, 0x6000); // etc/e820
    s.ram_load(0x7000, 20);
    s.fw_cfg_dma(kDmaSelectRead, 0x05, 2, 0x7100, 0x6000);         // NB_CPUS
    s.fw_cfg_dma(kDmaSelectRead, 0x17, 4, 0x7200, 0x6000);         // SETUP_SIZE
    s.fw_cfg_dma(kDmaSelectRead, 0x18, 1024, 0x10000, 0x6000);     // SETUP_DATA
    s.fw_cfg_dma(kDmaSelectRead, 0x11, 4096, 0x20000, 0x6000);     // KERNEL_DATA
    s.fw_cfg_dma(kDmaSelectRead, 0x15, 64, 0x30000, 0x6010);       // CMDLINE_DATA
    s.fw_cfg_dma(0x04, 0x00, 8, 0, 0x6020);                        // skip on the current item
    s.fw_cfg_dma(0x08 | 0x10, 0x22, 4, 0x7000, 0x6030);            // a write: not writable
    s.fw_cfg_dma(kDmaSelectRead, 0x24, 0x100000, 0xF0000, 0x6040); // past the end of the item
    s.ram_load(0x6000, 16);
    return s.bytes();
}

// IDENTIFY, READ SECTORS in LBA28 and CHS, WRITE SECTORS, READ MULTIPLE, and a read past the
// end of the image (SeaBIOS's ata_detect and ata_readwrite, src/hw/ata.c).
std::vector<uint8_t> ata_identify_read() {
    PlatformScriptWriter s(kSmallDisk, kBothFreshBits, 6);
    init_pics(s, 0xFB, 0xBF); // IRQ 14 through the cascade
    s.port_read(0x1F7, 1);
    s.ata_command(0xEC, 0, 0, kChs); // IDENTIFY DEVICE
    s.advance(kInterruptFlag, 0);
    s.ata_data(false, false, 256);
    s.ata_command(0x20, 2, 1, kLba); // READ SECTORS, LBA 1, 2 sectors
    s.ata_data(false, false, 512);
    s.port_read(0x3F6, 1);
    s.ata_command(0x20, 1, 0x000001, kChs); // CHS 0/0/1
    s.ata_data(false, true, 128);
    s.ata_command(0x30, 1, 5, kLba); // WRITE SECTORS, LBA 5
    s.ata_data(true, false, 256);
    s.ata_command(0xC6, 4, 0, kLba); // SET MULTIPLE MODE 4
    s.ata_command(0xC4, 8, 0, kLba); // READ MULTIPLE, 8 sectors: two blocks
    s.ata_data(false, true, 512);
    s.ata_data(false, true, 512);
    s.ata_command(0x20, 4, 62, kLba); // runs past sector 63
    s.ata_data(false, false, 512);
    s.ata_data(false, false, 512);
    s.port_read(0x1F1, 1);
    s.outb(0x3F6, 0x04); // SRST
    s.outb(0x3F6, 0x00);
    s.port_read(0x1F2, 1);
    s.acknowledge();
    return s.bytes();
}

// SeaBIOS's CD-ROM path (ata_detect, ata_atapi_process_op, cdrom_boot): IDENTIFY DEVICE
// aborts with the packet signature, IDENTIFY PACKET DEVICE, TEST UNIT READY, READ(10) of the
// boot record, a read past the end and REQUEST SENSE, READ TOC, an odd byte count limit, a
// DMA packet, DEVICE RESET during a transfer.
std::vector<uint8_t> atapi_boot_reads() {
    PlatformScriptWriter s(kNoDisk | kCdrom, kBothFreshBits, 8);
    init_pics(s, 0xFB, 0x7F); // IRQ 15 through the cascade
    s.ata_command(0xEC, 0, 0, kChs, 0, true);
    s.ata_command(0xA1, 0, 0, kChs, 0, true);
    s.advance(kInterruptFlag, 0);
    s.ata_data(false, false, 256, true);
    s.atapi_packet({0x00}, 0);
    s.atapi_packet({0x28, 0, 0, 0, 0, 1, 0, 0, 1}, 2048);
    s.ata_data(false, true, 512, true);
    s.atapi_packet({0x28, 0, 0, 0, 0, 2, 0, 0, 2}, 2048);
    s.ata_data(false, false, 512, true);
    s.atapi_packet({0x03, 0, 0, 0, 18}, 18);
    s.ata_data(false, false, 16, true);
    s.atapi_packet({0x43, 0x02, 0, 0, 0, 0, 0, 0, 20}, 20);
    s.ata_data(false, false, 16, true);
    s.atapi_packet({0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0x0401);
    s.ata_data(false, false, 512, true);
    s.port_read(0x376, 1);
    s.atapi_packet({0x28, 0, 0, 0, 0, 0, 0, 0, 1}, 2048, true);
    s.atapi_packet({0x28, 0, 0, 0, 0, 0, 0, 0, 3}, 2048);
    s.ata_command(0x08, 0, 0, kChs, 0, true);
    s.outb(0x376, 0x04); // SRST
    s.outb(0x376, 0x00);
    s.acknowledge();
    return s.bytes();
}

// Linux's ata_piix doing DMA (drivers/ata/libata-sff.c ata_bmdma_setup/start): BMIBA and I/O
// space enabled, a PRD table in RAM, READ DMA, start; WRITE DMA; a table too short for the
// data; a table whose buffer runs past the end of RAM.
std::vector<uint8_t> bus_master_dma() {
    PlatformScriptWriter s(kSmallDisk, kBothFreshBits, 7);
    init_pics(s, 0xFB, 0xBF);
    s.pci_write(1, 1, 0x20, 4, 0xC001);
    s.pci_write(1, 1, 0x04, 2, 0x0005);                                    // I/O space, bus master
    s.ram_store(0x6000, {0x00, 0x70, 0x00, 0x00, 0x00, 0x04, 0x00, 0x80}); // 1 KiB at 0x7000, end
    s.port_write(0xC004, 4, 0x6000);
    s.port_write(0xC000, 1, 0x08);   // to memory
    s.ata_command(0xC8, 2, 4, kLba); // READ DMA, LBA 4, 2 sectors
    s.port_write(0xC000, 1, 0x09);   // start
    s.port_read(0xC002, 1);
    s.ram_load(0x7000, 16);
    s.port_write(0xC002, 1, 0x06);
    s.port_write(0xC000, 1, 0x00);   // stop; from memory next
    s.ata_command(0xCA, 2, 9, kLba); // WRITE DMA
    s.port_write(0xC000, 1, 0x01);
    s.ata_command(0xC8, 8, 0, kLba); // 4 KiB into a 1 KiB table
    s.port_write(0xC000, 1, 0x08);
    s.port_write(0xC000, 1, 0x09);
    s.ram_store(0x6000, {0x00, 0xFF, 0x1F, 0x00, 0x00, 0x02, 0x00, 0x80}); // past 2 MiB of RAM
    s.ata_command(0xC8, 1, 0, kLba);
    s.port_read(0xC002, 1);
    s.acknowledge();
    return s.bytes();
}

// SeaBIOS's floppy path (src/hw/floppy.c, dma.c): DMA1 cascaded, the controller reset and its
// ready-change sense, RECALIBRATE, READ ID at 500 Kb/s, a READ of two sectors by DMA into RAM,
// a WRITE of one from RAM, then a READ with channel 2 masked (overrun) and FORMAT TRACK.
std::vector<uint8_t> floppy_dma() {
    PlatformScriptWriter s(kNoDisk | 0x40, kBothFreshBits, 9);
    init_pics(s, 0xBF, 0xFF);
    s.outb(0x0D, 0);
    s.outb(0xDA, 0);
    s.outb(0xD6, 0xC0);
    s.outb(0xD4, 0x00);
    s.outb(0x3F2, 0x00);
    s.outb(0x3F2, 0x0C);
    const auto command = [&s](std::initializer_list<uint8_t> bytes) {
        for (const uint8_t b : bytes)
            s.outb(0x3F5, b);
    };
    const auto channel2 = [&s](uint16_t address, uint16_t count, uint8_t mode) {
        s.outb(0x0A, 0x06);
        s.outb(0x0C, 0);
        s.outb(0x04, static_cast<uint8_t>(address));
        s.outb(0x04, static_cast<uint8_t>(address >> 8));
        s.outb(0x0C, 0);
        s.outb(0x05, static_cast<uint8_t>(count - 1));
        s.outb(0x05, static_cast<uint8_t>((count - 1) >> 8));
        s.outb(0x0B, mode);
        s.outb(0x81, 0);
        s.outb(0x0A, 0x02);
    };
    command({0x08});
    s.port_read(0x3F5, 1);
    s.port_read(0x3F5, 1);
    s.outb(0x3F2, 0x1C);
    command({0x07, 0x00});
    command({0x08});
    s.port_read(0x3F5, 1);
    s.outb(0x3F7, 0x00);
    command({0x4A, 0x00});
    s.port_read(0x3F5, 1);
    channel2(0x7000, 1024, 0x46);
    command({0xE6, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF});
    s.ram_load(0x7000, 16);
    s.port_read(0x3F4, 1);
    s.port_read(0x3F5, 1);
    channel2(0x7000, 512, 0x4A);
    command({0xC5, 0x00, 0, 0, 5, 2, 18, 0x1B, 0xFF});
    s.outb(0x0A, 0x06);
    command({0xE6, 0x04, 0, 1, 1, 2, 18, 0x1B, 0xFF});
    s.ram_store(0x7400, {0, 1, 1, 2, 0, 1, 2, 2});
    channel2(0x7400, 8, 0x4A);
    command({0x4D, 0x04, 2, 2, 0x6C, 0xF6});
    s.acknowledge();
    return s.bytes();
}

// The PIT at 1 kHz on IRQ 0, three ticks taken as the CPU takes them (HLT, INTA, EOI), then
// the counter latch and port 0x61 (SeaBIOS's timer_setup and pit_setup).
std::vector<uint8_t> pit_ticks() {
    PlatformScriptWriter s(kNoDisk, kBothFreshBits, 14);
    init_pics(s, 0xFE, 0xFF);
    s.outb(0x43, 0x34); // channel 0, LSB then MSB, mode 2
    s.outb(0x40, 0x9C);
    s.outb(0x40, 0x2E); // 11932: about 10 ms
    for (int tick = 0; tick < 3; ++tick) {
        s.advance(kToNextEvent | kInterruptFlag, 0);
        s.outb(0x20, 0x20); // non-specific EOI
    }
    s.outb(0x43, 0x00); // latch channel 0
    s.port_read(0x40, 1);
    s.port_read(0x40, 1);
    s.outb(0x61, 0x01); // GATE2
    s.outb(0x43, 0xB0); // channel 2, mode 0
    s.outb(0x42, 0x10);
    s.outb(0x42, 0x00);
    s.port_read(0x61, 1);
    s.advance(2, 0x40);
    s.port_read(0x61, 1);
    s.acknowledge();
    return s.bytes();
}

// CMOS and the RTC's periodic interrupt, the PIIX4 PM timer after SeaBIOS's PMBA set-up, PAM
// shadowing of the BIOS area, the APIC windows, the console ports and a reset request.
std::vector<uint8_t> cmos_pm_pam_apic() {
    PlatformScriptWriter s(kNoDisk, static_cast<uint8_t>(kBothFreshBits | kTimeSource), 20);
    for (const uint8_t reg :
         {uint8_t{0x0A}, uint8_t{0x10}, uint8_t{0x34}, uint8_t{0x35}, uint8_t{0x5F}}) {
        s.outb(0x70, reg);
        s.port_read(0x71, 1);
    }
    init_pics(s, 0xFB, 0xFE);
    s.outb(0x70, 0x0B);
    s.outb(0x71, 0x42); // PIE, 24-hour
    s.advance(kToNextEvent | kInterruptFlag, 0);
    s.outb(0x70, 0x0C);
    s.port_read(0x71, 1);              // acknowledges the RTC
    s.pci_write(1, 3, 0x40, 4, 0x601); // PMBA
    s.pci_write(1, 3, 0x80, 1, 0x01);  // PMREGMISC: decode the block
    s.port_read(0x608, 4);
    s.advance(kLazy | 2, 0x80);
    s.port_read(0x608, 4);
    s.pci_write(0, 0, 0x59, 1, 0x30); // PAM0: 0xF0000 read/write
    s.ram_store(0xF0000, {0xEA, 0x5B, 0xE0, 0x00, 0xF0});
    s.ram_load(0xF0000, 5);
    s.pci_write(0, 0, 0x59, 1, 0x10); // read-only
    s.ram_store(0xF0000, {0x90});
    s.ram_load(0xF0000, 1);
    s.mmio_read(kLocalApic, 0x30, 4); // version, as SeaBIOS reads it
    s.mmio_write(kLocalApic, 0xF0, 4, 0x1FF);
    s.mmio_read(kLocalApic, 0xF0, 4);
    s.mmio_write(kIoApic, 0x00, 4, 0x01);
    s.mmio_read(kIoApic, 0x10, 4);
    s.port_read(0x402, 1);
    s.outb(0x402, 'S');
    s.outb(0x3F8, 'B');
    s.take();
    s.outb(0xCF9, 0x06); // reset
    return s.bytes();
}

} // namespace

std::vector<std::pair<std::string, std::vector<uint8_t>>> platform_seed_scripts() {
    return {{"fw_cfg_directory", fw_cfg_directory()},
            {"ata_identify_read", ata_identify_read()},
            {"atapi_boot_reads", atapi_boot_reads()},
            {"bus_master_dma", bus_master_dma()},
            {"floppy_dma", floppy_dma()},
            {"pit_ticks", pit_ticks()},
            {"cmos_pm_pam_apic", cmos_pm_pam_apic()}};
}

} // namespace transit86::fuzz
