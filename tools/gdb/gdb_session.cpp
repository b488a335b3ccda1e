#include "tools/gdb/gdb_session.hpp"

#include <fmt/format.h>

#include "tools/gdb/registers.hpp"
#include "tools/gdb/rsp_packet.hpp"

namespace transit86::gdb {

namespace {

constexpr std::string_view kError = "E01";
constexpr std::string_view kThread = "thread:1;";

// "a,b" -> {a, b}; nullopt unless both are hex numbers.
std::optional<std::pair<uint64_t, uint64_t>> parse_pair(std::string_view text) {
    const size_t comma = text.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    auto a = parse_hex_number(text.substr(0, comma));
    auto b = parse_hex_number(text.substr(comma + 1));
    if (!a || !b) return std::nullopt;
    return std::pair{*a, *b};
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

// 'O' packets carrying `text`, hex-encoded, in pieces that fit the packet size.
void append_console(std::vector<std::string>& packets, std::string_view text) {
    constexpr size_t kChunk = 1024;
    for (size_t at = 0; at < text.size(); at += kChunk)
        packets.push_back("O" + to_hex(text.substr(at, kChunk)));
}

} // namespace

GdbSession::GdbSession(GdbTarget& target, ReverseHistory::Limits limits)
    : target_(target), exec_(target, limits) {
    last_stop_.kind = Stop::Kind::Step;
}

std::string GdbSession::stop_reply(const Stop& stop) const {
    std::string reply = stop.kind == Stop::Kind::Interrupted ? "T02" : "T05";
    switch (stop.kind) {
    case Stop::Kind::SoftwareBreak: reply += "swbreak:;"; break;
    case Stop::Kind::HardwareBreak: reply += "hwbreak:;"; break;
    case Stop::Kind::Watch:
        reply += fmt::format("{}:{:x};",
                             stop.watch == WatchKind::Write  ? "watch"
                             : stop.watch == WatchKind::Read ? "rwatch"
                                                             : "awatch",
                             stop.watch_address);
        break;
    case Stop::Kind::HistoryBegin: reply += "replaylog:begin;"; break;
    default: break;
    }
    reply += kThread;
    // The pc, expedited: GDB reads it after every stop.
    reply += fmt::format("{:02x}:{};", kRegPc, to_hex(read_register(target_.state(), kRegPc)));
    return reply;
}

GdbSession::Response GdbSession::interrupt() {
    Stop stop;
    stop.kind = Stop::Kind::Interrupted;
    return {{stop_reply(stop)}};
}

void GdbSession::set_state(const CpuState& s) {
    target_.set_state(s);
    exec_.state_rewritten();
}

GdbSession::Response GdbSession::resume(bool reverse, bool single_step, std::string_view address,
                                        const std::function<bool()>& interrupted) {
    if (!address.empty()) { // "c ADDR" / "s ADDR": resume at a linear address
        const auto pc = parse_hex_number(address);
        if (!pc) return {{std::string(kError)}};
        CpuState s = target_.state();
        s.eip = static_cast<uint32_t>(*pc - s[Seg::CS].base);
        set_state(s);
    }
    Stop stop =
        reverse ? exec_.reverse(single_step, interrupted) : exec_.forward(single_step, interrupted);
    Response out;
    append_console(out.packets, stop.console);
    std::string message = stop.message;
    // The guest's last line may be unfinished (a prompt, a status without newline): the
    // server's own words start on a line of their own.
    if (!message.empty() && !stop.console.empty() && stop.console.back() != '\n')
        message.insert(0, "\n");
    const bool i8086 = code_is_16bit(target_.state());
    if (described_ && i8086 != described_i8086_ && !mode_hint_given_) {
        message += fmt::format(
            "transit86: the code at $pc is now {}-bit; GDB disassembles as {} since it connected: "
            "`set architecture {}` (docs/gdb.md)\n",
            i8086 ? 16 : 32, described_i8086_ ? "i8086" : "i386", i8086 ? "i8086" : "i386");
        mode_hint_given_ = true;
    } else if (described_ && i8086 == described_i8086_) {
        mode_hint_given_ = false;
    }
    append_console(out.packets, message);
    last_stop_ = stop;
    out.packets.push_back(stop_reply(stop));
    return out;
}

std::string GdbSession::read_memory(std::string_view args) const {
    const auto pair = parse_pair(args);
    if (!pair) return std::string(kError);
    const auto [address, length] = *pair;
    const uint64_t n = std::min<uint64_t>(length, (kMaxPacketSize - 16) / 2);
    if (n == 0) return "";
    std::vector<uint8_t> bytes(n);
    const size_t got = target_.read_linear(address, bytes);
    if (got == 0) return std::string(kError);
    return to_hex(std::span<const uint8_t>(bytes.data(), got));
}

std::string GdbSession::write_memory(std::string_view args, bool binary) {
    const size_t colon = args.find(':');
    if (colon == std::string_view::npos) return std::string(kError);
    const auto pair = parse_pair(args.substr(0, colon));
    if (!pair) return std::string(kError);
    const auto [address, length] = *pair;
    std::string data;
    if (binary) {
        data = args.substr(colon + 1);
    } else {
        auto decoded = from_hex(args.substr(colon + 1));
        if (!decoded) return std::string(kError);
        data = std::move(*decoded);
    }
    if (data.size() != length) return std::string(kError);
    if (length == 0) return "OK"; // GDB's probe for X support
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    const size_t written = target_.write_linear(address, std::span(p, data.size()));
    exec_.state_rewritten();
    return written == data.size() ? "OK" : std::string(kError);
}

std::string GdbSession::handle_breakpoint(std::string_view packet, bool insert) {
    // Ztype,addr,kind
    if (packet.size() < 2 || packet[1] < '0' || packet[1] > '4' ||
        (packet.size() > 2 && packet[2] != ','))
        return "";
    const char type = packet[1];
    std::string_view rest = packet.size() > 3 ? packet.substr(3) : std::string_view{};
    if (const size_t semi = rest.find(';'); semi != std::string_view::npos)
        rest = rest.substr(0, semi);
    const auto pair = parse_pair(rest);
    if (!pair) return std::string(kError);
    const auto [address, kind] = *pair;
    if (type == '0' || type == '1') {
        const bool hardware = type == '1';
        const bool ok = insert ? exec_.insert_breakpoint(address, hardware)
                               : exec_.remove_breakpoint(address, hardware);
        return ok ? "OK" : std::string(kError);
    }
    const Watchpoint w{address, kind,
                       type == '2'   ? WatchKind::Write
                       : type == '3' ? WatchKind::Read
                                     : WatchKind::Access};
    const bool ok = insert ? exec_.insert_watchpoint(w) : exec_.remove_watchpoint(w);
    return ok ? "OK" : std::string(kError);
}

GdbSession::Response GdbSession::handle_query(std::string_view packet) {
    if (starts_with(packet, "qSupported"))
        return {{fmt::format("PacketSize={:x};qXfer:features:read+;swbreak+;hwbreak+;"
                             "ReverseStep+;ReverseContinue+;QStartNoAckMode+;vContSupported+",
                             kMaxPacketSize)}};
    if (packet == "QStartNoAckMode") {
        ack_mode_ = false; // takes effect after this reply's own ack (gdb_server.cpp)
        return {{"OK"}};
    }
    if (starts_with(packet, "qXfer:features:read:")) {
        std::string_view rest = packet.substr(20);
        const size_t colon = rest.find(':');
        if (colon == std::string_view::npos) return {{std::string(kError)}};
        if (rest.substr(0, colon) != "target.xml") return {{"E00"}};
        const auto pair = parse_pair(rest.substr(colon + 1));
        if (!pair) return {{std::string(kError)}};
        if (!described_ || pair->first == 0) {
            described_i8086_ = code_is_16bit(target_.state());
            described_ = true;
            mode_hint_given_ = false;
        }
        const std::string& xml = target_xml(described_i8086_);
        const uint64_t offset = pair->first;
        if (offset >= xml.size()) return {{"l"}};
        const uint64_t n =
            std::min<uint64_t>({pair->second, xml.size() - offset, kMaxPacketSize - 16});
        const bool last = offset + n >= xml.size();
        return {{(last ? "l" : "m") + xml.substr(offset, n)}};
    }
    if (packet == "qAttached" || starts_with(packet, "qAttached:")) return {{"1"}};
    if (packet == "qC") return {{"QC1"}};
    if (packet == "qfThreadInfo") return {{"m1"}};
    if (packet == "qsThreadInfo") return {{"l"}};
    if (starts_with(packet, "qRcmd,")) {
        const auto command = from_hex(packet.substr(6));
        if (!command) return {{std::string(kError)}};
        Response out;
        append_console(out.packets, monitor(*command));
        out.packets.push_back("OK");
        return out;
    }
    if (starts_with(packet, "QNonStop:")) return {{packet == "QNonStop:0" ? "OK" : "E01"}};
    return {{""}}; // qSymbol, qOffsets, qTStatus, ...: not supported
}

GdbSession::Response GdbSession::handle_v(std::string_view packet,
                                          const std::function<bool()>& interrupted) {
    if (packet == "vCont?") return {{"vCont;c;C;s;S"}};
    if (starts_with(packet, "vCont;")) {
        // Single thread: the first action decides (each may name a thread; all are ours).
        std::string_view action = packet.substr(6);
        if (const size_t semi = action.find(';'); semi != std::string_view::npos)
            action = action.substr(0, semi);
        if (const size_t colon = action.find(':'); colon != std::string_view::npos)
            action = action.substr(0, colon);
        if (action == "c" || (action.size() == 3 && action[0] == 'C'))
            return resume(false, false, {}, interrupted);
        if (action == "s" || (action.size() == 3 && action[0] == 'S'))
            return resume(false, true, {}, interrupted);
        return {{std::string(kError)}};
    }
    if (starts_with(packet, "vKill")) return {{"OK"}, true};
    if (packet == "vMustReplyEmpty") return {{""}};
    return {{""}};
}

GdbSession::Response GdbSession::handle(std::string_view packet,
                                        const std::function<bool()>& interrupted) {
    if (packet.empty()) return {{""}};
    const std::string_view args = packet.substr(1);
    switch (packet[0]) {
    case '?': return {{stop_reply(last_stop_)}};
    case 'g': return {{to_hex(read_all_registers(target_.state()))}};
    case 'G': {
        const auto bytes = from_hex(args);
        CpuState s = target_.state();
        if (!bytes || !write_all_registers(s, *bytes)) return {{std::string(kError)}};
        set_state(s);
        return {{"OK"}};
    }
    case 'p': {
        const auto n = parse_hex_number(args);
        if (!n || *n >= register_count()) return {{std::string(kError)}};
        return {{to_hex(read_register(target_.state(), *n))}};
    }
    case 'P': {
        const size_t eq = args.find('=');
        if (eq == std::string_view::npos) return {{std::string(kError)}};
        const auto n = parse_hex_number(args.substr(0, eq));
        const auto bytes = from_hex(args.substr(eq + 1));
        CpuState s = target_.state();
        if (!n || !bytes || *n >= register_count() || !write_register(s, *n, *bytes))
            return {{std::string(kError)}};
        set_state(s);
        return {{"OK"}};
    }
    case 'm': return {{read_memory(args)}};
    case 'M': return {{write_memory(args, false)}};
    case 'X': return {{write_memory(args, true)}};
    case 'c': return resume(false, false, args, interrupted);
    case 's': return resume(false, true, args, interrupted);
    case 'C':
    case 'S': { // "C sig[;addr]": the signal is ignored, there is nothing to deliver it to
        const size_t semi = args.find(';');
        return resume(false, packet[0] == 'S',
                      semi == std::string_view::npos ? std::string_view{} : args.substr(semi + 1),
                      interrupted);
    }
    case 'b':
        if (packet == "bc") return resume(true, false, {}, interrupted);
        if (packet == "bs") return resume(true, true, {}, interrupted);
        return {{""}};
    case 'Z': return {{handle_breakpoint(packet, true)}};
    case 'z': return {{handle_breakpoint(packet, false)}};
    case 'H': return {{"OK"}}; // one thread: every thread id selects it
    case 'T': return {{"OK"}}; // thread alive
    case 'D': return {{"OK"}, true};
    case 'k': return {{}, true};
    case 'q':
    case 'Q': return handle_query(packet);
    case 'v': return handle_v(packet, interrupted);
    default: return {{""}};
    }
}

} // namespace transit86::gdb
