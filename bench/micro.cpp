// Google Benchmark micro-benchmarks: decode, the VM-entry check fast path, single step, and
// the instruction rate of the guest workloads on transit86 alone. The cross-engine compare
// program is bench/compare.cpp.
#include <benchmark/benchmark.h>
#include <cstdio>
#include <vector>

#include "bench/workloads.hpp"
#include "decoder/decoder.hpp"
#include "transit86/emulator.hpp"
#include "transit86/vmx_checks.hpp"

using namespace transit86;

namespace {

void BM_Decode(benchmark::State& state) {
    const uint8_t add[] = {0x66, 0x01, 0xD8}; // add eax, ebx (16-bit code)
    decoder::Insn insn;
    for (auto _ : state) {
        benchmark::DoNotOptimize(decoder::decode(add, sizeof add, {}, insn));
        benchmark::DoNotOptimize(insn);
    }
}
BENCHMARK(BM_Decode);

void BM_CheckFastPath(benchmark::State& state) {
    std::vector<uint8_t> gdt;
    uint32_t gdt_address;
    const CpuState s = bench::flat_protected_state(gdt, gdt_address);
    for (auto _ : state)
        benchmark::DoNotOptimize(vmx::is_valid(s, vmx::Profile::Kvm));
}
BENCHMARK(BM_CheckFastPath);

void BM_SingleStep(benchmark::State& state) {
    const bench::Workload w = bench::register_loop(false, 1u << 30);
    bench::LoadedWorkload m(w);
    m.emu.state() = w.start;
    const RunLimits one{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    for (auto _ : state)
        benchmark::DoNotOptimize(m.emu.run(one));
}
BENCHMARK(BM_SingleStep);

// (d) the cold window: construct, load the bundled sample, run it through the window, destroy.
void BM_ColdWindow(benchmark::State& state) {
    std::FILE* f = std::fopen(TRANSIT86_PE_ENTRY, "rb");
    std::vector<uint8_t> image(512);
    if (!f || std::fread(image.data(), 1, image.size(), f) != image.size()) {
        state.SkipWithError("pe_entry.bin not built");
        return;
    }
    std::fclose(f);
    std::vector<uint8_t> ram(1u << 20);
    for (auto _ : state) {
        const RamSlot slot{.guest_phys = 0, .size = ram.size(), .host = ram.data()};
        Emulator emu({&slot, 1});
        emu.write_physical(0x7C00, image.data(), image.size());
        CpuState& s = emu.state();
        s = reset_state(ResetPreset::Intel);
        s[Seg::CS].selector = 0;
        s[Seg::CS].base = 0;
        s.eip = 0x7C00;
        emu.run(RunLimits{.budget = 15, .stop_when_valid = std::nullopt});
        benchmark::DoNotOptimize(emu.run(RunLimits{.budget = 130}));
    }
}
BENCHMARK(BM_ColdWindow)->Unit(benchmark::kMicrosecond);

void run_workload(benchmark::State& state, const bench::Workload& w) {
    bench::LoadedWorkload m(w);
    const RunLimits limits{.budget = 0, .stop_when_valid = std::nullopt};
    uint64_t retired = 0;
    for (auto _ : state) {
        m.emu.state() = w.start;
        retired += m.emu.run(limits).instructions;
    }
    state.counters["guest_ips"] =
        benchmark::Counter(static_cast<double>(retired), benchmark::Counter::kIsRate);
}

void BM_RegisterLoopReal(benchmark::State& state) {
    run_workload(state, bench::register_loop(false, 1000000));
}
void BM_RegisterLoop32(benchmark::State& state) {
    run_workload(state, bench::register_loop(true, 1000000));
}
// The same loop under 32-bit paging (4-KByte pages identity-mapping the first 8 MiB): the
// block engine runs it through the TLB's translations.
void BM_RegisterLoop32Paged(benchmark::State& state) {
    run_workload(state, bench::with_identity_paging(bench::register_loop(true, 1000000)));
}
void BM_SegmentedCopy(benchmark::State& state) {
    run_workload(state, bench::segmented_copy_loop(1000000));
}
BENCHMARK(BM_RegisterLoopReal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RegisterLoop32)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RegisterLoop32Paged)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SegmentedCopy)->Unit(benchmark::kMillisecond);

// The interpreter's memory path: REP MOVSD is one instruction whose iterations each read and
// write through Cpu::read / Cpu::write (the block engine takes a REP of at most 1,024
// elements only).
void BM_UnrealRepMovsd(benchmark::State& state) {
    run_workload(state, bench::unreal_rep_movsd(1u << 20));
}
BENCHMARK(BM_UnrealRepMovsd)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
