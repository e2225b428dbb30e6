#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Install the Debian 12 packages the build, the tests and the guest tests need.
# Idempotent: packages already installed are not touched, and apt is not
# consulted at all when everything is present.  Needs root (or sudo).
# README.md ("Dependencies") says why each package is here.
set -e
PKGS="build-essential autoconf automake libtool pkg-config
      libcmocka-dev libseccomp-dev libyaml-dev libxen-dev liburing-dev libgpiod-dev libasound2-dev libpipewire-0.3-dev libevdev-dev
      qemu-system-x86 busybox-static i2c-tools gpiod alsa-utils pipewire pipewire-bin evtest linux-source-6.1
      sg3-utils e2fsprogs util-linux fio
      bc bison flex libelf-dev libssl-dev cpio xz-utils python3
      clang libclang-rt-14-dev
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross device-tree-compiler"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all Debian packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "install-deps: done"
