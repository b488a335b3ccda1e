#!/usr/bin/env bash
# same_output.sh COMMAND...: runs COMMAND twice, in two processes (so with two address-space
# layouts), and passes when both exit alike and print byte-identical output.
set -uo pipefail
a=$(mktemp) b=$(mktemp)
trap 'rm -f "$a" "$b"' EXIT
"$@" >"$a" 2>&1
first=$?
"$@" >"$b" 2>&1
second=$?
if [ "$first" -ne "$second" ]; then
  echo "FAIL: exit status $first, then $second"
  exit 1
fi
if ! cmp "$a" "$b"; then
  echo "FAIL: the two runs differ"
  diff "$a" "$b" | head -n 20
  exit 1
fi
if [ ! -s "$a" ]; then
  echo "FAIL: no output"
  exit 1
fi
echo "identical: $(wc -c <"$a") bytes, $(wc -l <"$a") lines, exit status $first"
