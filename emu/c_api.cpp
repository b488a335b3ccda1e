// The C ABI (include/transit86/transit86.h): a thin layer over Emulator and VcpuState. The C
// structs are the C++ ones byte for byte (checked below), so state crosses with memcpy.
// Nothing throws across the boundary: the only allocation is in transit86_create, and every
// entry point that could see an exception catches it.
#include "transit86/transit86.h"

#include <bit>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "transit86/emulator.hpp"
#include "transit86/vcpu.hpp"

namespace {

using namespace transit86;

// ---- the C structs are the C++ structs

#define T86_SAME_LAYOUT(c_type, cpp_type)                                                          \
    static_assert(sizeof(c_type) == sizeof(cpp_type) && alignof(c_type) == alignof(cpp_type));     \
    static_assert(std::is_standard_layout_v<cpp_type> && std::is_trivially_copyable_v<cpp_type>)
#define T86_SAME_OFFSET(c_type, cpp_type, c_member, cpp_member)                                    \
    static_assert(offsetof(c_type, c_member) == offsetof(cpp_type, cpp_member))

T86_SAME_LAYOUT(transit86_kvm_segment, KvmSegment);
T86_SAME_OFFSET(transit86_kvm_segment, KvmSegment, limit, limit);
T86_SAME_OFFSET(transit86_kvm_segment, KvmSegment, selector, selector);
T86_SAME_OFFSET(transit86_kvm_segment, KvmSegment, type, type);
T86_SAME_OFFSET(transit86_kvm_segment, KvmSegment, unusable, unusable);
T86_SAME_LAYOUT(transit86_kvm_dtable, KvmDtable);
T86_SAME_OFFSET(transit86_kvm_dtable, KvmDtable, limit, limit);
T86_SAME_LAYOUT(transit86_kvm_regs, KvmRegs);
T86_SAME_OFFSET(transit86_kvm_regs, KvmRegs, rbx, rbx);
T86_SAME_OFFSET(transit86_kvm_regs, KvmRegs, rip, rip);
T86_SAME_OFFSET(transit86_kvm_regs, KvmRegs, rflags, rflags);
T86_SAME_LAYOUT(transit86_kvm_sregs, KvmSregs);
T86_SAME_OFFSET(transit86_kvm_sregs, KvmSregs, tr, tr);
T86_SAME_OFFSET(transit86_kvm_sregs, KvmSregs, gdt, gdt);
T86_SAME_OFFSET(transit86_kvm_sregs, KvmSregs, cr0, cr0);
T86_SAME_OFFSET(transit86_kvm_sregs, KvmSregs, apic_base, apic_base);
T86_SAME_OFFSET(transit86_kvm_sregs, KvmSregs, interrupt_bitmap, interrupt_bitmap);
T86_SAME_LAYOUT(transit86_pending_exception, PendingException);
T86_SAME_OFFSET(transit86_pending_exception, PendingException, vector, vector);
T86_SAME_OFFSET(transit86_pending_exception, PendingException, has_error_code, has_error_code);
T86_SAME_OFFSET(transit86_pending_exception, PendingException, error_code, error_code);
T86_SAME_LAYOUT(transit86_pending_interrupt, PendingInterrupt);
T86_SAME_OFFSET(transit86_pending_interrupt, PendingInterrupt, vector, vector);
T86_SAME_LAYOUT(transit86_events, EventState);
T86_SAME_OFFSET(transit86_events, EventState, interrupt, interrupt);
T86_SAME_OFFSET(transit86_events, EventState, interrupt_shadow, interrupt_shadow);
T86_SAME_OFFSET(transit86_events, EventState, nmi_masked, nmi_masked);
T86_SAME_LAYOUT(transit86_kvm_debugregs, KvmDebugregs);
T86_SAME_OFFSET(transit86_kvm_debugregs, KvmDebugregs, dr6, dr6);
T86_SAME_OFFSET(transit86_kvm_debugregs, KvmDebugregs, dr7, dr7);
T86_SAME_OFFSET(transit86_kvm_debugregs, KvmDebugregs, flags, flags);
T86_SAME_OFFSET(transit86_kvm_debugregs, KvmDebugregs, reserved, reserved);
T86_SAME_LAYOUT(transit86_vcpu_state, VcpuState);
T86_SAME_OFFSET(transit86_vcpu_state, VcpuState, sregs, sregs);
T86_SAME_OFFSET(transit86_vcpu_state, VcpuState, events, events);
T86_SAME_OFFSET(transit86_vcpu_state, VcpuState, debugregs, debugregs);
T86_SAME_OFFSET(transit86_vcpu_state, VcpuState, fpu, fpu);
T86_SAME_LAYOUT(transit86_kvm_fpu, KvmFpu);
T86_SAME_OFFSET(transit86_kvm_fpu, KvmFpu, fcw, fcw);
T86_SAME_OFFSET(transit86_kvm_fpu, KvmFpu, ftwx, ftwx);
T86_SAME_OFFSET(transit86_kvm_fpu, KvmFpu, last_opcode, last_opcode);
T86_SAME_OFFSET(transit86_kvm_fpu, KvmFpu, last_ip, last_ip);
T86_SAME_OFFSET(transit86_kvm_fpu, KvmFpu, xmm, xmm);
T86_SAME_OFFSET(transit86_kvm_fpu, KvmFpu, mxcsr, mxcsr);

static_assert(TRANSIT86_EXIT_VALID == static_cast<int>(ExitReason::GuestStateValid));
static_assert(TRANSIT86_EXIT_STEP == static_cast<int>(ExitReason::Step));
static_assert(TRANSIT86_EXIT_HALT == static_cast<int>(ExitReason::Halt));
static_assert(TRANSIT86_EXIT_IO == static_cast<int>(ExitReason::Io));
static_assert(TRANSIT86_EXIT_MMIO == static_cast<int>(ExitReason::Mmio));
static_assert(TRANSIT86_EXIT_EXCEPTION == static_cast<int>(ExitReason::Exception));
static_assert(TRANSIT86_EXIT_TRIPLE_FAULT == static_cast<int>(ExitReason::TripleFault));
static_assert(TRANSIT86_EXIT_BUDGET == static_cast<int>(ExitReason::Budget));
static_assert(TRANSIT86_EXIT_UNSUPPORTED == static_cast<int>(ExitReason::Unsupported));
static_assert(TRANSIT86_EXIT_INTERRUPT_WINDOW == static_cast<int>(ExitReason::InterruptWindow));
static_assert(TRANSIT86_EXIT_BREAKPOINT == static_cast<int>(ExitReason::Breakpoint));
static_assert(TRANSIT86_EXIT_INVALID == static_cast<int>(ExitReason::GuestStateInvalid));
static_assert(sizeof(transit86_exit{}.bytes) == sizeof(Exit{}.bytes));

// Adapts the C port callback to the PortHandler the run loop consults.
class CallbackPorts final : public PortHandler {
  public:
    CallbackPorts(transit86_port_fn fn, void* opaque) : fn_(fn), opaque_(opaque) {}
    Result access(PortAccess& a) override {
        transit86_port_access c{
            .port = a.port,
            .size = a.size,
            .direction = static_cast<uint8_t>(a.is_in ? TRANSIT86_IO_IN : TRANSIT86_IO_OUT),
            .data = a.data,
            .count = a.count};
        if (fn_(opaque_, &c) != TRANSIT86_PORT_HANDLED) return Result::ExitToHost;
        if (a.is_in) a.data = c.data;
        return Result::Handled;
    }
    uint64_t steady_read(PortAccess& a) override {
        if (steady_fn_ == nullptr) return 0;
        transit86_port_access c{
            .port = a.port, .size = a.size, .direction = TRANSIT86_IO_IN, .data = 0, .count = 1};
        const uint64_t instructions = steady_fn_(opaque_, &c);
        if (instructions != 0) a.data = c.data;
        return instructions;
    }
    transit86_port_steady_fn steady_fn_ = nullptr;

