// transit86-compare: the same guest workloads, in one process, on transit86, on Unicorn 2
// and on /dev/kvm, at full speed (no single-stepping). Ends with one line per workload:
//   workload=NAME transit86=X unicorn=Y kvm=Z unit=U
// ("-" where an engine cannot run it). docs/performance.md records the results.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <linux/kvm.h>
#include <optional>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unicorn/unicorn.h>
#include <unistd.h>
#include <vector>

#include "bench/workloads.hpp"
#include "transit86/emulator.hpp"
#include "transit86/kvm_state.hpp"

using namespace transit86;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kRam = 8u << 20;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `once` repeatedly for at least `min_seconds`; returns runs per second.
// Runs of `once` per second: the median of up to five rounds of min_seconds / 5 each, so a
// moment of interference from another process does not decide the figure (a slow engine,
// whose one run outlasts the budget, gets fewer rounds).
double rate(const std::function<bool()>& once, double min_seconds = 0.5) {
    std::vector<double> rounds;
    const auto start = Clock::now();
    do {
        int runs = 0;
        const auto round_start = Clock::now();
        do {
            if (!once()) return 0;
            ++runs;
        } while (seconds_since(round_start) < min_seconds / 5);
        rounds.push_back(runs / seconds_since(round_start));
    } while (rounds.size() < 5 && seconds_since(start) < 2 * min_seconds);
    std::sort(rounds.begin(), rounds.end());
    return rounds[rounds.size() / 2];
}

void load_workload(uint8_t* ram, const bench::Workload& w) {
    std::copy(w.code.begin(), w.code.end(), ram + w.load_address);
    if (w.start.protected_mode()) {
        std::vector<uint8_t> gdt;
        uint32_t gdt_address;
        bench::flat_protected_state(gdt, gdt_address);
        std::copy(gdt.begin(), gdt.end(), ram + gdt_address);
    }
}

// ---- transit86
std::optional<double> transit86_ips(const bench::Workload& w) {
    std::vector<uint8_t> ram(kRam);
    load_workload(ram.data(), w);
    const RamSlot slot{.guest_phys = 0, .size = kRam, .host = ram.data()};
    Emulator emu({&slot, 1});
    const RunLimits limits{.budget = 0, .stop_when_valid = std::nullopt};
    uint64_t retired = 0;
    const double runs = rate([&] {
        emu.state() = w.start;
        const Exit exit = emu.run(limits);
        retired = exit.instructions;
        return exit.reason == ExitReason::Halt;
    });
    if (runs == 0) return std::nullopt;
    return runs * static_cast<double>(retired);
}

// ---- Unicorn 2: real-mode workloads in UC_MODE_16; 32-bit ones in UC_MODE_32 (flat).
std::optional<double> unicorn_ips(const bench::Workload& w) {
    // Unicorn cannot import hidden segment caches, so unreal mode cannot be set up: the 16-bit
    // code with its 67/66 prefixes would mean something else in UC_MODE_32.
    if (!w.start.protected_mode() && w.start[Seg::DS].limit > 0xFFFF) return std::nullopt;
    const bool flat32 = w.start.protected_mode();
    uc_engine* uc = nullptr;
    if (uc_open(UC_ARCH_X86, flat32 ? UC_MODE_32 : UC_MODE_16, &uc) != UC_ERR_OK)
        return std::nullopt;
    std::vector<uint8_t> ram(kRam);
    load_workload(ram.data(), w);
    uc_mem_map_ptr(uc, 0, kRam, UC_PROT_ALL, ram.data());
    const CpuState& s = w.start;
    const int gprs[] = {UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
                        UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI};
    const uint64_t begin = w.load_address;
    const uint64_t until = w.load_address + w.code.size() - 1; // the final HLT
    const double runs = rate([&] {
        for (int i = 0; i < 8; ++i) {
            uint32_t v = s.gpr[static_cast<size_t>(i)];
            uc_reg_write(uc, gprs[i], &v);
        }
        if (!flat32) {
            const int segs[] = {UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS, UC_X86_REG_DS};
            for (int i = 0; i < 4; ++i) {
                uint32_t sel = s.seg[static_cast<size_t>(i)].selector;
                uc_reg_write(uc, segs[i], &sel);
            }
        }
        return uc_emu_start(uc, begin, until, 0, 0) == UC_ERR_OK;
    });
    uc_close(uc);
    if (runs == 0) return std::nullopt;
    return runs * static_cast<double>(w.instructions - 1); // the HLT is not executed
}

