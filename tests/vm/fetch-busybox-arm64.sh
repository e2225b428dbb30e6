#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Put Debian 12's arm64 busybox-static into the guest-test cache: the
# userland of the arm64 guests' initramfs (mkinitramfs.sh, VHD_BUSYBOX;
# docs/testing.md, "arm64 guests").  Nothing is installed: the machine's
# dpkg architecture list and apt sources are never touched.  The package
# comes through a private apt configuration (its own sources list, lists
# and archives, which knows arm64 only for itself), as fetch-qemu10.sh and
# scripts/arm64-check.sh fetch theirs; 'apt-get download' checks the .deb
# against the signed index; 'dpkg-deb -x' unpacks it.
#
# Promise: on success, the last line on stdout is the absolute path of
# <cache>/busybox-arm64/busybox, a static aarch64 busybox; exit status 0.
# Exit 2 when it cannot be done here (no apt, not amd64 Debian 12); exit 1
# on a failure.  Nothing is downloaded when the cache holds it.
#
# Environment: VHD_VM_CACHE (as build-kernel.sh), VHD_DEBIAN_MIRROR.
# Usage: fetch-busybox-arm64.sh [--check]   (--check: print the path if cached, exit 3 if not)
set -eu
# Bump when the steps below change in a way that changes the result.
RECIPE=1
HERE=$(cd "$(dirname "$0")" && pwd)

say() { echo "fetch-busybox-arm64: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
cannot() { say "cannot fetch the arm64 busybox here: $*"; exit 2; }

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# shellcheck source=tests/vm/cache-dir.sh
. "$HERE/cache-dir.sh"
final=$cache/busybox-arm64
bb=$final/busybox

# A static aarch64 executable: ELF class 64 (byte 5 = 2), e_machine 183
# (0xb7, AArch64) and no program interpreter.
cached_ok() {
	[ -x "$bb" ] && grep -qx "recipe $RECIPE" "$final/VERSION" 2>/dev/null &&
		LC_ALL=C readelf -h "$bb" 2>/dev/null | grep -q 'Machine:.*AArch64' &&
		! LC_ALL=C readelf -l "$bb" 2>/dev/null | grep -q 'program interpreter'
}
if cached_ok; then
	echo "$bb"
	exit 0
fi
if [ $check_only = 1 ]; then
	say "no arm64 busybox in $cache"
	exit 3
fi
for tool in apt-get dpkg dpkg-deb flock readelf; do
	command -v "$tool" >/dev/null 2>&1 || cannot "'$tool' not found (this needs Debian 12 and binutils)"
done
[ "$(dpkg --print-architecture)" = amd64 ] || cannot "this fetches on amd64 only"

exec 9>"$cache/busybox-arm64.lock"
if ! flock -n 9; then
	say "another fetch is running; waiting for it"
	flock 9
fi
if cached_ok; then
	echo "$bb"
	exit 0
fi
work=$cache/busybox-arm64.work.$$
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
rm -rf "$cache"/busybox-arm64.work.* # leftovers of killed runs (we hold the lock)
apt=$work/apt
mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/lists/partial" \
	"$apt/archives/partial" "$work/debs" "$work/out"
# shellcheck disable=SC2016 # apt's $(FIELD), not the shell's
mirror=${VHD_DEBIAN_MIRROR:-$(apt-get indextargets --no-release-info \
	--format '$(RELEASE) $(COMPONENT) $(REPO_URI)' 2>/dev/null |
	awk '$1 == "bookworm" && $2 == "main" { print $3; exit }')}
mirror=${mirror:-http://deb.debian.org/debian/}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opts=""
[ -r "$keyring" ] && opts="signed-by=$keyring "
echo "deb [${opts}arch=arm64] $mirror bookworm main" >"$apt/etc/sources.list"
APTOPT="-o Dir::Etc::SourceList=$apt/etc/sources.list
	-o Dir::Etc::SourceParts=$apt/etc/sources.list.d
	-o Dir::Etc::Preferences=$apt/etc/preferences
	-o Dir::Etc::PreferencesParts=$apt/etc/preferences.d
	-o Dir::State::Lists=$apt/lists
	-o Dir::Cache=$apt -o Dir::Cache::Archives=$apt/archives
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	-o APT::Get::List-Cleanup=0
	-o APT::Architectures::=amd64 -o APT::Architectures::=arm64"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown -R _apt "$apt" "$work/debs"
fi
say "reading bookworm (arm64) from $mirror (private apt configuration)"
# shellcheck disable=SC2086
if ! apt-get -q $APTOPT update >"$work/update.log" 2>&1 ||
	grep -q '^E:\|^W: Failed\|^W: Some index' "$work/update.log"; then
	sed 's/^/fetch-busybox-arm64:   /' "$work/update.log" >&2
	die "cannot read the Debian archive at $mirror: check the network or proxy, or set VHD_DEBIAN_MIRROR"
fi
# shellcheck disable=SC2086
(cd "$work/debs" && apt-get -q $APTOPT download busybox-static:arm64) >"$work/download.log" 2>&1 || {
	sed 's/^/fetch-busybox-arm64:   /' "$work/download.log" >&2
	die "downloading busybox-static:arm64 from $mirror failed (above)"
}
deb=$(ls "$work"/debs/busybox-static_*_arm64.deb)
dpkg-deb -x "$deb" "$work/root" || die "cannot unpack $deb"
mv "$work/root/bin/busybox" "$work/out/busybox"
{
	dpkg-deb -f "$deb" Package Version Architecture | paste -sd' '
	echo "recipe $RECIPE"
	echo "from $mirror, $(date -u +%FT%TZ)"
} >"$work/out/VERSION"
chmod -R a+rX "$work/out"
rm -rf "$final"
mv "$work/out" "$final"
cached_ok || die "the unpacked $bb is not a static aarch64 executable"
say "$(head -1 "$final/VERSION") is in $final"
echo "$bb"
