// Public entry points: dispatch on the profile, then run its table (see table.hpp).
#include "table.hpp"

#include <algorithm>
#include <cctype>

namespace transit86::vmx {
namespace {

constexpr VmxContext kDefaultContext{};

// Index of the first failing row of the profile's table; checks(profile).size() when valid.
// `ctx` is already the effective context.
std::size_t first_failing_index(const CpuState& s, Profile profile,
                                const VmxContext& ctx) noexcept {
    switch (profile) {
    case Profile::Kvm: return detail::kvm_first_failing(s);
    case Profile::Sdm:
    case Profile::Unrestricted: return detail::sdm_first_failing(s, ctx);
    }
    return 0;
}

constexpr std::string_view kProfileNames[] = {"kvm", "sdm", "unrestricted"};

} // namespace

VmxContext effective_context(Profile profile, const VmxContext& context) noexcept {
    VmxContext out = context;
    if (profile == Profile::Unrestricted) out.unrestricted_guest = true;
    return out;
}

std::span<const Check> checks(Profile profile) noexcept {
    switch (profile) {
    case Profile::Kvm: return detail::kvm_checks();
    case Profile::Sdm:
    case Profile::Unrestricted: return detail::sdm_checks();
    }
    return {};
}

bool is_valid(const CpuState& state, Profile profile) noexcept {
    return is_valid(state, profile, kDefaultContext);
}

bool is_valid(const CpuState& state, Profile profile, const VmxContext& context) noexcept {
    const VmxContext ctx = effective_context(profile, context);
    return first_failing_index(state, profile, ctx) == checks(profile).size();
}

const Check* first_failure(const CpuState& state, Profile profile) noexcept {
    return first_failure(state, profile, kDefaultContext);
}

const Check* first_failure(const CpuState& state, Profile profile,
                           const VmxContext& context) noexcept {
    const VmxContext ctx = effective_context(profile, context);
    const std::span<const Check> rows = checks(profile);
    const std::size_t index = first_failing_index(state, profile, ctx);
    return index < rows.size() ? &rows[index] : nullptr;
}

std::vector<Violation> evaluate(const CpuState& state, Profile profile) {
    return evaluate(state, profile, kDefaultContext);
}

std::vector<Violation> evaluate(const CpuState& state, Profile profile, const VmxContext& context) {
    const VmxContext ctx = effective_context(profile, context);
    const detail::Mode mode = detail::mode_of(state);
    std::vector<Violation> out;
    for (const Check& row : checks(profile))
        if (detail::row_fails(row, state, ctx, mode))
            out.push_back({&row, row.describe(state, ctx)});
    return out;
}

const Check* find_check(Profile profile, std::string_view id) noexcept {
    const std::span<const Check> rows = checks(profile);
    const auto it =
        std::find_if(rows.begin(), rows.end(), [id](const Check& row) { return row.id == id; });
    return it != rows.end() ? &*it : nullptr;
}

bool in_scope(Scope scope, const CpuState& state) noexcept {
    return detail::applies(scope, detail::mode_of(state));
}

std::string_view to_string(Profile profile) noexcept {
    return kProfileNames[static_cast<std::size_t>(profile)];
}

std::optional<Profile> parse_profile(std::string_view name) noexcept {
    const auto same = [name](std::string_view candidate) {
        return std::equal(
            name.begin(), name.end(), candidate.begin(), candidate.end(),
            [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    };
    for (std::size_t i = 0; i < std::size(kProfileNames); ++i)
        if (same(kProfileNames[i])) return static_cast<Profile>(i);
    return std::nullopt;
}

std::string_view to_string(Scope scope) noexcept {
    switch (scope) {
    case Scope::Always: return "always";
    case Scope::RealOrV86: return "real-or-v86";
    case Scope::Protected: return "protected";
    case Scope::V86: return "v86";
    case Scope::NotV86: return "not-v86";
    }
    return "?";
}

} // namespace transit86::vmx
