// The i440FX host bridge (82441FX PMC) at 00:00.0: 8086:1237, class 0x060000, revision 2.
//
// What firmware uses: the PAM registers 0x59-0x5F, which decide for each piece of the 0xC0000-
// 0xFFFFF BIOS area whether reads and writes reach RAM or go to the PCI bus (the ROM); SeaBIOS
// makes its own copy writable with them, then read-only (src/fw/shadow.c). PAM0's high nibble
// controls 0xF0000-0xFFFFF (64 KiB); PAM1-PAM6 hold two 16 KiB regions each, low nibble first,
// from 0xC0000 to 0xEFFFF. In each nibble bit 0 is RE and bit 1 WE. The bridge itself maps no
// memory: it reports the 13 settings through on_pam_change and the platform maps accordingly.
// SMRAM (0x72) is storage only: there is no SMM.
//
// References: Intel 82441FX PCI and Memory Controller datasheet (PAM[6:0], SMRAM); QEMU
// hw/pci-host/i440fx.c (I440FX_PAM 0x59, region i reads config[0x59 + DIV_ROUND_UP(i, 2)],
// SMRAM reset value 0x02) and hw/pci-host/pam.c.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "pc/pci_bus.hpp"

namespace transit86::pc {

enum class PamMode : uint8_t {
    disabled = 0,   // reads and writes go to PCI (the ROM / nothing)
    read_only = 1,  // reads from RAM, writes to PCI
    write_only = 2, // reads from PCI, writes to RAM
    read_write = 3, // RAM
};

struct PamRegion {
    uint32_t base;
    uint32_t size;
};

class I440fxHostBridge final : public PciFunction {
  public:
    static constexpr unsigned kPamRegions = 13;
    static constexpr uint8_t kPam0 = 0x59;
    static constexpr uint8_t kSmram = 0x72;

    I440fxHostBridge();

    // Region 0 is 0xF0000 (64 KiB), regions 1-12 are 0xC0000 + 16 KiB * (i - 1).
    static PamRegion pam_region(unsigned index);
    std::array<PamMode, kPamRegions> pam_modes() const;

    // Called after a write that changed any region's setting, with all 13 settings.
    std::function<void(const std::array<PamMode, kPamRegions>&)> on_pam_change;

  private:
    void config_written(uint8_t offset, uint8_t size) override;

    std::array<PamMode, kPamRegions> reported_{};
};

} // namespace transit86::pc