  private:
    transit86_port_fn fn_;
    void* opaque_;
};

std::optional<vmx::Profile> profile_from(uint32_t profile, bool& ok) {
    ok = true;
    switch (profile) {
    case TRANSIT86_PROFILE_NONE: return std::nullopt;
    case TRANSIT86_PROFILE_KVM: return vmx::Profile::Kvm;
    case TRANSIT86_PROFILE_SDM: return vmx::Profile::Sdm;
    case TRANSIT86_PROFILE_UNRESTRICTED: return vmx::Profile::Unrestricted;
    default: ok = false; return std::nullopt;
    }
}

void to_c_exit(const Exit& in, transit86_exit& out) {
    out = transit86_exit{};
    out.reason = static_cast<uint32_t>(in.reason);
    out.instructions = in.instructions;
    out.io = {.port = in.io.port,
              .size = in.io.size,
              .direction = static_cast<uint8_t>(in.io.is_in ? TRANSIT86_IO_IN : TRANSIT86_IO_OUT),
              .data = in.io.data,
              .count = in.io.count};
    out.mmio.address = in.mmio_address;
    out.mmio.data = in.mmio_data;
    out.mmio.size = in.mmio_size;
    out.mmio.is_write = in.mmio_write ? 1 : 0;
    out.exception.vector = in.vector;
    out.exception.has_error_code = in.has_error_code ? 1 : 0;
    out.exception.error_code = in.error_code;
    out.linear_address = in.linear_address;
    std::memcpy(out.bytes, in.bytes.data(), sizeof(out.bytes));
    out.byte_count = in.byte_count;
    out.detail = in.detail;
}

} // namespace

