#!/usr/bin/env bash
# run.sh FUZZER SECONDS WORK_DIR SEED_DIR...: one bounded libFuzzer campaign (docs/fuzzing.md).
# New inputs go to WORK_DIR/corpus (kept between runs), crashes, leaks, timeouts and UB reports
# to WORK_DIR/artifacts; any of those makes libFuzzer, and so this script, exit non-zero.
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3
shift 3
mkdir -p "$work/corpus" "$work/artifacts"
seeds=()
for dir in "$@"; do [ -d "$dir" ] && seeds+=("$dir"); done
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "${seeds[@]}"
