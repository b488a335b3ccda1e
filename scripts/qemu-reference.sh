#!/usr/bin/env bash
# Runs a boot image under QEMU TCG (qemu-system-i386) the way the transit86 boot chains are
# compared with it: QEMU's i440FX "pc" machine with no default devices (no VGA, no NIC, no
# CD-ROM), graphics=off so that QEMU hands SeaBIOS `etc/sercon-port` and SeaBIOS's text goes to
# COM1, 128 MiB, -no-reboot; the BIOS transit86 boots by default (/usr/share/seabios/bios.bin,
# not QEMU's own default bios-256k.bin; BIOS=FILE for another) and no kvmvapic.bin option ROM
# (-global apic-common.vapic=off: transit86's platform has none, and its legacy-ROM boot entry
# would make SeaBIOS try the hard disk before the floppy). QEMU is a reference only: nothing in
# `make test` needs it.
#
#   qemu-reference.sh [--marker TEXT]... [--timeout S] [--count | --icount] [--debugcon FILE]
#                     [--expect TEXT | --send TEXT]... [--raw FILE] -- QEMU-ARGS...
#
# QEMU=qemu-system-x86_64 for a 64-bit kernel. Markers are looked for in order, in the byte
# stream (full-screen programs such as memtest86+ never end a line); the run stops at the last.
# Default mode: prints each console line (COM1, split at CR or LF, escape sequences kept) with
# the wall time since QEMU's process start, and for each marker:
#   qemu-reference: marker "TEXT" at 0.312 s wall
# --count: counts guest instructions instead. The virtual clock is the instruction count
# (-icount shift=0,sleep=off, as transit86's clock: a HLT skips to the next timer event), so
# the count is reproducible; TCG runs one instruction per block and logs every block it
# executes (-singlestep -d exec,nochain) and every UART register write (-trace serial_write).
# Exact up to instructions that fault and restart (each counted twice); about 50 times slower
# than a plain run:
#   qemu-reference: marker "TEXT" after 119428856 instructions (118723319 with each REP counted once)
# --icount: the default mode on transit86's clock (-icount shift=0,sleep=off). SeaBIOS's serial
# console flushes its text on timer ticks, so what reaches COM1 depends on the clock: with
# --icount the console is the one transit86 must print (the boot chains' goldens).
# --debugcon FILE: SeaBIOS's debug log (I/O port 0x402) into FILE.
# --expect/--send (default mode only): typed on COM1 as `transit86 boot --expect/--send` types
# it — each --send once the console has shown the --expect texts before it, looked for in the
# output since the previous step's match; escapes as printf %b (\r, \e, \xHH). QEMU reads it
# from stdin whenever it comes (host time), so only the text, not the timing, compares.
# --raw FILE: the console's bytes as COM1 sent them (NUL bytes dropped).
set -euo pipefail

markers=()
timeout_s=60
count=0
icount=()
debugcon=""
raw=/dev/null
steps_expect=()
steps_send=()
pending_expect=""
while [ $# -gt 0 ]; do
  case "$1" in
    --expect) [ -z "$pending_expect" ] || { steps_expect+=("$pending_expect"); steps_send+=(""); }
              pending_expect="$2"; shift 2 ;;
    --send) steps_expect+=("$pending_expect"); steps_send+=("$2"); pending_expect=""; shift 2 ;;
    --raw) raw="$2"; shift 2 ;;
    --marker) markers+=("$2"); shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --count) count=1; shift ;;
    --icount) icount=(-icount shift=0,sleep=off); shift ;;
    --debugcon) debugcon="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "qemu-reference: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -z "$pending_expect" ] || { echo "qemu-reference: --expect \"$pending_expect\" has no --send after it" >&2; exit 2; }
qemu=${QEMU:-qemu-system-i386}
command -v "$qemu" >/dev/null || { echo "qemu-reference: $qemu not found (package qemu-system-x86)" >&2; exit 1; }

base=(-nodefaults -machine pc,graphics=off -display none -monitor none -m 128 -no-reboot -accel tcg
      -bios "${BIOS:-/usr/share/seabios/bios.bin}" -global apic-common.vapic=off)
[ -z "$debugcon" ] || base+=(-chardev "file,id=debugcon,path=$debugcon" -device isa-debugcon,iobase=0x402,chardev=debugcon)

