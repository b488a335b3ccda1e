#include "tools/corpus/gdb_remote_client.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

namespace transit86::tools {

namespace {

// Memory bytes per m/M packet: QEMU 7.2 advertises PacketSize=1000 (hex), and each byte is two
// hex digits plus the command's header.
constexpr size_t kMemoryChunk = 0x600;

} // namespace

bool GdbRemoteClient::write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(out_, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

std::optional<uint8_t> GdbRemoteClient::read_byte(std::chrono::steady_clock::time_point deadline) {
    if (pending_at_ < pending_.size()) return pending_[pending_at_++];
    if (eof_) return std::nullopt;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() < 0) return std::nullopt;
        pollfd p{.fd = in_, .events = POLLIN, .revents = 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return std::nullopt;
        pending_.resize(4096);
        const ssize_t n = ::read(in_, pending_.data(), pending_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof_ = true;
            pending_.clear();
            pending_at_ = 0;
            return std::nullopt;
        }
        pending_.resize(static_cast<size_t>(n));
        pending_at_ = 1;
        return pending_[0];
    }
}

bool GdbRemoteClient::send(const std::string& payload) {
    return write_all(gdb::frame_packet(payload));
}

std::optional<std::string> GdbRemoteClient::wait_packet(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const std::optional<uint8_t> byte = read_byte(deadline);
        if (!byte) return std::nullopt;
        gdb::PacketReader::Event event = reader_.feed(*byte);
        switch (event.kind) {
        case gdb::PacketReader::Kind::Packet:
            if (!write_all("+")) return std::nullopt;
            return std::move(event.payload);
        case gdb::PacketReader::Kind::BadChecksum:
            if (!write_all("-")) return std::nullopt; // the stub sends it again
            break;
        default: break; // the stub's acks of our packets: the pipe does not lose bytes
        }
    }
}

std::optional<std::string> GdbRemoteClient::request(const std::string& payload,
                                                    std::chrono::milliseconds timeout) {
    if (!send(payload)) return std::nullopt;
    return wait_packet(timeout);
}

bool GdbRemoteClient::interrupt() {
    return write_all(std::string(1, '\x03'));
}

std::optional<std::string> GdbRemoteClient::monitor(const std::string& command) {
    std::optional<std::string> reply = request("qRcmd," + gdb::to_hex(std::string_view(command)));
    std::string text;
    // Output comes as `O<hex>` packets, then OK (or E<nn> for a refused command).
    while (reply && reply->size() > 1 && (*reply)[0] == 'O' && *reply != "OK") {
        const std::optional<std::string> chunk = gdb::from_hex(std::string_view(*reply).substr(1));
        if (!chunk) return std::nullopt;
        text += *chunk;
        reply = wait_packet(kDefaultTimeout);
    }
    if (!reply || *reply != "OK") return std::nullopt;
    return text;
}

bool GdbRemoteClient::read_memory(uint64_t address, std::span<uint8_t> bytes) {
    for (size_t at = 0; at < bytes.size(); at += kMemoryChunk) {
        const size_t n = std::min(kMemoryChunk, bytes.size() - at);
        const auto reply = request(fmt::format("m{:x},{:x}", address + at, n));
        if (!reply) return false;
        const std::optional<std::string> data = gdb::from_hex(*reply);
        if (!data || data->size() != n) return false;
        std::copy(data->begin(), data->end(), bytes.begin() + static_cast<ptrdiff_t>(at));
    }
    return true;
}

bool GdbRemoteClient::write_memory(uint64_t address, std::span<const uint8_t> bytes) {
    for (size_t at = 0; at < bytes.size(); at += kMemoryChunk) {
        const size_t n = std::min(kMemoryChunk, bytes.size() - at);
        const auto reply = request(
            fmt::format("M{:x},{:x}:{}", address + at, n, gdb::to_hex(bytes.subspan(at, n))));
        if (!reply || *reply != "OK") return false;
    }
    return true;
}

bool GdbRemoteClient::write_register(int number, uint64_t value, size_t size) {
    std::vector<uint8_t> image(size);
    for (size_t i = 0; i < size; ++i)
        image[i] = static_cast<uint8_t>(value >> (8 * i));
    const auto reply = request(fmt::format("P{:x}={}", number, gdb::to_hex(image)));
    return reply && *reply == "OK";
}

} // namespace transit86::tools
