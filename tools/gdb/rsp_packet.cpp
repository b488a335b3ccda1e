#include "tools/gdb/rsp_packet.hpp"

namespace transit86::gdb {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

PacketReader::Event PacketReader::feed(uint8_t byte) {
    switch (state_) {
    case State::Idle:
        if (byte == '$') {
            state_ = State::Payload;
            raw_.clear();
            overflow_ = false;
            sum_ = 0;
            return {};
        }
        if (byte == 0x03) return {Kind::Interrupt, {}};
        if (byte == '+') return {Kind::Ack, {}};
        if (byte == '-') return {Kind::Nack, {}};
        return {}; // noise between packets is ignored, as gdbserver does
    case State::Payload:
        if (byte == '#') {
            state_ = State::Checksum1;
            return {};
        }
        if (byte == '$') { // a new packet starts: the cut one is dropped
            raw_.clear();
            overflow_ = false;
            sum_ = 0;
            return {};
        }
        sum_ = static_cast<uint8_t>(sum_ + byte);
        // Raw bytes are at most twice the decoded size (escapes); a longer packet is still
        // read to its end, but not kept.
        if (raw_.size() < 2 * kMaxPacketSize)
            raw_.push_back(static_cast<char>(byte));
        else
            overflow_ = true;
        return {};
    case State::Checksum1:
        checksum_high_ = hex_value(static_cast<char>(byte));
        state_ = State::Checksum2;
        return {};
    case State::Checksum2: {
        state_ = State::Idle;
        const int low = hex_value(static_cast<char>(byte));
        if (checksum_high_ < 0 || low < 0 || (checksum_high_ << 4 | low) != sum_)
            return {Kind::BadChecksum, {}};
        if (overflow_) return {Kind::TooLong, {}};
        auto payload = decode_payload(raw_);
        if (!payload) return {Kind::BadChecksum, {}};
        if (payload->size() > kMaxPacketSize) return {Kind::TooLong, {}};
        return {Kind::Packet, std::move(*payload)};
    }
    }
    return {};
}

std::optional<std::string> decode_payload(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '}') {
            if (++i == raw.size()) return std::nullopt;
            out.push_back(static_cast<char>(raw[i] ^ 0x20));
        } else if (c == '*') {
            // Run-length encoding: the previous character repeated (count - 29) more times;
            // counts below 3 more or above 97 more are not what GDB sends (GDB manual,
            // "Run-Length Encoding").
            if (out.empty() || ++i == raw.size()) return std::nullopt;
            const int repeat = static_cast<uint8_t>(raw[i]) - 29;
            if (repeat < 3 || repeat > 97) return std::nullopt;
            if (out.size() + static_cast<size_t>(repeat) > 2 * kMaxPacketSize) return std::nullopt;
            out.append(static_cast<size_t>(repeat), out.back());
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// Both write into a string sized beforehand (for frame_packet, as if every byte were escaped):
// replies run to kMaxPacketSize, and growing one byte at a time costs more than the rest.
std::string frame_packet(std::string_view payload) {
    std::string out(2 * payload.size() + 4, '\0');
    size_t n = 0;
    out[n++] = '$';
    uint8_t sum = 0;
    const auto put = [&](char c) {
        out[n++] = c;
        sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    };
    for (const char c : payload) {
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            put('}');
            put(static_cast<char>(c ^ 0x20));
        } else {
            put(c);
        }
    }
    out[n++] = '#';
    out[n++] = kHexDigits[sum >> 4];
    out[n++] = kHexDigits[sum & 15];
    out.resize(n);
    return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    std::string out(bytes.size() * 2, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = kHexDigits[bytes[i] >> 4];
        out[2 * i + 1] = kHexDigits[bytes[i] & 15];
    }
    return out;
}

std::string to_hex(std::string_view text) {
    return to_hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out(hex.size() / 2, '\0');
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<char>(hi << 4 | lo);
    }
    return out;
}

std::optional<uint64_t> parse_hex_number(std::string_view text) {
    if (text.empty() || text.size() > 16) return std::nullopt;
    uint64_t v = 0;
    for (const char c : text) {
        const int d = hex_value(c);
        if (d < 0) return std::nullopt;
        v = v << 4 | static_cast<uint64_t>(d);
    }
    return v;
}

} // namespace transit86::gdb
