#!/usr/bin/env bash
# Builds a raw GRUB 2 (i386-pc, BIOS) disk image without root, loop devices or grub-install:
#   sector 0          GRUB's boot.img with the MBR partition table, patched as grub-bios-setup does
#   sectors 1..N      core.img (diskboot.img + kernel + embedded modules) in the post-MBR gap
#   sector 2048..     one FAT partition (mtools, no mount) holding /boot/grub/grub.cfg and files,
#                     up to the last whole cylinder
#
# Usage: make-grub-disk.sh --cfg GRUB_CFG --out IMAGE [--size-mib N] [--file SRC=/PATH]...
#                          [--modules "mod ..."] [--grub-dir DIR]
#
# The boot.img/core.img fields (GRUB 2.06, util/setup.c and include/grub/i386/pc/boot.h):
#   boot.img 0x5C  kernel_sector, 64-bit LBA of core.img's first sector (diskboot.img): 1
#   boot.img 0x64  boot_drive: 0xFF = use the drive number the BIOS passes in DL
#   boot.img 0x66  a 2-byte jmp over the "DL is a hard disk" fix-up; setup turns it into two
#                  NOPs for hard disks (for BIOSes that pass DL = 0 or 1 when booting 0x80)
#   boot.img 0x03..0x59 (BPB) and 0x1B8..0x1FD (disk signature + partition table) come from the
#                  sector already on the disk; 0x1FE..0x1FF is 0x55 0xAA
#   core.img sector 0, last 12 bytes: the first blocklist {u64 start LBA, u16 sectors,
#                  u16 load segment}: start 2, core sectors - 1, segment 0x820 (0x8000 + 512).
#                  grub-mkimage already writes these values for a core at LBA 1; we write them
#                  again so the image does not depend on that.
# The core is embedded without Reed-Solomon codes, as `grub-install --no-rs-codes` does: its
# redundancy field stays 0 and the startup code skips the recovery.
# The output is byte-for-byte reproducible: fixed disk signature, FAT serial and timestamps.
set -euo pipefail

grub_dir=/usr/lib/grub/i386-pc
size_mib=4
cfg=""
out=""
files=()
# What grub.cfg may use. Each is embedded in core.img, since the FAT holds no module
# directory. normal: the config parser and menu; biosdisk, part_msdos, fat: reach the file;
# serial, terminal: the serial console; echo, halt, linux16, sleep: the commands the configs run.
modules="biosdisk part_msdos fat normal echo serial terminal halt linux16 sleep"

while [ $# -gt 0 ]; do
  case "$1" in
    --cfg) cfg="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --size-mib) size_mib="$2"; shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --modules) modules="$2"; shift 2 ;;
    --grub-dir) grub_dir="$2"; shift 2 ;;
    *) echo "make-grub-disk: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$cfg" ] && [ -n "$out" ] || { echo "usage: $0 --cfg GRUB_CFG --out IMAGE [--size-mib N] [--file SRC=/PATH]..." >&2; exit 2; }

