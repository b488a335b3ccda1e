// libFuzzer target: a script of guest-side device accesses (tests/fuzz/platform_script.hpp)
// against one PcPlatform, the i440FX pc of `transit86 boot`, with 2 MiB of RAM, a 64 KiB BIOS,
// a disk image and a disc, as a CPU would drive it: port I/O of every size, loads and stores
// through the memory map's slots (MMIO where there is none), local/I/O APIC and other MMIO, virtual
// time passing with the INTA cycle, PAM changes, fw_cfg DMA descriptors anywhere (past the end
// of RAM too), ATA command streams to the disk and ATAPI packets to the CD-ROM.
//
// What must hold, beyond ASan and UBSan (no access outside a buffer, no UB):
// - the 8259's INTR agrees with its registers after every step: INTR only with an unmasked
//   request, and always with one when nothing is in service;
// - after the clock moves to T, no device has an event at or before T (a host skipping HLT
//   to next_event_ns() would otherwise spin);
// - an IN of size N gives at most N bytes; a steady read's value is what the port reads;
// - determinism: the platform is saved after step `save` of the header (its RAM copied);
//   after the script, restoring it and replaying the rest gives the same observations at
//   every step (port and MMIO values, access results, vectors, time, requests, A20) and the
//   same final RAM, disk and output; with kFreshRerun a second platform runs the whole script
//   and sees the same.
//
// Cost: constructing a platform touches about 600 KiB of fresh memory (the port table, the
// devices), and a page fault costs tens of microseconds on these virtual machines, which made
// 80 inputs a second. So each configuration's platform is built once and put back to power-on
// for every input by restore() (its RAM cleared): that this makes inputs
// independent is itself checked, by kFreshRerun's second platform, built from nothing (in the
// same storage every time, so its pages are warm).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "pc/platform.hpp"
#include "platform_machine.hpp"
#include "platform_script.hpp"

namespace {

using namespace transit86;
using namespace transit86::pc;
using namespace transit86::fuzz;

constexpr size_t kMaxSteps = 2048;
constexpr uint64_t kMaxSkipNs = 100'000'000'000ull; // HLT skips at most 100 s ahead

// FUZZ_PLATFORM_TRACE=1: print what a script does, one line per access (to read an artifact).
const bool kTrace = std::getenv("FUZZ_PLATFORM_TRACE") != nullptr;

class ScriptReader {
  public:
    ScriptReader(const uint8_t* data, size_t size, size_t at = 0)
        : data_(data), size_(size), at_(at) {}
    bool end() const { return at_ >= size_; }
    size_t offset() const { return at_; }
    uint8_t u8() { return at_ < size_ ? data_[at_++] : 0; }
    uint64_t le(int n) {
        uint64_t v = 0;
        for (int i = 0; i < n; ++i)
            v |= uint64_t{u8()} << (8 * i);
        return v;
    }

  private:
    const uint8_t* data_;
    size_t size_;
    size_t at_;
};

// The CPU side: runs one operation at a time and returns what the guest observed.
class Driver {
  public:
    Driver(PcPlatform& platform, uint8_t flags) : p_(platform) {
        p_.on_a20 = [this](bool enabled) { note(0xA200 | enabled); };
        if (flags & kTimeSource) {
            p_.time_source = [this] { return now_ns_; };
            lazy_time_ = true;
        }
    }
    uint64_t now_ns() const { return now_ns_; }
    void set_now_ns(uint64_t ns) { now_ns_ = ns; }

    uint64_t step(ScriptReader& in);

