// Register dumps as pasted from logs after a failed VM entry ("KVM: entry failed, hardware
// error 0x80000021", Xen's "vmentry failure (reason 0x80000021): Invalid guest state"), read
// into a CpuState plus a record of which fields the dump actually showed.
//
// Three formats, detected automatically (see docs/explain.md):
//   - Linux kvm_intel's dump_vmcs()   "CS:   sel=0x0008, attr=0x0a09b, limit=..., base=..."
//   - Xen's vmcs_dump_vcpu()          "(XEN)   CS: 0010 0a09b ffffffff 0000000000000000"
//   - QEMU's register dump            "CS =0008 00000000 ffffffff 00c09b00 DPL=0 CS32 [-RA]"
// Log prefixes (syslog "Mon DD hh:mm:ss host kernel:", dmesg "[12345.678901]", "kvm_intel:",
// "(XEN)", mail quoting) are stripped first, and a line the mail client wrapped after a comma
// is joined with the next.
//
// The kvm_intel and Xen dumps print the VMCS guest-state area, so CR0, CR4 and RFLAGS are
// what the CPU checked at VM entry ("actual"). QEMU prints the guest's architectural state,
// before KVM adds the CR0/CR4 bits VMX requires; a QEMU dump therefore has no VMCS CR0/CR4.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "transit86/cpu_state.hpp"

namespace transit86::tools::explain {

// Thrown when the text holds no usable dump; what() is one line naming what is missing.
struct DumpError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class DumpFormat : uint8_t { KvmIntel, Xen, Qemu };

// "kvm_intel", "xen", "qemu".
std::string_view to_string(DumpFormat format) noexcept;
// "Linux kvm_intel VMCS dump (dump_vmcs)" and so on.
std::string_view describe(DumpFormat format) noexcept;

// The fields a dump can provide. Segment registers come whole (selector, base, limit and
// access rights are on one line in every format).
enum class Field : uint8_t {
    Es,
    Cs,
    Ss,
    Ds,
    Fs,
    Gs,
    Ldtr,
    Tr,
    Gdtr,
    Idtr,
    Cr0,     // the guest's CR0: decides real, protected or virtual-8086 mode
    Cr0Vmcs, // the VMCS guest CR0 the CPU checked (kvm_intel "actual"); not in QEMU dumps
    Cr3,
    Cr4,
    Cr4Vmcs,
    Rflags,
    Rip,
    Rsp,
    Dr7,
    Efer,
    Pat,
    Sysenter,
    Interruptibility,
    Activity,
    PendingDebug,   // VMCS pending debug exceptions ("DebugExceptions =")
    DebugCtl,       // IA32_DEBUGCTL ("DebugCtl =")
    EntryIntrInfo,  // VM-entry interruption-information field
    EntryErrorCode, // VM-entry exception error code
    EntryInstrLen,  // VM-entry instruction length
    PinBased,       // pin-based VM-execution controls
    CpuBased,       // primary processor-based VM-execution controls
    SecondaryExec,  // secondary processor-based controls (bit 7: unrestricted guest)
    EntryControls,  // VM-entry controls (bit 9: IA-32e mode guest)
    // The segment registers as the VMCS held them: the dump's own in a VMCS dump; in a QEMU
    // dump only when KVM enters them unchanged (unrestricted guest, or protected mode), since
    // without unrestricted guest KVM enters real mode as a virtual-8086 version of them.
    SegmentsVmcs,
    // The host's VMX capabilities no dump shows; known only when given on the command line.
    HostCr4Fixed1,  // IA32_VMX_CR4_FIXED1: which CR4 bits the host lets a guest set
    HostMaxPhyAddr, // MAXPHYADDR: which CR3 bits are reserved
    Count_,
};
inline constexpr int kNumFields = static_cast<int>(Field::Count_);

// "CS", "CR0 (VMCS)", "VM-entry interruption information" ...
std::string_view field_name(Field field) noexcept;
// "cs", "cr0_vmcs", "entry_intr_info" ... for JSON.
std::string_view field_key(Field field) noexcept;

// A set of fields.
class FieldSet {
  public:
    constexpr FieldSet() = default;
    constexpr FieldSet(std::initializer_list<Field> fields) {
        for (Field f : fields)
            insert(f);
    }
    constexpr void insert(Field f) noexcept { bits_ |= bit(f); }
    constexpr void insert(FieldSet other) noexcept { bits_ |= other.bits_; }
    constexpr bool contains(Field f) const noexcept { return (bits_ & bit(f)) != 0; }
    constexpr bool empty() const noexcept { return bits_ == 0; }
    // The fields of this set that `known` lacks.
    constexpr FieldSet missing_from(FieldSet known) const noexcept {
        FieldSet out;
        out.bits_ = bits_ & ~known.bits_;
        return out;
    }
    std::vector<Field> list() const;
    friend constexpr bool operator==(FieldSet, FieldSet) = default;

