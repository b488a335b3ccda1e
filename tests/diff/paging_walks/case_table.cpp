// Drawing a paging-walk case from its seed (case_table.hpp). Every value a paging structure, the
// scratch fill or a data write can hold is "entry-like": its frame names one of the eight scratch
// pages (or, as a large page, the block holding two of them), so whatever a walk reads — the
// generator's entries, the fill, a write that landed in a page table — leads back into scratch,
// and both implementations stay inside the same RAM. Reserved bits appear only where the
// generator puts them, and the cases that may hit a known QEMU deviation name its rule.
#include "diff/paging_walks/case_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "diff/rng.hpp"

namespace transit86::diff::paging {

namespace {

constexpr uint64_t P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, A = 32, D = 64, PS = 128, G = 256;
constexpr uint64_t XD = uint64_t{1} << 63;

constexpr const char* kRuleMaxPhyAddr = "qemu-maxphyaddr-40";
constexpr const char* kRulePdpte = "unicorn-no-pdpte-check";

struct Builder {
    Rng rng;
    Case c;
    std::map<uint32_t, uint64_t> written; // physical address -> value
    struct Region {
        uint32_t linear = 0; // of its page j = 0
        uint32_t entry = 0;  // PDE address
        uint32_t table = 0;  // page table (scratch page) when the PDE maps one, else 0
        bool large_or_absent = false;
    };
    std::vector<Region> regions;

    explicit Builder(uint64_t seed) : rng(seed) {}

    unsigned entry_size() const { return c.pae() ? 8 : 4; }

    void add_rule(const char* rule) {
        if (std::find(c.rules.begin(), c.rules.end(), rule) == c.rules.end())
            c.rules.push_back(rule);
    }

    // An entry the case writes: at the start (before paging) or by an Edit op later.
    void write_entry(uint32_t address, uint64_t value, bool initial) {
        if (written.count(address) == 0) {
            if (c.watch.size() >= kMaxWatch || (initial && c.entries.size() >= kMaxEntries)) return;
            c.watch.push_back(address);
        }
        written[address] = value;
        if (!initial) return;
        const auto it = std::find_if(c.entries.begin(), c.entries.end(),
                                     [&](const Entry& e) { return e.address == address; });
        if (it != c.entries.end())
            it->value = value;
        else
            c.entries.push_back(Entry{address, value});
    }

    void watch_only(uint32_t address) {
        if (written.count(address) != 0 || c.watch.size() >= kMaxWatch ||
            std::find(c.watch.begin(), c.watch.end(), address) != c.watch.end())
            return;
        c.watch.push_back(address);
    }

    uint32_t random_scratch() { return scratch_page(rng.below(kScratchPages)); }

    // Bits every entry may carry: present (mostly), rights, caching, A, avail.
    uint64_t common_flags() {
        uint64_t v = rng.chance(88) ? P : 0;
        if (rng.chance(70)) v |= RW;
        if (rng.chance(70)) v |= US;
        if (rng.chance(20)) v |= PWT;
        if (rng.chance(20)) v |= PCD;
        if (rng.chance(50)) v |= A;
        v |= uint64_t{rng.below(8)} << 9; // ignored bits 11:9
        return v;
    }
    uint64_t xd_bit() { return c.pae() && rng.chance(25) ? XD : 0; }

    // Reserved bits of a PAE entry: 39:36 differ (QEMU has 40 address bits, transit86 36),
    // 51:40 are reserved in both.
    uint64_t pae_reserved(bool allow_deviation) {
        if (!c.pae() || !rng.chance(6)) return 0;
        if (allow_deviation && rng.chance(25)) {
            add_rule(kRuleMaxPhyAddr);
            return uint64_t{1} << rng.range(36, 39);
        }
        return uint64_t{1} << rng.range(40, 51);
    }

