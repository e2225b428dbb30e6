#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Build the guest kernel for the guest tests once and cache it.
#
# Promise: on success, the last line on stdout is the absolute path of a
# bzImage built from Debian's linux-source-6.1 with tinyconfig +
# guest-kernel.config (with --arch aarch64: an arm64 Image cross-built with
# gcc-aarch64-linux-gnu from tinyconfig + guest-kernel-arm64.config), and
# exit status is 0.  Beside it, modules/ holds
# every module the fragment builds (=m), as flat NAME.ko files for insmod.
# Progress and errors go to stderr.  Exit 2 when the kernel cannot be built here (no source package,
# no compiler): callers turn that into a SKIP.  Exit 1 on a real build
# failure (log tail printed).
#
# Cache: $VHD_VM_CACHE (default /var/cache/vhost-device-c/vm, or
# ~/.cache/vhost-device-c/vm when that is not writable) / <key> / bzImage,
# where <key> hashes the fragment, the linux-source package version and
# RECIPE below (and, for aarch64, the architecture: the two kernels have
# their own keys in the same cache).  Reused across runs and build trees; rebuilt when any of them
# changes.  A lock file per key makes concurrent callers wait for one build.
#
# Usage: build-kernel.sh [--arch x86_64|aarch64] [--check]
#   (--check: print the path if cached, exit 3 if not; the default arch is
#   $VHD_VM_ARCH, else x86_64)
set -eu

# Bump when the build steps below change in a way that changes the result.
RECIPE=2
HERE=$(cd "$(dirname "$0")" && pwd)
TARBALL=${VHD_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
JOBS=$(nproc 2>/dev/null || echo 2)

say() { echo "build-kernel: $*" >&2; }

check_only=0
arch=${VHD_VM_ARCH:-x86_64}
while [ $# -gt 0 ]; do
	case $1 in
	--check) check_only=1 ;;
	--arch) arch=${2:?--arch needs x86_64 or aarch64}; shift ;;
	--arch=*) arch=${1#--arch=} ;;
	*) say "unknown argument '$1'"; exit 1 ;;
	esac
	shift
done
# Per arch: the fragment, the kernel's ARCH, the cross compiler prefix, the
# image make builds and the name it is cached under.
case $arch in
x86_64 | amd64)
	arch=x86_64
	FRAGMENT=$HERE/guest-kernel.config
	KARCH=x86_64 CROSS="" TARGET=bzImage IMAGE=arch/x86/boot/bzImage ;;
aarch64 | arm64)
	arch=aarch64
	FRAGMENT=$HERE/guest-kernel-arm64.config
	KARCH=arm64 CROSS=aarch64-linux-gnu- TARGET=Image IMAGE=arch/arm64/boot/Image ;;
*) say "unknown arch '$arch' (x86_64 or aarch64)"; exit 1 ;;
esac
NAME=$TARGET

if [ ! -r "$TARBALL" ]; then
	say "cannot build the guest kernel: $TARBALL missing (install the Debian package linux-source-6.1: scripts/install-deps.sh)"
	exit 2
fi
for tool in make gcc "${CROSS}gcc" bc bison flex sha256sum flock tar xz; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		say "cannot build the guest kernel: '$tool' not found (scripts/install-deps.sh installs it)"
		exit 2
	fi
done

src_version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null ||
	stat -c '%s-%Y' "$TARBALL")
# The x86_64 key is what it was before arm64 existed (no arch line), so
# its cached kernel stays valid.
key=$( { echo "recipe $RECIPE"; echo "linux-source $src_version";
	 [ $arch = x86_64 ] || echo "arch $arch";
	 cat "$FRAGMENT"; } | sha256sum | cut -c1-16)

. "$HERE/cache-dir.sh"
final=$cache/$key

if [ -f "$final/$NAME" ]; then
	echo "$final/$NAME"
	exit 0
fi
if [ $check_only = 1 ]; then
	say "no cached kernel for key $key in $cache"
	exit 3
fi

# One builder per key; the others wait, then find the result.
exec 9>"$cache/$key.lock"
if ! flock -n 9; then
	say "another build of kernel $key is running; waiting for it"
	flock 9
fi
if [ -f "$final/$NAME" ]; then
	echo "$final/$NAME"
	exit 0
fi

work=$cache/$key.build.$$
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
rm -rf "$cache/$key".build.*   # leftovers of killed builds (we hold the lock)
mkdir -p "$work/src"
log=$work/build.log
start=$(date +%s)
elapsed() { t=$(( $(date +%s) - start )); printf '%dm%02ds' $((t / 60)) $((t % 60)); }

say "building $arch guest kernel $key (linux-source $src_version, $JOBS jobs; takes a few minutes)"
say "  cache: $final"
say "  unpacking $TARBALL"
tar -xf "$TARBALL" -C "$work/src" --strip-components=1

fail() {
	say "FAILED ($*) after $(elapsed); last lines of $log:"
	tail -n 40 "$log" >&2 || true
	# Keep the log where the next person can read it.
	cp "$log" "$cache/$key.failed.log" 2>/dev/null && say "full log: $cache/$key.failed.log"
	exit 1
}

cd "$work/src"
say "  [$(elapsed)] configuring: tinyconfig + $(basename "$FRAGMENT")"
{
	make ARCH=$KARCH CROSS_COMPILE=$CROSS tinyconfig &&
	ARCH=$KARCH CROSS_COMPILE=$CROSS ./scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" &&
	make ARCH=$KARCH CROSS_COMPILE=$CROSS olddefconfig
} >"$log" 2>&1 || fail "configuration"

# Every option the fragment asks for must be in the result.
missing=$(grep -E '^(CONFIG_[A-Za-z0-9_]+=.*|# CONFIG_[A-Za-z0-9_]+ is not set)$' "$FRAGMENT" |
	while IFS= read -r line; do
		grep -qxF "$line" .config || echo "$line"
	done)
if [ -n "$missing" ]; then
	echo "olddefconfig dropped:" >>"$log"
	echo "$missing" >>"$log"
	say "the fragment asks for options olddefconfig dropped (unmet dependency?):"
	echo "$missing" | sed 's/^/build-kernel:     /' >&2
	fail "configuration"
fi

say "  [$(elapsed)] compiling $TARGET and modules"
# Progress: one line every 300 lines of make output.
set +e
make ARCH=$KARCH CROSS_COMPILE=$CROSS -j"$JOBS" $TARGET modules 2>&1 | {
	n=0
	while IFS= read -r l; do
		echo "$l" >>"$log"
		n=$((n + 1))
		if [ $((n % 300)) = 0 ]; then
			say "  [$(elapsed)] $l"
		fi
	done
}
set -e
[ -f $IMAGE ] || fail "compilation"

mkdir -p "$work/out/modules"
cp $IMAGE "$work/out/$NAME"
# modules.order names each module's .ko (6.1) or .o (later kernels).
for m in $(sed 's/\.o$/.ko/' modules.order 2>/dev/null); do
	[ -f "$m" ] || fail "module $m listed in modules.order was not built"
	cp "$m" "$work/out/modules/"
done
cp .config "$work/out/config"
cp "$log" "$work/out/build.log"
echo "$arch, linux-source $src_version, recipe $RECIPE, built $(date -u +%FT%TZ)" >"$work/out/VERSION"
rm -rf "$final"
mv "$work/out" "$final"
cd "$cache"
rm -f "$cache/$key.failed.log"
say "  [$(elapsed)] done: $final/$NAME ($(wc -c <"$final/$NAME") bytes)"
echo "$final/$NAME"
