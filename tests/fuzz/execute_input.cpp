#include "execute_input.hpp"

#include <algorithm>

namespace transit86::fuzz {

namespace {

// Every field of the header in order, read or written by the same code.
template <class Io>
void header_fields(Io& io, ExecuteInput& in, uint32_t& code_size) {
    io.u8(in.budget);
    io.u8(in.stop_when_valid);
    io.u8(in.ports);
    uint8_t bits = static_cast<uint8_t>(in.a20 | in.single_step << 1 | in.exceptions_to_host << 2 |
                                        in.interrupt_pending << 3 | in.vcpu_path << 4);
    io.u8(bits);
    in.a20 = bits & 1;
    in.single_step = bits & 2;
    in.exceptions_to_host = bits & 4;
    in.interrupt_pending = bits & 8;
    in.vcpu_path = bits & 16;
    io.u8(in.event_kind);
    io.u8(in.event_vector);
    io.u32(in.error_code);
    io.u32(in.host_data);
    io.u32(in.breakpoint);
    io.u32(in.code_address);
    io.u32(in.data_address);
    io.u32(code_size);
    CpuState& s = in.state;
    for (uint32_t& r : s.gpr)
        io.u32(r);
    io.u32(s.eip);
    io.u32(s.eflags);
    auto segment = [&io](SegmentCache& seg) {
        io.u16(seg.selector);
        io.u64(seg.base);
        io.u32(seg.limit);
        io.u32(seg.access_rights);
    };
    for (SegmentCache& seg : s.seg)
        segment(seg);
    segment(s.ldtr);
    segment(s.tr);
    for (DescriptorTableRegister* t : {&s.gdtr, &s.idtr}) {
        io.u64(t->base);
        io.u32(t->limit);
    }
    io.u64(s.cr0);
    io.u64(s.cr2);
    io.u64(s.cr3);
    io.u64(s.cr4);
    io.u64(s.efer);
    io.u32(s.interruptibility);
    uint32_t activity = static_cast<uint32_t>(s.activity);
    io.u32(activity);
    s.activity = static_cast<ActivityState>(activity & 3);
    // The debug registers: any DR7 arms instruction, data and I/O breakpoints and GD.
    for (uint32_t& breakpoint : s.dr)
        io.u32(breakpoint);
    io.u32(s.dr6);
    io.u32(s.dr7);
    s.dr6 = dr6::with_fixed_bits(s.dr6);
    s.dr7 = dr7::with_fixed_bits(s.dr7);
}

struct Reader {
    std::span<const uint8_t> bytes;
    size_t at = 0;
    template <class T>
    void read(T& v) {
        uint64_t x = 0;
        for (size_t i = 0; i < sizeof(T); ++i, ++at)
            if (at < bytes.size()) x |= uint64_t{bytes[at]} << (8 * i);
        v = static_cast<T>(x);
    }
    void u8(uint8_t& v) { read(v); }
    void u16(uint16_t& v) { read(v); }
    void u32(uint32_t& v) { read(v); }
    void u64(uint64_t& v) { read(v); }
};

struct Writer {
    std::vector<uint8_t> bytes;
    template <class T>
    void write(T v) {
        for (size_t i = 0; i < sizeof(T); ++i)
            bytes.push_back(static_cast<uint8_t>(uint64_t{v} >> (8 * i)));
    }
    void u8(uint8_t& v) { write(v); }
    void u16(uint16_t& v) { write(v); }
    void u32(uint32_t& v) { write(v); }
    void u64(uint64_t& v) { write(v); }
};

} // namespace

ExecuteInput decode_execute_input(std::span<const uint8_t> bytes) {
    ExecuteInput in;
    Reader r{bytes};
    uint32_t code_size = 0;
    header_fields(r, in, code_size);
    in.budget = static_cast<uint8_t>(in.budget % 64 + 1);
    in.stop_when_valid &= 3;
    in.ports &= 3;
    in.event_kind %= 3;
    in.state.interruptibility &= 0xF;
    const size_t rest = bytes.size() > r.at ? bytes.size() - r.at : 0;
    const size_t code = std::min<size_t>(code_size, rest);
    in.code = bytes.subspan(bytes.size() - rest, code);
    in.data = bytes.subspan(bytes.size() - rest + code);
    return in;
}

std::vector<uint8_t> encode_execute_input(const ExecuteInput& input) {
    ExecuteInput in = input;
    in.budget = static_cast<uint8_t>(in.budget - 1);
    Writer w;
    auto code_size = static_cast<uint32_t>(in.code.size());
    header_fields(w, in, code_size);
    w.bytes.insert(w.bytes.end(), in.code.begin(), in.code.end());
    w.bytes.insert(w.bytes.end(), in.data.begin(), in.data.end());
    return w.bytes;
}

} // namespace transit86::fuzz
