// Instruction handlers, grouped by class (one .cpp file per class). Each entry point takes
// the decoded instruction and dispatches on its operand width to a handler written once as
// a template over uint8_t / uint16_t / uint32_t.
#pragma once

#include <cstdint>

#include "emu/cpu/cpu.hpp"
#include "emu/cpu/locked_access.hpp"

namespace transit86::emu {

// Calls f(T{}) with T the unsigned type of the given width in bytes.
template <class F>
bool by_width(uint8_t size, F&& f) {
    switch (size) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    default: return f(uint32_t{});
    }
}

// LOCK on a memory destination: dispatch_for() (execute.cpp) made LOCK with a register
// destination #UD, and the decoder every instruction LOCK may not prefix.
inline bool is_locked(const Insn& insn) {
    return (insn.prefixes & decoder::prefix::Lock) != 0;
}

// The read-modify-write of the T at `a`: `old` receives the value there and update(old) is
// stored. Locked, it is one atomic operation on guest memory shared with other vCPUs
// (locked_access.hpp): `update` may then run more than once, and the value stored is the one
// its last call returned, so it may record what it computed (the flags) in the caller's
// locals, but must not change the CPU state. Unlocked, a read then a write.
template <class T, class Update>
bool update_memory(Cpu& cpu, Address a, bool locked, Update&& update, T& old) {
    if (locked) return locked_update<T>(cpu, a.seg, a.offset, update, old);
    return cpu.read<T>(a.seg, a.offset, old) && cpu.write<T>(a.seg, a.offset, update(old));
}

// The same for a destination operand, a register or memory (atomic under LOCK).
template <class T, class Update>
bool update_operand(Cpu& cpu, const Insn& insn, const Operand& dst, Update&& update, T& old) {
    if (dst.kind == OperandKind::Mem)
        return update_memory<T>(cpu, cpu.address_of(insn, dst), is_locked(insn), update, old);
    old = cpu.reg<T>(dst.reg);
    cpu.set_reg<T>(dst.reg, update(old));
    return true;
}

// The write checks of a read-modify-write destination, for forms that end up not writing it
// (a shift by a masked count of 0): limit and type as for a write, nothing stored.
inline bool check_writable(Cpu& cpu, const Insn& insn, const Operand& op) {
    if (op.kind != OperandKind::Mem) return true;
    const Address a = cpu.address_of(insn, op);
    uint32_t linear;
    return cpu.linearize(a.seg, a.offset, op.size ? op.size : insn.operand_size, true, linear);
}

// exec_arith.cpp — ALU, INC/DEC/NEG/NOT, MUL/DIV, CBW/CWD, shifts and rotates.
bool exec_alu(Cpu& cpu, const Insn& insn);
bool exec_incdec(Cpu& cpu, const Insn& insn);
bool exec_neg_not(Cpu& cpu, const Insn& insn);
bool exec_muldiv(Cpu& cpu, const Insn& insn);
bool exec_convert(Cpu& cpu, const Insn& insn);
bool exec_shift(Cpu& cpu, const Insn& insn);

// exec_data.cpp — MOV, XCHG, MOVZX/MOVSX, LEA, PUSH/POP, flags transfer, far-pointer loads.
bool exec_mov(Cpu& cpu, const Insn& insn);
bool exec_sreg(Cpu& cpu, const Insn& insn);
bool exec_xchg(Cpu& cpu, const Insn& insn);
bool exec_extend(Cpu& cpu, const Insn& insn);
bool exec_lea(Cpu& cpu, const Insn& insn);
bool exec_stack(Cpu& cpu, const Insn& insn);
bool exec_flags(Cpu& cpu, const Insn& insn);
bool exec_load_far_pointer(Cpu& cpu, const Insn& insn);
bool exec_setcc_cmov(Cpu& cpu, const Insn& insn);

// exec_control.cpp — JMP, Jcc, CALL, RET, LOOP, JCXZ, INT.
bool exec_branch(Cpu& cpu, const Insn& insn);

// exec_string.cpp — MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS with REP prefixes.
bool exec_string(Cpu& cpu, const Insn& insn);

// exec_system.cpp — descriptor tables, control registers, IN/OUT, HLT.
bool exec_system(Cpu& cpu, const Insn& insn);
bool exec_io(Cpu& cpu, const Insn& insn);

// exec_bits.cpp — BT*, BSF/BSR, BSWAP, SHLD/SHRD, CMPXCHG, CMPXCHG8B, XADD.
bool exec_bits(Cpu& cpu, const Insn& insn);
// exec_bcd.cpp — DAA, DAS, AAA, AAS, AAM, AAD.
bool exec_bcd(Cpu& cpu, const Insn& insn);
// exec_frame.cpp — ENTER, LEAVE, BOUND, XLAT.
bool exec_frame(Cpu& cpu, const Insn& insn);
// exec_protection.cpp — ARPL, LAR, LSL, VERR, VERW.
bool exec_protection(Cpu& cpu, const Insn& insn);
// exec_processor.cpp — CPUID, RDTSC, RDMSR/WRMSR.
bool exec_processor(Cpu& cpu, const Insn& insn);
// exec_x87.cpp, exec_x87_env.cpp — every ESC instruction (D8..DF) and WAIT/FWAIT.
bool exec_x87(Cpu& cpu, const Insn& insn);

// Port access through the device models or the host (shared by IN/OUT and INS/OUTS).
// False with #GP(0) raised when the I/O protection (IOPL, the TSS I/O permission bit map)
// refuses the access (SDM Vol. 1 19.5).
bool io_permitted(Cpu& cpu, uint16_t port, uint8_t size);
bool port_in(Cpu& cpu, uint16_t port, uint8_t size, uint32_t& value);
bool port_out(Cpu& cpu, uint16_t port, uint8_t size, uint32_t value);

} // namespace transit86::emu
