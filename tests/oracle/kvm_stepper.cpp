// KvmStepper: see kvm_stepper.hpp for the KVM behaviour this code is shaped around.
#include "oracle/kvm_stepper.hpp"

#include <linux/kvm.h>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace transit86::oracle {

namespace {

// The only KVM API version there has ever been (Documentation/virt/kvm/api.rst, 4.1).
constexpr int kKvmApiVersion = 12;

// Legacy prefixes (SDM Vol. 2A 2.1.1) that may precede F4 and still make a HLT.
bool is_legacy_prefix(uint8_t b) {
    switch (b) {
    case 0xF0:
    case 0xF2:
    case 0xF3: // LOCK, REPNE, REP
    case 0x26:
    case 0x2E:
    case 0x36:
    case 0x3E:
    case 0x64: // segment overrides
    case 0x65:
    case 0x66:
    case 0x67: // and operand/address size
        return true;
    default: return false;
    }
}

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

[[noreturn]] void throw_errno(int err, const char* what) {
    throw std::system_error(err, std::generic_category(), what);
}

// ioctl that throws: for calls that only fail when the host or this code is broken.
int must_ioctl(int fd, unsigned long request, void* arg, const char* what) {
    const int rc = ::ioctl(fd, request, arg);
    if (rc < 0) throw_errno(errno, what);
    return rc;
}

uint32_t interruptibility_from(const kvm_vcpu_events& ev) {
    uint32_t bits = 0;
    if ((ev.interrupt.shadow & KVM_X86_SHADOW_INT_STI) != 0)
        bits |= interruptibility::BlockingBySti;
    if ((ev.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS) != 0) {
        bits |= interruptibility::BlockingByMovSs;
    }
    if ((ev.flags & KVM_VCPUEVENT_VALID_SMM) != 0 && ev.smi.smm != 0) {
        bits |= interruptibility::BlockingBySmi;
    }
    if (ev.nmi.masked != 0) bits |= interruptibility::BlockingByNmi;
    return bits;
}

bool same_position(const CpuState& a, const CpuState& b) {
    return a.eip == b.eip && a[Seg::CS].selector == b[Seg::CS].selector &&
           a[Seg::CS].base == b[Seg::CS].base;
}

} // namespace

const char* to_string(StepReason reason) {
    switch (reason) {
    case StepReason::Debug: return "Debug";
    case StepReason::Io: return "Io";
    case StepReason::Mmio: return "Mmio";
    case StepReason::Hlt: return "Hlt";
    case StepReason::Shutdown: return "Shutdown";
    case StepReason::InternalError: return "InternalError";
    case StepReason::FailEntry: return "FailEntry";
    case StepReason::Other: return "Other";
    }
    return "?";
}

KvmStepper::KvmStepper(const StepperOptions& options) : options_(options) {
    // A floating bus reads all ones.
    port_input_ = [](uint16_t, uint8_t) { return 0xFFFFFFFFu; };
    mmio_read_ = [](uint64_t, uint32_t) { return ~uint64_t{0}; };
}

KvmStepper::~KvmStepper() {
    if (run_map_ != nullptr) ::munmap(run_map_, run_map_size_);
    if (vcpu_fd_ >= 0) ::close(vcpu_fd_);
    if (vm_fd_ >= 0) ::close(vm_fd_);
    if (ram_ != nullptr) ::munmap(ram_, ram_size_);
    if (kvm_fd_ >= 0) ::close(kvm_fd_);
}

std::unique_ptr<KvmStepper> KvmStepper::create(const StepperOptions& options, std::string* error) {
    std::unique_ptr<KvmStepper> stepper(new KvmStepper(options));
    std::string why;
    try {
        if (stepper->open(why)) return stepper;
    } catch (const std::system_error& e) {
        why = e.what();
    }
    if (error != nullptr) *error = why;
    return nullptr;
}

std::optional<std::string> KvmStepper::unavailable_reason() {
    std::string why;
    if (create({}, &why) != nullptr) return std::nullopt;
    return why;
}

