// The interpreter's execution context: architectural state plus the memory, port and fault
// plumbing every instruction handler uses.
//
// Handlers return bool: true when the instruction may go on, false when it stopped (a fault
// was raised, or the host must act). They never throw and never allocate.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "decoder/insn.hpp"
#include "emu/cpu/guest_memory.hpp"
#include "emu/cpu/segment_window.hpp"
#include "emu/cpu/tlb.hpp"
#include "transit86/cpu_state.hpp"
#include "transit86/emulator.hpp"

namespace transit86::emu {

using decoder::Insn;
using decoder::Op;
using decoder::Operand;
using decoder::OperandKind;

// Exception vectors (SDM Vol. 3A, Table 6-1).
namespace vec {
inline constexpr uint8_t DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
                         TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17;
} // namespace vec

enum class Stop : uint8_t { None, Fault, Io, Mmio, Halt, Unsupported, TripleFault };

// MMIO accesses the host has already completed for the instruction being re-executed after an
// Mmio exit (KVM's emulator keeps the same kind of read cache: an instruction may touch MMIO
// more than once, and each access exits once).
struct CompletedMmio {
    struct Access {
        uint64_t address = 0;
        uint8_t size = 0;
        bool write = false;
        uint64_t data = 0;
    };
    std::array<Access, 4> done{};
    uint8_t count = 0;

    const Access* find(uint64_t address, uint32_t size, bool write) const {
        for (uint8_t i = 0; i < count; ++i)
            if (done[i].address == address && done[i].size == size && done[i].write == write)
                return &done[i];
        return nullptr;
    }
};

struct Fault {
    uint8_t vector = 0;
    bool has_error_code = false;
    uint32_t error_code = 0;
    // A #DB that is a fault (general detect). Vector 1 is otherwise a trap or an instruction
    // breakpoint, whose frames keep RF as it is; a fault's frame has RF set (SDM Vol. 3B
    // 18.3.1.1).
    bool fault_class = false;
    uint32_t address = 0; // #PF: the linear address CR2 receives when it is delivered
};

// Where an access of a few bytes lands in guest-physical memory: one range, or two when it
// crosses a page boundary with paging on (or the 1 MiB boundary with A20 masked).
struct PhysicalAccess {
    struct Part {
        uint64_t address; // guest-physical
        uint32_t size;
        uint8_t* host; // the bytes in a RAM slot (writable for a write), or nullptr: MMIO
    };
    std::array<Part, 2> parts;
    uint8_t count;
};

template <class T>
inline constexpr uint32_t kSignBit = 1u << (sizeof(T) * 8 - 1);

template <class T>
constexpr bool msb(T v) {
    return (v & kSignBit<T>) != 0;
}

// A memory operand resolved to segment and offset.
struct Address {
    Seg seg;
    uint32_t offset;
};

class Cpu {
  public:
    // The page walker is paging's (emu/system/paging.cpp), installed by the run loop so that
    // this layer does not depend on the one above it.
    using PageWalker = bool (*)(Cpu&, uint32_t linear, AccessKind, bool user, TlbEntry&);

    Cpu(CpuState& state, const GuestMemory& memory, PortHandler* port_handler,
        PageWalker walker = nullptr)
        : s(state), mem(memory), ports(port_handler), page_walker(walker) {}

    CpuState& s;
    const GuestMemory& mem;
    PortHandler* ports;
    const CpuModel* model = nullptr;
    bool a20 = true;
    PageWalker page_walker;
    Tlb tlb;
    // Linear addresses are not simply physical: paging is on (CR0.PG) or A20 is masked. The
    // accesses then take the translated path; otherwise linear = physical, as before paging.
    bool translated = false;
    void sync_memory_mode() { translated = !a20 || (s.cr0 & cr0::PG) != 0; }

    // Per-instruction bookkeeping.
    uint32_t next_eip = 0; // EIP of the following instruction
    Stop stop = Stop::None;
    Fault fault{};
    PortAccess io{};
    bool io_data_pending = false; // the host completed an IN: io.data is the value
    // A PortHandler completed an access without promising it left guest memory alone
    // (PortAccess::guest_memory_untouched): the run loop compares translated code with memory
    // again, and clears this.
    bool device_may_have_written = false;
    const CompletedMmio* mmio_completed = nullptr;
    uint64_t mmio_address = 0;
    uint8_t mmio_size = 0;
    bool mmio_write = false;
    uint64_t mmio_data = 0; // the value of an MMIO write
    const char* unsupported_detail = nullptr;
    uint32_t shadow_next = 0;   // interrupt shadow this instruction sets (STI, MOV SS)
    bool keep_progress = false; // string ops: a stop keeps the completed iterations
    // A REP string instruction stopped between iterations with work left (exec_string.cpp):
    // EIP stays at it, it has not retired, and the next step resumes it. The run loop clears it.
    bool rep_restart = false;
    // A task switch passed its commit point (emu/task_switch.hpp): a fault from here on is
    // delivered in the new task's context, so the run loop keeps the state as it is.
    bool task_committed = false;
    // Debug traps this instruction raises when it completes (SDM Vol. 3B 18.2.3; delivered by
    // the run loop): B0-B3 of the data and I/O breakpoints its accesses met, BT for a switch
    // to a task whose TSS has the T bit.
    uint32_t debug_traps = 0;
    // DR7 enables a data or I/O breakpoint, so accesses are checked (set by the run loop for
    // each instruction; emu/cpu/debug.hpp).
    bool watch_accesses = false;