    uint64_t leaf_4k() {
        uint64_t v = random_scratch() | common_flags() | xd_bit() | pae_reserved(true);
        if (rng.chance(50)) v |= D;
        if (rng.chance(15)) v |= PS; // PAT in a PTE
        if (rng.chance(25)) v |= G;
        return v;
    }
    uint64_t large_page() {
        uint64_t v = (uint64_t{4 + rng.below(4)} << 22) | PS | common_flags() | xd_bit();
        if (rng.chance(50)) v |= D;
        if (rng.chance(25)) v |= G;
        if (rng.chance(10)) v |= 1u << 12; // PAT of a large page
        if (rng.chance(5)) {
            // Bits 20:13 of a 4-MByte PDE are PSE-36 address bits to QEMU, reserved to
            // transit86 (no PSE-36); bit 21 and a 2-MByte PDE's 20:13 are reserved to both.
            const unsigned bit = rng.range(13, 21);
            if (c.mode == PagingMode::Bits32Pse && bit <= 20) add_rule(kRuleMaxPhyAddr);
            v |= uint64_t{1} << bit;
        }
        return v | pae_reserved(true);
    }
    uint64_t directory_entry(uint32_t table) {
        uint64_t v = table | common_flags() | xd_bit() | pae_reserved(true);
        if (c.mode == PagingMode::Bits32 && rng.chance(20)) v |= PS; // ignored without CR4.PSE
        if (rng.chance(20)) v |= D | G;                              // ignored in a PDE
        return v;
    }
    uint64_t pdpte(uint32_t directory) {
        uint64_t v = directory | (rng.chance(96) ? P : 0);
        if (rng.chance(15)) v |= PWT;
        if (rng.chance(15)) v |= PCD;
        if ((v & P) && rng.chance(2)) {
            // QEMU has no PDPTE registers: no #GP at MOV to CR3/CR0, a #PF at the walk instead.
            static constexpr std::array<unsigned, 8> kReserved = {1, 2, 5, 6, 7, 8, 40, 63};
            v |= uint64_t{1} << kReserved[rng.below(kReserved.size())];
            add_rule(kRulePdpte);
        }
        return v;
    }

    void build_regions() {
        const unsigned count = rng.range(2, 4);
        std::array<uint32_t, 4> directory_of{kPaePd0, 0, 0, 0};
        while (regions.size() < count) {
            Region r;
            uint32_t directory = kPd32, index = 0;
            if (c.pae()) {
                const uint32_t p = rng.below(4), d = rng.below(512);
                if (p == 0 && d == 0) continue;
                if (directory_of[p] == 0) {
                    directory_of[p] = rng.chance(85) ? kPaePd0 + p * 0x1000 : random_scratch();
                    write_entry(kPdpt + p * 8, pdpte(directory_of[p]), true);
                }
                directory = directory_of[p], index = d;
                r.linear = (p << 30) | (d << 21);
            } else {
                index = rng.range(1, 1023);
                r.linear = index << 22;
            }
            if (std::any_of(regions.begin(), regions.end(),
                            [&](const Region& o) { return o.linear == r.linear; }))
                continue;
            r.entry = directory + index * entry_size();
            const bool can_be_large = c.mode != PagingMode::Bits32;
            if (can_be_large && rng.chance(35)) {
                write_entry(r.entry, large_page(), true);
                r.large_or_absent = true;
            } else {
                r.table = random_scratch();
                write_entry(r.entry, directory_entry(r.table), true);
                for (uint32_t j = 0; j < 2; ++j)
                    write_entry(r.table + j * entry_size(), leaf_4k(), true);
            }
            regions.push_back(r);
            c.pages.push_back(r.linear);
            c.pages.push_back(r.linear + 0x1000);
        }
    }

    // A value whose every byte keeps the doubleword (or PAE quadword) it lands in entry-like.
    uint32_t data_value(uint32_t linear, unsigned size) {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; ++i) {
            const unsigned position = (linear + i) & (c.pae() ? 7 : 3);
            uint8_t b = 0;
            switch (position) {
            case 0: b = rng.chance(30) ? 0xC3 : rng.byte(); break;
            case 1: b = static_cast<uint8_t>(rng.byte() & 0x1F); break;
            case 2: b = static_cast<uint8_t>(rng.below(4) << 6); break;
            case 3: b = 0x01; break;
            case 7: b = rng.chance(25) ? 0x80 : 0; break;
            default: b = 0; break;
            }
            v |= uint32_t{b} << (8 * i);
        }
        return v;
    }

    void invalidate_after_change() {
        Op op;
        const unsigned pick = rng.below(10);
        if (c.pge) // MOV to CR3 keeps global translations in transit86, drops them in QEMU
            op.kind = pick < 7 ? OpKind::InvlpgAll : OpKind::Flush;
        else
            op.kind = pick < 5 ? OpKind::InvlpgAll : pick < 8 ? OpKind::Cr3Reload : OpKind::Flush;
        c.ops.push_back(op);
    }

