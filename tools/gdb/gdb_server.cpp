#include "tools/gdb/gdb_server.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/gdb/gdb_session.hpp"
#include "tools/gdb/rsp_packet.hpp"

namespace transit86::gdb {

namespace {

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

std::string errno_text() {
    return std::strerror(errno);
}

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

int listen_on(const ServerAddress& address, std::string& shown) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address.port);
    if (const int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        throw ServerError(
            fmt::format("--gdb: cannot resolve host \"{}\": {}", address.host, ::gai_strerror(rc)));
    std::string why = "no address";
    int fd = -1;
    for (addrinfo* a = found; a; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            why = errno_text();
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1) == 0) break;
        why = errno_text();
        ::close(fd);
        fd = -1;
    }
    ::freeaddrinfo(found);
    if (fd < 0)
        throw ServerError(
            fmt::format("--gdb: cannot listen on {}:{}: {}", address.host, address.port, why));
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t bound_port = 0;
    if (bound.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&bound);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        bound_port = ntohs(in6->sin6_port);
        shown = fmt::format("[{}]:{}", host, bound_port);
    } else {
        const auto* in4 = reinterpret_cast<const sockaddr_in*>(&bound);
        ::inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
        bound_port = ntohs(in4->sin_port);
        shown = fmt::format("{}:{}", host, bound_port);
    }
    return fd;
}

// One connection: bytes in, packets handled, replies out.
class Connection {
  public:
    Connection(int fd, GdbSession& session) : fd_(fd), session_(session) {}
    ServeResult::End serve();

  private:
    bool send_packets(const std::vector<std::string>& payloads);
    // Ctrl-C while the target runs: reads what has arrived without blocking; other bytes are
    // kept for after the run (GDB sends nothing else while waiting for a stop in all-stop).
    bool poll_interrupt();

    int fd_;
    GdbSession& session_;
    PacketReader reader_;
    std::string pending_;   // bytes read while running, fed after the reply
    std::string last_sent_; // the last framed packet, for a '-'
};

bool Connection::send_packets(const std::vector<std::string>& payloads) {
    for (const std::string& p : payloads) {
        last_sent_ = frame_packet(p);
        if (!send_all(fd_, last_sent_)) return false;
    }
    return true;
}

bool Connection::poll_interrupt() {
    // A Ctrl-C that came in the same read as the packet that started the run.
    if (const size_t at = pending_.find('\x03'); at != std::string::npos) {
        pending_.erase(at, 1);
        return true;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) return false;
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return true; // the connection went away: stop the run
    bool interrupt = false;
    for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == 0x03)
            interrupt = true;
        else
            pending_.push_back(buf[i]);
    }
    return interrupt;
}

ServeResult::End Connection::serve() {
    const auto interrupted = [this] { return poll_interrupt(); };
    char buf[4096];
    for (;;) {
        std::string input = std::move(pending_);
        pending_.clear();
        if (input.empty()) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return ServeResult::End::Disconnected;
            input.assign(buf, static_cast<size_t>(n));
        }
        for (size_t i = 0; i < input.size(); ++i) {
            PacketReader::Event e = reader_.feed(static_cast<uint8_t>(input[i]));
            GdbSession::Response response;
            switch (e.kind) {
            case PacketReader::Kind::None:
            case PacketReader::Kind::Ack: continue;
            case PacketReader::Kind::Nack:
                if (!last_sent_.empty() && !send_all(fd_, last_sent_))
                    return ServeResult::End::Disconnected;
                continue;
            case PacketReader::Kind::BadChecksum:
                if (session_.ack_mode() && !send_all(fd_, "-"))
                    return ServeResult::End::Disconnected;
                continue;
            case PacketReader::Kind::Interrupt: response = session_.interrupt(); break;
            case PacketReader::Kind::TooLong:
                if (session_.ack_mode() && !send_all(fd_, "+"))
                    return ServeResult::End::Disconnected;
                response.packets = {"E01"};
                break;
            case PacketReader::Kind::Packet: {
                if (session_.ack_mode() && !send_all(fd_, "+"))
                    return ServeResult::End::Disconnected;
                // Bytes after this packet in `input` are GDB's next ones: keep them in order
                // with anything read during the run.
                pending_ = input.substr(i + 1);
                input.resize(i + 1);
                response = session_.handle(e.payload, interrupted);
                if (!send_packets(response.packets)) return ServeResult::End::Disconnected;
                if (response.close)
                    return e.payload[0] == 'D' ? ServeResult::End::Detached
                                               : ServeResult::End::Killed;
                continue;
            }
            }
            if (!send_packets(response.packets)) return ServeResult::End::Disconnected;
        }
    }
}

} // namespace

ServerAddress parse_server_address(std::string_view text) {
    ServerAddress out;
    std::string_view port = text;
    if (const size_t colon = text.rfind(':'); colon != std::string_view::npos) {
        std::string_view host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        if (host.empty())
            throw std::invalid_argument(fmt::format("--gdb \"{}\": the host is empty", text));
        out.host = std::string(host);
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) > 65535)
        throw std::invalid_argument(
            fmt::format("--gdb \"{}\" is not [HOST:]PORT with PORT 0..65535", text));
    out.port = static_cast<uint16_t>(std::stoul(std::string(port)));
    return out;
}

std::string end_line(ServeResult result, uint64_t instructions, const std::string& ended) {
    const char* how = result.end == ServeResult::End::Detached ? "detached"
                      : result.end == ServeResult::End::Killed ? "killed the run"
                                                               : "disconnected";
    return fmt::format("== GDB {} after {} instructions{} ==\n", how, instructions,
                       ended.empty() ? "" : "; the run had ended: " + ended);
}

ServeResult serve_gdb(GdbTarget& target, const ServerAddress& address,
                      ReverseHistory::Limits limits, std::FILE* announce) {
    // The session first: starting its history copies and compares the whole RAM (a large
    // one takes a while on a loaded machine). GDB retransmits a packet whose '+' has not come
    // within its remotetimeout (2 s), and a retransmitted qSupported answered twice puts every
    // later reply one packet late; so once GDB may connect, its packets are read at once.
    GdbSession session(target, limits);
    std::string shown;
    const Fd listener(listen_on(address, shown));
    fmt::print(announce, "transit86: waiting for GDB on {}\n", shown);
    std::fflush(announce);
    int client = -1;
    do {
        client = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    } while (client < 0 && errno == EINTR);
    if (client < 0) throw ServerError(fmt::format("--gdb: accept failed: {}", errno_text()));
    const Fd connection(client);
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Connection c(client, session);
    return {c.serve()};
}

} // namespace transit86::gdb
