// Port I/O: IN/OUT through a PortHandler, and the Io exit the host completes with
// complete_io() before run() resumes the instruction. SDM Vol. 2A IN, Vol. 2B OUT.
#include "machine.hpp"

namespace transit86::test {

TEST(In, ImmPortByteThroughThePortHandler) {
    RecordingPorts ports;
    ports.in_value = 0x12345678;
    Machine m(Mode::Real, &ports);
    m.load_code({0xE4, 0x60}); // in al, 0x60
    m.gpr(Gpr::EAX) = 0xAAAAAAAA;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xAAAAAA78u);
    ASSERT_EQ(ports.log.size(), 1u);
    EXPECT_EQ(ports.log[0].port, 0x60);
    EXPECT_EQ(ports.log[0].size, 1);
    EXPECT_TRUE(ports.log[0].is_in);
}

TEST(In, DxPortWord) {
    RecordingPorts ports;
    ports.in_value = 0x12345678;
    Machine m(Mode::Real, &ports);
    m.load_code({0xED}); // in ax, dx
    m.gpr(Gpr::EDX) = 0x01F0;
    m.gpr(Gpr::EAX) = 0xAAAAAAAA;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xAAAA5678u);
    ASSERT_EQ(ports.log.size(), 1u);
    EXPECT_EQ(ports.log[0].port, 0x01F0);
    EXPECT_EQ(ports.log[0].size, 2);
}

TEST(In, DxPortDword) {
    RecordingPorts ports;
    ports.in_value = 0x12345678;
    Machine m(Mode::Real, &ports);
    m.load_code({0x66, 0xED}); // in eax, dx
    m.gpr(Gpr::EDX) = 0x0CFC;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0x12345678u);
    ASSERT_EQ(ports.log.size(), 1u);
    EXPECT_EQ(ports.log[0].size, 4);
}

TEST(Out, ImmPortByte) {
    RecordingPorts ports;
    Machine m(Mode::Real, &ports);
    m.load_code({0xE6, 0x80}); // out 0x80, al
    m.gpr(Gpr::EAX) = 0x12345655;
    m.run(1);
    ASSERT_EQ(ports.log.size(), 1u);
    EXPECT_EQ(ports.log[0].port, 0x80);
    EXPECT_EQ(ports.log[0].size, 1);
    EXPECT_FALSE(ports.log[0].is_in);
    EXPECT_EQ(ports.log[0].data, 0x55u);
}

TEST(Out, DxPortDword) {
    RecordingPorts ports;
    Machine m(Mode::Protected32, &ports);
    m.load_code({0xEF}); // out dx, eax
    m.gpr(Gpr::EDX) = 0x0CF8;
    m.gpr(Gpr::EAX) = 0x80000000;
    m.run(1);
    ASSERT_EQ(ports.log.size(), 1u);
    EXPECT_EQ(ports.log[0].port, 0x0CF8);
    EXPECT_EQ(ports.log[0].size, 4);
    EXPECT_EQ(ports.log[0].data, 0x80000000u);
}

TEST(In, ExitToHostThenCompleteIoResumesTheInstruction) {
    // The IN has not retired at the Io exit (EIP still at it); complete_io() supplies the
    // data and the next run() finishes it without asking the device model again.
    RecordingPorts ports;
    ports.host_ports = {0x71};
    Machine m(Mode::Real, &ports);
    m.load_code({0xE4, 0x71, 0x90}); // in al, 0x71 ; nop
    Exit e = m.run(5);
    ASSERT_EQ(e.reason, ExitReason::Io);
    EXPECT_EQ(e.io.port, 0x71);
    EXPECT_EQ(e.io.size, 1);
    EXPECT_TRUE(e.io.is_in);
    EXPECT_EQ(e.instructions, 0u);
    EXPECT_EQ(m.eip(), kCode);

    m.emulator().complete_io(0xAB);
    e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(e.instructions, 1u);
    EXPECT_EQ(m.gpr(Gpr::EAX) & 0xFF, 0xABu);
    EXPECT_EQ(m.eip(), kCode + 2);
    EXPECT_TRUE(ports.log.empty());
}

TEST(Out, ExitToHostThenResumeDoesNotRepeatTheWrite) {
    RecordingPorts ports;
    ports.host_ports = {0x71};
    Machine m(Mode::Real, &ports);
    m.load_code({0xE6, 0x71}); // out 0x71, al
    m.gpr(Gpr::EAX) = 0x42;
    Exit e = m.run(5);
    ASSERT_EQ(e.reason, ExitReason::Io);
    EXPECT_FALSE(e.io.is_in);
    EXPECT_EQ(e.io.data, 0x42u);
    EXPECT_EQ(m.eip(), kCode);
    e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Budget);
    EXPECT_EQ(m.eip(), kCode + 2);
    EXPECT_TRUE(ports.log.empty());
}

TEST(In, WithoutAPortHandlerExitsToHost) {
    Machine m;
    m.load_code({0xEC}); // in al, dx
    m.gpr(Gpr::EDX) = 0x3F8;
    const Exit e = m.run(1);
    EXPECT_EQ(e.reason, ExitReason::Io);
    EXPECT_EQ(e.io.port, 0x3F8);
}

} // namespace transit86::test
