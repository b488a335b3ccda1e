// The emulate_invalid_guest_state=0 path of KVM (arch/x86/kvm/vmx/vmx.c): enter_rmode() with
// fix_rmode_seg(), enter_pmode() with fix_pmode_seg(), and what vmx_set_cr0()/vmx_set_cr4()
// put in the hardware CR0/CR3/CR4. See include/transit86/kvm_fixup.hpp.
#include "transit86/kvm_fixup.hpp"

#include "describe.hpp"
#include "sdm_common.hpp"

#include <fmt/format.h>

#include <array>

namespace transit86::vmx {
namespace {

namespace cr4 = detail::sdm::cr4;
using detail::seg_name;
using detail::type_name;

// RMODE_TSS_SIZE - 1: TSS_BASE_SIZE 0x68 + TSS_REDIRECTION_SIZE 32 + TSS_IOPB_SIZE 8192 + 1.
constexpr uint32_t kRmodeTssLimit = 0x68 + 32 + 8192;
constexpr uint32_t kVm86Rights = 0xF3;
constexpr uint32_t kBusyTss32 = 0x8B;

// KVM_VM_CR0_ALWAYS_OFF and KVM_VM_CR0_ALWAYS_ON (without unrestricted guest).
constexpr uint64_t kCr0AlwaysOff = cr0::NW | cr0::CD;
constexpr uint64_t kCr0AlwaysOn = cr0::NE | cr0::PG | cr0::PE;

// The access rights KVM writes for a segment it read back with vmx_get_segment():
// vmx_segment_access_rights() keeps type, S, DPL, AVL, L, D/B, G and the unusable bit, and takes
// P from !unusable; reserved bits are lost.
uint32_t rebuilt_rights(uint32_t a) {
    constexpr uint32_t kKept =
        ar::kTypeMask | ar::kS | ar::kDplMask | ar::kAvl | ar::kL | ar::kDb | ar::kG;
    return (a & kKept) | (ar::unusable(a) ? ar::kUnusable : ar::kP);
}

class FixupBuilder {
  public:
    FixupBuilder(const CpuState& state, const KvmFixupOptions& options)
        : before_(state), options_(options) {
        report_.vmcs = state;
    }

    FixupReport build() && {
        const bool v86 = before_.v86();
        if (!before_.protected_mode()) {
            report_.path = FixupPath::RealMode;
            real_mode();
        } else {
            report_.path = v86 ? FixupPath::GuestV86 : FixupPath::ProtectedMode;
            if (!v86) protected_mode();
        }
        control_registers();
        report_.entry_failures = evaluate(report_.vmcs, Profile::Sdm, kvm_vmcs_context());
        return std::move(report_);
    }

  private:
    void change(std::string_view reg, std::string_view field, uint64_t before, uint64_t after,
                bool visible, std::string why) {
        if (before == after) return;
        report_.changes.push_back({reg, field, before, after, visible, std::move(why)});
    }

