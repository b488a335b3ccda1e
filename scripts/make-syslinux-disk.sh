#!/usr/bin/env bash
# Builds a raw SYSLINUX disk image without root, loop devices or mounting: one FAT file system
# over the whole disk (a "superfloppy", as on USB sticks made with `syslinux --install`), its
# boot sector and ldlinux.sys / ldlinux.c32 written by Debian's `syslinux` installer (which
# works on the image file through mtools), then syslinux.cfg and the files named.
#
# Usage: make-syslinux-disk.sh --cfg SYSLINUX_CFG --out IMAGE [--size-mib N | --floppy-kib K]
#                              [--file SRC=/PATH]...
#
# The FAT has 16 heads and 63 sectors per track, the geometry SeaBIOS and QEMU assume for a
# disk without a partition table; with --floppy-kib a diskette of that standard size instead
# (mformat -f: 1440 gives 80 cylinders, 2 heads, 18 sectors), for `transit86 boot --floppy`.
# Fixed serial and timestamps (SOURCE_DATE_EPOCH): the image is the same on every build.
set -euo pipefail

size_mib=16
floppy_kib=""
cfg=""
out=""
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cfg) cfg="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --size-mib) size_mib="$2"; shift 2 ;;
    --floppy-kib) floppy_kib="$2"; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    *) echo "make-syslinux-disk: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$cfg" ] && [ -n "$out" ] || { echo "usage: $0 --cfg SYSLINUX_CFG --out IMAGE [--size-mib N] [--file SRC=/PATH]..." >&2; exit 2; }
for tool in syslinux mformat mcopy; do
  command -v "$tool" >/dev/null || { echo "make-syslinux-disk: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done

export MTOOLS_SKIP_CHECK=1
export SOURCE_DATE_EPOCH=1672531200 # 2023-01-01: fixed FAT timestamps
tmp_out="$out.tmp"
rm -f "$tmp_out"
if [ -n "$floppy_kib" ]; then
  truncate -s $((floppy_kib * 1024)) "$tmp_out"
  mformat -i "$tmp_out" -N 7a86b057 -v TRANSIT86 -f "$floppy_kib" ::
  what="$floppy_kib KiB FAT diskette"
else
  truncate -s $((size_mib * 1024 * 1024)) "$tmp_out"
  mformat -i "$tmp_out" -N 7a86b057 -v TRANSIT86 -h 16 -s 63 -T $((size_mib * 2048)) ::
  what="$size_mib MiB FAT superfloppy"
fi
syslinux --install "$tmp_out"
mcopy -i "$tmp_out" "$cfg" ::/syslinux.cfg
for spec in "${files[@]}"; do
  src=${spec%%=*}
  dest=${spec#*=}
  [ -f "$src" ] || { echo "make-syslinux-disk: $src not found" >&2; exit 1; }
  mcopy -i "$tmp_out" "$src" "::$dest"
done
mv "$tmp_out" "$out"
echo "make-syslinux-disk: $out ($what, $(syslinux --version 2>&1 | head -1 | cut -d' ' -f1-2))"
