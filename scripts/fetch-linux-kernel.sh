#!/usr/bin/env bash
# Fetches a real Debian Linux kernel (the bzImage that linux-image-amd64 depends on) into a
# cache directory, without installing it: `apt-get download` + `dpkg-deb`. Idempotent: when
# DIR/vmlinuz exists nothing is downloaded. Not part of the default build (the .deb is large);
# `make linux-kernel` or `cmake --build build --target linux_kernel` runs it.
#
#   fetch-linux-kernel.sh [DIR]      (default: build/linux-kernel)
#
# Leaves DIR/vmlinuz (the bzImage), DIR/version (the package and kernel version) and
# DIR/config (the kernel's .config, for what the boot code was built with); the .deb is removed.
set -euo pipefail

dir=${1:-build/linux-kernel}
if [ -f "$dir/vmlinuz" ] && [ -f "$dir/version" ]; then
  echo "fetch-linux-kernel: $dir/vmlinuz is there ($(head -1 "$dir/version"))"
  exit 0
fi
for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "fetch-linux-kernel: $tool not found (needs a Debian system)" >&2; exit 1; }
done

# The metapackage names the current image package, e.g. linux-image-6.1.0-57-amd64.
image_package() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
package=$(image_package)
if [ -z "$package" ]; then
  # No package lists yet (a fresh machine): read them once.
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  package=$(image_package)
fi
[ -n "$package" ] || { echo "fetch-linux-kernel: apt knows no linux-image-amd64" >&2; exit 1; }

mkdir -p "$dir"
work=$(mktemp -d "$dir/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch-linux-kernel: apt-get download $package"
# apt-get download writes into the current directory, as the invoking user (root: _apt may not
# write there, hence the sandbox user switched off for this one download).
(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$package")
deb=$(ls "$work"/*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' './boot/config-*'
vmlinuz=$(ls "$work"/boot/vmlinuz-*)
kernel_version=${vmlinuz##*/vmlinuz-}
mv "$vmlinuz" "$dir/vmlinuz"
mv "$work"/boot/config-* "$dir/config"
{
  echo "$package $(dpkg-deb -f "$deb" Version) kernel $kernel_version"
  echo "deb size $(stat -c %s "$deb") bytes, vmlinuz $(stat -c %s "$dir/vmlinuz") bytes"
} >"$dir/version"
echo "fetch-linux-kernel: $dir/vmlinuz ($(head -1 "$dir/version"))"
