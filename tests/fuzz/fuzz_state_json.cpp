// libFuzzer target: the state-file reader of `transit86 check` (tools::state_from_json) and
// what check prints about the state. A malformed document may only raise StateFormatError;
// a state that reads back must survive state_to_json -> state_from_json unchanged.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "tools/formats/state_json.hpp"
#include "tools/formats/vmx_report.hpp"

namespace {

using namespace transit86;

void check(bool condition) {
    if (!condition) __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // run_check's parse: a parse error is the "not valid JSON" usage error.
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(data, data + size);
    } catch (const nlohmann::json::exception&) { // parse_error, out_of_range (1e999)
        return 0;
    }
    CpuState state;
    try {
        state = tools::state_from_json(doc);
    } catch (const tools::StateFormatError& e) {
        check(std::string_view(e.what()).find('\n') == std::string_view::npos);
        return 0;
    }
    // The JSON form carries everything but the TSC, the MSRs and the x87 state.
    CpuState again = tools::state_from_json(tools::state_to_json(state));
    again.tsc = state.tsc;
    again.msrs = state.msrs;
    again.x87 = state.x87;
    check(again == state);

    // What `check --json --compare --kvm-fixup` prints.
    for (const vmx::Profile p : {vmx::Profile::Kvm, vmx::Profile::Sdm, vmx::Profile::Unrestricted})
        (void)tools::violations_to_json(vmx::evaluate(state, p))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    (void)tools::divergences_to_json(vmx::compare_profiles(state))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    (void)tools::fixup_to_json(vmx::kvm_fixup(state))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    return 0;
}