for tool in grub-mkimage mformat mmd mcopy; do
  command -v "$tool" >/dev/null || { echo "make-grub-disk: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done
for img in boot.img diskboot.img kernel.img; do
  [ -f "$grub_dir/$img" ] || { echo "make-grub-disk: $grub_dir/$img not found (package grub-pc-bin)" >&2; exit 1; }
done

sector=512
part_start=2048                                 # 1 MiB, where fdisk puts the first partition
total_sectors=$((size_mib * 1024 * 1024 / sector))
# The partition ends on the last whole cylinder of a 16-head, 63-sector geometry: QEMU (and
# some BIOSes) guess a disk's CHS geometry from where its partitions end (an end at head 2,
# sector 2 gave QEMU a 3-head, 2-sector disk), so the end says 16 heads, 63 sectors.
cylinder=$((16 * 63))
part_sectors=$((total_sectors / cylinder * cylinder - part_start))
[ "$part_sectors" -ge 2048 ] || { echo "make-grub-disk: --size-mib $size_mib is too small" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tmp_out="$out.tmp"

# Little-endian integers as raw bytes.
le() { # le VALUE BYTES
  local value=$1 bytes=$2 i
  for ((i = 0; i < bytes; i++)); do
    printf "\\x$(printf %02x $(((value >> (8 * i)) & 0xFF)))"
  done
}
put() { # put FILE OFFSET < bytes
  dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# CHS as in a partition entry (head, sector | cylinder high bits, cylinder low), for a
# 16-head, 63-sector geometry; past cylinder 1023 the conventional 1023/254/63 marker.
chs() {
  local lba=$1 c h s
  c=$((lba / (16 * 63))); h=$(((lba / 63) % 16)); s=$((lba % 63 + 1))
  if [ "$c" -gt 1023 ]; then c=1023; h=254; s=63; fi
  printf "\\x$(printf %02x "$h")\\x$(printf %02x $((s | ((c >> 2) & 0xC0))))\\x$(printf %02x $((c & 0xFF)))"
}

# 1. core.img. The prefix "(,msdos1)/boot/grub" is what grub-install writes for a plain
#    partition: the empty disk name is the BIOS boot drive, so the image boots as any drive.
grub-mkimage -O i386-pc -d "$grub_dir" -o "$work/core.img" -p '(,msdos1)/boot/grub' $modules
core_size=$(stat -c %s "$work/core.img")
core_sectors=$(((core_size + sector - 1) / sector))
[ "$core_sectors" -lt "$part_start" ] || { echo "make-grub-disk: core.img ($core_sectors sectors) does not fit before the partition" >&2; exit 1; }
# The first blocklist, at the end of diskboot.img's sector: the rest of the core follows at LBA 2.
{ le 2 8; le $((core_sectors - 1)) 2; le $((0x820)) 2; } | put "$work/core.img" $((sector - 12))

# 2. The FAT file system of partition 1, built on its own and copied in: mtools never mounts.
export MTOOLS_SKIP_CHECK=1
export SOURCE_DATE_EPOCH=1672531200   # 2023-01-01: fixed FAT timestamps
truncate -s $((part_sectors * sector)) "$work/part.img"
mformat -i "$work/part.img" -N 7a86b007 -v TRANSIT86 -h 16 -s 63 -H "$part_start" -T "$part_sectors" ::
mmd -i "$work/part.img" ::/boot ::/boot/grub
mcopy -i "$work/part.img" "$cfg" ::/boot/grub/grub.cfg
for spec in "${files[@]}"; do
  src=${spec%%=*}
  dest=${spec#*=}
  [ -f "$src" ] || { echo "make-grub-disk: $src not found" >&2; exit 1; }
  mcopy -i "$work/part.img" "$src" "::$dest"
done
# The partition type follows the FAT width mformat chose (FAT12 below 4085 clusters).
fat_type=$(dd if="$work/part.img" bs=1 skip=54 count=5 status=none)
case "$fat_type" in
  FAT12) part_type=0x01 ;;
  FAT16) part_type=0x06 ;;
  *) part_type=0x0C ;;
esac

# 3. The disk: a partition table as fdisk would write it, then GRUB's setup on sector 0.
rm -f "$tmp_out"
truncate -s $((total_sectors * sector)) "$tmp_out"
{
  le $((0x7A86B007)) 4; le 0 2                                    # 0x1B8 disk signature, 0x1BC
  printf '\x80'; chs $part_start                                  # active, CHS of first sector
  printf "\\x$(printf %02x $part_type)"; chs $((part_start + part_sectors - 1))
  le $part_start 4; le $part_sectors 4
} | put "$tmp_out" $((0x1B8))
printf '\x55\xAA' | put "$tmp_out" $((0x1FE))

# boot.img's code (0x00..0x1B7) over the sector, keeping the BPB (0x03..0x59) already there.
dd if="$grub_dir/boot.img" of="$tmp_out" bs=1 count=3 conv=notrunc status=none
dd if="$grub_dir/boot.img" of="$tmp_out" bs=1 skip=$((0x5A)) seek=$((0x5A)) count=$((0x1B8 - 0x5A)) conv=notrunc status=none
le 1 8 | put "$tmp_out" $((0x5C))            # kernel_sector: core.img at LBA 1
printf '\xFF' | put "$tmp_out" $((0x64))     # boot_drive: take DL from the BIOS
printf '\x90\x90' | put "$tmp_out" $((0x66)) # hard disk: the drive check's jmp becomes NOPs

dd if="$work/core.img" of="$tmp_out" bs=$sector seek=1 conv=notrunc status=none
dd if="$work/part.img" of="$tmp_out" bs=$sector seek=$part_start conv=notrunc status=none
mv "$tmp_out" "$out"
echo "make-grub-disk: $out ($size_mib MiB; core.img $core_sectors sectors at LBA 1; $fat_type partition at LBA $part_start)"
