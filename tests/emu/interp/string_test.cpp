// String instructions with and without REP/REPE/REPNE, at 16- and 32-bit address size and
// with DF = 1. SDM Vol. 2B MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS and REP/REPE/REPZ/REPNE/
// REPNZ: the source is DS:(E)SI (segment overridable), the destination ES:(E)DI; the
// address size picks SI/DI/CX or ESI/EDI/ECX; DF = 1 steps downwards.
#include <cstring>

#include "machine.hpp"

namespace transit86::test {

namespace {

void write_bytes(Machine& m, uint32_t address, const char* text) {
    for (size_t i = 0; i < std::strlen(text); ++i)
        m.write8(address + static_cast<uint32_t>(i), static_cast<uint8_t>(text[i]));
}

} // namespace

// ---- MOVS

TEST(Movs, ByteCopiesDsSiToEsDiAndAdvances) {
    Machine m;
    m.seg(Seg::ES).selector = 0x0100;
    m.seg(Seg::ES).base = 0x1000;
    m.load_code({0xA4}); // movsb
    m.gpr(Gpr::ESI) = 0x2000;
    m.gpr(Gpr::EDI) = 0x2000;
    m.write8(0x2000, 0x5A);
    m.run(1);
    EXPECT_EQ(m.read8(0x3000), 0x5A);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2001u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2001u);
}

TEST(Movs, RepWordCopiesCxWordsInOneInstruction) {
    Machine m;
    m.load_code({0xF3, 0xA5}); // rep movsw
    m.gpr(Gpr::ECX) = 3;
    m.gpr(Gpr::ESI) = 0x2000;
    m.gpr(Gpr::EDI) = 0x3000;
    m.write32(0x2000, 0x44332211);
    m.write32(0x2004, 0x88776655);
    const Exit e = m.run(1);
    EXPECT_EQ(e.instructions, 1u);
    EXPECT_EQ(m.read32(0x3000), 0x44332211u);
    EXPECT_EQ(m.read32(0x3004), 0x00006655u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2006u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x3006u);
    EXPECT_EQ(m.eip(), kCode + 2);
}

TEST(Movs, RepDwordWithThirtyTwoBitAddressing) {
    Machine m(Mode::Protected32);
    m.load_code({0xF3, 0xA5}); // rep movsd
    m.gpr(Gpr::ECX) = 2;
    m.gpr(Gpr::ESI) = 0x12000;
    m.gpr(Gpr::EDI) = 0x13000;
    m.write32(0x12000, 0xAAAAAAAA);
    m.write32(0x12004, 0xBBBBBBBB);
    m.run(1);
    EXPECT_EQ(m.read32(0x13000), 0xAAAAAAAAu);
    EXPECT_EQ(m.read32(0x13004), 0xBBBBBBBBu);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x12008u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x13008u);
}

TEST(Movs, RepByteWithDirectionFlagCopiesDownwards) {
    Machine m;
    m.load_code({0xF3, 0xA4}); // rep movsb
    m.state().eflags |= flags::DF;
    m.gpr(Gpr::ECX) = 3;
    m.gpr(Gpr::ESI) = 0x2002;
    m.gpr(Gpr::EDI) = 0x3002;
    write_bytes(m, 0x2000, "xyz");
    m.run(1);
    EXPECT_EQ(m.read8(0x3000), 'x');
    EXPECT_EQ(m.read8(0x3001), 'y');
    EXPECT_EQ(m.read8(0x3002), 'z');
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x1FFFu);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2FFFu);
}

TEST(Movs, SixteenBitAddressSizeWrapsSiAndKeepsEsiUpperHalf) {
    Machine m;
    m.load_code({0xA4}); // movsb
    m.gpr(Gpr::ESI) = 0x1234FFFF;
    m.gpr(Gpr::EDI) = 0x3000;
    m.write8(0xFFFF, 0x77);
    m.run(1);
    EXPECT_EQ(m.read8(0x3000), 0x77);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x12340000u);
}

TEST(Movs, AddressSize32InRealModeStepsEsiEdi) {
    Machine m;
    m.load_code({0x67, 0xA4}); // a32 movsb
    m.gpr(Gpr::ESI) = 0x0000FFFF;
    m.gpr(Gpr::EDI) = 0x3000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x00010000u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x3001u);
}

TEST(Movs, SegmentOverrideAppliesToTheSourceOnly) {
    Machine m;
    m.seg(Seg::ES).selector = 0x0300;
    m.seg(Seg::ES).base = 0x3000;
    m.load_code({0x26, 0xA4}); // es movsb
    m.gpr(Gpr::ESI) = 0x0100;
    m.gpr(Gpr::EDI) = 0x0200;
    m.write8(0x0100, 0x11); // DS:0100
    m.write8(0x3100, 0x22); // ES:0100
    m.run(1);
    EXPECT_EQ(m.read8(0x3200), 0x22);
}

