// The PIIX3 PCI-to-ISA bridge at 00:01.0: 8086:7000, class 0x060100, header type 0x80 (function
// 0 of the multi-function PIIX3: the IDE controller is 01.1, the PM function 01.3).
//
// Its configuration registers are storage with QEMU's reset values; the PIRQ route registers
// 0x60-0x63 (PIRQA-D to an ISA IRQ, bit 7 = routing disabled, reset 0x80) are read back by
// pirq_route() for whoever wires PCI interrupts (no device here raises one: the IDE channels
// use IRQ 14/15 in legacy mode). It also holds the Reset Control Register at I/O 0xCF9
// (QEMU overlays it on the PCI configuration ports; pc/pci_bus.hpp forwards the byte):
// writing bit 2 asks for a system reset, bit 1 (the reset type) is stored.
//
// References: Intel 82371SB (PIIX3) datasheet, PCI-to-ISA bridge configuration registers and
// RC (Reset Control Register); QEMU hw/isa/piix.c (piix_reset values, rcr_write).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "pc/device.hpp"
#include "pc/pci_bus.hpp"

namespace transit86::pc {

class Piix3IsaBridge final : public PciFunction, public IoDevice {
  public:
    static constexpr uint8_t kPirqRoute = 0x60;
    static constexpr uint16_t kResetControlPort = 0xCF9;

    explicit Piix3IsaBridge(DeviceLog* log = nullptr);

    // The ISA IRQ that PIRQ A-D (0-3) is routed to, or none while routing is disabled.
    std::optional<unsigned> pirq_route(unsigned pirq) const;

    // The Reset Control Register (port 0xCF9, one byte).
    uint32_t io_read(uint16_t port, uint8_t size) override;
    void io_write(uint16_t port, uint8_t size, uint32_t value) override;
    // Called when the guest writes RCR with bit 2 (reset CPU) set.
    std::function<void()> on_reset_request;

  private:
    DeviceLog* log_;
    uint8_t reset_control_ = 0;
};

} // namespace transit86::pc