struct transit86_vcpu {
    transit86_vcpu(std::span<const RamSlot> slots, transit86_port_fn fn, void* opaque)
        : ports(fn, opaque), emulator(slots, fn != nullptr ? &ports : nullptr),
          state(reset_vcpu_state(ResetPreset::Intel)) {}
    CallbackPorts ports;
    Emulator emulator;
    VcpuState state;
};

namespace {

// The C slots checked and converted; false for a null or empty slot or one that wraps.
bool ram_slots_from(const transit86_ram_slot* slots, size_t slot_count, std::vector<RamSlot>& ram) {
    if (slots == nullptr && slot_count != 0) return false;
    ram.reserve(slot_count);
    for (size_t i = 0; i < slot_count; ++i) {
        const transit86_ram_slot& s = slots[i];
        if (s.host == nullptr || s.size == 0 || s.guest_phys + s.size < s.guest_phys) return false;
        ram.push_back({.guest_phys = s.guest_phys,
                       .size = s.size,
                       .host = static_cast<uint8_t*>(s.host),
                       .read_only = s.read_only != 0});
    }
    return true;
}

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrApicBase = 0x1B; // in kvm_sregs

// Where MSR `index` is kept for transit86_get_msr / transit86_set_msr, or nullptr.
template <class State>
auto* msr_storage(State& state, uint32_t index) {
    return index == kMsrTsc        ? &state.tsc
           : index == kMsrApicBase ? nullptr
                                   : msr_field(state.msrs, index);
}

} // namespace