if [ "$count" -eq 1 ]; then
  [ ${#markers[@]} -gt 0 ] || { echo "qemu-reference: --count needs --marker" >&2; exit 2; }
  # Every "Trace" line is one executed one-instruction block. serial_write lines carry the
  # register offset and value; offset 0 with LCR.DLAB (bit 7 of offset 3) clear is a byte sent.
  # A REP string instruction is one block per iteration: "merged" counts a run of blocks at the
  # same address once, as a retired-instruction counter does (it also merges `jmp $`/`loop $`).
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  trap 'rm -f "$fifo"' EXIT
  timeout "$timeout_s" "$qemu" "${base[@]}" -icount shift=0,sleep=off -serial null -singlestep -d exec,nochain \
      -trace serial_write -D "$fifo" "$@" >/dev/null 2>&1 &
  qemu_pid=$!
  status=0
  awk -v markers="$(printf '%s\n' "${markers[@]}")" '
    BEGIN { wanted = split(markers, marker, "\n"); next_marker = 1 }
    function hex(s,   i, v) {
      v = 0
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
      return v
    }
    /^Trace / {
      n++
      split($0, f, "/")
      if (f[2] != last_pc) { merged++; last_pc = f[2] }
      next
    }
    /serial_write/ {
      match($0, /addr 0x[0-9a-f]+/); a = hex(substr($0, RSTART + 7, RLENGTH - 7))
      match($0, /val 0x[0-9a-f]+/); v = hex(substr($0, RSTART + 6, RLENGTH - 6))
      if (a == 3) dlab = (v >= 128)
      if (a == 0 && !dlab) {
        text = text sprintf("%c", v)
        if (length(text) > 4096) text = substr(text, length(text) - 2047)
        while (next_marker <= wanted && index(text, marker[next_marker])) {
          printf "qemu-reference: marker \"%s\" after %d instructions (%d with each REP counted once)\n", marker[next_marker], n, merged
          text = substr(text, index(text, marker[next_marker]) + length(marker[next_marker]))
          next_marker++
        }
        if (next_marker > wanted) exit 0
      }
    }
    END {
      if (next_marker <= wanted) {
        printf "qemu-reference: marker \"%s\" not seen in %d instructions\n", marker[next_marker], n
        exit 1
      }
    }' <"$fifo" || status=$?
  kill "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  exit "$status"
fi

start=${EPOCHREALTIME/./}
next_marker=0
elapsed() { # seconds since start, to the millisecond
  local us=$((${EPOCHREALTIME/./} - start))
  printf '%d.%03d' $((us / 1000000)) $((us % 1000000 / 1000))
}
coproc QEMU_RUN { exec timeout "$timeout_s" "$qemu" "${base[@]}" "${icount[@]}" -serial stdio "$@" 2>&1; }
qemu_pid=$QEMU_RUN_PID
exec {console_fd}<&"${QEMU_RUN[0]}" {input_fd}>&"${QEMU_RUN[1]}"
exec {raw_fd}>"$raw"
next_step=0
seen="" # console output since the last step's match
type_steps() {
  while [ "$next_step" -lt ${#steps_send[@]} ]; do
    local expect=${steps_expect[$next_step]}
    if [ -n "$expect" ]; then
      [[ "$seen" == *"$expect"* ]] || return 0
      seen=${seen#*"$expect"}
    fi
    printf '%b' "${steps_send[$next_step]}" >&"$input_fd"
    printf '%8s qemu-reference: typed "%s"\n' "$(elapsed)" "${steps_send[$next_step]}"
    next_step=$((next_step + 1))
  done
}
type_steps
# Byte by byte: full-screen programs (memtest86+) position the cursor and never end a line, so
# the marker is looked for in the stream, not in finished lines.
line=""
while IFS= read -r -d '' -N 1 ch; do
  printf '%s' "$ch" >&"$raw_fd"
  if [ "$next_step" -lt ${#steps_send[@]} ]; then
    seen+=$ch
    type_steps
  fi
  if [ "$ch" = $'\n' ] || [ "$ch" = $'\r' ]; then
    [ -z "$line" ] || printf '%8s %s\n' "$(elapsed)" "$line"
    line=""
    continue
  fi
  line+=$ch
  if [ "$next_marker" -lt ${#markers[@]} ] && [[ "$line" == *"${markers[$next_marker]}" ]]; then
    t=$(elapsed)
    printf '%8s %s\n' "$t" "$line"
    printf 'qemu-reference: marker "%s" at %s s wall\n' "${markers[$next_marker]}" "$t"
    next_marker=$((next_marker + 1))
    line=""
    if [ "$next_marker" -eq ${#markers[@]} ]; then
      kill "$qemu_pid" 2>/dev/null || true
      break
    fi
  fi
done <&"$console_fd"
[ -z "$line" ] || printf '%8s %s\n' "$(elapsed)" "$line"
wait "$qemu_pid" 2>/dev/null || true
printf 'qemu-reference: QEMU ended at %s s wall\n' "$(elapsed)"
[ "$next_marker" -eq ${#markers[@]} ] || { echo "qemu-reference: marker \"${markers[$next_marker]}\" not seen" >&2; exit 1; }
