#!/usr/bin/env bash
# Installs the Debian packages transit86 needs, only those that are missing.
# Idempotent; needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libzydis-dev libfmt-dev libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev
  nasm zlib1g-dev libunicorn-dev libbenchmark-dev
  # the asan and fuzz presets: clang with ASan, UBSan and libFuzzer; llvm-symbolizer for reports
  clang libclang-rt-14-dev llvm
  # the real boot chains (tests/boot): SeaBIOS, GRUB's i386-pc images and grub-mkimage,
  # memtest86+, QEMU's linuxboot_dma.bin option ROM (data only: QEMU itself is not needed),
  # mtools to write the FAT partition without mounting; SYSLINUX's installer (it writes a FAT
  # image through mtools); gdb for reference traces; iPXE as a bzImage (/boot/ipxe.lkrn), which
  # leaves protected mode for every BIOS call it makes. CD images (the ATAPI CD-ROM's chains):
  # xorriso lays out ISO 9660 with El Torito for ISOLINUX (isolinux) and under grub-mkrescue.
  # apt-get (already there) fetches the Linux kernel on request: scripts/fetch-linux-kernel.sh.
  seabios grub-pc-bin grub-common memtest86+ qemu-system-data mtools syslinux syslinux-common gdb
  ipxe xorriso isolinux
  # Bochs's own BIOS (rombios), a second firmware for the GRUB chain: bochsbios
  bochsbios
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
