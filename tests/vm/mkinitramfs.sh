#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Build the initramfs of one guest test: busybox-static, guest/init as /init,
# guest/lib.sh as /vhd/lib.sh, the guest script as /vhd/test.sh, a parameter
# file as /vhd/params, and any helper programs in /vhd/bin.  A dynamically
# linked helper (one of our own binaries run inside the guest, sanitized
# builds included) brings the shared libraries ldd lists, at the same paths,
# and its loader.  No root needed.  Takes about a second.
#
# Usage: mkinitramfs.sh OUT.cpio.gz GUEST_SCRIPT [PARAMS_FILE] [HELPER...]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${VHD_BUSYBOX:-/bin/busybox}

if [ $# -lt 2 ]; then
	echo "usage: $0 OUT.cpio.gz GUEST_SCRIPT [PARAMS_FILE] [HELPER...]" >&2
	exit 2
fi
out=$1
script=$2
params=${3:-}
if [ $# -ge 3 ]; then shift 3; else shift $#; fi

if ! [ -x "$BUSYBOX" ]; then
	echo "mkinitramfs: $BUSYBOX missing (install the Debian package busybox-static)" >&2
	exit 2
fi
# A dynamically linked busybox (Debian package 'busybox') would not run in
# the guest, which has no libc.
if command -v readelf >/dev/null 2>&1 &&
   LC_ALL=C readelf -l "$BUSYBOX" | grep -q 'program interpreter'; then
	echo "mkinitramfs: $BUSYBOX is dynamically linked; install busybox-static" >&2
	exit 2
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/vhd-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/vhd/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp"
cp "$BUSYBOX" "$stage/bin/busybox"
cp "$HERE/guest/init" "$stage/init"
cp "$HERE/guest/lib.sh" "$stage/vhd/lib.sh"
cp "$script" "$stage/vhd/test.sh"
if [ -n "$params" ]; then
	cp "$params" "$stage/vhd/params"
else
	: >"$stage/vhd/params"
fi
# copy_libs BINARY: its shared libraries and loader, as ldd resolves them
# here ("name => /path (addr)" and "/loader (addr)" lines).
copy_libs() {
	LC_ALL=C ldd "$1" 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do
			[ -e "$stage$lib" ] && continue
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$lib" "$stage$lib"
		done
}
for helper in "$@"; do
	cp "$helper" "$stage/vhd/bin/"
	if command -v readelf >/dev/null 2>&1 &&
	   LC_ALL=C readelf -l "$helper" | grep -q 'program interpreter'; then
		copy_libs "$helper"
	fi
done
chmod 755 "$stage/init" "$stage/bin/busybox"
chmod -R a+rX "$stage/vhd"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
