// The remote protocol's framing (GDB manual, "Overview", "Binary Data", "Run-Length
// Encoding"): every rule as a test, then inputs that must not be accepted.
#include <gtest/gtest.h>

#include "tools/gdb/rsp_packet.hpp"

namespace transit86::gdb {
namespace {

std::vector<PacketReader::Event> feed(PacketReader& r, std::string_view bytes) {
    std::vector<PacketReader::Event> out;
    for (const char c : bytes)
        if (auto e = r.feed(static_cast<uint8_t>(c)); e.kind != PacketReader::Kind::None)
            out.push_back(std::move(e));
    return out;
}

PacketReader::Event one(std::string_view bytes) {
    PacketReader r;
    auto events = feed(r, bytes);
    EXPECT_EQ(events.size(), 1u) << bytes;
    return events.empty() ? PacketReader::Event{} : events.front();
}

TEST(RspFraming, PacketWithItsChecksumIsAccepted) {
    const auto e = one("$qSupported#37");
    EXPECT_EQ(e.kind, PacketReader::Kind::Packet);
    EXPECT_EQ(e.payload, "qSupported");
}

TEST(RspFraming, ChecksumDigitsMayBeUpperCase) {
    EXPECT_EQ(one("$g#67").kind, PacketReader::Kind::Packet);
    EXPECT_EQ(one("$qSupported#37").payload, "qSupported");
    EXPECT_EQ(one("$m0,1#FA").kind, PacketReader::Kind::Packet); // m0,1 sums to 0xfa
    EXPECT_EQ(one("$m0,1#F9").kind, PacketReader::Kind::BadChecksum);
}

TEST(RspFraming, WrongChecksumIsRefused) {
    EXPECT_EQ(one("$g#68").kind, PacketReader::Kind::BadChecksum);
    EXPECT_EQ(one("$g#6z").kind, PacketReader::Kind::BadChecksum);
    EXPECT_EQ(one("$g#z7").kind, PacketReader::Kind::BadChecksum);
}

TEST(RspFraming, FrameComputesTheChecksumAndEscapes) {
    EXPECT_EQ(frame_packet("OK"), "$OK#9a");
    EXPECT_EQ(frame_packet(""), "$#00");
    // '$' '#' '}' '*' go as 0x7d then the byte ^ 0x20.
    const std::string framed = frame_packet("a$b#c}d*e");
    EXPECT_EQ(framed.substr(0, framed.find('#')), "$a}\x04"
                                                  "b}\x03"
                                                  "c}]d}\ne");
    PacketReader r;
    const auto events = feed(r, framed);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].payload, "a$b#c}d*e");
}

TEST(RspFraming, RunLengthEncodingIsDecoded) {
    // "0* " is '0' and 3 more: ' ' is 32, 32 - 29 = 3.
    EXPECT_EQ(decode_payload("0* "), "0000");
    EXPECT_EQ(decode_payload("ab*\"c"), "abbbbbbc"); // '"' = 34: 5 more
    EXPECT_EQ(decode_payload("*a"), std::nullopt);   // nothing to repeat
    EXPECT_EQ(decode_payload("a*"), std::nullopt);   // count cut
    EXPECT_EQ(decode_payload("a*\x01"), std::nullopt);
    EXPECT_EQ(decode_payload("a}"), std::nullopt); // escape cut
}

TEST(RspFraming, AcksNacksAndCtrlCOutsidePackets) {
    PacketReader r;
    const auto events = feed(r, "+-\x03");
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kind, PacketReader::Kind::Ack);
    EXPECT_EQ(events[1].kind, PacketReader::Kind::Nack);
    EXPECT_EQ(events[2].kind, PacketReader::Kind::Interrupt);
}

TEST(RspFraming, ANewDollarRestartsACutPacket) {
    EXPECT_EQ(one("$gar$g#67").payload, "g");
}

TEST(RspFraming, NoiseBetweenPacketsIsIgnored) {
    EXPECT_EQ(one("xyz\n$g#67").payload, "g");
}

TEST(RspFraming, OverlongPacketIsReadToItsEndAndRefused) {
    std::string body(3 * kMaxPacketSize, 'a');
    uint8_t sum = 0;
    for (const char c : body)
        sum = static_cast<uint8_t>(sum + c);
    const std::string packet = "$" + body + "#" + to_hex(std::span<const uint8_t>(&sum, 1));
    PacketReader r;
    const auto events = feed(r, packet + "$g#67");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, PacketReader::Kind::TooLong);
    EXPECT_EQ(events[1].payload, "g");
}

TEST(RspHex, RoundTripsAndRefusesBadDigits) {
    const uint8_t bytes[] = {0x00, 0x7f, 0xff};
    EXPECT_EQ(to_hex(bytes), "007fff");
    EXPECT_EQ(from_hex("007FfF"), std::string("\x00\x7f\xff", 3));
    EXPECT_EQ(from_hex("0"), std::nullopt);
    EXPECT_EQ(from_hex("0g"), std::nullopt);
    EXPECT_EQ(parse_hex_number("7c00"), 0x7c00u);
    EXPECT_EQ(parse_hex_number(""), std::nullopt);
    EXPECT_EQ(parse_hex_number("12345678123456781"), std::nullopt); // 17 digits
    EXPECT_EQ(parse_hex_number("-1"), std::nullopt);
    EXPECT_EQ(parse_hex_number("ffffffffffffffff"), ~uint64_t{0});
}

} // namespace
} // namespace transit86::gdb