    // enter_rmode(): fix_rmode_seg() for SS, CS, ES, DS, GS, FS, then KVM's TSS and RFLAGS.
    void real_mode() {
        for (Seg seg : {Seg::SS, Seg::CS, Seg::ES, Seg::DS, Seg::GS, Seg::FS})
            fix_rmode_seg(seg);

        SegmentCache& tr = report_.vmcs.tr;
        const SegmentCache old_tr = tr;
        tr.base = options_.tss_addr;
        tr.limit = kRmodeTssLimit;
        tr.access_rights = kBusyTss32;
        constexpr std::string_view kTrWhy =
            "KVM's own virtual-8086 TSS (KVM_SET_TSS_ADDR); the guest's TR is restored when it "
            "sets CR0.PE, and real-mode code cannot read TR";
        change("TR", "base", old_tr.base, tr.base, false,
               fmt::format("TR base {:#x} -> {:#x}: {}", old_tr.base, tr.base, kTrWhy));
        change("TR", "limit", old_tr.limit, tr.limit, false,
               fmt::format("TR limit {:#x} -> {:#x}: {}", old_tr.limit, tr.limit, kTrWhy));
        change("TR", "access rights", old_tr.access_rights, tr.access_rights, false,
               fmt::format("TR access rights {:#x} -> {:#x}: {}", old_tr.access_rights,
                           tr.access_rights, kTrWhy));

        uint32_t& eflags = report_.vmcs.eflags;
        const uint32_t old = eflags;
        eflags |= flags::IOPL | flags::VM;
        const bool iopl_changed = (old & flags::IOPL) != flags::IOPL;
        change("RFLAGS", "value", old, eflags, iopl_changed,
               fmt::format("RFLAGS {:#x} -> {:#x}: VM = 1 runs real mode as virtual-8086 mode "
                           "(hidden: PUSHF does not store VM){}",
                           old, eflags,
                           iopl_changed
                               ? fmt::format("; IOPL {} -> 3 is visible: PUSHF stores "
                                             "IOPL 3 where the guest set {}",
                                             (old & flags::IOPL) >> 12, (old & flags::IOPL) >> 12)
                               : std::string()));
    }

    void fix_rmode_seg(Seg seg) {
        const SegmentCache old = before_[seg];
        SegmentCache& now = report_.vmcs[seg];
        const std::string_view name = seg_name(seg);
        now.selector = static_cast<uint16_t>(old.base >> 4);
        now.base = old.base & 0xFFFF0;
        now.limit = 0xFFFF;
        now.access_rights = kVm86Rights;
        if ((old.base & 0xF) != 0) report_.unaligned_bases.push_back(seg);

        change(name, "selector", old.selector, now.selector, true,
               fmt::format("{} selector {:#06x} -> {:#06x}: KVM rebuilds the selector from the "
                           "base ({:#x} >> 4); MOV from {} and PUSH {} see the new value",
                           name, old.selector, now.selector, old.base, name, name));
        change(name, "base", old.base, now.base, true, base_why(name, old.base, now.base));
        change(name, "limit", old.limit, now.limit, old.limit < 0xFFFF,
               limit_why(name, seg, old.limit));
        rights_change_rmode(seg, old.access_rights);
    }

    static std::string base_why(std::string_view name, uint64_t before, uint64_t after) {
        std::string why = fmt::format("{} base {:#x} -> {:#x}:", name, before, after);
        if ((before & 0xF) != 0) why += " not paragraph aligned, the low 4 bits are dropped;";
        if (before > 0xFFFFF) why += " above 1 MiB, bits 31:20 are dropped;";
        return why + " every access through the segment moves by the difference";
    }

    static std::string limit_why(std::string_view name, Seg seg, uint32_t before) {
        if (before < 0xFFFF)
            return fmt::format("{} limit {:#x} -> 0xffff: virtual-8086 segments are 64 KiB, so "
                               "accesses past {:#x} no longer fault",
                               name, before, before);
        return fmt::format("{} limit {:#x} -> 0xffff: unreal mode is lost in hardware; every "
                           "access past 64 KiB faults with {}(0) and KVM emulates the "
                           "instruction with its saved limit, so it still works, at one exit "
                           "per access (an instruction KVM's emulator lacks ends the run)",
                           name, before, seg == Seg::SS ? "#SS" : "#GP");
    }

