# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Helpers for guest test scripts (busybox sh).  A guest script starts with
#   . /vhd/lib.sh
# and talks to the host runner (vhdvm.py) through lines on the serial
# console, all starting with "VHD-":
#   VHD-GUEST-INFO: <text>      what the guest saw (always shown by the host)
#   VHD-GUEST-WAIT: <tag>       the guest waits until the host answers
#                               "VHD-HOST-GO: <tag>" (host-driven steps such
#                               as a QMP stop/cont); see host_step
#   VHD-GUEST-RESULT: PASS <summary>
#   VHD-GUEST-RESULT: FAIL <what the guest saw>
# The last verdict wins only if there is exactly one: pass/fail exit.

info() { echo "VHD-GUEST-INFO: $*"; }

# verdict WORD TEXT: print the verdict once, record it for /init, exit.
verdict() {
	word=$1
	shift
	: >/tmp/vhd-verdict
	echo "VHD-GUEST-RESULT: $word $*"
	exit 0
}
pass() { verdict PASS "$@"; }
fail() {
	# Context for the reader of the failure: the kernel's view of virtio.
	dmesg | grep -iE 'virtio|vhost|hwrng|bug|warn|error|fail' |
		tail -n 20 | sed 's/^/VHD-GUEST-INFO: dmesg: /'
	verdict FAIL "$@"
}

# host_step TAG: ask the host to do step TAG and wait until it is done.
host_step() {
	echo "VHD-GUEST-WAIT: $1"
	while read -r line; do
		case $line in
		*"VHD-HOST-GO: $1"*) return 0 ;;
		esac
	done
	fail "console closed while waiting for the host step '$1'"
}

# uptime_cs: seconds since boot, in centiseconds (for throughput).
uptime_cs() {
	read -r up _ </proc/uptime
	s=${up%.*}
	c=${up#*.}
	echo $((s * 100 + ${c#0}))
}

# virtio_irqs: sum of all interrupt counts of virtio devices (a device that
# completes requests raises it; a silent one does not).
virtio_irqs() {
	awk '/virtio/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' \
		/proc/interrupts
}

# check_feature DEVICE_ID BIT: the virtio device with that id (0x0004 rng,
# 0x0013 vsock) negotiated feature BIT (its features file has one character
# per bit, bit 0 first).
check_feature() {
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device" 2>/dev/null)" = "$1" ] || continue
		f=$(cat "$d/features")
		[ "${f:$2:1}" = 1 ] ||
			fail "${d##*/} (device id $1): feature bit $2 not negotiated (features $f)"
		info "${d##*/} (device id $1): feature bit $2 negotiated"
		return 0
	done
	fail "no virtio device with id $1"
}

# wait_for PATH SECONDS: wait until PATH exists (SECONDS: a failure bound,
# generous: guest time runs on while a busy host does not run the guest).
wait_for() {
	i=0
	while ! [ -e "$1" ]; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}
