#!/usr/bin/env bash
# fast_forward_same.sh TRANSIT86 BIOS [BOOT ARGS...]: boots twice, with polling loops
# fast-forwarded (the default: PortHandler::steady_read, closed loops retired in bulk) and with
# TRANSIT86_NO_FAST_FORWARD=1 (every IN through the devices, every iteration run), and passes
# when both print the same console, census and instruction counts. Only the block-engine share
# and the wall time on the summary line may differ. Exits 77 (skipped) when BIOS is missing.
set -uo pipefail
transit86=$1 bios=$2
shift 2
if [ ! -r "$bios" ]; then
  echo "skipped: $bios not found (Debian package seabios: scripts/install-deps.sh)"
  exit 77
fi
for arg in "$@"; do
  case "$arg" in
  *.img)
    if [ ! -r "$arg" ]; then
      echo "skipped: $arg not built (tests/boot/README.md)"
      exit 77
    fi
    ;;
  esac
done
on=$(mktemp) off=$(mktemp)
trap 'rm -f "$on" "$off"' EXIT
normalize='s/\([0-9.]+% in the block engine\), [0-9.]+ s$/(share), (time)/'
"$transit86" boot --bios "$bios" "$@" | sed -E "$normalize" >"$on"
first=${PIPESTATUS[0]}
TRANSIT86_NO_FAST_FORWARD=1 "$transit86" boot --bios "$bios" "$@" | sed -E "$normalize" >"$off"
second=${PIPESTATUS[0]}
if [ "$first" -ne "$second" ]; then
  echo "FAIL: exit status $first with fast-forward, $second without"
  exit 1
fi
if ! cmp -s "$on" "$off"; then
  echo "FAIL: the boots differ (< with fast-forward, > without)"
  diff "$on" "$off" | head -n 20
  exit 1
fi
echo "identical: $(wc -l <"$on") lines, exit status $first; $(tail -n 1 "$on")"
