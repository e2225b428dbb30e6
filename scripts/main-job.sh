#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The main job (README, first command): on a fresh Debian 12 machine, build
# what is needed and show a real Linux guest, behind Debian's QEMU 7.2,
# reading random data from our vhost-device-rng backend.  No arguments.
#
#   sudo ./scripts/main-job.sh      (or ./scripts/main-job.sh as root, or as
#                                    a user once the packages are installed)
#
# Steps: Debian packages (scripts/install-deps.sh, the only step that needs
# root; under sudo the rest runs as the calling user), autogen + configure +
# make in ./_build, the guest kernel (built once, cached: tests/vm/
# build-kernel.sh), then the guest runs: over virtio-pci and over
# virtio-mmio (the transport Xen guests see).  Prints what the guest saw.
set -eu

if [ $# -ne 0 ]; then
	echo "usage: $0   (no arguments; see README.md)" >&2
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/_build
JOBS=$(nproc 2>/dev/null || echo 2)
step() { printf '\n==== main job: %s\n' "$*"; }

step "1/4 Debian packages"
sh "$ROOT/scripts/install-deps.sh"

# Only the packages need root: give the rest back to the sudo caller so
# that ./_build belongs to them.
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] &&
   [ -z "${VHD_MAIN_JOB_AS_USER:-}" ]; then
	echo "main job: continuing as $SUDO_USER"
	exec sudo -u "$SUDO_USER" -H env VHD_MAIN_JOB_AS_USER=1 sh "$0"
fi

step "2/4 build in $BUILD"
cd "$ROOT"
[ -x configure ] || ./autogen.sh
mkdir -p "$BUILD"
cd "$BUILD"
[ -f Makefile ] || "$ROOT/configure" -q
make -j"$JOBS"
[ -x "$BUILD/vhost-device-rng" ] || { echo "main job: $BUILD/vhost-device-rng was not built" >&2; exit 1; }

step "3/4 guest kernel (Debian linux-source-6.1; minutes the first time, then cached)"
KERNEL=$(sh "$ROOT/tests/vm/build-kernel.sh" | tail -n 1)
echo "guest kernel: $KERNEL"

step "4/4 a Linux guest reads from vhost-device-rng"
export VHD_BUILDDIR="$BUILD" VHD_SRCDIR="$ROOT" VHD_VM_KERNEL="$KERNEL" VHD_VM_REQUIRE=1
status=0
for t in rng-pci rng-mmio; do
	case $t in
	rng-pci) echo "-- QEMU pc machine, vhost-user-rng-pci (virtio-pci transport)" ;;
	rng-mmio) echo "-- QEMU microvm machine, vhost-user-rng (virtio-mmio transport, as on Xen)" ;;
	esac
	python3 "$ROOT/tests/vm/$t.test" || status=1
done

echo
if [ $status -eq 0 ]; then
	echo "main job: PASS: the guest's virtio_rng driver was the current hwrng and read"
	echo "1 MiB of random data from vhost-device-rng over each transport (lines 'guest(...)' above)."
else
	echo "main job: FAIL: see the messages above (docs/testing.md, 'Reading a failure')."
fi
exit $status
