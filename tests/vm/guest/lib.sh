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
