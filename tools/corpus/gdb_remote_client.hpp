// The client side of GDB's remote serial protocol (GDB manual, "Remote Protocol": Packets,
// Standard Replies, Stop Reply Packets, Interrupts, qRcmd), over a pair of file descriptors:
// the corpus engine talks to qemu-system-i386 started with `-gdb stdio` through pipes. The
// framing (checksums, escapes, run-length encoding) is tools/gdb/rsp_packet.hpp's, shared with
// transit86's own GDB server. Every wait has a deadline: a stub that stops answering is an
// error, never a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tools/gdb/rsp_packet.hpp"

namespace transit86::tools {

class GdbRemoteClient {
  public:
    // `in`: bytes from the stub; `out`: bytes to it. The client does not own them.
    GdbRemoteClient(int in, int out) : in_(in), out_(out) {}

    // Sends one packet and returns the stub's reply; nullopt when the stub closed the
    // connection or did not answer within `timeout` (eof() tells which).
    std::optional<std::string> request(const std::string& payload,
                                       std::chrono::milliseconds timeout = kDefaultTimeout);
    // Sends a packet whose reply comes later (`s`, `c`): wait_stop() collects it.
    bool send(const std::string& payload);
    // The next packet from the stub (a stop reply after `s`), or nullopt on EOF or timeout.
    std::optional<std::string> wait_packet(std::chrono::milliseconds timeout);
    // GDB's Ctrl-C: a 0x03 byte outside a packet; the stub stops and sends a stop reply.
    bool interrupt();
    // `qRcmd,<hex command>`: the console output of a monitor command (the `O` packets joined),
    // nullopt when the stub refused it or went away.
    std::optional<std::string> monitor(const std::string& command);

    // `m`/`M` in chunks that fit the stub's packet size.
    bool read_memory(uint64_t address, std::span<uint8_t> bytes);
    bool write_memory(uint64_t address, std::span<const uint8_t> bytes);
    // `P`: one register as a little-endian image of `size` bytes.
    bool write_register(int number, uint64_t value, size_t size = 4);

    bool eof() const { return eof_; }

    static constexpr std::chrono::milliseconds kDefaultTimeout{10000};

  private:
    bool write_all(const std::string& bytes);
    // One byte from the stub, or nullopt at the deadline or EOF.
    std::optional<uint8_t> read_byte(std::chrono::steady_clock::time_point deadline);

    int in_;
    int out_;
    bool eof_ = false;
    gdb::PacketReader reader_;
    std::vector<uint8_t> pending_; // bytes read but not yet fed to the reader
    size_t pending_at_ = 0;
};

} // namespace transit86::tools
