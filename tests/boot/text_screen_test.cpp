// `transit86 boot --screen` (tools/formats/text_screen.hpp): the text screen's rows from the
// character cells at 0xB8000, and on firmware written here, what the guest wrote there.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "tests/boot/handmade_bios.hpp"
#include "tools/boot/boot_machine.hpp"
#include "tools/formats/text_screen.hpp"

namespace transit86::tools {
namespace {

using Cells = std::array<uint8_t, kTextBufferBytes>;

void put(Cells& cells, size_t row, size_t column, std::initializer_list<uint8_t> characters) {
    for (const uint8_t c : characters) {
        cells[(row * kTextColumns + column) * 2] = c;
        cells[(row * kTextColumns + column) * 2 + 1] = 0x1F; // attributes are left out
        ++column;
    }
}

// Code page 437 as the VGA draws it (box drawing, shades), NUL a blank and other control
// codes '.', trailing blanks trimmed, blank rows kept between written ones and dropped below.
TEST(TextScreen, RowsAreCodePage437TextTrimmed) {
    Cells cells{};
    put(cells, 0, 0, {'A', 0xC9, 0xCD, 0xBB, ' ', 0xB0, ' ', ' '});
    put(cells, 2, 3, {'x', 0x00, 'y', 0x01});
    put(cells, 24, 79, {'z'});
    const std::vector<std::string> rows = text_screen_rows(cells);
    ASSERT_EQ(rows.size(), 25u);
    EXPECT_EQ(rows[0], "A\u2554\u2550\u2557 \u2591");
    EXPECT_EQ(rows[1], "");
    EXPECT_EQ(rows[2], "   x y.");
    EXPECT_EQ(rows[24], std::string(79, ' ') + "z");
    put(cells, 24, 79, {' '});
    EXPECT_EQ(text_screen_rows(cells).size(), 3u);
    EXPECT_TRUE(text_screen_rows(Cells{}).empty());
}

// A BIOS that writes "OK" into the colour text buffer (B800:0000) and halts: the screen shows
// it, read from the machine's RAM as --screen reads it.
TEST(TextScreen, WhatTheGuestWroteAt0xB8000) {
    const std::vector<uint8_t> code = {
        0xB8, 0x00, 0xB8,                         // E000 mov ax, 0xb800
        0x8E, 0xC0,                               // E003 mov es, ax
        0x26, 0xC7, 0x06, 0x00, 0x00, 0x4F, 0x07, // E005 mov word es:[0], 0x074f ('O')
        0x26, 0xC7, 0x06, 0x02, 0x00, 0x4B, 0x07, // E00C mov word es:[2], 0x074b ('K')
        0xFA, 0xF4};                              // E013 cli; hlt
    pc::PcConfig config;
    config.bios = testing::handmade_bios(code);
    BootMachine machine(std::move(config), ResetPreset::Kvm, vmx::Profile::Kvm);
    BootLimits limits;
    limits.budget = 1000;
    EXPECT_EQ(machine.run(limits).kind, BootEnd::Kind::Halted);
    Cells cells{};
    ASSERT_TRUE(machine.emulator().read_physical(kTextBufferAddress, cells.data(), cells.size()));
    EXPECT_EQ(text_screen_rows(cells), std::vector<std::string>{"OK"});
}

} // namespace
} // namespace transit86::tools
