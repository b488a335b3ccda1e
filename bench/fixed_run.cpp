// A fixed amount of guest work per workload, for callgrind: the instruction counts it gives
// are deterministic, so two builds compare to the instruction (docs/performance.md).
//   valgrind --tool=callgrind build/bin/transit86_fixed_run segmented-copy
// Prints the guest instructions retired; the callgrind total divided by it is the cost of one.
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "bench/workloads.hpp"
#include "transit86/emulator.hpp"

using namespace transit86;

namespace {

uint64_t run_workload(const bench::Workload& w, int repeats) {
    bench::LoadedWorkload g(w);
    uint64_t retired = 0;
    for (int i = 0; i < repeats; ++i) {
        g.emu.state() = w.start;
        retired += g.emu.run(RunLimits{.budget = 0, .stop_when_valid = std::nullopt}).instructions;
    }
    return retired;
}

// The interpreter alone: one instruction per run() call.
uint64_t single_steps(const bench::Workload& w, int steps) {
    bench::LoadedWorkload g(w);
    g.emu.state() = w.start;
    const RunLimits one{.budget = 0, .stop_when_valid = std::nullopt, .single_step = true};
    uint64_t retired = 0;
    for (int i = 0; i < steps; ++i)
        retired += g.emu.run(one).instructions;
    return retired;
}

} // namespace

int main(int argc, char** argv) {
    const std::string_view name = argc > 1 ? argv[1] : "";
    uint64_t retired = 0;
    if (name == "register-loop-r16")
        retired = run_workload(bench::register_loop(false, 200000), 1);
    else if (name == "register-loop-p32")
        retired = run_workload(bench::register_loop(true, 200000), 1);
    else if (name == "segmented-copy")
        retired = run_workload(bench::segmented_copy_loop(100000), 1);
    else if (name == "unreal-rep-movsd")
        retired = run_workload(bench::unreal_rep_movsd(1u << 20), 1);
    else if (name == "flat-rep-movsd")
        retired = run_workload(bench::flat_rep_movsd(1u << 20), 1);
    else if (name == "flat-rep-movsd-paged")
        retired = run_workload(bench::with_identity_paging(bench::flat_rep_movsd(1u << 20)), 1);
    else if (name == "register-loop-p32-paged")
        retired = run_workload(bench::with_identity_paging(bench::register_loop(true, 200000)), 1);
    else if (name == "single-step-p32-paged")
        retired =
            single_steps(bench::with_identity_paging(bench::register_loop(true, 1u << 30)), 100000);
    else if (name == "single-step-p32")
        retired = single_steps(bench::register_loop(true, 1u << 30), 100000);
    else {
        std::fprintf(stderr, "usage: transit86_fixed_run WORKLOAD\n");
        return 2;
    }
    std::printf("%llu guest instructions\n", static_cast<unsigned long long>(retired));
    return 0;
}
