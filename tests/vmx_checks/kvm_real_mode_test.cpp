// KVM profile, real-mode branch (CR0.PE = 0 or RFLAGS.VM = 1): KVM's rmode_segment_valid()
// for CS, SS, DS, ES, FS, GS. Without unrestricted guest KVM runs real mode as virtual-8086
// mode, so it asks for what SDM 26.3.1.2 requires when "the guest will be virtual-8086":
// base = selector << 4, limit 0000FFFFH, access rights 000000F3H. KVM forces DPL to 3 (and
// CS's type to 3) before comparing, and rebuilds the access rights with P := !unusable.
//
// Each rule test loops over the six registers: the valid real-mode state passes, and one
// change to one register fails that register's row and nothing else.
#include "states.hpp"

namespace transit86::vmx::test {
namespace {

// SDM 26.3.1.2, base-address fields: "If the guest will be virtual-8086, the address must be
// the selector field shifted left 4 bits". KVM: var.base != (var.selector << 4) -> invalid.
TEST(KvmRealMode, BaseIsSelectorTimes16) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        CpuState s = real_mode();
        EXPECT_TRUE(valid(s));
        s[seg] = real_segment(0xFFFF, s[seg].access_rights); // highest base 0xFFFF0 passes
        EXPECT_TRUE(valid(s));
        s[seg].base += 0x10;
        EXPECT_TRUE(fails_only(s, id("rmode", name, "base")));
        s[seg].base = 0x100000FFF0; // bits above 31 count too
        EXPECT_TRUE(fails_only(s, id("rmode", name, "base")));
    }
}

// SDM 26.3.1.2, limit fields: "If the guest will be virtual-8086, the field must be
// 0000FFFFH". KVM: var.limit != 0xffff -> invalid.
TEST(KvmRealMode, LimitIs64KiB) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        CpuState s = real_mode();
        s[seg].limit = 0xFFFE;
        EXPECT_TRUE(fails_only(s, id("rmode", name, "limit")));
        s[seg].limit = 0xFFFFF;
        EXPECT_TRUE(fails_only(s, id("rmode", name, "limit")));
        s[seg].limit = 0xFFFF;
        EXPECT_TRUE(valid(s));
    }
}

// SDM 26.3.1.2, access rights in virtual-8086 mode: "bit 16 (unusable) ... must be 0". KVM:
// the unusable bit is bit 16 of the rebuilt access rights, which must equal 0xF3.
TEST(KvmRealMode, SegmentIsUsable) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        CpuState s = real_mode();
        s[seg].access_rights |= kUnusable;
        EXPECT_TRUE(fails_only(s, id("rmode", name, "usable")));
    }
}

// SDM 26.3.1.2: in virtual-8086 mode "Bits 3:0 (Type) must be 3, indicating an expand-up
// read/write accessed data segment". KVM compares the type as is for SS..GS.
TEST(KvmRealMode, TypeIs3ForSsDsEsFsGs) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        if (seg == Seg::CS) continue;
        SCOPED_TRACE(name);
        CpuState s = real_mode();
        for (uint32_t type : {0u, 1u, 2u, 7u, 11u}) {
            s[seg].access_rights = 0x90 | type;
            EXPECT_TRUE(fails_only(s, id("rmode", name, "type")));
        }
        s[seg].access_rights = 0x93;
        EXPECT_TRUE(valid(s));
    }
}

// KVM rmode_segment_valid: "if (seg == VCPU_SREG_CS) var.type = 0x3;" before comparing, so the
// CS type never fails in real mode (the Intel reset state's CS is data 0x93, KVM's is code
// 0x9B; both pass). There is no rmode.cs.type row.
TEST(KvmRealMode, CsTypeIsIgnored) {
    EXPECT_EQ(find_check(Profile::Kvm, "rmode.cs.type"), nullptr);
    for (uint32_t type = 0; type < 16; ++type) {
        CpuState s = real_mode();
        s[Seg::CS].access_rights = 0x90 | type;
        EXPECT_TRUE(valid(s)) << "CS type " << type;
    }
}

