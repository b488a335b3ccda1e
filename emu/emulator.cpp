// The run loop. It mirrors KVM's handle_invalid_guest_state (arch/x86/kvm/vmx/vmx.c): check
// the VM-entry state before each instruction, emulate one, and hand back to the host for
// port I/O, MMIO, HLT, exceptions it cannot deliver, and when the budget is spent.
#include <algorithm>
#include <array>
#include <cstdlib>

#include "decoder/decoder.hpp"
#include "emu/block/block_engine.hpp"
#include "emu/cpu/cpu.hpp"
#include "emu/cpu/debug.hpp"
#include "emu/interp/decode_cache.hpp"
#include "emu/system/interrupts.hpp"
#include "emu/system/paging.hpp"
#include "emu/system/v86_extensions.hpp"
#include "transit86/emulator.hpp"

namespace transit86 {

const char* to_string(ExitReason reason) {
    switch (reason) {
    case ExitReason::GuestStateValid: return "valid";
    case ExitReason::Step: return "step";
    case ExitReason::Halt: return "halt";
    case ExitReason::Io: return "io";
    case ExitReason::Mmio: return "mmio";
    case ExitReason::Exception: return "exception";
    case ExitReason::TripleFault: return "triple-fault";
    case ExitReason::Budget: return "budget";
    case ExitReason::Unsupported: return "unsupported";
    case ExitReason::InterruptWindow: return "interrupt-window";
    case ExitReason::Breakpoint: return "breakpoint";
    case ExitReason::GuestStateInvalid: return "invalid";
    }
    return "?";
}

namespace {

// The instruction at CS:EIP, as traces and the census name it.
InstructionAddress instruction_at_eip(const CpuState& state) {
    const SegmentCache& cs = state[Seg::CS];
    return {.cs = cs.selector,
            .eip = state.eip,
            .linear = static_cast<uint32_t>(cs.base + state.eip),
            .protected_mode = state.protected_mode(),
            .code32 = ar::db(cs.access_rights),
            .v86 = state.v86()};
}

} // namespace

struct Emulator::Impl {
    Impl(std::span<const RamSlot> slots, PortHandler* port_handler)
        : state(reset_state(ResetPreset::Intel)), memory(slots), ports(port_handler),
          cpu(state, memory, port_handler, &emu::page_walk) {
        cpu.model = &model;
        cpu.mmio_completed = &mmio_completed;
        blocks.set_skip_fixed_points(fast_forward);
        blocks.set_cpu_model(&model);
    }

    CpuState state;
    emu::GuestMemory memory;
    PortHandler* ports;
    CpuModel model{};
    bool a20 = true;
    bool exceptions_to_host = false; // RunLimits::exceptions_to_host of the current run
    bool io_resume = false; // the last exit was Io: the host has performed / will complete it
    PortAccess pending_io{};
    bool mmio_resume = false; // the last exit was Mmio: completed by the host on resume
    emu::CompletedMmio::Access pending_mmio{};
    emu::CompletedMmio mmio_completed{}; // for the instruction being re-executed
    emu::Cpu cpu; // the interpreter context, reused from one instruction to the next
    // Scratch kept out of step()'s frame: zero-initializing them per instruction costs more
    // than the rest of a simple instruction.
    CpuState rollback_state{};
    decoder::Insn decoded{};
    emu::Dispatch decoded_dispatch{};
    emu::DecodeCache decode_cache{};
    emu::BlockEngine blocks{}; // the fast tier, on and off with the decode cache
    // Polling loops (docs/architecture.md): the port the last interpreted instruction read
    // with IN (size 0: none), and what the PortHandler promised about it afterwards, valid
    // until the next interpreted instruction or run().
    emu::SteadyPort polled{};
    emu::SteadyPort steady{};
    // TRANSIT86_NO_FAST_FORWARD in the environment turns promises and skipped iterations
    // off, for the tests that check they change nothing.
    bool fast_forward = std::getenv("TRANSIT86_NO_FAST_FORWARD") == nullptr;
    bool decode_cache_enabled = true;
    // The last instruction step() ran came from the decode cache: code that has run before,
    // where the block engine is worth asking. Code that runs once never pays for it.
    bool last_step_cached = false;
    // Since the block engine last ran: a run() began, or an interpreted instruction accessed a
    // device or serialized (SDM Vol. 3A 9.1.3, cross-modifying code). Then, or when the
    // interpreter wrote into code the engine has checked since (GuestMemory::take_written),
    // the engine compares its blocks with memory again (BlockEngine::new_epoch).
    bool code_may_have_changed = true;
    EngineStats stats{};
    InstructionAddress last_interpreted{};
    // Emulator::repeated_fault, and the registers the last delivered fault was raised with.
    RepeatedFault repeated_fault{};
    std::array<uint32_t, 8> repeated_fault_gpr{};
    uint32_t repeated_fault_eflags = 0;
    void count_repeated_fault(uint8_t vector);
    // Emulator::last_delivery; `injecting` while deliver_event() runs.
    Delivery delivery{};
    bool injecting = false;
    void note_delivery(const emu::Fault& fault, bool interrupt);
    // The kvm profile reads only segment registers, CR0 and EFLAGS.VM: its verdict is
    // recomputed only after an instruction that can change them (as KVM re-evaluates
    // emulation_required after CR0 and segment writes), after an event, and at each run().
    bool vmx_dirty = true;
    bool vmx_valid = false;
    // Debug traps of a MOV SS / POP SS, held until the next instruction completes (SDM Vol. 3A
    // 6.8.3: "debug exceptions ... are inhibited" until then; the #DB reports both).
    uint32_t held_debug_traps = 0;
    // The last Restarted step left a REP string instruction to resume at the same EIP (no
    // #DB was delivered between its chunks).
    bool rep_resumes = false;

