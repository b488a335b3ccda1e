#include "kvm_vm.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

namespace kvm_vmm {

namespace {

// Three pages VMX needs for real mode (KVM_SET_TSS_ADDR) and one for paging-off protected
// mode without unrestricted guest (KVM_SET_IDENTITY_MAP_ADDR), just below 4 GiB, outside RAM.
constexpr uint64_t kTssAddress = 0xFFFBD000;
constexpr uint64_t kIdentityMapAddress = 0xFFFBC000;

[[noreturn]] void fail(const std::string& what) {
    throw KvmError(what + ": " + std::strerror(errno));
}

template <class T>
void vcpu_ioctl(int fd, unsigned long request, T* arg, const char* what) {
    if (::ioctl(fd, request, arg) < 0) fail(what);
}

} // namespace

KvmVm::KvmVm(uint64_t ram_size) : ram_size_(ram_size) {
    kvm_fd_ = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_fd_ < 0) fail("cannot open /dev/kvm");
    if (::ioctl(kvm_fd_, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        throw KvmError("/dev/kvm: unexpected KVM API version");
    if (::ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
        throw KvmError("/dev/kvm: KVM_CAP_IMMEDIATE_EXIT missing");
    vm_fd_ = ::ioctl(kvm_fd_, KVM_CREATE_VM, 0);
    if (vm_fd_ < 0) fail("KVM_CREATE_VM");

    void* ram = ::mmap(nullptr, ram_size_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) fail("mmap guest RAM");
    ram_ = static_cast<uint8_t*>(ram);
    kvm_userspace_memory_region region{};
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = ram_size_;
    region.userspace_addr = reinterpret_cast<uintptr_t>(ram_);
    if (::ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        fail("KVM_SET_USER_MEMORY_REGION");
    if (::ioctl(vm_fd_, KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddress)) < 0)
        fail("KVM_SET_TSS_ADDR");
    uint64_t identity_map = kIdentityMapAddress;
    if (::ioctl(vm_fd_, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0)
        fail("KVM_SET_IDENTITY_MAP_ADDR");

    vcpu_fd_ = ::ioctl(vm_fd_, KVM_CREATE_VCPU, 0);
    if (vcpu_fd_ < 0) fail("KVM_CREATE_VCPU");
    const int run_size = ::ioctl(kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < static_cast<int>(sizeof(kvm_run))) fail("KVM_GET_VCPU_MMAP_SIZE");
    run_size_ = static_cast<size_t>(run_size);
    void* run = ::mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd_, 0);
    if (run == MAP_FAILED) fail("mmap kvm_run");
    run_ = static_cast<kvm_run*>(run);
}

KvmVm::~KvmVm() {
    if (run_ != nullptr) ::munmap(run_, run_size_);
    if (vcpu_fd_ >= 0) ::close(vcpu_fd_);
    if (vm_fd_ >= 0) ::close(vm_fd_);
    if (ram_ != nullptr) ::munmap(ram_, ram_size_);
    if (kvm_fd_ >= 0) ::close(kvm_fd_);
}

std::optional<std::string> KvmVm::unavailable_reason() {
    try {
        KvmVm probe(1u << 20);
        return std::nullopt;
    } catch (const KvmError& e) {
        return e.what();
    }
}

transit86::VcpuState KvmVm::state() const {
    kvm_regs regs{};
    kvm_sregs sregs{};
    kvm_vcpu_events events{};
    vcpu_ioctl(vcpu_fd_, KVM_GET_REGS, &regs, "KVM_GET_REGS");
    vcpu_ioctl(vcpu_fd_, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
    vcpu_ioctl(vcpu_fd_, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
    kvm_fpu fpu{};
    vcpu_ioctl(vcpu_fd_, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
    transit86::VcpuState state;
    state.regs = std::bit_cast<transit86::KvmRegs>(regs); // the same layout, byte for byte
    state.sregs = std::bit_cast<transit86::KvmSregs>(sregs);
    state.fpu = std::bit_cast<transit86::KvmFpu>(fpu);
    state.events.interrupt_shadow = events.interrupt.shadow;
    state.events.nmi_masked = events.nmi.masked;
    return state;
}

void KvmVm::set_state(const transit86::VcpuState& state) {
    // Segments and control registers first: they decide what mode the registers belong to.
    auto sregs = std::bit_cast<kvm_sregs>(state.sregs);
    vcpu_ioctl(vcpu_fd_, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    auto regs = std::bit_cast<kvm_regs>(state.regs);
    vcpu_ioctl(vcpu_fd_, KVM_SET_REGS, &regs, "KVM_SET_REGS");
    auto fpu = std::bit_cast<kvm_fpu>(state.fpu); // the x87 state the window's ESC code left
    vcpu_ioctl(vcpu_fd_, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
    kvm_vcpu_events events{};
    vcpu_ioctl(vcpu_fd_, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
    events.interrupt.shadow = state.events.interrupt_shadow;
    events.nmi.masked = state.events.nmi_masked;
    events.flags = KVM_VCPUEVENT_VALID_SHADOW;
    vcpu_ioctl(vcpu_fd_, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS");
}

void KvmVm::set_single_step(bool on) {
    if (on == single_step_) return;
    kvm_guest_debug debug{};
    debug.control = on ? (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP) : 0;
    vcpu_ioctl(vcpu_fd_, KVM_SET_GUEST_DEBUG, &debug, "KVM_SET_GUEST_DEBUG");
    single_step_ = on;
}

int KvmVm::run(bool complete_only) {
    run_->immediate_exit = complete_only ? 1 : 0;
    const int rc = ::ioctl(vcpu_fd_, KVM_RUN, 0);
    const int err = errno;
    run_->immediate_exit = 0;
    if (rc == 0) return 0;
    if (err == EINTR) return -EINTR;
    errno = err;
    fail("KVM_RUN");
}

} // namespace kvm_vmm
