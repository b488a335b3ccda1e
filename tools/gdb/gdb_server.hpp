// The TCP side of `--gdb [HOST:]PORT`: listen on HOST (127.0.0.1 unless given, never another
// address), wait for one GDB, serve its packets until it detaches, kills or disconnects.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tools/gdb/gdb_target.hpp"
#include "tools/gdb/reverse_history.hpp"

namespace transit86::gdb {

struct ServerAddress {
    std::string host = "127.0.0.1";
    uint16_t port = 0; // 0: the system picks a free port, printed when listening
};

// "[HOST:]PORT" (HOST may be "[v6-address]"); throws std::invalid_argument with a one-line
// message for anything else.
ServerAddress parse_server_address(std::string_view text);

// Thrown when the address cannot be listened on; what() is one line.
struct ServerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ServeResult {
    enum class End : uint8_t { Detached, Killed, Disconnected } end = End::Disconnected;
};

// The line a command prints when GDB has gone: "== GDB detached after N instructions ==", with
// "; the run had ended: WHY" when `ended` is not empty.
std::string end_line(ServeResult result, uint64_t instructions, const std::string& ended);

// Listens, prints "transit86: waiting for GDB on HOST:PORT" to `announce` (with the bound
// port) and serves one client. Throws ServerError when it cannot listen.
ServeResult serve_gdb(GdbTarget& target, const ServerAddress& address,
                      ReverseHistory::Limits limits, std::FILE* announce);

} // namespace transit86::gdb
