// machine_files: the RTC base a command line gives (--rtc-base, QEMU's -rtc base=) reaches the
// CMOS clock; bad dates are refused with one line.
#include "pc/machine_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace transit86::pc {
namespace {

bool same(const RtcDateTime& a, const RtcDateTime& b) {
    return a.year == b.year && a.month == b.month && a.day == b.day && a.hour == b.hour &&
           a.minute == b.minute && a.second == b.second;
}

TEST(ParseRtcBase, DateAndDateWithTime) {
    std::string error;
    const std::optional<RtcDateTime> date = parse_rtc_base("2024-02-29", error);
    ASSERT_TRUE(date) << error;
    EXPECT_TRUE(same(*date, {2024, 2, 29, 0, 0, 0}));
    const std::optional<RtcDateTime> full = parse_rtc_base("1999-12-31T23:59:58", error);
    ASSERT_TRUE(full) << error;
    EXPECT_TRUE(same(*full, {1999, 12, 31, 23, 59, 58}));
}

TEST(ParseRtcBase, NowIsTheHostsUtcTime) {
    std::string error;
    const std::optional<RtcDateTime> now = parse_rtc_base("now", error);
    ASSERT_TRUE(now) << error;
    EXPECT_GE(now->year, 2024);
    EXPECT_LE(now->year, 2099);
}

TEST(ParseRtcBase, MalformedOrImpossibleDatesAreRefused) {
    for (const char* text : {"", "2024-2-29", "2024-02-29 12:00:00", "2024-02-29T12:00",
                             "2024-02-29T12:00:00Z", "tomorrow", "2024/02/29"}) {
        std::string error;
        EXPECT_FALSE(parse_rtc_base(text, error)) << text;
        EXPECT_NE(error.find("is not now, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"), std::string::npos)
            << error;
    }
    for (const char* text : {"2023-02-29", "2024-13-01", "2024-04-31", "1979-12-31", "2100-01-01",
                             "2024-01-01T24:00:00", "2024-01-01T00:60:00"}) {
        std::string error;
        EXPECT_FALSE(parse_rtc_base(text, error)) << text;
        EXPECT_NE(error.find("is no date and time from 1980 to 2099"), std::string::npos) << error;
    }
}

// The machine's CMOS clock starts at the base (registers in BCD, the RTC's power-on mode); a
// bad base is refused before any file is read.
TEST(ReadMachineFiles, RtcBaseReachesTheCmosClock) {
    const std::string bios_path = (std::filesystem::temp_directory_path() /
                                   ("transit86-rtc-bios-" + std::to_string(::getpid())))
                                      .string();
    std::ofstream(bios_path, std::ios::binary) << std::string(64 * 1024, '\xF4');
    MachineFiles files;
    files.bios = bios_path;
    files.rtc_base = "2031-07-04T05:06:07";
    PcPlatform platform(read_machine_files(files));
    std::remove(bios_path.c_str());
    const auto cmos = [&](uint8_t index) {
        PortAccess select{.port = 0x70, .size = 1, .is_in = false, .data = index};
        platform.access(select);
        PortAccess read{.port = 0x71, .size = 1, .is_in = true};
        platform.access(read);
        return read.data;
    };
    EXPECT_EQ(cmos(0x09), 0x31u); // year
    EXPECT_EQ(cmos(0x08), 0x07u); // month
    EXPECT_EQ(cmos(0x07), 0x04u); // day
    EXPECT_EQ(cmos(0x04), 0x05u); // hour
    EXPECT_EQ(cmos(0x02), 0x06u); // minute
    EXPECT_EQ(cmos(0x32), 0x20u); // century
    files.rtc_base = "2031-02-30";
    try {
        (void)read_machine_files(files);
        ADD_FAILURE() << "a bad --rtc-base was accepted";
    } catch (const MachineFileError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--rtc-base: \"2031-02-30\" is no date and time from 1980 to 2099");
    }
}

} // namespace
} // namespace transit86::pc