extern "C" {

uint32_t transit86_abi_version(void) {
    return TRANSIT86_ABI_VERSION;
}

transit86_status transit86_create(const transit86_ram_slot* slots, size_t slot_count,
                                  transit86_port_fn port_fn, void* port_opaque,
                                  transit86_vcpu** out) {
    if (out == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    *out = nullptr;
    try {
        std::vector<RamSlot> ram;
        if (!ram_slots_from(slots, slot_count, ram)) return TRANSIT86_ERROR_INVALID_ARGUMENT;
        *out = new transit86_vcpu(ram, port_fn, port_opaque);
        return TRANSIT86_OK;
    } catch (const std::bad_alloc&) {
        return TRANSIT86_ERROR_OUT_OF_MEMORY;
    } catch (...) {
        return TRANSIT86_ERROR_INTERNAL;
    }
}

transit86_status transit86_set_ram_slots(transit86_vcpu* vcpu, const transit86_ram_slot* slots,
                                         size_t slot_count) {
    if (vcpu == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    try {
        std::vector<RamSlot> ram;
        if (!ram_slots_from(slots, slot_count, ram)) return TRANSIT86_ERROR_INVALID_ARGUMENT;
        vcpu->emulator.set_ram_slots(ram);
        return TRANSIT86_OK;
    } catch (const std::bad_alloc&) {
        return TRANSIT86_ERROR_OUT_OF_MEMORY;
    } catch (...) {
        return TRANSIT86_ERROR_INTERNAL;
    }
}

transit86_status transit86_set_port_steady_fn(transit86_vcpu* vcpu,
                                              transit86_port_steady_fn steady_fn) {
    if (vcpu == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    vcpu->ports.steady_fn_ = steady_fn;
    return TRANSIT86_OK;
}

void transit86_destroy(transit86_vcpu* vcpu) {
    delete vcpu;
}

transit86_status transit86_get_state(const transit86_vcpu* vcpu, transit86_vcpu_state* out) {
    if (vcpu == nullptr || out == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    *out = std::bit_cast<transit86_vcpu_state>(vcpu->state);
    return TRANSIT86_OK;
}

transit86_status transit86_set_state(transit86_vcpu* vcpu, const transit86_vcpu_state* state) {
    if (vcpu == nullptr || state == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    vcpu->state = std::bit_cast<VcpuState>(*state);
    return TRANSIT86_OK;
}

transit86_status transit86_reset_state(uint32_t preset, transit86_vcpu_state* out) {
    if (out == nullptr || (preset != TRANSIT86_RESET_INTEL && preset != TRANSIT86_RESET_KVM))
        return TRANSIT86_ERROR_INVALID_ARGUMENT;
    const VcpuState state =
        reset_vcpu_state(preset == TRANSIT86_RESET_KVM ? ResetPreset::Kvm : ResetPreset::Intel);
    *out = std::bit_cast<transit86_vcpu_state>(state);
    return TRANSIT86_OK;
}

int transit86_is_valid(const transit86_vcpu_state* state, uint32_t profile) {
    bool ok = false;
    const std::optional<vmx::Profile> p = profile_from(profile, ok);
    if (state == nullptr || !ok || !p) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    return vmx::is_valid(to_cpu_state(std::bit_cast<VcpuState>(*state)), *p) ? 1 : 0;
}

transit86_status transit86_run(transit86_vcpu* vcpu, const transit86_limits* limits,
                               transit86_exit* exit) {
    if (vcpu == nullptr || limits == nullptr || exit == nullptr)
        return TRANSIT86_ERROR_INVALID_ARGUMENT;
    if (limits->breakpoints == nullptr && limits->breakpoint_count != 0)
        return TRANSIT86_ERROR_INVALID_ARGUMENT;
    bool ok = false;
    const std::optional<vmx::Profile> profile = profile_from(limits->stop_when_valid, ok);
    if (!ok) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    const std::optional<vmx::Profile> invalid_profile = profile_from(limits->stop_when_invalid, ok);
    if (!ok) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    const RunLimits run_limits{
        .budget = limits->budget,
        .stop_when_valid = profile,
        .single_step = limits->single_step != 0,
        .exceptions_to_host = limits->exceptions_to_host != 0,
        .interrupt_pending = limits->interrupt_pending != 0,
        .breakpoints = {limits->breakpoints, limits->breakpoint_count},
        .stop_when_invalid = invalid_profile,
    };
    // Emulator::run is noexcept: nothing to catch here.
    to_c_exit(vcpu->emulator.run(vcpu->state, run_limits), *exit);
    return TRANSIT86_OK;
}

transit86_status transit86_complete_io(transit86_vcpu* vcpu, uint32_t data) {
    if (vcpu == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    if (!vcpu->emulator.completion_pending()) return TRANSIT86_ERROR_NOTHING_PENDING;
    vcpu->emulator.complete_io(data);
    return TRANSIT86_OK;
}

transit86_status transit86_complete_mmio(transit86_vcpu* vcpu, uint64_t data) {
    if (vcpu == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    if (!vcpu->emulator.completion_pending()) return TRANSIT86_ERROR_NOTHING_PENDING;
    vcpu->emulator.complete_mmio(data);
    return TRANSIT86_OK;
}

transit86_status transit86_get_msr(const transit86_vcpu* vcpu, uint32_t index, uint64_t* value) {
    if (vcpu == nullptr || value == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    const uint64_t* at = msr_storage(vcpu->emulator.state(), index);
    if (at == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    *value = *at;
    return TRANSIT86_OK;
}

transit86_status transit86_set_msr(transit86_vcpu* vcpu, uint32_t index, uint64_t value) {
    if (vcpu == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    uint64_t* at = msr_storage(vcpu->emulator.state(), index);
    if (at == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    *at = value;
    return TRANSIT86_OK;
}

transit86_status transit86_set_a20(transit86_vcpu* vcpu, int enabled) {
    if (vcpu == nullptr) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    vcpu->emulator.set_a20(enabled != 0);
    return TRANSIT86_OK;
}

transit86_status transit86_read_physical(const transit86_vcpu* vcpu, uint64_t gpa, void* out,
                                         size_t size) {
    if (vcpu == nullptr || (out == nullptr && size != 0)) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    return vcpu->emulator.read_physical(gpa, out, size) ? TRANSIT86_OK
                                                        : TRANSIT86_ERROR_INVALID_ARGUMENT;
}

transit86_status transit86_write_physical(transit86_vcpu* vcpu, uint64_t gpa, const void* in,
                                          size_t size) {
    if (vcpu == nullptr || (in == nullptr && size != 0)) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    return vcpu->emulator.write_physical(gpa, in, size) ? TRANSIT86_OK
                                                        : TRANSIT86_ERROR_INVALID_ARGUMENT;
}

namespace {

// The handle's state is vcpu->state; transit86_run loads it into the emulator. A translation
// between runs follows vcpu->state: when its paging registers differ from the emulator's
// (transit86_set_state gave a new state), they are copied in and, for PAE paging, the PDPTEs
// loaded from CR3 as the run would load them. The run loads the whole state again.
void load_paging_state(transit86_vcpu& vcpu) {
    const CpuState given = to_cpu_state(vcpu.state);
    CpuState& s = vcpu.emulator.state();
    if (s.cr0 == given.cr0 && s.cr3 == given.cr3 && s.cr4 == given.cr4 && s.efer == given.efer)
        return;
    s.cr0 = given.cr0;
    s.cr3 = given.cr3;
    s.cr4 = given.cr4;
    s.efer = given.efer;
    s.pdpte = {};
    if ((s.cr0 & cr0::PG) && (s.cr4 & cr4::PAE)) vcpu.emulator.load_pdptes();
}

} // namespace

transit86_status transit86_read_linear(transit86_vcpu* vcpu, uint64_t linear, void* out,
                                       size_t size) {
    if (vcpu == nullptr || (out == nullptr && size != 0)) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    load_paging_state(*vcpu);
    return vcpu->emulator.read_linear(linear, out, size) ? TRANSIT86_OK
                                                         : TRANSIT86_ERROR_INVALID_ARGUMENT;
}

transit86_status transit86_write_linear(transit86_vcpu* vcpu, uint64_t linear, const void* in,
                                        size_t size) {
    if (vcpu == nullptr || (in == nullptr && size != 0)) return TRANSIT86_ERROR_INVALID_ARGUMENT;
    load_paging_state(*vcpu);
    return vcpu->emulator.write_linear(linear, in, size) ? TRANSIT86_OK
                                                         : TRANSIT86_ERROR_INVALID_ARGUMENT;
}

const char* transit86_exit_reason_name(uint32_t reason) {
    if (reason > TRANSIT86_EXIT_INVALID) return "?";
    return to_string(static_cast<ExitReason>(reason));
}

const char* transit86_status_name(transit86_status status) {
    switch (status) {
    case TRANSIT86_OK: return "ok";
    case TRANSIT86_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case TRANSIT86_ERROR_OUT_OF_MEMORY: return "out of memory";
    case TRANSIT86_ERROR_NOTHING_PENDING: return "nothing pending";
    case TRANSIT86_ERROR_INTERNAL: return "internal error";
    default: return "?";
    }
}

} // extern "C"
