#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Put QEMU 10.0 (Debian's bookworm-backports build) into the guest-test
# cache, next to the guest kernel, without installing it: the system's QEMU
# (7.2 on Debian 12) stays what it is.  QEMU 10 has frontends 7.2 lacks
# (vhost-user-snd-pci, ...); the *-qemu10 guest tests run under it
# (docs/testing.md).
#
# With --arch aarch64 it does the same for qemu-system-aarch64 (package
# qemu-system-arm), the arm64 guest tests' QEMU (docs/testing.md, "arm64
# guests"), in <cache>/qemu10-aarch64: each arch has its own directory,
# lock and recipe, so fetching one never invalidates the other.
#
# Promise: on success, the last line on stdout is the absolute path of
# <cache>/qemu10/bin/qemu-system-x86_64 (--arch aarch64:
# <cache>/qemu10-aarch64/bin/qemu-system-aarch64), which runs the unpacked QEMU 10
# with its own data, firmware and modules (never the system QEMU's) and, if
# any had to be unpacked, libraries; exit status 0.  Progress
# and errors go to stderr.  Exit 2 when it cannot be done on this machine
# (not Debian 12 amd64, no apt); exit 1 on a failure (the message says what
# to do).  Nothing is downloaded when the cache already holds it.
#
# How: a private apt configuration (own sources list holding only
# bookworm-backports on the mirror the system already uses, own lists and
# archive dirs) so the system's apt sources, lists and pinning are never
# touched; 'apt-get download' the packages; 'dpkg-deb -x' them.  Of the
# packages QEMU 10 depends on, those the system has in a version that
# satisfies the dependency are used from the system; a missing one is
# installed from the system's own sources (as root; they are ordinary
# Debian 12 libraries, which scripts/install-deps.sh's qemu-system-x86 7.2
# brings in anyway); one whose installed version is too old (seabios) is
# unpacked from bookworm-backports as well.
#
# Environment: VHD_VM_CACHE (as build-kernel.sh), VHD_DEBIAN_MIRROR (the
# Debian archive URI, default: the one the system's apt uses for bookworm).
#
# Usage: fetch-qemu10.sh [--arch x86_64|aarch64] [--check]
#   (--check: print the path if cached, exit 3 if not; default x86_64)
set -eu

SERIES=10.0     # the QEMU upstream series wanted: 1:10.0.*
# Bump when the steps below change in a way that changes the result.
RECIPE=1
SUITE=bookworm-backports
HERE=$(cd "$(dirname "$0")" && pwd)

say() { echo "fetch-qemu10: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
cannot() { say "cannot fetch QEMU $SERIES here: $*"; exit 2; }

check_only=0
arch=x86_64
while [ $# -gt 0 ]; do
	case $1 in
	--check) check_only=1 ;;
	--arch) arch=${2:?--arch needs x86_64 or aarch64}; shift ;;
	--arch=*) arch=${1#--arch=} ;;
	*) say "unknown argument '$1'"; exit 1 ;;
	esac
	shift
done
# Per arch: the system-emulator package, its binary, the cache directory
# and the frontends the guest tests of that arch need.
case $arch in
x86_64 | amd64)
	SYSPKG=qemu-system-x86 BIN=qemu-system-x86_64 DIR=qemu10
	NEED_DEVICES="vhost-user-rng-pci vhost-user-vsock-pci vhost-user-snd-pci" ;;
aarch64 | arm64)
	SYSPKG=qemu-system-arm BIN=qemu-system-aarch64 DIR=qemu10-aarch64
	NEED_DEVICES="vhost-user-rng-pci vhost-user-rng vhost-user-scmi-pci vhost-user-scmi" ;;
*) say "unknown arch '$arch' (x86_64 or aarch64)"; exit 1 ;;
esac
QEMU_PKGS="$SYSPKG qemu-system-common qemu-system-data"

# shellcheck source=tests/vm/cache-dir.sh
. "$HERE/cache-dir.sh"
final=$cache/$DIR
wrapper=$final/bin/$BIN

