// The GDB remote serial protocol's framing (GDB manual, "Remote Protocol": Overview, Binary
// Data, Run-Length Encoding, Interrupts, Packet Acknowledgment). Bytes from the network are
// untrusted: the reader accepts any byte sequence and never grows without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace transit86::gdb {

// The largest packet we accept and advertise (qSupported PacketSize), payload bytes.
inline constexpr size_t kMaxPacketSize = 0x4000;

// Cuts the byte stream from GDB into what it means.
class PacketReader {
  public:
    enum class Kind : uint8_t {
        None,        // the byte did not complete anything
        Packet,      // a well-formed packet: payload unescaped and run-length decoded
        BadChecksum, // a packet whose checksum or escapes are wrong: answer '-'
        TooLong,     // a packet longer than kMaxPacketSize: answer '+' and an error reply
        Interrupt,   // 0x03 outside a packet: GDB's Ctrl-C
        Ack,         // '+'
        Nack,        // '-': resend the last reply
    };
    struct Event {
        Kind kind = Kind::None;
        std::string payload; // Packet only
    };

    // Feeds one byte; returns what it completed.
    Event feed(uint8_t byte);

  private:
    enum class State : uint8_t { Idle, Payload, Checksum1, Checksum2 };
    State state_ = State::Idle;
    std::string raw_; // between '$' and '#', as sent
    bool overflow_ = false;
    uint8_t sum_ = 0;
    int checksum_high_ = 0; // the first checksum digit, -1 when not a hex digit
};

// The payload with '$', '#', '}' and '*' escaped (0x7d, byte ^ 0x20), framed as
// "$payload#xx".
std::string frame_packet(std::string_view payload);

// Decodes escapes (0x7d) and run-length encoding ("X*n": X repeated n - 29 more times) of a
// packet's raw payload. nullopt when an escape or a repeat count is cut or out of range.
std::optional<std::string> decode_payload(std::string_view raw);

// Hex helpers of the protocol: lower-case pairs, little-endian register images.
std::string to_hex(std::span<const uint8_t> bytes);
std::string to_hex(std::string_view text);
// Two hex digits per byte; nullopt for an odd length or a non-hex digit.
std::optional<std::string> from_hex(std::string_view hex);
// A hexadecimal number of 1..16 digits, nothing else; nullopt otherwise.
std::optional<uint64_t> parse_hex_number(std::string_view text);

} // namespace transit86::gdb
