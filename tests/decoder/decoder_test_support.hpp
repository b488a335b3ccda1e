// Shared helpers for the decoder tests: the fetch modes and one-line decode calls.
#pragma once

#include "decoder/decoder.hpp"
#include "transit86/cpu_state.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace transit86::decoder {

// Readable gtest failure messages for the enums.
inline void PrintTo(Op op, std::ostream* os) {
    *os << op_name(op);
}
inline void PrintTo(DecodeStatus status, std::ostream* os) {
    *os << status_name(status);
}
inline void PrintTo(OperandKind kind, std::ostream* os) {
    static constexpr const char* kNames[] = {"none", "reg", "sreg", "creg",  "dreg",
                                             "mem",  "imm", "rel",  "farptr"};
    *os << kNames[static_cast<int>(kind)];
}

} // namespace transit86::decoder

namespace transit86::decoder::test {

//                                   protected_mode, code32, v86
inline constexpr FetchMode kReal16{false, false, false};
inline constexpr FetchMode kProt16{true, false, false};
inline constexpr FetchMode kProt32{true, true, false};
inline constexpr FetchMode kBigReal{false, true, false}; // real mode, CS.D = 1
inline constexpr FetchMode kV86{true, false, true};

inline uint8_t seg(Seg s) {
    return static_cast<uint8_t>(s);
}
inline uint8_t gpr(Gpr r) {
    return static_cast<uint8_t>(r);
}

inline DecodeStatus status_of(FetchMode mode, std::initializer_list<uint8_t> bytes) {
    const std::vector<uint8_t> buffer(bytes);
    Insn insn;
    return decode(buffer.data(), buffer.size(), mode, insn);
}

// Decodes `bytes`, failing the test unless the status is Ok.
inline Insn decode_ok(FetchMode mode, std::initializer_list<uint8_t> bytes) {
    const std::vector<uint8_t> buffer(bytes);
    Insn insn;
    const DecodeStatus status = decode(buffer.data(), buffer.size(), mode, insn);
    EXPECT_EQ(status, DecodeStatus::Ok) << status_name(status);
    return insn;
}

inline std::string text_of(FetchMode mode, std::initializer_list<uint8_t> bytes, uint32_t ip = 0) {
    const std::vector<uint8_t> buffer(bytes);
    return disassemble(buffer.data(), buffer.size(), mode, ip);
}

} // namespace transit86::decoder::test
