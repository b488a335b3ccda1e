#!/usr/bin/env bash
# gdb_batch.sh TRANSIT86 SESSION IMAGE [STEP OPTIONS...]: one GDB session against
# `transit86 step IMAGE --gdb 127.0.0.1:0 STEP OPTIONS`; with IMAGE `boot`, against
# `transit86 boot --gdb 127.0.0.1:0 BOOT OPTIONS` instead. The server prints the port the system
# gave it, so parallel tests never collide. GDB runs in batch mode with SESSION's commands
# (every line that does not start with '#'); then each "# expect: REGEX" line of SESSION must
# match a line of GDB's output, in order (grep -E). SESSION may instead be docs/gdb.md: the
# "(gdb) " lines of its walk-through (between "<!-- MARKER: begin -->" and "<!-- MARKER: end
# -->", MARKER from the environment, default "walkthrough") are the commands and EXPECT_FILE
# (the environment) holds the expectations. Exits 77 (skipped) when gdb, or for `boot` the
# BIOS given with --bios, is not installed. Every step is bounded in time.
set -u
transit86=$1 session=$2 image=$3
shift 3
if ! command -v gdb >/dev/null 2>&1; then
  echo "SKIP: gdb is not installed (scripts/install-deps.sh installs Debian's gdb)"
  exit 77
fi
if [ "$image" = boot ]; then
  args=("$@")
  for ((i = 0; i + 1 < ${#args[@]}; i++)); do
    if [ "${args[$i]}" = --bios ] && [ ! -f "${args[$((i + 1))]}" ]; then
      echo "SKIP: ${args[$((i + 1))]} not found (Debian package seabios: scripts/install-deps.sh)"
      exit 77
    fi
  done
fi
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [[ "$session" == *.md ]]; then
  # The walk-through block of docs/gdb.md, between its two markers.
  marker=${MARKER:-walkthrough}
  sed -n "/<!-- $marker: begin -->/,/<!-- $marker: end -->/p" "$session" |
    sed -n 's/^(gdb) //p' | grep -v '^target remote' >"$work/commands"
  expectations=${EXPECT_FILE:?EXPECT_FILE names the expectations for a walk-through}
else
  grep -v '^#' "$session" | grep -v '^[[:space:]]*$' >"$work/commands"
  expectations=$session
fi
sed -n 's/^# expect: //p' "$expectations" >"$work/expect"

if [ "$image" = boot ]; then
  timeout 120 "$transit86" boot --gdb 127.0.0.1:0 "$@" >"$work/server" 2>&1 &
else
  timeout 120 "$transit86" step "$image" --gdb 127.0.0.1:0 "$@" >"$work/server" 2>&1 &
fi
server=$!
# Up to 60 s for the announcement (the server builds the machine and the session's history
# first, slow under ASan on a loaded machine), but no longer than the server lives.
port=
for _ in $(seq 600); do
  port=$(sed -n 's/^transit86: waiting for GDB on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "FAIL: the server did not start listening"
  cat "$work/server"
  exit 1
fi

# GDB resends a packet whose acknowledgement has not come within `remotetimeout` (2 s by
# default) and then takes the second answer as the reply to its next packet. On a loaded
# machine the server can simply not run for that long; 10 s keeps such a pause from looking
# like a protocol error (a server that does not answer still fails, by the timeouts).
timeout 120 gdb -nx -batch -ex "set pagination off" -ex "set confirm off" \
  -ex "set remotetimeout 10" -ex "target remote 127.0.0.1:$port" -x "$work/commands" \
  >"$work/gdb" 2>&1
gdb_status=$?
# The server prints its end line as soon as GDB detaches; give it up to 30 s to exit.
for _ in $(seq 300); do
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
echo "== gdb (exit $gdb_status)"
cat "$work/gdb"
echo "== server"
cat "$work/server"

failures=0
line=0
while IFS= read -r regex; do
  found=$(tail -n +"$((line + 1))" "$work/gdb" | grep -n -m1 -E -- "$regex" | cut -d: -f1)
  if [ -z "$found" ]; then
    echo "FAIL: expected, after line $line of GDB's output: $regex"
    failures=$((failures + 1))
  else
    line=$((line + found))
  fi
done <"$work/expect"
if grep -q "^== GDB detached" "$work/server"; then :; else
  echo "FAIL: the server did not report the detach"
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "gdb_batch: every expectation met" && exit 0
exit 1
