// The packet commands over a FakeTarget: one TEST per command or rule of the GDB manual's
// "Packets" and "Stop Reply Packets", then malformed packets.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fake_target.hpp"
#include "tools/gdb/gdb_session.hpp"
#include "tools/gdb/registers.hpp"
#include "tools/gdb/rsp_packet.hpp"

namespace transit86::gdb {
namespace {

using testing::FakeTarget;

struct SessionTest : ::testing::Test {
    FakeTarget target;
    GdbSession session{target, {.interval = 16, .max_snapshots = 8}};

    // The reply (the last packet).
    std::string ask(std::string_view packet) {
        auto r = session.handle(packet);
        return r.packets.empty() ? "<none>" : r.packets.back();
    }
    // Every packet, the 'O' ones decoded.
    std::string console_of(std::string_view packet) {
        std::string out;
        for (const auto& p : session.handle(packet).packets)
            if (p.size() > 1 && p[0] == 'O' && p != "OK")
                out += from_hex(p.substr(1)).value_or("?");
        return out;
    }
};

TEST_F(SessionTest, QSupportedAdvertisesWhatIsImplemented) {
    const std::string r = ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
    for (const char* feature : {"PacketSize=4000", "qXfer:features:read+", "swbreak+", "hwbreak+",
                                "ReverseStep+", "ReverseContinue+", "QStartNoAckMode+"})
        EXPECT_NE(r.find(feature), std::string::npos) << feature;
    EXPECT_EQ(r.find("QNonStop"), std::string::npos);
}

TEST_F(SessionTest, NoAckModeIsAcceptedOnce) {
    EXPECT_TRUE(session.ack_mode());
    EXPECT_EQ(ask("QStartNoAckMode"), "OK");
    EXPECT_FALSE(session.ack_mode());
}

TEST_F(SessionTest, TargetXmlIsServedInPiecesAndEndsWithL) {
    std::string xml;
    for (uint64_t offset = 0;;) {
        const std::string r =
            ask("qXfer:features:read:target.xml:" + fmt::format("{:x}", offset) + ",100");
        ASSERT_FALSE(r.empty());
        ASSERT_TRUE(r[0] == 'm' || r[0] == 'l') << r;
        xml += r.substr(1);
        offset += r.size() - 1;
        if (r[0] == 'l') break;
    }
    EXPECT_EQ(xml, target_xml(true)); // real mode at connect: i8086 disassembly
    EXPECT_NE(xml.find("<architecture>i8086</architecture>"), std::string::npos);
    EXPECT_NE(xml.find("org.gnu.gdb.i386.core"), std::string::npos);
    EXPECT_NE(xml.find("name=\"cs_base\""), std::string::npos);
    EXPECT_EQ(ask("qXfer:features:read:other.xml:0,100"), "E00");
    EXPECT_EQ(ask("qXfer:features:read:target.xml:zz,100"), "E01");
}

TEST_F(SessionTest, ThreadQueriesNameOneThread) {
    EXPECT_EQ(ask("qC"), "QC1");
    EXPECT_EQ(ask("qfThreadInfo"), "m1");
    EXPECT_EQ(ask("qsThreadInfo"), "l");
    EXPECT_EQ(ask("qAttached"), "1");
    EXPECT_EQ(ask("Hg0"), "OK");
    EXPECT_EQ(ask("QNonStop:1"), "E01");
}

TEST_F(SessionTest, PcIsTheLinearAddressAndIpTheOffset) {
    target.state_[Seg::CS].selector = 0x07C0;
    target.state_[Seg::CS].base = 0x7C00;
    target.state_.eip = 0x22;
    EXPECT_EQ(ask("p8"), "227c0000");
    EXPECT_EQ(ask("p20"), "22000000"); // register 32: ip
    // Writing $pc moves EIP within CS.
    EXPECT_EQ(ask("P8=307c0000"), "OK");
    EXPECT_EQ(target.state_.eip, 0x30u);
    EXPECT_EQ(target.state_[Seg::CS].base, 0x7C00u);
}

TEST_F(SessionTest, GRoundTripsEveryRegister) {
    target.state_.gpr = {1, 2, 3, 4, 5, 6, 7, 8};
    target.state_.cr0 = 0x11;
    target.state_.gdtr = {0x7c78, 0x1f};
    const std::string all = ask("g");
    EXPECT_EQ(all.substr(0, 8), "01000000");
    CpuState before = target.state_;
    target.state_.gpr = {};
    target.state_.cr0 = 0;
    EXPECT_EQ(ask("G" + all), "OK");
    EXPECT_EQ(target.state_, before);
    EXPECT_EQ(ask("G" + all.substr(2)), "E01"); // one byte short
    EXPECT_EQ(ask("G" + all.substr(0, all.size() - 1) + "x"), "E01");
}

TEST_F(SessionTest, SelectorWrittenInRealModeAlsoSetsTheBase) {
    EXPECT_EQ(ask("Pb=35120000"), "OK"); // ss = 0x1235
    EXPECT_EQ(target.state_[Seg::SS].selector, 0x1235);
    EXPECT_EQ(target.state_[Seg::SS].base, 0x12350u);
}

TEST_F(SessionTest, MemoryReadWriteAndBinaryWrite) {
    EXPECT_EQ(ask("M200,3:a1b2c3"), "OK");
    EXPECT_EQ(ask("m200,3"), "a1b2c3");
    EXPECT_EQ(ask("X204,0:"), "OK"); // GDB's probe
    EXPECT_EQ(ask(std::string("X204,3:") + "$}*"), "OK");
    EXPECT_EQ(ask("m204,3"), "247d2a");
    EXPECT_EQ(ask("mfffe,4"), "0000"); // stops at the end of RAM
    EXPECT_EQ(ask("m10000,4"), "E01");
    EXPECT_EQ(ask("M200,2:a1"), "E01"); // length mismatch
    EXPECT_EQ(ask("M200,1:zz"), "E01");
}

TEST_F(SessionTest, StepAndContinueToABreakpoint) {
    EXPECT_EQ(ask("s").substr(0, 3), "T05");
    EXPECT_EQ(target.state_.eip, 0x1001u);
    EXPECT_EQ(ask("Z0,1010,1"), "OK");
    const std::string r = ask("c");
    EXPECT_EQ(r.substr(0, 12), "T05swbreak:;");
    EXPECT_NE(r.find("thread:1;"), std::string::npos);
    EXPECT_EQ(target.state_.eip, 0x1010u);
    EXPECT_EQ(ask("z0,1010,1"), "OK");
    EXPECT_EQ(ask("Z1,1020,1"), "OK");
    EXPECT_EQ(ask("vCont;c:1").substr(0, 12), "T05hwbreak:;");
    EXPECT_EQ(target.state_.eip, 0x1020u);
    const std::string stepped = ask("vCont;s:1;c");
    EXPECT_EQ(target.state_.eip, 0x1021u);
    EXPECT_EQ(stepped, ask("?"));
}

TEST_F(SessionTest, WriteWatchpointStopsOnTheChange) {
    // The fake stores EIP's low byte at 0x100 + EIP % 16: 0x105 changes when EIP = 0x1005.
    EXPECT_EQ(ask("Z2,105,1"), "OK");
    EXPECT_EQ(ask("c").substr(0, 13), "T05watch:105;");
    EXPECT_EQ(target.state_.eip, 0x1005u);
    EXPECT_EQ(ask("c").substr(0, 13), "T05watch:105;");
    EXPECT_EQ(target.state_.eip, 0x1015u);
}

TEST_F(SessionTest, ReverseStepReturnsToTheSameRegisters) {
    for (int i = 0; i < 40; ++i)
        ask("s");
    const CpuState at40 = target.state_;
    ask("s");
    EXPECT_EQ(ask("bs").substr(0, 3), "T05");
    EXPECT_EQ(target.state_, at40);
    EXPECT_EQ(session.execution().position(), 40u);
}

TEST_F(SessionTest, ReverseContinueStopsAtTheLastBreakpointThenAtTheStart) {
    EXPECT_EQ(ask("Z0,1003,1"), "OK");
    EXPECT_EQ(ask("Z0,1009,1"), "OK");
    ask("c"); // 0x1003
    ask("c"); // 0x1009
    EXPECT_EQ(ask("z0,1009,1"), "OK");
    for (int i = 0; i < 50; ++i)
        ask("s");
    EXPECT_EQ(ask("bc").substr(0, 12), "T05swbreak:;");
    EXPECT_EQ(target.state_.eip, 0x1003u);
    EXPECT_EQ(ask("bc").substr(0, 19), "T05replaylog:begin;");
    EXPECT_EQ(target.state_.eip, 0x1000u);
    EXPECT_EQ(ask("bs").substr(0, 19), "T05replaylog:begin;");
}

TEST_F(SessionTest, ReverseContinueStopsBeforeTheLastWrite) {
    for (int i = 0; i < 100; ++i)
        ask("s");
    EXPECT_EQ(ask("Z2,105,1"), "OK");
    // Writes to 0x105 happen when EIP becomes 0x1005, 0x1015, ..., 0x1055: the last before
    // EIP 0x1064 is the step from 0x1054.
    EXPECT_EQ(ask("bc").substr(0, 13), "T05watch:105;");
    EXPECT_EQ(target.state_.eip, 0x1054u);
    // Forward again: the same write.
    EXPECT_EQ(ask("c").substr(0, 13), "T05watch:105;");
    EXPECT_EQ(target.state_.eip, 0x1055u);
}

TEST_F(SessionTest, ReplayedConsoleOutputIsNotRepeated) {
    target.end_eip = 0x2000;
    EXPECT_EQ(ask("Z0,1400,1"), "OK");
    EXPECT_EQ(console_of("c"), "k"); // EIP 5000 (0x1388) is on the way
    EXPECT_EQ(ask("bc").substr(0, 19), "T05replaylog:begin;");
    EXPECT_EQ(console_of("c"), "");
}

TEST_F(SessionTest, TheEndIsAHostEventAndReverseStillWorks) {
    target.end_eip = 0x1004;
    EXPECT_EQ(console_of("c"), "ended at the end\n");
    EXPECT_EQ(ask("c").substr(0, 3), "T05");
    EXPECT_EQ(target.state_.eip, 0x1004u);
    ask("bs");
    EXPECT_EQ(target.state_.eip, 0x1003u);
}

TEST_F(SessionTest, RegisterWriteDropsTheLaterHistory) {
    for (int i = 0; i < 30; ++i)
        ask("s");
    EXPECT_EQ(ask("P0=78563412"), "OK"); // eax
    ask("s");
    ask("bs");
    EXPECT_EQ(target.state_[Gpr::EAX], 0x12345678u);
}

TEST_F(SessionTest, HistoryStaysBounded) {
    for (int i = 0; i < 2000; ++i)
        ask("s");
    EXPECT_LE(session.execution().history().snapshot_count(), 8u);
    const CpuState now = target.state_;
    ask("s");
    ask("bs");
    EXPECT_EQ(target.state_, now);
}

// Three snapshots over the bytes bound (each after the first holds the page the fake CPU
// writes): thinning must drop one and return (found by fuzz_gdb: it looped for ever).
TEST(ReverseHistoryBounds, ThreeSnapshotsOverTheBytesBoundAreThinned) {
    FakeTarget target;
    const size_t bound = 2 * ReverseHistory::kPageSize + sizeof(FakeTarget::Snap);
    GdbSession session{target, {.interval = 1, .max_snapshots = 8, .max_bytes = bound}};
    for (int i = 0; i < 3; ++i)
        session.handle("s");
    const ReverseHistory& history = session.execution().history();
    EXPECT_EQ(history.snapshot_count(), 2u);
    EXPECT_LE(history.bytes(), bound);
    const CpuState now = target.state_;
    session.handle("s");
    session.handle("bs");
    EXPECT_EQ(target.state_, now);
}

TEST_F(SessionTest, MonitorCommandsAnswerInHexConsolePackets) {
    const std::string vmx = console_of("qRcmd," + to_hex(std::string_view("vmx")));
    EXPECT_NE(vmx.find("vmx[kvm]"), std::string::npos);
    EXPECT_NE(vmx.find("vmx[sdm]"), std::string::npos);
    EXPECT_NE(vmx.find("vmx[unrestricted]"), std::string::npos);
    EXPECT_EQ(console_of("qRcmd," + to_hex(std::string_view("census"))), "fake census\n");
    EXPECT_NE(console_of("qRcmd," + to_hex(std::string_view("help"))).find("window-watch"),
              std::string::npos);
    EXPECT_NE(console_of("qRcmd," + to_hex(std::string_view("bogus"))).find("unknown"),
              std::string::npos);
    EXPECT_EQ(ask("qRcmd,zz"), "E01");
    EXPECT_EQ(ask("qRcmd," + to_hex(std::string_view("sregs"))), "OK");
}

TEST_F(SessionTest, DetachAndKillClose) {
    auto d = session.handle("D");
    EXPECT_TRUE(d.close);
    EXPECT_EQ(d.packets, std::vector<std::string>{"OK"});
    auto k = session.handle("k");
    EXPECT_TRUE(k.close);
    EXPECT_TRUE(k.packets.empty());
}

// Malformed packets: an error reply or the empty reply, never a crash or a state change.
TEST_F(SessionTest, MalformedPacketsGetErrorsOrEmptyReplies) {
    const CpuState before = target.state_;
    const std::pair<const char*, const char*> cases[] = {{"m", "E01"},
                                                         {"m,", "E01"},
                                                         {"m1", "E01"},
                                                         {"m1,", "E01"},
                                                         {"mx,1", "E01"},
                                                         {"M1,1", "E01"},
                                                         {"X1,2:a", "E01"},
                                                         {"p", "E01"},
                                                         {"p999", "E01"},
                                                         {"pzz", "E01"},
                                                         {"P", "E01"},
                                                         {"P8", "E01"},
                                                         {"P8=12", "E01"},
                                                         {"Px=12345678", "E01"},
                                                         {"G", "E01"},
                                                         {"Z9,0,1", ""},
                                                         {"Z0", "E01"},
                                                         {"Z0,", "E01"},
                                                         {"Z0,zz,1", "E01"},
                                                         {"Z2,100,0", "E01"},
                                                         {"Z2,100,100000", "E01"},
                                                         {"Zx", ""},
                                                         {"z", ""},
                                                         {"b", ""},
                                                         {"bx", ""},
                                                         {"vCont;x", "E01"},
                                                         {"vCont;", "E01"},
                                                         {"vUnknown", ""},
                                                         {"qUnknown", ""},
                                                         {"!", ""},
                                                         {"cxyz", "E01"},
                                                         {"Z1,11111111111111111,1", "E01"}};
    for (const auto& [packet, reply] : cases)
        EXPECT_EQ(ask(packet), reply) << packet;
    EXPECT_EQ(target.state_, before);
}

} // namespace
} // namespace transit86::gdb