    void rights_change_rmode(Seg seg, uint32_t before) {
        const uint32_t after = kVm86Rights;
        if (before == after) return;
        const std::string_view name = seg_name(seg);
        std::string hidden;
        std::string seen;
        const auto note = [](std::string& list, const std::string& what) {
            list += list.empty() ? "" : ", ";
            list += what;
        };
        if (ar::type(before) != 3) {
            const bool code = seg == Seg::CS;
            const bool matters = !code && (ar::type(before) | ar::kAccessed) != 3;
            note(matters ? seen : hidden,
                 fmt::format("type {} ({}) -> 3{}", ar::type(before), type_name(before),
                             code ? ": vm86 executes from a read/write data segment" : ""));
        }
        if (!ar::s(before)) note(seen, "S 0 -> 1: a system-segment cache becomes data");
        if (ar::dpl(before) != 3)
            note(hidden, fmt::format("DPL {} -> 3 (KVM reports CPL 0 and emulates privileged "
                                     "instructions)",
                                     ar::dpl(before)));
        if (ar::unusable(before)) note(seen, "unusable -> usable: accesses no longer fault");
        if (ar::db(before) && (seg == Seg::CS || seg == Seg::SS))
            note(seen, seg == Seg::CS ? "D 1 -> 0: code decodes with 16-bit default operand and "
                                        "address size"
                                      : "B 1 -> 0: the stack uses SP instead of ESP");
        if ((before & (ar::kG | ar::kAvl | ar::kL)) != 0 ||
            (ar::db(before) && seg != Seg::CS && seg != Seg::SS))
            note(hidden, "AVL, L, D/B, G cleared (the limit row says what G meant)");
        if (!ar::present(before) && !ar::unusable(before)) note(hidden, "P 0 -> 1");
        if ((before & ar::kReservedMask) != 0) note(hidden, "reserved bits dropped");
        std::string why = fmt::format("{} access rights {:#x} -> {:#x}:", name, before, after);
        if (!seen.empty()) why += " " + seen + (hidden.empty() ? "" : ";");
        if (!hidden.empty()) why += " hidden: " + hidden;
        change(name, "access rights", before, after, !seen.empty(), std::move(why));
    }

    // enter_pmode(): fix_pmode_seg() for CS, SS, ES, DS, FS, GS. The guest's TR comes back
    // from KVM's copy with rebuilt access rights; RFLAGS comes back unchanged.
    void protected_mode() {
        for (Seg seg : {Seg::CS, Seg::SS, Seg::ES, Seg::DS, Seg::FS, Seg::GS})
            fix_pmode_seg(seg);
        const uint32_t tr_before = before_.tr.access_rights;
        report_.vmcs.tr.access_rights = rebuilt_rights(tr_before);
        change("TR", "access rights", tr_before, report_.vmcs.tr.access_rights, false,
               fmt::format("TR access rights {:#x} -> {:#x}: rebuilt from KVM's copy (P taken "
                           "from the unusable bit, reserved bits dropped)",
                           tr_before, report_.vmcs.tr.access_rights));
    }

    void fix_pmode_seg(Seg seg) {
        const SegmentCache old = before_[seg];
        SegmentCache& now = report_.vmcs[seg];
        const std::string_view name = seg_name(seg);
        if (seg == Seg::CS || seg == Seg::SS) now.selector = old.selector & ~uint16_t{3};
        const uint32_t dpl = now.selector & 3u;
        now.access_rights =
            (rebuilt_rights(old.access_rights) & ~ar::kDplMask) | dpl << ar::kDplShift | ar::kS;

        change(name, "selector", old.selector, now.selector, true,
               fmt::format("{} selector {:#06x} -> {:#06x}: KVM clears the RPL bits of CS and SS "
                           "so that they agree; MOV from {} and PUSH {} see the new value",
                           name, old.selector, now.selector, name, name));

        const uint32_t before = old.access_rights;
        std::string seen;
        std::string hidden;
        if (ar::dpl(before) != dpl) {
            const std::string what = fmt::format("DPL {} -> {} (:= RPL)", ar::dpl(before), dpl);
            if (seg == Seg::SS)
                seen =
                    what + ": the CPL, which VT-x keeps in SS.DPL, becomes " + std::to_string(dpl);
            else
                hidden = what + (seg == Seg::CS ? " (the CPL comes from SS)"
                                                : " (checked only when a selector is loaded)");
        }
        if (!ar::s(before)) {
            seen += seen.empty() ? "" : ", ";
            seen += "S 0 -> 1: a system-segment cache becomes code/data";
        }
        if ((before & ar::kReservedMask) != 0 || ar::present(before) == ar::unusable(before)) {
            hidden += hidden.empty() ? "" : ", ";
            hidden += "P taken from the unusable bit, reserved bits dropped";
        }
        std::string why =
            fmt::format("{} access rights {:#x} -> {:#x}:", name, before, now.access_rights);
        if (!seen.empty()) why += " " + seen + (hidden.empty() ? "" : ";");
        if (!hidden.empty()) why += " hidden: " + hidden;
        change(name, "access rights", before, now.access_rights, !seen.empty(), std::move(why));
    }

