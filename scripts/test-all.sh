#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The README's second command: install what is needed, then build and run
# the whole test suite:
#   1. a -Werror build and 'make check' (unit, CLI, integration and the
#      real-guest tests under QEMU, some of them under both Debian's QEMU 7.2
#      and QEMU 10.0 from bookworm-backports; the guest kernel is built once
#      and cached, QEMU 10 is fetched once into the same cache; the arm64
#      guest tests boot an arm64 kernel, cross-built once and cached the
#      same way, under QEMU 10.0's qemu-system-aarch64),
#   2. the same tests again, built with --enable-xen (adds the Xen memory
#      backend and its tests over a fake libxen) and with AddressSanitizer
#      and UndefinedBehaviorSanitizer (the guests then talk to sanitized
#      backends),
#   3. the fuzz targets (fuzz/), built with clang's libFuzzer under
#      ASan+UBSan, each run for VHD_FUZZ_SECONDS (default 30) from the
#      committed corpus: a crash fails the run and names its input,
#   4. 'make distcheck' with --enable-xen (the tarball builds and passes
#      its tests),
#   5. the arm64 pass (scripts/arm64-check.sh): a cross-build for aarch64
#      with --enable-xen and -Werror, its unit and integration tests under
#      qemu-aarch64 user emulation (the arm64 libraries and QEMU are
#      fetched once into /var/cache/vhost-device-c/arm64),
#   6. vhost-device-gpio built against libgpiod 2.1 from bookworm-backports
#      (unpacked into a prefix, scripts/test-libgpiod2.sh) and its tests.
# Guest tests may not SKIP here (VHD_VM_REQUIRE=1): CI must prove them.
# Run it as root (or with sudo available) from the source tree.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VHD_BUILD_ROOT:-$SRC/_build}
JOBS=${VHD_JOBS:-$(nproc)}
export VHD_VM_REQUIRE=1
step() { printf '\n===== %s =====\n' "$*"; }
fail_log() { # print the failing tests' logs, then fail
	for f in $(find "$1" -name '*.log' -newer "$1/Makefile" 2>/dev/null); do
		if grep -q '^# FAIL: *[1-9]\|^FAIL\|^ERROR' "$f" 2>/dev/null; then
			echo "----- $f"; tail -60 "$f"
		fi
	done
	exit 1
}

step "Debian packages"
"$SRC/scripts/install-deps.sh"

step "QEMU 10.0 for the *-qemu10 guest tests (bookworm-backports, unpacked into the test cache)"
"$SRC/tests/vm/fetch-qemu10.sh" >/dev/null

step "QEMU 10.0 aarch64 and an arm64 busybox for the *-arm64 guest tests (unpacked into the test cache)"
"$SRC/tests/vm/fetch-qemu10.sh" --arch aarch64 >/dev/null
"$SRC/tests/vm/fetch-busybox-arm64.sh" >/dev/null

step "autogen"
(cd "$SRC" && ./autogen.sh >/dev/null)

step "build with -Werror and run make check ($BUILD/werror)"
mkdir -p "$BUILD/werror"
cd "$BUILD/werror"
"$SRC/configure" -q CFLAGS="-O2 -g -Werror"
make -j"$JOBS" >/dev/null
make -j"$JOBS" check || fail_log "$BUILD/werror"

step "all tests again, --enable-xen, under ASan+UBSan ($BUILD/asan)"
mkdir -p "$BUILD/asan"
cd "$BUILD/asan"
"$SRC/configure" -q --enable-xen \
	CFLAGS="-O1 -g -Werror -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	LDFLAGS="-fsanitize=address,undefined"
make -j"$JOBS" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	make -j"$JOBS" check || fail_log "$BUILD/asan"

step "fuzz targets, ${VHD_FUZZ_SECONDS:-30} s each, clang libFuzzer + ASan+UBSan ($BUILD/fuzz)"
mkdir -p "$BUILD/fuzz"
cd "$BUILD/fuzz"
"$SRC/configure" -q --enable-fuzzing --enable-xen CC=clang \
	CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
make -j"$JOBS" fuzz FUZZ_SECONDS="${VHD_FUZZ_SECONDS:-30}"

step "make distcheck"
cd "$BUILD/werror"
make -j"$JOBS" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-xen >"$BUILD/distcheck.log" 2>&1 || { tail -80 "$BUILD/distcheck.log"; exit 1; }
grep -A3 'archives ready for distribution' "$BUILD/distcheck.log" || true

step "vhost-device-gpio with libgpiod 2 ($BUILD/libgpiod2)"
"$SRC/scripts/test-libgpiod2.sh" "$BUILD/libgpiod2" || fail_log "$BUILD/libgpiod2/build"

step "arm64: cross-build, unit and integration tests under qemu-aarch64 ($BUILD/arm64)"
VHD_BUILD_ROOT=$BUILD VHD_JOBS=$JOBS "$SRC/scripts/arm64-check.sh"

step "all tests passed"