// ---- /dev/kvm, KVM_RUN until the HLT exit (on this host KVM emulates real mode itself).
std::optional<double> kvm_ips(const bench::Workload& w) {
    const int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) return std::nullopt;
    const int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    void* mem = mmap(nullptr, kRam, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    std::optional<double> result;
    if (vm >= 0 && mem != MAP_FAILED) {
        auto* ram = static_cast<uint8_t*>(mem);
        load_workload(ram, w);
        kvm_userspace_memory_region region{.slot = 0,
                                           .flags = 0,
                                           .guest_phys_addr = 0,
                                           .memory_size = kRam,
                                           .userspace_addr = reinterpret_cast<uint64_t>(mem)};
        ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
        ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
        const int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
        const int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
        auto* run = static_cast<kvm_run*>(mmap(nullptr, static_cast<size_t>(run_size),
                                               PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
        if (vcpu >= 0 && run != MAP_FAILED) {
            KvmRegs regs{};
            KvmSregs sregs{};
            ioctl(vcpu, KVM_GET_SREGS, &sregs);
            to_kvm(w.start, regs, sregs);
            const double runs = rate([&] {
                if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
                    return false;
                return ioctl(vcpu, KVM_RUN, 0) == 0 && run->exit_reason == KVM_EXIT_HLT;
            });
            if (runs > 0) result = runs * static_cast<double>(w.instructions);
            munmap(run, static_cast<size_t>(run_size));
        }
        if (vcpu >= 0) close(vcpu);
    }
    if (mem != MAP_FAILED) munmap(mem, kRam);
    if (vm >= 0) close(vm);
    close(kvm);
    return result;
}

// (d) the cold window: construct, load the bundled sample, run until valid, destroy.
std::optional<double> cold_window_us(const std::string& sample) {
    std::FILE* f = std::fopen(sample.c_str(), "rb");
    if (!f) return std::nullopt;
    std::vector<uint8_t> image(512);
    const size_t n = std::fread(image.data(), 1, image.size(), f);
    std::fclose(f);
    if (n != 512) return std::nullopt;
    std::vector<uint8_t> ram(1u << 20);
    const double runs = rate([&] {
        const RamSlot slot{.guest_phys = 0, .size = ram.size(), .host = ram.data()};
        Emulator emu({&slot, 1});
        emu.write_physical(0x7C00, image.data(), image.size());
        CpuState& s = emu.state();
        s = reset_state(ResetPreset::Intel);
        s[Seg::CS].selector = 0;
        s[Seg::CS].base = 0;
        s.eip = 0x7C00;
        // Run to the CR0 write (the state is valid in real mode), then until valid again.
        RunLimits to_window{.budget = 15, .stop_when_valid = std::nullopt};
        emu.run(to_window);
        const Exit exit = emu.run(RunLimits{.budget = 130});
        return exit.reason == ExitReason::GuestStateValid;
    });
    if (runs == 0) return std::nullopt;
    return 1e6 / runs;
}

// (e) stepping with the trace to /dev/null, through the CLI: lines per second.
std::optional<double> trace_lines_per_second(const std::string& cli, const std::string& image) {
    const uint64_t budget = 200000;
    const std::string command = fmt::format(
        "{} step {} --load-address 0x1000 --preset kvm --stop-at budget --budget {} > /dev/null",
        cli, image, budget);
    // One run takes ~0.1 s including process start-up: the median of five, so one run
    // disturbed by another process does not decide the figure.
    std::vector<double> rates;
    for (int i = 0; i < 5; ++i) {
        const auto start = Clock::now();
        const int status = std::system(command.c_str());
        const double elapsed = seconds_since(start);
        if (status != 0) return std::nullopt;
        rates.push_back(static_cast<double>(budget) / elapsed);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

std::string cell(const std::optional<double>& v, double scale = 1.0) {
    return v ? fmt::format("{:.3g}", *v / scale) : "-";
}

} // namespace

int main(int argc, char** argv) {
    const std::string bin_dir = argc > 1 ? argv[1] : "build/bin";
    const std::string corpus_dir = argc > 2 ? argv[2] : "build/corpus";
    std::vector<std::string> lines;
    auto report = [&](const std::string& name, std::optional<double> t, std::optional<double> u,
                      std::optional<double> k, const std::string& unit, double scale) {
        std::string ratios;
        if (t && u) ratios += fmt::format("  transit86/unicorn={:.2f}x", *t / *u);
        if (t && k) ratios += fmt::format("  transit86/kvm={:.2f}x", *t / *k);
        fmt::print("{:<22} transit86 {:>8}  unicorn {:>8}  kvm {:>8}  {}{}\n", name, cell(t, scale),
                   cell(u, scale), cell(k, scale), unit, ratios);
        lines.push_back(fmt::format("workload={} transit86={} unicorn={} kvm={} unit={}", name,
                                    cell(t, scale), cell(u, scale), cell(k, scale), unit));
    };
    const std::vector<bench::Workload> loops = {
        bench::register_loop(false, 2000000), bench::register_loop(true, 2000000),
        bench::segmented_copy_loop(2000000), bench::unreal_rep_movsd(1u << 20)};
    const char* names[] = {"a-register-loop-r16", "a-register-loop-p32", "b-segmented-copy",
                           "c-unreal-rep-movsd"};
    for (size_t i = 0; i < loops.size(); ++i) {
        const bench::Workload& w = loops[i];
        const bool bytes = i == 3; // (c) is measured in bytes copied per second
        auto per = [&](std::optional<double> ips) -> std::optional<double> {
            if (!ips || !bytes) return ips;
            return *ips / static_cast<double>(w.instructions) * (1u << 20);
        };
        report(names[i], per(transit86_ips(w)), per(unicorn_ips(w)), per(kvm_ips(w)),
               bytes ? "MB/s" : "Minstr/s", 1e6);
    }
    report("d-cold-window", cold_window_us(corpus_dir + "/boot/pe_entry.bin"), std::nullopt,
           std::nullopt, "us", 1.0);
    // The trace workload steps a long register loop: write it as an image for the CLI.
    const bench::Workload trace_loop = bench::register_loop(false, 100000000);
    const std::string image = "/tmp/transit86-compare-loop.bin";
    if (std::FILE* f = std::fopen(image.c_str(), "wb")) {
        std::fwrite(trace_loop.code.data(), 1, trace_loop.code.size(), f);
        std::fclose(f);
    }
    report("e-trace-lines", trace_lines_per_second(bin_dir + "/transit86", image), std::nullopt,
           std::nullopt, "Mlines/s", 1e6);
    std::remove(image.c_str());
    fmt::print("\n");
    for (const auto& l : lines)
        fmt::print("{}\n", l);
    return 0;
}
