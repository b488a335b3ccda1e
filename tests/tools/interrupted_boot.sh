#!/usr/bin/env bash
# interrupted_boot.sh TRANSIT86: SIGINT (Ctrl-C) and SIGTERM (`timeout`, `kill`) end
# `transit86 boot` as any other end does: the end line, the census summary, exit status
# 128 + the signal. The firmware is a 64 KiB ROM of `jmp $`: it runs until the signal comes.
set -uo pipefail
transit86=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for _ in $(seq 32768); do printf '\353\376'; done >"$dir/loop.rom"
for signal in INT TERM; do
  "$transit86" boot --bios "$dir/loop.rom" --timeout 0 >"$dir/out" 2>&1 &
  pid=$!
  # Signal once the handlers are in (SigCgt: bit 1 SIGINT, bit 14 SIGTERM), not before.
  for _ in $(seq 600); do
    caught=$(sed -n 's/^SigCgt:\t*//p' "/proc/$pid/status" 2>/dev/null)
    [ -n "$caught" ] && (((0x$caught & 0x4002) == 0x4002)) && break
    sleep 0.1
  done
  kill -s "$signal" "$pid"
  wait "$pid"
  status=$?
  expected=$((128 + $(kill -l "$signal")))
  if [ "$status" -ne "$expected" ] || ! grep -q "^== end: interrupted by SIG$signal after" "$dir/out" ||
    ! grep -q "^== census (kvm): " "$dir/out"; then
    echo "FAIL: SIG$signal: exit status $status (expected $expected), output:"
    tail -n 5 "$dir/out"
    exit 1
  fi
done
echo "PASS: SIGINT and SIGTERM end the boot with its census"
