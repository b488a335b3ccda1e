#!/usr/bin/env bash
# boot-bench.sh BUILD_DIR: the boot workloads of `make bench` (docs/performance.md):
#   f-seabios-post  SeaBIOS alone, from reset to "No bootable device"
#   g-grub-menu     SeaBIOS + GRUB 2 (build/boot-images/grub-echo.img) to the echo marker of
#                   its grub.cfg, "transit86-grub-marker: grub.cfg read"
# Wall time from process start to the console marker, for `transit86 boot --until MARKER` and,
# when qemu-system-i386 is installed, for QEMU TCG run by scripts/qemu-reference.sh (which
# stops QEMU at the marker), each the median of ROUNDS runs (default 3). Also transit86's guest
# instructions to the marker and the share the block engine ran. One line per workload:
#   workload=NAME transit86=S qemu_tcg=S unit=s instructions=N block_engine=P%
set -uo pipefail
build=${1:-build}
rounds=${ROUNDS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
transit86=$build/bin/transit86
bios=/usr/share/seabios/bios.bin
[ -f "$build/boot-images/boot-files.env" ] && . "$build/boot-images/boot-files.env"
bios=${TRANSIT86_SEABIOS_BIN:-$bios}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
now() { date +%s.%N; }

# transit86: seconds from process start to exit (it exits right after the marker), and the
# summary's instruction count and block-engine share.
run_transit86() {
  local marker=$1 out start end
  shift
  out=$(mktemp)
  start=$(now)
  "$transit86" boot --bios "$bios" --preset kvm --until "$marker" "$@" >"$out" 2>&1
  end=$(now)
  if ! grep -q "the console showed" "$out"; then
    echo "boot-bench: transit86 did not reach \"$marker\"" >&2
    rm -f "$out"
    return 1
  fi
  summary=$(tail -n 1 "$out")
  instructions=$(sed -nE 's/.* ([0-9]+) instructions \(([0-9.]+)% in the block engine\).*/\1/p' <<<"$summary")
  share=$(sed -nE 's/.* ([0-9]+) instructions \(([0-9.]+)% in the block engine\).*/\2/p' <<<"$summary")
  rm -f "$out"
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

run_qemu() {
  local marker=$1
  shift
  "$here/scripts/qemu-reference.sh" --marker "$marker" -- "$@" 2>/dev/null |
    sed -nE 's/^qemu-reference: marker ".*" at ([0-9.]+) s wall.*/\1/p' | tail -n 1
}

workload() {
  local name=$1 marker=$2 image=$3 t q i
  local disk=()
  [ -n "$image" ] && disk=(--disk "$image")
  if [ ! -f "$bios" ] || { [ -n "$image" ] && [ ! -f "$image" ]; }; then
    echo "workload=$name transit86=- qemu_tcg=- unit=s (skipped: ${image:-$bios} missing)"
    return
  fi
  t=$(for _ in $(seq "$rounds"); do run_transit86 "$marker" "${disk[@]}"; done | median)
  run_transit86 "$marker" "${disk[@]}" >/dev/null # for instructions and share
  q=-
  if command -v qemu-system-i386 >/dev/null; then
    local qemu_disk=()
    [ -n "$image" ] && qemu_disk=(-drive "file=$image,format=raw,if=ide,snapshot=on")
    q=$(for _ in $(seq "$rounds"); do run_qemu "$marker" "${qemu_disk[@]}"; done | median)
  fi
  echo "workload=$name transit86=$t qemu_tcg=${q:--} unit=s instructions=$instructions block_engine=$share%"
}

workload f-seabios-post "No bootable device" ""
workload g-grub-menu "transit86-grub-marker: grub.cfg read" "${TRANSIT86_GRUB_ECHO_IMG:-$build/boot-images/grub-echo.img}"
