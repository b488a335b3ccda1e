// Nothing is allocated on the heap inside run(): this binary replaces the global operator new
// and delete (every form) and interposes malloc, calloc, realloc and the aligned allocators, so
// an allocation by transit86, the standard library, Zydis or fmt during a measured run()
// counts. Each test runs a scenario and asserts the count stayed at zero.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "guest.hpp"
#include "transit86/transit86.h"

namespace {

std::atomic<uint64_t> g_allocations{0};

} // namespace

// glibc's own entry points, which the interposed functions forward to.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* p);

void* malloc(size_t size) noexcept {
    ++g_allocations;
    return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) noexcept {
    ++g_allocations;
    return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) noexcept {
    ++g_allocations;
    return __libc_realloc(p, size);
}
void* aligned_alloc(size_t alignment, size_t size) noexcept {
    ++g_allocations;
    return __libc_memalign(alignment, size);
}
void* memalign(size_t alignment, size_t size) noexcept {
    ++g_allocations;
    return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
    ++g_allocations;
    *out = __libc_memalign(alignment, size);
    return *out != nullptr ? 0 : 12; // ENOMEM
}
void free(void* p) noexcept {
    __libc_free(p);
}
}

namespace {
void* counted_new(std::size_t size, std::size_t alignment = alignof(std::max_align_t)) {
    ++g_allocations;
    void* p = alignment <= alignof(std::max_align_t) ? __libc_malloc(size == 0 ? 1 : size)
                                                     : __libc_memalign(alignment, size);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}
void* counted_new_nothrow(std::size_t size, std::size_t alignment) noexcept {
    try {
        return counted_new(size, alignment);
    } catch (...) {
        return nullptr;
    }
}
constexpr std::size_t kDefault = alignof(std::max_align_t);
} // namespace