    // Clears the per-instruction bookkeeping before the next instruction.
    void begin_instruction() {
        stop = Stop::None;
        shadow_next = 0;
        keep_progress = false;
        io_data_pending = false;
        unsupported_detail = nullptr;
        task_committed = false;
        debug_traps = 0;
        watch_accesses = false;
    }

    // ---- faults and stops
    bool raise(uint8_t vector) {
        fault = {vector, false, 0};
        stop = Stop::Fault;
        return false;
    }
    bool raise(uint8_t vector, uint32_t error_code) {
        fault = {vector, true, error_code};
        stop = Stop::Fault;
        return false;
    }
    bool unsupported(const char* why) {
        unsupported_detail = why;
        stop = Stop::Unsupported;
        return false;
    }

    // ---- registers
    template <class T>
    T reg(uint8_t index) const {
        if constexpr (sizeof(T) == 1) {
            return static_cast<T>(index < 4 ? s.gpr[index] : s.gpr[index - 4] >> 8);
        } else {
            return static_cast<T>(s.gpr[index]);
        }
    }
    template <class T>
    void set_reg(uint8_t index, T value) {
        if constexpr (sizeof(T) == 1) {
            if (index < 4)
                s.gpr[index] = (s.gpr[index] & ~0xFFu) | value;
            else
                s.gpr[index - 4] = (s.gpr[index - 4] & ~0xFF00u) | (uint32_t{value} << 8);
        } else if constexpr (sizeof(T) == 2) {
            s.gpr[index] = (s.gpr[index] & ~0xFFFFu) | value;
        } else {
            s.gpr[index] = value;
        }
    }
    uint32_t& gpr(Gpr r) { return s[r]; }

    // Count register for string/LOOP instructions under the given address size.
    uint32_t count_reg(uint8_t address_size) const {
        return address_size == 2 ? (s[Gpr::ECX] & 0xFFFF) : s[Gpr::ECX];
    }
    void set_count_reg(uint8_t address_size, uint32_t value) {
        if (address_size == 2)
            set_reg<uint16_t>(1, static_cast<uint16_t>(value));
        else
            s[Gpr::ECX] = value;
    }

    bool flag(uint32_t f) const { return (s.eflags & f) != 0; }
    void set_flag(uint32_t f, bool on) { s.eflags = on ? (s.eflags | f) : (s.eflags & ~f); }
    // Replaces the status flags in `mask` with those in `value`.
    void set_status(uint32_t value, uint32_t mask = flags::Status) {
        s.eflags = (s.eflags & ~mask) | (value & mask);
    }

    // ---- segmentation
    const SegmentCache& segment(Seg seg) const { return s[seg]; }
    bool code32() const { return ar::db(s[Seg::CS].access_rights); }
    bool stack32() const { return ar::db(s[Seg::SS].access_rights); }
    uint32_t ip_mask(uint8_t operand_size) const { return operand_size == 4 ? ~0u : 0xFFFFu; }

    // Checks an access of `size` bytes at seg:offset against the segment cache (SDM Vol. 3A
    // 5.3 limit checking, 5.4 type checking) and forms the linear address.
    bool linearize(Seg seg, uint32_t offset, uint32_t size, bool write, uint32_t& linear);

    // Accesses by linear address at the current CPL: translated by paging when CR0.PG = 1
    // (every page the access touches is checked, and its accessed/dirty flags set, before any
    // byte moves), A20 applied; outside RAM stops with Mmio.
    bool read_linear(uint32_t linear, void* out, uint32_t size);
    bool write_linear(uint32_t linear, const void* in, uint32_t size);
    // The same for the processor's own accesses to the GDT, LDT, IDT and TSS.
    bool read_system(uint32_t linear, void* out, uint32_t size);
    bool write_system(uint32_t linear, const void* in, uint32_t size);

    // Linear -> physical for an access of `size` bytes (1..4096) of `kind` by `who`: with
    // paging on, each page is looked up in the TLB or walked (SDM Vol. 3A chapter 4), its
    // rights checked and its accessed/dirty flags set, and a fault raises #PF (fault.address
    // for CR2); with paging off the physical address is the linear one, A20 applied. False
    // when it faulted or stopped (a paging structure outside RAM: Unsupported). Nothing is
    // read or written at the destination: callers that need the bytes (an atomic read-modify-
    // write, a breakpoint match) use the parts' addresses and host pointers.
    bool translate(uint32_t linear, uint32_t size, AccessKind kind, Accessor who,
                   PhysicalAccess& out);