  private:
    static constexpr uint64_t bit(Field f) noexcept { return uint64_t{1} << static_cast<int>(f); }
    uint64_t bits_ = 0;
};

// VMCS control fields a dump may show, as printed.
struct EntryControls {
    uint32_t intr_info = 0;      // VM-entry interruption information (SDM Vol. 3C 24.8.3)
    uint32_t error_code = 0;     // VM-entry exception error code
    uint32_t instr_len = 0;      // VM-entry instruction length
    uint32_t pin_based = 0;      // pin-based controls (bit 5: virtual NMIs)
    uint32_t cpu_based = 0;      // primary processor-based controls (bit 31: secondary active)
    uint32_t secondary_exec = 0; // bit 7: unrestricted guest
    uint32_t entry_controls = 0; // bit 9: IA-32e mode guest; bit 10: entry to SMM
    uint64_t pending_debug = 0;  // guest pending debug exceptions (bit 14: BS)
    uint64_t debugctl = 0;       // guest IA32_DEBUGCTL (bit 1: BTF)
};

namespace vmcs_bits {
inline constexpr uint32_t kIntrInfoValid = 1u << 31;
inline constexpr uint32_t kIntrTypeShift = 8;
inline constexpr uint32_t kIntrTypeMask = 7u << kIntrTypeShift;
inline constexpr uint32_t kIntrTypeExternal = 0;
inline constexpr uint32_t kIntrTypeNmi = 2;
inline constexpr uint32_t kIntrTypeHardwareException = 3;
inline constexpr uint32_t kIntrTypeOther = 7;
inline constexpr uint32_t kSecondaryUnrestrictedGuest = 1u << 7;
inline constexpr uint32_t kCpuBasedSecondaryActive = 1u << 31;
inline constexpr uint32_t kEntryIa32eModeGuest = 1u << 9;
inline constexpr uint32_t kPinVirtualNmis = 1u << 5;
inline constexpr uint64_t kPendingDebugBs = 1u << 14;
inline constexpr uint64_t kDebugCtlBtf = 1u << 1;
inline constexpr uint64_t kEferLma = 1u << 10;
} // namespace vmcs_bits

// One parsed dump.
struct Dump {
    DumpFormat format = DumpFormat::KvmIntel;
    CpuState state; // unknown fields keep neutral values (see docs/explain.md)
    FieldSet known; // what the dump showed
    EntryControls controls;
    uint64_t rip = 0; // full width as printed; CpuState::eip keeps the low 32 bits
    uint64_t rsp = 0;
    uint64_t rflags = 0;
    std::optional<uint64_t> cr0_shadow;  // kvm_intel/Xen "shadow=": what the guest reads
    std::optional<uint64_t> exit_reason; // "hardware error 0x80000021", "reason 0x80000021"
    std::vector<std::string> notes;      // what the parser noticed, one sentence each
};

// Reads a dump. Throws DumpError with one line when no format is recognised or the dump has
// nothing to judge (no guest segment registers and no CR0/RFLAGS).
Dump parse_dump(std::string_view text);

// --- shared by the format parsers (explain_dump.cpp) ---
namespace detail {

// The line with log prefixes removed (syslog, dmesg timestamps, "kvm_intel:", "(XEN)").
std::string strip_log_prefix(std::string_view line);
// Lines with prefixes stripped, comment lines ("# ...") dropped and wrapped lines rejoined.
std::vector<std::string> normalise_lines(std::string_view text);
// Hexadecimal text with or without "0x"; nullopt if it is not one.
std::optional<uint64_t> parse_hex(std::string_view text) noexcept;
// A regular-expression match's group as hexadecimal (0 if it is not), for both dump parsers.
template <class Match>
uint64_t group_hex(const Match& match, std::size_t group) {
    return parse_hex(match.str(group)).value_or(0);
}

void parse_vmcs_lines(const std::vector<std::string>& lines, Dump& dump); // kvm_intel and Xen
void parse_qemu_lines(const std::vector<std::string>& lines, Dump& dump);

// How many lines look like each format; the detector picks the largest.
int vmcs_score(const std::vector<std::string>& lines, bool& xen);
int qemu_score(const std::vector<std::string>& lines);

// Stores one segment register (ES..GS by Seg, else LDTR/TR by name) and marks it known.
void set_segment(Dump& dump, Field field, const SegmentCache& seg);
Field segment_field(Seg seg) noexcept;

} // namespace detail

} // namespace transit86::tools::explain
