// GdbRemoteClient (tools/corpus/gdb_remote_client.hpp), the qemu engine's side of GDB's remote
// protocol (GDB manual, "Remote Protocol": Packets, Packet Acknowledgment, qRcmd), against a
// scripted stub on a pair of pipes: what the stub "said" is written before the call.
#include <gtest/gtest.h>

#include <chrono>
#include <unistd.h>

#include "tools/corpus/gdb_remote_client.hpp"
#include "tools/gdb/rsp_packet.hpp"

namespace transit86::tools {
namespace {

class ScriptedStub : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(pipe(to_client_), 0);
        ASSERT_EQ(pipe(from_client_), 0);
    }
    void TearDown() override {
        for (int fd : {to_client_[0], to_client_[1], from_client_[0], from_client_[1]})
            if (fd >= 0) close(fd);
    }
    void stub_says(const std::string& bytes) {
        ASSERT_EQ(write(to_client_[1], bytes.data(), bytes.size()),
                  static_cast<ssize_t>(bytes.size()));
    }
    void stub_hangs_up() {
        close(to_client_[1]);
        to_client_[1] = -1;
    }
    std::string client_said() {
        char buffer[4096];
        const ssize_t n = read(from_client_[0], buffer, sizeof buffer);
        return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
    }
    GdbRemoteClient client() { return GdbRemoteClient(to_client_[0], from_client_[1]); }

    int to_client_[2] = {-1, -1};
    int from_client_[2] = {-1, -1};
};

// qRcmd output arrives as O packets before the final OK; each packet is acknowledged with '+'.
TEST_F(ScriptedStub, MonitorJoinsOutputPackets) {
    stub_says("+" + gdb::frame_packet("O" + gdb::to_hex(std::string_view("EAX=0000"))) +
              gdb::frame_packet("O" + gdb::to_hex(std::string_view("0001\n"))) +
              gdb::frame_packet("OK"));
    GdbRemoteClient gdb = client();
    const auto text = gdb.monitor("info registers");
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "EAX=00000001\n");
    EXPECT_EQ(client_said(),
              gdb::frame_packet("qRcmd," + gdb::to_hex(std::string_view("info registers"))) +
                  "+++");
}

// A packet with a wrong checksum is answered '-' (the stub sends it again), not returned.
TEST_F(ScriptedStub, BadChecksumIsRefused) {
    stub_says("$OK#00" + gdb::frame_packet("OK"));
    GdbRemoteClient gdb = client();
    const auto reply = gdb.request("Hc0");
    ASSERT_TRUE(reply);
    EXPECT_EQ(*reply, "OK");
    EXPECT_EQ(client_said(), gdb::frame_packet("Hc0") + "-+");
}

// A stub that does not answer costs the timeout, not a hang.
TEST_F(ScriptedStub, SilentStubTimesOut) {
    GdbRemoteClient gdb = client();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(gdb.wait_packet(std::chrono::milliseconds(50)));
    EXPECT_FALSE(gdb.eof());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// QEMU exiting (isa-debug-exit) closes the pipe: the request fails and eof() says why.
TEST_F(ScriptedStub, ClosedStubIsEof) {
    stub_hangs_up();
    GdbRemoteClient gdb = client();
    EXPECT_FALSE(gdb.request("s"));
    EXPECT_TRUE(gdb.eof());
}

// Memory writes go out as M packets in hex and need the stub's OK.
TEST_F(ScriptedStub, WriteMemoryNeedsOk) {
    stub_says(gdb::frame_packet("OK") + gdb::frame_packet("E14"));
    GdbRemoteClient gdb = client();
    const uint8_t bytes[] = {0xF4, 0x90};
    EXPECT_TRUE(gdb.write_memory(0x1000, bytes));
    EXPECT_FALSE(gdb.write_memory(0x2000, bytes));
    EXPECT_EQ(client_said(),
              gdb::frame_packet("M1000,2:f490") + "+" + gdb::frame_packet("M2000,2:f490") + "+");
}

} // namespace
} // namespace transit86::tools