  private:
    void note(uint64_t v) { obs_ = mix(obs_, v); }
    uint16_t port(ScriptReader& in) {
        const uint8_t b = in.u8();
        return b < kRawPort ? kPlatformPorts[b % kPlatformPorts.size()]
                            : static_cast<uint16_t>(in.le(2));
    }
    static uint8_t port_size(ScriptReader& in) { return static_cast<uint8_t>(1u << (in.u8() % 3)); }
    uint32_t io(uint16_t port, uint8_t size, bool is_in, uint32_t value = 0) {
        PortAccess access{.port = port, .size = size, .is_in = is_in, .data = value};
        const PortHandler::Result result = p_.access(access);
        note(static_cast<uint64_t>(result));
        if (kTrace)
            std::fprintf(stderr, "  %s 0x%x/%u %s 0x%x%s\n", is_in ? "in " : "out", port, size,
                         is_in ? "->" : "<-", access.data,
                         result == PortHandler::Result::ExitToHost ? " (exit)" : "");
        if (is_in) {
            check(access.data <= all_ones(size));
            note(access.data);
        }
        return access.data;
    }
    uint64_t address(ScriptReader& in);
    uint64_t mmio_address(ScriptReader& in);
    const RamSlot* slot_of(uint64_t gpa) const {
        for (const RamSlot& slot : p_.slots())
            if (gpa >= slot.guest_phys && gpa - slot.guest_phys < slot.size) return &slot;
        return nullptr;
    }
    void cpu_store(uint64_t gpa, std::span<const uint8_t> bytes);
    void cpu_load(uint64_t gpa, size_t n);
    void fw_cfg_dma(ScriptReader& in);
    void advance(ScriptReader& in);
    void acknowledge() {
        const uint8_t vector = p_.acknowledge_interrupt();
        if (kTrace) std::fprintf(stderr, "  INTA -> vector 0x%x\n", vector);
        note(vector);
    }
    void ata_command(ScriptReader& in);
    void ata_data(ScriptReader& in);
    void atapi_packet(ScriptReader& in);
    void pci_config(ScriptReader& in);
    void steady_read(ScriptReader& in);
    void check_pic() const;