# A cached copy counts only if it runs and is the wanted series.
cached_ok() {
	[ -x "$wrapper" ] && grep -qx "recipe $RECIPE" "$final/VERSION" 2>/dev/null &&
		"$wrapper" --version 2>/dev/null | grep -q "version $SERIES\."
}
if cached_ok; then
	echo "$wrapper"
	exit 0
fi
if [ -e "$final" ]; then
	say "the cached $final is from another recipe or does not run (a library removed?):"
	"$wrapper" --version 2>&1 | head -3 | sed 's/^/fetch-qemu10:   /' >&2 || true
	[ $check_only = 1 ] || say "fetching it again"
fi
if [ $check_only = 1 ]; then
	say "no QEMU $SERIES in $cache"
	exit 3
fi

# -- can it be done here? -----------------------------------------------------
for tool in apt-get apt-cache dpkg dpkg-deb dpkg-query flock; do
	command -v "$tool" >/dev/null 2>&1 || cannot "'$tool' not found (this needs Debian 12)"
done
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
[ "$codename" = bookworm ] ||
	cannot "this is not Debian 12 (bookworm) but '${codename:-unknown}'; $SUITE is for Debian 12"
arch=$(dpkg --print-architecture)
host_arch=$(dpkg --print-architecture)
[ "$host_arch" = amd64 ] || cannot "the guest tests need $SYSPKG on amd64, this is $host_arch"

# One fetcher at a time; the others wait, then find the result.
exec 9>"$cache/$DIR.lock"
if ! flock -n 9; then
	say "another fetch of QEMU $SERIES is running; waiting for it"
	flock 9
fi
if cached_ok; then
	echo "$wrapper"
	exit 0
fi

work=$cache/$DIR.work.$$
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
rm -rf "$cache"/$DIR.work.* # leftovers of killed runs (we hold the lock)
apt=$work/apt
mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/lists/partial" \
	"$apt/archives/partial" "$work/debs" "$work/out/root"

# -- the private apt configuration ------------------------------------------------
# The mirror: the URI the system's apt uses for bookworm main.
# shellcheck disable=SC2016 # apt's $(FIELD), not the shell's
mirror=${VHD_DEBIAN_MIRROR:-$(apt-get indextargets --no-release-info \
	--format '$(RELEASE) $(COMPONENT) $(REPO_URI)' 2>/dev/null |
	awk '$1 == "bookworm" && $2 == "main" { print $3; exit }')}
if [ -z "$mirror" ]; then
	mirror=http://deb.debian.org/debian/
	say "no bookworm main source in the system's apt configuration; using $mirror (VHD_DEBIAN_MIRROR overrides)"
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opts=""
[ -r "$keyring" ] && opts="[signed-by=$keyring] "
echo "deb $opts$mirror $SUITE main" >"$apt/etc/sources.list"
# Only our sources and our own state; the system's apt.conf (proxy, ...)
# still applies.  The download sandbox user (_apt) must be able to write.
APTOPT="-o Dir::Etc::SourceList=$apt/etc/sources.list
	-o Dir::Etc::SourceParts=$apt/etc/sources.list.d
	-o Dir::Etc::Preferences=$apt/etc/preferences
	-o Dir::Etc::PreferencesParts=$apt/etc/preferences.d
	-o Dir::State::Lists=$apt/lists
	-o Dir::Cache=$apt -o Dir::Cache::Archives=$apt/archives
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	-o APT::Get::List-Cleanup=0"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown -R _apt "$apt" "$work/debs"
fi
# shellcheck disable=SC2086
papt_get() { apt-get -q $APTOPT "$@"; }
# shellcheck disable=SC2086
papt_cache() { apt-cache $APTOPT "$@"; }

