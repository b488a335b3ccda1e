#!/usr/bin/env bash
# Builds a CD image that checks the PC's disk and CD-ROM from inside Linux: ISOLINUX boots a
# 32-bit Debian kernel with an initramfs of busybox and the kernel's own storage drivers
# (libata, ata_piix, sr_mod, sd_mod, isofs, floppy, their dependencies), whose /init mounts the
# CD, prints a marker file and MD5 sums of the CD's kernel file, of the whole disk (/dev/sda)
# and of the whole diskette (/dev/fd0), writes a sector of each by the driver's choice of DMA or
# PIO and reads it back, then powers off. Compare its console with `transit86 boot` and with QEMU (docs/boot.md, "Other
# boot code"). Not part of make test: it needs i386 packages (52 MB).
#
# Usage: make-linux-cd.sh --kernel-deb linux-image-*-686*.deb --busybox-deb busybox-static*.deb
#                         --out ISO
#
# The packages, on a Debian 12 machine:
#   dpkg --add-architecture i386 && apt-get update
#   apt-get download linux-image-686:i386 busybox-static:i386   # linux-image-686 depends on
#   apt-cache depends linux-image-686:i386                         # the versioned image package
# Then:
#   build/bin/transit86 boot --cdrom linux-cd.iso --disk build/boot-images/grub-echo.img \
#       --floppy build/boot-images/syslinux-floppy.img --boot d --memory 256 --no-debugcon
set -euo pipefail

kernel_deb=""
busybox_deb=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel-deb) kernel_deb="$2"; shift 2 ;;
    --busybox-deb) busybox_deb="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "make-linux-cd: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$kernel_deb" ] && [ -n "$busybox_deb" ] && [ -n "$out" ] ||
  { echo "usage: $0 --kernel-deb DEB --busybox-deb DEB --out ISO" >&2; exit 2; }
for tool in dpkg-deb cpio gzip; do
  command -v "$tool" >/dev/null || { echo "make-linux-cd: $tool not found" >&2; exit 1; }
done
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$vmlinuz" ] || { echo "make-linux-cd: no /boot/vmlinuz-* in $kernel_deb" >&2; exit 1; }
modules=$(ls -d "$work"/kernel/lib/modules/*/kernel)

# The drivers, each after what it depends on (their `depends=` module info).
order="drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/ata/libata drivers/ata/ata_piix
  drivers/cdrom/cdrom drivers/scsi/sr_mod fs/isofs/isofs crypto/crct10dif_common
  crypto/crct10dif_generic lib/crc-t10dif lib/crc64 crypto/crc64_rocksoft_generic
  lib/crc64-rocksoft block/t10-pi drivers/scsi/sd_mod drivers/block/floppy"
root="$work/root"
mkdir -p "$root"/{bin,m,dev,proc,sys,mnt}
cp "$work/busybox/bin/busybox" "$root/bin/"
names=""
for m in $order; do
  [ -f "$modules/$m.ko" ] || { echo "make-linux-cd: $m.ko not in $kernel_deb" >&2; exit 1; }
  cp "$modules/$m.ko" "$root/m/"
  names="$names ${m##*/}"
done
cat > "$root/init" <<INIT
#!/bin/busybox sh
B=/bin/busybox
\$B mount -t proc proc /proc
\$B mount -t sysfs sys /sys
\$B mount -t devtmpfs dev /dev
for m in$names; do \$B insmod /m/\$m.ko || \$B echo "make-linux-cd: insmod \$m failed"; done
\$B sleep 3
if \$B mount -t iso9660 -o ro /dev/sr0 /mnt; then
  \$B cat /mnt/marker.txt
  \$B echo "linux-cd: CD kernel md5 \$(\$B md5sum < /mnt/linux)"
  \$B umount /mnt
else
  \$B echo "linux-cd: no CD"
fi
# check DEVICE NAME: the MD5 of all of it, then a sector written by the driver's choice of DMA
# or PIO, read back from the medium (the page cache dropped in between).
check() {
  if [ ! -b "\$1" ]; then \$B echo "linux-cd: no \$2"; return; fi
  \$B echo "linux-cd: \$2 md5 \$(\$B md5sum < "\$1")"
  \$B echo "linux-cd: \$2 sector 100 written" | \$B dd of="\$1" bs=512 seek=100 count=1 conv=sync,fsync 2>/dev/null
  \$B echo 3 > /proc/sys/vm/drop_caches
  \$B echo "linux-cd: \$2 read back: \$(\$B dd if="\$1" bs=512 skip=100 count=1 2>/dev/null | \$B head -n 1)"
}
check /dev/sda disk
check /dev/fd0 diskette
\$B echo "linux-cd: done"
\$B poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/initramfs"
# /dev/console for init's output before devtmpfs is mounted: appended as a second archive, the
# way the kernel reads concatenated initramfs images, so that no root is needed for mknod.
printf '%s\n' "linux-cd marker: read from the CD by Linux's sr driver" > "$work/marker.txt"
console_node_archive() {
  # newc header of a character device 5:1 named dev/console, then the trailer.
  local name="dev/console" trailer="TRAILER!!!"
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    1 $((0020600)) 0 0 1 0 0 0 0 5 1 $(( ${#name} + 1 )) 0
  printf '%s\0' "$name"
  printf '\0\0\0\0' | head -c $(( (4 - (110 + ${#name} + 1) % 4) % 4 ))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    2 0 0 0 1 0 0 0 0 0 0 $(( ${#trailer} + 1 )) 0
  printf '%s\0' "$trailer"
  printf '\0\0\0\0' | head -c $(( (4 - (110 + ${#trailer} + 1) % 4) % 4 ))
}
console_node_archive >> "$work/initramfs"
gzip -9 -n < "$work/initramfs" > "$work/initrd.gz"
printf 'SAY linux-cd: ISOLINUX loads the kernel\nPROMPT 0\nDEFAULT linux\nLABEL linux\n  LINUX /linux\n  INITRD /initrd.gz\n  APPEND console=ttyS0,115200\n' \
  > "$work/isolinux.cfg"
"$here/make-isolinux-cd.sh" --cfg "$work/isolinux.cfg" --out "$out" --file "$vmlinuz=/linux" \
  --file "$work/initrd.gz=/initrd.gz" --file "$work/marker.txt=/marker.txt"