    // The physical address of the instruction byte at `linear`: with paging, translated and
    // checked for a fetch at the current CPL (a fault raises #PF); else linear, A20 applied.
    bool fetch_address(uint32_t linear, uint64_t& phys) {
        if (!(s.cr0 & cr0::PG)) {
            phys = a20 ? linear : linear & ~(1u << 20);
            return true;
        }
        const TlbEntry* e;
        if (!translate_page(linear, AccessKind::Fetch, s.cpl() == 3, e)) return false;
        phys = e->frame | (linear & 0xFFF);
        return true;
    }
    // The host memory a locked read-modify-write of `size` bytes at `linear` works on
    // atomically (emu/cpu/locked_access.hpp): the one place a locked access turns a linear
    // address into a host pointer, translated for a write with paging. False when a fault
    // was raised (#PF); `host` is nullptr when the bytes are not one range of writable RAM
    // (MMIO, a read-only slot, two slots, two pages).
    bool locked_destination(uint32_t linear, uint32_t size, uint8_t*& host);

    template <class T>
    bool read(Seg seg, uint32_t offset, T& value) {
        constexpr uint32_t size = sizeof(T);
        uint32_t linear;
        if (!linearize(seg, offset, size, false, linear)) return false;
        return read_linear(linear, &value, size);
    }
    template <class T>
    bool write(Seg seg, uint32_t offset, T value) {
        constexpr uint32_t size = sizeof(T);
        uint32_t linear;
        if (!linearize(seg, offset, size, true, linear)) return false;
        return write_linear(linear, &value, size);
    }

    // ---- operands
    Address address_of(const Insn& insn, const Operand& op) const {
        uint32_t offset = op.value;
        if (op.base != decoder::kNoReg) offset += s.gpr[op.base];
        if (op.index != decoder::kNoReg) offset += s.gpr[op.index] * op.scale;
        if (insn.address_size == 2) offset &= 0xFFFF;
        return {static_cast<Seg>(op.segment), offset};
    }

    template <class T>
    bool read_operand(const Insn& insn, const Operand& op, T& value) {
        switch (op.kind) {
        case OperandKind::Reg: value = reg<T>(op.reg); return true;
        case OperandKind::Imm: value = static_cast<T>(op.value); return true;
        case OperandKind::Mem: {
            const Address a = address_of(insn, op);
            return read(a.seg, a.offset, value);
        }
        case OperandKind::Sreg: value = static_cast<T>(s.seg[op.reg].selector); return true;
        default: return unsupported("operand kind not readable");
        }
    }
    template <class T>
    bool write_operand(const Insn& insn, const Operand& op, T value) {
        switch (op.kind) {
        case OperandKind::Reg: set_reg<T>(op.reg, value); return true;
        case OperandKind::Mem: {
            const Address a = address_of(insn, op);
            return write(a.seg, a.offset, value);
        }
        default: return unsupported("operand kind not writable");
        }
    }

    // ---- stack (SS.B selects SP or ESP, SDM Vol. 3A 6.2.3)
    uint32_t stack_pointer() const { return stack32() ? s[Gpr::ESP] : s[Gpr::ESP] & 0xFFFF; }
    void set_stack_pointer(uint32_t sp) {
        if (stack32())
            s[Gpr::ESP] = sp;
        else
            set_reg<uint16_t>(4, static_cast<uint16_t>(sp));
    }
    template <class T>
    bool push(T value) {
        const uint32_t mask = stack32() ? ~0u : 0xFFFFu;
        const uint32_t sp = (stack_pointer() - uint32_t{sizeof(T)}) & mask;
        if (!write(Seg::SS, sp, value)) return false;
        set_stack_pointer(sp);
        return true;
    }
    // Reads the stack `depth` bytes above the stack pointer without popping.
    template <class T>
    bool peek(uint32_t depth, T& value) {
        const uint32_t mask = stack32() ? ~0u : 0xFFFFu;
        return read(Seg::SS, (stack_pointer() + depth) & mask, value);
    }
    template <class T>
    bool pop(T& value) {
        if (!peek(0, value)) return false;
        release_stack(uint32_t{sizeof(T)});
        return true;
    }
    void release_stack(uint32_t bytes) {
        const uint32_t mask = stack32() ? ~0u : 0xFFFFu;
        set_stack_pointer((stack_pointer() + bytes) & mask);
    }

    // ---- control transfer
    void jump_near(uint32_t target, uint8_t operand_size) {
        next_eip = target & ip_mask(operand_size);
    }

  private:
    bool read_translated(uint32_t linear, void* out, uint32_t size, Accessor who);
    bool write_translated(uint32_t linear, const void* in, uint32_t size, Accessor who);
    bool translate_page(uint32_t linear, AccessKind kind, bool user, const TlbEntry*& entry);
    bool stop_for_mmio(uint64_t gpa, uint32_t size, bool write, const void* data);
};

// What Cpu::linearize() lets through `seg` without a fault, in the block engine's terms: the
// limit for reads and for writes of a normal segment, nothing for expand-down, unusable or
// mistyped ones (their accesses go to the interpreter).
SegmentWindow segment_window(const CpuState& state, Seg seg);

} // namespace transit86::emu