    // Outcome of one instruction.
    // Restarted: a REP string instruction stopped between chunks (Cpu::rep_restart); EIP is
    // still at it and it has not retired.
    enum class Outcome : uint8_t { Retired, Stopped, Restarted };
    Outcome step(Exit& exit);
    // The verdict of `profile` on the current state; kvm's from the cache above.
    bool valid_under(vmx::Profile profile) {
        if (profile != vmx::Profile::Kvm) return vmx::is_valid(state, profile);
        if (vmx_dirty) {
            vmx_valid = vmx::is_valid(state, profile);
            vmx_dirty = false;
        }
        return vmx_valid;
    }
    // Delivers a host-injected event (Emulator::deliver_event).
    Outcome inject(const InjectedEvent& event, Exit& exit);
    // After an interpreted IN of code that has run before: asks the PortHandler how long the
    // port keeps its value (PortHandler::steady_read), where the block engine may use it.
    void ask_steady_port();

    // Before the first instruction of a run() or an injected event: the host may have changed
    // the state or guest memory, so translations are made afresh (as KVM_SET_SREGS resets
    // KVM's MMU context), and the paging mode is taken from the state. Returns why the state
    // cannot run (long mode), or nullptr.
    const char* begin_run() {
        cpu.translated = !a20 || (state.cr0 & cr0::PG) != 0;
        if (!(state.cr0 & cr0::PG)) return nullptr;
        cpu.tlb.flush_all();
        return emu::unmodelled_paging_mode(state);
    }

