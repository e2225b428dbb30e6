#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-gpio's libgpiod 2.x chip module (src/devices/gpio/
# gpio-gpiod2.c), built and tested on Debian 12, whose own libgpiod-dev is
# 1.6: libgpiod 2.1 from bookworm-backports (libgpiod-dev, libgpiod3) is
# downloaded with a private apt configuration (the system's sources, lists
# and packages stay as they are) and unpacked into a prefix; a build
# configured against it (its own pkg-config file, an rpath to its library)
# runs the gpio tests, the guest test on the kernel's gpio-sim included
# (the only one that reaches a host chip: inside our guest).
#
# Usage: scripts/test-libgpiod2.sh [DIR]   (default: SRC/_build-libgpiod2)
# Needs: apt-get, dpkg-deb, network access to deb.debian.org (or the mirror
# in VHD_DEBIAN_MIRROR), an autogen'ed source tree, the guest-test
# prerequisites for the gpio-sim test (VHD_VM_REQUIRE=1 makes a skip fail).
# The prefix must not lie under /tmp: the guest's /tmp is its own, and the
# guest test copies the backend's libraries at the paths ldd shows.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$SRC/_build-libgpiod2}
JOBS=${VHD_JOBS:-$(nproc)}
MIRROR=${VHD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
VERSION=2.1.3-1~bpo12+1
say() { echo "test-libgpiod2: $*" >&2; }

case $DIR in /tmp/*) say "DIR may not be under /tmp (see the header)"; exit 1 ;; esac
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
prefix=$DIR/prefix
libdir=$prefix/usr/lib/x86_64-linux-gnu

if [ ! -e "$libdir/libgpiod.so.3" ]; then
	apt=$DIR/apt
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$DIR/debs" "$prefix"
	echo "deb $MIRROR bookworm-backports main" >"$apt/sources.list"
	set -- -o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::lists="$apt/lists" -o Dir::Cache::archives="$apt/archives" \
		-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root
	say "fetching libgpiod $VERSION from bookworm-backports"
	apt-get -q "$@" update >/dev/null
	(cd "$DIR/debs" && apt-get -q "$@" download "libgpiod-dev=$VERSION" "libgpiod3=$VERSION" >/dev/null)
	for deb in "$DIR"/debs/*.deb; do
		dpkg-deb -x "$deb" "$prefix"
	done
fi
mkdir -p "$DIR/pkgconfig"
sed "s|^prefix=/usr\$|prefix=$prefix/usr|" "$libdir/pkgconfig/libgpiod.pc" >"$DIR/pkgconfig/libgpiod.pc"

mkdir -p "$DIR/build"
cd "$DIR/build"
PKG_CONFIG_PATH=$DIR/pkgconfig "$SRC/configure" -q CFLAGS="-O2 -g -Werror" \
	LDFLAGS="-Wl,-rpath,$libdir"
grep -q '^S\["HAVE_LIBGPIOD2_TRUE"\]=""' config.status ||
	{ say "configure did not choose the libgpiod 2 module"; exit 1; }
make -j"$JOBS" >/dev/null
ldd vhost-device-gpio | grep -q "$libdir/libgpiod.so.3" ||
	{ say "vhost-device-gpio is not linked with $libdir/libgpiod.so.3"; exit 1; }
make -j"$JOBS" check TESTS="tests/unit/test-gpio tests/integration/test-gpio \
	tests/integration/robust-gpio.test tests/vm/gpio-sim.test"
say "libgpiod 2 build: gpio tests passed"