    PcPlatform& p_;
    uint64_t now_ns_ = 0;
    uint64_t obs_ = 0;
    bool lazy_time_ = false;
};

uint64_t Driver::address(ScriptReader& in) {
    switch (static_cast<PlatformAddress>(in.u8() % kKinds)) {
    case kLowRam: return in.le(2) << 4;
    case kBelowRamEnd: return p_.memory().ram_size() - in.u8();
    case kBiosAddress: return PcMemoryMap::kBiosAreaBase + in.le(2) * 4;
    case kRaw32: return in.le(4);
    default: return in.le(8);
    }
}

uint64_t Driver::mmio_address(ScriptReader& in) {
    const auto region = static_cast<PlatformRegion>(in.u8() % kRegionCount);
    const uint64_t offset = in.le(2);
    switch (region) {
    case kLocalApic: return LocalApicWindow::kBase + (offset & 0xFFF);
    case kIoApic: return IoApicWindow::kBase + (offset & 0xFFF);
    case kBiosArea: return PcMemoryMap::kBiosAreaBase + offset * 4;
    case kVgaWindow: return PcMemoryMap::kVgaWindowBase + offset;
    case kHighBios: return PcMemoryMap::kFourGiB - 0x10000 + offset;
    case kRamEnd: return p_.memory().ram_size() - 0x80 + (offset & 0xFF);
    default: return in.le(4);
    }
}

void Driver::cpu_store(uint64_t gpa, std::span<const uint8_t> bytes) {
    for (uint8_t byte : bytes) {
        const RamSlot* slot = slot_of(gpa);
        if (slot && !slot->read_only) {
            slot->host[gpa - slot->guest_phys] = byte;
        } else {
            uint64_t data = byte;
            p_.mmio(gpa, 1, true, data);
        }
        ++gpa;
    }
}

void Driver::cpu_load(uint64_t gpa, size_t n) {
    for (size_t i = 0; i < n; ++i, ++gpa) {
        const RamSlot* slot = slot_of(gpa);
        uint64_t data = 0;
        if (slot)
            data = slot->host[gpa - slot->guest_phys];
        else
            p_.mmio(gpa, 1, false, data);
        if (kTrace)
            std::fprintf(stderr, "  load 0x%llx -> 0x%02x\n", static_cast<unsigned long long>(gpa),
                         static_cast<unsigned>(data));
        note(data);
    }
}

// A descriptor { be32 control; be32 length; be64 address; } stored where the script says,
// then its address written to 0x514 (high half) and 0x518 (low half, starts the transfer),
// both big-endian; then the control word as the guest polls it.
void Driver::fw_cfg_dma(ScriptReader& in) {
    uint32_t control = in.u8();
    const uint8_t key = in.u8();
    const uint16_t selector = key < 0x40   ? key
                              : key < 0x80 ? static_cast<uint16_t>(0x8000 | (key & 0x3F))
                                           : static_cast<uint16_t>(in.le(2));
    control |= uint32_t{selector} << 16;
    const uint8_t length_kind = in.u8() % 4;
    const uint32_t length = length_kind == 0   ? in.u8()
                            : length_kind == 1 ? static_cast<uint32_t>(in.le(2))
                            : length_kind == 2 ? static_cast<uint32_t>(in.le(4))
                                               : in.u8() * 16u;
    const uint64_t target = address(in);
    const uint64_t descriptor = address(in);
    std::array<uint8_t, 16> bytes{};
    for (int i = 0; i < 4; ++i) {
        bytes[i] = static_cast<uint8_t>(control >> (24 - 8 * i));
        bytes[4 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; ++i)
        bytes[8 + i] = static_cast<uint8_t>(target >> (56 - 8 * i));
    cpu_store(descriptor, bytes);
    io(FwCfg::kDmaAddressPort, 4, false,
       __builtin_bswap32(static_cast<uint32_t>(descriptor >> 32)));
    io(FwCfg::kDmaAddressLowPort, 4, false, __builtin_bswap32(static_cast<uint32_t>(descriptor)));
    cpu_load(descriptor, 4);
}

void Driver::advance(ScriptReader& in) {
    const uint8_t mode = in.u8();
    const uint64_t mantissa = in.u8();
    if (mode & kToNextEvent) {
        const uint64_t next = p_.next_event_ns();
        if (next != TimedDevice::kNever && next <= now_ns_ + kMaxSkipNs)
            now_ns_ = std::max(now_ns_, next);
    } else {
        now_ns_ += mantissa << (4 * (mode & 7));
    }
    if (!(lazy_time_ && (mode & kLazy))) {
        p_.advance_to(now_ns_);
        // Every event due by now has been handled: the next one lies ahead.
        const uint64_t next = p_.next_event_ns();
        check(next == TimedDevice::kNever || next > p_.clock().now_ns());
    }
    if ((mode & kInterruptFlag) && p_.interrupt_pending()) acknowledge();
}

// The task file (the HOB bytes first when flags bit 0), device, then the command; flags bit 1
// picks a command of the table, bit 2 the secondary channel.
void Driver::ata_command(ScriptReader& in) {
    const uint8_t flags = in.u8();
    const uint16_t base = (flags & 4) ? kSecondaryIdeChannel.command_block : AtaDisk::kCommandBlock;
    if (flags & 1)
        for (uint16_t reg = 1; reg <= 5; ++reg)
            io(base + reg, 1, false, in.u8());
    for (uint16_t reg = 1; reg <= 6; ++reg)
        io(base + reg, 1, false, in.u8());
    static constexpr std::array<uint8_t, 27> kCommands = {
        0xEC, 0x20, 0x21, 0x30, 0x31, 0x24, 0x34, 0xC4, 0xC5, 0xC6, 0x29, 0x39, 0x40, 0x41,
        0x42, 0x91, 0xEF, 0x10, 0x70, 0x90, 0xE7, 0xF8, 0x27, 0xC8, 0xA0, 0xA1, 0x08};
    const uint8_t command = in.u8();
    io(base + 7, 1, false, (flags & 2) ? kCommands[command % kCommands.size()] : command);
}

void Driver::ata_data(ScriptReader& in) {
    const uint8_t mode = in.u8();
    const unsigned accesses = (in.u8() % 32 + 1u) * 16; // up to a sector in 16-bit words
    const uint8_t size = (mode & 2) ? 4 : 2;
    const uint16_t port = (mode & 4) ? kSecondaryIdeChannel.command_block : AtaDisk::kCommandBlock;
    for (unsigned i = 0; i < accesses; ++i) {
        if (mode & 1)
            io(port, size, false, (i * 0x9E3779B1u) ^ mode);
        else
            io(port, size, true);
    }
}

// A packet command as a driver sends it: device 0, features (bit 0: DMA), the byte count
// limit, PACKET, the 12 command bytes as words (flags bit 1: the opcode from the table of
// commands the drive knows).
void Driver::atapi_packet(ScriptReader& in) {
    const uint8_t flags = in.u8();
    const uint16_t limit = static_cast<uint16_t>(in.le(2));
    const uint16_t base = kSecondaryIdeChannel.command_block;
    std::array<uint8_t, 12> cdb{};
    for (uint8_t& byte : cdb)
        byte = in.u8();
    static constexpr std::array<uint8_t, 17> kOpcodes = {0x00, 0x03, 0x12, 0x1B, 0x1E, 0x25,
                                                         0x28, 0xA8, 0x2B, 0x43, 0x5A, 0x46,
                                                         0x4A, 0xBD, 0xBB, 0xBE, 0xAD};
    if (flags & 2) cdb[0] = kOpcodes[cdb[0] % kOpcodes.size()];
    io(base + 6, 1, false, 0xA0);
    io(base + 1, 1, false, flags & 1);
    io(base + 4, 1, false, limit & 0xFF);
    io(base + 5, 1, false, limit >> 8);
    io(base + 7, 1, false, 0xA0);
    for (size_t i = 0; i < cdb.size(); i += 2)
        io(base, 2, false, static_cast<uint32_t>(cdb[i] | cdb[i + 1] << 8));
}

// CONFIG_ADDRESS, then CONFIG_DATA at the register's byte lane. flags: bit 0 write, bit 1
// enable bit clear, bit 2 bus 1, bits 3-4 size.
void Driver::pci_config(ScriptReader& in) {
    const uint8_t device_function = in.u8();
    const uint8_t reg = in.u8();
    const uint8_t flags = in.u8();
    const auto value = static_cast<uint32_t>(in.le(4));
    const uint32_t address = ((flags & 2) ? 0 : 0x80000000u) | ((flags & 4) ? 1u << 16 : 0) |
                             uint32_t{device_function} << 8 | (reg & 0xFCu);
    io(PciBus::kConfigAddress, 4, false, address);
    const auto size = static_cast<uint8_t>(1u << ((flags >> 3) % 3));
    const auto port = static_cast<uint16_t>(0xCFC + (reg & 3));
    io(port, size, !(flags & 1), value);
}

// A promise of a steady value must be what the port reads, now and until it ends.
void Driver::steady_read(ScriptReader& in) {
    const uint16_t port_number = port(in);
    const uint8_t size_byte = in.u8();
    const auto size = static_cast<uint8_t>(1u << (size_byte % 3));
    PortAccess access{.port = port_number, .size = size, .is_in = true};
    const uint64_t steady = p_.steady_read(access);
    note(steady);
    if (steady == 0) return;
    note(access.data);
    check(io(port_number, size, true) == access.data);
    if ((size_byte & 0x80) && steady - 1 <= kMaxSkipNs) {
        now_ns_ += steady - 1;
        p_.advance_to(now_ns_);
        check(io(port_number, size, true) == access.data);
    }
}

// INTR only with an unmasked request; with nothing in service, any unmasked request is INTR.
void Driver::check_pic() const {
    const I8259Pair::Registers master = p_.pic().registers(false);
    const bool requested = (master.irr & ~master.imr) != 0;
    if (p_.interrupt_pending()) check(requested);
    if (master.isr == 0 && requested) check(p_.interrupt_pending());
}

uint64_t Driver::step(ScriptReader& in) {
    obs_ = 0;
    const uint64_t generation = p_.memory_generation();
    const auto op = static_cast<PlatformOp>(in.u8() % static_cast<uint8_t>(PlatformOp::Count));
    if (kTrace)
        std::fprintf(stderr, "step: op %u at t=%llu ns\n", static_cast<unsigned>(op),
                     static_cast<unsigned long long>(now_ns_));
    switch (op) {
    case PlatformOp::PortRead: {
        const uint16_t port_number = port(in);
        io(port_number, port_size(in), true);
        break;
    }
    case PlatformOp::PortWrite: {
        const uint16_t port_number = port(in);
        const uint8_t size = port_size(in);
        io(port_number, size, false, static_cast<uint32_t>(in.le(4)));
        break;
    }
    case PlatformOp::MmioRead:
    case PlatformOp::MmioWrite: {
        const uint64_t gpa = mmio_address(in);
        static constexpr std::array<uint8_t, 4> kSizes = {1, 2, 4, 8};
        const uint8_t size = kSizes[in.u8() % 4];
        uint64_t data = op == PlatformOp::MmioWrite ? in.le(8) : 0;
        p_.mmio(gpa, size, op == PlatformOp::MmioWrite, data);
        if (kTrace)
            std::fprintf(stderr, "  mmio %s 0x%llx/%u 0x%llx\n",
                         op == PlatformOp::MmioWrite ? "write" : "read",
                         static_cast<unsigned long long>(gpa), size,
                         static_cast<unsigned long long>(data));
        if (op == PlatformOp::MmioRead) {
            check(size == 8 || data >> (8 * size) == 0);
            note(data);
        }
        break;
    }
    case PlatformOp::RamStore: {
        const uint64_t gpa = address(in);
        std::vector<uint8_t> bytes(in.u8());
        for (uint8_t& b : bytes)
            b = in.u8();
        cpu_store(gpa, bytes);
        break;
    }
    case PlatformOp::RamLoad: {
        const uint64_t gpa = address(in);
        cpu_load(gpa, in.u8());
        break;
    }
    case PlatformOp::FwCfgDma: fw_cfg_dma(in); break;
    case PlatformOp::FwCfgRead: {
        const uint8_t key = in.u8();
        const uint16_t selector = key < 0x40   ? key
                                  : key < 0x80 ? static_cast<uint16_t>(0x8000 | (key & 0x3F))
                                               : static_cast<uint16_t>(in.le(2));
        io(FwCfg::kSelectorPort, 2, false, selector);
        for (unsigned n = in.u8() + 1u; n > 0; --n)
            io(FwCfg::kDataPort, 1, true);
        break;
    }
    case PlatformOp::Advance: advance(in); break;
    case PlatformOp::Acknowledge:
        if (p_.interrupt_pending() || (in.u8() & 1)) acknowledge();
        break;
    case PlatformOp::AtaCommand: ata_command(in); break;
    case PlatformOp::AtaData: ata_data(in); break;
    case PlatformOp::PciConfig: pci_config(in); break;
    case PlatformOp::Take: {
        const std::string serial = p_.take_serial(), debugcon = p_.take_debugcon();
        note(mix_bytes(serial.size(), serial.data(), serial.size()));
        note(mix_bytes(debugcon.size(), debugcon.data(), debugcon.size()));
        for (const std::string& line : p_.take_log())
            note(mix_bytes(line.size(), line.data(), line.size()));
        break;
    }
    case PlatformOp::SteadyRead: steady_read(in); break;
    case PlatformOp::Deadline: {
        const uint64_t mantissa = in.u8();
        const uint8_t exponent = in.u8();
        p_.begin_run(exponent == 0xFF ? TimedDevice::kNever
                                      : now_ns_ + (mantissa << (4 * (exponent & 7))));
        break;
    }
    case PlatformOp::ClearRequest: p_.clear_request(); break;
    case PlatformOp::AtapiPacket: atapi_packet(in); break;
    case PlatformOp::Count: break;
    }
    check_pic();
    note(p_.interrupt_pending());
    note(static_cast<uint64_t>(p_.request()));
    note(p_.next_event_ns());
    note(p_.clock().now_ns());
    note(p_.a20());
    note(p_.memory_generation() != generation);
    note(p_.debug_exit_value().value_or(~0ull));
    return obs_;
}

} // namespace

namespace {

// Everything the guest or the host can see at the end: RAM, the disk, the output not taken,
// what was probed, the requests and the memory map.
uint64_t final_fingerprint(Machine& m) {
    PcPlatform& p = *m.platform;
    uint64_t h = RamPages(p).fingerprint();
    if (m.disk) h = mix(h, m.disk->fingerprint());
    for (const std::string& text : {p.take_serial(), p.take_debugcon()})
        h = mix_bytes(mix(h, text.size()), text.data(), text.size());
    for (const std::string& line : p.take_log())
        h = mix_bytes(mix(h, line.size()), line.data(), line.size());
    for (uint16_t port : p.unclaimed_ports())
        h = mix(h, port);
    for (uint64_t page : p.unassigned_pages())
        h = mix(h, page);
    for (const RamSlot& slot : p.slots())
        h = mix(mix(mix(h, slot.guest_phys), slot.size), slot.read_only);
    h = mix(h, static_cast<uint64_t>(p.request()));
    h = mix(h, p.debug_exit_value().value_or(~0ull));
    return mix(mix(h, p.a20()), p.interrupt_pending());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    constexpr size_t kHeader = 3;
    if (size < kHeader) return 0;
    const uint8_t disk = data[0], flags = data[1], save_step = data[2];
    const uint8_t* script = data + kHeader;
    const size_t script_size = size - kHeader;

    CachedMachine& cached = cached_machine(disk, flags);
    Machine a = cached.machine;
    Driver driver(*a.platform, flags);
    ScriptReader in(script, script_size);
    std::vector<uint64_t> observed;
    std::optional<PcPlatform::Snapshot> snapshot;
    std::vector<std::pair<size_t, std::vector<uint8_t>>> saved_ram;
    size_t saved_offset = 0, saved_step = 0;
    uint64_t saved_now = 0;
    const auto save = [&] {
        snapshot.emplace(a.platform->save());
        saved_ram = RamPages(*a.platform).copy();
        saved_offset = in.offset();
        saved_step = observed.size();
        saved_now = driver.now_ns();
    };
    while (!in.end() && observed.size() < kMaxSteps) {
        if (observed.size() == save_step) save();
        observed.push_back(driver.step(in));
    }
    if (!snapshot) save();
    const uint64_t final_a = final_fingerprint(a);

    // Restore and replay the rest: the same observations, step by step, and the same end.
    for (int replay = 0; replay < ((flags & kReplayTwice) ? 2 : 1); ++replay) {
        a.platform->restore(*snapshot);
        RamPages(*a.platform).restore(saved_ram);
        driver.set_now_ns(saved_now);
        ScriptReader rest(script, script_size, saved_offset);
        for (size_t i = saved_step; i < observed.size(); ++i)
            check(driver.step(rest) == observed[i]);
        check(final_fingerprint(a) == final_a);
    }

    power_off(cached);

    // A second platform from power-on sees the same.
    if ((flags & kFreshRerun) == kFreshRerun) {
        static std::optional<PcPlatform> fresh;
        Machine b = make_machine(fresh, disk, flags);
        Driver again(*b.platform, flags);
        ScriptReader all(script, script_size);
        for (const uint64_t expected : observed)
            check(again.step(all) == expected);
        check(final_fingerprint(b) == final_a);
        fresh.reset();
    }
    return 0;
}
