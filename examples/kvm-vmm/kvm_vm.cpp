#include "kvm_vm.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

namespace kvm_vmm {

namespace {

// Three pages VMX needs for real mode (KVM_SET_TSS_ADDR) and one for paging-off protected
// mode without unrestricted guest (KVM_SET_IDENTITY_MAP_ADDR): where QEMU puts them
// (target/i386/kvm: 0xFEFFC000 and the three pages after it), outside RAM and below the BIOS
// ROM, the local APIC and the I/O APIC windows of a PC, which these private slots must not
// overlap.
constexpr uint64_t kIdentityMapAddress = 0xFEFFC000;
constexpr uint64_t kTssAddress = 0xFEFFD000;
constexpr uint32_t kMsrTsc = 0x10; // IA32_TIME_STAMP_COUNTER

[[noreturn]] void fail(const std::string& what) {
    throw KvmError(what + ": " + std::strerror(errno));
}

template <class T>
void vcpu_ioctl(int fd, unsigned long request, T* arg, const char* what) {
    if (::ioctl(fd, request, arg) < 0) fail(what);
}

// KVM_GET_MSRS / KVM_SET_MSRS: kvm_msrs with the entries after it (a flexible array member in
// <linux/kvm.h>). KVM does them in order and returns how many it did, stopping at the first
// MSR it refuses.
size_t msrs_ioctl(int fd, unsigned long request, std::span<kvm_msr_entry> entries,
                  const char* what) {
    std::vector<uint8_t> buffer(sizeof(kvm_msrs) + entries.size_bytes()); // new's alignment
    reinterpret_cast<kvm_msrs*>(buffer.data())->nmsrs = static_cast<uint32_t>(entries.size());
    std::memcpy(buffer.data() + sizeof(kvm_msrs), entries.data(), entries.size_bytes());
    const int done = ::ioctl(fd, request, buffer.data());
    if (done < 0) fail(what);
    std::memcpy(entries.data(), buffer.data() + sizeof(kvm_msrs), entries.size_bytes());
    return static_cast<size_t>(done);
}

// The same for one MSR, which KVM must take.
void msr_ioctl(int fd, unsigned long request, uint32_t index, uint64_t& data, const char* what) {
    kvm_msr_entry entry{};
    entry.index = index;
    entry.data = data;
    if (msrs_ioctl(fd, request, std::span(&entry, 1), what) != 1)
        throw KvmError(std::string(what) + ": KVM refused the MSR (0 of 1 done)");
    data = entry.data;
}

// The FXSAVE image at the start of an XSAVE area (SDM Vol. 1 10.5.1, Table 10-2, the 64-bit
// layout the host's XSAVE writes) and the kvm_fpu fields KVM_GET_FPU fills from it, MXCSR too.
// XSTATE_BV, the first field of the XSAVE header at byte 512, says which components XRSTOR
// loads from memory rather than resets (SDM Vol. 1 13.8.1).
constexpr size_t kXstateBvOffset = 512;
constexpr uint64_t kXstateX87AndSse = 0x3;

void fpu_from_fxsave(const uint8_t* fx, transit86::KvmFpu& fpu) {
    std::memcpy(&fpu.fcw, fx + 0, 2);
    std::memcpy(&fpu.fsw, fx + 2, 2);
    fpu.ftwx = fx[4];
    std::memcpy(&fpu.last_opcode, fx + 6, 2);
    std::memcpy(&fpu.last_ip, fx + 8, 8);
    std::memcpy(&fpu.last_dp, fx + 16, 8);
    std::memcpy(&fpu.mxcsr, fx + 24, 4);
    std::memcpy(fpu.fpr.data(), fx + 32, sizeof(fpu.fpr));
    std::memcpy(fpu.xmm.data(), fx + 160, sizeof(fpu.xmm));
}

void fpu_to_fxsave(const transit86::KvmFpu& fpu, uint8_t* fx) {
    std::memcpy(fx + 0, &fpu.fcw, 2);
    std::memcpy(fx + 2, &fpu.fsw, 2);
    fx[4] = fpu.ftwx;
    std::memcpy(fx + 6, &fpu.last_opcode, 2);
    std::memcpy(fx + 8, &fpu.last_ip, 8);
    std::memcpy(fx + 16, &fpu.last_dp, 8);
    std::memcpy(fx + 24, &fpu.mxcsr, 4);
    std::memcpy(fx + 32, fpu.fpr.data(), sizeof(fpu.fpr));
    std::memcpy(fx + 160, fpu.xmm.data(), sizeof(fpu.xmm));
    uint64_t xstate_bv = 0;
    std::memcpy(&xstate_bv, fx + kXstateBvOffset, 8);
    xstate_bv |= kXstateX87AndSse;
    std::memcpy(fx + kXstateBvOffset, &xstate_bv, 8);
}

} // namespace

KvmVm::KvmVm(uint64_t ram_size) : ram_size_(ram_size) {
    kvm_fd_ = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_fd_ < 0 && errno == ENOENT) throw KvmError("no /dev/kvm");
    if (kvm_fd_ < 0) fail("cannot open /dev/kvm");
    if (::ioctl(kvm_fd_, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        throw KvmError("/dev/kvm: unexpected KVM API version");
    if (::ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
        throw KvmError("/dev/kvm: KVM_CAP_IMMEDIATE_EXIT missing");
    vm_fd_ = ::ioctl(kvm_fd_, KVM_CREATE_VM, 0);
    if (vm_fd_ < 0) fail("KVM_CREATE_VM");

    readonly_memory_ = ::ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
    if (ram_size_ != 0) {
        void* ram = ::mmap(nullptr, ram_size_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (ram == MAP_FAILED) fail("mmap guest RAM");
        ram_ = static_cast<uint8_t*>(ram);
        register_region({.slot = 0, .memory = {.guest_phys = 0, .size = ram_size_, .host = ram_}},
                        false);
    }
    if (::ioctl(vm_fd_, KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddress)) < 0)
        fail("KVM_SET_TSS_ADDR");
    uint64_t identity_map = kIdentityMapAddress;
    if (::ioctl(vm_fd_, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0)
        fail("KVM_SET_IDENTITY_MAP_ADDR");

    vcpu_fd_ = ::ioctl(vm_fd_, KVM_CREATE_VCPU, 0);
    if (vcpu_fd_ < 0) fail("KVM_CREATE_VCPU");
    const int run_size = ::ioctl(kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0) fail("KVM_GET_VCPU_MMAP_SIZE");
    if (run_size < static_cast<int>(sizeof(kvm_run)))
        throw KvmError("KVM_GET_VCPU_MMAP_SIZE: smaller than struct kvm_run");
    run_size_ = static_cast<size_t>(run_size);
    void* run = ::mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd_, 0);
    if (run == MAP_FAILED) fail("mmap kvm_run");
    run_ = static_cast<kvm_run*>(run);

    // The x87/SSE state through KVM_GET/SET_XSAVE where KVM has it (as QEMU does): KVM_SET_FPU
    // writes the legacy area only and leaves XSTATE_BV alone, so a state written while the
    // guest's x87 was in its initial configuration would be reset by the next XRSTOR.
    if (::ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
        const int size = ::ioctl(vm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
        xsave_size_ = std::max<size_t>(sizeof(kvm_xsave), size > 0 ? size_t(size) : 0);
    }
    // The TSC offset as a vCPU attribute (Linux 5.16): a host write of IA32_TSC within a
    // second of where KVM expects it is taken for a synchronization and changes nothing
    // (kvm_synchronize_tsc), so small steps go through the offset where KVM has it.
    kvm_device_attr offset{
        .flags = 0, .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = 0};
    tsc_offset_attribute_ = ::ioctl(vcpu_fd_, KVM_HAS_DEVICE_ATTR, &offset) == 0;
}

KvmVm::~KvmVm() {
    if (kick_signal_ != 0) {
        ::timer_delete(kick_timer_);
        const timespec now{};
        sigset_t kick;
        sigemptyset(&kick);
        sigaddset(&kick, kick_signal_);
        while (::sigtimedwait(&kick, nullptr, &now) == kick_signal_) {
        }
        ::pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);
    }
    if (run_ != nullptr) ::munmap(run_, run_size_);
    if (vcpu_fd_ >= 0) ::close(vcpu_fd_);
    if (vm_fd_ >= 0) ::close(vm_fd_);
    if (ram_ != nullptr) ::munmap(ram_, ram_size_);
    if (kvm_fd_ >= 0) ::close(kvm_fd_);
}

std::optional<std::string> KvmVm::unavailable_reason() {
    try {
        const KvmVm probe(1u << 20);
        return std::nullopt;
    } catch (const KvmError& e) {
        return e.what();
    }
}

void KvmVm::register_region(const Region& region, bool remove) {
    if (region.memory.read_only && !readonly_memory_)
        throw KvmError("/dev/kvm: KVM_CAP_READONLY_MEM missing (read-only BIOS memory)");
    kvm_userspace_memory_region r{};
    r.slot = region.slot;
    r.flags = region.memory.read_only ? KVM_MEM_READONLY : 0;
    r.guest_phys_addr = region.memory.guest_phys;
    r.memory_size = remove ? 0 : region.memory.size; // size 0 deletes the slot
    r.userspace_addr = reinterpret_cast<uintptr_t>(region.memory.host);
    if (::ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &r) < 0) fail("KVM_SET_USER_MEMORY_REGION");
}

void KvmVm::set_memory(std::span<const transit86::RamSlot> slots) {
    const auto same = [](const transit86::RamSlot& a, const transit86::RamSlot& b) {
        return a.guest_phys == b.guest_phys && a.size == b.size && a.host == b.host &&
               a.read_only == b.read_only;
    };
    // Regions may not overlap, even for a moment: first delete what goes, then add what comes.
    std::vector<Region> kept;
    for (const Region& region : regions_) {
        if (std::any_of(slots.begin(), slots.end(),
                        [&](const transit86::RamSlot& s) { return same(s, region.memory); }))
            kept.push_back(region);
        else
            register_region(region, true);
    }
    std::vector<uint32_t> used;
    for (const Region& region : kept)
        used.push_back(region.slot);
    uint32_t next_slot = 1; // 0 is the RAM this class owns
    for (const transit86::RamSlot& slot : slots) {
        if (std::any_of(kept.begin(), kept.end(),
                        [&](const Region& region) { return same(slot, region.memory); }))
            continue;
        while (std::find(used.begin(), used.end(), next_slot) != used.end())
            ++next_slot;
        const Region region{.slot = next_slot, .memory = slot};
        register_region(region, false);
        kept.push_back(region);
        used.push_back(next_slot);
    }
    regions_ = std::move(kept);
}

void KvmVm::set_cpuid(const transit86::CpuModel& model) {
    // Leaves 0, 1 and 80000000H-80000004H, as transit86's CPUID answers them. For a leaf above
    // the maximum KVM, like an Intel processor, answers with the highest basic leaf.
    const auto chars = [](const char* p) {
        uint32_t v = 0;
        std::memcpy(&v, p, 4);
        return v;
    };
    std::vector<kvm_cpuid_entry2> entries;
    const auto add = [&](uint32_t leaf, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
        kvm_cpuid_entry2 e{};
        e.function = leaf;
        e.eax = a, e.ebx = b, e.ecx = c, e.edx = d;
        entries.push_back(e);
    };
    add(0, 1, chars(model.vendor.data()), chars(model.vendor.data() + 8),
        chars(model.vendor.data() + 4));
    add(1, model.signature, 0, model.features_ecx, model.features_edx);
    add(0x80000000, 0x80000004, 0, 0, 0);
    add(0x80000001, 0, 0, 0, model.extended_features_edx);
    for (uint32_t i = 0; i < 3; ++i) {
        const char* p = model.brand.data() + 16 * i;
        add(0x80000002 + i, chars(p), chars(p + 4), chars(p + 8), chars(p + 12));
    }
    std::vector<uint8_t> buffer(sizeof(kvm_cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2));
    auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buffer.data());
    cpuid->nent = static_cast<uint32_t>(entries.size());
    std::memcpy(buffer.data() + sizeof(kvm_cpuid2), entries.data(),
                entries.size() * sizeof(kvm_cpuid_entry2));
    vcpu_ioctl(vcpu_fd_, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
}

transit86::VcpuState KvmVm::state(bool with_fpu) const {
    kvm_regs regs{};
    kvm_sregs sregs{};
    kvm_vcpu_events events{};
    vcpu_ioctl(vcpu_fd_, KVM_GET_REGS, &regs, "KVM_GET_REGS");
    vcpu_ioctl(vcpu_fd_, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
    vcpu_ioctl(vcpu_fd_, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
    transit86::VcpuState state;
    state.regs = std::bit_cast<transit86::KvmRegs>(regs); // the same layout, byte for byte
    state.sregs = std::bit_cast<transit86::KvmSregs>(sregs);
    if (with_fpu && xsave_size_ != 0) {
        const std::vector<uint8_t> xsave = get_xsave();
        fpu_from_fxsave(xsave.data(), state.fpu);
    } else if (with_fpu) {
        kvm_fpu fpu{};
        vcpu_ioctl(vcpu_fd_, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
        state.fpu = std::bit_cast<transit86::KvmFpu>(fpu);
    }
    state.events.interrupt_shadow = events.interrupt.shadow;
    state.events.nmi_masked = events.nmi.masked;
    // An external interrupt KVM has queued but not delivered yet (KVM_INTERRUPT before a run
    // that a kick ended, or a delivery cut short by an exit) goes with the state: whoever runs
    // next delivers it before its first instruction. KVM_GET_SREGS shows it in the interrupt
    // bitmap too, which KVM_SET_SREGS would queue again: set_state() clears it.
    if (events.interrupt.injected != 0 && events.interrupt.soft == 0)
        state.events.interrupt = {.pending = 1, .vector = events.interrupt.nr};
    state.sregs.interrupt_bitmap = {};
    // So does an exception KVM has queued for the next entry (a delivery an exit cut short, a
    // fault of an instruction its emulator ran): without KVM_CAP_EXCEPTION_PAYLOAD `injected`
    // reports pending ones too. Software exceptions (INT3, INTO) are not reported: their RIP
    // is still at the instruction, which runs again (arch/x86/kvm/x86.c,
    // kvm_vcpu_ioctl_x86_get_vcpu_events).
    if (events.exception.injected != 0)
        state.events.exception = {.pending = 1,
                                  .vector = events.exception.nr,
                                  .has_error_code = events.exception.has_error_code,
                                  .error_code = events.exception.error_code};
    return state;
}

std::vector<uint8_t> KvmVm::get_xsave() const {
    std::vector<uint8_t> xsave(xsave_size_);
    if (xsave_size_ > sizeof(kvm_xsave))
        vcpu_ioctl(vcpu_fd_, KVM_GET_XSAVE2, xsave.data(), "KVM_GET_XSAVE2");
    else
        vcpu_ioctl(vcpu_fd_, KVM_GET_XSAVE, xsave.data(), "KVM_GET_XSAVE");
    return xsave;
}

void KvmVm::set_state(const transit86::VcpuState& state) {
    // Segments and control registers first: they decide what mode the registers belong to.
    auto sregs = std::bit_cast<kvm_sregs>(state.sregs);
    std::fill(std::begin(sregs.interrupt_bitmap), std::end(sregs.interrupt_bitmap), 0);
    vcpu_ioctl(vcpu_fd_, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    auto regs = std::bit_cast<kvm_regs>(state.regs);
    vcpu_ioctl(vcpu_fd_, KVM_SET_REGS, &regs, "KVM_SET_REGS");
    // The x87 and SSE state the window's code left.
    if (xsave_size_ != 0) {
        std::vector<uint8_t> xsave = get_xsave(); // the other components stay as they are
        fpu_to_fxsave(state.fpu, xsave.data());
        vcpu_ioctl(vcpu_fd_, KVM_SET_XSAVE, xsave.data(), "KVM_SET_XSAVE");
    } else {
        auto fpu = std::bit_cast<kvm_fpu>(state.fpu);
        vcpu_ioctl(vcpu_fd_, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
    }
    kvm_vcpu_events events{};
    vcpu_ioctl(vcpu_fd_, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
    events.interrupt.shadow = state.events.interrupt_shadow;
    events.nmi.masked = state.events.nmi_masked;
    // An interrupt acknowledged but not yet delivered (state() above, or the platform's INTR
    // handed to transit86 at the window's last boundary) is KVM's to deliver now.
    events.interrupt.injected = state.events.interrupt.pending;
    events.interrupt.nr = state.events.interrupt.vector;
    events.interrupt.soft = 0;
    // Likewise an exception: none once transit86 delivered the one state() carried, so that
    // KVM does not deliver it a second time.
    events.exception.injected = state.events.exception.pending;
    events.exception.nr = state.events.exception.vector;
    events.exception.has_error_code = state.events.exception.has_error_code;
    events.exception.error_code = state.events.exception.error_code;
    events.exception.pending = 0;
    events.flags = KVM_VCPUEVENT_VALID_SHADOW;
    vcpu_ioctl(vcpu_fd_, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS");
}

void KvmVm::set_single_step(bool on) {
    // Armed again before every stepped run: KVM keeps the guest's TF only while RIP is where
    // KVM_SET_GUEST_DEBUG found it (__kvm_set_rflags), so KVM_SET_REGS at another instruction,
    // or an instruction KVM's own emulator completed (MMIO, string I/O), would end stepping.
    if (!on && !single_step_) return;
    kvm_guest_debug debug{};
    debug.control = on ? (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP) : 0;
    vcpu_ioctl(vcpu_fd_, KVM_SET_GUEST_DEBUG, &debug, "KVM_SET_GUEST_DEBUG");
    single_step_ = on;
}

void KvmVm::interrupt(uint8_t vector) {
    kvm_interrupt irq{};
    irq.irq = vector;
    vcpu_ioctl(vcpu_fd_, KVM_INTERRUPT, &irq, "KVM_INTERRUPT");
    run_->ready_for_interrupt_injection = 0; // one is queued now; the next KVM_RUN says more
}

// The MSRs of transit86::kMsrIndices but APIC_BASE (kvm_sregs carries it) that KVM reads back,
// found once: a KVM without MTRR or PAT emulation leaves those out.
const std::vector<uint32_t>& KvmVm::handed_over_msrs() const {
    if (!handed_over_msrs_) {
        handed_over_msrs_.emplace();
        for (const uint32_t index : transit86::kMsrIndices) {
            kvm_msr_entry entry{};
            entry.index = index;
            if (index != 0x1B &&
                msrs_ioctl(vcpu_fd_, KVM_GET_MSRS, std::span(&entry, 1), "KVM_GET_MSRS") == 1)
                handed_over_msrs_->push_back(index);
        }
    }
    return *handed_over_msrs_;
}

void KvmVm::get_msrs(transit86::Msrs& msrs) const {
    const std::vector<uint32_t>& indices = handed_over_msrs();
    std::vector<kvm_msr_entry> entries(indices.size());
    for (size_t i = 0; i < indices.size(); ++i)
        entries[i].index = indices[i];
    if (const size_t done = msrs_ioctl(vcpu_fd_, KVM_GET_MSRS, entries, "KVM_GET_MSRS");
        done != entries.size())
        throw KvmError(fmt::format("KVM_GET_MSRS: KVM refused MSR {:#x}", entries[done].index));
    for (const kvm_msr_entry& e : entries)
        *transit86::msr_field(msrs, e.index) = e.data;
}

void KvmVm::set_msrs(const transit86::Msrs& msrs) {
    const std::vector<uint32_t>& indices = handed_over_msrs();
    std::vector<kvm_msr_entry> entries(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) {
        entries[i].index = indices[i];
        entries[i].data = *transit86::msr_field(msrs, indices[i]);
    }
    if (const size_t done = msrs_ioctl(vcpu_fd_, KVM_SET_MSRS, entries, "KVM_SET_MSRS");
        done != entries.size())
        throw KvmError(fmt::format("KVM_SET_MSRS: KVM refused MSR {:#x} = {:#x}",
                                   entries[done].index, entries[done].data));
}

uint64_t KvmVm::tsc() const {
    uint64_t value = 0;
    msr_ioctl(vcpu_fd_, KVM_GET_MSRS, kMsrTsc, value, "KVM_GET_MSRS (IA32_TSC)");
    return value;
}

void KvmVm::set_tsc(uint64_t value) {
    if (!tsc_offset_attribute_) {
        msr_ioctl(vcpu_fd_, KVM_SET_MSRS, kMsrTsc, value, "KVM_SET_MSRS (IA32_TSC)");
        return;
    }
    // Moves the offset by the difference (the TSC counts on between the two reads: a few
    // hundred nanoseconds of host time, as any write of a running counter).
    uint64_t offset = 0;
    kvm_device_attr attribute{.flags = 0,
                              .group = KVM_VCPU_TSC_CTRL,
                              .attr = KVM_VCPU_TSC_OFFSET,
                              .addr = reinterpret_cast<uintptr_t>(&offset)};
    vcpu_ioctl(vcpu_fd_, KVM_GET_DEVICE_ATTR, &attribute, "KVM_GET_DEVICE_ATTR (TSC offset)");
    offset += value - tsc();
    vcpu_ioctl(vcpu_fd_, KVM_SET_DEVICE_ATTR, &attribute, "KVM_SET_DEVICE_ATTR (TSC offset)");
}

uint32_t KvmVm::tsc_khz() const {
    const int khz = ::ioctl(vcpu_fd_, KVM_GET_TSC_KHZ, 0);
    return khz > 0 ? static_cast<uint32_t>(khz) : 0;
}

void KvmVm::set_up_kicks() {
    kick_signal_ = SIGRTMIN;
    // A handler that does nothing: the signal only has to be pending to end KVM_RUN. Blocked
    // outside KVM_RUN, so it is never delivered to this handler in practice.
    struct sigaction action {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    if (::sigaction(kick_signal_, &action, nullptr) < 0) fail("sigaction");
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, kick_signal_);
    if (::pthread_sigmask(SIG_BLOCK, &kick, nullptr) != 0) fail("pthread_sigmask");
    // Inside KVM_RUN: this thread's mask without the kick signal. KVM takes the kernel's
    // sigset (8 bytes on x86-64): glibc's sigset_t begins with those bits.
    sigset_t during_run;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &during_run);
    sigdelset(&during_run, kick_signal_);
    constexpr uint32_t kKernelSigsetSize = 8;
    std::vector<uint8_t> buffer(sizeof(kvm_signal_mask) + kKernelSigsetSize);
    auto* mask = reinterpret_cast<kvm_signal_mask*>(buffer.data());
    mask->len = kKernelSigsetSize;
    std::memcpy(buffer.data() + sizeof(kvm_signal_mask), &during_run, kKernelSigsetSize);
    vcpu_ioctl(vcpu_fd_, KVM_SET_SIGNAL_MASK, mask, "KVM_SET_SIGNAL_MASK");
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = kick_signal_;
    event._sigev_un._tid = ::gettid();
    if (::timer_create(CLOCK_MONOTONIC, &event, &kick_timer_) < 0) fail("timer_create");
}

void KvmVm::kick_after(uint64_t delay_ns) {
    if (kick_signal_ == 0) {
        if (delay_ns == 0) return;
        set_up_kicks();
    }
    itimerspec when{};
    when.it_value.tv_sec = static_cast<time_t>(delay_ns / 1'000'000'000);
    when.it_value.tv_nsec = static_cast<long>(delay_ns % 1'000'000'000);
    if (::timer_settime(kick_timer_, 0, &when, nullptr) < 0) fail("timer_settime");
}

int KvmVm::run(bool complete_only) {
    run_->immediate_exit = complete_only ? 1 : 0;
    const int rc = ::ioctl(vcpu_fd_, KVM_RUN, 0);
    const int err = errno;
    run_->immediate_exit = 0;
    if (rc == 0) return 0;
    if (err == EINTR) {
        if (kick_signal_ != 0) { // take the kick that ended this run, if it was one
            const timespec now{};
            sigset_t kick;
            sigemptyset(&kick);
            sigaddset(&kick, kick_signal_);
            ::sigtimedwait(&kick, nullptr, &now);
        }
        return -EINTR;
    }
    errno = err;
    fail("KVM_RUN");
}

bool KvmVm::read_linear(uint64_t linear, void* out, size_t size) const {
    auto* bytes = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < size; ++i) {
        kvm_translation t{};
        t.linear_address = (linear + i) & 0xFFFFFFFF;
        if (ioctl(vcpu_fd_, KVM_TRANSLATE, &t) < 0 || t.valid == 0) return false;
        const uint64_t gpa = t.physical_address;
        const auto in = [gpa](const transit86::RamSlot& m) {
            return gpa >= m.guest_phys && gpa - m.guest_phys < m.size;
        };
        if (ram_ && gpa < ram_size_) {
            bytes[i] = ram_[gpa];
            continue;
        }
        const auto region = std::find_if(regions_.begin(), regions_.end(),
                                         [&](const Region& r) { return in(r.memory); });
        if (region == regions_.end()) return false;
        bytes[i] = region->memory.host[gpa - region->memory.guest_phys];
    }
    return true;
}

void serve_kvm_pio(kvm_run& r, transit86::PortHandler& ports) {
    uint8_t* data = reinterpret_cast<uint8_t*>(&r) + r.io.data_offset;
    for (uint32_t i = 0; i < r.io.count; ++i) {
        uint8_t* element = data + size_t{i} * r.io.size;
        transit86::PortAccess access{.port = r.io.port,
                                     .size = r.io.size,
                                     .is_in = r.io.direction == KVM_EXIT_IO_IN,
                                     .data = 0};
        if (!access.is_in) std::memcpy(&access.data, element, r.io.size);
        ports.access(access);
        if (access.is_in) std::memcpy(element, &access.data, r.io.size);
    }
}

} // namespace kvm_vmm