// SDM 26.3.1.2: in virtual-8086 mode "Bit 4 (S) must be 1". KVM: S is bit 4 of the rebuilt
// access rights.
TEST(KvmRealMode, SBitIs1) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        CpuState s = real_mode();
        s[seg].access_rights &= ~ar::kS;
        EXPECT_TRUE(fails_only(s, id("rmode", name, "s")));
    }
}

// SDM 26.3.1.2: in virtual-8086 mode "bit 12 (software available), bit 13 (reserved/L), bit 14
// (D/B), bit 15 (G) ... must all be 0". KVM rebuilds these four bits from kvm_segment. One
// row covers the four; each one alone fails it.
TEST(KvmRealMode, AvlLDbGAreClear) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        for (uint32_t bit : {ar::kAvl, ar::kL, ar::kDb, ar::kG}) {
            CpuState s = real_mode();
            s[seg].access_rights |= bit;
            EXPECT_TRUE(fails_only(s, id("rmode", name, "avl-l-db-g"))) << "bit " << bit;
        }
    }
}

// SDM 26.3.1.2 wants DPL 3 in virtual-8086 mode, but KVM sets var.dpl = 0x3 before comparing:
// real-mode code has DPL 0 in its caches and must not be refused for it.
TEST(KvmRealMode, DplIsIgnored) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        for (uint32_t dpl = 0; dpl < 4; ++dpl) {
            CpuState s = real_mode();
            s[seg].access_rights = (s[seg].access_rights & ~ar::kDplMask) | dpl << ar::kDplShift;
            EXPECT_TRUE(valid(s));
        }
    }
}

// KVM's vmx_get_segment() sets present = !unusable and vmx_segment_access_rights() keeps only
// the architectural fields, so AR bit 7 and reserved bits 11:8, 31:17 never reach the 0xF3
// comparison (the SDM's "000000F3H" is stricter: see docs/checks.md).
TEST(KvmRealMode, PresentAndReservedBitsAreIgnored) {
    for (const auto& [seg, name] : kKvmSegOrder) {
        SCOPED_TRACE(name);
        CpuState s = real_mode();
        s[seg].access_rights &= ~ar::kP;
        EXPECT_TRUE(valid(s));
        s[seg].access_rights |= 0x0F00 | 0xFFFE0000;
        EXPECT_TRUE(valid(s));
    }
}

// KVM __vmx_guest_state_valid: the real-mode branch checks the six segment registers only; no
// TR, LDTR, RPL, RIP or RFLAGS checks.
TEST(KvmRealMode, OnlySegmentRegistersAreChecked) {
    CpuState s = real_mode();
    s.tr = segment(0x1234, 0xDEAD, 0, kUnusable);
    s.ldtr = segment(0x0007, 0xBEEF, 0, 0x8B);
    s[Seg::SS] = real_segment(0x0033);
    s.eip = 0xFFFFFFFF;
    s.eflags = 0xFFFFFFFF & ~flags::VM;
    s.gdtr = {0, 0xFFFFFFFF};
    EXPECT_TRUE(valid(s));
}

// KVM takes the real-mode branch when !is_protmode() || (rflags & X86_EFLAGS_VM): a
// virtual-8086 guest (PE = 1, VM = 1) is judged by the same six-register rule.
TEST(KvmRealMode, Virtual8086UsesTheRealModeBranch) {
    CpuState v86 = real_mode();
    v86.cr0 |= cr0::PE;
    v86.eflags |= flags::VM;
    for (Seg seg : {Seg::CS, Seg::SS, Seg::DS, Seg::ES, Seg::FS, Seg::GS})
        v86[seg].access_rights = 0xF3;
    EXPECT_TRUE(valid(v86));

    CpuState flat = flat_protected();
    EXPECT_TRUE(valid(flat));
    flat.eflags |= flags::VM;
    const std::vector<std::string> ids = failing_ids(flat);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.front(), "rmode.cs.base"); // CS base 0, selector 0x08 << 4 = 0x80
    for (const std::string& failed : ids)
        EXPECT_EQ(failed.rfind("rmode.", 0), 0u) << failed;
}

} // namespace
} // namespace transit86::vmx::test