  private:
    // Up to 15 bytes at CS:EIP, as far as the CS limit, RAM and paging allow; `from_limit` gets
    // how many the CS limit allows. With `first_page_only`, none past the page EIP is in.
    uint32_t fetch(uint8_t* bytes, uint32_t& from_limit, bool first_page_only = false);
    Outcome finish_fault(Exit& exit);
    // What stopped fetch() short of the CS limit: a translation fault or stop (kept in
    // fetch_fault, raised only if the decoder needs those bytes), or MMIO at fetch_mmio.
    bool fetch_faulted = false;
    emu::Fault fetch_fault{};
    emu::Stop fetch_stop = emu::Stop::None;
    uint64_t fetch_mmio = 0;
    // Records `conditions` in DR6 and delivers #DB (or hands it to the host) like a fault.
    Outcome raise_debug(uint32_t conditions, Exit& exit);
    // The debug traps of an instruction that completed (SDM Vol. 3B 18.3.1): #DB now, or held
    // by MOV SS / POP SS.
    Outcome take_debug_traps(uint32_t traps, Exit& exit);
};

namespace {

using emu::Stop;

// The serializing instructions (SDM Vol. 3A 9.1.3, "Handling Self- and Cross-Modifying Code";
// 8.3 lists them). Port I/O ends the epoch when the device may have written guest memory
// (Cpu::device_may_have_written).
constexpr bool serializes(decoder::Op op) {
    using decoder::Op;
    switch (op) {
    case Op::Cpuid:
    case Op::Iret:
    case Op::MovToCr:
    case Op::MovToDr:
    case Op::Lgdt:
    case Op::Lidt:
    case Op::Lldt:
    case Op::Ltr:
    case Op::Wrmsr:
    case Op::Invd:
    case Op::Wbinvd:
    case Op::Invlpg: return true;
    default: return false;
    }
}
// What step() notes about an operation after it retires: one table load for all of them.
constexpr uint8_t kEndsEpoch = 1; // serializes
constexpr uint8_t kPollsPort = 2; // IN: the PortHandler may promise a steady value
constexpr auto kStepNotes = [] {
    std::array<uint8_t, static_cast<size_t>(decoder::Op::Count)> table{};
    for (size_t op = 0; op < table.size(); ++op) {
        const auto o = static_cast<decoder::Op>(op);
        table[op] = static_cast<uint8_t>((serializes(o) ? kEndsEpoch : 0) |
                                         (o == decoder::Op::In ? kPollsPort : 0));
    }
    return table;
}();

decoder::FetchMode fetch_mode(const CpuState& s) {
    return {.protected_mode = s.protected_mode(),
            .code32 = ar::db(s[Seg::CS].access_rights),
            .v86 = s.v86()};
}

void stop_exit(Exit& exit, ExitReason reason, const char* detail = nullptr) {
    exit.reason = reason;
    exit.detail = detail;
}

} // namespace

// Reads up to 15 instruction bytes at CS:EIP. `from_limit` is how many the CS limit allows
// (fewer than 15 near the limit); the return value is how many RAM supplied.
uint32_t Emulator::Impl::fetch(uint8_t* bytes, uint32_t& from_limit, bool first_page_only) {
    const SegmentCache& cs = state[Seg::CS];
    const uint64_t room = uint64_t{cs.limit} - state.eip + 1;
    from_limit = state.eip > cs.limit ? 0 : static_cast<uint32_t>(std::min<uint64_t>(15, room));
    const auto linear = static_cast<uint32_t>(cs.base + state.eip);
    fetch_faulted = false;
    if (cpu.translated) {
        // Paging or A20 masking: page by page, each page translated for a fetch. A fault on
        // a later page matters only if the instruction reaches it (the decoder decides).
        uint32_t n = 0;
        const uint32_t wanted =
            first_page_only ? std::min(from_limit, 0x1000 - (linear & 0xFFF)) : from_limit;
        while (n < wanted) {
            const uint32_t at = linear + n;
            const uint32_t chunk = std::min(wanted - n, 0x1000 - (at & 0xFFF));
            emu::PhysicalAccess where;
            if (!cpu.translate(at, chunk, emu::AccessKind::Fetch, emu::Accessor::Program, where)) {
                fetch_faulted = true;
                fetch_fault = cpu.fault;
                fetch_stop = cpu.stop;
                cpu.stop = Stop::None;
                return n;
            }
            for (uint8_t i = 0; i < where.count; ++i) {
                const emu::PhysicalAccess::Part& part = where.parts[i];
                for (uint32_t b = 0; b < part.size; ++b, ++n)
                    if (!memory.read(part.address + b, bytes + n, 1)) {
                        fetch_mmio = part.address + b;
                        return n;
                    }
            }
        }
        return n;
    }
    // Linear = physical. Usually all of it lies in one slot and no 4 GiB wrap cuts it.
    if (from_limit != 0 && uint64_t{linear} + from_limit <= (uint64_t{1} << 32)) {
        if (const uint8_t* host = memory.host_range(linear, from_limit, false)) {
            std::copy_n(host, from_limit, bytes);
            return from_limit;
        }
    }
    uint32_t n = 0;
    for (; n < from_limit; ++n)
        if (!memory.read(linear + n, bytes + n, 1)) break;
    fetch_mmio = uint64_t{linear} + n;
    return n;
}

Emulator::Impl::Outcome Emulator::Impl::finish_fault(Exit& exit) {
    // Delivered through the IVT or the IDT, escalating to #DF and shutdown as SDM Vol. 3A
    // 6.15 (Table 6-5) says — unless the host asked for every exception: KVM cannot inject
    // into an invalid guest state and fails the emulation there instead.
    emu::Fault fault = cpu.fault;
    bool task_trap_taken = false;
    for (int depth = 0;; ++depth) {
        // SDM Vol. 3A 4.7: CR2 receives the linear address of a page fault, before delivery
        // (so also when delivery fails, and when the host takes the exception).
        if (fault.vector == emu::vec::PF) state.cr2 = fault.address;
        if (exceptions_to_host) {
            stop_exit(exit, ExitReason::Exception, "exception handed to the host");
            // Exit::linear_address names the faulting instruction (emulator.hpp); the state
            // is back at it, so CS.base + EIP is its address.
            exit.linear_address = static_cast<uint32_t>(state[Seg::CS].base + state.eip);
            exit.vector = fault.vector;
            exit.has_error_code = fault.has_error_code;
            exit.error_code = fault.error_code;
            return Outcome::Stopped;
        }
        if (depth == 0) count_repeated_fault(fault.vector);
        const CpuState before = state;
        cpu.task_committed = false;
        cpu.debug_traps = 0;
        if (emu::deliver_exception(cpu, fault)) {
            note_delivery(fault, false);
            mmio_completed.count = 0;
            vmx_dirty = true; // delivery loads CS
            if (!(cpu.debug_traps & dr6::BT) || task_trap_taken) return Outcome::Retired;
            // Delivered through a task gate to a TSS with the T bit: the #DB follows before
            // the handler's first instruction (SDM Vol. 3B 18.3.1.5). Taken once: a #DB
            // handler task with T set would loop forever on a processor.
            task_trap_taken = true;
            emu::record_debug_exception(state, dr6::BT);
            fault = emu::Fault{emu::vec::DB};
            depth = -1; // a new event: #DB is benign, nothing escalates from the first one
            continue;
        }
        // A task gate's switch that faulted after its commit point leaves the new task's
        // state: the next fault is delivered there (SDM Vol. 3A 7.3, Table 7-1).
        if (cpu.task_committed)
            vmx_dirty = true;
        else
            state = before;
        if (cpu.stop == Stop::Mmio) {
            // The IVT, IDT, a descriptor or the stack is outside RAM. The exit names the
            // access, but delivery does not resume from a completion: the host cannot finish it.
            stop_exit(exit, ExitReason::Mmio, "exception delivery outside guest RAM");
            exit.mmio_address = cpu.mmio_address;
            exit.mmio_size = cpu.mmio_size;
            exit.mmio_write = cpu.mmio_write;
            exit.mmio_data = cpu.mmio_data;
            return Outcome::Stopped;
        }
        if (cpu.stop != Stop::Fault) {
            stop_exit(exit, ExitReason::Unsupported, cpu.unsupported_detail);
            return Outcome::Stopped;
        }
        const emu::Fault second = cpu.fault;
        if (second.vector == emu::vec::PF) state.cr2 = second.address;
        if (fault.vector == emu::vec::DF || depth >= 2) {
            stop_exit(exit, ExitReason::TripleFault, "fault while delivering #DF");
            return Outcome::Stopped;
        }
        fault = emu::makes_double_fault(fault.vector, second.vector)
                    ? emu::Fault{emu::vec::DF, true, 0}
                    : second;
    }
}

void Emulator::Impl::note_delivery(const emu::Fault& fault, bool interrupt) {
    delivery = {.count = delivery.count + 1,
                .vector = fault.vector,
                .has_error_code = fault.has_error_code,
                .error_code = fault.error_code,
                .interrupt = interrupt,
                .injected = injecting,
                .tsc = state.tsc,
                .handler_cs = state[Seg::CS].selector,
                .handler_eip = state.eip};
}

// The same instruction (CS selector and linear address) with the same registers raising the
// same vector again: nothing the handler did between the two reached the fault's cause.
void Emulator::Impl::count_repeated_fault(uint8_t vector) {
    const InstructionAddress at = instruction_at_eip(state);
    RepeatedFault& r = repeated_fault;
    if (r.times != 0 && r.vector == vector && r.at.linear == at.linear && r.at.cs == at.cs &&
        repeated_fault_gpr == state.gpr && repeated_fault_eflags == state.eflags) {
        ++r.times;
        return;
    }
    r = {.vector = vector, .at = at, .times = 1};
    repeated_fault_gpr = state.gpr;
    repeated_fault_eflags = state.eflags;
}

Emulator::Impl::Outcome Emulator::Impl::raise_debug(uint32_t conditions, Exit& exit) {
    emu::record_debug_exception(state, conditions);
    cpu.raise(emu::vec::DB);
    return finish_fault(exit);
}

Emulator::Impl::Outcome Emulator::Impl::take_debug_traps(uint32_t traps, Exit& exit) {
    if (state.interruptibility & interruptibility::BlockingByMovSs) {
        held_debug_traps = traps;
        return Outcome::Retired;
    }
    held_debug_traps = 0;
    return raise_debug(traps, exit);
}

Emulator::Impl::Outcome Emulator::Impl::step(Exit& exit) {
    steady.size = 0; // a promise holds only while nothing else runs
    cpu.begin_instruction();
    cpu.ports = ports;
    bool completing = false; // the host completed this instruction's I/O or MMIO
    if (mmio_resume) {
        if (mmio_completed.count < mmio_completed.done.size())
            mmio_completed.done[mmio_completed.count++] = pending_mmio;
        mmio_resume = false;
        completing = true;
    }
    const bool resumed_io = io_resume;
    if (io_resume) {
        completing = true;
        cpu.io = pending_io;
        cpu.io_data_pending = true;
        io_resume = false;
    }
    // VIF and VIP both set at the start of an instruction under CR4.VME: #GP(0) before it
    // runs (SDM Vol. 3A 20.3.2; emu/system/v86_extensions.hpp).
    if ((state.eflags & flags::VIP) && emu::virtual_interrupt_pending(state)) [[unlikely]] {
        cpu.raise(emu::vec::GP, 0);
        return finish_fault(exit);
    }

    uint8_t bytes[15];
    uint32_t from_limit = 0;
    uint32_t fetched = 0;
    const SegmentCache& cs = state[Seg::CS];
    last_interpreted = instruction_at_eip(state);
    const auto linear = static_cast<uint32_t>(last_interpreted.linear);
    // Debug registers (SDM Vol. 3B 18.3.1.1): an enabled instruction breakpoint here is a
    // fault before the instruction runs, unless RF = 1 or the host is completing its I/O or
    // MMIO (it was checked when the instruction started). With a data or I/O breakpoint
    // enabled, the instruction's accesses are watched.
    if (state.dr7 & dr7::Enables) [[unlikely]] {
        if (!(state.eflags & flags::RF) && !completing)
            if (const uint32_t hits = emu::instruction_breakpoints_at(state, linear))
                return raise_debug(hits, exit);
        cpu.watch_accesses = emu::watches_accesses(state);
    }
    auto record_bytes = [&](uint32_t count) {
        if (fetched == 0) fetched = fetch(bytes, from_limit);
        count = std::min(count, fetched);
        exit.linear_address = linear;
        exit.byte_count = static_cast<uint8_t>(count);
        std::copy_n(bytes, count, exit.bytes.begin());
    };

    const decoder::FetchMode mode = fetch_mode(state);
    const uint8_t mode_key = emu::DecodeCache::mode_key(mode.protected_mode, mode.code32, mode.v86);
    // The physical address of the first byte keys the decode cache (so a mapping change, or
    // the same code under another linear address, finds the right record). With paging it is
    // a fetch through the TLB, which may fault; segmentation comes first (EIP beyond the CS
    // limit is #GP from the fetch below). Without paging or A20 masking it is the linear one.
    const bool translated = cpu.translated;
    uint64_t phys = linear;
    if (translated && state.eip <= cs.limit && !cpu.fetch_address(linear, phys)) {
        if (cpu.stop == Stop::Fault) return finish_fault(exit);
        exit.linear_address = linear; // a paging structure outside RAM
        stop_exit(exit, ExitReason::Unsupported, cpu.unsupported_detail);
        return Outcome::Stopped;
    }
    // A cached record is used only where its bytes are contiguous in physical memory: not
    // across a 1 MiB boundary with A20 masked, not across a page with paging.
    const auto contiguous = [&](uint32_t length) {
        if (!translated) return true;
        if (phys > 0xFFFFFFFFu) return false;
        if (!a20 && ((phys ^ (phys + length - 1)) & (1u << 20)) != 0) return false;
        return !(state.cr0 & cr0::PG) || (linear & 0xFFF) + length <= 0x1000;
    };
    const emu::DecodeCache::Entry* cached = nullptr;
    if (decode_cache_enabled) {
        if (const auto* e = decode_cache.find(static_cast<uint32_t>(phys), mode_key);
            e && state.eip <= cs.limit && e->length - 1u <= cs.limit - state.eip &&
            contiguous(e->length)) {
            const uint8_t* host = memory.host_range(phys, e->length, false);
            if (host && emu::DecodeCache::matches(*e, host)) cached = e;
        }
    }
    last_step_cached = cached != nullptr;
    decoder::DecodeStatus status = decoder::DecodeStatus::Ok;
    if (!cached) {
        // Under paging the next page is translated (its accessed flags set, its #PF raised)
        // only if the instruction reaches it: the decoder first gets the bytes up to the page
        // end. The SDM would allow a prefetch to translate it (Vol. 3A 4.10.2.3), but then
        // those flags would depend on whether a decode-cache record existed.
        const bool paged = (state.cr0 & cr0::PG) != 0;
        fetched = fetch(bytes, from_limit, paged);
        status = decoder::decode(bytes, fetched, mode, decoded);
        if (paged && status == decoder::DecodeStatus::Truncated && fetched < from_limit &&
            !fetch_faulted) {
            fetched = fetch(bytes, from_limit);
            status = decoder::decode(bytes, fetched, mode, decoded);
        }
        if (status == decoder::DecodeStatus::Ok && decode_cache_enabled &&
            contiguous(decoded.length) && memory.host_range(phys, decoded.length, false))
            cached = &decode_cache.store(static_cast<uint32_t>(phys), mode_key, bytes, decoded);
        else if (status == decoder::DecodeStatus::Ok)
            decoded_dispatch = emu::dispatch_for(decoded);
    }
    const decoder::Insn& insn = cached ? cached->insn : decoded;
    const emu::Dispatch& dispatch = cached ? cached->dispatch : decoded_dispatch;
    switch (status) {
    case decoder::DecodeStatus::Ok: break;
    case decoder::DecodeStatus::Invalid: cpu.raise(emu::vec::UD); return finish_fault(exit);
    case decoder::DecodeStatus::TooLong: // SDM Vol. 3A 2.3.11: more than 15 bytes -> #GP(0)
        cpu.raise(emu::vec::GP, 0);
        return finish_fault(exit);
    case decoder::DecodeStatus::Truncated:
        if (fetched == from_limit) { // the CS limit cut the instruction: #GP(0)
            cpu.raise(emu::vec::GP, 0);
            return finish_fault(exit);
        }
        if (fetch_faulted && fetch_stop == Stop::Fault) { // the instruction reaches a page
            cpu.fault = fetch_fault;                      // that faults: #PF now
            cpu.stop = Stop::Fault;
            return finish_fault(exit);
        }
        record_bytes(fetched);
        if (fetch_faulted) {
            stop_exit(exit, ExitReason::Unsupported, cpu.unsupported_detail);
            return Outcome::Stopped;
        }
        stop_exit(exit, ExitReason::Mmio, "instruction fetch outside guest RAM");
        exit.mmio_address = fetch_mmio;
        return Outcome::Stopped;
    case decoder::DecodeStatus::Unsupported:
        record_bytes(std::max<uint32_t>(insn.length, 1));
        stop_exit(exit, ExitReason::Unsupported, "no handler for this instruction");
        return Outcome::Stopped;
    }

    // Straight-line execution advances the whole EIP, also in 16-bit code: only control
    // transfers with a 16-bit operand size truncate it (SDM JMP/CALL/RET "Operation"); a
    // 16-bit CS with a 64 KiB limit faults at the next fetch instead of wrapping.
    cpu.next_eip = state.eip + insn.length;
    // RF is cleared as the instruction starts, after the instruction-breakpoint check (SDM
    // Vol. 3B 18.3.1.1); IRETD and task switches may load it again. An instruction that stops
    // without completing gets it back.
    const uint32_t eflags_at_start = state.eflags;
    const uint32_t resume_flag = eflags_at_start & flags::RF;
    state.eflags = eflags_at_start & ~flags::RF;
    // The debug traps the instruction raises when it completes (SDM Vol. 3B 18.3.1): those a
    // MOV SS held, single step when it began with TF = 1 (17.3.1.4; not INT n/INT3/INTO,
    // whose delivery clears TF before a trap could be taken); data and I/O breakpoints and
    // the T bit of a task switch add theirs as it runs.
    const bool single_step = (eflags_at_start & flags::TF) != 0 && !dispatch.software_interrupt;
    cpu.debug_traps = held_debug_traps | (single_step ? dr6::BS : 0);
    CpuState& before = rollback_state;
    const bool rollback = dispatch.needs_rollback;
    if (rollback) before = state;
    const bool ok = dispatch.handler(cpu, insn);
    if (!ok) {
        // Handlers without a rollback snapshot stop before they change anything. A task
        // switch that faulted after its commit point keeps the new task's state, EIP at its
        // first instruction (SDM Vol. 3A 7.3, Table 7-1).
        if (cpu.task_committed)
            vmx_dirty = true;
        else if (rollback && !cpu.keep_progress)
            state = before;
        else if (rollback)
            state.eip = before.eip;
        if (!cpu.task_committed) state.eflags |= resume_flag;
        // A string instruction that completed iterations before stopping: the MMIO accesses
        // the host completed belonged to those iterations, and the next one starts afresh.
        if (cpu.keep_progress && state.gpr != before.gpr) mmio_completed.count = 0;
        // An IN whose data the host supplied, stopped later by MMIO (INS to MMIO): the
        // re-execution must use the same data, not read the port again.
        if (resumed_io && !cpu.io_data_pending && cpu.stop == Stop::Mmio && state.gpr == before.gpr)
            io_resume = true;
        switch (cpu.stop) {
        case Stop::Fault:
            held_debug_traps = 0; // the instruction they waited for did not complete
            return finish_fault(exit);
        case Stop::Io:
            stop_exit(exit, ExitReason::Io);
            exit.io = cpu.io;
            pending_io = cpu.io;
            io_resume = true;
            return Outcome::Stopped;
        case Stop::Mmio:
            stop_exit(exit, ExitReason::Mmio);
            exit.mmio_address = cpu.mmio_address;
            exit.mmio_size = cpu.mmio_size;
            exit.mmio_write = cpu.mmio_write;
            exit.mmio_data = cpu.mmio_data;
            pending_mmio = {cpu.mmio_address, cpu.mmio_size, cpu.mmio_write, cpu.mmio_data};
            mmio_resume = true;
            record_bytes(insn.length);
            return Outcome::Stopped;
        default:
            record_bytes(insn.length);
            stop_exit(exit, ExitReason::Unsupported, cpu.unsupported_detail);
            return Outcome::Stopped;
        }
    }
    if (cpu.rep_restart) {
        cpu.rep_restart = false;
        mmio_completed.count = 0; // the completed accesses belonged to finished iterations
        // Between iterations the REP keeps RF set, as KVM's emulator does and as an interrupt
        // taken there pushes it (SDM Vol. 3B 18.3.1.1), so that resuming it does not take its
        // instruction breakpoint again. Single step and data breakpoints trap after the
        // iteration that raised them (exec_string.cpp stops there), EIP still at the REP.
        state.eflags |= flags::RF;
        const uint32_t traps = cpu.debug_traps;
        rep_resumes = traps == 0;
        if (rep_resumes) return Outcome::Restarted;
        held_debug_traps = 0;
        const Outcome delivered = raise_debug(traps, exit);
        return delivered == Outcome::Retired ? Outcome::Restarted : delivered;
    }
    state.eip = cpu.next_eip;
    state.interruptibility = cpu.shadow_next;
    ++state.tsc;
    // A REP INS/OUTS between chunks reaches its device without retiring, but the block engine
    // cannot run that instruction, and a stopped one ends the run.
    if (const uint8_t notes = kStepNotes[static_cast<size_t>(insn.op)]) [[unlikely]] {
        if (notes & kEndsEpoch) code_may_have_changed = true;
        if (notes & kPollsPort) {
            const decoder::Operand& port = insn.operands[1];
            polled.port = static_cast<uint16_t>(
                port.kind == decoder::OperandKind::Imm ? port.value : state.gpr[2]);
            polled.size = insn.operands[0].size;
        }
    }
    mmio_completed.count = 0;
    if (dispatch.may_change_vmx_state) vmx_dirty = true;
    if (cpu.stop == Stop::Halt) {
        stop_exit(exit, ExitReason::Halt);
        return Outcome::Stopped;
    }
    // Traps after the instruction (SDM Vol. 3B 18.3.1): single step, data and I/O breakpoints,
    // the T bit of a task switched to, and those a MOV SS held.
    if (cpu.debug_traps != 0) [[unlikely]]
        return take_debug_traps(cpu.debug_traps, exit);
    return Outcome::Retired;
}

Emulator::Impl::Outcome Emulator::Impl::inject(const InjectedEvent& event, Exit& exit) {
    cpu.begin_instruction();
    cpu.ports = ports;
    if (const char* why = begin_run()) {
        stop_exit(exit, ExitReason::Unsupported, why);
        return Outcome::Stopped;
    }
    vmx_dirty = true;
    const bool to_host = exceptions_to_host;
    exceptions_to_host = false; // the host asked for this delivery
    injecting = true;
    Outcome outcome = Outcome::Retired;
    if (event.kind == InjectedEvent::Kind::Exception) {
        const emu::Fault fault{event.vector, event.has_error_code, event.error_code};
        cpu.fault = fault;
        cpu.stop = Stop::Fault;
        outcome = finish_fault(exit);
    } else {
        // An external interrupt is benign (SDM Vol. 3A Table 6-5): a fault while delivering
        // it is handled on its own, escalating only from there.
        const CpuState before = state;
        if (emu::deliver_exception(cpu, emu::Fault{event.vector, false, 0})) {
            note_delivery(emu::Fault{event.vector, false, 0}, true);
        } else {
            if (!cpu.task_committed) state = before;
            if (cpu.stop == Stop::Fault) {
                outcome = finish_fault(exit);
            } else {
                stop_exit(exit, ExitReason::Unsupported, "interrupt delivery touched MMIO");
                outcome = Outcome::Stopped;
            }
        }
    }
    exceptions_to_host = to_host;
    injecting = false;
    // Delivering an event ends the STI / MOV SS shadow (SDM Vol. 3A 6.8.3).
    if (outcome == Outcome::Retired)
        state.interruptibility &=
            ~(interruptibility::BlockingBySti | interruptibility::BlockingByMovSs);
    return outcome;
}

void Emulator::Impl::ask_steady_port() {
    // Only where the block engine can take it: code that has run before, and an I/O
    // permission check that cannot fail (SDM Vol. 1 19.5), which nothing a block runs changes.
    const uint32_t iopl = (state.eflags & flags::IOPL) >> 12;
    if (!fast_forward || !ports || !last_step_cached ||
        (state.protected_mode() && (state.v86() || state.cpl() > iopl)))
        return;
    PortAccess access{.port = polled.port, .size = polled.size, .is_in = true};
    if (const uint64_t instructions = ports->steady_read(access)) {
        steady = polled;
        steady.value = access.data;
        steady.until_tsc = state.tsc + instructions;
    }
}

std::optional<Exit> Emulator::deliver_event(const InjectedEvent& event) noexcept {
    Exit exit{};
    if (impl_->inject(event, exit) == Impl::Outcome::Retired) return std::nullopt;
    return exit;
}

Emulator::Emulator(std::span<const RamSlot> slots, PortHandler* ports)
    : impl_(std::make_unique<Impl>(slots, ports)) {}
Emulator::~Emulator() = default;

CpuState& Emulator::state() {
    return impl_->state;
}
const CpuState& Emulator::state() const {
    return impl_->state;
}

void Emulator::set_ram_slots(std::span<const RamSlot> slots) {
    impl_->memory.replace_slots(slots);
    // Decoded records and blocks are checked against the bytes they came from, but a block
    // keeps the slot it runs in, and a TLB entry the host pointer of its page: start all
    // three afresh.
    impl_->decode_cache.clear();
    impl_->blocks.clear();
    impl_->cpu.tlb.flush_all();
}

void Emulator::set_port_handler(PortHandler* ports) noexcept {
    impl_->ports = ports;
}
void Emulator::set_decode_cache(bool enabled) noexcept {
    impl_->decode_cache_enabled = enabled;
    impl_->decode_cache.clear();
    impl_->blocks.clear();
}

Emulator::RepeatedFault Emulator::repeated_fault() const noexcept {
    return impl_->repeated_fault;
}

Emulator::Delivery Emulator::last_delivery() const noexcept {
    return impl_->delivery;
}

Emulator::EngineStats Emulator::engine_stats() const noexcept {
    EngineStats stats = impl_->stats;
    stats.blocks_translated = impl_->blocks.translations();
    return stats;
}

void Emulator::complete_io(uint32_t data) noexcept {
    impl_->pending_io.data = data;
}
void Emulator::complete_mmio(uint64_t data) noexcept {
    impl_->pending_mmio.data = data;
}
bool Emulator::completion_pending() const noexcept {
    return impl_->io_resume || impl_->mmio_resume;
}
bool Emulator::debug_traps_held() const noexcept {
    return impl_->held_debug_traps != 0;
}
void Emulator::forget_pending() noexcept {
    Impl& m = *impl_;
    m.io_resume = false;
    m.pending_io = {};
    m.mmio_resume = false;
    m.pending_mmio = {};
    m.mmio_completed.count = 0;
    m.held_debug_traps = 0;
    m.rep_resumes = false;
    m.repeated_fault = {};
    m.polled.size = 0;
}
void Emulator::set_cpu_model(const CpuModel& model) noexcept {
    impl_->model = model;
}
const CpuModel& Emulator::cpu_model() const noexcept {
    return impl_->model;
}

void Emulator::set_a20(bool enabled) noexcept {
    impl_->a20 = enabled;
    // Also from a port write in the middle of a run (ports 92H, 8042): the next access sees it.
    emu::Cpu& cpu = impl_->cpu;
    if (cpu.a20 != enabled) {
        cpu.a20 = enabled;
        cpu.sync_memory_mode();
        if (impl_->state.cr0 & cr0::PG) cpu.tlb.flush_all();
    }
}

bool Emulator::load_pdptes() noexcept {
    emu::Cpu& cpu = impl_->cpu;
    cpu.begin_instruction();
    cpu.a20 = impl_->a20;
    std::array<uint64_t, 4> pdptes{};
    if (!emu::read_pdptes(cpu, impl_->state.cr3, pdptes)) {
        cpu.stop = Stop::None;
        return false;
    }
    impl_->state.pdpte = pdptes;
    return true;
}

InstructionAddress Emulator::last_interpreted() const noexcept {
    return impl_->last_interpreted;
}

bool Emulator::read_physical(uint64_t gpa, void* out, size_t size) const noexcept {
    return impl_->memory.read(gpa, out, size);
}
bool Emulator::write_physical(uint64_t gpa, const void* in, size_t size) noexcept {
    return impl_->memory.write(gpa, in, size);
}

bool Emulator::read_linear(uint64_t linear, void* out, size_t size) const noexcept {
    auto* dst = static_cast<uint8_t*>(out);
    // Page by page (linear addresses are 32 bits and wrap at 4 GiB); a page's bytes are
    // contiguous in guest-physical memory, also with A20 masked.
    for (size_t done = 0; done < size;) {
        const auto at = static_cast<uint32_t>(linear + done);
        const size_t chunk = std::min<size_t>(size - done, 0x1000 - (at & 0xFFF));
        uint64_t physical;
        if (!emu::peek_translation(impl_->state, impl_->memory, impl_->a20, at, physical) ||
            !impl_->memory.read(physical, dst + done, chunk))
            return false;
        done += chunk;
    }
    return true;
}

bool Emulator::write_linear(uint64_t linear, const void* in, size_t size) noexcept {
    const auto* src = static_cast<const uint8_t*>(in);
    // Every page is checked before any byte is written: all of it, or nothing.
    for (int pass = 0; pass < 2; ++pass) {
        for (size_t done = 0; done < size;) {
            const auto at = static_cast<uint32_t>(linear + done);
            const size_t chunk = std::min<size_t>(size - done, 0x1000 - (at & 0xFFF));
            uint64_t physical;
            if (!emu::peek_translation(impl_->state, impl_->memory, impl_->a20, at, physical))
                return false;
            if (pass == 0 ? !impl_->memory.writable(physical, chunk)
                          : !impl_->memory.write(physical, src + done, chunk))
                return false;
            done += chunk;
        }
    }
    return true;
}

Exit Emulator::run(const RunLimits& limits) noexcept {
    Exit exit{};
    impl_->exceptions_to_host = limits.exceptions_to_host;
    impl_->vmx_dirty = true;             // the host may have changed the state since the last run
    impl_->steady.size = 0;              // and the devices
    impl_->code_may_have_changed = true; // and guest memory
    if (const char* why = impl_->begin_run()) {
        exit.reason = ExitReason::Unsupported;
        exit.detail = why;
        return exit;
    }
    bool started = false; // the first instruction of a run never stops at a breakpoint
    // REP chunks that stopped without retiring (exec_string.cpp). Like each pass of KVM's
    // handle_invalid_guest_state loop, each spends one unit of the budget.
    uint64_t restarts = 0;
    // The block engine runs whole blocks between the checks below, so it stays out of single
    // steps, and runs no block that holds a breakpoint (BlockEngine::run). A block changes
    // only what no profile's checks read (general registers, EIP, the status flags and DF,
    // the TSC, memory), and a real-mode segment load where the kvm profile alone is watched
    // (below): so the validity of the state is the same at both ends of a block.
    const bool block_engine_allowed = impl_->decode_cache_enabled && !limits.single_step;
    const bool other_profile_watched =
        (limits.stop_when_valid && *limits.stop_when_valid != vmx::Profile::Kvm) ||
        (limits.stop_when_invalid && *limits.stop_when_invalid != vmx::Profile::Kvm);
    for (;;) {
        // An instruction waiting for its I/O or MMIO completion retires before anything else
        // is looked at, as KVM completes userspace I/O first thing in KVM_RUN.
        const bool completing = impl_->io_resume || impl_->mmio_resume;
        if (!completing && limits.stop_when_valid && impl_->valid_under(*limits.stop_when_valid)) {
            exit.reason = ExitReason::GuestStateValid;
            return exit;
        }
        if (!completing && limits.stop_when_invalid &&
            !impl_->valid_under(*limits.stop_when_invalid)) {
            exit.reason = ExitReason::GuestStateInvalid;
            return exit;
        }
        const CpuState& s = impl_->state;
        if (!completing && limits.interrupt_pending && (s.eflags & flags::IF) &&
            !(s.interruptibility &
              (interruptibility::BlockingBySti | interruptibility::BlockingByMovSs))) {
            exit.reason = ExitReason::InterruptWindow;
            return exit;
        }
        if (started && !limits.breakpoints.empty()) {
            const uint64_t linear = s[Seg::CS].base + s.eip;
            for (const uint64_t bp : limits.breakpoints)
                if (bp == linear) {
                    exit.reason = ExitReason::Breakpoint;
                    return exit;
                }
        }
        started = true;
        if (limits.budget != 0 && exit.instructions + restarts >= limits.budget) {
            exit.reason = ExitReason::Budget;
            return exit;
        }
        // Not with A20 masked, TF, RF or VIP set or a debug-register breakpoint enabled:
        // blocks check none of them (their accesses take linear = physical, or under paging
        // the TLB's translation; single step and breakpoints are per instruction; RF must
        // clear after one; step() checks VIP before each instruction, v86_extensions.hpp).
        if (block_engine_allowed && impl_->last_step_cached && !completing && impl_->a20 &&
            !(s.eflags & (flags::TF | flags::RF | flags::VIP)) && (s.dr7 & dr7::Enables) == 0 &&
            s.interruptibility == 0) {
            const uint64_t room =
                limits.budget == 0 ? UINT64_MAX : limits.budget - exit.instructions - restarts;
            const emu::GuestMemory::WrittenRange written = impl_->memory.take_written();
            if (impl_->code_may_have_changed || impl_->cpu.device_may_have_written ||
                impl_->blocks.holds_checked_code(written.first, written.end)) {
                impl_->blocks.new_epoch();
                impl_->code_may_have_changed = false;
                impl_->cpu.device_may_have_written = false;
            }
            // Real-mode segment loads keep a valid state valid under the kvm profile: blocks
            // run them unless the run stops when the state becomes valid (block_ops.cpp) or
            // another profile is watched (its rules on segments are not kvm's).
            const emu::Tlb* tlb = (s.cr0 & cr0::PG) ? &impl_->cpu.tlb : nullptr;
            if (const uint64_t retired = impl_->blocks.run(
                    impl_->state, impl_->memory, tlb, impl_->decode_cache, room, impl_->steady,
                    !limits.stop_when_valid && !other_profile_watched, limits.breakpoints)) {
                if (impl_->blocks.loaded_segments()) impl_->vmx_dirty = true;
                // What step() does when an instruction retires; the blocks changed nothing
                // else the checks above read (no CR0 or IF changes; a segment load only as said
                // above; the shadow only of a MOV SS the run stopped right after, which the
                // interrupt check above then honours).
                exit.instructions += retired;
                impl_->stats.in_blocks += retired;
                impl_->mmio_completed.count = 0;
                continue;
            }
        }
        const Impl::Outcome outcome = impl_->step(exit);
        if (outcome == Impl::Outcome::Restarted) {
            ++restarts;
            // Like RF: the REP's own breakpoint does not stop its next chunk (unless a #DB
            // went to its handler in between).
            started = !impl_->rep_resumes;
            continue;
        }
        if (outcome == Impl::Outcome::Retired || exit.reason == ExitReason::Halt) {
            ++exit.instructions;
            ++impl_->stats.interpreted;
        }
        if (impl_->polled.size != 0) [[unlikely]] {
            if (outcome == Impl::Outcome::Retired && block_engine_allowed) impl_->ask_steady_port();
            impl_->polled.size = 0;
        }
        if (outcome == Impl::Outcome::Stopped) return exit;
        if (limits.single_step) {
            exit.reason = ExitReason::Step;
            return exit;
        }
    }
}

} // namespace transit86