bool KvmStepper::open(std::string& error) {
    const std::string& dev = options_.device;
    kvm_fd_ = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
    if (kvm_fd_ < 0) {
        error = "cannot open " + dev + ": " + errno_text(errno);
        return false;
    }
    const int version = ::ioctl(kvm_fd_, KVM_GET_API_VERSION, 0);
    if (version != kKvmApiVersion) {
        error = dev + ": KVM API version " + std::to_string(version) + ", expected 12";
        return false;
    }
    // step() completes I/O exits with kvm_run.immediate_exit (Linux 4.11+).
    if (::ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
        error = dev + ": KVM_CAP_IMMEDIATE_EXIT not supported";
        return false;
    }
    vm_fd_ = ::ioctl(kvm_fd_, KVM_CREATE_VM, 0);
    if (vm_fd_ < 0) {
        error = "KVM_CREATE_VM: " + errno_text(errno);
        return false;
    }

    ram_size_ = options_.memory_size;
    void* ram = ::mmap(nullptr, ram_size_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) {
        error = "mmap of guest RAM: " + errno_text(errno);
        return false;
    }
    ram_ = static_cast<uint8_t*>(ram);
    kvm_userspace_memory_region region{};
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = ram_size_;
    region.userspace_addr = reinterpret_cast<uintptr_t>(ram_);
    if (::ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        error = "KVM_SET_USER_MEMORY_REGION: " + errno_text(errno);
        return false;
    }
    // Real mode on VMX without unrestricted guest runs in vm86 and needs a TSS (api.rst 4.42).
    if (::ioctl(vm_fd_, KVM_SET_TSS_ADDR, static_cast<unsigned long>(options_.tss_addr)) < 0) {
        error = "KVM_SET_TSS_ADDR: " + errno_text(errno);
        return false;
    }
    if (options_.identity_map_addr) {
        uint64_t addr = *options_.identity_map_addr;
        if (::ioctl(vm_fd_, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
            error = "KVM_SET_IDENTITY_MAP_ADDR: " + errno_text(errno);
            return false;
        }
    }

    vcpu_fd_ = ::ioctl(vm_fd_, KVM_CREATE_VCPU, 0);
    if (vcpu_fd_ < 0) {
        error = "KVM_CREATE_VCPU: " + errno_text(errno);
        return false;
    }
    const int map_size = ::ioctl(kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (map_size < static_cast<int>(sizeof(kvm_run))) {
        error = "KVM_GET_VCPU_MMAP_SIZE: " + errno_text(errno);
        return false;
    }
    run_map_size_ = static_cast<size_t>(map_size);
    void* run = ::mmap(nullptr, run_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd_, 0);
    if (run == MAP_FAILED) {
        error = "mmap of kvm_run: " + errno_text(errno);
        return false;
    }
    run_map_ = run;

    // Read the reset state before anything else touches the vCPU.
    reset_regs_ = regs();
    reset_sregs_ = sregs();
    reset_state_ = state();

    if (options_.supported_cpuid) guest_cpuid_set_ = set_supported_cpuid();
    // From here on KVM owns EFLAGS.TF (kvm_stepper.hpp); enabling it now, not at the first
    // step(), makes set_state() treat TF the same way before and after that step.
    enable_single_step();
    return true;
}

bool KvmStepper::set_supported_cpuid() {
    // KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is large enough. Some KVM
    // flavours refuse it outright (kvm_pvm here: EINVAL for every size); then the guest keeps
    // KVM's empty CPUID table.
    for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
        std::vector<uint8_t> buffer(sizeof(kvm_cpuid2) + nent * sizeof(kvm_cpuid_entry2));
        auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buffer.data());
        cpuid->nent = nent;
        if (::ioctl(kvm_fd_, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
            if (errno == E2BIG) continue;
            return false;
        }
        return ::ioctl(vcpu_fd_, KVM_SET_CPUID2, cpuid) == 0;
    }
    return false;
}

bool KvmStepper::load(uint64_t gpa, std::span<const uint8_t> bytes) {
    if (gpa > ram_size_ || bytes.size() > ram_size_ - gpa) return false;
    if (!bytes.empty()) std::memcpy(ram_ + gpa, bytes.data(), bytes.size());
    return true;
}

bool KvmStepper::read(uint64_t gpa, std::span<uint8_t> out) const {
    if (gpa > ram_size_ || out.size() > ram_size_ - gpa) return false;
    if (!out.empty()) std::memcpy(out.data(), ram_ + gpa, out.size());
    return true;
}

KvmRegs KvmStepper::regs() const {
    kvm_regs r{};
    must_ioctl(vcpu_fd_, KVM_GET_REGS, &r, "KVM_GET_REGS");
    return std::bit_cast<KvmRegs>(r);
}

KvmSregs KvmStepper::sregs() const {
    kvm_sregs s{};
    must_ioctl(vcpu_fd_, KVM_GET_SREGS, &s, "KVM_GET_SREGS");
    return std::bit_cast<KvmSregs>(s);
}

CpuState KvmStepper::state() const {
    CpuState s = from_kvm(regs(), sregs());
    kvm_vcpu_events ev{};
    must_ioctl(vcpu_fd_, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS");
    s.interruptibility = interruptibility_from(ev);
    return s;
}

bool KvmStepper::set_state(const CpuState& state, std::string* error) {
    KvmRegs r = regs();
    KvmSregs s = sregs();
    to_kvm(state, r, s);
    auto fail = [&](const char* what) {
        if (error != nullptr) *error = std::string(what) + ": " + errno_text(errno);
        return false;
    };
    // Segments and control registers first: they set the mode the registers belong to.
    auto kernel_sregs = std::bit_cast<kvm_sregs>(s);
    if (::ioctl(vcpu_fd_, KVM_SET_SREGS, &kernel_sregs) < 0) return fail("KVM_SET_SREGS");
    auto kernel_regs = std::bit_cast<kvm_regs>(r);
    if (::ioctl(vcpu_fd_, KVM_SET_REGS, &kernel_regs) < 0) return fail("KVM_SET_REGS");

    kvm_vcpu_events ev{};
    if (::ioctl(vcpu_fd_, KVM_GET_VCPU_EVENTS, &ev) < 0) return fail("KVM_GET_VCPU_EVENTS");
    ev.interrupt.shadow = 0;
    if ((state.interruptibility & interruptibility::BlockingBySti) != 0) {
        ev.interrupt.shadow |= KVM_X86_SHADOW_INT_STI;
    }
    if ((state.interruptibility & interruptibility::BlockingByMovSs) != 0) {
        ev.interrupt.shadow |= KVM_X86_SHADOW_INT_MOV_SS;
    }
    ev.nmi.masked = (state.interruptibility & interruptibility::BlockingByNmi) != 0 ? 1 : 0;
    // Only the shadow is flagged valid: pending NMIs, SIPI vector and SMM stay as they are.
    ev.flags = KVM_VCPUEVENT_VALID_SHADOW;
    if (::ioctl(vcpu_fd_, KVM_SET_VCPU_EVENTS, &ev) < 0) return fail("KVM_SET_VCPU_EVENTS");
    return true;
}

void KvmStepper::enable_single_step() {
    kvm_guest_debug dbg{};
    dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
    must_ioctl(vcpu_fd_, KVM_SET_GUEST_DEBUG, &dbg, "KVM_SET_GUEST_DEBUG");
}

std::optional<uint32_t> KvmStepper::hlt_length_at(const CpuState& s) const {
    uint64_t address = (s[Seg::CS].base + s.eip) & 0xFFFFFFFF;
    if ((s.cr0 & cr0::PG) != 0) {
        kvm_translation tr{};
        tr.linear_address = address;
        if (::ioctl(vcpu_fd_, KVM_TRANSLATE, &tr) < 0 || tr.valid == 0) return std::nullopt;
        address = tr.physical_address;
    }
    // An instruction is at most 15 bytes (SDM Vol. 2A 2.3.11), prefixes included.
    for (uint32_t i = 0; i < 15 && address + i < ram_size_; ++i) {
        const uint8_t b = ram_[address + i];
        if (b == 0xF4) return i + 1;
        if (!is_legacy_prefix(b)) return std::nullopt;
    }
    return std::nullopt;
}

void KvmStepper::fill_port_input(PortAccess& access, uint8_t* data) {
    for (uint32_t i = 0; i < access.count; ++i) {
        const uint32_t value = port_input_(access.port, access.size);
        for (uint32_t b = 0; b < access.size; ++b) {
            data[i * access.size + b] = static_cast<uint8_t>(value >> (8 * b));
        }
    }
}

// Take the I/O or MMIO exit in kvm_run into the result, answering reads.
void KvmStepper::record_exit(StepResult& result) {
    auto* run = static_cast<kvm_run*>(run_map_);
    if (run->exit_reason == KVM_EXIT_IO) {
        PortAccess access;
        access.port = run->io.port;
        access.size = run->io.size;
        access.in = run->io.direction == KVM_EXIT_IO_IN;
        access.count = run->io.count;
        uint8_t* data = static_cast<uint8_t*>(run_map_) + run->io.data_offset;
        const size_t bytes = size_t{access.size} * access.count;
        if (access.in) fill_port_input(access, data);
        access.data.assign(data, data + bytes);
        result.io.push_back(std::move(access));
        return;
    }
    MmioAccess access;
    access.address = run->mmio.phys_addr;
    access.length = run->mmio.len;
    access.write = run->mmio.is_write != 0;
    if (!access.write) {
        const uint64_t value = mmio_read_(access.address, access.length);
        for (uint32_t b = 0; b < access.length && b < 8; ++b) {
            run->mmio.data[b] = static_cast<uint8_t>(value >> (8 * b));
        }
    }
    std::memcpy(access.data.data(), run->mmio.data, access.data.size());
    result.mmio.push_back(access);
}

// One KVM_RUN. With complete_only, KVM finishes the pending I/O and returns without entering
// the guest (kvm_run.immediate_exit; api.rst: "complete pending operations without allowing any
// further instructions to be executed"). Returns 0 or -errno.
int KvmStepper::run_vcpu(bool complete_only) {
    auto* run = static_cast<kvm_run*>(run_map_);
    run->immediate_exit = complete_only ? 1 : 0;
    const int rc = ::ioctl(vcpu_fd_, KVM_RUN, 0);
    const int err = errno;
    run->immediate_exit = 0;
    return rc < 0 ? -err : 0;
}

// A step that ended on an exit other than I/O, MMIO or DEBUG.
void KvmStepper::finish_on_exit(StepResult& result) const {
    const auto* run = static_cast<const kvm_run*>(run_map_);
    switch (run->exit_reason) {
    case KVM_EXIT_HLT: result.reason = StepReason::Hlt; break;
    case KVM_EXIT_SHUTDOWN: result.reason = StepReason::Shutdown; break;
    case KVM_EXIT_INTERNAL_ERROR:
        result.reason = StepReason::InternalError;
        result.suberror = run->internal.suberror;
        for (uint32_t i = 0; i < run->internal.ndata && i < 16; ++i) {
            result.internal_data.push_back(run->internal.data[i]);
        }
        break;
    case KVM_EXIT_FAIL_ENTRY:
        result.reason = StepReason::FailEntry;
        result.hardware_reason = run->fail_entry.hardware_entry_failure_reason;
        break;
    default:
        result.reason = StepReason::Other;
        result.hardware_reason = run->hw.hardware_exit_reason;
        break;
    }
    result.state = state();
    if (result.reason == StepReason::Hlt) result.state.activity = ActivityState::Hlt;
}

// A step that retired its instruction: say what kind it was.
void KvmStepper::classify_retired(StepResult& result, const CpuState& before,
                                  std::optional<uint32_t> hlt_length) {
    if (!result.io.empty()) {
        result.reason = StepReason::Io;
    } else if (!result.mmio.empty()) {
        result.reason = StepReason::Mmio;
    } else if (hlt_length && result.state[Seg::CS] == before[Seg::CS] &&
               result.state.eip == before.eip + *hlt_length) {
        // KVM single-stepped over the HLT (kvm_stepper.hpp); it retired, it did not fault.
        result.reason = StepReason::Hlt;
        result.state.activity = ActivityState::Hlt;
    } else {
        result.reason = StepReason::Debug;
    }
}

StepResult KvmStepper::step() {
    const CpuState before = state();
    const std::optional<uint32_t> hlt_length = hlt_length_at(before);
    const auto* run = static_cast<const kvm_run*>(run_map_);

    StepResult result;
    bool completing = false; // an I/O or MMIO exit is waiting to be finished
    while (result.runs < options_.max_runs_per_step) {
        const int rc = run_vcpu(completing);
        ++result.runs;
        if (rc == -EINTR && !completing) continue; // a signal before the guest ran: again
        if (rc < 0 && rc != -EINTR) throw_errno(-rc, "KVM_RUN");
        // rc == -EINTR while completing: the OUT or MMIO write had already retired.
        if (rc == 0) {
            result.exit_reason = run->exit_reason;
            if (run->exit_reason == KVM_EXIT_IO || run->exit_reason == KVM_EXIT_MMIO) {
                record_exit(result);
                completing = true;
                continue;
            }
            if (run->exit_reason != KVM_EXIT_DEBUG) {
                finish_on_exit(result);
                return result;
            }
            result.dr6 = run->debug.arch.dr6;
        }

        // An instruction boundary, or a REP string instruction between chunks.
        completing = false;
        result.state = state();
        const bool rep_in_progress =
            same_position(result.state, before) && (result.state.eflags & flags::RF) != 0;
        if (options_.merge_rep_chunks && rep_in_progress) continue;
        classify_retired(result, before, hlt_length);
        return result;
    }
    result.reason = StepReason::Other; // max_runs_per_step reached
    result.state = state();
    return result;
}

} // namespace transit86::oracle
