// The text screen a PC without a VGA device shows nowhere: the 80 x 25 character cells of the
// colour text buffer at guest-physical 0xB8000 (a character byte, then an attribute byte: the
// VGA's text mode, CGA's layout; IBM VGA Technical Reference, "Alphanumeric Modes"), read as
// the RAM beneath holds them. Boot code that writes there directly (memtest86+ without
// console=ttyS0, Linux's vgacon, a boot sector) is seen through `transit86 boot --screen`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "transit86/emulator.hpp"

namespace transit86::tools {

inline constexpr uint64_t kTextBufferAddress = 0xB8000;
inline constexpr size_t kTextColumns = 80;
inline constexpr size_t kTextRows = 25;
inline constexpr size_t kTextBufferBytes = kTextColumns * kTextRows * 2;

// The screen's rows as UTF-8 text: characters as code page 437, the VGA's character set, draws
// them (box drawing included; a NUL is a blank, other control codes '.'), attributes left out,
// trailing blanks trimmed, blank rows below the last written one dropped. `cells` holds
// kTextBufferBytes bytes.
std::vector<std::string> text_screen_rows(std::span<const uint8_t> cells);

// The rows of the screen in `emulator`'s guest memory; nullopt where 0xB8000 is not RAM.
std::optional<std::vector<std::string>> read_text_screen(const Emulator& emulator);
// Those rows as "screen: ROW" lines (`transit86 boot --screen`, GDB's `monitor screen`), or one
// line saying the screen is blank or cannot be read.
std::string format_text_screen(const std::optional<std::vector<std::string>>& rows);

} // namespace transit86::tools
