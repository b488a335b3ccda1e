// A minimal KVM virtual machine: one vCPU, no in-kernel interrupt controller or timer (the
// device models are the VMM's), and the few ioctls a VMM for boot code needs. Guest memory is
// either one block of RAM at guest-physical 0 that this class owns and lends to transit86 as a
// RAM slot (raw-image mode), or the slots a platform gives (set_memory(): the PC's RAM, BIOS
// area and ROM). Failures of ioctls that should not fail throw KvmError; the VMM reports them.
#pragma once

#include <linux/kvm.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "transit86/cpu_model.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vcpu.hpp"

namespace kvm_vmm {

struct KvmError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One KVM vCPU as the PC loop drives it (pc_vmm.hpp): the ioctls it makes and the kvm_run
// page it reads. KvmVm below is the real one on /dev/kvm; tests put a model of KVM behind it
// where /dev/kvm is absent (tests/embedding/kvm_model.hpp).
class KvmVcpu {
  public:
    virtual ~KvmVcpu() = default;
    virtual void set_memory(std::span<const transit86::RamSlot> slots) = 0;
    virtual void set_cpuid(const transit86::CpuModel& model) = 0;
    virtual transit86::VcpuState state(bool with_fpu) const = 0;
    virtual void set_state(const transit86::VcpuState& state) = 0;
    virtual void set_single_step(bool on) = 0;
    virtual void interrupt(uint8_t vector) = 0;
    // The MSRs transit86 keeps besides the state (transit86::kMsrIndices but APIC_BASE, which
    // the sregs carry), read into and written from the fields of `msrs`; what the vCPU does
    // not have stays as it is.
    virtual void get_msrs(transit86::Msrs& msrs) const = 0;
    virtual void set_msrs(const transit86::Msrs& msrs) = 0;
    virtual uint64_t tsc() const = 0;
    virtual void set_tsc(uint64_t value) = 0;
    virtual uint32_t tsc_khz() const = 0;
    virtual void kick_after(uint64_t delay_ns) = 0;
    virtual int run(bool complete_only) = 0;
    virtual kvm_run& exit() = 0;
    // Guest memory by linear address as the vCPU's paging maps it now (KVM_TRANSLATE page by
    // page, then the memory regions); false if a page is not mapped or not in a region.
    virtual bool read_linear(uint64_t linear, void* out, size_t size) const = 0;
    // The instructions the vCPU has retired since its reset, where it can count them; KVM
    // cannot (nullopt). A vCPU that counts gives the PC loop an instruction clock, as
    // `transit86 boot` has (one instruction = 1 ns), so that a boot is deterministic.
    virtual std::optional<uint64_t> instructions_retired() const { return std::nullopt; }
};

class KvmVm final : public KvmVcpu {
  public:
    // Opens /dev/kvm and sets up the VM; throws KvmError with the reason if it cannot.
    // `ram_size` bytes of RAM at guest-physical 0, owned here (memory slot 0); 0: none, the
    // VMM maps its own memory with set_memory().
    explicit KvmVm(uint64_t ram_size);
    ~KvmVm();
    KvmVm(const KvmVm&) = delete;
    KvmVm& operator=(const KvmVm&) = delete;

    // Why KVM cannot be used here, or nullopt if it can (for tests that skip).
    static std::optional<std::string> unavailable_reason();

    uint8_t* ram() { return ram_; }
    const uint8_t* ram() const { return ram_; }
    uint64_t ram_size() const { return ram_size_; }

    // Makes `slots` the guest's memory map in place of what the last call registered
    // (KVM_SET_USER_MEMORY_REGION; regions that did not change stay). Read-only slots get
    // KVM_MEM_READONLY, so that a guest write there exits with KVM_EXIT_MMIO. Every slot must
    // be page-aligned in guest-physical and host memory, as KVM requires.
    void set_memory(std::span<const transit86::RamSlot> slots) override;

    // The CPUID transit86 reports (KVM_SET_CPUID2), so that the guest sees one CPU whichever
    // side runs it. Before the first KVM_RUN.
    void set_cpuid(const transit86::CpuModel& model) override;