say "reading $SUITE from $mirror (private apt configuration; the system's is untouched)"
if ! papt_get update >"$work/update.log" 2>&1 || grep -q '^E:\|^W: Failed\|^W: Some index' "$work/update.log"; then
	sed 's/^/fetch-qemu10:   /' "$work/update.log" >&2
	die "cannot read $SUITE from $mirror. Check that the machine reaches that mirror (proxy settings in /etc/apt/apt.conf.d apply), or set VHD_DEBIAN_MIRROR to a reachable Debian archive URI."
fi

# The newest 1:$SERIES.* version of a package in $SUITE.
suite_version() {
	papt_cache madison "$1" 2>/dev/null | awk -F'|' -v s="$SUITE" '
		$3 ~ s { gsub(/ /, "", $2); print $2 }' | sort -V | tail -1
}
qver=$(papt_cache madison $SYSPKG 2>/dev/null | awk -F'|' -v s="$SUITE" '
	$3 ~ s { gsub(/ /, "", $2); print $2 }' | grep "^1:$SERIES\." | sort -V | tail -1 || true)
if [ -z "$qver" ]; then
	say "$SUITE offers $SYSPKG: $(suite_version $SYSPKG || true)"
	die "$SUITE has no QEMU $SERIES.x any more: update SERIES in $0 (and check the *-qemu10 tests still pass)"
fi

download() { # download PKG=VERSION...
	(cd "$work/debs" && papt_get download "$@") >"$work/download.log" 2>&1 || {
		sed 's/^/fetch-qemu10:   /' "$work/download.log" >&2
		die "downloading $* from $mirror failed (see above)"
	}
}
say "downloading QEMU $qver: $QEMU_PKGS"
# shellcheck disable=SC2046 # one word per package
download $(for p in $QEMU_PKGS; do printf '%s=%s ' "$p" "$qver"; done)

# -- the dependencies -------------------------------------------------------------
# "pkg (op version)" items of the QEMU packages' Depends, except the QEMU
# packages themselves; alternatives ("a | b") are checked as their first.
deps=$(for d in "$work"/debs/*.deb; do dpkg-deb -f "$d" Depends; echo; done |
	tr ',' '\n' | sed 's/|.*//; s/^ *//; s/ *$//' | grep -v '^$' | sort -u |
	while read -r name rest; do
		case " $QEMU_PKGS " in *" $name "*) continue ;; esac
		echo "$name $rest"
	done)
installed_version() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "install" && $3 == "installed" { print $4 }'
}
satisfies() { # satisfies VERSION "(op version)" -- empty constraint: any
	c=$(echo "$2" | tr -d '()')
	[ -z "$c" ] && return 0
	# shellcheck disable=SC2086 # "op version": two words
	set -- "$1" $c
	case $2 in
	'>=') op=ge ;; '>>') op=gt ;; '=') op=eq ;; '<=') op=le ;; '<<') op=lt ;;
	*) return 1 ;;
	esac
	dpkg --compare-versions "$1" "$op" "$3"
}
missing=$(echo "$deps" | while read -r name rest; do
	[ -n "$(installed_version "$name")" ] || echo "$name"
done)
if [ -n "$missing" ]; then
	missing=$(echo "$missing" | tr '\n' ' ' | sed 's/ $//')
	if [ "$(id -u)" != 0 ]; then
		die "QEMU $SERIES needs these Debian 12 packages, which are not installed: $missing. Install them as root (apt-get install $missing), or run scripts/install-deps.sh, whose qemu-system-x86 brings them in."
	fi
	say "installing the Debian 12 packages QEMU $SERIES needs from the system's sources: $missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
		die "apt-get install $missing failed: run 'apt-get update' and try again"
fi
# Too old on the system: take the $SUITE version (unpacked next to QEMU).
extra=$(echo "$deps" | while read -r name rest; do
	satisfies "$(installed_version "$name")" "$rest" || echo "$name $rest"
done)
if [ -n "$extra" ]; then
	pkgs=""
	while read -r name rest; do
		v=$(suite_version "$name")
		if [ -z "$v" ] || ! satisfies "$v" "$rest"; then
			die "QEMU $SERIES needs $name $rest; the system has '$(installed_version "$name")' and $SUITE has '${v:-none}'"
		fi
		say "  $name: the system's $(installed_version "$name") is too old, QEMU needs $rest: using $SUITE's $v"
		pkgs="$pkgs $name=$v"
	done <<EOF
