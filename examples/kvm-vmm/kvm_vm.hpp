// A minimal KVM virtual machine: one vCPU, guest RAM at guest-physical 0 that this class owns
// and lends to transit86 as a RAM slot, and the few ioctls a VMM for boot code needs.
// Failures of ioctls that should not fail throw KvmError; the VMM reports them.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "transit86/vcpu.hpp"

namespace kvm_vmm {

struct KvmError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class KvmVm {
  public:
    // Opens /dev/kvm and sets up the VM; throws KvmError with the reason if it cannot.
    explicit KvmVm(uint64_t ram_size);
    ~KvmVm();
    KvmVm(const KvmVm&) = delete;
    KvmVm& operator=(const KvmVm&) = delete;

    // Why KVM cannot be used here, or nullopt if it can (for tests that skip).
    static std::optional<std::string> unavailable_reason();

    uint8_t* ram() { return ram_; }
    const uint8_t* ram() const { return ram_; }
    uint64_t ram_size() const { return ram_size_; }

    // The vCPU state in the embedding API's layout: KVM_GET_REGS, KVM_GET_SREGS and the
    // interrupt shadow / NMI mask of KVM_GET_VCPU_EVENTS. Pending events are not carried.
    transit86::VcpuState state() const;
    // KVM_SET_SREGS, KVM_SET_REGS, then the shadow and NMI mask with KVM_SET_VCPU_EVENTS.
    void set_state(const transit86::VcpuState& state);

    // KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_SINGLESTEP on or off (a no-op if unchanged).
    void set_single_step(bool on);
    bool single_step() const { return single_step_; }

    // KVM_RUN. With complete_only, KVM finishes a pending I/O or MMIO operation and returns
    // without entering the guest (kvm_run.immediate_exit). Returns 0, or -EINTR when KVM
    // returned without a new exit; other errors throw.
    int run(bool complete_only = false);
    kvm_run& exit() { return *run_; }

  private:
    int kvm_fd_ = -1;
    int vm_fd_ = -1;
    int vcpu_fd_ = -1;
    uint8_t* ram_ = nullptr;
    uint64_t ram_size_ = 0;
    kvm_run* run_ = nullptr;
    size_t run_size_ = 0;
    bool single_step_ = false;
};

} // namespace kvm_vmm
