// libFuzzer target: the GDB server's packet layer and command handler (tools/gdb), the bytes
// as they would arrive on the socket. Packets come from the network and are untrusted: any
// byte sequence must give replies (errors included), never a crash, a hang or unbounded
// memory. The machine is the step target on a small program (the mov cr0 window, then HLT)
// with a budget of 64 instructions, so `c` and `bc` end whatever the fuzzer writes into memory
// or registers. The reverse history takes a snapshot every 8 positions and keeps at most 4 and
// 32 KiB (reverse_history.hpp): any run to the budget passes the first bound, one that changed
// a few pages of RAM the second, so thinning and a start of history that moves are fuzzed too.
// Every reply must survive its own framing: frame_packet() then PacketReader gives it back.
//
// One machine (RAM, ports, StepTarget and its Emulator) serves every input: building an
// Emulator allocates its decode cache and block table, which under ASan cost more than the
// session itself. Each input still starts from the same machine, independent of the ones
// before it: the RAM is copied back from the program image, StepTarget::reset() restores the
// start state and the ports and leaves the Emulator with nothing from earlier runs
// (step_target.cpp, forget_earlier_runs), and the session (breakpoints, watchpoints, reverse
// history, ack mode) is built anew per input.
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

#include "tools/gdb/gdb_session.hpp"
#include "tools/gdb/rsp_packet.hpp"
#include "tools/gdb/step_target.hpp"

namespace {

using namespace transit86;

void check(bool condition) {
    if (!condition) __builtin_trap();
}

// cli; mov eax, cr0; or al, 1; mov cr0, eax; jmp short -2 (a loop the budget ends); hlt
constexpr uint8_t kProgram[] = {0xFA, 0x0F, 0x20, 0xC0, 0x0C, 0x01,
                                0x0F, 0x22, 0xC0, 0xEB, 0xFE, 0xF4};

// Replies repeat ("OK", "E01", the same stop reply, the pieces of the target description),
// and framing one is a pure function of its bytes: one checked before is not checked again
// (a third less time per input). The set is emptied past 16 MiB.
void check_framing(const std::string& payload) {
    static std::unordered_set<std::string> checked;
    static size_t checked_bytes = 0;
    if (payload.size() > gdb::kMaxPacketSize || checked.count(payload)) return;
    gdb::PacketReader reader;
    gdb::PacketReader::Event last;
    for (const char c : gdb::frame_packet(payload))
        if (auto e = reader.feed(static_cast<uint8_t>(c)); e.kind != gdb::PacketReader::Kind::None)
            last = std::move(e);
    check(last.kind == gdb::PacketReader::Kind::Packet && last.payload == payload);
    if (checked_bytes > (16u << 20)) {
        checked.clear();
        checked_bytes = 0;
    }
    checked.insert(payload);
    checked_bytes += payload.size() + sizeof(std::string);
}

std::vector<uint8_t> program_image() {
    std::vector<uint8_t> image(0x10000, 0);
    std::memcpy(image.data() + 0x7C00, kProgram, sizeof kProgram);
    return image;
}

CpuState start_state() {
    CpuState start = reset_state(ResetPreset::Intel);
    start[Seg::CS].selector = 0;
    start[Seg::CS].base = 0;
    start.eip = 0x7C00;
    return start;
}

struct Machine {
    const std::vector<uint8_t> image = program_image();
    std::vector<uint8_t> ram = image; // its own heap block: ASan sees an access past its end
    pc::PcPorts ports;
    gdb::StepTarget target{RamSlot{.guest_phys = 0, .size = ram.size(), .host = ram.data()},
                           ports,
                           start_state(),
                           {.budget = 64}};

    // The machine every input starts from.
    void reset() {
        std::memcpy(ram.data(), image.data(), ram.size());
        target.reset();
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Machine machine;
    machine.reset();
    gdb::GdbSession session(machine.target,
                            {.interval = 8, .max_snapshots = 4, .max_bytes = 32 << 10});
    gdb::PacketReader reader;
    int polls = 0;
    // Ctrl-C now and then, as the socket would deliver it.
    const auto interrupted = [&] { return (++polls % 3) == 0; };
    for (size_t i = 0; i < size; ++i) {
        const auto e = reader.feed(data[i]);
        if (e.kind == gdb::PacketReader::Kind::Packet) {
            const auto response = session.handle(e.payload, interrupted);
            for (const std::string& p : response.packets)
                check_framing(p);
            if (response.close) break;
        } else if (e.kind == gdb::PacketReader::Kind::Interrupt) {
            for (const std::string& p : session.interrupt().packets)
                check_framing(p);
        }
    }
    return 0;
}