$extra
EOF
	# shellcheck disable=SC2086
	download $pkgs
fi

# -- unpack, wrap, verify -------------------------------------------------------------
out=$work/out
for d in "$work"/debs/*.deb; do
	dpkg-deb -x "$d" "$out/root" || die "cannot unpack $d"
	dpkg-deb -f "$d" Package Version | paste -sd' ' >>"$out/VERSION"
done
rm -rf "$out/root/usr/share/doc" "$out/root/usr/share/man"
# Where the unpacked QEMU finds its files.  Debian builds it for
# /usr/share/qemu, firmware path /usr/share/qemu:/usr/share/seabios:
# /usr/lib/ipxe/qemu and modules in /usr/lib/x86_64-linux-gnu/qemu, which
# hold the system QEMU's (7.2) files; 7.2's modules abort QEMU 10.  When
# a directory "qemu-bundle" sits next to the binary, QEMU looks for each of
# these paths under it instead (the way QEMU runs from its build tree): so
# usr/bin/qemu-bundle -> the unpacked root, and the firmware packages taken
# from the system (their version satisfies QEMU 10's dependency) are
# symlinked into that root.
ln -s ../.. "$out/root/usr/bin/qemu-bundle"
for d in usr/share/seabios usr/lib/ipxe/qemu; do
	if [ ! -e "$out/root/$d" ] && [ -d "/$d" ]; then
		mkdir -p "$(dirname "$out/root/$d")"
		ln -s "/$d" "$out/root/$d"
	fi
done
libs=""
for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
	if ls "$out/root/$d"/*.so* >/dev/null 2>&1; then
		libs="$libs\${R}/$d:"
	fi
done
mkdir -p "$out/bin"
# shellcheck disable=SC2016 # the wrapper's own $0, $R
{
	echo '#!/bin/sh'
	echo "# QEMU $qver from Debian $SUITE, unpacked (not installed)"
	echo '# by tests/vm/fetch-qemu10.sh.  It finds its own data, firmware and'
	echo '# modules through ../root/usr/bin/qemu-bundle.'
	if [ -n "$libs" ]; then
		echo 'R=$(cd "$(dirname "$0")/../root" && pwd)'
		echo "export LD_LIBRARY_PATH=\"$libs\${LD_LIBRARY_PATH:-}\""
	fi
	echo "exec \"\$(dirname \"\$0\")/../root/usr/bin/$BIN\" \"\$@\""
} >"$out/bin/$BIN"
chmod 755 "$out/bin/$BIN"
echo "recipe $RECIPE" >>"$out/VERSION"
echo "from $mirror $SUITE, $(date -u +%FT%TZ)" >>"$out/VERSION"

if ! v=$("$out/bin/$BIN" --version 2>&1) || ! echo "$v" | grep -q "version $SERIES\."; then
	echo "$v" | sed 's/^/fetch-qemu10:   /' >&2
	if echo "$v" | grep -q 'error while loading shared libraries'; then
		die "the unpacked QEMU lacks a shared library (above): install the Debian package that has it"
	fi
	die "the unpacked QEMU does not run (above)"
fi
# All devices: this loads every module, which must be QEMU 10's own.
if ! "$out/bin/$BIN" -device help >"$work/devices" 2>&1; then
	tail -5 "$work/devices" | sed 's/^/fetch-qemu10:   /' >&2
	die "the unpacked QEMU fails to list its devices (above)"
fi
for dev in $NEED_DEVICES; do
	grep -q "name \"$dev\"" "$work/devices" || die "the unpacked QEMU has no $dev device"
done
chmod -R a+rX "$out"
rm -rf "$final"
mv "$out" "$final"
say "QEMU $qver is in $final ($(du -sh "$final" | cut -f1))"
echo "$wrapper"
