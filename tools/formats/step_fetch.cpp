#include "tools/formats/step_fetch.hpp"

#include <algorithm>
#include <cstring>

#include "decoder/decoder.hpp"

namespace transit86::tools {

namespace {

decoder::FetchMode fetch_mode(uint8_t mode) {
    return {.protected_mode = (mode & 1) != 0, .code32 = (mode & 2) != 0, .v86 = (mode & 4) != 0};
}

// Up to 15 bytes at `linear` (through the guest's page tables with paging on), stopping where
// RAM or the mapping ends.
size_t read_code(const Emulator& emu, uint64_t linear, uint8_t (&out)[15]) {
    if (emu.read_linear(linear, out, sizeof out)) return sizeof out;
    size_t n = 0;
    while (n < sizeof out && emu.read_linear(linear + n, out + n, 1))
        ++n;
    return n;
}

} // namespace

const FetchedInstruction& FetchCache::fetch(const Emulator& emu, const CpuState& s) {
    const uint64_t linear = s[Seg::CS].base + s.eip;
    const auto mode = static_cast<uint8_t>(
        s.protected_mode() | (ar::db(s[Seg::CS].access_rights) << 1) | (s.v86() << 2));
    uint8_t bytes[15] = {};
    const size_t available = read_code(emu, linear, bytes);
    const size_t index = linear % kSlots;
    FetchedInstruction& f = slots_[index];
    if (used_[index] && f.linear == linear && f.eip == s.eip && f.mode == mode &&
        f.count <= available && std::memcmp(f.bytes, bytes, f.count) == 0)
        return f;

    used_[index] = true;
    f.linear = linear;
    f.eip = s.eip;
    f.mode = mode;
    std::memcpy(f.bytes, bytes, sizeof bytes);
    decoder::Insn insn{};
    if (decoder::decode(bytes, available, fetch_mode(mode), insn) == decoder::DecodeStatus::Ok ||
        insn.length != 0) {
        f.count = static_cast<uint8_t>(insn.length ? insn.length : available);
        f.text = decoder::disassemble(bytes, f.count, fetch_mode(mode), s.eip);
    } else {
        // Not kept: whether bytes decode may depend on how many could be read.
        used_[index] = false;
        f.count = static_cast<uint8_t>(std::min<size_t>(available, 4));
        f.text = "(bad)";
    }
    return f;
}

} // namespace transit86::tools
