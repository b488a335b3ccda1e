#!/usr/bin/env bash
# expect.sh STATUS MESSAGE STDIN COMMAND...: one row of docs/bad-input.md. Runs COMMAND with
# STDIN as standard input and passes when it exits with STATUS and
#   - STATUS 2: standard error is exactly the one line "transit86: error: MESSAGE" (MESSAGE
#     is an extended regular expression);
#   - any other STATUS: the output's last line matches MESSAGE.
set -uo pipefail
status=$1 message=$2 input=$3
shift 3
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout 60 "$@" <"$input" >"$out" 2>"$err"
got=$?
fail() {
  echo "FAIL: $*"
  echo "command: $*"
  echo "--- stdout (last lines)"; tail -n 5 "$out"
  echo "--- stderr"; cat "$err"
  exit 1
}
[ "$got" -eq "$status" ] || fail "exit status $got, expected $status"
if [ "$status" -eq 2 ]; then
  [ "$(wc -l <"$err")" -eq 1 ] || fail "expected one line on stderr"
  grep -Eq "^transit86: error: ${message}\$" "$err" || fail "stderr does not match: $message"
else
  tail -n 1 "$out" | grep -Eq "$message" || fail "last line does not match: $message"
fi
echo "ok: status $got, $(cat "$err" "$out" | tail -n 1)"
