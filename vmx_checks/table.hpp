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

// KVM's branch test in __vmx_guest_state_valid: !is_protmode() || (rflags & X86_EFLAGS_VM).
constexpr bool real_or_v86(const CpuState& s) noexcept {
    return (s.cr0 & cr0::PE) == 0 || (s.eflags & flags::VM) != 0;
}

constexpr bool applies(Scope scope, bool real_or_v86_mode) noexcept {
    switch (scope) {
    case Scope::Always: return true;
    case Scope::RealOrV86: return real_or_v86_mode;
    case Scope::Protected: return !real_or_v86_mode;
    }
    return true;
}

// The one definition of failure that every path uses.
constexpr bool row_fails(const Check& row, const CpuState& s, bool real_or_v86_mode) noexcept {
    return applies(row.scope, real_or_v86_mode) && !row.passes(s);
}

// Row I of a constexpr table, with its scope and predicate fixed at compile time: the scope
// test folds away or becomes one branch on the precomputed mode, and the predicate becomes a
// direct call the optimiser inlines. Same decision as row_fails(), without the indirection.
template <const auto& Table, std::size_t I>
inline bool row_fails_at(const CpuState& s, bool real_or_v86_mode) noexcept {
    constexpr Scope scope = Table[I].scope;
    constexpr auto passes = Table[I].passes;
    if constexpr (scope == Scope::RealOrV86) {
        if (!real_or_v86_mode) return false;
    } else if constexpr (scope == Scope::Protected) {
        if (real_or_v86_mode) return false;
    }
    return !passes(s);
}

// Index of the first failing row of a constexpr table, or its size when none fails. Unrolled
// at compile time; the entry point below is flattened, so every predicate is inlined. This is
// the allocation-free, formatting-free fast path (about 10 ns for a valid state).
template <const auto& Table, std::size_t... I>
std::size_t first_failing_row(const CpuState& s, std::index_sequence<I...>) noexcept {
    const bool real = real_or_v86(s);
    std::size_t index = Table.size();
    static_cast<void>(((row_fails_at<Table, I>(s, real) ? (index = I, true) : false) || ...));
    return index;
}

template <const auto& Table>
[[gnu::flatten]] std::size_t first_failing_row(const CpuState& s) noexcept {
    return first_failing_row<Table>(
        s, std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<decltype(Table)>>>{});
}

// Joins the rows of two branches into one table, keeping their order.
template <std::size_t N, std::size_t M>
constexpr std::array<Check, N + M> concat(const std::array<Check, N>& a,
                                          const std::array<Check, M>& b) {
    std::array<Check, N + M> out{};
    for (std::size_t i = 0; i < N; ++i)
        out[i] = a[i];
    for (std::size_t i = 0; i < M; ++i)
        out[N + i] = b[i];
    return out;
}

// Each profile's rows and fast path, defined next to its table.
std::span<const Check> kvm_checks() noexcept;
std::size_t kvm_first_failing(const CpuState& s) noexcept; // kvm_checks().size() when valid
std::span<const Check> sdm_checks() noexcept;
std::size_t sdm_first_failing(const CpuState& s) noexcept; // sdm_checks().size() when valid

} // namespace transit86::vmx::detail
