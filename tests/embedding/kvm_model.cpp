#include "kvm_model.hpp"

#include <cerrno>
#include <cstring>

#include "vcpu_view.hpp"

namespace kvm_vmm {

namespace {

using transit86::Exit;
using transit86::ExitReason;

constexpr uint64_t kPage = 4096;
// A run with no kick armed and no single step ends after this many instructions (-EINTR), as
// a signal would end it on KVM.
constexpr uint64_t kLongestRun = 50'000'000;

} // namespace

KvmModel::KvmModel() : state_(transit86::reset_vcpu_state(transit86::ResetPreset::Kvm)) {}

void KvmModel::set_memory(std::span<const transit86::RamSlot> slots) {
    // KVM_SET_USER_MEMORY_REGION's rules (virt/kvm/kvm_main.c): page-aligned guest address,
    // size and host address, and no two regions overlapping.
    for (size_t i = 0; i < slots.size(); ++i) {
        const transit86::RamSlot& s = slots[i];
        if (s.guest_phys % kPage != 0 || s.size % kPage != 0 || s.size == 0 ||
            reinterpret_cast<uintptr_t>(s.host) % kPage != 0)
            throw KvmError("KVM_SET_USER_MEMORY_REGION: a region not aligned to the page size");
        for (size_t j = 0; j < i; ++j)
            if (s.guest_phys < slots[j].guest_phys + slots[j].size &&
                slots[j].guest_phys < s.guest_phys + s.size)
                throw KvmError("KVM_SET_USER_MEMORY_REGION: overlapping regions");
    }
    slots_.assign(slots.begin(), slots.end());
    if (!cpu_) {
        cpu_ = std::make_unique<transit86::Emulator>(slots_); // no devices: every port exits
        cpu_->set_cpu_model(model_);
    } else {
        cpu_->set_ram_slots(slots_);
    }
}

void KvmModel::set_cpuid(const transit86::CpuModel& model) {
    model_ = model;
    if (cpu_) cpu_->set_cpu_model(model_);
}

// As KvmVm's: the state with a queued interrupt and exception (the model's emulator delivers
// both at once, so only set_state() queues them).
transit86::VcpuState KvmModel::state(bool) const {
    return state_;
}

// What KvmVm::set_state writes: registers, segments, the x87 state, the shadow, the NMI mask,
// a queued interrupt and exception, delivered at the next entry.
void KvmModel::set_state(const transit86::VcpuState& s) {
    state_.regs = s.regs;
    state_.sregs = s.sregs;
    state_.fpu = s.fpu;
    state_.events = s.events;
}

void KvmModel::interrupt(uint8_t vector) {
    if (state_.events.interrupt.pending != 0)
        throw KvmError("KVM_INTERRUPT: an interrupt is already queued (EEXIST)");
    state_.events.interrupt = {.pending = 1, .vector = vector};
    exit().ready_for_interrupt_injection = 0;
}

// The processor translates through the paging state of state_, which its emulator holds only
// from the next run on: lend it that state for the read, then put its own back.
bool KvmModel::read_linear(uint64_t linear, void* out, size_t size) const {
    if (!cpu_) return false;
    const transit86::CpuState own = cpu_->state();
    cpu_->state() = transit86::to_cpu_state(state_);
    bool ok = true;
    if ((state_.sregs.cr0 & transit86::cr0::PG) && (state_.sregs.cr4 & transit86::cr4::PAE))
        ok = cpu_->load_pdptes();
    ok = ok && cpu_->read_linear(linear, out, size);
    cpu_->state() = own;
    return ok;
}

// Every MSR the processor (a transit86 Emulator) keeps but APIC_BASE, as KvmVm hands them over.
void KvmModel::get_msrs(transit86::Msrs& msrs) const {
    if (!cpu_) return;
    const uint64_t apic_base = msrs.apic_base;
    msrs = cpu_->state().msrs;
    msrs.apic_base = apic_base;
}

void KvmModel::set_msrs(const transit86::Msrs& msrs) {
    if (!cpu_) return;
    const uint64_t apic_base = cpu_->state().msrs.apic_base;
    cpu_->state().msrs = msrs;
    cpu_->state().msrs.apic_base = apic_base;
}

uint64_t KvmModel::tsc() const {
    return cpu_ ? cpu_->state().tsc : 0;
}

void KvmModel::set_tsc(uint64_t value) {
    if (cpu_) cpu_->state().tsc = value;
}

void KvmModel::take_completion() {
    kvm_run& r = exit();
    if (in_pending_) {
        uint32_t value = 0;
        std::memcpy(&value, page_.data() + kIoDataOffset, r.io.size);
        cpu_->complete_io(value);
        in_pending_ = false;
    }
    if (mmio_pending_) {
        uint64_t value = 0;
        std::memcpy(&value, r.mmio.data, r.mmio.len);
        cpu_->complete_mmio(value);
        mmio_pending_ = false;
    }
}

void KvmModel::set_interrupt_flags() {
    kvm_run& r = exit();
    const bool if_set = (state_.regs.rflags & transit86::flags::IF) != 0;
    r.if_flag = if_set ? 1 : 0;
    r.ready_for_interrupt_injection =
        if_set && state_.events.interrupt_shadow == 0 && state_.events.interrupt.pending == 0;
}

int KvmModel::report(const Exit& e) {
    kvm_run& r = exit();
    switch (e.reason) {
    case ExitReason::Io:
        r.exit_reason = KVM_EXIT_IO;
        r.io.direction = e.io.is_in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
        r.io.size = e.io.size;
        r.io.port = e.io.port;
        r.io.count = 1;
        r.io.data_offset = kIoDataOffset;
        if (e.io.is_in)
            in_pending_ = true;
        else
            std::memcpy(page_.data() + kIoDataOffset, &e.io.data, e.io.size);
        break;
    case ExitReason::Mmio:
        if (e.mmio_size == 0) { // code outside memory: KVM cannot emulate it either
            r.exit_reason = KVM_EXIT_INTERNAL_ERROR;
            r.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
            break;
        }
        r.exit_reason = KVM_EXIT_MMIO;
        r.mmio.phys_addr = e.mmio_address;
        r.mmio.len = e.mmio_size;
        r.mmio.is_write = e.mmio_write ? 1 : 0;
        std::memcpy(r.mmio.data, &e.mmio_data, sizeof(r.mmio.data));
        mmio_pending_ = !e.mmio_write;
        break;
    case ExitReason::Halt: r.exit_reason = KVM_EXIT_HLT; break;
    case ExitReason::Step: r.exit_reason = KVM_EXIT_DEBUG; break;
    case ExitReason::InterruptWindow: r.exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN; break;
    case ExitReason::TripleFault: r.exit_reason = KVM_EXIT_SHUTDOWN; break;
    case ExitReason::Budget: // the kick (a signal on KVM): no exit
        r.exit_reason = KVM_EXIT_INTR;
        set_interrupt_flags();
        return -EINTR;
    default:
        r.exit_reason = KVM_EXIT_INTERNAL_ERROR;
        r.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
        break;
    }
    set_interrupt_flags();
    return 0;
}

int KvmModel::run(bool complete_only) {
    kvm_run& r = exit();
    take_completion();
    if (complete_only) {
        // immediate_exit: finish the instruction an exit left pending, enter no further.
        if (!cpu_->completion_pending()) {
            r.exit_reason = KVM_EXIT_INTR;
            set_interrupt_flags();
            return -EINTR;
        }
        const Exit e = cpu_->run(
            state_, {.budget = 1, .stop_when_valid = std::nullopt, .single_step = single_step_});
        instructions_ += e.instructions;
        if (e.reason == ExitReason::Io || e.reason == ExitReason::Mmio ||
            e.reason == ExitReason::Step)
            return report(e);
        r.exit_reason = KVM_EXIT_INTR;
        set_interrupt_flags();
        return -EINTR;
    }
    if (failing_entries_ != 0) {
        --failing_entries_;
        r.exit_reason = KVM_EXIT_FAIL_ENTRY;
        r.fail_entry.hardware_entry_failure_reason = entry_failure_reason_;
        set_interrupt_flags();
        return 0;
    }
    const uint64_t budget = kick_instructions_ != 0 ? kick_instructions_ : kLongestRun;
    const bool stepping = single_step_ && state_.events.interrupt.pending == 0;
    if (single_step_ && !stepping) ++unstepped_handlers_;
    const transit86::RunLimits limits{
        .budget = stepping ? 0 : budget,
        .stop_when_valid = std::nullopt,
        .single_step = stepping,
        .interrupt_pending = r.request_interrupt_window != 0,
        .stop_when_invalid =
            unrestricted_guest_ ? std::nullopt : std::optional(transit86::vmx::Profile::Kvm)};
    if (!cannot_emulate_.empty()) return run_to_an_instruction_it_lacks(limits);
    const Exit e = cpu_->run(state_, limits);
    instructions_ += e.instructions;
    return report(e);
}

int KvmModel::emulator_gives_up() {
    kvm_run& r = exit();
    r.exit_reason = KVM_EXIT_INTERNAL_ERROR;
    r.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
    set_interrupt_flags();
    return 0;
}

// The run of `limits` one instruction at a time, stopping before one of cannot_emulate_.
int KvmModel::run_to_an_instruction_it_lacks(const transit86::RunLimits& limits) {
    transit86::RunLimits one = limits;
    one.budget = 1;
    for (uint64_t left = limits.budget;;) {
        if (const std::optional<uint8_t> opcode = opcode_at(state_, *this);
            opcode && cannot_emulate_.count(*opcode) != 0)
            return emulator_gives_up();
        const Exit e = cpu_->run(state_, limits.single_step ? limits : one);
        instructions_ += e.instructions;
        // A budget of 0 is none.
        if (limits.single_step || e.reason != ExitReason::Budget || (left != 0 && --left == 0))
            return report(e);
    }
}

} // namespace kvm_vmm
