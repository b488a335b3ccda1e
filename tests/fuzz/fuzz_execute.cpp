// libFuzzer target: decode and execute from an arbitrary starting state and arbitrary bytes,
// with a budget, through every exit and resume path of the embedding API.
//
// The machine: 640 KiB of RAM at 0, an MMIO hole up to 0xC0000, 256 KiB of read-only "ROM"
// up to 1 MiB and 64 KiB of RAM above it (the A20 wrap). Each slot is its own heap block, so
// ASan catches an access past any of them. The run must end in an exit, retire no more than
// its budget, and never throw: Emulator::run is noexcept, so an exception would terminate.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "decoder/decoder.hpp"
#include "execute_input.hpp"
#include "pc/pc_ports.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vcpu.hpp"
#include "transit86/vmx_checks.hpp"

namespace {

using namespace transit86;

constexpr std::array<RamSlot, 3> kLayout = {{
    {.guest_phys = 0, .size = 0xA0000},
    {.guest_phys = 0xC0000, .size = 0x40000, .read_only = true},
    {.guest_phys = 0x100000, .size = 0x10000},
}};
constexpr int kMaxRuns = 4; // run() calls per input: exits are completed and resumed

// A device stub: ports below 0x100 are handled here (IN answers host_data ^ port), the rest
// exit to the host, so both PortHandler results are exercised.
class StubPorts final : public PortHandler {
  public:
    explicit StubPorts(uint32_t data) : data_(data) {}
    Result access(PortAccess& access) override {
        if (access.port >= 0x100) return Result::ExitToHost;
        if (access.is_in) access.data = data_ ^ access.port;
        return Result::Handled;
    }

