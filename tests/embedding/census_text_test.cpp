// The census as text (include/transit86/census.hpp): the lines `transit86 boot` printed before
// the text moved into the library, byte for byte, so that examples/kvm-vmm and the CLI print
// the same census. The expected lines are from `transit86 boot --preset kvm` on Debian's
// SeaBIOS 1.16.2 (window 2 of its census: transition16big back to real mode); the grouping of
// repeated window shapes is the one tools/boot/census_report.cpp introduced in 980a948.
#include <gtest/gtest.h>

#include "transit86/census.hpp"

namespace transit86 {
namespace {

InstructionRef instruction(uint64_t index, const char* mode, uint16_t cs, uint32_t eip,
                           std::initializer_list<uint8_t> bytes, const char* text) {
    InstructionRef i;
    i.index = index;
    i.mode = mode;
    i.cs = cs;
    i.eip = eip;
    i.linear = uint64_t{cs} * 16 + eip;
    for (const uint8_t b : bytes)
        i.bytes[i.length++] = b;
    i.text = text;
    return i;
}

CensusWindow seabios_window_2() {
    CensusWindow w;
    w.number = 2;
    w.first = instruction(1523300, "R16", 0x0028, 0xd108, {0xea, 0x0d, 0xd1, 0x00, 0xf0},
                          "jmp far 0xf000:0xd10d");
    w.first.linear = 0x0fd108; // CS.base is the protected-mode one, not 16 * 0x28
    w.last = instruction(1523966, "R16", 0xf000, 0xd0b8, {0x0f, 0x22, 0xc1}, "mov cr0, ecx");
    w.length = 667;
    w.failing = {"rmode.cs.base", "rmode.cs.limit"};
    w.ended_by = "valid";
    return w;
}

TEST(CensusText, InstructionIsIndexModeAddressBytesAndText) {
    EXPECT_EQ(format_instruction(seabios_window_2().first),
              "#1523300 R16 0028:d108 0fd108  ea 0d d1 00 f0  jmp far 0xf000:0xd10d");
    // 32-bit code shows EIP with eight digits (GRUB's real_to_prot, a flat CS).
    InstructionRef grub = instruction(9, "P32", 0x0008, 0x82f5, {0x8e, 0xc0}, "mov es, ax");
    grub.linear = 0x82f5;
    EXPECT_EQ(format_instruction(grub), "#9 P32 0008:000082f5 0082f5  8e c0  mov es, ax");
}

TEST(CensusText, WindowIsFourLines) {
    EXPECT_EQ(format_window(seabios_window_2()),
              "== window 2: 667 instructions #1523300..#1523966, ended: valid\n"
              "   failing at start: rmode.cs.base, rmode.cs.limit\n"
              "   first #1523300 R16 0028:d108 0fd108  ea 0d d1 00 f0  jmp far 0xf000:0xd10d\n"
              "   last  #1523966 R16 f000:d0b8 0fd0b8  0f 22 c1  mov cr0, ecx\n");
    CensusWindow one = seabios_window_2();
    one.length = 1;
    EXPECT_NE(format_window(one).find(": 1 instruction #"), std::string::npos);
}

// A window with the first and last instruction and the failing checks of an earlier one is
// printed as one line naming it; a different window in full again.
TEST(CensusText, RepeatedShapeIsOneLineNamingItsFirstWindow) {
    CensusText text;
    const CensusWindow first = seabios_window_2();
    EXPECT_EQ(text.window(first), format_window(first));
    CensusWindow again = seabios_window_2();
    again.number = 5;
    again.first.index += 1000, again.last.index += 1000;
    again.length = 40; // the same shape whatever its length
    EXPECT_EQ(text.window(again),
              "== window 5: 40 instructions #1524300..#1524966, ended: valid (as window 2)\n");
    CensusWindow other = seabios_window_2();
    other.number = 6;
    other.failing = {"rmode.cs.base"};
    EXPECT_EQ(text.window(other), format_window(other));
    ASSERT_EQ(text.shapes().size(), 2u);
    EXPECT_EQ(text.shapes()[0].count, 2u);
    EXPECT_EQ(text.shapes()[0].instructions, 667u + 40u);
}

// The shape table: only when shapes repeat, more than one shape, most frequent first.
TEST(CensusText, ShapeTableListsShapesMostFrequentFirstOnlyWhenTheyRepeat) {
    CensusText text;
    CensusWindow rare = seabios_window_2();
    rare.failing = {"rmode.cs.base"};
    rare.number = 1;
    (void)text.window(rare);
    EXPECT_EQ(text.shape_table(), ""); // one window, one shape
    for (uint64_t n = 2; n <= 3; ++n) {
        CensusWindow w = seabios_window_2();
        w.number = n;
        (void)text.window(w);
    }
    EXPECT_EQ(text.shape_table(),
              "== 2 window shapes (same first and last instruction, same failing checks):\n"
              "        2 x as window 2            1334 instructions  000fd108 jmp far "
              "0xf000:0xd10d .. 000fd0b8 mov cr0, ecx\n"
              "        1 x as window 1             667 instructions  000fd108 jmp far "
              "0xf000:0xd10d .. 000fd0b8 mov cr0, ecx\n");
    CensusText all_different;
    (void)all_different.window(rare);
    (void)all_different.window(seabios_window_2());
    EXPECT_EQ(all_different.shape_table(), ""); // as many shapes as windows
}

TEST(CensusText, EndLineIsDetailInstructionsAndVirtualSeconds) {
    EXPECT_EQ(format_census_end("the guest powered off (ACPI S5)", 55'700'000, 1'234'567'890),
              "== end: the guest powered off (ACPI S5) after 55700000 instructions, 1.235 s of "
              "virtual time\n");
}

TEST(CensusText, SummaryCountsWindowsLongestAndBlockEngineShare) {
    EXPECT_EQ(format_census_summary(
                  WindowCensus(vmx::Profile::Kvm),
                  {.instructions = 0, .block_engine_instructions = 0, .wall_seconds = 0}),
              "== census (kvm): 0 windows, 0 instructions inside windows, longest -, 0 "
              "instructions (0.0% in the block engine), 0.00 s\n");
}

} // namespace
} // namespace transit86
