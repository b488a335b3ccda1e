// Talking to a GdbSession the way GDB does, for the target tests: a packet's last reply, the
// console text of its 'O' packets, a `monitor` command's output.
#pragma once

#include <string>
#include <string_view>

#include "tools/gdb/gdb_session.hpp"
#include "tools/gdb/rsp_packet.hpp"

namespace transit86::gdb::testing {

inline std::string last_reply(GdbSession& session, std::string_view packet) {
    auto r = session.handle(packet);
    return r.packets.empty() ? "<none>" : r.packets.back();
}

inline std::string console_of(GdbSession& session, std::string_view packet) {
    std::string out;
    for (const auto& p : session.handle(packet).packets)
        if (p.size() > 1 && p[0] == 'O' && p != "OK") out += from_hex(p.substr(1)).value_or("?");
    return out;
}

inline std::string monitor(GdbSession& session, std::string_view command) {
    return console_of(session, "qRcmd," + to_hex(command));
}

} // namespace transit86::gdb::testing
