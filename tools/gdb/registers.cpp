#include "tools/gdb/registers.hpp"

#include <array>
#include <cstring>
#include <fmt/format.h>

namespace transit86::gdb {

namespace {

// What a register number stands for.
enum class Field : uint8_t {
    Gpr,        // index = Gpr
    Pc,         // linear CS.base + EIP
    Eflags,     //
    Selector,   // index = Seg
    X87Data,    // st0-st7 (index: stack position), 80 bits
    FpuControl, //
    FpuStatus,  //
    FpuTag,     //
    X87Pointer, // fiseg, fioff, foseg, fooff, fop (index in that order)
    Eip,        // the offset in CS
    SegBase,    // index = Seg
    SegLimit,   //
    SegAr,      //
    LdtrSel,
    LdtrBase,
    LdtrLimit,
    LdtrAr,
    TrSel,
    TrBase,
    TrLimit,
    TrAr,
    GdtrBase,
    GdtrLimit,
    IdtrBase,
    IdtrLimit,
    Cr0,
    Cr2,
    Cr3,
    Cr4,
    Efer,
};

struct Register {
    std::string_view name;
    uint8_t bytes;
    Field field;
    uint8_t index;
    std::string_view type;  // the target description's type
    std::string_view group; // empty: GDB's default (general)
};

// GDB's i386 order: eax ecx edx ebx esp ebp esi edi is also the ModRM order (Gpr), and the
// selectors come as cs ss ds es fs gs.
constexpr uint8_t kSegOrder[] = {1, 2, 3, 0, 4, 5}; // Seg::CS, SS, DS, ES, FS, GS

constexpr std::array kRegisters = [] {
    std::array<Register, 32 + 1 + 18 + 8 + 4 + 5> r{};
    size_t n = 0;
    constexpr std::string_view gpr[] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    for (uint8_t i = 0; i < 8; ++i)
        r[n++] = {gpr[i], 4, Field::Gpr, i, (i == 4 || i == 5) ? "data_ptr" : "int32", ""};
    r[n++] = {"eip", 4, Field::Pc, 0, "code_ptr", ""};
    r[n++] = {"eflags", 4, Field::Eflags, 0, "i386_eflags", ""};
    constexpr std::string_view sel[] = {"cs", "ss", "ds", "es", "fs", "gs"};
    for (uint8_t i = 0; i < 6; ++i)
        r[n++] = {sel[i], 4, Field::Selector, kSegOrder[i], "int32", ""};
    constexpr std::string_view st[] = {"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7"};
    for (uint8_t i = 0; i < 8; ++i)
        r[n++] = {st[i], 10, Field::X87Data, i, "i387_ext", ""};
    r[n++] = {"fctrl", 4, Field::FpuControl, 0, "int", "float"};
    r[n++] = {"fstat", 4, Field::FpuStatus, 0, "int", "float"};
    r[n++] = {"ftag", 4, Field::FpuTag, 0, "int", "float"};
    constexpr std::string_view x87[] = {"fiseg", "fioff", "foseg", "fooff", "fop"};
    for (uint8_t i = 0; i < 5; ++i)
        r[n++] = {x87[i], 4, Field::X87Pointer, i, "int", "float"};
    // org.transit86.system
    r[n++] = {"ip", 4, Field::Eip, 0, "uint32", "general"};
    constexpr std::string_view base[] = {"cs_base", "ss_base", "ds_base",
                                         "es_base", "fs_base", "gs_base"};
    constexpr std::string_view limit[] = {"cs_limit", "ss_limit", "ds_limit",
                                          "es_limit", "fs_limit", "gs_limit"};
    constexpr std::string_view access[] = {"cs_ar", "ss_ar", "ds_ar", "es_ar", "fs_ar", "gs_ar"};
    for (uint8_t i = 0; i < 6; ++i) {
        r[n++] = {base[i], 8, Field::SegBase, kSegOrder[i], "uint64", "system"};
        r[n++] = {limit[i], 4, Field::SegLimit, kSegOrder[i], "uint32", "system"};
        r[n++] = {access[i], 4, Field::SegAr, kSegOrder[i], "uint32", "system"};
    }
    r[n++] = {"ldtr", 4, Field::LdtrSel, 0, "uint32", "system"};
    r[n++] = {"ldtr_base", 8, Field::LdtrBase, 0, "uint64", "system"};
    r[n++] = {"ldtr_limit", 4, Field::LdtrLimit, 0, "uint32", "system"};
    r[n++] = {"ldtr_ar", 4, Field::LdtrAr, 0, "uint32", "system"};
    r[n++] = {"tr", 4, Field::TrSel, 0, "uint32", "system"};
    r[n++] = {"tr_base", 8, Field::TrBase, 0, "uint64", "system"};
    r[n++] = {"tr_limit", 4, Field::TrLimit, 0, "uint32", "system"};
    r[n++] = {"tr_ar", 4, Field::TrAr, 0, "uint32", "system"};
    r[n++] = {"gdtr_base", 8, Field::GdtrBase, 0, "uint64", "system"};
    r[n++] = {"gdtr_limit", 4, Field::GdtrLimit, 0, "uint32", "system"};
    r[n++] = {"idtr_base", 8, Field::IdtrBase, 0, "uint64", "system"};
    r[n++] = {"idtr_limit", 4, Field::IdtrLimit, 0, "uint32", "system"};
    r[n++] = {"cr0", 8, Field::Cr0, 0, "uint64", "system"};
    r[n++] = {"cr2", 8, Field::Cr2, 0, "uint64", "system"};
    r[n++] = {"cr3", 8, Field::Cr3, 0, "uint64", "system"};
    r[n++] = {"cr4", 8, Field::Cr4, 0, "uint64", "system"};
    r[n++] = {"efer", 8, Field::Efer, 0, "uint64", "system"};
    return r;
}();
constexpr size_t kCoreCount = 32; // org.gnu.gdb.i386.core ends after fop

uint64_t& wide_field(CpuState& s, Field f) {
    switch (f) {
    case Field::LdtrBase: return s.ldtr.base;
    case Field::TrBase: return s.tr.base;
    case Field::GdtrBase: return s.gdtr.base;
    case Field::IdtrBase: return s.idtr.base;
    case Field::Cr0: return s.cr0;
    case Field::Cr2: return s.cr2;
    case Field::Cr3: return s.cr3;
    case Field::Cr4: return s.cr4;
    default: return s.efer;
    }
}

// The full tag word of FSTENV (SDM Vol. 1 8.1.7), which GDB's ftag is: two bits per physical
// register from the abridged tag and the register's contents — 00 valid, 01 zero,
// 10 special (NaN, infinity, denormal, unnormal), 11 empty.
uint16_t full_tag_word(const X87State& x87) {
    uint16_t tag = 0;
    for (unsigned i = 0; i < 8; ++i) {
        uint16_t t = 3;
        if (x87.ftw >> i & 1) {
            const X87Register& reg = x87.r[i];
            const unsigned exponent = reg.sign_exponent & 0x7FFF;
            if (exponent == 0x7FFF)
                t = 2;
            else if (exponent == 0)
                t = reg.significand == 0 ? 1 : 2;
            else
                t = (reg.significand >> 63) ? 0 : 2;
        }
        tag = static_cast<uint16_t>(tag | t << (2 * i));
    }
    return tag;
}

// FXSAVE's abridged form: a register is in use unless its two bits are 11.
uint8_t abridged_tag_word(uint16_t full) {
    uint8_t ftw = 0;
    for (unsigned i = 0; i < 8; ++i)
        if ((full >> (2 * i) & 3) != 3) ftw = static_cast<uint8_t>(ftw | 1u << i);
    return ftw;
}

uint64_t value_of(const CpuState& s, const Register& r) {
    auto& m = const_cast<CpuState&>(s); // wide_field only reads through this
    switch (r.field) {
    case Field::Gpr: return s.gpr[r.index];
    case Field::Pc: return linear_pc(s);
    case Field::Eflags: return s.eflags;
    case Field::Selector: return s.seg[r.index].selector;
    case Field::FpuControl: return s.x87.fcw;
    case Field::FpuStatus: return s.x87.fsw;
    case Field::FpuTag: return full_tag_word(s.x87);
    case Field::X87Data: return s.x87.st(r.index).significand; // the rest: read_register
    case Field::X87Pointer: {
        const uint32_t pointers[] = {s.x87.fcs, s.x87.fip, s.x87.fds, s.x87.fdp, s.x87.fop};
        return pointers[r.index];
    }
    case Field::Eip: return s.eip;
    case Field::SegBase: return s.seg[r.index].base;
    case Field::SegLimit: return s.seg[r.index].limit;
    case Field::SegAr: return s.seg[r.index].access_rights;
    case Field::LdtrSel: return s.ldtr.selector;
    case Field::LdtrLimit: return s.ldtr.limit;
    case Field::LdtrAr: return s.ldtr.access_rights;
    case Field::TrSel: return s.tr.selector;
    case Field::TrLimit: return s.tr.limit;
    case Field::TrAr: return s.tr.access_rights;
    case Field::GdtrLimit: return s.gdtr.limit;
    case Field::IdtrLimit: return s.idtr.limit;
    default: return wide_field(m, r.field);
    }
}

void set_value(CpuState& s, const Register& r, uint64_t v) {
    const auto v32 = static_cast<uint32_t>(v);
    const auto v16 = static_cast<uint16_t>(v);
    switch (r.field) {
    case Field::Gpr: s.gpr[r.index] = v32; break;
    case Field::Pc: s.eip = static_cast<uint32_t>(v32 - s[Seg::CS].base); break;
    case Field::Eflags: s.eflags = v32 | flags::Fixed1; break;
    case Field::Selector:
        s.seg[r.index].selector = v16;
        if (!s.protected_mode() || s.v86()) s.seg[r.index].base = uint64_t{v16} << 4;
        break;
    case Field::FpuControl: s.x87.fcw = v16; break;
    case Field::FpuStatus: s.x87.fsw = v16; break;
    case Field::FpuTag: s.x87.ftw = abridged_tag_word(v16); break;
    case Field::X87Data: s.x87.st(r.index).significand = v; break; // the rest: write_register
    case Field::X87Pointer:
        switch (r.index) {
        case 0: s.x87.fcs = v16; break;
        case 1: s.x87.fip = v32; break;
        case 2: s.x87.fds = v16; break;
        case 3: s.x87.fdp = v32; break;
        default: s.x87.fop = v16 & 0x7FF; break;
        }
        break;
    case Field::Eip: s.eip = v32; break;
    case Field::SegBase: s.seg[r.index].base = v; break;
    case Field::SegLimit: s.seg[r.index].limit = v32; break;
    case Field::SegAr: s.seg[r.index].access_rights = v32; break;
    case Field::LdtrSel: s.ldtr.selector = v16; break;
    case Field::LdtrLimit: s.ldtr.limit = v32; break;
    case Field::LdtrAr: s.ldtr.access_rights = v32; break;
    case Field::TrSel: s.tr.selector = v16; break;
    case Field::TrLimit: s.tr.limit = v32; break;
    case Field::TrAr: s.tr.access_rights = v32; break;
    case Field::GdtrLimit: s.gdtr.limit = v32; break;
    case Field::IdtrLimit: s.idtr.limit = v32; break;
    default: wide_field(s, r.field) = v; break;
    }
}

} // namespace

size_t register_count() {
    return kRegisters.size();
}
size_t register_size(size_t n) {
    return kRegisters[n].bytes;
}
std::string_view register_name(size_t n) {
    return kRegisters[n].name;
}

uint64_t linear_pc(const CpuState& s) {
    return static_cast<uint32_t>(s[Seg::CS].base + s.eip);
}

bool code_is_16bit(const CpuState& s) {
    return !s.protected_mode() || s.v86() || !ar::db(s[Seg::CS].access_rights);
}

std::string read_register(const CpuState& s, size_t n) {
    const Register& r = kRegisters[n];
    std::string out(r.bytes, '\0');
    const uint64_t v = value_of(s, r);
    for (size_t i = 0; i < r.bytes && i < 8; ++i)
        out[i] = static_cast<char>(v >> (8 * i));
    if (r.field == Field::X87Data) { // bytes 8-9: sign and exponent
        const uint16_t se = s.x87.st(r.index).sign_exponent;
        out[8] = static_cast<char>(se);
        out[9] = static_cast<char>(se >> 8);
    }
    return out;
}

bool write_register(CpuState& s, size_t n, std::string_view bytes) {
    if (n >= kRegisters.size() || bytes.size() != kRegisters[n].bytes) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < bytes.size() && i < 8; ++i)
        v |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
    set_value(s, kRegisters[n], v);
    if (kRegisters[n].field == Field::X87Data)
        s.x87.st(kRegisters[n].index).sign_exponent = static_cast<uint16_t>(
            static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8);
    return true;
}