    // The vCPU state in the embedding API's layout: KVM_GET_REGS, KVM_GET_SREGS, the x87 and
    // SSE state (KVM_GET_XSAVE's legacy area, or KVM_GET_FPU where KVM has no XSAVE; skipped
    // when `with_fpu` is false: the VM-entry checks do not need it), and from
    // KVM_GET_VCPU_EVENTS the interrupt shadow, the NMI mask, and an external interrupt and a
    // hardware exception queued but not delivered (events.interrupt and events.exception,
    // which whoever runs next delivers; the sregs' interrupt bitmap is cleared).
    transit86::VcpuState state(bool with_fpu) const override;
    // KVM_SET_SREGS (no interrupt bitmap), KVM_SET_REGS, KVM_SET_XSAVE (or KVM_SET_FPU), then
    // the shadow, the NMI mask, events.interrupt and events.exception with
    // KVM_SET_VCPU_EVENTS (none pending clears what KVM had queued).
    void set_state(const transit86::VcpuState& state) override;

    // KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_SINGLESTEP: on, again before every stepped run
    // (KVM drops TF where RIP moved under its feet); off, once.
    void set_single_step(bool on) override;
    bool single_step() const { return single_step_; }

    // KVM_INTERRUPT: the vector of an interrupt the VMM's interrupt controller acknowledged,
    // injected at the next entry. Only when kvm_run says the guest can take it
    // (ready_for_interrupt_injection and if_flag): KVM injects a queued vector regardless.
    // Clears ready_for_interrupt_injection until the next KVM_RUN sets it again.
    void interrupt(uint8_t vector) override;

    // The guest's time-stamp counter (IA32_TSC through KVM_GET_MSRS; set through the vCPU's
    // TSC offset attribute where KVM has it, else KVM_SET_MSRS, which KVM ignores for a value
    // within a second of the one it expects) and its frequency (KVM_GET_TSC_KHZ; 0 if KVM
    // cannot say).
    uint64_t tsc() const override;
    void set_tsc(uint64_t value) override;
    uint32_t tsc_khz() const override;

    // KVM_GET_MSRS / KVM_SET_MSRS of the MSRs of transit86::kMsrIndices KVM has (found once, by
    // reading each; APIC_BASE is the sregs').
    void get_msrs(transit86::Msrs& msrs) const override;
    void set_msrs(const transit86::Msrs& msrs) override;

    // Makes KVM_RUN return once `delay_ns` of host time has passed (0: never), for a timer
    // event due while the guest runs without exits. A POSIX timer signals this thread with a
    // signal that is blocked except inside KVM_RUN (KVM_SET_SIGNAL_MASK), so a signal that
    // arrives between two runs ends the next one at once and is never lost.
    void kick_after(uint64_t delay_ns) override;

    // KVM_RUN. With complete_only, KVM finishes a pending I/O or MMIO operation and returns
    // without entering the guest (kvm_run.immediate_exit); it also refreshes kvm_run's
    // if_flag and ready_for_interrupt_injection. Returns 0, or -EINTR when KVM returned
    // without a new exit; other errors throw.
    int run(bool complete_only) override;
    kvm_run& exit() override { return *run_; }
    bool read_linear(uint64_t linear, void* out, size_t size) const override;

  private:
    struct Region {
        uint32_t slot = 0;
        transit86::RamSlot memory{};
    };
    void register_region(const Region& region, bool remove);
    void set_up_kicks();
    std::vector<uint8_t> get_xsave() const;
    const std::vector<uint32_t>& handed_over_msrs() const;

    int kvm_fd_ = -1;
    int vm_fd_ = -1;
    int vcpu_fd_ = -1;
    uint8_t* ram_ = nullptr;
    uint64_t ram_size_ = 0;
    kvm_run* run_ = nullptr;
    size_t run_size_ = 0;
    bool single_step_ = false;
    std::vector<Region> regions_;       // what set_memory() registered
    bool readonly_memory_ = false;      // KVM_CAP_READONLY_MEM
    size_t xsave_size_ = 0;             // KVM_GET_XSAVE(2)'s buffer; 0: KVM_GET/SET_FPU instead
    bool tsc_offset_attribute_ = false; // KVM_VCPU_TSC_CTRL / KVM_VCPU_TSC_OFFSET
    mutable std::optional<std::vector<uint32_t>> handed_over_msrs_; // handed_over_msrs()
    // The kick: a timer and the signal it sends (0 until the first kick_after()).
    int kick_signal_ = 0;
    timer_t kick_timer_{};
};

// A KVM_EXIT_IO served by `ports`: each element of a string (INS/OUTS) exit in turn, OUT data
// taken from and IN data written to the kvm_run page, as KVM expects before it resumes.
void serve_kvm_pio(kvm_run& r, transit86::PortHandler& ports);

} // namespace kvm_vmm
