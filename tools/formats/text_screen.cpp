#include "tools/formats/text_screen.hpp"

#include <fmt/format.h>
#include <iconv.h>

#include <array>

namespace transit86::tools {

namespace {

// Code page 437 to UTF-8 through the C library's iconv, built once; where the library has no
// CP437 converter, the characters above 0x7F are '?'.
class Cp437 {
  public:
    Cp437() {
        iconv_t cd = iconv_open("UTF-8", "CP437");
        for (size_t c = 0; c < 256; ++c) {
            if (c < 0x20 || c == 0x7F) {
                utf8_[c] = c == 0 ? " " : ".";
                continue;
            }
            if (c < 0x7F || cd == reinterpret_cast<iconv_t>(-1)) {
                utf8_[c] = c < 0x7F ? std::string(1, static_cast<char>(c)) : "?";
                continue;
            }
            char in = static_cast<char>(c);
            std::array<char, 8> out{};
            char* in_at = &in;
            char* out_at = out.data();
            size_t in_left = 1, out_left = out.size();
            iconv(cd, nullptr, nullptr, nullptr, nullptr); // the initial shift state
            const bool ok =
                iconv(cd, &in_at, &in_left, &out_at, &out_left) != static_cast<size_t>(-1);
            utf8_[c] = ok ? std::string(out.data(), out.size() - out_left) : "?";
        }
        if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
    }
    const std::string& operator[](uint8_t c) const { return utf8_[c]; }

  private:
    std::array<std::string, 256> utf8_;
};

} // namespace

std::vector<std::string> text_screen_rows(std::span<const uint8_t> cells) {
    static const Cp437 cp437;
    std::vector<std::string> rows;
    size_t written_rows = 0;
    for (size_t row = 0; row < kTextRows && (row + 1) * kTextColumns * 2 <= cells.size(); ++row) {
        std::string text;
        size_t written_length = 0;
        for (size_t column = 0; column < kTextColumns; ++column) {
            const uint8_t c = cells[(row * kTextColumns + column) * 2];
            text += cp437[c];
            if (c != 0 && c != ' ') written_length = text.size();
        }
        text.resize(written_length);
        if (!text.empty()) written_rows = row + 1;
        rows.push_back(std::move(text));
    }
    rows.resize(written_rows);
    return rows;
}

std::optional<std::vector<std::string>> read_text_screen(const Emulator& emulator) {
    std::array<uint8_t, kTextBufferBytes> cells{};
    if (!emulator.read_physical(kTextBufferAddress, cells.data(), cells.size()))
        return std::nullopt;
    return text_screen_rows(cells);
}

std::string format_text_screen(const std::optional<std::vector<std::string>>& rows) {
    if (!rows)
        return fmt::format("screen: (the text buffer at {:#x} is not RAM)\n", kTextBufferAddress);
    if (rows->empty())
        return fmt::format("screen: (blank: nothing was written to the text buffer at {:#x})\n",
                           kTextBufferAddress);
    std::string out;
    for (const std::string& row : *rows)
        out += fmt::format("screen:{}{}\n", row.empty() ? "" : " ", row);
    return out;
}

} // namespace transit86::tools
