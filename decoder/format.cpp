// Intel-syntax text for diagnostics and traces, via ZydisFormatter.
#include "decoder/decoder.hpp"

#include "decoder/zydis_lowering.hpp"

#include <algorithm>
#include <cstring>

namespace transit86::decoder {
namespace {

ZydisFormatter make_formatter() {
    ZydisFormatter formatter{};
    ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_INTEL);
    ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
    // With automatic padding Zydis also truncates absolute addresses to the *stack* width,
    // which turns "66 E9 rel32" in 16-bit code into a 16-bit target. Without padding the
    // branch target is masked to the branch's operand size only when that is 16 bits.
    ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE,
                              ZYDIS_PADDING_DISABLED);
    return formatter;
}

const ZydisFormatter& formatter() {
    static const ZydisFormatter instance = make_formatter();
    return instance;
}

size_t write_bad(char* buffer, size_t buffer_size) {
    static constexpr char kBad[] = "(bad)";
    const size_t n = std::min(buffer_size - 1, sizeof(kBad) - 1);
    std::memcpy(buffer, kBad, n);
    buffer[n] = '\0';
    return 0;
}

} // namespace

size_t format_intel(const uint8_t* bytes, size_t available, FetchMode mode,
                    uint32_t runtime_address, char* buffer, size_t buffer_size) noexcept {
    if (buffer == nullptr || buffer_size == 0) return 0;
    if (bytes == nullptr || available == 0) return write_bad(buffer, buffer_size);

    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zops[ZYDIS_MAX_OPERAND_COUNT];
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(&detail::zydis_decoder_for(mode), bytes, available, &zi,
                                           zops))) {
        return write_bad(buffer, buffer_size);
    }
    if (ZYAN_FAILED(ZydisFormatterFormatInstruction(&formatter(), &zi, zops,
                                                    zi.operand_count_visible, buffer, buffer_size,
                                                    runtime_address, nullptr))) {
        return write_bad(buffer, buffer_size);
    }
    return std::strlen(buffer);
}

std::string disassemble(const uint8_t* bytes, size_t available, FetchMode mode,
                        uint32_t runtime_address) {
    char text[256];
    format_intel(bytes, available, mode, runtime_address, text, sizeof(text));
    return text;
}

} // namespace transit86::decoder
