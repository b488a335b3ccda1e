#!/usr/bin/env bash
# run.sh FUZZER SECONDS WORK_DIR SEED_DIR...: one bounded libFuzzer campaign (docs/fuzzing.md).
# With FUZZ_RUNS=N in the environment the campaign ends after N executions instead of SECONDS.
# New inputs go to WORK_DIR/corpus (kept between runs), crashes, leaks, timeouts and UB reports
# to WORK_DIR/artifacts; any of those makes libFuzzer, and so this script, exit non-zero.
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3
shift 3
mkdir -p "$work/corpus" "$work/artifacts"
seeds=()
for dir in "$@"; do [ -d "$dir" ] && seeds+=("$dir"); done
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Recording an allocation stack per malloc costs a third of fuzz_cli's time (CLI11 allocates a
# lot); every check stays on. Rerun an artifact without this for the allocation stacks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0}
limit=(-max_total_time="$seconds")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
exec "$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "${seeds[@]}"