    void add_edit() {
        if (c.watch.empty()) return;
        const uint32_t address = c.watch[rng.below(static_cast<uint32_t>(c.watch.size()))];
        uint64_t value = 0;
        const bool is_pdpte = c.pae() && address >= kPdpt && address < kPdpt + 32;
        if (is_pdpte) {
            if (address == kPdpt) return; // PDPTE 0 maps the harness
            value =
                pdpte(rng.chance(70) ? kPaePd0 + (address - kPdpt) / 8 * 0x1000 : random_scratch());
        } else {
            const unsigned pick = rng.below(3);
            value = pick == 0 && c.mode != PagingMode::Bits32 ? large_page()
                    : pick == 1                               ? directory_entry(random_scratch())
                                                              : leaf_4k();
        }
        write_entry(address, value, false);
        if (is_pdpte) {
            // The directory entries this PDPTE now leads to: QEMU may set A in one whose walk
            // faults (unicorn-accessed-on-fault), so they are reported, not folded into the digest.
            const uint32_t p = (address - kPdpt) / 8,
                           directory = static_cast<uint32_t>(value) & ~0xFFFu;
            for (const Region& r : regions)
                if (r.linear >> 30 == p) watch_only(directory + ((r.linear >> 21) & 511) * 8);
        }
        Op op{OpKind::Edit};
        op.entry = address;
        op.linear = address < 0x100000
                        ? address
                        : kScratchAlias + static_cast<uint32_t>(scratch_index(address) << 12) +
                              (address & 0xFFF);
        op.value = static_cast<uint32_t>(value);
        op.aux = static_cast<uint32_t>(value >> 32);
        c.ops.push_back(op);
        if (is_pdpte) { // PDPTEs load only on MOV to CR3 (SDM 4.4.1)
            c.ops.push_back(Op{OpKind::Cr3Reload});
            if (c.pge) c.ops.push_back(Op{OpKind::InvlpgAll});
        } else {
            invalidate_after_change();
        }
    }

    static unsigned scratch_index(uint32_t address) {
        return ((address >> 22) - 4) * 2 + ((address >> 12) & 1);
    }

    void add_access() {
        const Region& r = regions[rng.below(static_cast<uint32_t>(regions.size()))];
        const unsigned pick = rng.below(100);
        const OpKind kind = pick < 45 ? OpKind::Read : pick < 80 ? OpKind::Write : OpKind::Fetch;
        Op op{kind};
        op.cpl = rng.chance(50) ? 3 : 0;
        uint32_t page = rng.below(2), offset = 0;
        if (kind == OpKind::Fetch) {
            // A small share of targets lie within 14 bytes of the page end, where a 15-byte
            // fetch window would reach the next page: neither transit86 nor QEMU translates
            // it (or sets its accessed flags) for a one-byte RET.
            if (rng.chance(2)) {
                offset = 4096 - rng.range(1, 14);
            } else {
                offset = rng.below(4096 - 14);
            }
            if (rng.chance(80)) offset &= c.pae() ? ~7u : ~3u; // where the fill puts RETs
        } else {
            static constexpr std::array<uint8_t, 3> kSizes = {1, 2, 4};
            op.size = kSizes[rng.below(3)];
            if (op.size > 1 && rng.chance(15)) {
                page = 0; // crosses into page 1, which is scratch too
                offset = 4096 - rng.range(1, op.size - 1);
            } else {
                offset = rng.below(4096 - op.size + 1);
            }
        }
        op.linear = r.linear + (page << 12) + offset;
        if (kind == OpKind::Write) op.value = data_value(op.linear, op.size);
        if (kind == OpKind::Fetch) {
            Op probe{OpKind::Read};
            probe.size = 1;
            probe.linear = op.linear;
            c.ops.push_back(probe);
        }
        c.ops.push_back(op);
        // A write may have landed in a live paging structure: flush so both are deterministic.
        if (kind == OpKind::Write) invalidate_after_change();
    }
};

} // namespace

const char* to_string(PagingMode mode) {
    switch (mode) {
    case PagingMode::Bits32: return "32-bit";
    case PagingMode::Bits32Pse: return "32-bit+PSE";
    case PagingMode::Pae: return "PAE";
    }
    return "?";
}

const char* to_string(OpKind kind) {
    switch (kind) {
    case OpKind::Read: return "read";
    case OpKind::Write: return "write";
    case OpKind::Fetch: return "fetch";
    case OpKind::Edit: return "edit";
    case OpKind::InvlpgAll: return "invlpg-all";
    case OpKind::Cr3Reload: return "cr3-reload";
    case OpKind::Flush: return "flush";
    case OpKind::Invlpg: return "invlpg";
    }
    return "?";
}

Case generate_case(uint64_t seed, uint32_t index) {
    Builder b(seed);
    Case& c = b.c;
    c.seed = seed;
    c.index = index;
    const unsigned mode = b.rng.below(4);
    c.mode = mode == 0 ? PagingMode::Bits32 : mode == 1 ? PagingMode::Bits32Pse : PagingMode::Pae;
    c.nxe = mode == 3;
    c.wp = b.rng.chance(50);
    c.pge = b.rng.chance(50);
    c.fill = b.rng.u32() | 1;
    c.cr3 = c.pae() ? kPdpt : kPd32;
    b.build_regions();
    const unsigned accesses = b.rng.range(4, 8);
    for (unsigned i = 0; i < accesses && c.ops.size() + 4 <= kMaxOps; ++i) {
        if (i > 0 && b.rng.chance(25) && c.ops.size() + 3 <= kMaxOps) b.add_edit();
        if (c.ops.size() + 4 > kMaxOps) break;
        if (b.rng.chance(4))
            c.ops.push_back(Op{b.rng.chance(50) ? OpKind::Cr3Reload : OpKind::Flush});
        b.add_access();
    }
    return c;
}

