// The step command's GdbTarget on the bundled sample (corpus/boot/pe_entry.asm): the session
// a user has in docs/gdb.md, packet by packet. Addresses from the sample's listing:
//   7c22 mov cr0, eax   7c2c jmp dword 0x8:0x7c34   7c4b ltr ax   7c60 out 0xf4, al
//   7c80 the TSS descriptor (selector 0x18), whose type ltr changes from 9 to 0xb.
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "session_packets.hpp"
#include "tools/gdb/gdb_session.hpp"
#include "tools/gdb/registers.hpp"
#include "tools/gdb/rsp_packet.hpp"
#include "tools/gdb/step_target.hpp"
#include "tools/guest_image.hpp"

namespace transit86::gdb {
namespace {

struct StepTargetTest : ::testing::Test {
    tools::GuestRam ram{1 << 20};
    pc::PcPorts ports;
    std::unique_ptr<StepTarget> target;
    std::unique_ptr<GdbSession> session;

    void SetUp() override {
        ram.load_file(TRANSIT86_SAMPLE, 0x7C00);
        CpuState s = reset_state(ResetPreset::Intel);
        s[Seg::CS].selector = 0;
        s[Seg::CS].base = 0;
        s.eip = 0x7C00;
        target = std::make_unique<StepTarget>(ram.slot(), ports, s, StepTargetOptions{});
        session = std::make_unique<GdbSession>(*target);
    }
    std::string ask(std::string_view packet) { return testing::last_reply(*session, packet); }
    std::string console_of(std::string_view packet) {
        return testing::console_of(*session, packet);
    }
    std::string monitor(std::string_view command) { return testing::monitor(*session, command); }
    uint64_t pc() const { return linear_pc(target->state()); }
};

TEST_F(StepTargetTest, BreakAtMovCr0ThenVmxShowsTheFailingChecks) {
    EXPECT_EQ(ask("Z0,7c22,1"), "OK");
    EXPECT_EQ(ask("c").substr(0, 12), "T05swbreak:;");
    EXPECT_EQ(pc(), 0x7c22u);
    EXPECT_NE(monitor("vmx").find("vmx[kvm] valid"), std::string::npos);
    ask("s");
    const std::string vmx = monitor("vmx");
    EXPECT_NE(vmx.find("vmx[kvm] INVALID"), std::string::npos) << vmx;
    EXPECT_NE(vmx.find("cs.type"), std::string::npos) << vmx;
    EXPECT_NE(vmx.find("ss.rpl-eq-cs.rpl"), std::string::npos) << vmx;
    EXPECT_NE(vmx.find("tr.type"), std::string::npos) << vmx;
}

TEST_F(StepTargetTest, StepiOverTheFarJumpAndBackToTheSameRegisters) {
    EXPECT_EQ(ask("Z1,7c2c,1"), "OK");
    EXPECT_EQ(ask("c").substr(0, 12), "T05hwbreak:;");
    const CpuState at_jump = target->state();
    const std::string regs = ask("g");
    ask("s");
    EXPECT_EQ(pc(), 0x7c34u);
    EXPECT_EQ(target->state()[Seg::CS].selector, 8);
    EXPECT_TRUE(ar::db(target->state()[Seg::CS].access_rights));
    ask("bs");
    EXPECT_EQ(target->state(), at_jump);
    EXPECT_EQ(ask("g"), regs);
}

TEST_F(StepTargetTest, WatchOnTheTssDescriptorStopsAfterLtr) {
    EXPECT_EQ(ask("Z2,7c85,1"), "OK");
    EXPECT_EQ(ask("c").substr(0, 14), "T05watch:7c85;");
    EXPECT_EQ(pc(), 0x7c4eu); // after ltr
    uint8_t type = 0;
    target->read_linear(0x7c85, std::span(&type, 1));
    EXPECT_EQ(type, 0x8b);
    // Backwards: the same write, seen from before it.
    EXPECT_EQ(ask("bc").substr(0, 14), "T05watch:7c85;");
    EXPECT_EQ(pc(), 0x7c4bu);
    target->read_linear(0x7c85, std::span(&type, 1));
    EXPECT_EQ(type, 0x89);
}

TEST_F(StepTargetTest, AccessWatchOnTheStackSeesThePush) {
    // The sample never pushes; a read watch on the GDT descriptor's bytes sees lgdt's operand.
    EXPECT_EQ(ask("Z3,7c88,6"), "OK"); // gdt_descriptor, read by lgdt
    EXPECT_EQ(ask("c").substr(0, 15), "T05rwatch:7c88;");
    EXPECT_EQ(pc(), 0x7c2cu);
}

TEST_F(StepTargetTest, WindowWatchStopsWhereTheVerdictChanges) {
    EXPECT_NE(monitor("window-watch on").find("window-watch on"), std::string::npos);
    std::string text = console_of("c");
    EXPECT_NE(text.find("makes the state INVALID under kvm"), std::string::npos) << text;
    EXPECT_EQ(pc(), 0x7c25u); // after mov cr0
    text = console_of("c");
    EXPECT_NE(text.find("makes the state VALID under kvm"), std::string::npos) << text;
    EXPECT_EQ(pc(), 0x7c4eu); // after ltr, from the intel reset state
    // Backwards it stops before the instruction that changed it.
    ask("bc");
    EXPECT_EQ(pc(), 0x7c4bu);
}

TEST_F(StepTargetTest, TheRunEndsAtIsaDebugExitWithTheConsoleOutput) {
    const std::string text = console_of("c");
    EXPECT_NE(text.find("OK\n"), std::string::npos) << text;
    EXPECT_NE(text.find("isa-debug-exit wrote 0x10"), std::string::npos) << text;
    EXPECT_EQ(pc(), 0x7c60u);
    EXPECT_NE(console_of("c").find("the run has ended"), std::string::npos);
    // Back one instruction, forward again: the same end, the console not repeated.
    ask("bs");
    EXPECT_EQ(pc(), 0x7c5eu);
    const std::string again = console_of("c");
    EXPECT_EQ(again.find("OK\n"), std::string::npos) << again;
    EXPECT_NE(again.find("isa-debug-exit"), std::string::npos) << again;
}

TEST_F(StepTargetTest, ReverseContinueFromTheEndReachesTheStart) {
    console_of("c");
    EXPECT_EQ(ask("bc").substr(0, 19), "T05replaylog:begin;");
    EXPECT_EQ(pc(), 0x7c00u);
    EXPECT_EQ(target->state()[Seg::CS].access_rights,
              reset_state(ResetPreset::Intel)[Seg::CS].access_rights);
}

TEST_F(StepTargetTest, SregsGdtAndIdtInWords) {
    EXPECT_EQ(ask("Z0,7c34,1"), "OK");
    ask("c");
    EXPECT_NE(monitor("sregs").find("cs  =0008 00000000 ffffffff 00c09b00"), std::string::npos)
        << monitor("sregs");
    const std::string gdt = monitor("gdt"); // the far jump set the accessed bit of 0x08
    EXPECT_NE(gdt.find("[0x0008] 00cf9b000000ffff"), std::string::npos) << gdt;
    EXPECT_NE(monitor("idt 2").find("[0x0000]"), std::string::npos); // protected mode: gates
}

TEST_F(StepTargetTest, IdtInRealModeIsTheIvt) {
    EXPECT_NE(monitor("idt 2").find("vector 0x01"), std::string::npos) << monitor("idt 2");
    EXPECT_NE(monitor("gdt 0").find("the count must be 1..256"), std::string::npos);
}

TEST_F(StepTargetTest, CensusBelongsToBoot) {
    EXPECT_NE(monitor("census").find("only with `transit86 boot`"), std::string::npos);
    EXPECT_NE(monitor("kvm-fixup").find("KVM with emulate_invalid_guest_state=0"),
              std::string::npos);
}

// Every packet GDB would get back for `packets`, in order.
std::vector<std::string> replies(GdbSession& session, const std::vector<std::string>& packets) {
    std::vector<std::string> out;
    for (const std::string& p : packets)
        for (std::string& r : session.handle(p).packets)
            out.push_back(std::move(r));
    return out;
}

// StepTarget::reset (what the fuzzer relies on to run one session per input on one target):
// after a session that ran the sample to its end, changed registers and memory and left the
// ports written, the RAM copied back and reset() give the replies a new target gives.
TEST_F(StepTargetTest, ResetGivesTheRepliesOfANewTarget) {
    const RamSlot slot = ram.slot();
    const std::vector<uint8_t> image(slot.host, slot.host + slot.size);
    const std::vector<std::string> packets = {"g",
                                              "Z0,7c2c,1",
                                              "c",
                                              "bs",
                                              "s",
                                              "qRcmd," + to_hex("history"),
                                              "z0,7c2c,1",
                                              "c",
                                              "c",
                                              "bc",
                                              "qRcmd," + to_hex("vmx"),
                                              "m7c80,10",
                                              "s",
                                              "g"};
    const std::vector<std::string> fresh = replies(*session, packets);

    session = std::make_unique<GdbSession>(*target);
    replies(*session, {"c", "M7c80,4:deadbeef", "P0=12345678", "c"});
    ASSERT_FALSE(target->ended().empty());
    std::memcpy(slot.host, image.data(), image.size());
    target->reset();
    EXPECT_EQ(target->retired(), 0u);
    EXPECT_TRUE(target->ended().empty());
    session = std::make_unique<GdbSession>(*target);
    EXPECT_EQ(replies(*session, packets), fresh);
}

// A MOV SS with EFLAGS.TF = 1 leaves its single-step trap held for the next instruction, in the
// Emulator, where no CpuState holds it (SDM Vol. 3A 6.8.3). A reset right after it must not
// deliver that #DB at the first instruction of the next session.
TEST(StepTargetReset, ForgetsTheDebugTrapAMovSsHeld) {
    tools::GuestRam ram{1 << 20};
    // pushf; pop ax; or ah, 1 (TF); push ax; popf; mov ss, bx; nop; hlt
    const std::vector<uint8_t> code = {0x9C, 0x58, 0x80, 0xCC, 0x01, 0x50,
                                       0x9D, 0x8E, 0xD3, 0x90, 0xF4};
    ram.load(code, 0x7C00, "test code");
    const RamSlot slot = ram.slot();
    const std::vector<uint8_t> image(slot.host, slot.host + slot.size);
    CpuState s = reset_state(ResetPreset::Intel);
    s[Seg::CS].selector = 0;
    s[Seg::CS].base = 0;
    s.eip = 0x7C00;
    pc::PcPorts ports;
    StepTarget target(slot, ports, s, StepTargetOptions{});
    {
        GdbSession session(target);
        replies(session, {"s", "s", "s", "s", "s", "s"});
    }
    ASSERT_EQ(linear_pc(target.state()), 0x7C09u); // at the nop, in the MOV SS shadow
    ASSERT_NE(target.state().interruptibility & interruptibility::BlockingByMovSs, 0u);
    std::memcpy(slot.host, image.data(), image.size());
    target.reset();
    GdbSession session(target);
    replies(session, {"s"});
    EXPECT_EQ(linear_pc(target.state()), 0x7C01u); // after pushf, no #DB through vector 1
}

// A data breakpoint hit by MOV SS is held until the next instruction retires (SDM Vol. 3A
// 6.8.3): stepping back to the position inside that shadow and forward again must still
// deliver the #DB after the NOP. The held trap lives in the Emulator, not in any CpuState, so a
// snapshot taken inside the shadow would replay the NOP without it and stop at the HLT.
TEST(StepTargetReverse, SteppingBackOverAMovSsHeldTrapReplaysIt) {
    // mov ss, [0x500]; nop; hlt — DR0 watches the word at 500H for reads and writes
    const std::vector<uint8_t> code = {0x8E, 0x16, 0x00, 0x05, 0x90, 0xF4};
    const auto run = [&](const std::vector<std::string>& packets) {
        tools::GuestRam ram{1 << 20};
        ram.load(code, 0x7C00, "test code");
        CpuState s = reset_state(ResetPreset::Intel);
        s[Seg::CS].selector = 0;
        s[Seg::CS].base = 0;
        s.eip = 0x7C00;
        s.dr[0] = 0x500;
        s.dr7 |= 0x2 | (0x3u << 16) | (0x1u << 18); // G0, R/W0 = 11, LEN0 = 01 (two bytes)
        pc::PcPorts ports;
        StepTarget target(ram.slot(), ports, s, StepTargetOptions{});
        GdbSession session(target, {.interval = 1});
        replies(session, packets);
        return target.state();
    };
    const CpuState forward = run({"s", "s"});
    EXPECT_EQ(linear_pc(forward), 0u); // the #DB handler's address in an all-zero IVT
    EXPECT_EQ(forward.dr6 & 1, 1u);    // B0
    for (const std::vector<std::string>& with_reverse :
         {std::vector<std::string>{"s", "s", "bs", "s"},
          std::vector<std::string>{"s", "bs", "s", "s"},
          std::vector<std::string>{"s", "s", "bs", "bs", "s", "s"}})
        EXPECT_EQ(run(with_reverse), forward);
}

// Under paging GDB's addresses go through the guest's page tables (docs/gdb.md): linear
// 400000H is mapped to frame 9000H, and 'm', 'M' and `monitor gdt` (a GDT at linear 400000H)
// see that frame; linear 401000H is not mapped, so reading it is an error, not a guest fault.
TEST(StepTargetPaging, MemoryPacketsAndGdtFollowThePageTables) {
    tools::GuestRam ram{1 << 20};
    uint8_t* host = ram.slot().host;
    const auto put = [host](uint32_t at, auto value) {
        std::memcpy(host + at, &value, sizeof value);
    };
    put(0x2000, uint32_t{0x3000 | 3}); // PDE 0 -> table 3000H (empty)
    put(0x2004, uint32_t{0x4000 | 3}); // PDE 1 -> table 4000H
    put(0x4000, uint32_t{0x9000 | 3}); // linear 400000H -> 9000H
    put(0x9008, uint64_t{0x00CF9B000000FFFF});
    CpuState s = reset_state(ResetPreset::Intel);
    s.cr0 |= cr0::PE | cr0::PG;
    s.cr3 = 0x2000;
    s.gdtr = {.base = 0x400000, .limit = 0x0F};
    pc::PcPorts ports;
    StepTarget target(ram.slot(), ports, s, StepTargetOptions{});
    GdbSession session(target);
    const auto ask = [&session](std::string_view packet) {
        return session.handle(packet).packets.back();
    };
    EXPECT_EQ(ask("m400008,2"), "ffff");
    EXPECT_EQ(ask("M400001,1:aa"), "OK");
    EXPECT_EQ(host[0x9001], 0xAAu);
    EXPECT_EQ(ask("m401000,4").substr(0, 1), "E");
    std::string gdt;
    for (const auto& p : session.handle("qRcmd," + to_hex("gdt 2")).packets)
        if (p.size() > 1 && p[0] == 'O' && p != "OK") gdt += from_hex(p.substr(1)).value_or("?");
    EXPECT_NE(gdt.find("00cf9b000000ffff"), std::string::npos) << gdt;
    EXPECT_EQ(host[0x4000] & 0x20, 0); // nothing marked accessed
}

} // namespace
} // namespace transit86::gdb
