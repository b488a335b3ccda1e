// How a table of checks is run. The fast path and the report path both decide "this row
// fails" with row_fails(); the report only adds the row's describe() text.
#pragma once

#include "transit86/vmx_checks.hpp"

#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

namespace transit86::vmx::detail {

// The two mode bits scopes depend on, computed once per evaluation.
struct Mode {
    bool real_or_v86; // KVM's branch test: !is_protmode() || (rflags & X86_EFLAGS_VM)
    bool v86;         // the SDM's "the guest will be virtual-8086": RFLAGS.VM = 1
};

constexpr Mode mode_of(const CpuState& s) noexcept {
    const bool v86 = (s.eflags & flags::VM) != 0;
    return {(s.cr0 & cr0::PE) == 0 || v86, v86};
}

constexpr bool applies(Scope scope, Mode mode) noexcept {
    switch (scope) {
    case Scope::Always: return true;
    case Scope::RealOrV86: return mode.real_or_v86;
    case Scope::Protected: return !mode.real_or_v86;
    case Scope::V86: return mode.v86;
    case Scope::NotV86: return !mode.v86;
    }
    return true;
}

// The one definition of failure that every path uses.
constexpr bool row_fails(const Check& row, const CpuState& s, const VmxContext& ctx,
                         Mode mode) noexcept {
    return applies(row.scope, mode) && !row.passes(s, ctx);
}

// Row I of a constexpr table, with its scope and predicate fixed at compile time: the scope
// test folds away or becomes one branch on the precomputed mode, and the predicate becomes a
// direct call the optimiser inlines. Same decision as row_fails(), without the indirection.
template <const auto& Table, std::size_t I>
inline bool row_fails_at(const CpuState& s, const VmxContext& ctx, Mode mode) noexcept {
    constexpr Scope scope = Table[I].scope;
    constexpr auto passes = Table[I].passes;
    if constexpr (scope != Scope::Always) {
        if (!applies(scope, mode)) return false;
    }
    return !passes(s, ctx);
}

// Index of the first failing row of a constexpr table, or its size when none fails. Unrolled
// at compile time; the entry point below is flattened, so every predicate is inlined. This is
// the allocation-free, formatting-free fast path (about 10 ns for a valid state under kvm).
template <const auto& Table, std::size_t... I>
std::size_t first_failing_row(const CpuState& s, const VmxContext& ctx,
                              std::index_sequence<I...>) noexcept {
    const Mode mode = mode_of(s);
    std::size_t index = Table.size();
    static_cast<void>(((row_fails_at<Table, I>(s, ctx, mode) ? (index = I, true) : false) || ...));
    return index;
}

template <const auto& Table>
[[gnu::flatten]] std::size_t first_failing_row(const CpuState& s, const VmxContext& ctx) noexcept {
    return first_failing_row<Table>(
        s, ctx,
        std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<decltype(Table)>>>{});
}

// Joins the rows of several groups into one table, keeping their order.
template <std::size_t... N>
constexpr std::array<Check, (N + ...)> concat(const std::array<Check, N>&... groups) {
    std::array<Check, (N + ...)> out{};
    std::size_t at = 0;
    const auto append = [&](const auto& group) {
        for (const Check& row : group)
            out[at++] = row;
    };
    (append(groups), ...);
    return out;
}

// True when no two rows share an id.
template <std::size_t N>
constexpr bool ids_unique(const std::array<Check, N>& table) {
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = i + 1; j < N; ++j)
            if (table[i].id == table[j].id) return false;
    return true;
}

// Each profile's rows and fast path, defined next to its table.
std::span<const Check> kvm_checks() noexcept;
std::size_t kvm_first_failing(const CpuState& s) noexcept; // kvm_checks().size() when valid
std::span<const Check> sdm_checks() noexcept;
// sdm_checks().size() when valid; ctx is the effective context (unrestricted already forced).
std::size_t sdm_first_failing(const CpuState& s, const VmxContext& ctx) noexcept;

} // namespace transit86::vmx::detail
