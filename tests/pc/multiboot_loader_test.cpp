// The multiboot route of -kernel (pc/multiboot_loader.hpp) against QEMU's hw/i386/multiboot.c
// layout: the buffer at the load address, the module records and strings in it, the MBI at
// 0x9500, and the kernels QEMU refuses. (Booted end to end: corpus chain multiboot_info, whose
// console equals QEMU's.)
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "pc/multiboot_loader.hpp"

namespace transit86::pc {
namespace {

uint32_t at32(const std::vector<uint8_t>& bytes, size_t offset) {
    uint32_t v = 0;
    std::memcpy(&v, bytes.data() + offset, 4);
    return v;
}
void put(std::vector<uint8_t>& bytes, size_t offset, uint32_t value) {
    std::memcpy(bytes.data() + offset, &value, 4);
}
std::string string_at(const FwCfgMultiboot& b, uint32_t address) {
    return std::string(reinterpret_cast<const char*>(b.image.data() + (address - b.load_addr)));
}

// A flat kernel with the a.out-kludge header at offset 0x40: loaded at 0x100000 from the
// header's place minus 0x40, 0x200 bytes from the file, bss to 0x100400, entered at 0x100080.
std::vector<uint8_t> aout_kernel() {
    std::vector<uint8_t> k(0x300, 0x90);
    const uint32_t flags = 0x00010003;
    put(k, 0x40, 0x1BADB002);
    put(k, 0x44, flags);
    put(k, 0x48, static_cast<uint32_t>(0u - (0x1BADB002u + flags)));
    put(k, 0x4C, 0x100040); // header_addr
    put(k, 0x50, 0x100000); // load_addr
    put(k, 0x54, 0x100200); // load_end_addr
    put(k, 0x58, 0x100400); // bss_end_addr
    put(k, 0x5C, 0x100080); // entry_addr
    return k;
}

TEST(Multiboot, HeaderIsFoundOnlyWithItsChecksum) {
    std::vector<uint8_t> k = aout_kernel();
    EXPECT_TRUE(has_multiboot_header(k));
    put(k, 0x48, 0);
    EXPECT_FALSE(has_multiboot_header(k));
}

TEST(Multiboot, AoutKludgeLayoutAndInformationAsQemu) {
    const FwCfgMultiboot b = load_multiboot(
        aout_kernel(), "k.bin", "a=1",
        {{"m1.txt x y", {'o', 'n', 'e'}}, {"m2.txt", {'t', 'w', 'o', '!'}}}, 128u << 20);
    EXPECT_EQ(b.load_addr, 0x100000u);
    EXPECT_EQ(b.entry, 0x100080u);
    EXPECT_EQ(b.image[0x1FF], 0x90) << "file bytes up to load_end";
    EXPECT_EQ(b.image[0x200], 0x00) << "bss zeroed";
    EXPECT_EQ(b.info_addr, 0x9500u);
    ASSERT_EQ(b.info.size(), 88u);
    EXPECT_EQ(at32(b.info, 0), 0x24Fu) << "memory, boot device, cmdline, mods, mmap, loader";
    EXPECT_EQ(at32(b.info, 4), 640u);
    EXPECT_EQ(at32(b.info, 8), (128u << 10) - 1024);
    EXPECT_EQ(at32(b.info, 12), 0x8000FFFFu);
    EXPECT_EQ(at32(b.info, 48), 0x9000u) << "the map the ROM builds from E820";
    EXPECT_EQ(string_at(b, at32(b.info, 16)), "k.bin a=1");
    EXPECT_EQ(string_at(b, at32(b.info, 64)), "qemu");
    ASSERT_EQ(at32(b.info, 20), 2u);
    const uint32_t records = at32(b.info, 24);
    EXPECT_EQ(records, 0x101000u) << "after the page-aligned kernel";
    const size_t r = records - b.load_addr;
    EXPECT_EQ(at32(b.image, r), 0x102000u) << "modules after the page-aligned strings";
    EXPECT_EQ(at32(b.image, r + 4), 0x102003u);
    EXPECT_EQ(string_at(b, at32(b.image, r + 8)), "m1.txt x y");
    EXPECT_EQ(at32(b.image, r + 16), 0x103000u);
    EXPECT_EQ(b.image[at32(b.image, r + 16) - b.load_addr + 3], '!');
    EXPECT_EQ(b.image.size(), 0x4000u);
}

// An ELF32 with one PT_LOAD: file bytes at p_paddr, zeros to p_memsz, entered at e_entry.
TEST(Multiboot, ElfSegmentsLoadAtTheirPhysicalAddresses) {
    std::vector<uint8_t> e(0x2000, 0);
    e[0] = 0x7F, e[1] = 'E', e[2] = 'L', e[3] = 'F', e[4] = 1, e[5] = 1;
    e[18] = 3;            // EM_386
    put(e, 24, 0x20000C); // e_entry
    put(e, 28, 52);       // e_phoff
    e[42] = 32, e[44] = 1;
    put(e, 52, 1);          // PT_LOAD
    put(e, 56, 0x1000);     // p_offset
    put(e, 60, 0xC0200000); // p_vaddr (ignored)
    put(e, 64, 0x200000);   // p_paddr
    put(e, 68, 0x100);      // p_filesz
    put(e, 72, 0x300);      // p_memsz
    const uint32_t flags = 0x3;
    put(e, 0x1000, 0x1BADB002);
    put(e, 0x1004, flags);
    put(e, 0x1008, static_cast<uint32_t>(0u - (0x1BADB002u + flags)));
    e[0x10FF] = 0xAB;
    const FwCfgMultiboot b = load_multiboot(e, "k.elf", "", {}, 64u << 20);
    EXPECT_EQ(b.load_addr, 0x200000u);
    EXPECT_EQ(b.entry, 0x20000Cu);
    EXPECT_EQ(b.image[0], 0x02) << "the header's flags byte, from the segment";
    EXPECT_EQ(b.image[0xFF], 0xAB);
    EXPECT_EQ(b.image[0x100], 0x00);
    EXPECT_EQ(string_at(b, at32(b.info, 16)), "k.elf ");
    EXPECT_EQ(at32(b.info, 20), 0u);

    std::vector<uint8_t> x86_64 = e;
    x86_64[4] = 2, x86_64[18] = 62;
    EXPECT_THROW(load_multiboot(x86_64, "k", "", {}, 64u << 20), std::invalid_argument);
}

TEST(Multiboot, KernelsQemuRefusesAreRefused) {
    std::vector<uint8_t> k = aout_kernel();
    put(k, 0x4C, 0x0FFFF0); // header_addr below load_addr
    EXPECT_THROW(load_multiboot(k, "k", "", {}, 64u << 20), std::invalid_argument);
    k = aout_kernel();
    put(k, 0x54, 0x100400); // load_end past the end of the file
    EXPECT_THROW(load_multiboot(k, "k", "", {}, 64u << 20), std::invalid_argument);
    k = aout_kernel();
    put(k, 0x58, 0x100100); // bss_end below the loaded image's end
    EXPECT_THROW(load_multiboot(k, "k", "", {}, 64u << 20), std::invalid_argument);
    k = aout_kernel();
    put(k, 0x50, 0x3FFF000), put(k, 0x4C, 0x3FFF040); // does not fit in 64 MiB
    EXPECT_THROW(load_multiboot(k, "k", "", {}, 64u << 20), std::invalid_argument);
    EXPECT_THROW(load_multiboot(std::vector<uint8_t>(100, 0), "k", "", {}, 64u << 20),
                 std::invalid_argument);
    k = aout_kernel();
    put(k, 0x58, 0xFFFFF000); // a 4 GiB bss: refused before anything is allocated
    EXPECT_THROW(load_multiboot(k, "k", "", {}, 64u << 20), std::invalid_argument);
}

// A kernel file is host input: mutated headers (address fields, ELF program headers, sizes)
// are loaded or refused with one line, never read or written outside their buffers (ASan in
// make test's second half).
TEST(Multiboot, MutatedKernelsAreLoadedOrRefusedNeverOverrun) {
    std::mt19937 random(86);
    const std::vector<uint8_t> aout = aout_kernel();
    std::vector<uint8_t> elf(0x1200, 0);
    elf[0] = 0x7F, elf[1] = 'E', elf[2] = 'L', elf[3] = 'F', elf[4] = 1, elf[18] = 3;
    put(elf, 28, 52), elf[42] = 32, elf[44] = 1, put(elf, 52, 1), put(elf, 56, 0x1000);
    put(elf, 64, 0x200000), put(elf, 68, 0x100), put(elf, 72, 0x300);
    put(elf, 0x1000, 0x1BADB002), put(elf, 0x1004, 0), put(elf, 0x1008, 0u - 0x1BADB002u);
    int loaded = 0, refused = 0;
    for (int i = 0; i < 4000; ++i) {
        std::vector<uint8_t> k = (i % 2) ? elf : aout;
        // Overwrite a few dwords among the headers with nearby or random values.
        for (int n = 0; n < 3; ++n) {
            const size_t at = (i % 2) ? (random() % 19) * 4 : 0x4C + (random() % 5) * 4;
            const uint32_t v = (random() % 2)
                                   ? static_cast<uint32_t>(random())
                                   : 0x100000u + static_cast<uint32_t>(random() % 0x3000);
            put(k, at, v);
        }
        if (random() % 4 == 0) k.resize(random() % k.size());
        try {
            const FwCfgMultiboot b = load_multiboot(k, "k", "", {{"m", {1, 2, 3}}}, 32u << 20);
            EXPECT_LE(uint64_t{b.load_addr} + b.image.size(), 32u << 20);
            ++loaded;
        } catch (const std::invalid_argument&) {
            ++refused;
        }
    }
    EXPECT_GT(loaded, 100);
    EXPECT_GT(refused, 100);
}

} // namespace
} // namespace transit86::pc
