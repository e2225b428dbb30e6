#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The arm64 pass (docs/testing.md, "The arm64 pass"): cross-build the tree
# for aarch64 with Debian's gcc-aarch64-linux-gnu (--enable-xen, -Werror)
# and run its unit and integration tests under qemu-aarch64 user
# emulation.  scripts/test-all.sh runs it; it also runs alone, from the
# source tree, as root (or with a writable VHD_ARM64_CACHE):
#
#   scripts/arm64-check.sh              fetch (once), build, test
#   scripts/arm64-check.sh --fetch      only make sure the cache is complete
#
# What it needs, all cached under $VHD_ARM64_CACHE (default
# /var/cache/vhost-device-c/arm64) and fetched only when missing:
#   sysroot/  the arm64 Debian 12 packages the build links against and the
#             tests load (libcmocka-dev, libseccomp-dev, libyaml-dev, libxen-dev and their
#             run-time dependencies, libc6 included), unpacked with
#             dpkg-deb -x, never installed;
#   qemu/     qemu-aarch64 of qemu-user from bookworm-backports (QEMU 10.0;
#             Debian 12's 7.2 drops an empty sendmsg on a SEQPACKET socket,
#             which the vsock tests send), unpacked the same way: from 10.0
#             on, Debian builds qemu-user statically (qemu-user-static is
#             only symlinks to it), so the binary runs on its own.  The
#             other emulators of the package are not kept.
# The machine's dpkg architecture list and apt sources are never touched:
# the packages come through a private apt configuration (its own sources
# list, lists and archives, as tests/vm/fetch-qemu10.sh does), which knows
# the arm64 architecture only for itself.
#
# How the tests run without binfmt_misc: automake's LOG_COMPILER is the
# emulator, so each test program runs as "qemu-aarch64 PROG"; the
# tests that start a backend binary exec it through $VHD_TEST_EXEC_WRAPPER
# (tests/integration/backend.c); QEMU_LD_PREFIX makes the emulated dynamic
# loader find the sysroot's libraries.  Shell-script tests (tests/cli,
# tests/integration/*.sh, tests/install) exec the arm64 binaries from a
# host shell, which only binfmt_misc could run: they do not run here (nor
# the guest tests, tests/vm).  The robust-<device>.test wrappers are
# scripts too: test-robust itself runs instead, every profile in one go.
#
# Environment: VHD_BUILD_ROOT (build trees, default <src>/_build; this
# pass builds in its arm64/ subdirectory), VHD_JOBS, VHD_ARM64_CACHE,
# VHD_DEBIAN_MIRROR (the Debian archive URI, default: the one the system's
# apt uses for bookworm), VHD_ARM64_TESTS (a space-separated subset of the
# test programs, relative to the build tree, instead of all of them).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VHD_BUILD_ROOT:-$SRC/_build}/arm64
JOBS=${VHD_JOBS:-$(nproc)}
TRIPLET=aarch64-linux-gnu
# Bump when the fetch below changes in a way that changes the result.
RECIPE=2
# The arm64 packages the build needs; apt adds their dependencies.
SYSROOT_PKGS="libcmocka-dev libseccomp-dev libyaml-dev libxen-dev"
QEMU_SERIES=10.0