    // vmx_set_cr0(), vmx_set_cr4(), vmx_load_mmu_pgd() without unrestricted guest.
    void control_registers() {
        CpuState& v = report_.vmcs;
        const bool vm86 = report_.path == FixupPath::RealMode;
        const bool paging = (before_.cr0 & cr0::PG) != 0;

        v.cr0 = (before_.cr0 & ~kCr0AlwaysOff) | kCr0AlwaysOn | (options_.ept ? 0 : cr0::WP);
        change("CR0", "value", before_.cr0, v.cr0, false,
               fmt::format("CR0 {:#x} -> {:#x}: {}; the guest reads its own value through the CR0 "
                           "read shadow",
                           before_.cr0, v.cr0,
                           bit_changes(before_.cr0, v.cr0, detail::sdm::cr0_bit_names)));

        v.cr4 = before_.cr4 | cr4::PAE | cr4::VMXE | (vm86 ? cr4::VME : 0);
        if (options_.ept && !paging) v.cr4 = (v.cr4 & ~cr4::PAE) | cr4::PSE;
        if (!paging) v.cr4 &= ~(cr4::SMEP | cr4::SMAP | cr4::PKE);
        if (options_.ept && !paging) {
            v.cr3 = options_.identity_map_addr;
            change("CR3", "value", before_.cr3, v.cr3, false,
                   fmt::format("CR3 {:#x} -> {:#x}: with paging off KVM runs the guest on its "
                               "identity-mapped page table (KVM_SET_IDENTITY_MAP_ADDR) and "
                               "intercepts CR3 accesses",
                               before_.cr3, v.cr3));
        }
        change("CR4", "value", before_.cr4, v.cr4, false,
               fmt::format("CR4 {:#x} -> {:#x}: {}; the guest reads its own value through the CR4 "
                           "read shadow",
                           before_.cr4, v.cr4,
                           bit_changes(before_.cr4, v.cr4, detail::sdm::cr4_bit_names)));
    }

    // "sets PE (bit 0), PG (bit 31), clears CD (bit 30)".
    static std::string bit_changes(uint64_t before, uint64_t after,
                                   std::string (*names)(uint64_t)) {
        std::string out;
        if ((after & ~before) != 0) out = "KVM sets " + names(after & ~before);
        if ((before & ~after) != 0)
            out += (out.empty() ? "KVM clears " : " and clears ") + names(before & ~after);
        return out;
    }

    const CpuState& before_;
    const KvmFixupOptions& options_;
    FixupReport report_{};
};

} // namespace

std::vector<const FixupChange*> FixupReport::guest_visible_changes() const {
    std::vector<const FixupChange*> out;
    for (const FixupChange& c : changes)
        if (c.guest_visible) out.push_back(&c);
    return out;
}

VmxContext kvm_vmcs_context() noexcept {
    VmxContext ctx;
    ctx.unrestricted_guest = false;
    ctx.cr0_vmm_set = 0;
    ctx.cr4_vmm_set = 0;
    return ctx;
}

FixupReport kvm_fixup(const CpuState& state, const KvmFixupOptions& options) {
    return FixupBuilder(state, options).build();
}

std::string_view to_string(FixupPath path) noexcept {
    switch (path) {
    case FixupPath::RealMode: return "real-mode";
    case FixupPath::ProtectedMode: return "protected-mode";
    case FixupPath::GuestV86: return "guest-v86";
    }
    return "?";
}

} // namespace transit86::vmx