void* operator new(std::size_t n) {
    return counted_new(n);
}
void* operator new[](std::size_t n) {
    return counted_new(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return counted_new_nothrow(n, kDefault);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return counted_new_nothrow(n, kDefault);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_new_nothrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_new_nothrow(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
    __libc_free(p);
}
void operator delete[](void* p) noexcept {
    __libc_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    __libc_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    __libc_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    __libc_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    __libc_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    __libc_free(p);
}

namespace transit86::test {
namespace {

// Allocations made by `f`.
template <class F>
uint64_t allocations_during(F&& f) {
    const uint64_t before = g_allocations.load();
    f();
    return g_allocations.load() - before;
}

TEST(AllocationCounter, SeesOperatorNewAndMalloc) {
    EXPECT_EQ(allocations_during([] { delete new int(1); }), 1u);
    EXPECT_EQ(allocations_during([] {
                  void* volatile p = std::malloc(16);
                  std::free(p);
              }),
              1u);
    EXPECT_EQ(allocations_during([] { std::vector<int> v(100); }), 1u);
}

// The bundled sample under each profile, run the way a VMM runs it: to a valid state, then
// one instruction "in the VM" (a single step), and again, until its HLT.
TEST(NoAllocationInRun, BootSampleAlternatingValidChecksAndSteps) {
    const std::vector<uint8_t> image = read_boot_sample("pe_entry.bin");
    ASSERT_EQ(image.size(), 512u);
    const RunLimits one{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    for (const vmx::Profile profile :
         {vmx::Profile::Kvm, vmx::Profile::Sdm, vmx::Profile::Unrestricted}) {
        Guest guest(1u << 20);
        guest.load(kSampleLoad, image);
        QuietPorts ports;
        Emulator emu(guest.slots(), &ports);
        VcpuState state = real_mode_state(static_cast<uint16_t>(kSampleLoad));
        const RunLimits to_valid{.budget = 0, .stop_when_valid = profile};
        Exit exit;
        uint32_t valid_exits = 0;
        const uint64_t n = allocations_during([&] {
            for (int i = 0; i < 100; ++i) {
                exit = emu.run(state, to_valid);
                if (exit.reason != ExitReason::GuestStateValid) break;
                ++valid_exits;
                exit = emu.run(state, one);
                if (exit.reason != ExitReason::Step) break;
            }
        });
        EXPECT_EQ(n, 0u) << vmx::to_string(profile);
        EXPECT_EQ(exit.reason, ExitReason::Halt) << vmx::to_string(profile);
        EXPECT_EQ(ports.text(), "OK\n");
        // sdm: paging-off protected mode is not enterable without unrestricted guest.
        if (profile != vmx::Profile::Sdm) {
            EXPECT_GT(valid_exits, 0u);
        }
    }
}

// Every resume path: IN and OUT exits, MMIO read and write, MOVSW from MMIO to MMIO, REP OUTSB.
TEST(NoAllocationInRun, IoAndMmioExitsAndTheirResumption) {
    Guest guest;
    Emulator emu(guest.slots());
    VcpuState state = real_mode_state();
    set_real_segment(state.sregs.es, kMmioSegment2);
    guest.load(0x2000, {'h', 'i'});
    guest.load(kCode, {0xE4, 0x40,       // in al, 0x40
                       0xE6, 0x80,       // out 0x80, al
                       0x1E,             // push ds
                       0xB8, 0x00, 0x10, // mov ax, 0x1000
                       0x8E, 0xD8,       // mov ds, ax
                       0xA1, 0x10, 0x00, // mov ax, [0x10]    (MMIO read)
                       0xA3, 0x20, 0x00, // mov [0x20], ax    (MMIO write)
                       0xA5,             // movsw             (MMIO to MMIO)
                       0x1F,             // pop ds
                       0xBE, 0x00, 0x20, // mov si, 0x2000
                       0xB9, 0x02, 0x00, // mov cx, 2
                       0xBA, 0xF8, 0x03, // mov dx, 0x3f8
                       0xF3, 0x6E,       // rep outsb
                       0xF4});           // hlt
    uint32_t io_exits = 0, mmio_exits = 0;
    Exit exit;
    const uint64_t n = allocations_during([&] {
        for (int i = 0; i < 32; ++i) {
            exit = emu.run(state, kUntilExit);
            if (exit.reason == ExitReason::Io) {
                ++io_exits;
                if (exit.io.is_in) emu.complete_io(0x12);
            } else if (exit.reason == ExitReason::Mmio) {
                ++mmio_exits;
                if (!exit.mmio_write) emu.complete_mmio(0x3456);
            } else {
                break;
            }
        }
    });
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_EQ(io_exits, 4u);   // in, out, two elements of rep outsb
    EXPECT_EQ(mmio_exits, 4u); // read, write, movsw read + write
}

// A loop: the block engine translates it inside run(), into a table allocated beforehand.
TEST(NoAllocationInRun, LoopsRunInTheBlockEngine) {
    Guest guest;
    Emulator emu(guest.slots());
    VcpuState state = real_mode_state();
    guest.load(kCode, {0xB9, 0x00, 0x10, // mov cx, 0x1000
                       0x01, 0xD8,       // L: add ax, bx
                       0x49,             // dec cx
                       0x75, 0xFB,       // jnz L
                       0xF4});           // hlt
    Exit exit;
    const uint64_t n = allocations_during([&] { exit = emu.run(state, kUntilExit); });
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(exit.reason, ExitReason::Halt);
    EXPECT_GT(emu.engine_stats().in_blocks, 0x1000u);
}

TEST(NoAllocationInRun, EventInjection) {
    Guest guest;
    Emulator emu(guest.slots());
    VcpuState state = real_mode_state();
    guest.set_ivt(0x06, 0, 0x3000);
    guest.set_ivt(0x20, 0, 0x3100);
    guest.load(0x3000, {0xFB, 0x90, 0xF4}); // #UD handler: sti ; nop ; hlt
    guest.load(0x3100, {0xF4});             // IRQ handler: hlt
    guest.load(kCode, {0x90});
    state.events.exception = {.pending = 1, .vector = 0x06};
    state.events.interrupt = {.pending = 1, .vector = 0x20};
    Exit first, second;
    const uint64_t n = allocations_during([&] {
        first = emu.run(state, kUntilExit);  // delivers #UD, stops at the window after STI
        second = emu.run(state, kUntilExit); // delivers the interrupt
    });
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(first.reason, ExitReason::InterruptWindow);
    EXPECT_EQ(second.reason, ExitReason::Halt);
    EXPECT_EQ(state.regs.rip, 0x3101u);
}

// The C ABI's run, with a port callback, over the bundled sample.
TEST(NoAllocationInRun, CApiRun) {
    const std::vector<uint8_t> image = read_boot_sample("pe_entry.bin");
    ASSERT_EQ(image.size(), 512u);
    Guest guest(1u << 20);
    guest.load(kSampleLoad, image);
    const transit86_ram_slot slot{
        .guest_phys = 0, .size = 1u << 20, .host = guest.ram(), .read_only = 0, .padding = {}};
    int outs = 0;
    auto count_outs = [](void* opaque, transit86_port_access* a) {
        if (a->direction == TRANSIT86_IO_OUT) ++*static_cast<int*>(opaque);
        return TRANSIT86_PORT_HANDLED;
    };
    transit86_vcpu* vcpu = nullptr;
    ASSERT_EQ(transit86_create(&slot, 1, count_outs, &outs, &vcpu), TRANSIT86_OK);
    const VcpuState start = real_mode_state(static_cast<uint16_t>(kSampleLoad));
    transit86_vcpu_state c_state;
    std::memcpy(&c_state, &start, sizeof(c_state));
    ASSERT_EQ(transit86_set_state(vcpu, &c_state), TRANSIT86_OK);
    transit86_limits limits = TRANSIT86_LIMITS_DEFAULT;
    limits.budget = 0;
    transit86_exit to_valid{}, to_halt{};
    const uint64_t n = allocations_during([&] {
        transit86_run(vcpu, &limits, &to_valid);
        limits.stop_when_valid = TRANSIT86_PROFILE_NONE;
        transit86_run(vcpu, &limits, &to_halt);
    });
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(to_valid.reason, static_cast<uint32_t>(TRANSIT86_EXIT_VALID));
    EXPECT_EQ(to_halt.reason, static_cast<uint32_t>(TRANSIT86_EXIT_HALT));
    EXPECT_EQ(outs, 4); // "OK\n" and the debug exit
    transit86_destroy(vcpu);
}

} // namespace
} // namespace transit86::test