say() { echo "arm64-check: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

fetch_only=0
[ "${1:-}" = "--fetch" ] && fetch_only=1

# -- the cache -----------------------------------------------------------------
cache=${VHD_ARM64_CACHE:-/var/cache/vhost-device-c/arm64}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
	die "cannot write $cache: run as root, or set VHD_ARM64_CACHE to a writable directory"
fi
cache=$(cd "$cache" && pwd)
SYSROOT=$cache/sysroot
QEMU=$cache/qemu/usr/bin/qemu-aarch64
stamp="recipe $RECIPE: $SYSROOT_PKGS; qemu-user $QEMU_SERIES"

cached_ok() {
	[ "$(head -1 "$cache/VERSION" 2>/dev/null)" = "$stamp" ] &&
		[ -x "$QEMU" ] && "$QEMU" --version 2>/dev/null | grep -q "version $QEMU_SERIES\." &&
		[ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ]
}

fetch() {
	for tool in apt-get apt-cache dpkg-deb flock; do
		command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (this needs Debian 12)"
	done
	[ "$(dpkg --print-architecture)" = amd64 ] ||
		die "the arm64 pass cross-builds on amd64; this is $(dpkg --print-architecture)"
	work=$cache/work.$$
	trap 'rm -rf "$work"' EXIT
	trap 'exit 130' INT TERM HUP
	rm -rf "$cache"/work.* # leftovers of killed runs (we hold the lock)
	apt=$work/apt
	mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/lists/partial" \
		"$apt/archives/partial" "$work/debs" "$work/sysroot" "$work/qemu"
	# shellcheck disable=SC2016 # apt's $(FIELD), not the shell's
	mirror=${VHD_DEBIAN_MIRROR:-$(apt-get indextargets --no-release-info \
		--format '$(RELEASE) $(COMPONENT) $(REPO_URI)' 2>/dev/null |
		awk '$1 == "bookworm" && $2 == "main" { print $3; exit }')}
	mirror=${mirror:-http://deb.debian.org/debian/}
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	opts=""
	[ -r "$keyring" ] && opts="signed-by=$keyring "
	{
		echo "deb [${opts}arch=arm64] $mirror bookworm main"
		echo "deb [${opts}arch=amd64] $mirror bookworm-backports main"
	} >"$apt/etc/sources.list"
	# arm64 is known to this configuration only (APT::Architectures),
	# never to dpkg.
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
	say "reading bookworm (arm64) and bookworm-backports (amd64) from $mirror (private apt configuration)"
	# shellcheck disable=SC2086
	if ! apt-get -q $APTOPT update >"$work/update.log" 2>&1 ||
		grep -q '^E:\|^W: Failed\|^W: Some index' "$work/update.log"; then
		sed 's/^/arm64-check:   /' "$work/update.log" >&2
		die "cannot read the Debian archive at $mirror: check the network or proxy, or set VHD_DEBIAN_MIRROR"
	fi
	# The packages and every run-time dependency (Depends and
	# Pre-Depends), all arm64; apt's own resolver, so versions match.
	# shellcheck disable=SC2086,SC2046
	pkgs=$(apt-cache $APTOPT depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		$(for p in $SYSROOT_PKGS; do printf '%s:arm64 ' "$p"; done) |
		grep '^[a-z0-9]' | sort -u)
	# shellcheck disable=SC2086
	qver=$(apt-cache $APTOPT madison qemu-user | awk -F'|' '
		$3 ~ /bookworm-backports/ { gsub(/ /, "", $2); print $2 }' |
		grep "^1:$QEMU_SERIES\." | sort -V | tail -1 || true)
	[ -n "$qver" ] || die "bookworm-backports has no qemu-user $QEMU_SERIES.x any more: update QEMU_SERIES in $0"
	say "downloading $(echo "$pkgs" | wc -l) arm64 packages and qemu-user $qver (about 70 MB)"
	# shellcheck disable=SC2086
	(cd "$work/debs" && apt-get -q $APTOPT download $pkgs "qemu-user:amd64=$qver") \
		>"$work/download.log" 2>&1 || {
		sed 's/^/arm64-check:   /' "$work/download.log" >&2
		die "downloading from $mirror failed (above)"
	}
	# apt-get download checked each .deb against the signed index.
	for d in "$work"/debs/*_arm64.deb "$work"/debs/*_all.deb; do
		[ -e "$d" ] || continue
		dpkg-deb -x "$d" "$work/sysroot" || die "cannot unpack $d"
		dpkg-deb -f "$d" Package Version Architecture | paste -sd' ' >>"$work/packages"
	done
	dpkg-deb -x "$work"/debs/qemu-user_*_amd64.deb "$work/qemu.all" ||
		die "cannot unpack qemu-user"
	mkdir -p "$work/qemu/usr/bin"
	mv "$work/qemu.all/usr/bin/qemu-aarch64" "$work/qemu/usr/bin/"
	rm -rf "$work/qemu.all" "$work/sysroot/usr/share/doc" "$work/sysroot/usr/share/man"
	echo "qemu-user $qver amd64 (qemu-aarch64 only)" >>"$work/packages"
	"$work/qemu/usr/bin/qemu-aarch64" --version | grep -q "version $QEMU_SERIES\." ||
		die "the unpacked qemu-aarch64 does not run"
	rm -rf "$SYSROOT" "$cache/qemu"
	mv "$work/sysroot" "$SYSROOT"
	mv "$work/qemu" "$cache/qemu"
	{
		echo "$stamp"
		echo "from $mirror, $(date -u +%FT%TZ)"
		cat "$work/packages"
	} >"$cache/VERSION"
	rm -rf "$work"
	trap - EXIT
	say "cache ready: $cache ($(du -sh "$cache" | cut -f1))"
}

# One fetcher at a time; the others wait, then find the result.
if ! cached_ok; then
	exec 9>"$cache/lock"
	if ! flock -n 9; then
		say "another fetch is running; waiting for it"
		flock 9
	fi
	cached_ok || fetch
	exec 9>&-
fi
[ $fetch_only = 1 ] && exit 0

# The cross compiler and its C library (idempotent: apt is not consulted
# when everything is there).
"$SRC/scripts/install-deps.sh" >&2
command -v $TRIPLET-gcc >/dev/null 2>&1 || die "$TRIPLET-gcc missing: install gcc-aarch64-linux-gnu"

# -- build ---------------------------------------------------------------------------
t0=$(date +%s)
[ -x "$SRC/configure" ] || (cd "$SRC" && ./autogen.sh >/dev/null)
mkdir -p "$BUILD"
cd "$BUILD"
libdirs="$SYSROOT/usr/lib/$TRIPLET:$SYSROOT/lib/$TRIPLET"
# pkg-config reads only the sysroot's .pc files and prefixes their paths
# with the sysroot; -rpath-link lets the linker find the libraries those
# libraries need (libxen's own dependencies).
PKG_CONFIG_SYSROOT_DIR=$SYSROOT
PKG_CONFIG_LIBDIR=$SYSROOT/usr/lib/$TRIPLET/pkgconfig:$SYSROOT/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
if [ ! -f Makefile ] || [ "$(cat .arm64-config 2>/dev/null)" != "$stamp" ]; then
	"$SRC/configure" -q --host=$TRIPLET --enable-xen PKG_CONFIG=pkg-config \
		CFLAGS="-O2 -g -Werror" LDFLAGS="-Wl,-rpath-link=$libdirs"
	echo "$stamp" >.arm64-config
fi
make -j"$JOBS" >/dev/null
# The ring's barriers in the generated arm64 code (docs/architecture.md,
# "Ring memory ordering").
"$SRC/scripts/check-arm64-barriers.sh" "$BUILD" || die "the ring code lost a barrier (above)"
make -j"$JOBS" check TESTS= >/dev/null
t1=$(date +%s)

# -- the tests -------------------------------------------------------------------------
# Every test program (an arm64 ELF file) of TESTS, through automake with
# the emulator as LOG_COMPILER.  The robust-<device>.test wrappers are
# scripts that exec test-robust: test-robust runs instead, every profile,
# after them.
# shellcheck disable=SC2016
all=$(printf 'print-tests:\n\t@echo $(TESTS)\n' | make -s -f Makefile -f - print-tests)
is_elf() { [ -f "$1" ] && [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
tests="" robust=0 skipped=""
for t in $all; do
	case $t in
	tests/integration/robust-*.test) robust=1; continue ;;
	esac
	if is_elf "$t"; then tests="$tests $t"; else skipped="$skipped $t"; fi
done
if [ -n "${VHD_ARM64_TESTS:-}" ]; then
	tests="" robust=0
	for t in $VHD_ARM64_TESTS; do
		case $t in
		tests/integration/test-robust) robust=1 ;;
		*) tests="$tests $t" ;;
		esac
	done
fi
say "running under $("$QEMU" --version | head -1):"
say " $tests$([ $robust = 1 ] && echo ' tests/integration/test-robust (all profiles)')"
say "not run here (scripts that start the arm64 binaries from a host shell, guest tests):$skipped"
QEMU_LD_PREFIX=$SYSROOT
VHD_TEST_EXEC_WRAPPER=$QEMU
export QEMU_LD_PREFIX VHD_TEST_EXEC_WRAPPER
rc=0
# shellcheck disable=SC2086
make -j"$JOBS" check TESTS="$tests" LOG_COMPILER="$QEMU" || rc=$?
failed=""
for t in $tests; do
	grep -q '^FAIL\|^ERROR\|^# FAIL: *[1-9]' "$t.log" 2>/dev/null && failed="$failed $t.log"
done
if [ $robust = 1 ]; then
	log=tests/integration/test-robust-arm64.log
	if "$QEMU" tests/integration/test-robust >"$log" 2>&1; then
		echo "PASS: tests/integration/test-robust (every profile)"
	else
		echo "FAIL: tests/integration/test-robust (every profile), log in $BUILD/$log"
		failed="$failed $log"
		rc=1
	fi
fi
t2=$(date +%s)
say "build $((t1 - t0)) s, tests $((t2 - t1)) s"
if [ $rc != 0 ]; then
	for f in $failed; do
		echo "----- $f"
		tail -60 "$f"
	done
	exit $rc
fi
say "all arm64 tests passed"
