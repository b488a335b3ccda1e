// The host x87 unit running guest ESC instructions (x87_host.hpp).
//
// Each guest encoding is executed as itself: a template over the ESC byte and the ModRM
// byte emits exactly those two bytes. A register form (mod = 3) is the guest's instruction
// unchanged; a memory form keeps its ESC byte and reg field and gets mod = 00, r/m = 000,
// which in 64-bit mode addresses [rax], where the operand buffer is. Emitting bytes instead of
// mnemonics also sidesteps the AT&T assemblers' swapped FSUB/FSUBR and FDIV/FDIVR register
// forms. The tables below hold one instantiation per encoding: 8 x 8 memory forms and
// 8 x 64 register forms.
#include "emu/interp/x87_host.hpp"

#include <cstring>
#include <utility>

namespace transit86::emu {

namespace {

constexpr int kImageControl = 0, kImageStatus = 4, kImageTag = 8, kImageRegisters = 28;

#if defined(__x86_64__) || defined(__i386__)
constexpr bool kHostHasX87 = true;

using HostInstruction = X87HostFlags (*)(X87HostImage&, uint8_t*, bool);

// FNSTCW saves the host's control word (callee-saved in the System V ABI); FRSTOR loads the
// guest; CMP sets ZF for FCMOVE; the guest's encoding runs; FNSAVE stores and reinitialises
// (leaving the stack empty, as the ABI wants between calls); FLDCW restores the host's word.
template <uint8_t kEsc, uint8_t kModrm>
X87HostFlags run_encoding(X87HostImage& image, uint8_t* operand, bool zf_in) {
    uint16_t host_control;
    bool zf, pf, cf;
    const int zf_value = zf_in ? 1 : 0;
    asm volatile("fnstcw %[host]\n\t"
                 "frstor (%[image])\n\t"
                 "cmpl $1, %[zf_in]\n\t"
                 ".byte %c[esc], %c[modrm]\n\t"
                 "fnsave (%[image])\n\t"
                 "fldcw %[host]"
                 : [host] "=m"(host_control), "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
                 : [image] "r"(image.bytes.data()),
                   "a"(operand), [zf_in] "r"(zf_value), [esc] "i"(kEsc), [modrm] "i"(kModrm)
                 : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
    return {zf, pf, cf};
}

template <size_t... I>
constexpr std::array<HostInstruction, sizeof...(I)> memory_forms(std::index_sequence<I...>) {
    return {
        &run_encoding<static_cast<uint8_t>(0xD8 + I / 8), static_cast<uint8_t>((I % 8) << 3)>...};
}
template <size_t... I>
constexpr std::array<HostInstruction, sizeof...(I)> register_forms(std::index_sequence<I...>) {
    return {
        &run_encoding<static_cast<uint8_t>(0xD8 + I / 64), static_cast<uint8_t>(0xC0 + I % 64)>...};
}

// Indexed by ESC * 8 + reg, and by ESC * 64 + (ModRM - C0H).
constexpr auto kMemoryForms = memory_forms(std::make_index_sequence<64>{});
constexpr auto kRegisterForms = register_forms(std::make_index_sequence<512>{});
#else
constexpr bool kHostHasX87 = false;
#endif

void put16(X87HostImage& image, int at, uint16_t v) {
    std::memcpy(image.bytes.data() + at, &v, 2);
}
uint16_t get16(const X87HostImage& image, int at) {
    uint16_t v;
    std::memcpy(&v, image.bytes.data() + at, 2);
    return v;
}

} // namespace

bool x87_host_available() {
    return kHostHasX87;
}

X87HostFlags x87_execute_on_host(uint16_t opcode, X87HostImage& image, uint8_t* operand,
                                 bool zf_in) {
#if defined(__x86_64__) || defined(__i386__)
    const unsigned esc = (opcode >> 8) & 7;
    const unsigned modrm = opcode & 0xFF;
    if (modrm >= 0xC0) return kRegisterForms[esc * 64 + (modrm - 0xC0)](image, operand, zf_in);
    return kMemoryForms[esc * 8 + ((modrm >> 3) & 7)](image, operand, zf_in);
#else
    (void)opcode, (void)image, (void)operand, (void)zf_in;
    return {};
#endif
}

void put_register(uint8_t* ten_bytes, const X87Register& reg) {
    std::memcpy(ten_bytes, &reg.significand, 8);
    std::memcpy(ten_bytes + 8, &reg.sign_exponent, 2);
}

X87Register get_register(const uint8_t* ten_bytes) {
    X87Register reg;
    std::memcpy(&reg.significand, ten_bytes, 8);
    std::memcpy(&reg.sign_exponent, ten_bytes + 8, 2);
    return reg;
}

uint8_t abridged_tags(uint16_t tags) {
    uint8_t ftw = 0;
    for (unsigned i = 0; i < 8; ++i)
        if (((tags >> (2 * i)) & 3) != 3) ftw |= static_cast<uint8_t>(1u << i);
    return ftw;
}

unsigned x87_tag_of(const X87Register& reg) {
    const unsigned exponent = reg.sign_exponent & 0x7FFF;
    if (exponent == 0x7FFF) return 2;                       // infinity, NaN, pseudo forms
    if (exponent == 0) return reg.significand == 0 ? 1 : 2; // zero; denormal, pseudo-denormal
    return (reg.significand >> 63) != 0 ? 0 : 2;            // J = 0: unnormal (unsupported)
}

X87HostImage to_host_image(const X87State& x87) {
    X87HostImage image;
    put16(image, kImageControl, x87.fcw);
    put16(image, kImageStatus, x87.fsw);
    uint16_t tags = 0;
    for (unsigned i = 0; i < 8; ++i)
        if ((x87.ftw & (1u << i)) == 0) tags |= 3u << (2 * i);
    put16(image, kImageTag, tags);
    for (unsigned i = 0; i < 8; ++i)
        put_register(image.bytes.data() + kImageRegisters + 10 * i, x87.st(i));
    return image;
}

void from_host_image(const X87HostImage& image, X87State& x87) {
    x87.fcw = get16(image, kImageControl);
    x87.fsw = get16(image, kImageStatus);
    x87.ftw = abridged_tags(get16(image, kImageTag));
    for (unsigned i = 0; i < 8; ++i)
        x87.st(i) = get_register(image.bytes.data() + kImageRegisters + 10 * i);
}

} // namespace transit86::emu
