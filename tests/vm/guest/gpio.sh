# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of the GPIO test: Debian's gpiod tools (in /vhd/bin) through
# the guest's gpio-virtio driver and the GPIO character device, on a
# simulated chip whose pins the host checks and drives (host steps, see
# gpio-pci.test).  Parameters (from /vhd/params):
#   GPIO_LINES   the number of lines of the backend's chip
#   GPIO_IRQ     "required": the interrupt part must run; "optional": it
#                runs only if QEMU offered VIRTIO_GPIO_F_IRQ (QEMU 7.2's
#                vhost-user-gpio does not put it in the device's features,
#                so the guest never sees it; QEMU 9.0 and later pass the
#                backend's features through)
. /vhd/lib.sh

expect() { [ "$2" = "$3" ] || fail "$1: got '$3', expected '$2'"; }

# The virtio chip: its label is the virtio device's name ("virtioN").
chip=""
i=0
while [ -z "$chip" ]; do
	chip=$(gpiodetect 2>/dev/null | grep virtio | cut -d' ' -f1)
	[ -n "$chip" ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && fail "no virtio GPIO chip: gpiodetect says '$(gpiodetect 2>&1)'"
	sleep 0.1
done
info "$(gpiodetect | grep virtio)"
gpiodetect | grep virtio | grep -q "($GPIO_LINES lines)" || fail "expected $GPIO_LINES lines: $(gpiodetect)"

# Names from GET_LINE_NAMES: sim-0 .. sim-N-1.
gpioinfo "$chip" >/tmp/info 2>&1 || fail "gpioinfo failed: $(cat /tmp/info)"
n=0
while [ $n -lt "$GPIO_LINES" ]; do
	grep -q "line *$n: *\"sim-$n\"" /tmp/info || fail "line $n is not named sim-$n: $(cat /tmp/info)"
	n=$((n + 1))
done
info "gpioinfo: lines sim-0 .. sim-$((GPIO_LINES - 1))"

# An output: the host sees the value on the pin while gpioset holds it.
gpioset --mode=signal "$chip" 2=1 &
pid=$!
host_step out2-high
kill $pid
wait $pid
host_step out2-released
gpioset --mode=signal "$chip" 2=0 &
pid=$!
host_step out2-low
kill $pid
wait $pid
info "gpioset: 2=1 and 2=0 seen on the pin"

# An input the host drives.
host_step in4-high
expect "gpioget 4 (high)" 1 "$(gpioget "$chip" 4)"
host_step in4-low
expect "gpioget 4 (low)" 0 "$(gpioget "$chip" 4)"
info "gpioget: 4 follows the host's level"

# VIRTIO_GPIO_F_IRQ (bit 0) among the features the driver acked: the
# first character of the virtio device's "features" in sysfs.
dev=$(readlink -f /sys/bus/gpio/devices/$chip)
features=$(cat "${dev%/*}/features" 2>/dev/null)
case $features in
1*) ;;
*)
	[ "$GPIO_IRQ" = required ] && fail "no VIRTIO_GPIO_F_IRQ (features '$features')"
	info "QEMU did not offer VIRTIO_GPIO_F_IRQ (features '$features'): no interrupt part"
	pass "$chip: names, gpioset/gpioget against the host's pins (no interrupts: the frontend lacks VIRTIO_GPIO_F_IRQ)"
	;;
esac

# Interrupts: gpiomon enables the line's interrupt (the driver's
# SET_IRQ_TYPE and eventq buffer); the host step waits until the backend
# has it enabled, then makes the edge.
mon() {
	# mon TAG ARGS: gpiomon for one or two events around host step TAG
	tag=$1
	shift
	gpiomon -b -F '%o %e' "$@" >/tmp/mon 2>&1 &
	pid=$!
	host_step "$tag"
}
mon rise3 -n 1 -r "$chip" 3
wait $pid || fail "gpiomon -r: $(cat /tmp/mon)"
expect "rising edge event" "3 1" "$(cat /tmp/mon)"
mon fall3 -n 1 -f "$chip" 3
wait $pid || fail "gpiomon -f: $(cat /tmp/mon)"
expect "falling edge event" "3 0" "$(cat /tmp/mon)"
mon both3-up -n 2 "$chip" 3
host_step both3-down
wait $pid || fail "gpiomon (both edges): $(cat /tmp/mon)"
expect "both-edge events" "3 1
3 0" "$(cat /tmp/mon)"
info "gpiomon: rising, falling and both-edge interrupts"

pass "$chip: names, gpioset/gpioget against the host's pins, rising/falling/both edge interrupts"
