#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-can as a program, on a host without any CAN interface (the
# protocol is tested in the guest: tests/vm/can-vcan.test): argument
# errors exit 1 with a message saying what is wrong and create no file --
# -d missing, a count that differs from -c, an interface that does not
# exist, one that is not CAN, a name that cannot be an interface.
set -u
B=${VHD_BUILDDIR:-.}
T=$(mktemp -d /tmp/vhd-can-cli.XXXXXX)
pass=0
fail=0
trap 'rm -rf "$T"' EXIT

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

# expect_exit STATUS PATTERN ARGS...: status, message, no file in $T/s.
expect_exit() {
	want=$1 pat=$2
	shift 2
	rm -rf "$T/s"
	mkdir -p "$T/s"
	"$B/vhost-device-can" "$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		bad "'$*' exits $want (got $got: $(head -c 300 "$T/out"))"
		return
	fi
	if ! grep -q -- "$pat" "$T/out"; then
		bad "'$*' says '$pat' (said: $(head -c 300 "$T/out"))"
		return
	fi
	if [ -n "$(ls -A "$T/s")" ]; then
		bad "'$*' created no file (found: $(ls "$T/s"))"
		return
	fi
	ok "'$*' exits $want saying '$pat'"
}

S=$T/s/can.sock
expect_exit 1 "-d/--can-devices is required" -s "$S"
expect_exit 1 "no network interface 'nosuchcan0'" -s "$S" -d nosuchcan0
expect_exit 1 "'lo' is not a CAN interface" -s "$S" --can-devices lo
expect_exit 1 "names 2 interfaces for 1 socket" -s "$S" -d "lo lo"
expect_exit 1 "names 1 interface for 3 sockets" -s "$S" -c 3 -d "	nosuchcan0  "
expect_exit 1 "names 0 interfaces for 1 socket" -s "$S" -d "  "
expect_exit 1 "is not a network interface name" -s "$S" -d "a/b"
expect_exit 1 "is not a network interface name" -s "$S" -d "abcdefghijklmnopq"
# Checked in order: the first bad name is named.
expect_exit 1 "no network interface 'nosuchcan1'" -s "$S" -c 2 -d "nosuchcan1 lo"
expect_exit 1 "needs an argument" -s "$S" -d
expect_exit 0 "can-devices" --help

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
