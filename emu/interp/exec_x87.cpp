// The x87 FPU class: every ESC instruction (D8..DF) and WAIT/FWAIT (docs/architecture.md,
// "The x87 model"). The arithmetic is the host's own x87 unit executing the guest's encoding
// on an image of the guest's state (x87_host.hpp); this file adds what the host cannot know:
// CR0.EM/MP/TS (#NM), the pending-exception rule (#MF or FERR#), the CPUID-gated forms,
// guest memory operands, the instruction and data pointers, and the EFLAGS of FCOMI.
#include <algorithm>

#include "emu/cpu/condition.hpp"
#include "emu/interp/handlers.hpp"
#include "emu/interp/x87.hpp"
#include "emu/interp/x87_host.hpp"

namespace transit86::emu {

using decoder::X87Op;

namespace {

// Non-waiting instructions do not take a pending exception first (SDM Vol. 3A 6.15,
// interrupt 16: FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE); FNENI/FNDISI/FNSETPM are
// their 8087/80287 relatives, no-ops since the 80387. FXSAVE and FXRSTOR (0F AE, not ESC
// instructions) neither check nor flush one (SDM Vol. 2A FXSAVE, FXRSTOR).
bool waits(X87Op op) {
    switch (op) {
    case X87Op::Fxsave:
    case X87Op::Fxrstor:
    case X87Op::Fninit:
    case X87Op::Fnclex:
    case X87Op::Fnstsw:
    case X87Op::Fnstcw:
    case X87Op::Fnstenv:
    case X87Op::Fnsave:
    case X87Op::Fneni:
    case X87Op::Fndisi:
    case X87Op::Fnsetpm: return false;
    default: return true;
    }
}

// Control instructions leave the instruction and data pointers and the opcode register alone
// (SDM Vol. 1 8.1.8: FINIT, FCLEX, FLDCW, FSTCW, FSTSW, FSTENV, FLDENV, FSAVE, FRSTOR, WAIT).
bool control(X87Op op) {
    switch (op) {
    case X87Op::Fninit:
    case X87Op::Fnclex:
    case X87Op::Fldcw:
    case X87Op::Fnstcw:
    case X87Op::Fnstsw:
    case X87Op::Fldenv:
    case X87Op::Fnstenv:
    case X87Op::Frstor:
    case X87Op::Fnsave:
    case X87Op::Fneni:
    case X87Op::Fndisi:
    case X87Op::Fnsetpm: return true;
    default: return false;
    }
}

// Memory forms that write their operand; every other memory form reads it.
bool stores(X87Op op) {
    switch (op) {
    case X87Op::Fst:
    case X87Op::Fstp:
    case X87Op::Fist:
    case X87Op::Fistp:
    case X87Op::Fisttp:
    case X87Op::Fbstp:
    case X87Op::Fnstcw:
    case X87Op::Fnstsw: return true;
    default: return false;
    }
}

bool sets_eflags(X87Op op) {
    return op == X87Op::Fcomi || op == X87Op::Fcomip || op == X87Op::Fucomi || op == X87Op::Fucomip;
}

// Forms a CPUID feature brings; without it the encoding is #UD (SDM Vol. 2A FCMOVcc, FCOMI:
// CPUID.01H:EDX.CMOV with FPU; FISTTP: CPUID.01H:ECX.SSE3; FXSAVE: CPUID.01H:EDX.FXSR).
constexpr uint32_t kCpuidSse3 = 1u << 0;

bool undefined_on_this_model(const CpuModel& m, X87Op op) {
    switch (op) {
    case X87Op::Fcmovcc:
    case X87Op::Fcomi:
    case X87Op::Fcomip:
    case X87Op::Fucomi:
    case X87Op::Fucomip: return (m.features_edx & cpuid_edx::CMOV) == 0;
    case X87Op::Fisttp: return (m.features_ecx & kCpuidSse3) == 0;
    case X87Op::Fxsave:
    case X87Op::Fxrstor: return (m.features_edx & cpuid_edx::FXSR) == 0;
    default: return false;
    }
}

// A waiting instruction found an unmasked exception pending (SDM Vol. 1 8.6, Vol. 3A 2.5
// CR0.NE): #MF with NE = 1; with NE = 0 the processor asserts FERR# for the chipset to raise
// IRQ 13 and waits, which no platform here models.
bool take_pending_error(Cpu& cpu) {
    if (cpu.s.cr0 & cr0::NE) return cpu.raise(vec::MF);
    return cpu.unsupported("x87 error pending with CR0.NE = 0 (FERR#, IRQ 13) is not modelled");
}

const Operand* memory_operand(const Insn& insn) {
    for (uint8_t i = 0; i < insn.operand_count; ++i)
        if (insn.operands[i].kind == OperandKind::Mem) return &insn.operands[i];
    return nullptr;
}

// The flags this instruction sets are found by running it with the sticky flags clear, then
// ORing the old ones back (the instruction only ever sets them).
constexpr uint16_t kStickyFlags = fsw::Exceptions | fsw::SF;

// Any ESC instruction but the environment images: executed on the host.
bool execute_on_host(Cpu& cpu, const Insn& insn, const Operand* memory) {
    const X87Op op = insn.x87;
    const X87State& before = cpu.s.x87;
    alignas(16) uint8_t operand[16] = {};
    Address at{};
    const uint32_t size = memory ? memory->size : 0;
    if (memory) {
        if (size == 0 || size > 10) return cpu.unsupported("x87 memory operand size");
        at = cpu.address_of(insn, *memory);
        uint32_t linear;
        if (stores(op)) {
            if (!cpu.linearize(at.seg, at.offset, size, true, linear)) return false;
        } else if (!read_guest_bytes(cpu, at, operand, size)) {
            return false;
        }
    }

    const bool waiting = waits(op);
    X87State in = before;
    if (waiting) in.fsw = static_cast<uint16_t>(in.fsw & ~(kStickyFlags | fsw::ES | fsw::B));
    X87HostImage image = to_host_image(in);
    uint16_t opcode = insn.x87_opcode;
    bool zf_in = false;
    if (op == X87Op::Fcmovcc) { // as FCMOVE ST(0), ST(i) (DA C8+i), ZF = the guest's condition
        zf_in = condition_holds(cpu.s.eflags, insn.cc);
        opcode = static_cast<uint16_t>(0x2C8 | (opcode & 7));
    }
    const X87HostFlags host_flags = x87_execute_on_host(opcode, image, operand, zf_in);

    X87State after = before;
    from_host_image(image, after);
    const uint16_t raised = waiting ? static_cast<uint16_t>(after.fsw & kStickyFlags) : 0;
    if (waiting) after.fsw |= before.fsw & kStickyFlags;
    after.fsw = normalized_fsw(after.fsw, after.fcw);
    const uint16_t unmasked = raised & ~after.fcw & fsw::Exceptions;

    // An unmasked invalid-operation, denormal, zero-divide, overflow or underflow exception
    // leaves a memory destination unwritten (SDM Vol. 1 4.9.1, 8.5.1 to 8.5.5); an inexact
    // result is stored.
    constexpr uint16_t kStoreSuppressing = fsw::IE | fsw::DE | fsw::ZE | fsw::OE | fsw::UE;
    if (memory && stores(op) && (unmasked & kStoreSuppressing) == 0) {
        if (!write_guest_bytes(cpu, at, operand, size)) return false;
    }
    // FCOMI/FUCOMI: ZF, PF, CF from the comparison, OF, SF, AF cleared; not set at all when
    // an unmasked invalid-operation exception stops the instruction (SDM Vol. 2A FCOMI).
    if (sets_eflags(op) && (unmasked & fsw::IE) == 0) {
        uint32_t status = 0;
        if (host_flags.zf) status |= flags::ZF;
        if (host_flags.pf) status |= flags::PF;
        if (host_flags.cf) status |= flags::CF;
        cpu.set_status(status);
    }
    if (op == X87Op::Fninit) { // FNINIT clears the pointers and the opcode (SDM FINIT)
        after.fip = after.fdp = 0;
        after.fcs = after.fds = after.fop = 0;
    } else if (!control(op)) {
        after.fip = cpu.s.eip; // the first byte of the instruction, prefixes included (8.1.8)
        after.fcs = cpu.s[Seg::CS].selector;
        after.fop = insn.x87_opcode;
        if (memory) {
            after.fdp = at.offset;
            after.fds = cpu.s[at.seg].selector;
        }
    }
    cpu.s.x87 = after;
    return true;
}

} // namespace

bool read_guest_bytes(Cpu& cpu, Address at, uint8_t* out, uint32_t size) {
    uint32_t linear;
    if (!cpu.linearize(at.seg, at.offset, size, false, linear)) return false;
    for (uint32_t done = 0; done < size; done += 8)
        if (!cpu.read_linear(linear + done, out + done, std::min(8u, size - done))) return false;
    return true;
}

bool write_guest_bytes(Cpu& cpu, Address at, const uint8_t* in, uint32_t size) {
    uint32_t linear;
    if (!cpu.linearize(at.seg, at.offset, size, true, linear)) return false;
    for (uint32_t done = 0; done < size; done += 8)
        if (!cpu.write_linear(linear + done, in + done, std::min(8u, size - done))) return false;
    return true;
}

bool exec_x87(Cpu& cpu, const Insn& insn) {
    CpuState& s = cpu.s;
    if (insn.op == Op::Wait) { // wait/fwait: #NM only when MP and TS are both set (Table 2-2)
        if ((s.cr0 & (cr0::MP | cr0::TS)) == (cr0::MP | cr0::TS)) return cpu.raise(vec::NM);
        return !s.x87.error_pending() || take_pending_error(cpu);
    }
    const X87Op op = insn.x87;
    if (undefined_on_this_model(*cpu.model, op)) return cpu.raise(vec::UD);
    // Every ESC instruction raises #NM when CR0.EM or CR0.TS is set (SDM Vol. 3A 2.5,
    // Table 2-2); #NM comes before a pending x87 error (Table 6-2, classes 7 and 8).
    if (s.cr0 & (cr0::EM | cr0::TS)) return cpu.raise(vec::NM);
    if (waits(op) && s.x87.error_pending()) return take_pending_error(cpu);
    const Operand* memory = memory_operand(insn);
    switch (op) {
    case X87Op::Fxsave:  // fxsave m512byte
    case X87Op::Fxrstor: // fxrstor m512byte
        if (!memory) return cpu.raise(vec::UD);
        return exec_x87_fxsave(cpu, insn, *memory);
    // fneni (DB E0), fndisi (DB E1): the 8087's interrupt-mask controls; fnsetpm (DB E4): the
    // 80287's switch to protected mode. The 80387 and later execute them as no-ops, without
    // waiting and without touching the pointers (Zydis names them FENI8087_NOP etc.).
    case X87Op::Fneni:
    case X87Op::Fndisi:
    case X87Op::Fnsetpm: return true;
    case X87Op::Fnstsw: // fnstsw ax
        if (!memory) {
            cpu.set_reg<uint16_t>(0, normalized_fsw(s.x87.fsw, s.x87.fcw));
            return true;
        }
        break;
    case X87Op::Fldenv:  // fldenv m14/28byte
    case X87Op::Fnstenv: // fnstenv m14/28byte
    case X87Op::Frstor:  // frstor m94/108byte
    case X87Op::Fnsave:  // fnsave m94/108byte
        if (!memory) return cpu.raise(vec::UD);
        return exec_x87_environment(cpu, insn, *memory);
    default: break;
    }
    if (!x87_host_available()) return cpu.unsupported("x87 needs an x86 host");
    return execute_on_host(cpu, insn, memory);
}

} // namespace transit86::emu