// ---- STOS / LODS

TEST(Stos, RepByteFillsCxBytesWithAl) {
    Machine m;
    m.load_code({0xF3, 0xAA}); // rep stosb
    m.gpr(Gpr::EAX) = 0xAB;
    m.gpr(Gpr::ECX) = 4;
    m.gpr(Gpr::EDI) = 0x2000;
    m.run(1);
    EXPECT_EQ(m.read32(0x2000), 0xABABABABu);
    EXPECT_EQ(m.read8(0x2004), 0x00);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2004u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
}

TEST(Stos, DwordInProtectedMode) {
    Machine m(Mode::Protected32);
    m.load_code({0xAB}); // stosd
    m.gpr(Gpr::EAX) = 0xCAFEBABE;
    m.gpr(Gpr::EDI) = 0x2000;
    m.run(1);
    EXPECT_EQ(m.read32(0x2000), 0xCAFEBABEu);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2004u);
}

TEST(Lods, ByteLoadsAlAndAdvances) {
    Machine m;
    m.load_code({0xAC}); // lodsb
    m.gpr(Gpr::EAX) = 0xFFFFFFFF;
    m.gpr(Gpr::ESI) = 0x2000;
    m.write8(0x2000, 0x42);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xFFFFFF42u);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2001u);
}

TEST(Lods, WordWithDirectionFlagStepsDownByTwo) {
    Machine m;
    m.load_code({0xAD}); // lodsw
    m.state().eflags |= flags::DF;
    m.gpr(Gpr::ESI) = 0x2000;
    m.write16(0x2000, 0xBEEF);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EAX), 0xBEEFu);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x1FFEu);
}

// ---- CMPS / SCAS: flags of source minus destination (CMPS), accumulator minus ES:DI (SCAS)

TEST(Cmps, ByteFlagsOfSourceMinusDestination) {
    Machine m;
    m.load_code({0xA6}); // cmpsb
    m.gpr(Gpr::ESI) = 0x2000;
    m.gpr(Gpr::EDI) = 0x3000;
    m.write8(0x2000, 0x01);
    m.write8(0x3000, 0x02);
    m.run(1);
    EXPECT_TRUE(status_flags_are(m.state().eflags, flags::CF | flags::PF | flags::AF | flags::SF));
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2001u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x3001u);
}

TEST(Cmps, RepeStopsAfterTheFirstDifference) {
    Machine m;
    m.load_code({0xF3, 0xA6}); // repe cmpsb
    m.gpr(Gpr::ECX) = 10;
    m.gpr(Gpr::ESI) = 0x2000;
    m.gpr(Gpr::EDI) = 0x3000;
    write_bytes(m, 0x2000, "abcX");
    write_bytes(m, 0x3000, "abcY");
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 6u);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2004u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x3004u);
    // 'X' - 'Y' = 0xFF
    EXPECT_TRUE(status_flags_are(m.state().eflags, flags::CF | flags::PF | flags::AF | flags::SF));
}

TEST(Cmps, RepeWithAllEqualRunsOutTheCount) {
    Machine m;
    m.load_code({0xF3, 0xA6}); // repe cmpsb
    m.gpr(Gpr::ECX) = 3;
    m.gpr(Gpr::ESI) = 0x2000;
    m.gpr(Gpr::EDI) = 0x3000;
    write_bytes(m, 0x2000, "abc");
    write_bytes(m, 0x3000, "abc");
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, flags::ZF | flags::PF));
}

TEST(Scas, RepneStopsAtTheMatch) {
    Machine m;
    m.load_code({0xF2, 0xAE}); // repne scasb
    m.gpr(Gpr::EAX) = 'c';
    m.gpr(Gpr::ECX) = 10;
    m.gpr(Gpr::EDI) = 0x2000;
    write_bytes(m, 0x2000, "abcd");
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 7u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2003u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, flags::ZF | flags::PF));
}

TEST(Scas, RepeWordStopsAtTheFirstMismatch) {
    Machine m;
    m.load_code({0xF3, 0xAF}); // repe scasw
    m.gpr(Gpr::EAX) = 0x1111;
    m.gpr(Gpr::ECX) = 5;
    m.gpr(Gpr::EDI) = 0x2000;
    m.write16(0x2000, 0x1111);
    m.write16(0x2002, 0x1111);
    m.write16(0x2004, 0x2222);
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::ECX), 2u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2006u);
    EXPECT_FALSE(m.state().eflags & flags::ZF);
}

// ---- REP edge cases

TEST(Rep, CountZeroDoesNothing) {
    // SDM REP: with a zero count the string instruction is not executed at all, so SCAS
    // leaves the flags as they were.
    Machine m;
    m.load_code({0xF2, 0xAE}); // repne scasb
    m.state().eflags |= flags::CF | flags::OF;
    m.gpr(Gpr::ECX) = 0xFFFF0000; // CX = 0
    m.gpr(Gpr::EDI) = 0x2000;
    m.run(1);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2000u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0xFFFF0000u);
    EXPECT_TRUE(status_flags_are(m.state().eflags, flags::CF | flags::OF));
    EXPECT_EQ(m.eip(), kCode + 2);
}

