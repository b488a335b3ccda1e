#include "tools/gdb/gdb_target.hpp"

#include <algorithm>

#include "tools/gdb/registers.hpp"

namespace transit86::gdb {

RunResult GdbTarget::run(const RunRequest& request) {
    RunResult out;
    const vmx::Profile profile = this->profile();
    while (out.positions < request.max_positions) {
        const uint64_t pc_before = linear_pc(state());
        const bool valid_before = request.stop_on_verdict_change && vmx::is_valid(state(), profile);
        StepResult r = step();
        out.console += r.console;
        if (r.retired) ++out.positions;
        if (!r.event.empty()) {
            out.ended = r.ended;
            out.event = std::move(r.event);
            return out;
        }
        if (!r.retired) continue; // a chunk of a REP string instruction
        if (request.stop_on_verdict_change && vmx::is_valid(state(), profile) != valid_before) {
            out.verdict_changed = true;
            out.changed_by = pc_before;
            return out;
        }
        if (std::binary_search(request.breakpoints.begin(), request.breakpoints.end(),
                               linear_pc(state()))) {
            out.at_breakpoint = true;
            return out;
        }
    }
    return out;
}

} // namespace transit86::gdb