std::string read_all_registers(const CpuState& s) {
    std::string out;
    for (size_t n = 0; n < kRegisters.size(); ++n)
        out += read_register(s, n);
    return out;
}

bool write_all_registers(CpuState& s, std::string_view bytes) {
    size_t total = 0;
    for (const Register& r : kRegisters)
        total += r.bytes;
    if (bytes.size() != total) return false;
    // The pc is written last: it is relative to CS.base, which the same packet may change.
    CpuState next = s;
    size_t at = 0, pc_at = 0;
    for (size_t n = 0; n < kRegisters.size(); ++n) {
        if (n == kRegPc)
            pc_at = at;
        else
            write_register(next, n, bytes.substr(at, kRegisters[n].bytes));
        at += kRegisters[n].bytes;
    }
    write_register(next, kRegPc, bytes.substr(pc_at, 4));
    s = next;
    return true;
}

namespace {

std::string build_target_xml(bool i8086) {
    std::string xml = fmt::format(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
        "<target version=\"1.0\">\n<architecture>{}</architecture>\n<osabi>none</osabi>\n"
        "<feature name=\"org.gnu.gdb.i386.core\">\n"
        "<flags id=\"i386_eflags\" size=\"4\">\n",
        i8086 ? "i8086" : "i386");
    constexpr std::pair<std::string_view, int> kFlags[] = {
        {"CF", 0},  {"", 1},    {"PF", 2},   {"AF", 4},   {"ZF", 6},  {"SF", 7},
        {"TF", 8},  {"IF", 9},  {"DF", 10},  {"OF", 11},  {"NT", 14}, {"RF", 16},
        {"VM", 17}, {"AC", 18}, {"VIF", 19}, {"VIP", 20}, {"ID", 21}};
    for (const auto& [name, bit] : kFlags)
        xml += fmt::format("<field name=\"{}\" start=\"{}\" end=\"{}\"/>\n", name, bit, bit);
    xml += "</flags>\n";
    for (size_t n = 0; n < kRegisters.size(); ++n) {
        const Register& r = kRegisters[n];
        if (n == kCoreCount) xml += "</feature>\n<feature name=\"org.transit86.system\">\n";
        xml +=
            fmt::format("<reg name=\"{}\" bitsize=\"{}\" type=\"{}\"", r.name, r.bytes * 8, r.type);
        if (!r.group.empty()) xml += fmt::format(" group=\"{}\"", r.group);
        xml += fmt::format(" regnum=\"{}\"/>\n", n);
    }
    xml += "</feature>\n</target>\n";
    return xml;
}

} // namespace

const std::string& target_xml(bool i8086) {
    static const std::string kI8086 = build_target_xml(true), kI386 = build_target_xml(false);
    return i8086 ? kI8086 : kI386;
}

} // namespace transit86::gdb
