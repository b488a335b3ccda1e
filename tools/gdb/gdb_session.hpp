// The GDB remote protocol's commands over a GdbTarget (docs/gdb.md): one packet in, the
// packets to send back out. Knows nothing of sockets (gdb_server.cpp) or of a particular
// machine (gdb_target.hpp). Every packet is untrusted: anything malformed gets an error reply
// ("E01") or the empty reply for what it does not support, never an exception or a crash.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/gdb/execution.hpp"
#include "tools/gdb/gdb_target.hpp"

namespace transit86::gdb {

class GdbSession {
  public:
    struct Response {
        // Payloads to send in order: console output ('O' packets) first, then the reply.
        // Empty: nothing to send (after 'k').
        std::vector<std::string> packets;
        bool close = false; // close the connection after sending (D, k, vKill)
    };

    explicit GdbSession(GdbTarget& target, ReverseHistory::Limits limits = {});

    // Handles one packet's payload. `interrupted` is polled during long runs (Ctrl-C).
    Response handle(std::string_view packet, const std::function<bool()>& interrupted = {});
    // What a Ctrl-C that arrives while the target is stopped gets: the current stop reply.
    Response interrupt();

    // False after QStartNoAckMode: no more '+' / '-'.
    bool ack_mode() const { return ack_mode_; }
    // The monitor commands' text (qRcmd), for tests and the fuzzer.
    std::string monitor(std::string_view command);
    Execution& execution() { return exec_; }

  private:
    Response resume(bool reverse, bool single_step, std::string_view address,
                    const std::function<bool()>& interrupted);
    Response handle_v(std::string_view packet, const std::function<bool()>& interrupted);
    Response handle_query(std::string_view packet);
    std::string handle_breakpoint(std::string_view packet, bool insert);
    std::string read_memory(std::string_view args) const;
    std::string write_memory(std::string_view args, bool binary);
    std::string stop_reply(const Stop& stop) const;
    void set_state(const CpuState& s);
    std::string monitor_common(std::string_view command);

    GdbTarget& target_;
    Execution exec_;
    bool ack_mode_ = true;
    Stop last_stop_{};
    // The disassembly the target description selected for this connection (decided when GDB
    // first reads it), and whether the user was told the code no longer matches it.
    bool described_i8086_ = true;
    bool described_ = false;
    bool mode_hint_given_ = false;
};

} // namespace transit86::gdb
