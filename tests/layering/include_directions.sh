#!/usr/bin/env bash
# The include directions of docs/architecture.md ("Where things live"), checked: every
# `#include "dir/..."` in a folder must name a folder that folder may include. A new
# dependency that crosses the layering fails here, with the file and the line.
set -euo pipefail
root="${1:?usage: include_directions.sh SOURCE_ROOT}"
cd "$root"

# folder (files directly in it)  -> include prefixes it may use
declare -A allowed=(
  [include/transit86]="transit86/"
  [decoder]="decoder/ transit86/"
  [vmx_checks]="vmx_checks/ transit86/"
  [emu/cpu]="emu/cpu/ decoder/ transit86/"
  [emu/system]="emu/system/ emu/cpu/ decoder/ transit86/"
  [emu/interp]="emu/interp/ emu/system/ emu/cpu/ decoder/ transit86/"
  # The block engine translates from the decode cache's records; it never calls a handler.
  [emu/block]="emu/block/ emu/interp/decode_cache.hpp emu/interp/execute.hpp emu/cpu/ decoder/ transit86/"
  [emu]="emu/ decoder/ vmx_checks/ transit86/"
  [pc]="pc/ transit86/"
  [tools]="tools/ pc/ decoder/ transit86/"
  [tools/formats]="tools/formats/ decoder/ transit86/"
  [tools/explain]="tools/explain/ tools/formats/ tools/commands.hpp transit86/"
  [tools/sst]="tools/sst/ tools/formats/ tools/commands.hpp decoder/ transit86/"
  # `corpus rebase` drives the KVM oracle harness of tests/oracle.
  [tools/corpus]="tools/ pc/ oracle/ decoder/ transit86/"
  # The GDB server: packets, commands and the step target over the public API and pc/.
  [tools/gdb]="tools/gdb/ tools/formats/ pc/ decoder/ transit86/"
  [examples/kvm-vmm]="transit86/ pc/"
)

failures=0
for folder in "${!allowed[@]}"; do
  [ -d "$folder" ] || continue
  for file in "$folder"/*.{h,hpp,cpp,c}; do
    [ -f "$file" ] || continue
    while IFS=: read -r line text; do
      # Bash's own regex match: a sed per include line made this test take a minute on a
      # loaded machine.
      [[ "$text" =~ include[[:space:]]*\"([^\"]+)\" ]] || continue
      target="${BASH_REMATCH[1]}"
      case "$target" in */*) ;; *) continue ;; esac # same-folder includes
      ok=0
      for prefix in ${allowed[$folder]}; do
        [[ "$target" == "$prefix"* ]] && ok=1 && break
      done
      if [ "$ok" -eq 0 ]; then
        echo "$file:$line: includes \"$target\"; $folder/ may include only: ${allowed[$folder]}"
        failures=$((failures + 1))
      fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include "' "$file" || true)
  done
done
if [ "$failures" -ne 0 ]; then
  echo "include_directions: $failures include(s) cross the layering (docs/architecture.md)"
  exit 1
fi
echo "include_directions: every include follows the layering"
