// The interpreter test machine (see machine.hpp).
#include "machine.hpp"

#include <algorithm>

namespace transit86::test {

namespace {

constexpr uint32_t kCodeAR = 0x9B;   // present, DPL 0, execute/read, accessed
constexpr uint32_t kDataAR = 0x93;   // present, DPL 0, read/write, accessed
constexpr uint32_t kFlatAR = 0xC000; // G = 1, D/B = 1 in the VMCS access-rights layout

} // namespace

Machine::Machine(Mode mode, PortHandler* ports)
    : ram_(static_cast<uint8_t*>(std::calloc(kRamSize, 1))), slot_{.guest_phys = 0,
                                                                   .size = kRamSize,
                                                                   .host = ram_.get()},
      emulator_(std::span<const RamSlot>(&slot_, 1), ports) {
    if (mode == Mode::Real)
        enter_real_mode();
    else
        enter_protected_mode32();
}

void Machine::enter_real_mode() {
    CpuState& s = state();
    s = CpuState{};
    s.eflags = flags::Fixed1;
    s.cr0 = cr0::ET;
    s.eip = kCode;
    s[Gpr::ESP] = kStackTop;
    for (auto& sc : s.seg)
        sc = segment_cache(0, 0, 0xFFFF, kDataAR);
    s[Seg::CS] = segment_cache(0, 0, 0xFFFF, kCodeAR);
    s.gdtr = {.base = 0, .limit = 0xFFFF};
    s.idtr = {.base = 0, .limit = 0x3FF};
    s.ldtr = segment_cache(0, 0, 0, ar::kUnusable);
    s.tr = segment_cache(0, 0, 0xFFFF, 0x8B); // busy 32-bit TSS, as KVM resets it
}

void Machine::install_flat_gdt() {
    set_descriptor(kCode32 >> 3, 0, 0xFFFFF, access::kCodeER | 1, kFlat32Flags);
    set_descriptor(kData32 >> 3, 0, 0xFFFFF, access::kDataRW | 1, kFlat32Flags);
    set_descriptor(kCode16 >> 3, 0, 0xFFFF, access::kCodeER | 1, kByte16Flags);
    set_descriptor(kData16 >> 3, 0, 0xFFFF, access::kDataRW | 1, kByte16Flags);
}

void Machine::enter_protected_mode32() {
    enter_real_mode();
    install_flat_gdt();
    exceptions_to_host = true;
    CpuState& s = state();
    s.cr0 = cr0::PE | cr0::ET;
    s.gdtr = {.base = kGdtBase, .limit = kGdtLimit};
    s.idtr = {.base = 0, .limit = 0};
    for (auto& sc : s.seg)
        sc = segment_cache(kData32, 0, 0xFFFFFFFF, kDataAR | kFlatAR);
    s[Seg::CS] = segment_cache(kCode32, 0, 0xFFFFFFFF, kCodeAR | kFlatAR);
}

void Machine::drop_to_cpl3() {
    constexpr uint32_t kDpl3 = 3u << ar::kDplShift;
    seg(Seg::CS).access_rights |= kDpl3;
    seg(Seg::CS).selector |= 3;
    seg(Seg::SS).access_rights |= kDpl3;
    seg(Seg::SS).selector |= 3;
}

Exit Machine::run(uint64_t instructions) {
    return emulator_.run(RunLimits{.budget = instructions,
                                   .stop_when_valid = std::nullopt,
                                   .exceptions_to_host = exceptions_to_host});
}

void Machine::load(uint32_t address, std::initializer_list<uint8_t> bytes) {
    std::copy(bytes.begin(), bytes.end(), ram_.get() + address);
}

uint16_t Machine::read16(uint32_t address) const {
    uint16_t v;
    std::memcpy(&v, &ram_[address], 2);
    return v;
}
uint32_t Machine::read32(uint32_t address) const {
    uint32_t v;
    std::memcpy(&v, &ram_[address], 4);
    return v;
}
uint64_t Machine::read64(uint32_t address) const {
    uint64_t v;
    std::memcpy(&v, &ram_[address], 8);
    return v;
}

void Machine::write_descriptor(uint32_t address, uint32_t base, uint32_t limit, uint8_t access_byte,
                               uint8_t flags) {
    // SDM Vol. 3A 3.4.5, Figure 3-8: limit 15:0, base 23:0, access, flags|limit 19:16,
    // base 31:24.
    const uint64_t raw = (uint64_t{limit} & 0xFFFF) | ((uint64_t{base} & 0xFFFFFF) << 16) |
                         (uint64_t{access_byte} << 40) | ((uint64_t{limit} >> 16 & 0xF) << 48) |
                         (uint64_t{flags} & 0xF) << 52 | (uint64_t{base} >> 24) << 56;
    write64(address, raw);
}

void Machine::set_ivt(uint8_t vector, uint16_t segment, uint16_t offset) {
    write16(uint32_t{vector} * 4, offset);
    write16(uint32_t{vector} * 4 + 2, segment);
}

void load_protected_mode_entry(Machine& m) {
    m.install_flat_gdt();
    m.set_descriptor(kCode32 >> 3, 0, 0xFFFFF, access::kCodeER, kFlat32Flags);
    m.write16(0x1100, kGdtLimit);
    m.write32(0x1102, kGdtBase);
    m.load_code({
        0x0F, 0x01, 0x16, 0x00, 0x11,                   // lgdt [0x1100]
        0x0F, 0x20, 0xC0,                               // mov eax, cr0
        0x0C, 0x01,                                     // or al, 1
        0x0F, 0x22, 0xC0,                               // mov cr0, eax
        0x66, 0xEA, 0x20, 0x10, 0x00, 0x00, 0x08, 0x00, // jmp dword 0x08:0x1020
    });
    m.load(kPeSwitchJumpTarget, {0xB8, 0x78, 0x56, 0x34, 0x12}); // mov eax, 0x12345678
}

std::string flag_names(uint32_t eflags) {
    static constexpr struct {
        uint32_t bit;
        const char* name;
    } kNames[] = {{flags::CF, "CF"}, {flags::PF, "PF"}, {flags::AF, "AF"},
                  {flags::ZF, "ZF"}, {flags::SF, "SF"}, {flags::TF, "TF"},
                  {flags::IF, "IF"}, {flags::DF, "DF"}, {flags::OF, "OF"}};
    std::string out;
    for (const auto& n : kNames) {
        if (!(eflags & n.bit)) continue;
        if (!out.empty()) out += '|';
        out += n.name;
    }
    return out.empty() ? "(none)" : out;
}

::testing::AssertionResult status_flags_are(uint32_t eflags, uint32_t expected, uint32_t mask) {
    if ((eflags & mask) == (expected & mask)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "flags are " << flag_names(eflags & mask)
                                         << ", expected " << flag_names(expected & mask);
}

::testing::AssertionResult is_exception(const Exit& exit, uint8_t vector) {
    if (exit.reason != ExitReason::Exception)
        return ::testing::AssertionFailure() << "exit is " << to_string(exit.reason);
    if (exit.vector != vector || exit.has_error_code)
        return ::testing::AssertionFailure()
               << "exception " << int{exit.vector} << (exit.has_error_code ? " with" : " without")
               << " error code " << exit.error_code << ", expected " << int{vector} << " without";
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_exception(const Exit& exit, uint8_t vector, uint32_t error_code) {
    if (exit.reason != ExitReason::Exception)
        return ::testing::AssertionFailure() << "exit is " << to_string(exit.reason);
    if (exit.vector != vector || !exit.has_error_code || exit.error_code != error_code)
        return ::testing::AssertionFailure()
               << "exception " << int{exit.vector} << (exit.has_error_code ? " with" : " without")
               << " error code 0x" << std::hex << exit.error_code << ", expected " << std::dec
               << int{vector} << " with 0x" << std::hex << error_code;
    return ::testing::AssertionSuccess();
}

PortHandler::Result RecordingPorts::access(PortAccess& a) {
    if (std::find(host_ports.begin(), host_ports.end(), a.port) != host_ports.end())
        return Result::ExitToHost;
    if (a.is_in) a.data = in_value;
    log.push_back(a);
    return Result::Handled;
}

} // namespace transit86::test
