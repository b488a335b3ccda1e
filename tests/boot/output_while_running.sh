#!/usr/bin/env bash
# output_while_running.sh TRANSIT86 BIOS FLOPPY: `transit86 boot` writing into a pipe passes on a
# console line while the boot still runs (cmd_boot.cpp, PeriodicFlush): FLOPPY's boot sector
# (say-and-spin.asm) prints a marker and then spins forever. Block-buffered, the marker would
# wait in the buffer until the boot ended, which it never does. Exits 77 (skipped) when BIOS is
# missing.
set -uo pipefail
transit86=$1 bios=$2 floppy=$3
if [ ! -r "$bios" ]; then
  echo "skipped: $bios not found (Debian package seabios: scripts/install-deps.sh)"
  exit 77
fi
fifo=$(mktemp -u)
mkfifo "$fifo"
"$transit86" boot --bios "$bios" --floppy "$floppy" --timeout 0 --no-debugcon >"$fifo" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$fifo"' EXIT
exec 3<"$fifo"
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  if IFS= read -r -t 5 line <&3; then
    case "$line" in
    *transit86-spin-marker*)
      if kill -0 $pid 2>/dev/null; then
        echo "PASS: \"$line\" arrived while the boot ran"
        exit 0
      fi
      echo "FAIL: the boot ended"
      exit 1
      ;;
    esac
  elif ! kill -0 $pid 2>/dev/null; then
    echo "FAIL: the boot ended without the marker"
    exit 1
  fi
done
echo "FAIL: no marker within 60 s while the boot ran"
exit 1