namespace {

void put32(uint8_t* at, uint32_t v) {
    std::memcpy(at, &v, 4); // the guest and every supported host are little-endian
}

} // namespace

std::vector<uint8_t> encode_table(std::span<const Case> cases) {
    std::vector<uint8_t> table(kCaseSize * (cases.size() + 1), 0);
    put32(&table[0], kTableMagic);
    put32(&table[4], static_cast<uint32_t>(cases.size()));
    for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        uint8_t* r = &table[kCaseSize * (i + 1)];
        put32(r + 0, c.index);
        put32(r + 4, static_cast<uint32_t>(c.mode) | (c.nxe ? 4 : 0) | (c.wp ? 8 : 0) |
                         (c.pge ? 16 : 0) | (c.dump ? 32 : 0));
        put32(r + 8, c.cr3);
        put32(r + 12, c.fill);
        put32(r + 16, static_cast<uint32_t>(c.entries.size()));
        put32(r + 20, static_cast<uint32_t>(c.ops.size()));
        put32(r + 24, static_cast<uint32_t>(c.watch.size()));
        put32(r + 28, static_cast<uint32_t>(c.pages.size()));
        for (size_t k = 0; k < c.pages.size(); ++k)
            put32(r + 32 + 4 * k, c.pages[k]);
        for (size_t k = 0; k < c.entries.size(); ++k) {
            put32(r + 96 + 16 * k, c.entries[k].address);
            put32(r + 96 + 16 * k + 4, static_cast<uint32_t>(c.entries[k].value));
            put32(r + 96 + 16 * k + 8, static_cast<uint32_t>(c.entries[k].value >> 32));
        }
        for (size_t k = 0; k < c.ops.size(); ++k) {
            const Op& op = c.ops[k];
            uint8_t* o = r + 480 + 16 * k;
            o[0] = static_cast<uint8_t>(op.kind);
            o[1] = op.size;
            o[2] = op.cpl;
            put32(o + 4, op.linear);
            put32(o + 8, op.value);
            put32(o + 12, op.aux);
        }
        for (size_t k = 0; k < c.watch.size(); ++k)
            put32(r + 864 + 4 * k, c.watch[k]);
    }
    return table;
}

uint32_t result_size(const Case& c) {
    return 24 + 16 * static_cast<uint32_t>(c.ops.size()) +
           8 * static_cast<uint32_t>(c.watch.size()) + 4;
}

std::string describe(const Case& c) {
    std::string out =
        fmt::format("case {} seed {:#018x}: {}{}, CR0.WP {}, CR4.PGE {}", c.index, c.seed,
                    to_string(c.mode), c.nxe ? " EFER.NXE" : "", int{c.wp}, int{c.pge});
    if (!c.rules.empty()) {
        out += ", may hit";
        for (const auto& rule : c.rules)
            out += " " + rule;
    }
    out += "\n  entries:";
    for (const Entry& e : c.entries)
        out += fmt::format(" [{:#x}]={:#x}", e.address, e.value);
    out += "\n";
    for (size_t i = 0; i < c.ops.size(); ++i) {
        const Op& op = c.ops[i];
        out += fmt::format("  op{:<2} {:<10}", i, to_string(op.kind));
        switch (op.kind) {
        case OpKind::Read:
        case OpKind::Write:
            out += fmt::format(" CPL{} {} byte(s) at {:#010x}", op.cpl, op.size, op.linear);
            if (op.kind == OpKind::Write) out += fmt::format(" value {:#x}", op.value);
            break;
        case OpKind::Fetch: out += fmt::format(" CPL{} at {:#010x}", op.cpl, op.linear); break;
        case OpKind::Edit:
            out += fmt::format(" [{:#x}] = {:#x}", op.entry, (uint64_t{op.aux} << 32) | op.value);
            break;
        case OpKind::Invlpg: out += fmt::format(" {:#010x}", op.linear); break;
        default: break;
        }
        out += "\n";
    }
    return out;
}

uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t v = i;
            for (int k = 0; k < 8; ++k)
                v = (v & 1) ? (v >> 1) ^ 0xEDB88320u : v >> 1;
            t[i] = v;
        }
        return t;
    }();
    crc = ~crc;
    for (const uint8_t b : bytes)
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

} // namespace transit86::diff::paging
