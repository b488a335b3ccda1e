// pc/: the PC platform's device models, in the shape of QEMU's i440FX "pc" machine as far as
// real boot code (SeaBIOS, GRUB, the Linux boot protocol) needs it.
//
// A device is a small type driven through its registers alone (rust-vmm vm-superio's shape):
// it knows no emulator, no vCPU and no VMM, so the CLI (with transit86's interpreter) and
// examples/kvm-vmm (with KVM) run the same devices. pc/ may include the C++ standard library
// and its own headers, nothing else of transit86's (not emu/, not tools/, not
// include/transit86/ — the platform adapter in pc/platform.* is the one exception: it
// implements the public PortHandler).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace transit86::pc {

// "0x1F" for a byte: the way device logs name registers, commands and opcodes.
inline std::string hex_byte(uint8_t value) {
    constexpr char kDigits[] = "0123456789ABCDEF";
    return std::string("0x") + kDigits[value >> 4] + kDigits[value & 0xF];
}

// Width-masked all-ones: what an unclaimed ISA read returns.
constexpr uint32_t all_ones(uint8_t size) {
    return size >= 4 ? ~0u : (1u << (size * 8u)) - 1u;
}

// What a read of a port returns from now on: `value`, until virtual time `until_ns`
// (exclusive), unless the device is written or its GATE changes before.
struct SteadyRead {
    uint32_t value = 0;
    uint64_t until_ns = 0;
};

// A device on the I/O port bus. `port` is the absolute port number (a device may own
// several ranges, e.g. the PIC at 0x20 and 0xA0); `size` is 1, 2 or 4.
class IoDevice {
  public:
    virtual ~IoDevice() = default;
    virtual uint32_t io_read(uint16_t port, uint8_t size) = 0;
    virtual void io_write(uint16_t port, uint8_t size, uint32_t value) = 0;
    // Optional, for guests polling a port (PcPlatform::steady_read): when reading `port` has
    // no side effect, what io_read(port, size) returns now and how long it will go on
    // returning it. nullopt (the default): no promise.
    virtual std::optional<SteadyRead> steady_read(uint16_t port, uint8_t size) {
        (void)port;
        (void)size;
        return std::nullopt;
    }
};

// A device on the memory bus (a guest-physical window outside RAM). `offset` is relative to
// the window's base; `size` is 1, 2, 4 or 8.
class MmioDevice {
  public:
    virtual ~MmioDevice() = default;
    virtual uint64_t mmio_read(uint64_t offset, uint8_t size) = 0;
    virtual void mmio_write(uint64_t offset, uint8_t size, uint64_t value) = 0;
};

// ISA interrupt request lines 0-15 as the 8259 pair sees them (edge or level per ELCR).
class IrqLines {
  public:
    virtual ~IrqLines() = default;
    virtual void set_irq(unsigned irq, bool level) = 0;
    // An edge: raise then lower (what an ISA device with an edge-triggered line does).
    void pulse_irq(unsigned irq) {
        set_irq(irq, true);
        set_irq(irq, false);
    }
};

// Guest-physical memory as a device doing DMA sees it (fw_cfg DMA). Every access is
// bounds-checked by the implementation: false when any byte lies outside guest RAM.
class DmaMemory {
  public:
    virtual ~DmaMemory() = default;
    virtual bool dma_read(uint64_t gpa, std::span<uint8_t> out) = 0;
    virtual bool dma_write(uint64_t gpa, std::span<const uint8_t> in) = 0;
};

// Where a device reports what it does not model (a register, a command, a mode the guest
// programmed): one line naming the device and the register; the run goes on.
class DeviceLog {
  public:
    virtual ~DeviceLog() = default;
    virtual void unmodelled(std::string_view device, std::string_view what) = 0;
};

// Virtual time, in nanoseconds since power-on. Derived from retired guest instructions (by
// default one instruction = 1 ns, as QEMU's -icount shift=0), never from the host clock, so a
// boot is reproducible byte for byte. Devices read it; the platform advances it.
class VirtualClock {
  public:
    uint64_t now_ns() const { return now_ns_; }
    void advance_to(uint64_t ns) {
        if (ns > now_ns_) now_ns_ = ns;
    }

  private:
    uint64_t now_ns_ = 0;
};

// A device whose state changes with time (PIT, RTC update/periodic interrupts, PM timer
// overflow): the platform calls `advance()` after moving the clock, and asks for the next
// moment at which it must do so (for budgets and for HLT skipping ahead).
class TimedDevice {
  public:
    static constexpr uint64_t kNever = ~uint64_t{0};
    virtual ~TimedDevice() = default;
    // Bring the device up to clock.now_ns(): raise the interrupts due by then.
    virtual void advance() = 0;
    // The earliest virtual time at which advance() would change something (kNever: none).
    virtual uint64_t next_event_ns() const = 0;
};

// Puts a device back into the state of `saved`, a copy taken earlier of this same device (a
// snapshot for reverse execution). Devices hold references and callbacks that point at their
// owner (its clock, its interrupt lines, its `this`), so they cannot be assigned; they are
// rebuilt in place by copy construction, which keeps those pointing where `saved`'s point —
// at the owner, since the copy was taken from a device of that owner.
template <class Device>
void restore_device(Device& device, const Device& saved) {
    std::destroy_at(&device);
    std::construct_at(&device, saved);
}

} // namespace transit86::pc