TEST(Rep, LongMovsStopsEvery1024IterationsAndRepeatsOverlappingBytes) {
    // KVM's emulator re-enters the guest when the count's low 10 bits reach zero (exec_string.cpp):
    // 3000 = 952 + 1024 + 1024, each chunk a restart at the same EIP. The destination one byte
    // above the source copies the first byte on and on, as the iterations do one by one (SDM
    // MOVS: each element is read, then written).
    Machine m;
    m.load_code({0xF3, 0xA4}); // rep movsb
    for (uint32_t i = 0; i < 3100; ++i)
        m.write8(0x2000 + i, static_cast<uint8_t>(i * 13 + 1));
    m.write8(0x2000, 0xA5);
    m.gpr(Gpr::ECX) = 3000;
    m.gpr(Gpr::ESI) = 0x2000;
    m.gpr(Gpr::EDI) = 0x2001;
    const Exit first = m.run(1); // the first chunk spends the budget
    EXPECT_EQ(first.instructions, 0u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 2048u);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2000u + 952);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2001u + 952);
    EXPECT_EQ(m.eip(), kCode);
    EXPECT_EQ(m.read8(0x2001 + 951), 0xA5);
    EXPECT_EQ(m.read8(0x2001 + 952), static_cast<uint8_t>(953 * 13 + 1));
    const Exit rest = m.run(2); // two more chunks: a restart, then the last one retires
    EXPECT_EQ(rest.instructions, 1u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2000u + 3000);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2001u + 3000);
    EXPECT_EQ(m.eip(), kCode + 2);
    for (uint32_t i = 0; i <= 3000; ++i)
        ASSERT_EQ(m.read8(0x2000 + i), 0xA5) << i;
    EXPECT_EQ(m.read8(0x2000 + 3001), static_cast<uint8_t>(3001 * 13 + 1));
}

TEST(Rep, FaultMidwayKeepsTheCompletedIterations) {
    // SDM REP: a repeated string operation suspended by an exception keeps its register
    // state so that it resumes; EIP stays at the instruction.
    Machine m(Mode::Protected32);
    m.seg(Seg::ES) = segment_cache(kData16, 0, 0xFFFF, 0x0093);
    m.load_code({0xF3, 0xAA}); // rep stosb
    m.gpr(Gpr::EAX) = 0x5A;
    m.gpr(Gpr::ECX) = 4;
    m.gpr(Gpr::EDI) = 0xFFFE;
    const Exit e = m.run(1);
    EXPECT_TRUE(is_exception(e, vec::kGP, 0));
    EXPECT_EQ(m.gpr(Gpr::ECX), 2u);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x10000u);
    EXPECT_EQ(m.eip(), kCode);
    EXPECT_EQ(m.read16(0xFFFE), 0x5A5A);
    EXPECT_EQ(m.read8(0x10000), 0x00);
}

// ---- INS / OUTS

TEST(Outs, RepByteSendsEachByteToDx) {
    RecordingPorts ports;
    Machine m(Mode::Real, &ports);
    m.load_code({0xF3, 0x6E}); // rep outsb
    m.gpr(Gpr::EDX) = 0x3F8;
    m.gpr(Gpr::ECX) = 3;
    m.gpr(Gpr::ESI) = 0x2000;
    write_bytes(m, 0x2000, "hi!");
    m.run(1);
    ASSERT_EQ(ports.log.size(), 3u);
    EXPECT_EQ(ports.log[0].data, uint32_t{'h'});
    EXPECT_EQ(ports.log[1].data, uint32_t{'i'});
    EXPECT_EQ(ports.log[2].data, uint32_t{'!'});
    EXPECT_EQ(ports.log[2].port, 0x3F8);
    EXPECT_EQ(m.gpr(Gpr::ESI), 0x2003u);
    EXPECT_EQ(m.gpr(Gpr::ECX), 0u);
}

TEST(Ins, RepByteStoresEachPortReadAtEsDi) {
    RecordingPorts ports;
    ports.in_value = 0x41;
    Machine m(Mode::Real, &ports);
    m.load_code({0xF3, 0x6C}); // rep insb
    m.gpr(Gpr::EDX) = 0x60;
    m.gpr(Gpr::ECX) = 2;
    m.gpr(Gpr::EDI) = 0x2000;
    m.run(1);
    EXPECT_EQ(m.read16(0x2000), 0x4141);
    EXPECT_EQ(m.read8(0x2002), 0x00);
    EXPECT_EQ(m.gpr(Gpr::EDI), 0x2002u);
    EXPECT_EQ(ports.log.size(), 2u);
}

} // namespace transit86::test