  private:
    uint32_t data_;
};

class ExitToHostPorts final : public PortHandler {
  public:
    Result access(PortAccess&) override { return Result::ExitToHost; }
};

struct Machine {
    std::array<std::vector<uint8_t>, kLayout.size()> ram;
    std::array<RamSlot, kLayout.size()> slots = kLayout;
    Machine() {
        for (size_t i = 0; i < kLayout.size(); ++i) {
            ram[i].assign(kLayout[i].size, 0);
            slots[i].host = ram[i].data();
        }
    }
    // Copies what falls inside RAM or ROM; the rest of the blob is dropped.
    void place(uint64_t address, std::span<const uint8_t> bytes) {
        for (size_t i = 0; i < kLayout.size(); ++i) {
            const uint64_t lo = std::max(address, kLayout[i].guest_phys);
            const uint64_t hi =
                std::min(address + bytes.size(), kLayout[i].guest_phys + kLayout[i].size);
            if (lo < hi)
                std::memcpy(ram[i].data() + (lo - kLayout[i].guest_phys),
                            bytes.data() + (lo - address), hi - lo);
        }
    }
};

void check(bool condition) {
    if (!condition) __builtin_trap();
}

// The fast path and the report agree (fuzz_state_json covers the reports in depth).
void judge(const CpuState& s) {
    for (const vmx::Profile p : {vmx::Profile::Kvm, vmx::Profile::Sdm, vmx::Profile::Unrestricted})
        check((vmx::first_failure(s, p) == nullptr) == vmx::is_valid(s, p));
    check(vmx::is_valid(s, vmx::Profile::Kvm) == vmx::evaluate(s, vmx::Profile::Kvm).empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const fuzz::ExecuteInput in = fuzz::decode_execute_input({data, size});
    static Machine machine; // allocated once; zeroed for every input
    for (auto& r : machine.ram)
        std::memset(r.data(), 0, r.size()); // not std::fill: instrumented byte loops are slow
    machine.place(in.data_address, in.data);
    machine.place(in.code_address, in.code);

    // The disassembler the trace uses, on the code as given, in the starting mode.
    (void)decoder::disassemble(in.code.data(), in.code.size(),
                               {.protected_mode = in.state.protected_mode(),
                                .code32 = ar::db(in.state[Seg::CS].access_rights),
                                .v86 = in.state.v86()},
                               in.state.eip);

    StubPorts stub(in.host_data);
    ExitToHostPorts exit_to_host;
    pc::PcPorts pc;
    PortHandler* const handlers[] = {&stub, &exit_to_host, &pc, nullptr};
    // One Emulator for every input: building one allocates its decode cache and block table
    // (6.4 MB), which ASan maps and poisons each time (it held the target to ~150 inputs a
    // second). forget_pending() drops what the last input may have left that no CpuState
    // carries (a pending I/O or MMIO completion, a MOV SS's held debug traps) and
    // set_ram_slots() empties its caches, so it runs as a new one would.
    static std::unique_ptr<Emulator> kept;
    if (!kept) kept = std::make_unique<Emulator>(machine.slots, handlers[in.ports]);
    Emulator& emu = *kept;
    emu.forget_pending();
    emu.set_ram_slots(machine.slots);
    emu.set_port_handler(handlers[in.ports]);
    pc.on_a20 = [&emu](bool on) { emu.set_a20(on); };
    emu.set_a20(in.a20);
    emu.state() = in.state;
    // Paged states come from the header's CR0/CR3/CR4/EFER and the page tables from the data
    // bytes; PAE walks need the PDPTE registers, loaded from CR3 as MOV to CR3 would (the VcpuState
    // path loads them itself).
    if ((in.state.cr0 & cr0::PG) && (in.state.cr4 & cr4::PAE)) emu.load_pdptes();

    const uint64_t breakpoints[] = {in.breakpoint};
    RunLimits limits{.budget = in.budget,
                     .stop_when_valid = std::nullopt,
                     .single_step = in.single_step,
                     .exceptions_to_host = in.exceptions_to_host,
                     .interrupt_pending = in.interrupt_pending,
                     .breakpoints = breakpoints};
    if (in.stop_when_valid != 0)
        limits.stop_when_valid = static_cast<vmx::Profile>(in.stop_when_valid - 1);

    VcpuState vcpu{};
    if (in.vcpu_path) {
        store_cpu_state(in.state, vcpu);
        vcpu.events.exception = {.pending = in.event_kind == 1,
                                 .vector = in.event_vector,
                                 .has_error_code = (in.error_code & 1) != 0,
                                 .error_code = in.error_code};
        vcpu.events.interrupt = {.pending = in.event_kind == 2, .vector = in.event_vector};
    } else if (in.event_kind != 0) {
        (void)emu.deliver_event({.kind = in.event_kind == 1
                                             ? InjectedEvent::Kind::Exception
                                             : InjectedEvent::Kind::ExternalInterrupt,
                                 .vector = in.event_vector,
                                 .has_error_code = (in.error_code & 1) != 0,
                                 .error_code = in.error_code});
    }

    for (int run = 0; run < kMaxRuns; ++run) {
        const Exit exit = in.vcpu_path ? emu.run(vcpu, limits) : emu.run(limits);
        check(exit.instructions <= limits.budget);
        check(exit.byte_count <= exit.bytes.size());
        bool resume = true;
        switch (exit.reason) {
        case ExitReason::Io:
            if (exit.io.is_in) emu.complete_io(in.host_data);
            break;
        case ExitReason::Mmio:
            // 1..8 bytes; 0 for a fetch outside RAM, which the host cannot complete.
            check(exit.mmio_size <= 8 && (exit.mmio_size >= 1 || exit.detail != nullptr));
            if (!exit.mmio_write) emu.complete_mmio(uint64_t{in.host_data} * 0x100000001ull);
            break;
        case ExitReason::Exception: // the host reflects it, as a VMM would
            (void)emu.deliver_event({.kind = InjectedEvent::Kind::Exception,
                                     .vector = exit.vector,
                                     .has_error_code = exit.has_error_code,
                                     .error_code = exit.error_code});
            break;
        case ExitReason::InterruptWindow:
            if (!in.vcpu_path)
                (void)emu.deliver_event(
                    {.kind = InjectedEvent::Kind::ExternalInterrupt, .vector = in.event_vector});
            limits.interrupt_pending = false;
            break;
        case ExitReason::TripleFault:
        case ExitReason::Unsupported: resume = false; break;
        default: break;
        }
        if (!resume) break;
    }
    judge(in.vcpu_path ? to_cpu_state(vcpu) : emu.state());
    return 0;
}
