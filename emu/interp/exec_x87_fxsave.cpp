// FXSAVE, FXRSTOR: the x87 state, XMM0..7 and MXCSR in the 512-byte image of non-64-bit modes
// (SDM Vol. 2A FXSAVE, Tables 3-43 and 3-44; FXRSTOR). Unlike FSAVE's four layouts there is one
// image for every mode and operand size: FIP and FDP are offsets beside their selectors, also
// in real mode. Bytes 0..287 are written, their reserved bytes as 0; 288..463 (reserved) and
// 464..511 (left to software) are not. XMM and MXCSR are stored and loaded whatever CR4.OSFXSR
// says (the SDM leaves that to the implementation; QEMU skips them with OSFXSR = 0:
// docs/known-differences.md).
#include <cstring>

#include "emu/interp/handlers.hpp"
#include "emu/interp/x87.hpp"
#include "emu/interp/x87_host.hpp"

namespace transit86::emu {

using decoder::X87Op;

namespace {

constexpr uint32_t kImageSize = 512;
constexpr uint32_t kStoredSize = 288; // through XMM7

// Byte offsets in the image (Table 3-43).
constexpr uint32_t kFcw = 0, kFsw = 2, kFtw = 4, kFop = 6, kFip = 8, kFcs = 12, kFdp = 16,
                   kFds = 20, kMxcsr = 24, kMxcsrMask = 28, kRegisters = 32, kXmm = 160;
constexpr uint32_t kSlot = 16; // an ST(i) or XMM register's slot

// The MXCSR bits this processor accepts (SDM Vol. 1 11.6.6): 15:0, DAZ included, as every
// processor with SSE2 since the later Pentium 4s. FXRSTOR of any other bit is #GP(0).
constexpr uint32_t kMxcsrWritable = 0x0000FFFF;

void store_image(const CpuState& s, uint8_t* image) {
    const X87State& x87 = s.x87;
    put16(image + kFcw, x87.fcw);
    put16(image + kFsw, normalized_fsw(x87.fsw, x87.fcw));
    image[kFtw] = x87.ftw;
    put16(image + kFop, x87.fop);
    put32(image + kFip, x87.fip);
    put16(image + kFcs, x87.fcs);
    put32(image + kFdp, x87.fdp);
    put16(image + kFds, x87.fds);
    put32(image + kMxcsr, s.sse.mxcsr);
    put32(image + kMxcsrMask, kMxcsrWritable);
    for (unsigned i = 0; i < 8; ++i) {
        put_register(image + kRegisters + kSlot * i, x87.st(i)); // stack order
        std::memcpy(image + kXmm + kSlot * i, s.sse.xmm[i].data(), kSlot);
    }
}

void load_image(CpuState& s, const uint8_t* image) {
    X87State& x87 = s.x87;
    x87.fcw = static_cast<uint16_t>(get16(image + kFcw));
    x87.fsw = normalized_fsw(static_cast<uint16_t>(get16(image + kFsw)), x87.fcw);
    x87.ftw = image[kFtw];
    x87.fop = static_cast<uint16_t>(get16(image + kFop) & 0x7FF);
    x87.fip = get32(image + kFip);
    x87.fcs = static_cast<uint16_t>(get16(image + kFcs));
    x87.fdp = get32(image + kFdp);
    x87.fds = static_cast<uint16_t>(get16(image + kFds));
    for (unsigned i = 0; i < 8; ++i) { // TOP comes from the status word loaded above
        x87.st(i) = get_register(image + kRegisters + kSlot * i);
        std::memcpy(s.sse.xmm[i].data(), image + kXmm + kSlot * i, kSlot);
    }
    s.sse.mxcsr = get32(image + kMxcsr);
}

} // namespace

bool exec_x87_fxsave(Cpu& cpu, const Insn& insn, const Operand& memory) {
    const Address at = cpu.address_of(insn, memory);
    // A misaligned image is #GP(0) in every mode, whatever the segment (the #AC alternative is
    // model-specific); checked on the linear address, as QEMU does, before the limit.
    if (((cpu.s[at.seg].base + at.offset) & 15) != 0) return cpu.raise(vec::GP, 0);
    const bool save = insn.x87 == X87Op::Fxsave;
    uint32_t linear;
    if (!cpu.linearize(at.seg, at.offset, kImageSize, save, linear)) return false;
    uint8_t image[kStoredSize] = {};
    if (save) { // fxsave m512byte: the state stays as it was (unlike FNSAVE)
        store_image(cpu.s, image);
        return cpu.write_linear(linear, image, kStoredSize);
    }
    // fxrstor m512byte: no pending x87 exception is taken here; ES is set again from the loaded
    // flags and masks for the next waiting instruction.
    if (!cpu.read_linear(linear, image, kStoredSize)) return false;
    if ((get32(image + kMxcsr) & ~kMxcsrWritable) != 0) return cpu.raise(vec::GP, 0);
    load_image(cpu.s, image);
    return true;
}

} // namespace transit86::emu
