// Block-engine handlers for what a block reads from outside the CPU: ports and the time-stamp
// counter.
//
// IN from a port the PortHandler has promised a steady value for (PortHandler::steady_read): a
// polling loop such as GRUB's PIT wait (`in al, 0x61; test al, 0x20; je`) runs in the engine,
// and whole iterations of it can be retired at once (block_engine.cpp). Any other IN — another
// port, another width, past the promise — declines and the interpreter performs it through
// PortHandler::access(). The engine runs only where the I/O permission check cannot fail (the
// run loop asks for a promise only then: real mode, or CPL <= IOPL outside virtual-8086 mode,
// SDM Vol. 1 19.5) and with no I/O breakpoint enabled, so there is nothing to check here but
// the promise.
//
// RDTSC reads the virtual clock, one tick per retired instruction (docs/boot.md, "Virtual
// time"): a kernel's delay loops (`rdtsc; sub; cmp; jb`) run in blocks. CPUID answers from the
// CPU model: GRUB reads its clock as `cpuid; rdtsc` (CPUID serialising), 28 M times in a
// one-second `sleep`.
#include "emu/block/block_operands.hpp"
#include "emu/cpu/cpuid.hpp"

namespace transit86::emu::block {

namespace {

using Handler = BlockOp::Handler;
constexpr uint8_t kEdx = 2;

// in al, imm8 ; in ax, imm8 ; in eax, imm8 ; in al, dx ; in ax, dx ; in eax, dx
template <class T, bool FromDx>
bool in_steady(BlockContext& c, const BlockOp& op) {
    const auto port = static_cast<uint16_t>(FromDx ? c.gpr[kEdx] : op.imm);
    if (port != c.steady_port || sizeof(T) != c.steady_size ||
        c.retired + op.position >= c.steady_until)
        return false;
    set_reg<T>(c, 0, static_cast<T>(c.steady_value));
    return true;
}

// rdtsc — EDX:EAX = the TSC before this instruction retires, as the interpreter gives it
// (exec_processor.cpp): the run's start value plus the instructions retired before it in this
// run. With CR4.TSD outside CPL 0 it is #GP(0) (SDM RDTSC), left to the interpreter.
bool rdtsc(BlockContext& c, const BlockOp& op) {
    if ((c.state->cr4 & cr4::TSD) && c.state->cpl() != 0) return false;
    const uint64_t tsc = c.state->tsc + c.retired + op.position;
    c.gpr[0] = static_cast<uint32_t>(tsc);
    c.gpr[kEdx] = static_cast<uint32_t>(tsc >> 32);
    return true;
}

// cpuid — EAX, EBX, ECX, EDX = the model's leaf EAX, as the interpreter answers it.
bool cpuid(BlockContext& c, const BlockOp&) {
    if (!c.model) return false;
    const CpuidLeaf r = cpuid_leaf(*c.model, c.gpr[0]);
    c.gpr[0] = r.eax;
    c.gpr[1] = r.ecx;
    c.gpr[kEdx] = r.edx;
    c.gpr[3] = r.ebx;
    return true;
}

} // namespace

bool lower_io_op(const decoder::Insn& insn, BlockOp& out) {
    using decoder::OperandKind;
    if (insn.op == decoder::Op::Cpuid) {
        out.handler = chain<&cpuid>;
        out.registers_only = true; // the same registers in give the same registers out
        return true;
    }
    if (insn.op == decoder::Op::Rdtsc) {
        out.handler = chain<&rdtsc>; // not registers_only: each iteration reads another value
        return true;
    }
    if (insn.op != decoder::Op::In || insn.operand_count != 2) return false;
    const decoder::Operand& data = insn.operands[0];
    const decoder::Operand& port = insn.operands[1];
    if (data.kind != OperandKind::Reg || data.reg != 0) return false;
    const bool from_dx = port.kind == OperandKind::Reg;
    if (from_dx ? port.reg != kEdx : port.kind != OperandKind::Imm) return false;
    out.imm = port.value & 0xFF;
    out.handler = by_width(data.size, [from_dx]<class T>(T) -> Handler {
        return from_dx ? chain<&in_steady<T, true>> : chain<&in_steady<T, false>>;
    });
    out.registers_only = true;
    out.reads_port = true;
    return out.handler != nullptr;
}

} // namespace transit86::emu::block
