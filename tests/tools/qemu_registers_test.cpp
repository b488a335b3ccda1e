// parse_info_registers (tools/corpus/qemu_registers.hpp): QEMU 7.2's `info registers` text as
// the corpus's qemu engine reads it after every step. The dumps are QEMU's own output, taken
// from qemu-system-i386 7.2 (-cpu pentium3) at reset and hand-edited where a test says so.
#include <gtest/gtest.h>

#include "tools/corpus/qemu_registers.hpp"

namespace transit86::tools {
namespace {

// qemu-system-i386 -S, before the first instruction (target/i386/cpu-dump.c layout).
constexpr const char* kResetDump =
    "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000673\n"
    "ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000\n"
    "EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0\n"
    "ES =0000 00000000 0000ffff 00009300\n"
    "CS =f000 ffff0000 0000ffff 00009b00\n"
    "SS =0000 00000000 0000ffff 00009300\n"
    "DS =0000 00000000 0000ffff 00009300\n"
    "FS =0000 00000000 0000ffff 00009300\n"
    "GS =0000 00000000 0000ffff 00009300\n"
    "LDT=0000 00000000 0000ffff 00008200\n"
    "TR =0000 00000000 0000ffff 00008b00\n"
    "GDT=     00000000 0000ffff\n"
    "IDT=     00000000 0000ffff\n"
    "CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000\n"
    "DR0=00000000 DR1=00000000 DR2=00000000 DR3=00000000 \n"
    "DR6=ffff0ff0 DR7=00000400\n"
    "EFER=0000000000000000\n"
    "FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80\n";

// A paged 32-bit state after a #PF was delivered, halted, FS loaded with a null selector
// (QEMU keeps flags 0 for it), written in QEMU's format.
constexpr const char* kPagedHaltedDump =
    "EAX=00000045 EBX=aaaa0001 ECX=cccc0003 EDX=bbbb0002\n"
    "ESI=00000000 EDI=00000000 EBP=00000000 ESP=00008ff4\n"
    "EIP=00001061 EFL=00000086 [--S--P-] CPL=0 II=1 A20=0 SMM=0 HLT=1\n"
    "ES =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n"
    "CS =0008 00000000 ffffffff 00cf9b00 DPL=0 CS32 [-RA]\n"
    "SS =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n"
    "DS =0033 00000000 ffffffff 00cff300 DPL=3 DS   [-WA]\n"
    "FS =0000 00000000 00000000 00000000\n"
    "GS =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n"
    "LDT=0000 00000000 0000ffff 00008200 DPL=0 LDT\n"
    "TR =0038 00001200 00000067 00008900 DPL=0 TSS32-avl\n"
    "GDT=     00001180 0000003f\n"
    "IDT=     000011c0 00000187\n"
    "CR0=80010011 CR2=0000c000 CR3=00004000 CR4=00000000\n"
    "DR0=00000000 DR1=00000000 DR2=00000000 DR3=00000000 \n"
    "DR6=ffff0ff0 DR7=00000400\n"
    "EFER=0000000000000000\n";

// Every field of the reset dump lands where CpuState keeps it; CS's flags 9B00H are access
// rights 9BH (SDM Vol. 3C 24.4.1 layout: flags >> 8).
TEST(QemuRegisters, ResetDumpReadsEveryField) {
    std::string error;
    const auto q = parse_info_registers(kResetDump, error);
    ASSERT_TRUE(q) << error;
    const CpuState& s = q->state;
    EXPECT_EQ(s[Gpr::EDX], 0x673u);
    EXPECT_EQ(s.eip, 0xFFF0u);
    EXPECT_EQ(s.eflags, 0x2u);
    EXPECT_EQ(s[Seg::CS].selector, 0xF000);
    EXPECT_EQ(s[Seg::CS].base, 0xFFFF0000u);
    EXPECT_EQ(s[Seg::CS].limit, 0xFFFFu);
    EXPECT_EQ(s[Seg::CS].access_rights, 0x9Bu);
    EXPECT_EQ(s[Seg::DS].access_rights, 0x93u);
    EXPECT_EQ(s.ldtr.access_rights, 0x82u);
    EXPECT_EQ(s.tr.access_rights, 0x8Bu);
    EXPECT_EQ(s.gdtr.limit, 0xFFFFu);
    EXPECT_EQ(s.idtr.limit, 0xFFFFu);
    EXPECT_EQ(s.cr0, 0x60000010u);
    EXPECT_EQ(s.dr6, 0xFFFF0FF0u);
    EXPECT_EQ(s.dr7, 0x400u);
    EXPECT_FALSE(q->halted);
    EXPECT_FALSE(q->inhibit_irq);
    EXPECT_TRUE(q->a20);
}

// 32-bit caches, CR2 after a fault, the HLT / II / A20 flags, and a null selector QEMU loaded
// with flags 0: no P bit, so the segment is unusable (as KVM reports it).
TEST(QemuRegisters, PagedDumpReadsCachesFlagsAndUnusable) {
    std::string error;
    const auto q = parse_info_registers(kPagedHaltedDump, error);
    ASSERT_TRUE(q) << error;
    const CpuState& s = q->state;
    EXPECT_EQ(s[Seg::CS].access_rights, 0xC09Bu);
    EXPECT_EQ(s[Seg::DS].access_rights, 0xC0F3u);
    EXPECT_EQ(s[Seg::CS].limit, 0xFFFFFFFFu);
    EXPECT_TRUE(ar::unusable(s[Seg::FS].access_rights));
    EXPECT_EQ(s.tr.base, 0x1200u);
    EXPECT_EQ(s.tr.access_rights, 0x89u); // as QEMU holds it; the engine fixes the busy bit
    EXPECT_EQ(s.cr2, 0xC000u);
    EXPECT_EQ(s.cr3, 0x4000u);
    EXPECT_EQ(s.gdtr.base, 0x1180u);
    EXPECT_EQ(s.idtr.limit, 0x187u);
    EXPECT_TRUE(q->halted);
    EXPECT_EQ(s.activity, ActivityState::Hlt);
    EXPECT_TRUE(q->inhibit_irq);
    EXPECT_FALSE(q->a20);
}

// A dump without a field the engine needs is refused with its name, not read as zero.
TEST(QemuRegisters, MissingFieldIsNamed) {
    std::string dump = kResetDump;
    const size_t efer = dump.find("EFER=");
    dump.erase(efer, dump.find('\n', efer) + 1 - efer);
    std::string error;
    EXPECT_FALSE(parse_info_registers(dump, error));
    EXPECT_NE(error.find("EFER"), std::string::npos) << error;

    dump = kResetDump;
    const size_t dr6 = dump.find("DR6=");
    dump.erase(dr6, dump.find('\n', dr6) + 1 - dr6);
    error.clear();
    EXPECT_FALSE(parse_info_registers(dump, error));
    EXPECT_NE(error.find("DR6"), std::string::npos) << error;
}

// Text that is no register dump at all (a refused monitor command) is an error.
TEST(QemuRegisters, NotADumpIsAnError) {
    std::string error;
    EXPECT_FALSE(parse_info_registers("unknown command: 'info regs'\n", error));
    EXPECT_FALSE(error.empty());
}

} // namespace
} // namespace transit86::tools
