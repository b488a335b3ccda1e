#!/usr/bin/env bash
# Builds an ISO 9660 CD image that boots ISOLINUX the El Torito "no emulation" way, as Debian's
# installer CDs and most live CDs do: xorriso's mkisofs emulation lays out the file system, the
# boot catalog and the boot information table ISOLINUX patches into itself; ISOLINUX then reads
# isolinux.cfg and the files named through the BIOS's INT 13h on the CD (2048-byte sectors).
# No root, no mounting.
#
# Usage: make-isolinux-cd.sh --cfg ISOLINUX_CFG --out ISO [--file SRC=/PATH]...
#
# Timestamps are fixed (SOURCE_DATE_EPOCH, which xorriso honours) and so is the volume ID: the
# image is the same on every build.
set -euo pipefail

cfg=""
out=""
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cfg) cfg="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    *) echo "make-isolinux-cd: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$cfg" ] && [ -n "$out" ] || { echo "usage: $0 --cfg ISOLINUX_CFG --out ISO [--file SRC=/PATH]..." >&2; exit 2; }
command -v xorriso >/dev/null || { echo "make-isolinux-cd: xorriso not found (scripts/install-deps.sh)" >&2; exit 1; }
isolinux_bin=/usr/lib/ISOLINUX/isolinux.bin                 # Debian package isolinux
ldlinux_c32=/usr/lib/syslinux/modules/bios/ldlinux.c32      # Debian package syslinux-common
for f in "$isolinux_bin" "$ldlinux_c32"; do
  [ -f "$f" ] || { echo "make-isolinux-cd: $f not found (scripts/install-deps.sh)" >&2; exit 1; }
done

export SOURCE_DATE_EPOCH=1672531200 # 2023-01-01
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/isolinux"
cp "$isolinux_bin" "$ldlinux_c32" "$tree/isolinux/"
cp "$cfg" "$tree/isolinux/isolinux.cfg"
for spec in "${files[@]}"; do
  src=${spec%%=*}
  dest=${spec#*=}
  [ -f "$src" ] || { echo "make-isolinux-cd: $src not found" >&2; exit 1; }
  mkdir -p "$tree/$(dirname "$dest")"
  cp "$src" "$tree/$dest"
done
# The directory records carry each file's modification time.
find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
tmp_out="$out.tmp"
rm -f "$tmp_out"
xorriso -as mkisofs -quiet -volid TRANSIT86 -o "$tmp_out" \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  "$tree"
mv "$tmp_out" "$out"
echo "make-isolinux-cd: $out ($(stat -c %s "$out") bytes, ISOLINUX no-emulation El Torito)"
